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
#include "walk.h"

/* "pymple-<pid>-<UTC yyyymmddThhmmssZ>.dump" in the current directory. */
static PyObject *default_path(void)
{
	char stamp[32], name[96];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
	snprintf(name, sizeof name, "pymple-%ld-%s.dump", (long)getpid(), stamp);
	return PyUnicode_DecodeFSDefault(name);
}

PyDoc_STRVAR(dump_doc,
             "dump(path=None, *, values=True) -> str\n\n"
             "Write a heap dump of this interpreter to path (default:\n"
             "pymple-<pid>-<UTC time>.dump in the current directory) and return\n"
             "the path. values=False leaves out value previews. Raises OSError\n"
             "(no partial file is left) or MemoryError.");

static PyObject *py_dump(PyObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = {"path", "values", NULL};
	PyObject *path = Py_None, *fspath = NULL;
	int values = 1;
	(void)self;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "|O$p:dump", kwlist, &path, &values))
		return NULL;
	if (path == Py_None) {
		path = default_path();
		if (!path)
			return NULL;
	} else {
		path = PyOS_FSPath(path);
		if (!path)
			return NULL;
		if (!PyUnicode_Check(path)) { /* bytes path: return it as str */
			PyObject *s = PyUnicode_DecodeFSDefaultAndSize(PyBytes_AS_STRING(path), PyBytes_GET_SIZE(path));
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
	struct pym_sink sink;
	struct pym_dump_opts opts = {.values = values, .in_child = 0, .level = 1};
	struct pym_dump_stats stats;
	char err[256] = "";
	if (pym_sink_open(&sink, PyBytes_AS_STRING(fspath)) < 0) {
		PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, path);
		goto fail;
	}
	if (pym_dump_fd(sink.fd, &opts, &stats, err, sizeof err) < 0) {
		int e = errno;
		pym_sink_abort(&sink);
		if (e == ENOMEM) {
			PyErr_NoMemory();
		} else {
			PyObject *exc = Py_BuildValue("(isO)", e, err, path);
			if (exc) {
				PyErr_SetObject(PyExc_OSError, exc);
				Py_DECREF(exc);
			}
		}
		goto fail;
	}
	if (pym_sink_commit(&sink) < 0) {
		PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, path);
		goto fail;
	}
	Py_DECREF(fspath);
	return path;
fail:
	Py_DECREF(fspath);
	Py_DECREF(path);
	return NULL;
}

static PyMethodDef methods[] = {
	{"dump", (PyCFunction)(void (*)(void))py_dump, METH_VARARGS | METH_KEYWORDS, dump_doc},
	{NULL, NULL, 0, NULL},
};

static struct PyModuleDef moddef = {
	PyModuleDef_HEAD_INIT, "pymple._pymple", "pymple's C core: heap dumps.", -1, methods,
	NULL, NULL, NULL, NULL,
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
	if (PyModule_AddStringConstant(m, "__version__", PYMPLE_VERSION) < 0 || pym_signal_init(m) < 0) {
		Py_DECREF(m);
		return NULL;
	}
	return m;
}
