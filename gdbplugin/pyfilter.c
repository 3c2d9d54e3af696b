/* pyfilter.c - BaseFilter, Filter and DomainFilter: Python-side holders of
 * tracemalloc's filter attributes; the matching runs in the engine. */
#include "config.h"
#include "pymemsnap.h"

#include <string.h>

static void filter_dealloc(MsPyFilter *f)
{
	Py_XDECREF(f->inclusive);
	Py_XDECREF(f->filename_pattern);
	Py_XDECREF(f->lineno);
	Py_XDECREF(f->all_frames);
	Py_XDECREF(f->domain);
	Py_TYPE(f)->tp_free((PyObject *)f);
}

static MsPyFilter *filter_alloc(PyTypeObject *type, PyObject *inclusive)
{
	MsPyFilter *f = (MsPyFilter *)type->tp_alloc(type, 0);

	if (!f)
		return NULL;
	f->inclusive = Py_NewRef(inclusive);
	f->lineno = Py_NewRef(Py_None);
	f->all_frames = Py_NewRef(Py_False);
	f->domain = Py_NewRef(Py_None);
	return f;
}

/* lineno and domain: None (when allowed) or an int the engine can hold. */
static int check_number(PyObject *v, const char *what, int none_ok)
{
	uint64_t x;

	if (v == Py_None && none_ok)
		return 0;
	if (!PyLong_Check(v)) {
		PyErr_Format(PyExc_TypeError, "%s must be %san int, not %.100s",
			     what, none_ok ? "None or " : "",
			     Py_TYPE(v)->tp_name);
		return -1;
	}
	return mspy_as_u64(v, UINT32_MAX, what, &x);
}

static int set_object(PyObject **slot, PyObject *v, const char *what,
		      int check, int none_ok)
{
	if (!v) {
		PyErr_Format(PyExc_AttributeError, "cannot delete %s", what);
		return -1;
	}
	if (check && check_number(v, what, none_ok) < 0)
		return -1;
	Py_SETREF(*slot, Py_NewRef(v));
	return 0;
}

static PyObject *get_inclusive(MsPyFilter *f, void *c)
{
	return Py_NewRef(f->inclusive);
}

static int set_inclusive(MsPyFilter *f, PyObject *v, void *c)
{
	return set_object(&f->inclusive, v, "inclusive", 0, 0);
}

/* ----------------------------------------------------------- BaseFilter */

static PyObject *basefilter_new(PyTypeObject *type, PyObject *args,
				PyObject *kw)
{
	static const char *kwlist[] = { "inclusive", NULL };
	PyObject *inclusive;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "O:BaseFilter", (char **)kwlist,
					 &inclusive))
		return NULL;
	return (PyObject *)filter_alloc(type, inclusive);
}

static PyGetSetDef basefilter_getset[] = {
	{ "inclusive", (getter)get_inclusive, (setter)set_inclusive,
	  "True: keep only matching traces; False: drop them.", NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

PyTypeObject MsPyBaseFilter_Type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "memsnap.BaseFilter",
	.tp_basicsize = sizeof(MsPyFilter),
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
	.tp_doc = "BaseFilter(inclusive): base class of Filter and "
		  "DomainFilter.",
	.tp_new = basefilter_new,
	.tp_dealloc = (destructor)filter_dealloc,
	.tp_getset = basefilter_getset,
};

/* --------------------------------------------------------------- Filter */

/* tracemalloc's _normalize_filename on POSIX: normcase is the identity,
 * a trailing ".pyc" loses its "c". */
static PyObject *normalize_pattern(PyObject *pattern)
{
	PyObject *p = PyOS_FSPath(pattern), *r;
	Py_ssize_t n;

	if (!p)
		return NULL;
	if (!PyUnicode_Check(p)) {
		PyErr_Format(PyExc_TypeError, "filename_pattern must be a str, "
			     "not %.100s", Py_TYPE(p)->tp_name);
		Py_DECREF(p);
		return NULL;
	}
	n = PyUnicode_GET_LENGTH(p);
	{
		PyObject *suffix = PyUnicode_FromString(".pyc");
		Py_ssize_t m = suffix ? PyUnicode_Tailmatch(p, suffix, 0, n, 1)
				      : -1;

		Py_XDECREF(suffix);
		if (m < 0) {
			Py_DECREF(p);
			return NULL;
		}
		if (!m)
			return p;
	}
	r = PyUnicode_Substring(p, 0, n - 1);
	Py_DECREF(p);
	return r;
}

static PyObject *filter_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
	static const char *kwlist[] = { "inclusive", "filename_pattern", "lineno",
				  "all_frames", "domain", NULL };
	PyObject *inclusive, *pattern, *lineno = Py_None;
	PyObject *all_frames = Py_False, *domain = Py_None;
	MsPyFilter *f;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|OOO:Filter", (char **)kwlist,
					 &inclusive, &pattern, &lineno,
					 &all_frames, &domain))
		return NULL;
	if (check_number(lineno, "lineno", 1) < 0 ||
	    check_number(domain, "domain", 1) < 0)
		return NULL;
	f = filter_alloc(type, inclusive);
	if (!f)
		return NULL;
	f->filename_pattern = normalize_pattern(pattern);
	if (!f->filename_pattern) {
		Py_DECREF(f);
		return NULL;
	}
	Py_SETREF(f->lineno, Py_NewRef(lineno));
	Py_SETREF(f->all_frames, Py_NewRef(all_frames));
	Py_SETREF(f->domain, Py_NewRef(domain));
	return (PyObject *)f;
}

static PyObject *get_pattern(MsPyFilter *f, void *c)
{
	return Py_NewRef(f->filename_pattern);
}

static PyObject *get_lineno(MsPyFilter *f, void *c)
{
	return Py_NewRef(f->lineno);
}

static int set_lineno(MsPyFilter *f, PyObject *v, void *c)
{
	return set_object(&f->lineno, v, "lineno", 1, 1);
}

static PyObject *get_all_frames(MsPyFilter *f, void *c)
{
	return Py_NewRef(f->all_frames);
}

static int set_all_frames(MsPyFilter *f, PyObject *v, void *c)
{
	return set_object(&f->all_frames, v, "all_frames", 0, 0);
}

static PyObject *get_domain(MsPyFilter *f, void *c)
{
	return Py_NewRef(f->domain);
}

static int set_domain(MsPyFilter *f, PyObject *v, void *c)
{
	return set_object(&f->domain, v, "domain", 1, 1);
}

static PyGetSetDef filter_getset[] = {
	{ "filename_pattern", (getter)get_pattern, NULL,
	  "fnmatch pattern of the filename (read-only).", NULL },
	{ "lineno", (getter)get_lineno, (setter)set_lineno,
	  "Line number, or None for any line.", NULL },
	{ "all_frames", (getter)get_all_frames, (setter)set_all_frames,
	  "True: match any frame; False: only the most recent one.", NULL },
	{ "domain", (getter)get_domain, (setter)set_domain,
	  "Allocator domain, or None for any domain.", NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

PyTypeObject MsPyFilter_Type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "memsnap.Filter",
	.tp_basicsize = sizeof(MsPyFilter),
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
	.tp_doc = "Filter(inclusive, filename_pattern, lineno=None, "
		  "all_frames=False, domain=None): filter on traces by file.",
	.tp_new = filter_new,
	.tp_dealloc = (destructor)filter_dealloc,
	.tp_getset = filter_getset,
};

/* --------------------------------------------------------- DomainFilter */

static PyObject *domainfilter_new(PyTypeObject *type, PyObject *args,
				  PyObject *kw)
{
	static const char *kwlist[] = { "inclusive", "domain", NULL };
	PyObject *inclusive, *domain;
	MsPyFilter *f;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "OO:DomainFilter", (char **)kwlist,
					 &inclusive, &domain))
		return NULL;
	if (check_number(domain, "domain", 0) < 0)
		return NULL;
	f = filter_alloc(type, inclusive);
	if (f)
		Py_SETREF(f->domain, Py_NewRef(domain));
	return (PyObject *)f;
}

static PyGetSetDef domainfilter_getset[] = {
	{ "domain", (getter)get_domain, NULL,
	  "Allocator domain (read-only).", NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

PyTypeObject MsPyDomainFilter_Type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "memsnap.DomainFilter",
	.tp_basicsize = sizeof(MsPyFilter),
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
	.tp_doc = "DomainFilter(inclusive, domain): filter on traces by "
		  "allocator domain.",
	.tp_new = domainfilter_new,
	.tp_dealloc = (destructor)filter_dealloc,
	.tp_getset = domainfilter_getset,
};

/* ------------------------------------------------------- to the engine */

int mspy_filter_to_engine(PyObject *obj, ms_filter *out)
{
	MsPyFilter *f = (MsPyFilter *)obj;
	int inclusive;

	memset(out, 0, sizeof(*out));
	if (!PyObject_TypeCheck(obj, &MsPyFilter_Type) &&
	    !PyObject_TypeCheck(obj, &MsPyDomainFilter_Type)) {
		PyErr_Format(PyExc_TypeError, "filters must be Filter or "
			     "DomainFilter objects, not %.200s",
			     Py_TYPE(obj)->tp_name);
		return -1;
	}
	inclusive = PyObject_IsTrue(f->inclusive);
	if (inclusive < 0)
		return -1;
	out->inclusive = inclusive;
	if (f->domain != Py_None) {
		out->has_domain = true;
		out->domain = (uint32_t)PyLong_AsUnsignedLong(f->domain);
	}
	if (PyObject_TypeCheck(obj, &MsPyDomainFilter_Type)) {
		out->kind = MS_FILTER_DOMAIN;
		return 0;
	}
	out->kind = MS_FILTER_FILENAME;
	out->filename_pattern = PyUnicode_AsUTF8(f->filename_pattern);
	if (!out->filename_pattern)
		return -1;
	if (f->lineno != Py_None) {
		out->has_lineno = true;
		out->lineno = (uint32_t)PyLong_AsUnsignedLong(f->lineno);
	}
	out->all_frames = PyObject_IsTrue(f->all_frames) == 1;
	return 0;
}
