/* pymodule.c - the _memsnap extension module: type registration, error
 * mapping and the small conversions every type uses. */
#include "config.h"
#include "pymemsnap.h"

#include <string.h>

PyObject *mspy_raise(const ms_error *err)
{
	PyObject *exc;
	const char *msg = err->message[0] ? err->message
					  : ms_strerror(err->code);

	switch (err->code) {
	case MS_ENOMEM:
		return PyErr_NoMemory();
	case MS_EIO:
		exc = PyExc_OSError;
		break;
	case MS_EINVAL: case MS_EFORMAT: case MS_EVERSION: case MS_ETRUNCATED:
	case MS_ECHECKSUM: case MS_ECORRUPT: case MS_EKEYTYPE:
	case MS_ECUMULATIVE: case MS_ELIMIT:
		exc = PyExc_ValueError;
		break;
	case MS_ENOTFOUND:
		exc = PyExc_LookupError;
		break;
	default:
		exc = PyExc_RuntimeError;
		break;
	}
	PyErr_SetString(exc, msg);
	return NULL;
}

PyObject *mspy_str(const char *s)
{
	if (!s)
		Py_RETURN_NONE;
	return PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "surrogateescape");
}

int mspy_as_u64(PyObject *v, uint64_t max, const char *what, uint64_t *out)
{
	unsigned long long x;

	if (!PyLong_Check(v)) {
		PyErr_Format(PyExc_TypeError, "%s must be an int, not %.100s",
			     what, Py_TYPE(v)->tp_name);
		return -1;
	}
	x = PyLong_AsUnsignedLongLong(v);
	if (x == (unsigned long long)-1 && PyErr_Occurred()) {
		if (!PyErr_ExceptionMatches(PyExc_OverflowError))
			return -1;
		PyErr_Clear();
	} else if (x <= max) {
		*out = x;
		return 0;
	}
	PyErr_Format(PyExc_OverflowError, "%s out of range: %R", what, v);
	return -1;
}

PyObject *mspy_format_size(PyObject *size, int sign)
{
	char buf[64];

	if (PyLong_Check(size)) {
		int overflow = 0;
		long long v = PyLong_AsLongLongAndOverflow(size, &overflow);

		if (v == -1 && PyErr_Occurred())
			return NULL;
		if (!overflow) {
			ms_format_size(buf, sizeof(buf), v, sign);
			return PyUnicode_FromString(buf);
		}
	}
	{
		double d = PyFloat_AsDouble(size);

		if (d == -1.0 && PyErr_Occurred())
			return NULL;
		ms_format_size_double(buf, sizeof(buf), d, sign);
	}
	return PyUnicode_FromString(buf);
}

PyObject *mspy_format_int(PyObject *v, int sign)
{
	PyObject *n, *s, *r;

	if (!PyLong_Check(v) && !PyFloat_Check(v)) {
		PyErr_Format(PyExc_TypeError,
			     "%%i format: a real number is required, not %.200s",
			     Py_TYPE(v)->tp_name);
		return NULL;
	}
	n = PyNumber_Long(v);
	if (!n)
		return NULL;
	s = PyObject_Str(n);
	if (!s || !sign || _PyLong_Sign(n) < 0) {
		Py_DECREF(n);
		return s;
	}
	Py_DECREF(n);
	r = PyUnicode_FromFormat("+%U", s);
	Py_DECREF(s);
	return r;
}

static PyObject *py_format_size(PyObject *mod, PyObject *args)
{
	PyObject *size;
	int sign;

	if (!PyArg_ParseTuple(args, "Op:_format_size", &size, &sign))
		return NULL;
	return mspy_format_size(size, sign);
}

static PyMethodDef module_methods[] = {
	{ "_format_size", py_format_size, METH_VARARGS,
	  "_format_size(size, sign) -> str, as tracemalloc formats sizes." },
	{ "allocator_entries", mspy_allocator_entries, METH_VARARGS,
	  "allocator_entries(pid, module=None) -> [(name, address, module, "
	  "size)]: every definition of an allocator entry point or an "
	  "allocation wrapper in the process's modules (or in the one "
	  "module of that path)" },
	{ "check_core", mspy_check_core, METH_VARARGS,
	  "check_core(snapshot, core, executable=None, core_pid=0) -> "
	  "[problems]: whether a snapshot belongs to a core (pid, build-ids)" },
	{ NULL, NULL, 0, NULL },
};

static struct PyModuleDef memsnap_module = {
	PyModuleDef_HEAD_INIT,
	.m_name = "memsnap._memsnap",
	.m_doc = "memsnap: tracemalloc's Snapshot API over native heap "
		 "snapshots (the C part of the memsnap package).",
	.m_size = -1,
	.m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__memsnap(void);
PyMODINIT_FUNC PyInit__memsnap(void)
{
	static const struct {
		const char *name;
		PyTypeObject *type;
	} types[] = {
		{ "Frame", &MsPyFrame_Type },
		{ "Traceback", &MsPyTraceback_Type },
		{ "Trace", &MsPyTrace_Type },
		{ "Traces", &MsPyTraces_Type },
		{ "Snapshot", &MsPySnapshot_Type },
		{ "Statistic", &MsPyStatistic_Type },
		{ "StatisticDiff", &MsPyStatisticDiff_Type },
		{ "_StatsOwner", &MsPyStatsOwner_Type },
		{ "BaseFilter", &MsPyBaseFilter_Type },
		{ "Filter", &MsPyFilter_Type },
		{ "DomainFilter", &MsPyDomainFilter_Type },
		{ "Session", &MsPySession_Type },
		{ "Tracker", &MsPyTracker_Type },
		{ "_StopHandler", &MsPyStopHandler_Type },
	};
	PyObject *m;

	MsPyFilter_Type.tp_base = &MsPyBaseFilter_Type;
	MsPyDomainFilter_Type.tp_base = &MsPyBaseFilter_Type;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (PyType_Ready(types[i].type) < 0)
			return NULL;
	m = PyModule_Create(&memsnap_module);
	if (!m)
		return NULL;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (PyModule_AddObjectRef(m, types[i].name,
					  (PyObject *)types[i].type) < 0) {
			Py_DECREF(m);
			return NULL;
		}
	}
	return m;
}
