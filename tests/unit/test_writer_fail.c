/* test_writer_fail.c — writer.c when the world fails: a full device, a
 * closed pipe, a failing allocator, writes interrupted by signals. No
 * LD_PRELOAD: real file descriptors and a counting pym_alloc. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pymple_format.h"
#include "reader.h"
#include "writer.h"

/* Writes n objects of incompressible refs; returns the first failure's
 * errno, or 0 if everything including finish succeeded. */
static int write_some(struct pym_writer *w, uint32_t n)
{
	uint32_t s, t;
	if (pym_writer_string(w, "x", 1, &s) < 0 || pym_writer_type(w, s, 1, &t) < 0)
		return errno;
	uint64_t x = 99;
	for (uint32_t i = 0; i < n; i++) {
		struct pym_ref refs[8];
		for (int k = 0; k < 8; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			refs[k].addr = x;
			refs[k].label = 0;
		}
		struct pym_object o = {.addr = x, .type = t, .size = i, .nrefs = 8, .refs = refs};
		if (pym_writer_object(w, &o) < 0)
			return errno;
	}
	return pym_writer_finish(w) < 0 ? errno : 0;
}

Test(writer_fail, full_device)
{
	int fd = open("/dev/full", O_WRONLY);
	cr_assert(fd >= 0);
	struct pym_writer *w = pym_writer_open(fd, NULL, 1);
	cr_assert_null(w, "the header write must fail");
	cr_assert_eq(errno, ENOSPC);
	close(fd);
}

static void pipe_without_reader(int threaded)
{
	signal(SIGPIPE, SIG_IGN);
	int p[2];
	cr_assert(pipe(p) == 0);
	struct pym_writer *w = pym_writer_open(p[1], NULL, 1);
	cr_assert(w, "the header fits in the pipe buffer");
	if (threaded)
		cr_assert(pym_writer_threaded(w) == 0);
	close(p[0]);
	cr_assert_eq(write_some(w, 100000), EPIPE);
	/* sticky: later calls fail with the same error */
	uint32_t id;
	cr_assert_eq(pym_writer_string(w, "y", 1, &id), -1);
	cr_assert_eq(errno, EPIPE);
	cr_assert_eq(pym_writer_finish(w), -1);
	pym_writer_close(w);
	close(p[1]);
}

Test(writer_fail, pipe_without_reader)
{
	pipe_without_reader(0);
}

Test(writer_fail, pipe_without_reader_threaded)
{
	pipe_without_reader(1);
}

Test(writer_fail, closed_fd)
{
	int fd = open("/dev/null", O_WRONLY);
	close(fd);
	cr_assert_null(pym_writer_open(fd, NULL, 1));
	cr_assert_eq(errno, EBADF);
}

/* A pym_alloc that counts bytes and can fail the n-th call. */
struct counting {
	size_t live, calls, fail_at;
};

static void *c_alloc(void *ctx, size_t n)
{
	struct counting *c = ctx;
	if (++c->calls == c->fail_at)
		return NULL;
	void *p = pym_alloc_mmap.alloc(pym_alloc_mmap.ctx, n);
	if (p)
		c->live += n;
	return p;
}

static void c_free(void *ctx, void *p, size_t n)
{
	struct counting *c = ctx;
	c->live -= n;
	pym_alloc_mmap.free(pym_alloc_mmap.ctx, p, n);
}

static void every_allocation(int threaded)
{
	/* zlib's memory included: everything allocated is freed with the size
	 * it was allocated with, on success and on each possible failure */
	int fd = open("/dev/null", O_WRONLY);
	struct counting c = {0, 0, 0};
	struct pym_alloc al = {c_alloc, c_free, &c};
	struct pym_writer *w = pym_writer_open(fd, &al, 1);
	cr_assert(w);
	if (threaded)
		cr_assert(pym_writer_threaded(w) == 0);
	cr_assert_eq(write_some(w, 20000), 0);
	pym_writer_close(w);
	cr_assert_eq(c.live, 0);
	size_t total = c.calls;
	cr_assert_geq(total, 4, "struct, two buffers and zlib's state");
	for (size_t k = 1; k <= total; k++) {
		struct counting f = {0, 0, k};
		struct pym_alloc fal = {c_alloc, c_free, &f};
		w = pym_writer_open(fd, &fal, 1);
		if (w) {
			int e = threaded && pym_writer_threaded(w) < 0 ? errno
			                                               : write_some(w, 20000);
			cr_assert_eq(e, ENOMEM, "allocation %zu failed later but got %d", k, e);
			pym_writer_close(w);
		} else {
			cr_assert_eq(errno, ENOMEM);
		}
		cr_assert_eq(f.live, 0, "leak after failing allocation %zu", k);
	}
	close(fd);
}

Test(writer_fail, every_allocation_through_pym_alloc)
{
	every_allocation(0);
}

Test(writer_fail, every_allocation_through_pym_alloc_threaded)
{
	every_allocation(1);
}

/* Writes into a pipe drained by a thread while a timer keeps interrupting
 * write(2) (no SA_RESTART): EINTR and short writes must not lose a byte. */
struct drain {
	int fd;
	unsigned char *buf;
	size_t len, cap;
};

static void *drain_main(void *arg)
{
	struct drain *d = arg;
	for (;;) {
		if (d->len == d->cap) {
			d->cap = d->cap ? d->cap * 2 : 1 << 20;
			d->buf = realloc(d->buf, d->cap);
		}
		ssize_t k = read(d->fd, d->buf + d->len, d->cap - d->len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return NULL;
		d->len += (size_t)k;
	}
}

static volatile sig_atomic_t ticks;
static void on_signal(int sig)
{
	(void)sig;
	ticks++;
}

/* Sends a bounded number of signals to the writing thread, so writes are
 * interrupted (EINTR, or short when some bytes went through) yet the test
 * always ends, even under valgrind. */
struct pester {
	pthread_t target;
	volatile int done;
};

static void *pester_main(void *arg)
{
	struct pester *p = arg;
	for (int i = 0; i < 3000 && !p->done; i++) {
		pthread_kill(p->target, SIGUSR1);
		struct timespec ts = {0, 20000};
		nanosleep(&ts, NULL);
	}
	return NULL;
}

Test(writer_fail, interrupted_writes_lose_nothing)
{
	int p[2];
	cr_assert(pipe(p) == 0);
	struct drain d = {p[0], NULL, 0, 0};
	struct pester pe = {pthread_self(), 0};
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal; /* no SA_RESTART: write(2) returns early */
	sigaction(SIGUSR1, &sa, NULL);
	/* only this thread takes the signal */
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	pthread_t th, ph;
	cr_assert(pthread_create(&th, NULL, drain_main, &d) == 0);
	cr_assert(pthread_create(&ph, NULL, pester_main, &pe) == 0);
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	struct pym_writer *w = pym_writer_open(p[1], NULL, 0); /* level 0: big writes */
	cr_assert(w);
	cr_assert_eq(write_some(w, 60000), 0);
	uint64_t bytes = pym_writer_bytes(w);
	pym_writer_close(w);
	pe.done = 1;
	pthread_join(ph, NULL);
	close(p[1]);
	pthread_join(th, NULL);
	close(p[0]);
	cr_assert_gt(ticks, 0, "the writer was never interrupted");
	cr_assert_eq(d.len, bytes);
	struct pym_error err;
	struct pym_reader *r = pym_reader_open_mem(d.buf, d.len, &err);
	cr_assert(r);
	struct pym_record rec;
	uint64_t objects = 0;
	int rc;
	while ((rc = pym_reader_next(r, &rec, &err)) == 1)
		objects += rec.type == PYM_R_OBJECT;
	cr_assert_eq(rc, 0, "%s", err.msg);
	cr_assert_eq(objects, 60000);
	pym_reader_close(r);
	free(d.buf);
}
