/* sink.c — the atomic output file of a dump: a temporary name in the target's
 * directory, mode 0600, fsync, rename, fsync of the directory.
 * Async-signal-safe: only system calls, no malloc, no stdio, no Python. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dump.h"

/* Appends s to buf at *len (bounded); returns -1 when it does not fit. */
static int put(char *buf, size_t cap, size_t *len, const char *s)
{
	size_t n = strlen(s);
	if (*len + n + 1 > cap)
		return -1;
	memcpy(buf + *len, s, n + 1);
	*len += n;
	return 0;
}

static int put_u64(char *buf, size_t cap, size_t *len, unsigned long long v)
{
	char tmp[24];
	int i = (int)sizeof tmp - 1;
	tmp[i] = 0;
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v && i > 0);
	return put(buf, cap, len, tmp + i);
}

/* How many bytes of the final name's last component the temporary name
 * keeps: all of them when they fit in NAME_MAX with the suffix, else fewer,
 * never splitting a UTF-8 sequence. */
static size_t tmp_stem_len(const char *base, size_t blen, size_t suffix_len)
{
	size_t room = NAME_MAX > suffix_len ? NAME_MAX - suffix_len : 0;
	if (blen <= room)
		return blen;
	size_t n = room;
	while (n > 0 && ((unsigned char)base[n] & 0xC0) == 0x80)
		n--;
	return n;
}

int pym_sink_open(struct pym_sink *s, const char *path)
{
	size_t len = 0, plen = strlen(path);
	s->fd = -1;
	s->noreplace = 0;
	s->tmp[0] = 0;
	if (plen == 0 || plen >= sizeof s->path) {
		errno = plen ? ENAMETOOLONG : ENOENT;
		return -1;
	}
	memcpy(s->path, path, plen + 1);
	/* "<dir>/<name>.<pid>.<n>.tmp": same directory, never ending in ".dump".
	 * <name> is the final name, cut short where the whole would exceed
	 * NAME_MAX: any name valid for the dump gives a valid temporary name. */
	const char *slash = strrchr(path, '/');
	size_t dlen = slash ? (size_t)(slash - path) + 1 : 0;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	unsigned long long salt = (unsigned long long)ts.tv_nsec;
	for (int attempt = 0; attempt < 100; attempt++) {
		char suffix[64];
		size_t slen = 0;
		put(suffix, sizeof suffix, &slen, ".");
		put_u64(suffix, sizeof suffix, &slen, (unsigned long long)getpid());
		put(suffix, sizeof suffix, &slen, ".");
		put_u64(suffix, sizeof suffix, &slen, salt + (unsigned long long)attempt);
		put(suffix, sizeof suffix, &slen, ".tmp");
		size_t keep = tmp_stem_len(path + dlen, plen - dlen, slen);
		len = dlen + keep;
		if (len + slen + 1 > sizeof s->tmp) {
			errno = ENAMETOOLONG;
			s->tmp[0] = 0;
			return -1;
		}
		memcpy(s->tmp, path, len);
		s->tmp[len] = 0;
		put(s->tmp, sizeof s->tmp, &len, suffix);
		s->fd = open(s->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (s->fd >= 0)
			return 0;
		if (errno != EEXIST)
			break;
	}
	s->tmp[0] = 0;
	return -1;
}

/* fsync of the directory that holds path; errors other than EINVAL (file
 * systems that cannot sync directories) are reported. */
static int sync_dir(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	if (!slash) {
		dir[0] = '.';
		dir[1] = 0;
	} else {
		size_t n = (size_t)(slash - path);
		if (n == 0)
			n = 1;
		memcpy(dir, path, n);
		dir[n] = 0;
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	int e = errno;
	close(fd);
	if (rc < 0 && e != EINVAL) {
		errno = e;
		return -1;
	}
	return 0;
}

/* Moves tmp to path without replacing anything: 0, or -1 (errno). */
static int place_new(const char *tmp, const char *path)
{
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* No RENAME_NOREPLACE here: link() fails with EEXIST just the same. */
	if (link(tmp, path) < 0)
		return -1;
	unlink(tmp);
	return 0;
}

/* rename(2), or with noreplace the first free of path, <stem>-1<ext>, ... */
static int publish(struct pym_sink *s)
{
	if (!s->noreplace)
		return rename(s->tmp, s->path);
	char base[sizeof s->path];
	size_t blen = strlen(s->path), ext = blen;
	memcpy(base, s->path, blen + 1);
	const char *dot = strrchr(base, '.'), *slash = strrchr(base, '/');
	if (dot && (!slash || dot > slash) && dot != base && dot[-1] != '/')
		ext = (size_t)(dot - base);
	for (unsigned n = 0; n < 1000; n++) {
		if (n) {
			size_t len = 0;
			s->path[0] = 0;
			if (ext + 8 + (blen - ext) >= sizeof s->path) {
				errno = ENAMETOOLONG;
				return -1;
			}
			memcpy(s->path, base, ext);
			len = ext;
			s->path[len++] = '-';
			s->path[len] = 0;
			put_u64(s->path, sizeof s->path, &len, n);
			put(s->path, sizeof s->path, &len, base + ext);
		}
		if (place_new(s->tmp, s->path) == 0)
			return 0;
		if (errno != EEXIST)
			break;
	}
	int e = errno;
	memcpy(s->path, base, blen + 1); /* errors name the requested path */
	errno = e;
	return -1;
}

int pym_sink_commit(struct pym_sink *s)
{
	if (s->fd < 0) {
		errno = EBADF;
		return -1;
	}
	if (fsync(s->fd) < 0) {
		int e = errno;
		pym_sink_abort(s);
		errno = e;
		return -1;
	}
	int rc = close(s->fd);
	s->fd = -1;
	if (rc < 0 || publish(s) < 0) {
		int e = errno;
		unlink(s->tmp);
		s->tmp[0] = 0;
		errno = e;
		return -1;
	}
	s->tmp[0] = 0;
	return sync_dir(s->path);
}

void pym_sink_abort(struct pym_sink *s)
{
	int e = errno;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	if (s->tmp[0])
		unlink(s->tmp);
	s->tmp[0] = 0;
	errno = e;
}
