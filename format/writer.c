/* writer.c — encoder of the pymple dump format (schema/FORMAT.md): records,
 * varints, zlib chunks, checksums, the TAIL. Pure C: no Python, no stdio, and
 * every byte of memory (zlib's too) comes from the caller's struct pym_alloc,
 * so it runs in a forked child; only threaded mode built with libdeflate
 * mallocs (its compressor). It never prints. */
#include "writer.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>
#ifdef PYM_LIBDEFLATE
#include <libdeflate.h>
#endif

#include "pymple_format.h"

/* zlib strategy: measured on a synthetic 1M-object stream (see the codec
 * report / FORMAT.md "Compression"); Z_DEFAULT_STRATEGY at level 1 was the
 * best trade of speed and size. Overridable for measurements. */
#ifndef PYM_ZSTRATEGY
#define PYM_ZSTRATEGY Z_DEFAULT_STRATEGY
#endif

/* Threaded mode: compression threads (with libdeflate; zlib's one stream
 * allows one), and raw chunk buffers of about 1.4 MB: one being filled,
 * the others queued, being compressed, or free. */
#ifdef PYM_LIBDEFLATE
#define NWORKERS 2
#else
#define NWORKERS 1
#endif
#define NRING (2 * NWORKERS + 2)

/* Upper bound of one encoded varint. */
#define VARINT_MAX 10
/* Objects with more references than this are split into an OBJECT record
 * carrying the first PYM_REFS_PER_RECORD and REFS continuation records, so
 * no record comes near PYM_CHUNK_MAX_ULEN (20 bytes/ref worst case). */
#define PYM_REFS_PER_RECORD 16384u
/* Raw buffer: the flush threshold plus room for a worst-case record of
 * PYM_REFS_PER_RECORD refs, so it never needs to grow. */
#define RAW_CAP (PYM_CHUNK_TARGET_ULEN + 64 + PYM_VALUE_MAX + PYM_REFS_PER_RECORD * 2u * VARINT_MAX)

/* ---- default allocator ------------------------------------------------ */

static void *mmap_alloc(void *ctx, size_t n)
{
	(void)ctx;
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void mmap_free(void *ctx, void *p, size_t n)
{
	(void)ctx;
	if (p)
		munmap(p, n);
}

const struct pym_alloc pym_alloc_mmap = {mmap_alloc, mmap_free, NULL};

/* ---- the writer -------------------------------------------------------- */

/* A compression thread of threaded mode and what it alone uses. */
struct zworker {
	struct pym_writer *w;
	pthread_t th;
	void *stack;
	unsigned char *out; /* chunk header + compressed payload */
	size_t out_cap;
#ifdef PYM_LIBDEFLATE
	/* libdeflate writes the same zlib streams as zlib at level 1 in about
	 * half the time (it compresses whole buffers, which chunks are). Its
	 * state comes from malloc, hence not in a forked child. */
	struct libdeflate_compressor *ldc;
#endif
};

struct pym_writer {
	int fd;
	int level; /* zlib level as given to pym_writer_open */
	int err;   /* sticky errno of the first failure, 0 while healthy */
	struct pym_alloc al;
	unsigned char *raw; /* records of the current chunk */
	size_t raw_len, raw_cap;
	unsigned char *out; /* chunk header + compressed payload */
	size_t out_cap;
	z_stream zs;
	int zinit;
	uint64_t prev_addr; /* OBJECT address delta base; 0 at chunk start */
	uint64_t objects, refs, strings, types, roots, chunks;
	uint64_t sites;
	uint32_t site; /* for the next OBJECT (pym_writer_alloc) */
	uint64_t bytes;

	/* Threaded mode (pym_writer_threaded): NRING buffers of raw_cap bytes
	 * (bufs). The caller fills raw; a full one gets the next sequence
	 * number and waits in the queue q[qhead .. qhead+nq) (mod NRING) until
	 * a worker takes it, compresses it into its own out buffer and gives
	 * the buffer back to freeb; the workers write their chunks in sequence
	 * order (written counts them). The caller waits only when no buffer is
	 * free. mu protects q, qseq, qhead, nq, freeb, nfree, submitted,
	 * written, quit and werr; chunks and bytes belong to the worker whose
	 * turn it is to write, zs (zlib, when libdeflate cannot) to the holder
	 * of zmu. */
	int threaded;
	struct zworker zw[NWORKERS];
	unsigned nworkers, nstarted;
	pthread_mutex_t mu, zmu;
	pthread_cond_t cv;
	int quit, werr;
	unsigned char *bufs[NRING];
	unsigned char *q[NRING];
	size_t qlen[NRING];
	uint64_t qseq[NRING];
	unsigned qhead, nq;
	unsigned char *freeb[NRING];
	unsigned nfree;
	uint64_t submitted, written;

	int in_memory; /* pym_writer_open_records(): records go to rec */
	struct pym_records rec;
};

/* zlib frees without a size, but munmap needs one: keep it in front. */
#define ZHDR 16
static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
	const struct pym_alloc *al = opaque;
	size_t n = (size_t)items * size + ZHDR;
	unsigned char *p = al->alloc(al->ctx, n);
	if (!p)
		return Z_NULL;
	memcpy(p, &n, sizeof n);
	return p + ZHDR;
}

static void z_free(voidpf opaque, voidpf q)
{
	const struct pym_alloc *al = opaque;
	if (!q)
		return;
	unsigned char *p = (unsigned char *)q - ZHDR;
	size_t n;
	memcpy(&n, p, sizeof n);
	al->free(al->ctx, p, n);
}

static int fail(struct pym_writer *w, int e)
{
	if (!w->err)
		w->err = e ? e : EIO;
	errno = w->err;
	return -1;
}

static int check(struct pym_writer *w)
{
	if (w->err) {
		errno = w->err;
		return -1;
	}
	return 0;
}

/* write(2) all of buf, retrying on EINTR and short writes. Returns 0 or an
 * errno value; leaves w->err alone (the worker thread calls it too). */
static int write_all(struct pym_writer *w, const void *buf, size_t n)
{
	const unsigned char *p = buf;
	while (n > 0) {
		ssize_t k = write(w->fd, p, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return errno ? errno : EIO;
		}
		if (k == 0)
			return EIO;
		p += k;
		n -= (size_t)k;
		w->bytes += (uint64_t)k;
	}
	return 0;
}

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static void put_le64(unsigned char *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

/* Unsigned LEB128: 7 bits per byte, low groups first, high bit = more. */
static inline unsigned char *put_varint(unsigned char *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	*p++ = (unsigned char)v;
	return p;
}

/* Zigzag: 0,-1,1,-2,... -> 0,1,2,3,... so small negative deltas stay short. */
static inline unsigned char *put_svarint(unsigned char *p, uint64_t delta)
{
	/* the sign bit, smeared over all 64 bits, without shifting a signed value */
	uint64_t sign = 0 - (delta >> 63);
	return put_varint(p, (delta << 1) ^ sign);
}

static inline unsigned char *put_str(unsigned char *p, const char *s, size_t n)
{
	p = put_varint(p, n);
	if (n)
		memcpy(p, s, n);
	return p + n;
}

/* Chunk on disk:  tag[4] clen[4] ulen[4] crc[4] payload[clen]
 * crc = crc32(tag..ulen) continued over the payload. 0 or an errno value. */
static int emit_chunk(struct pym_writer *w, const char *tag, const unsigned char *payload,
                      size_t clen, size_t ulen, unsigned char *hdr)
{
	memcpy(hdr, tag, 4);
	put_le32(hdr + 4, (uint32_t)clen);
	put_le32(hdr + 8, (uint32_t)ulen);
#ifdef PYM_LIBDEFLATE
	/* the same CRC-32 as zlib's, faster (and no allocation: child-safe) */
	uint32_t crc = libdeflate_crc32(0, hdr, 12);
	crc = libdeflate_crc32(crc, payload, clen);
#else
	uLong crc = crc32(0L, hdr, 12);
	crc = crc32(crc, payload, (uInt)clen);
#endif
	put_le32(hdr + 12, (uint32_t)crc);
	if (payload == hdr + PYM_CHUNK_HEADER_LEN)
		return write_all(w, hdr, PYM_CHUNK_HEADER_LEN + clen);
	int e = write_all(w, hdr, PYM_CHUNK_HEADER_LEN);
	return e ? e : write_all(w, payload, clen);
}

/* Compresses len raw bytes into a DATA chunk's payload: with z's
 * libdeflate compressor into z's out buffer (a worker), or with zlib into
 * w->out (z NULL: the caller's thread). *out receives the chunk (header
 * room first), *clen the payload length. 0 or an errno value. */
static int compress_chunk(struct pym_writer *w, struct zworker *z, const unsigned char *raw,
                          size_t len, unsigned char **out, size_t *clen)
{
	unsigned char *o = z ? z->out : w->out;
	size_t cap = z ? z->out_cap : w->out_cap;
	*out = o;
#ifdef PYM_LIBDEFLATE
	if (z && z->ldc) {
		*clen = libdeflate_zlib_compress(z->ldc, raw, len, o + PYM_CHUNK_HEADER_LEN,
		                                 cap - PYM_CHUNK_HEADER_LEN);
		if (!*clen) /* cap >= the compress bound: cannot happen */
			return EIO;
		/* FORMAT.md bounds clen by zlib's compressBound; libdeflate falls
		 * back to stored blocks well within it, but zlib decides if not. */
		if (*clen <= compressBound((uLong)len))
			return 0;
	}
#endif
	if (z) /* workers share the one zlib stream */
		pthread_mutex_lock(&w->zmu);
	int e = 0;
	if (deflateReset(&w->zs) != Z_OK) {
		e = EIO;
	} else {
		w->zs.next_in = (Bytef *)(uintptr_t)raw;
		w->zs.avail_in = (uInt)len;
		w->zs.next_out = o + PYM_CHUNK_HEADER_LEN;
		w->zs.avail_out = (uInt)(cap - PYM_CHUNK_HEADER_LEN);
		int rc = deflate(&w->zs, Z_FINISH);
		if (rc != Z_STREAM_END) /* cap >= deflateBound: cannot happen */
			e = rc == Z_MEM_ERROR ? ENOMEM : EIO;
		else
			*clen = cap - PYM_CHUNK_HEADER_LEN - w->zs.avail_out;
	}
	if (z)
		pthread_mutex_unlock(&w->zmu);
	return e;
}

/* Writes a chunk compress_chunk() made. 0 or an errno value. */
static int write_chunk(struct pym_writer *w, unsigned char *out, size_t clen, size_t len)
{
	int e = emit_chunk(w, PYM_TAG_DATA, out + PYM_CHUNK_HEADER_LEN, clen, len, out);
	if (!e)
		w->chunks++;
	return e;
}

/* Threaded mode: waits until the workers have written every queued chunk
 * and picks up their error. Called with mu held. */
static int wait_idle_locked(struct pym_writer *w)
{
	while (w->written != w->submitted)
		pthread_cond_wait(&w->cv, &w->mu);
	return w->werr;
}

static int wait_idle(struct pym_writer *w)
{
	if (!w->threaded)
		return 0;
	pthread_mutex_lock(&w->mu);
	int e = wait_idle_locked(w);
	pthread_mutex_unlock(&w->mu);
	return e ? fail(w, e) : 0;
}

static void *worker_main(void *arg)
{
	struct zworker *z = arg;
	struct pym_writer *w = z->w;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->nq && !w->quit)
			pthread_cond_wait(&w->cv, &w->mu);
		/* quit: the writer is being closed; after pym_writer_finish() the
		 * queue is empty, otherwise the dump failed and the rest is moot.
		 * A chunk taken is always seen through, so no turn waits forever. */
		if (w->quit)
			break;
		unsigned char *buf = w->q[w->qhead];
		size_t len = w->qlen[w->qhead];
		uint64_t seq = w->qseq[w->qhead];
		w->qhead = (w->qhead + 1) % NRING;
		w->nq--;
		int failed = w->werr != 0;
		pthread_mutex_unlock(&w->mu);
		unsigned char *out = NULL;
		size_t clen = 0;
		int e = failed ? 0 : compress_chunk(w, z, buf, len, &out, &clen);
		pthread_mutex_lock(&w->mu);
		w->freeb[w->nfree++] = buf;
		pthread_cond_broadcast(&w->cv);
		while (w->written != seq) /* chunks go out in order */
			pthread_cond_wait(&w->cv, &w->mu);
		failed = failed || e || w->werr;
		pthread_mutex_unlock(&w->mu);
		if (!failed)
			e = write_chunk(w, out, clen, len);
		pthread_mutex_lock(&w->mu);
		if (e && !w->werr)
			w->werr = e;
		w->written++;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Ends the current chunk: compresses and writes it here, or queues it for
 * the worker and continues in a free buffer (waiting for one if the worker
 * is NRING-1 chunks behind). */
static int flush_chunk(struct pym_writer *w)
{
	if (w->raw_len == 0)
		return 0;
	if (w->threaded) {
		pthread_mutex_lock(&w->mu);
		int e;
		while (!(e = w->werr) && !w->nfree)
			pthread_cond_wait(&w->cv, &w->mu);
		if (!e) {
			unsigned slot = (w->qhead + w->nq) % NRING;
			w->q[slot] = w->raw;
			w->qlen[slot] = w->raw_len;
			w->qseq[slot] = w->submitted++;
			w->nq++;
			w->raw = w->freeb[--w->nfree];
			pthread_cond_broadcast(&w->cv);
		}
		pthread_mutex_unlock(&w->mu);
		if (e)
			return fail(w, e);
	} else {
		unsigned char *out;
		size_t clen;
		int e = compress_chunk(w, NULL, w->raw, w->raw_len, &out, &clen);
		if (!e)
			e = write_chunk(w, out, clen, w->raw_len);
		if (e)
			return fail(w, e);
	}
	w->raw_len = 0;
	w->prev_addr = 0;
	return 0;
}

/* Room for the chunk header and the compressed form of n raw bytes. */
static size_t out_bound(struct pym_writer *w, size_t n)
{
	size_t b = deflateBound(&w->zs, (uLong)n);
#ifdef PYM_LIBDEFLATE
	if (w->zw[0].ldc) { /* the same bound for all: one level */
		size_t lb = libdeflate_zlib_compress_bound(w->zw[0].ldc, n);
		if (lb > b)
			b = lb;
	}
#endif
	return PYM_CHUNK_HEADER_LEN + b;
}

/* Replaces the (empty) chunk buffers with ones that hold a record of `need`
 * bytes: only META and STRING records near PYM_STR_MAX get here, since
 * objects split their references at PYM_REFS_PER_RECORD. */
static int grow_buffers(struct pym_writer *w, size_t need)
{
	if (need > PYM_CHUNK_MAX_ULEN)
		return fail(w, EFBIG);
	if (wait_idle(w) < 0) /* the workers use the queue and their out until then */
		return -1;
	size_t out_cap = out_bound(w, need);
	unsigned nb = w->threaded ? NRING : 1, nz = w->threaded ? w->nworkers : 0, i, k;
	unsigned char *nbufs[NRING] = {NULL}, *zout[NWORKERS] = {NULL};
	unsigned char *out = w->al.alloc(w->al.ctx, out_cap);
	for (i = 0; out && i < nb; i++)
		if (!(nbufs[i] = w->al.alloc(w->al.ctx, need)))
			break;
	for (k = 0; out && i == nb && k < nz; k++)
		if (!(zout[k] = w->al.alloc(w->al.ctx, out_cap)))
			break;
	if (!out || i < nb || k < nz) {
		for (k = 0; k < nb; k++)
			if (nbufs[k])
				w->al.free(w->al.ctx, nbufs[k], need);
		for (k = 0; k < nz; k++)
			if (zout[k])
				w->al.free(w->al.ctx, zout[k], out_cap);
		if (out)
			w->al.free(w->al.ctx, out, out_cap);
		return fail(w, ENOMEM);
	}
	for (k = 0; k < nz; k++) {
		w->al.free(w->al.ctx, w->zw[k].out, w->zw[k].out_cap);
		w->zw[k].out = zout[k];
		w->zw[k].out_cap = out_cap;
	}
	if (w->threaded) {
		for (i = 0; i < NRING; i++) {
			w->al.free(w->al.ctx, w->bufs[i], w->raw_cap);
			w->bufs[i] = nbufs[i];
		}
		w->nfree = 0;
		for (i = 1; i < NRING; i++)
			w->freeb[w->nfree++] = nbufs[i];
	} else {
		w->al.free(w->al.ctx, w->raw, w->raw_cap);
	}
	w->al.free(w->al.ctx, w->out, w->out_cap);
	w->raw = nbufs[0];
	w->raw_cap = need;
	w->out = out;
	w->out_cap = out_cap;
	return 0;
}

/* reserve() when the record does not fit (or the writer failed). */
__attribute__((noinline)) static unsigned char *reserve_slow(struct pym_writer *w, size_t bound)
{
	if (w->err) {
		errno = w->err;
		return NULL;
	}
	if (w->raw_len + bound > w->raw_cap && flush_chunk(w) < 0)
		return NULL;
	if (bound > w->raw_cap && grow_buffers(w, bound) < 0)
		return NULL;
	return w->raw + w->raw_len;
}

/* Makes room for a record of at most `bound` bytes; may flush the chunk
 * first. Returns where to encode, or NULL (error recorded). */
static inline unsigned char *reserve(struct pym_writer *w, size_t bound)
{
	if (!w->err && w->raw_len + bound <= w->raw_cap)
		return w->raw + w->raw_len;
	return reserve_slow(w, bound);
}

/* Commits an encoded record ending at end; flushes past the target size. */
static int commit(struct pym_writer *w, unsigned char *end)
{
	w->raw_len = (size_t)(end - w->raw);
	if (w->raw_len >= PYM_CHUNK_TARGET_ULEN)
		return flush_chunk(w);
	return 0;
}

struct pym_writer *pym_writer_open(int fd, const struct pym_alloc *alloc, int level)
{
	if (!alloc)
		alloc = &pym_alloc_mmap;
	if (level < Z_DEFAULT_COMPRESSION || level > 9) {
		errno = EINVAL;
		return NULL;
	}
	struct pym_writer *w = alloc->alloc(alloc->ctx, sizeof *w);
	if (!w) {
		errno = ENOMEM;
		return NULL;
	}
	memset(w, 0, sizeof *w);
	w->fd = fd;
	w->level = level;
	w->al = *alloc;
	w->zs.zalloc = z_alloc;
	w->zs.zfree = z_free;
	w->zs.opaque = &w->al;
	if (deflateInit2(&w->zs, level, Z_DEFLATED, 15, 8, PYM_ZSTRATEGY) != Z_OK) {
		pym_writer_close(w);
		errno = ENOMEM;
		return NULL;
	}
	w->zinit = 1;
	w->raw_cap = RAW_CAP;
	w->raw = alloc->alloc(alloc->ctx, w->raw_cap);
	w->out_cap = out_bound(w, w->raw_cap);
	w->out = alloc->alloc(alloc->ctx, w->out_cap);
	if (!w->raw || !w->out) {
		pym_writer_close(w);
		errno = ENOMEM;
		return NULL;
	}
	/* File header: magic[8] major[2] minor[2] crc32(bytes 0..12)[4] */
	unsigned char h[PYM_FILE_HEADER_LEN];
	memcpy(h, PYM_MAGIC, PYM_MAGIC_LEN);
	h[8] = PYM_VERSION_MAJOR & 0xff;
	h[9] = PYM_VERSION_MAJOR >> 8;
	h[10] = PYM_VERSION_MINOR & 0xff;
	h[11] = PYM_VERSION_MINOR >> 8;
	put_le32(h + 12, (uint32_t)crc32(0L, h, 12));
	int e = write_all(w, h, sizeof h);
	if (e) {
		pym_writer_close(w);
		errno = e;
		return NULL;
	}
	return w;
}

struct pym_writer *pym_writer_open_records(const struct pym_records *rec,
                                           const struct pym_alloc *alloc)
{
	if (!alloc)
		alloc = &pym_alloc_mmap;
	struct pym_writer *w = alloc->alloc(alloc->ctx, sizeof *w);
	if (!w) {
		errno = ENOMEM;
		return NULL;
	}
	memset(w, 0, sizeof *w);
	w->fd = -1;
	w->al = *alloc;
	w->in_memory = 1;
	w->rec = *rec;
	return w;
}

/* A callback's failure is sticky, as an encoding failure is. */
static int rec_status(struct pym_writer *w, int rc)
{
	return rc < 0 ? fail(w, errno ? errno : EIO) : 0;
}

#define WORKER_STACK (256u << 10)

/* Frees what zw[0 .. nworkers) hold (the threads are not running). */
static void workers_release(struct pym_writer *w)
{
	for (unsigned i = 0; i < w->nworkers; i++) {
		struct zworker *z = &w->zw[i];
		if (z->stack)
			w->al.free(w->al.ctx, z->stack, WORKER_STACK);
		if (z->out)
			w->al.free(w->al.ctx, z->out, z->out_cap);
#ifdef PYM_LIBDEFLATE
		if (z->ldc)
			libdeflate_free_compressor(z->ldc);
#endif
		memset(z, 0, sizeof *z);
	}
	w->nworkers = 0;
}

int pym_writer_threaded(struct pym_writer *w)
{
	if (check(w) < 0)
		return -1;
	if (w->threaded || w->in_memory)
		return 0;
	/* NWORKERS compression threads, one on a single CPU: compression takes
	 * about as much CPU as the walk, so on two cores the walk's thread and
	 * two compressors share them best when the machine is otherwise idle. */
	unsigned want = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? NWORKERS : 1;
	int e = 0;
	unsigned i;
	for (i = 0; i < want && !e; i++) {
		struct zworker *z = &w->zw[i];
		w->nworkers = i + 1;
		z->w = w;
#ifdef PYM_LIBDEFLATE
		int level = w->level < 0 ? 6 : w->level; /* zlib's default is 6 */
		if (!(z->ldc = libdeflate_alloc_compressor(level))) {
			e = ENOMEM;
			break;
		}
#endif
		z->out_cap = out_bound(w, w->raw_cap);
		z->stack = w->al.alloc(w->al.ctx, WORKER_STACK);
		z->out = w->al.alloc(w->al.ctx, z->out_cap);
		if (!z->stack || !z->out)
			e = ENOMEM;
	}
	/* The ring: raw and NRING-1 more, all free. */
	w->bufs[0] = w->raw;
	w->nfree = 0;
	for (i = 1; i < NRING && !e; i++) {
		if (!(w->bufs[i] = w->al.alloc(w->al.ctx, w->raw_cap)))
			e = ENOMEM;
		else
			w->freeb[w->nfree++] = w->bufs[i];
	}
	if (!e && (e = pthread_mutex_init(&w->mu, NULL)) == 0) {
		if ((e = pthread_mutex_init(&w->zmu, NULL)) != 0)
			pthread_mutex_destroy(&w->mu);
		else if ((e = pthread_cond_init(&w->cv, NULL)) != 0) {
			pthread_mutex_destroy(&w->zmu);
			pthread_mutex_destroy(&w->mu);
		}
	}
	if (!e) {
		/* the workers take no signals: they belong to the caller's thread */
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		for (i = 0; i < w->nworkers; i++) {
			pthread_attr_t attr;
			int te = pthread_attr_init(&attr);
			if (!te) {
				te = pthread_attr_setstack(&attr, w->zw[i].stack, WORKER_STACK);
				if (!te)
					te = pthread_create(&w->zw[i].th, &attr, worker_main,
					                    &w->zw[i]);
				pthread_attr_destroy(&attr);
			}
			if (te) { /* fewer workers, if one runs */
				if (!i)
					e = te;
				break;
			}
		}
		w->nstarted = i;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (e) {
			pthread_cond_destroy(&w->cv);
			pthread_mutex_destroy(&w->zmu);
			pthread_mutex_destroy(&w->mu);
		}
	}
	if (e) { /* back to one buffer (raw) and no workers */
		for (i = 1; i < NRING; i++)
			if (w->bufs[i])
				w->al.free(w->al.ctx, w->bufs[i], w->raw_cap);
		memset(w->bufs, 0, sizeof w->bufs);
		w->nfree = 0;
		workers_release(w);
		return fail(w, e);
	}
	w->threaded = 1;
	return 0;
}

/* META: 0x01 str key, str value */
int pym_writer_meta(struct pym_writer *w, const char *key, const char *value, size_t value_len)
{
	size_t klen = strlen(key);
	if (check(w) < 0)
		return -1;
	if (klen > PYM_STR_MAX || value_len > PYM_STR_MAX)
		return fail(w, EINVAL);
	if (w->in_memory)
		return 0;
	unsigned char *p = reserve(w, 1 + 2 * VARINT_MAX + klen + value_len);
	if (!p)
		return -1;
	*p++ = PYM_REC_META;
	p = put_str(p, key, klen);
	p = put_str(p, value, value_len);
	return commit(w, p);
}

/* STRING: 0x02 str text; ids count up from 0 in file order. */
int pym_writer_string(struct pym_writer *w, const char *s, size_t n, uint32_t *id)
{
	if (check(w) < 0)
		return -1;
	if (n > PYM_STR_MAX || w->strings >= UINT32_MAX)
		return fail(w, EINVAL);
	if (w->in_memory) {
		if (rec_status(w, w->rec.string(w->rec.ctx, (uint32_t)w->strings, s, n)) < 0)
			return -1;
		*id = (uint32_t)w->strings++;
		return 0;
	}
	unsigned char *p = reserve(w, 1 + VARINT_MAX + n);
	if (!p)
		return -1;
	*p++ = PYM_REC_STRING;
	p = put_str(p, s, n);
	if (commit(w, p) < 0)
		return -1;
	*id = (uint32_t)w->strings++;
	return 0;
}

/* TYPE: 0x03 varint name_id, varint type address; indexes from 0. */
int pym_writer_type(struct pym_writer *w, uint32_t name_id, uint64_t type_addr, uint32_t *index)
{
	if (check(w) < 0)
		return -1;
	if (name_id >= w->strings || w->types >= UINT32_MAX)
		return fail(w, EINVAL);
	if (w->in_memory) {
		if (rec_status(w, w->rec.type(w->rec.ctx, (uint32_t)w->types, name_id, type_addr)) <
		    0)
			return -1;
		*index = (uint32_t)w->types++;
		return 0;
	}
	unsigned char *p = reserve(w, 1 + 2 * VARINT_MAX);
	if (!p)
		return -1;
	*p++ = PYM_REC_TYPE;
	p = put_varint(p, name_id);
	p = put_varint(p, type_addr);
	if (commit(w, p) < 0)
		return -1;
	*index = (uint32_t)w->types++;
	return 0;
}

/* SITE: 0x40 varint len, varint n, n x { varint file string id, varint line };
 * site ids count up from 1 in file order. */
int pym_writer_site(struct pym_writer *w, const struct pym_site_frame *frames, uint32_t n,
                    uint32_t *id)
{
	if (check(w) < 0)
		return -1;
	if (n == 0 || n > PYM_SITE_FRAMES_MAX || !frames || w->sites >= UINT32_MAX - 1)
		return fail(w, EINVAL);
	for (uint32_t i = 0; i < n; i++)
		if (frames[i].file >= w->strings)
			return fail(w, EINVAL);
	size_t body = VARINT_MAX + (size_t)n * 2 * VARINT_MAX;
	unsigned char *p = reserve(w, 1 + VARINT_MAX + body);
	if (!p)
		return -1;
	/* The body is encoded after a gap as wide as the longest length varint,
	 * then moved down once its length is known. */
	unsigned char *b = p + 1 + VARINT_MAX, *q = put_varint(b, n);
	for (uint32_t i = 0; i < n; i++) {
		q = put_varint(q, frames[i].file);
		q = put_varint(q, frames[i].line);
	}
	size_t len = (size_t)(q - b);
	*p = PYM_REC_SITE;
	unsigned char *d = put_varint(p + 1, len);
	memmove(d, b, len);
	if (commit(w, d + len) < 0)
		return -1;
	*id = (uint32_t)++w->sites;
	return 0;
}

int pym_writer_alloc(struct pym_writer *w, uint32_t site)
{
	if (check(w) < 0)
		return -1;
	if (site > w->sites)
		return fail(w, EINVAL);
	w->site = site;
	return 0;
}

/* Refs: n x { svarint (dst - prev), varint label }, prev = base then each dst. */
static unsigned char *put_refs(const struct pym_writer *w, unsigned char *p, uint64_t base,
                               const struct pym_ref *r, uint32_t n, int *bad)
{
	uint64_t prev = base;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t kind = r[i].label & PYM_LABEL_KIND_MASK;
		uint64_t value = r[i].label >> PYM_LABEL_SHIFT;
		if (kind > PYM_LABEL_WEAK || (kind == PYM_LABEL_NONE && value != 0) ||
		    ((kind == PYM_LABEL_KEY || kind == PYM_LABEL_ATTR) && value >= w->strings))
			*bad = 1;
		p = put_svarint(p, r[i].addr - prev);
		p = put_varint(p, r[i].label);
		prev = r[i].addr;
	}
	return p;
}

/* OBJECT:
 *   0x04 svarint addr-prev_addr, varint type, varint flags, varint size,
 *        varint refcount, [LENGTH] varint, [EXTRA] varint, [SERIAL] varint,
 *        [VALUE] str, [MORE_REFS] varint total_refs, varint nrefs, refs
 * then, with PYM_F_MORE_REFS, REFS records (0x06 varint n, refs) until
 * total_refs are written. */
int pym_writer_object(struct pym_writer *w, const struct pym_object *o)
{
	if (check(w) < 0)
		return -1;
	uint32_t flags = o->flags & ~(uint32_t)PYM_F_MORE_REFS;
	if (o->type >= w->types || (o->nrefs && !o->refs))
		return fail(w, EINVAL);
	if ((flags & PYM_F_VALUE) && (o->value_len > PYM_VALUE_MAX || (o->value_len && !o->value)))
		return fail(w, EINVAL);
	if (w->in_memory) {
		if (rec_status(w, w->rec.object(w->rec.ctx, o)) < 0)
			return -1;
		w->objects++;
		w->refs += o->nrefs;
		return 0;
	}
	uint32_t here = o->nrefs;
	if (here > PYM_REFS_PER_RECORD) {
		here = PYM_REFS_PER_RECORD;
		flags |= PYM_F_MORE_REFS;
	}
	size_t vlen = (flags & PYM_F_VALUE) ? o->value_len : 0;
	unsigned char *p = reserve(w, 3 + 11 * VARINT_MAX + vlen + (size_t)here * 2 * VARINT_MAX);
	if (!p)
		return -1;
	int bad = 0;
	if (w->site) { /* ALLOC: 0x41 varint len, varint site; same chunk */
		unsigned char *b = put_varint(p + 2, w->site);
		p[0] = PYM_REC_ALLOC;
		p[1] = (unsigned char)(b - (p + 2));
		p = b;
	}
	*p++ = PYM_REC_OBJECT;
	p = put_svarint(p, o->addr - w->prev_addr);
	p = put_varint(p, o->type);
	p = put_varint(p, flags);
	p = put_varint(p, o->size);
	p = put_varint(p, o->refcount);
	if (flags & PYM_F_LENGTH)
		p = put_varint(p, o->length);
	if (flags & PYM_F_EXTRA)
		p = put_varint(p, o->extra);
	if (flags & PYM_F_SERIAL)
		p = put_varint(p, o->serial);
	if (flags & PYM_F_VALUE)
		p = put_str(p, o->value, vlen);
	if (flags & PYM_F_MORE_REFS)
		p = put_varint(p, o->nrefs);
	p = put_varint(p, here);
	p = put_refs(w, p, o->addr, o->refs, here, &bad);
	if (bad)
		return fail(w, EINVAL);
	w->prev_addr = o->addr;
	w->site = 0;
	if (commit(w, p) < 0)
		return -1;
	/* REFS continuation records: 0x06 varint n, n refs based at o->addr */
	for (uint32_t done = here; done < o->nrefs; done += here) {
		here = o->nrefs - done;
		if (here > PYM_REFS_PER_RECORD)
			here = PYM_REFS_PER_RECORD;
		p = reserve(w, 1 + VARINT_MAX + (size_t)here * 2 * VARINT_MAX);
		if (!p)
			return -1;
		*p++ = PYM_REC_REFS;
		p = put_varint(p, here);
		p = put_refs(w, p, o->addr, o->refs + done, here, &bad);
		if (bad)
			return fail(w, EINVAL);
		if (commit(w, p) < 0)
			return -1;
	}
	w->objects++;
	w->refs += o->nrefs;
	return 0;
}

/* ROOT: 0x05 varint kind, varint address, varint name_id + 1 (0 = none) */
int pym_writer_root(struct pym_writer *w, unsigned kind, uint64_t addr, int64_t name_id)
{
	if (check(w) < 0)
		return -1;
	if (name_id < -1 || (name_id >= 0 && (uint64_t)name_id >= w->strings))
		return fail(w, EINVAL);
	if (w->in_memory) {
		if (rec_status(w, w->rec.root(w->rec.ctx, kind, addr, name_id)) < 0)
			return -1;
		w->roots++;
		return 0;
	}
	unsigned char *p = reserve(w, 1 + 3 * VARINT_MAX);
	if (!p)
		return -1;
	*p++ = PYM_REC_ROOT;
	p = put_varint(p, kind);
	p = put_varint(p, addr);
	p = put_varint(p, (uint64_t)(name_id + 1));
	if (commit(w, p) < 0)
		return -1;
	w->roots++;
	return 0;
}

/* NAME (skippable): 0x40 varint body length, then varint kind, varint
 * address, varint name_id. Not counted in the TAIL. */
int pym_writer_name(struct pym_writer *w, unsigned kind, uint64_t addr, uint32_t name_id)
{
	if (check(w) < 0)
		return -1;
	if (name_id >= w->strings)
		return fail(w, EINVAL);
	if (w->in_memory) /* the leak check has no use for names yet */
		return 0;
	unsigned char body[3 * VARINT_MAX], *b = body;
	b = put_varint(b, kind);
	b = put_varint(b, addr);
	b = put_varint(b, name_id);
	unsigned char *p = reserve(w, 2 + sizeof body);
	if (!p)
		return -1;
	*p++ = PYM_REC_NAME;
	p = put_varint(p, (uint64_t)(b - body));
	memcpy(p, body, (size_t)(b - body));
	return commit(w, p + (b - body));
}

/* TAIL: objects, refs, strings, types, roots, data chunks as u64 LE. */
int pym_writer_finish(struct pym_writer *w)
{
	if (w->in_memory)
		return check(w);
	if (check(w) < 0 || flush_chunk(w) < 0 || wait_idle(w) < 0)
		return -1;
	unsigned char t[PYM_CHUNK_HEADER_LEN + PYM_TAIL_LEN];
	unsigned char *c = t + PYM_CHUNK_HEADER_LEN;
	put_le64(c, w->objects);
	put_le64(c + 8, w->refs);
	put_le64(c + 16, w->strings);
	put_le64(c + 24, w->types);
	put_le64(c + 32, w->roots);
	put_le64(c + 40, w->chunks);
	int e = emit_chunk(w, PYM_TAG_TAIL, c, PYM_TAIL_LEN, PYM_TAIL_LEN, t);
	if (e)
		return fail(w, e);
	w->err = EBADF; /* finished: further records are a caller bug */
	return 0;
}

void pym_writer_close(struct pym_writer *w)
{
	if (!w)
		return;
	if (w->threaded) {
		pthread_mutex_lock(&w->mu);
		w->quit = 1;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
		for (unsigned i = 0; i < w->nstarted; i++)
			pthread_join(w->zw[i].th, NULL);
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->zmu);
		pthread_mutex_destroy(&w->mu);
	}
	workers_release(w);
	if (w->zinit)
		deflateEnd(&w->zs);
	struct pym_alloc al = w->al;
	if (w->threaded) /* raw is one of bufs */
		for (unsigned i = 0; i < NRING; i++)
			al.free(al.ctx, w->bufs[i], w->raw_cap);
	else if (w->raw)
		al.free(al.ctx, w->raw, w->raw_cap);
	if (w->out)
		al.free(al.ctx, w->out, w->out_cap);
	al.free(al.ctx, w, sizeof *w);
}

uint64_t pym_writer_objects(const struct pym_writer *w)
{
	return w->objects;
}

uint64_t pym_writer_bytes(const struct pym_writer *w)
{
	return w->bytes;
}
