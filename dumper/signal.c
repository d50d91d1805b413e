/* signal.c — dump on signal: pymple.install() / pymple.uninstall().
 * The signal handler only writes one byte to a pipe; everything else runs in
 * a dumper thread. Must not call Python, malloc or stdio in the handler or in
 * the forked child (the child only runs pym_dump_fd(in_child) and the sink).
 *
 * Design
 * ------
 *   kill -USR2 pid
 *        |
 *   on_signal()  (any thread; async-signal-safe only: getpid, write; errno
 *        |        saved and restored)  writes SIG_BYTE to the self-pipe. The
 *        |        pipe is non-blocking: when it is full a dump is pending
 *        |        anyway, so nothing is lost, only coalesced.
 *        v
 *   dumper_main()  (a pthread created by install(), never by the handler; it
 *        |          blocks every signal, so handlers run in the application's
 *        |          threads and the forked child inherits a full mask)
 *        |   poll() on the pipe, then drain it: any number of signals that
 *        |   arrived so far become ONE dump; signals arriving during the dump
 *        |   refill the pipe and cause exactly one more dump afterwards. The
 *        |   thread does one dump at a time, so dumps are never re-entrant.
 *        |   It opens the output (pym_sink, temporary name, mode 0600) BEFORE
 *        |   taking the GIL, then PyGILState_Ensure():
 *        |
 *        +-- fork=False: pym_dump_fd() in this process under the GIL (the
 *        |   application's threads are paused for the whole walk), commit.
 *        |
 *        +-- fork=True: fork() with the GIL held, so the child's copy of the
 *            heap is a consistent snapshot. The parent closes its copy of
 *            the file, releases the GIL at once (its pause is the fork
 *            itself) and then, without the GIL, waits for the child with
 *            waitpid (never a zombie) and reads the child's report from a
 *            pipe. The child calls no PyOS_AfterFork_* hook and no Python,
 *            malloc or stdio: the path, the sink and the report buffer were
 *            prepared before fork; pym_dump_fd(in_child=1) uses mmap only;
 *            the sink is async-signal-safe; it ends with _exit(). GC is not
 *            touched in the parent.
 *
 * The fork child is visible to the application. For the length of a dump
 * the service has a real child process that it did not create: os.wait(),
 * os.waitpid(-1, ...), a test harness's reap_children(), psutil's
 * children() and a SIGCHLD handler all see it (SIGCHLD is delivered when it
 * exits). It is reaped at once: the dumper thread sits in waitpid(pid) from
 * the moment fork() returns, so the child is never left as a zombie; if the
 * application reaps it first (waitpid(-1), SIGCHLD set to SIG_IGN), waitpid
 * fails with ECHILD and the report pipe still says how the dump went. If the
 * service itself dies, the orphan finishes its file and is reaped by init.
 * Services that must not see foreign children use fork=False.
 *
 * One line per dump goes to fd 2 with write(2) (not sys.stderr: this thread
 * may not run Python I/O while it holds the GIL) unless quiet=True. Errors
 * are logged the same way, the temporary file is removed (by the sink, or by
 * the parent when the child died) and the next signal simply tries again.
 *
 * Names: pymple-<pid>-<UTC yyyymmddThhmmss.ffffffZ>-<seq>.dump. The sink
 * writes under a name that does not end in ".dump" and renames at the end.
 *
 * Lifetime: uninstall() restores the previous handler, wakes the thread with
 * STOP_BYTE and joins it with the GIL released (a dump in progress finishes,
 * a pending one is still written). install() registers the at-exit variant
 * of uninstall() with atexit so the thread is gone before the interpreter
 * finalizes; that one leaves a disarmed handler where the action was SIG_DFL
 * (see do_uninstall), so a late signal cannot kill an exiting process. The
 * pipe is never closed in the process that created it: a handler running
 * right now on another thread may still hold its fd number. If the
 * application closes it, the handler and uninstall() see that (fstat, see
 * wake_dev) and write nothing, and the thread ends. The handler ignores a
 * signal unless getpid() is the installing process, so a raw fork() child of
 * the application never wakes the parent's thread through the shared pipe.
 * install() and the after-fork hook advertise the process for `python3 -m
 * pymple dump` (advert.py); uninstall() withdraws it. The signal itself is
 * chosen by sigpolicy.py, the policy the command line shares.
 * After os.fork() (multiprocessing, pre-fork servers) an os.register_at_fork
 * hook gives the child its own pipe and its own dumper thread, so each
 * worker can be dumped by pid. (Not pthread_atfork: that would also run in
 * our own raw-fork dump child, where nothing may be started or allocated.) Only the main
 * interpreter is supported (PyGILState_* does not work with sub-interpreters).
 */
#include "signal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dump.h"

#if ATOMIC_INT_LOCK_FREE != 2
#error "the signal handler needs lock-free atomic int"
#endif

#define SIG_BYTE  's' /* a dump was requested */
#define STOP_BYTE 'q' /* uninstall(): the thread must end */

/* What install() chose. Written by install() and the after-fork hook (GIL
 * held) only while no dumper thread runs; read by the dumper thread. */
static struct {
	int signum;
	int fork;
	int values;
	int quiet;
	char dir[PATH_MAX];
} cfg;

/* Self-pipe. Created once per process by install() (GIL held), read by the
 * dumper thread. wake_fd is read by the signal handler. */
static atomic_int wake_fd = -1;
static int wait_fd = -1;
/* What the pipe's write end is (fstat), so that neither the handler nor
 * uninstall() ever writes to the number once the application closed it (a
 * closerange() before exec, a daemon closing every descriptor) and reused it
 * for a file of its own. Written only while owner_pid is not this process
 * (the handler does not read them then). */
static dev_t wake_dev;
static ino_t wake_ino;
/* The process whose handler may write to wake_fd (0: none). Written under
 * the GIL, read by the handler. */
static atomic_int owner_pid;
/* Set by uninstall() (GIL held) before it wakes the thread. */
static atomic_int stopping;

/* Protected by the GIL. */
static int installed;
static pthread_t dumper_thread;
static struct sigaction prev_action;
static PyObject *at_exit_fn; /* strong ref, registered with atexit */
static int atexit_done, atfork_done;

/* Dumper thread only (and the after-fork hook before the thread exists). */
static unsigned long dump_seq;

/* ---------------------------------------------------------------- handler */

/* 1 when fd is still one end of our pipe. Async-signal-safe (fstat). */
static int wake_fd_intact_signal_safe(int fd)
{
	struct stat st;
	return fd >= 0 && fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode) && st.st_dev == wake_dev &&
	       st.st_ino == wake_ino;
}

/* Async-signal-safe: getpid(), fstat(2), write(2) on a non-blocking pipe,
 * errno saved. */
static void on_signal_signal_safe(int signo)
{
	int saved = errno;
	(void)signo;
	if (atomic_load(&owner_pid) == (int)getpid()) {
		int fd = atomic_load(&wake_fd);
		if (wake_fd_intact_signal_safe(fd)) {
			char b = SIG_BYTE;
			ssize_t r = write(fd, &b, 1); /* EAGAIN: pipe full, a dump is pending */
			(void)r;
		}
	}
	errno = saved;
}

/* ---------------------------------------------------------------- helpers */

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One line to fd 2, in a single write(2) so lines of several processes do
 * not interleave. Never from the handler or the child. */
static void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void log_line(const char *fmt, ...)
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
	ssize_t r = write(2, buf, (size_t)n);
	(void)r;
}

/* Fills path with cfg.dir/pymple-<pid>-<UTC time>-<seq>.dump. 0, or -1 when
 * it does not fit (install() checked the directory length, so only in
 * theory). */
static int make_dump_path(char *path, size_t size)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	int n = snprintf(path, size, "%s/pymple-%d-%04d%02d%02dT%02d%02d%02d.%06ldZ-%04lu.dump",
	                 cfg.dir, (int)getpid(), tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	                 tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000, ++dump_seq);
	return n > 0 && (size_t)n < size ? 0 : -1;
}

/* What the forked child sends back: fits in PIPE_BUF, so one atomic write. */
static void log_result(const char *path, int rc, int err, const char *msg,
                       const struct pym_dump_stats *st, double pause)
{
	if (rc == 0) {
		if (cfg.quiet)
			return;
		if (cfg.fork)
			log_line("pymple: wrote %s (%llu objects, %llu bytes, %.3f s; fork pause "
			         "%.1f ms)",
			         path, (unsigned long long)st->objects,
			         (unsigned long long)st->bytes, st->seconds, pause * 1e3);
		else
			log_line("pymple: wrote %s (%llu objects, %llu bytes, %.3f s)", path,
			         (unsigned long long)st->objects, (unsigned long long)st->bytes,
			         st->seconds);
		return;
	}
	/* Errors are logged even when quiet: a dump that silently never appears
	 * is worse than one line on stderr. */
	const char *why = strerror(err ? err : EIO);
	if (msg && *msg && strstr(msg, why)) /* the walk's reason already names it */
		log_line("pymple: dump to %s failed: %s", path, msg);
	else
		log_line("pymple: dump to %s failed: %s%s%s", path, msg && *msg ? msg : "",
		         msg && *msg ? ": " : "", why);
}

/* ------------------------------------------------------------ the dumps */

static void dump_in_process(struct pym_sink *sink)
{
	struct pym_dump_opts opts = {.values = cfg.values, .in_child = 0, .level = 1};
	struct pym_dump_stats st = {0};
	char msg[256] = "";
	int rc, err = 0;

	PyGILState_STATE g = PyGILState_Ensure();
	double t0 = now_seconds();
	rc = pym_dump_fd(sink->fd, &opts, &st, msg, sizeof msg);
	if (rc != 0)
		err = errno;
	if (PyErr_Occurred()) {
		/* pym_dump_fd reports through errbuf; an exception left behind has
		 * no caller to reach in this thread. It is logged, not hidden. */
		if (rc == 0) {
			rc = -1;
			err = EIO;
			snprintf(msg, sizeof msg, "unexpected Python exception");
		}
		PyErr_WriteUnraisable(NULL);
	}
	double t1 = now_seconds();
	PyGILState_Release(g);

	if (rc == 0 && pym_sink_commit(sink) != 0) {
		rc = -1;
		err = errno;
		snprintf(msg, sizeof msg, "cannot commit");
	} else if (rc != 0) {
		pym_sink_abort(sink);
	}
	if (st.seconds <= 0)
		st.seconds = t1 - t0;
	log_result(sink->path, rc, err, msg, &st, t1 - t0);
}

void pym_dump_child_signal_safe(struct pym_sink *sink, int report_fd, int values,
                                uint64_t parent_pid, uint64_t parent_rss)
{
	static struct pym_child_report rep; /* static: no stack surprise, COW page */
	/* META describes the service, not this short-lived copy of it. */
	struct pym_dump_opts opts = {
	        .values = values, .in_child = 1, .level = 1, .pid = parent_pid, .rss = parent_rss};

	/* Ten steps nicer than the application: on a busy machine the dump
	 * yields the CPU to the service it snapshots (plain system calls). */
	errno = 0;
	int prio = getpriority(PRIO_PROCESS, 0);
	if (errno == 0)
		setpriority(PRIO_PROCESS, 0, prio + 10 > 19 ? 19 : prio + 10);
	rep.rc = pym_dump_fd(sink->fd, &opts, &rep.stats, rep.msg, sizeof rep.msg);
	if (rep.rc != 0) {
		rep.err = errno;
		pym_sink_abort(sink);
	} else if (pym_sink_commit(sink) != 0) {
		rep.rc = -1;
		rep.err = errno;
		memcpy(rep.msg, "cannot commit", sizeof "cannot commit");
	}
	ssize_t r = write(report_fd, &rep, sizeof rep);
	(void)r;
	_exit(rep.rc == 0 ? 0 : 1);
}

static void dump_forked(struct pym_sink *sink)
{
	struct pym_child_report rep;
	int rp[2];
	int status = 0;
	pid_t pid;

	memset(&rep, 0, sizeof rep);
	if (pipe2(rp, O_CLOEXEC) != 0) {
		int e = errno;
		pym_sink_abort(sink);
		log_result(sink->path, -1, e, "cannot create a pipe", NULL, 0);
		return;
	}

	/* Measured before the GIL is taken: it does not lengthen the pause. */
	uint64_t parent_pid = (uint64_t)getpid(), parent_rss = pym_rss_bytes();
	PyGILState_STATE g = PyGILState_Ensure();
	double t0 = now_seconds();
	pid = fork();
	int fork_errno = errno;
	if (pid == 0) {
		close(rp[0]);
		pym_dump_child_signal_safe(sink, rp[1], cfg.values, parent_pid, parent_rss);
	}
	double pause = now_seconds() - t0;
	/* Close our copy of the file and of the report pipe's write end while
	 * we still hold the GIL, so no os.fork() of the application can
	 * inherit them, then let the application run again. */
	close(sink->fd);
	sink->fd = -1;
	close(rp[1]);
	PyGILState_Release(g);

	if (pid < 0) {
		close(rp[0]);
		unlink(sink->tmp);
		log_result(sink->path, -1, fork_errno, "fork failed", NULL, 0);
		return;
	}

	/* Reap first, then read: the report (if any) is already in the pipe,
	 * and a copy of the write end inherited by some other child cannot
	 * make us wait. ECHILD: the application reaped it (a SIGCHLD handler
	 * calling waitpid(-1) or SIGCHLD ignored); the report still tells. */
	pid_t w;
	do
		w = waitpid(pid, &status, 0);
	while (w < 0 && errno == EINTR);
	int reaped_elsewhere = w < 0;

	fcntl(rp[0], F_SETFL, O_NONBLOCK);
	ssize_t n;
	do
		n = read(rp[0], &rep, sizeof rep);
	while (n < 0 && errno == EINTR);
	close(rp[0]);

	if (n == (ssize_t)sizeof rep) {
		rep.msg[sizeof rep.msg - 1] = '\0';
		log_result(sink->path, rep.rc, rep.err, rep.msg, &rep.stats, pause);
		return;
	}
	/* No report: the child died. Its temporary file is ours to remove. */
	unlink(sink->tmp);
	if (!reaped_elsewhere && WIFSIGNALED(status))
		log_line("pymple: dump to %s failed: the dumping child was killed by signal %d",
		         sink->path, WTERMSIG(status));
	else
		log_line("pymple: dump to %s failed: the dumping child exited without a report",
		         sink->path);
}

static void dump_once(void)
{
	struct pym_sink sink;
	char path[PATH_MAX];

	if (make_dump_path(path, sizeof path) != 0) {
		log_line("pymple: dump to %s failed: path too long", cfg.dir);
		return;
	}
	/* Opened before the GIL is taken: a slow filesystem does not pause
	 * the application. */
	if (pym_sink_open(&sink, path) != 0) {
		log_result(path, -1, errno, "cannot create the file", NULL, 0);
		return;
	}
	if (cfg.fork)
		dump_forked(&sink);
	else
		dump_in_process(&sink);
}

/* --------------------------------------------------------- dumper thread */

/* Posted once by a new dumper thread when it starts; start_thread() waits
 * for it. Used only between those two, one thread start at a time (under
 * the GIL, or in the single thread of a fresh fork child). */
static sem_t thread_started;

static void *dumper_main(void *arg)
{
	(void)arg;
	sem_post(&thread_started);
	for (;;) {
		struct pollfd p = {.fd = wait_fd, .events = POLLIN};
		if (poll(&p, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_line("pymple: dumper thread stops: poll: %s", strerror(errno));
			return NULL;
		}
		/* Both ends of a pipe are the same inode: check the one we read. */
		if (p.revents & (POLLNVAL | POLLERR) || !wake_fd_intact_signal_safe(wait_fd) ||
		    !wake_fd_intact_signal_safe(atomic_load(&wake_fd))) {
			/* The application closed our pipe: no signal can reach us. */
			log_line("pymple: dumps on signal stop: the process closed pymple's pipe");
			return NULL;
		}
		/* Drain: every request so far is served by one dump. */
		int want_dump = 0, want_stop = 0;
		char buf[64];
		ssize_t n;
		while ((n = read(wait_fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
			for (ssize_t i = 0; i < n; i++) {
				want_dump |= buf[i] == SIG_BYTE;
				want_stop |= buf[i] == STOP_BYTE;
			}
		if (want_dump)
			dump_once();
		if (want_stop || atomic_load(&stopping))
			return NULL;
	}
}

/* Starts the thread with every signal blocked (the thread keeps that mask,
 * and so does every child it forks), and returns once it runs: then a signal
 * right after install() is served, and an os.fork() right after install()
 * never copies a thread caught half-way through its start (holding the
 * allocator's locks, say). 0, or an errno value. */
static int start_thread(void)
{
	sigset_t all, old;
	if (sem_init(&thread_started, 0, 0) != 0)
		return errno;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int e = pthread_create(&dumper_thread, NULL, dumper_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e == 0)
		while (sem_wait(&thread_started) != 0 && errno == EINTR)
			;
	sem_destroy(&thread_started);
	return e;
}

/* Stops and joins the thread; the caller holds the GIL, which is released
 * while joining (the thread may be waiting for it). */
static void stop_thread(void)
{
	char b = STOP_BYTE;
	atomic_store(&stopping, 1);
	/* A thread whose pipe was closed has ended by itself (dumper_main). */
	if (wake_fd_intact_signal_safe(atomic_load(&wake_fd))) {
		ssize_t r = write(atomic_load(&wake_fd), &b, 1);
		(void)r;
	}
	PyThreadState *ts = PyEval_SaveThread();
	pthread_join(dumper_thread, NULL);
	PyEval_RestoreThread(ts);
	atomic_store(&stopping, 0);
}

/* Records what wake_fd is (see wake_dev). 0, or -1 with errno set. */
static int remember_wake_fd(void)
{
	struct stat st;
	if (fstat(atomic_load(&wake_fd), &st) != 0)
		return -1;
	wake_dev = st.st_dev;
	wake_ino = st.st_ino;
	return 0;
}

/* Creates the self-pipe if this process has none yet, and empties it. */
static int ensure_pipe(void)
{
	if (wait_fd < 0 || !wake_fd_intact_signal_safe(atomic_load(&wake_fd))) {
		/* None yet, or the application closed ours (those numbers are
		 * not ours to close any more): a new one. */
		int p[2];
		if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0)
			return -1;
		wait_fd = p[0];
		atomic_store(&wake_fd, p[1]);
		if (remember_wake_fd() != 0)
			return -1;
	}
	char buf[64];
	while (read(wait_fd, buf, sizeof buf) > 0) {
	}
	return 0;
}

/* ------------------------------------------------------------- Python API */

static int dir_converter(PyObject *o, void *out)
{
	if (o == Py_None) {
		*(PyObject **)out = NULL;
		return 1;
	}
	return PyUnicode_FSConverter(o, out);
}

/* Resolves directory (bytes or NULL) into cfg-sized dst: the argument, else
 * $PYMPLE_DIR, else the current directory, made absolute now. 0, or -1 with
 * an exception set. */
static int resolve_dir(PyObject *dirbytes, char *dst, size_t size)
{
	const char *d = dirbytes ? PyBytes_AS_STRING(dirbytes) : getenv("PYMPLE_DIR");
	char cwd[PATH_MAX];
	struct stat sb;
	int n;

	if (d == NULL || *d == '\0')
		d = ".";
	if (d[0] == '/') {
		n = snprintf(dst, size, "%s", d);
	} else {
		if (getcwd(cwd, sizeof cwd) == NULL) {
			PyErr_SetFromErrno(PyExc_OSError);
			return -1;
		}
		n = strcmp(d, ".") == 0 ? snprintf(dst, size, "%s", cwd)
		                        : snprintf(dst, size, "%s/%s", cwd, d);
	}
	/* Leave room for "/pymple-<pid>-<time>-<seq>.dump" and the sink's
	 * temporary suffix. */
	if (n < 0 || (size_t)n + 128 >= size) {
		PyErr_SetString(PyExc_ValueError, "pymple.install: directory path too long");
		return -1;
	}
	while (n > 1 && dst[n - 1] == '/')
		dst[--n] = '\0';
	if (stat(dst, &sb) != 0) {
		PyErr_SetFromErrnoWithFilename(PyExc_OSError, dst);
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		errno = ENOTDIR;
		PyErr_SetFromErrnoWithFilename(PyExc_OSError, dst);
		return -1;
	}
	return 0;
}

/* Calls pymple.<module>.<fn>(args): the pure-Python parts (sigpolicy.py,
 * advert.py), shared with the dump command. New reference or NULL. */
static PyObject *call_helper(const char *module, const char *fn, const char *fmt, ...)
{
	PyObject *m = PyImport_ImportModule(module);
	if (m == NULL)
		return NULL;
	PyObject *f = PyObject_GetAttrString(m, fn);
	Py_DECREF(m);
	if (f == NULL)
		return NULL;
	va_list ap;
	va_start(ap, fmt);
	PyObject *args = Py_VaBuildValue(fmt, ap);
	va_end(ap);
	PyObject *r = args ? PyObject_CallObject(f, args) : NULL;
	Py_XDECREF(args);
	Py_DECREF(f);
	return r;
}

/* advert.publish() for the current configuration: the file that lets
 * `python3 -m pymple dump PID` check before it signals. Its failures are
 * one line on stderr (advert.py); anything else is reported as unraisable:
 * dumps on signal work without it. */
static void advertise(void)
{
	PyObject *d = PyUnicode_DecodeFSDefault(cfg.dir);
	PyObject *r = d ? call_helper("pymple.advert", "publish", "(iOi)", cfg.signum, d, cfg.fork)
	                : NULL;
	Py_XDECREF(d);
	if (r == NULL)
		PyErr_WriteUnraisable(NULL);
	Py_XDECREF(r);
}

static void withdraw(void)
{
	PyObject *r = call_helper("pymple.advert", "withdraw", "()");
	if (r == NULL)
		PyErr_WriteUnraisable(NULL);
	Py_XDECREF(r);
}

/* at_exit (the atexit hook): where the signal's action was SIG_DFL before
 * install(), our handler stays, disarmed (owner_pid 0: it does nothing).
 * A dump signal that arrives during interpreter shutdown (a late `pymple
 * dump`, an atexit hook of the application) is then harmless instead of
 * killing a process that is exiting normally. Not SIG_IGN: an ignored
 * disposition survives exec(), so programs started by later atexit hooks
 * would inherit it; a handler is reset to SIG_DFL by exec(). Every other
 * previous action (SIG_IGN, a Python or C handler) is restored, as by an
 * explicit uninstall(). */
static PyObject *do_uninstall(int at_exit)
{
	if (!installed)
		Py_RETURN_NONE;
	withdraw();
	/* Restore the handler first: no new request can arrive after this, and
	 * one already in the pipe is still served before the thread ends. */
	int keep_disarmed = at_exit && !(prev_action.sa_flags & SA_SIGINFO) &&
	                    prev_action.sa_handler == SIG_DFL;
	atomic_store(&owner_pid, 0);
	if (!keep_disarmed)
		sigaction(cfg.signum, &prev_action, NULL);
	stop_thread();
	installed = 0;
	Py_RETURN_NONE;
}

/* os.register_at_fork(after_in_child=...): the child of an os.fork() has no
 * dumper thread; give it its own pipe and thread so it can be dumped too. */
static PyObject *after_fork_child(PyObject *self, PyObject *unused)
{
	(void)self;
	(void)unused;
	if (!installed)
		Py_RETURN_NONE;
	/* The inherited pipe is shared with the parent: replace it. The handler
	 * still ignores signals here (owner_pid is the parent's) until the new
	 * pipe is in place. */
	int p[2];
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) {
		int e = errno;
		sigaction(cfg.signum, &prev_action, NULL);
		installed = 0;
		log_line("pymple: child %d: dump on signal disabled: pipe: %s", (int)getpid(),
		         strerror(e));
		Py_RETURN_NONE;
	}
	int old_r = wait_fd, old_w = atomic_load(&wake_fd);
	wait_fd = p[0];
	atomic_store(&wake_fd, p[1]);
	close(old_r);
	close(old_w);
	remember_wake_fd(); /* cannot fail: p[1] was just created */
	atomic_store(&stopping, 0);
	dump_seq = 0;
	int e = start_thread();
	if (e != 0) {
		sigaction(cfg.signum, &prev_action, NULL);
		installed = 0;
		log_line("pymple: child %d: dump on signal disabled: thread: %s", (int)getpid(),
		         strerror(e));
		Py_RETURN_NONE;
	}
	atomic_store(&owner_pid, (int)getpid());
	advertise(); /* this child, by its own pid */
	Py_RETURN_NONE;
}

static PyMethodDef after_fork_def = {"_signal_after_fork_child", after_fork_child, METH_NOARGS,
                                     NULL};

/* Registers uninstall with atexit and the after-fork hook, once each. */
static int register_hooks(void)
{
	if (!atexit_done) {
		PyObject *r = PyImport_ImportModule("atexit");
		if (r == NULL)
			return -1;
		PyObject *res = PyObject_CallMethod(r, "register", "O", at_exit_fn);
		Py_DECREF(r);
		if (res == NULL)
			return -1;
		Py_DECREF(res);
		atexit_done = 1;
	}
	if (!atfork_done) {
		PyObject *os = PyImport_ImportModule("os");
		if (os == NULL)
			return -1;
		PyObject *fn = PyCFunction_New(&after_fork_def, NULL);
		PyObject *reg = fn ? PyObject_GetAttrString(os, "register_at_fork") : NULL;
		PyObject *res = NULL;
		if (reg != NULL) {
			PyObject *args = PyTuple_New(0);
			PyObject *kw = Py_BuildValue("{s:O}", "after_in_child", fn);
			if (args && kw)
				res = PyObject_Call(reg, args, kw);
			Py_XDECREF(args);
			Py_XDECREF(kw);
		}
		Py_XDECREF(reg);
		Py_XDECREF(fn);
		Py_DECREF(os);
		if (res == NULL)
			return -1;
		Py_DECREF(res);
		atfork_done = 1;
	}
	return 0;
}

PyDoc_STRVAR(install_doc,
             "install($module, /, signum='SIGUSR2', directory=None, *, fork=True, values=True,"
             " quiet=False)\n--\n\n"
             "Write a heap dump each time the process receives signum (default SIGUSR2).\n\n"
             "signum: SIGUSR1, SIGUSR2 or SIGRTMIN..SIGRTMAX, as an int, a signal.Signals\n"
             "or a name ('USR2', 'SIGUSR2', 'RTMIN+2'); any other signal is a ValueError\n"
             "saying why. The process advertises itself for 'python3 -m pymple dump PID'\n"
             "(a 0600 file under $XDG_RUNTIME_DIR/pymple or /tmp/pymple-<uid>) until\n"
             "uninstall() or exit.\n\n"
             "Dumps go to directory (default: $PYMPLE_DIR, else the current directory,\n"
             "resolved now) as pymple-<pid>-<UTC time>-<seq>.dump, mode 0600. With\n"
             "fork=True a forked child writes the dump from a copy-on-write snapshot and\n"
             "the process pauses only for the fork; with fork=False the dump is written\n"
             "in-process with the GIL held. Signals during a dump are coalesced into one\n"
             "more dump. One line per dump goes to stderr unless quiet (errors always).\n"
             "Replaces the signal's current handler; calling install() again replaces\n"
             "the previous configuration.");

static PyObject *py_install(PyObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = {"signum", "directory", "fork", "values", "quiet", NULL};
	int signum = SIGUSR2, fork_ = 1, values = 1, quiet = 0;
	PyObject *sigobj = NULL, *dirbytes = NULL;
	char dir[PATH_MAX];
	(void)self;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "|OO&$ppp:install", kwlist, &sigobj,
	                                 dir_converter, &dirbytes, &fork_, &values, &quiet))
		return NULL;
	if (sigobj != NULL) {
		/* The one signal policy (sigpolicy.py): allowed signals, names. */
		PyObject *n = call_helper("pymple.sigpolicy", "resolve", "(O)", sigobj);
		signum = n ? PyLong_AsLong(n) : -1;
		Py_XDECREF(n);
		if (signum == -1 && PyErr_Occurred()) {
			Py_XDECREF(dirbytes);
			return NULL;
		}
	}
	int r = resolve_dir(dirbytes, dir, sizeof dir);
	Py_XDECREF(dirbytes);
	if (r != 0)
		return NULL;
#if PY_VERSION_HEX < 0x03090000
	PyInterpreterState *interp = PyThreadState_Get()->interp;
#else
	PyInterpreterState *interp = PyInterpreterState_Get();
#endif
	if (interp != PyInterpreterState_Main()) {
		PyErr_SetString(PyExc_RuntimeError,
		                "pymple.install: only supported in the main interpreter");
		return NULL;
	}
	if (register_hooks() != 0)
		return NULL;

	PyObject *u = do_uninstall(0);
	if (u == NULL)
		return NULL;
	Py_DECREF(u);

	cfg.signum = signum;
	cfg.fork = fork_;
	cfg.values = values;
	cfg.quiet = quiet;
	memcpy(cfg.dir, dir, sizeof dir);
	if (ensure_pipe() != 0)
		return PyErr_SetFromErrno(PyExc_OSError);
	int e = start_thread();
	if (e != 0) {
		errno = e;
		return PyErr_SetFromErrno(PyExc_OSError);
	}
	atomic_store(&owner_pid, (int)getpid());

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal_signal_safe;
	sigemptyset(&sa.sa_mask);
	/* SA_RESTART: the application's blocking calls should not see EINTR
	 * because of us. */
	sa.sa_flags = SA_RESTART;
	if (sigaction(signum, &sa, &prev_action) != 0) {
		int se = errno;
		atomic_store(&owner_pid, 0);
		stop_thread();
		errno = se;
		return PyErr_SetFromErrno(PyExc_OSError);
	}
	/* Our own handler, left disarmed by an earlier at-exit uninstall, stood
	 * for SIG_DFL (do_uninstall). */
	if (!(prev_action.sa_flags & SA_SIGINFO) &&
	    prev_action.sa_handler == on_signal_signal_safe) {
		prev_action.sa_handler = SIG_DFL;
		prev_action.sa_flags = 0;
	}
	installed = 1;
	advertise();
	Py_RETURN_NONE;
}

PyDoc_STRVAR(uninstall_doc,
             "uninstall($module, /)\n--\n\n"
             "Restore the signal handler that install() replaced and stop the dumper\n"
             "thread (a dump in progress or already requested is finished first).\n"
             "Does nothing when not installed.");

static PyObject *py_uninstall(PyObject *self, PyObject *unused)
{
	(void)self;
	(void)unused;
	return do_uninstall(0);
}

/* Registered with atexit by install(): see do_uninstall(at_exit). */
static PyObject *py_uninstall_at_exit(PyObject *self, PyObject *unused)
{
	(void)self;
	(void)unused;
	return do_uninstall(1);
}

static PyMethodDef signal_methods[] = {
        {"install", (PyCFunction)(void (*)(void))py_install, METH_VARARGS | METH_KEYWORDS,
         install_doc},
        {"uninstall", py_uninstall, METH_NOARGS, uninstall_doc},
        {"_uninstall_at_exit", py_uninstall_at_exit, METH_NOARGS, NULL},
        {NULL, NULL, 0, NULL},
};

int pym_signal_init(PyObject *module)
{
	if (PyModule_AddFunctions(module, signal_methods) != 0)
		return -1;
	if (at_exit_fn == NULL) {
		at_exit_fn = PyObject_GetAttrString(module, "_uninstall_at_exit");
		if (at_exit_fn == NULL)
			return -1;
	}
	return 0;
}
