/* attach.c — the entry point `python3 -m pymple dump --attach PID` calls from
 * gdb inside a process that never imported pymple. pymple_attach_start() runs
 * on a thread gdb interrupted: it only copies its arguments and starts one
 * thread, then returns; it runs no Python and takes no Python lock. The
 * thread does the dump the ordinary way (PyGILState_Ensure) and ends.
 *
 * Protocol with the command line (pymple/attach.py), all through files in the
 * dump directory, so that nothing here needs the command-line process:
 *
 *   gdb: pymple_attach_start("dir=D\nclaim=C\ndeadline=NS\nfork=1\n")
 *        -> 0, or an errno value (EBUSY: an attach dump is still running)
 *   attach thread: PyGILState_Ensure(), then
 *        CLOCK_MONOTONIC > deadline  -> nothing at all (the command line has
 *                                       given up; a late dump helps no one)
 *        open(C, O_CREAT|O_EXCL) fails -> nothing but removing C (the command
 *                                       line created C first: it was
 *                                       interrupted, and has left)
 *        otherwise the dump (forked child, or in-process), then one line in
 *        C: "ok <path>\n" or "error <reason>\n", written in one write(2).
 *
 * The exclusive create is the one point where the command line and this
 * thread agree on who won: a dump either happens and is reported, or does
 * not happen at all. Nothing is written to the target's stdout or stderr.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dump.h"
#include "signal.h"
#include "walk.h"

/* The request, copied by pymple_attach_start() before the thread starts and
 * read only by that thread afterwards. Guarded by `busy`: one attach at a
 * time per loaded copy of this library. */
static struct {
	char dir[PATH_MAX];
	char claim[PATH_MAX];
	unsigned long long deadline_ns; /* CLOCK_MONOTONIC */
	int fork;
} req;
static atomic_int busy;

/* What the forked child sends back (fits in PIPE_BUF: one atomic write). */
/* Copies the value of "key=" from a "k=v\n" list into dst. 0, or -1 when
 * the key is missing or the value does not fit. No allocation, no locale. */
static int arg_value(const char *args, const char *key, char *dst, size_t size)
{
	size_t klen = strlen(key);
	const char *p = args;
	while (*p) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len > klen && memcmp(p, key, klen) == 0 && p[klen] == '=') {
			size_t vlen = len - klen - 1;
			if (vlen >= size)
				return -1;
			memcpy(dst, p + klen + 1, vlen);
			dst[vlen] = '\0';
			return 0;
		}
		if (!end)
			break;
		p = end + 1;
	}
	return -1;
}

static int parse_ull(const char *s, unsigned long long *out)
{
	unsigned long long v = 0;
	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (ULLONG_MAX - 9) / 10)
			return -1;
		v = v * 10 + (unsigned long long)(*s - '0');
	}
	*out = v;
	return 0;
}

static unsigned long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

/* One line into the claim file, in a single write(2). */
static void report(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(int fd, const char *fmt, ...)
{
	char buf[PATH_MAX + 512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof buf - 2)
		n = (int)sizeof buf - 2;
	buf[n++] = '\n';
	ssize_t r = write(fd, buf, (size_t)n);
	(void)r;
}

static void report_failure(int fd, const char *what, int err, const char *msg)
{
	const char *why = strerror(err ? err : EIO);
	if (msg && *msg && strstr(msg, why))
		report(fd, "error %s: %s", what, msg);
	else if (msg && *msg)
		report(fd, "error %s: %s: %s", what, msg, why);
	else
		report(fd, "error %s: %s", what, why);
}

/* Called with the GIL held; returns with it released. Writes the outcome
 * into claim_fd. */
static void dump_forked(PyGILState_STATE g, struct pym_sink *sink, int claim_fd)
{
	struct pym_child_report rep;
	int rp[2], status = 0;
	memset(&rep, 0, sizeof rep);
	if (pipe2(rp, O_CLOEXEC) != 0) {
		int e = errno;
		PyGILState_Release(g);
		pym_sink_abort(sink);
		report_failure(claim_fd, "pipe", e, NULL);
		return;
	}
	uint64_t ppid = (uint64_t)getpid(), prss = pym_rss_bytes();
	pid_t pid = fork();
	int fork_errno = errno;
	if (pid == 0) {
		close(rp[0]);
		pym_dump_child_signal_safe(sink, rp[1], 1, ppid, prss);
	}
	close(sink->fd);
	sink->fd = -1;
	close(rp[1]);
	PyGILState_Release(g);
	if (pid < 0) {
		close(rp[0]);
		unlink(sink->tmp);
		report_failure(claim_fd, "fork", fork_errno, NULL);
		return;
	}
	pid_t w;
	do
		w = waitpid(pid, &status, 0);
	while (w < 0 && errno == EINTR);
	fcntl(rp[0], F_SETFL, O_NONBLOCK);
	ssize_t n;
	do
		n = read(rp[0], &rep, sizeof rep);
	while (n < 0 && errno == EINTR);
	close(rp[0]);
	if (n != (ssize_t)sizeof rep) {
		unlink(sink->tmp);
		if (w == pid && WIFSIGNALED(status))
			report(claim_fd, "error the dumping child was killed by signal %d",
			       WTERMSIG(status));
		else
			report(claim_fd, "error the dumping child exited without a report");
		return;
	}
	rep.msg[sizeof rep.msg - 1] = '\0';
	if (rep.rc != 0)
		report_failure(claim_fd, "dump", rep.err, rep.msg);
	else
		report(claim_fd, "ok %s", sink->path);
}

/* Called with the GIL held; returns with it released. */
static void dump_in_process(PyGILState_STATE g, struct pym_sink *sink, int claim_fd)
{
	struct pym_dump_opts opts = {.values = 1, .in_child = 0, .level = 1};
	struct pym_dump_stats st;
	char msg[256] = "";
	int err = 0;
	int rc = pym_dump_fd(sink->fd, &opts, &st, msg, sizeof msg);
	if (rc != 0)
		err = errno;
	if (PyErr_Occurred()) {
		/* No caller to hand it to; the dump is reported failed instead. */
		PyErr_Clear();
		if (rc == 0) {
			rc = -1;
			err = EIO;
			snprintf(msg, sizeof msg, "unexpected Python exception");
		}
	}
	PyGILState_Release(g);
	if (rc != 0) {
		pym_sink_abort(sink);
		report_failure(claim_fd, "dump", err, msg);
	} else if (pym_sink_commit(sink) != 0) {
		report_failure(claim_fd, "commit", errno, NULL);
	} else {
		report(claim_fd, "ok %s", sink->path);
	}
}

static void *attach_main(void *arg)
{
	(void)arg;
	/* An interpreter that is finalizing may end this thread inside
	 * PyGILState_Ensure; one that is gone must not be touched at all. */
	if (!Py_IsInitialized())
		goto out;
	PyGILState_STATE g = PyGILState_Ensure();
	if (now_ns() > req.deadline_ns) {
		PyGILState_Release(g);
		goto out;
	}
	int claim_fd = open(req.claim, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (claim_fd < 0) {
		/* The command line cancelled (interrupted) and left the claim for us
		 * to find; it is gone, so the file is ours to remove. */
		if (errno == EEXIST)
			unlink(req.claim);
		PyGILState_Release(g);
		goto out;
	}
	if (pym_walk_prepare() != 0) {
		PyErr_Clear();
		PyGILState_Release(g);
		report(claim_fd, "error cannot prepare the walk (out of memory?)");
		close(claim_fd);
		goto out;
	}
	char path[PATH_MAX];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	int n = snprintf(path, sizeof path, "%s/pymple-%d-%04d%02d%02dT%02d%02d%02d.%06ldZ.dump",
	                 req.dir, (int)getpid(), tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	                 tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000);
	struct pym_sink sink;
	if (n < 0 || (size_t)n >= sizeof path) {
		PyGILState_Release(g);
		report(claim_fd, "error directory path too long");
	} else if (pym_sink_open(&sink, path) != 0) {
		int e = errno;
		PyGILState_Release(g);
		report_failure(claim_fd, "cannot create a file in the dump directory", e, NULL);
	} else {
		sink.noreplace = 1;
		if (req.fork)
			dump_forked(g, &sink, claim_fd);
		else
			dump_in_process(g, &sink, claim_fd);
	}
	close(claim_fd);
out:
	atomic_store(&busy, 0);
	return NULL;
}

/* Called by gdb on a thread it stopped at the entry of a CPython API
 * function (so it holds no libc lock). args: "dir=D\nclaim=C\ndeadline=NS\n
 * fork=0|1\n" (D and C absolute, in this process's file system view). Copies
 * them and starts a detached thread with every signal blocked (so it never
 * runs the application's handlers and its fork child inherits a full mask).
 * Returns 0, EINVAL (bad arguments), EBUSY (the previous attach dump is still
 * running) or pthread_create's error; nothing is started unless 0. */
__attribute__((visibility("default"))) int pymple_attach_start(const char *args);
__attribute__((visibility("default"))) int pymple_attach_start(const char *args)
{
	char num[32], fork_s[4];
	int expected = 0;
	if (!atomic_compare_exchange_strong(&busy, &expected, 1))
		return EBUSY;
	if (arg_value(args, "dir", req.dir, sizeof req.dir) != 0 ||
	    arg_value(args, "claim", req.claim, sizeof req.claim) != 0 ||
	    arg_value(args, "deadline", num, sizeof num) != 0 ||
	    parse_ull(num, &req.deadline_ns) != 0 ||
	    arg_value(args, "fork", fork_s, sizeof fork_s) != 0 || req.dir[0] != '/' ||
	    req.claim[0] != '/') {
		atomic_store(&busy, 0);
		return EINVAL;
	}
	req.fork = strcmp(fork_s, "0") != 0;

	pthread_attr_t attr;
	pthread_t t;
	sigset_t all, old;
	int e = pthread_attr_init(&attr);
	if (e == 0) {
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		e = pthread_create(&t, &attr, attach_main, NULL);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		pthread_attr_destroy(&attr);
	}
	if (e != 0)
		atomic_store(&busy, 0);
	return e;
}
