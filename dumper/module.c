/* module.c — CPython glue for pymple._pymple: argument parsing, the default
 * file name, the atomic sink, and turning C errors into Python exceptions.
 * The heap walk itself lives in walk.c; nothing here touches the heap. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dump.h"
#include "signal.h"
#include "snapshot.h"
#include "walk.h"

/* "pymple-<pid>-<UTC yyyymmddThhmmss.ffffffZ>.dump" in the current
 * directory: names sort by time; two dumps in one microsecond get "-N"
 * from the sink (noreplace), never the same file. */
static PyObject *default_path(void)
{
	char name[128];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(name, sizeof name, "pymple-%ld-%04d%02d%02dT%02d%02d%02d.%06ldZ.dump",
	         (long)getpid(), tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	         tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000);
	return PyUnicode_DecodeFSDefault(name);
}

PyDoc_STRVAR(dump_doc, "dump(path=None, *, values=True, quiet=False) -> str\n\n"
                       "Write a heap dump of this interpreter to path and return the path.\n"
                       "The default name, pymple-<pid>-<UTC time to the microsecond>.dump in\n"
                       "the current directory, never replaces an existing file (it takes a\n"
                       "-N suffix instead); an explicit path is replaced atomically.\n"
                       "values=False leaves out value previews. One line goes to sys.stderr\n"
                       "(path, objects, bytes, seconds) unless quiet=True. Raises OSError\n"
                       "(no partial file is left) or MemoryError.");

static PyObject *py_dump(PyObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = {"path", "values", "quiet", NULL};
	PyObject *arg = Py_None, *path, *fspath = NULL;
	int values = 1, quiet = 0;
	(void)self;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "|O$pp:dump", kwlist, &arg, &values, &quiet))
		return NULL;
	if (arg == Py_None) {
		path = default_path();
		if (!path)
			return NULL;
	} else {
		path = PyOS_FSPath(arg);
		if (!path)
			return NULL;
		if (!PyUnicode_Check(path)) { /* bytes path: return it as str */
			PyObject *s = PyUnicode_DecodeFSDefaultAndSize(PyBytes_AS_STRING(path),
			                                               PyBytes_GET_SIZE(path));
			Py_DECREF(path);
			if (!s)
				return NULL;
			path = s;
		}
	}
	if (!PyUnicode_FSConverter(path, &fspath)) {
		Py_DECREF(path);
		return NULL;
	}
	/* When path is the caller's own str, the call's arguments keep it alive:
	 * drop our reference so the dump shows the refcount the program has. */
	int borrowed = path == arg;
	if (borrowed)
		Py_DECREF(path);
	struct pym_sink sink;
	struct pym_dump_opts opts = {.values = values, .in_child = 0, .level = 1};
	struct pym_dump_stats stats;
	char err[256] = "";
	int rc = -1, e = 0;
	const char *step = "open";
	if (pym_sink_open(&sink, PyBytes_AS_STRING(fspath)) < 0) {
		e = errno;
	} else {
		sink.noreplace = arg == Py_None; /* only generated names */
		if (step = "dump", pym_dump_fd(sink.fd, &opts, &stats, err, sizeof err) < 0) {
			e = errno;
			pym_sink_abort(&sink);
		} else if (step = "commit", pym_sink_commit(&sink) < 0) {
			e = errno;
		} else {
			rc = 0;
		}
	}
	if (borrowed)
		Py_INCREF(path);
	if (rc == 0 && strcmp(sink.path, PyBytes_AS_STRING(fspath)) != 0) {
		/* the default name was taken: the sink chose "<name>-N.dump" */
		Py_DECREF(path);
		path = PyUnicode_DecodeFSDefault(sink.path);
		if (!path) {
			Py_DECREF(fspath);
			return NULL;
		}
	}
	Py_DECREF(fspath);
	if (rc == 0) {
		/* After the walk: the line does not change the heap it measured. */
		if (!quiet) {
			char nums[128];
			snprintf(nums, sizeof nums, "%llu objects, %llu bytes, %.3f s",
			         (unsigned long long)stats.objects, (unsigned long long)stats.bytes,
			         stats.seconds);
			PySys_FormatStderr("pymple: wrote %U (%s)\n", path, nums);
		}
		return path;
	}
	if (e == ENOMEM) {
		PyErr_NoMemory();
	} else if (step[0] == 'd' && err[0]) {
		PyObject *exc = Py_BuildValue("(isO)", e, err, path);
		if (exc) {
			PyErr_SetObject(PyExc_OSError, exc);
			Py_DECREF(exc);
		}
	} else {
		errno = e;
		PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, path);
	}
	Py_DECREF(path);
	return NULL;
}

static PyMethodDef methods[] = {
        {"dump", (PyCFunction)(void (*)(void))py_dump, METH_VARARGS | METH_KEYWORDS, dump_doc},
        {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moddef = {
        PyModuleDef_HEAD_INIT,
        "pymple._pymple",
        "pymple's C core: heap dumps.",
        -1,
        methods,
        NULL,
        NULL,
        NULL,
        NULL,
};

/* 3.8's PyMODINIT_FUNC does not mark the symbol visible; we build with
 * -fvisibility=hidden, so say it here. */
__attribute__((visibility("default"))) PyMODINIT_FUNC PyInit__pymple(void);
__attribute__((visibility("default"))) PyMODINIT_FUNC PyInit__pymple(void)
{
	if (pym_walk_prepare() < 0)
		return NULL;
	PyObject *m = PyModule_Create(&moddef);
	if (!m)
		return NULL;
	if (PyModule_AddStringConstant(m, "__version__", PYMPLE_VERSION) < 0 ||
	    pym_signal_init(m) < 0 || pym_snapshot_init(m) < 0) {
		Py_DECREF(m);
		return NULL;
	}
	return m;
}
