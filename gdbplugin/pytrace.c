/* pytrace.c - Trace (one live block) and Traces (Snapshot.traces, a
 * sequence view over the engine's trace array). */
#include "config.h"
#include "pymemsnap.h"

/* ---------------------------------------------------------------- Trace */

PyObject *mspy_trace_from_snapshot(MsPySnapshot *s, size_t i)
{
	MsPyTrace *t;
	ms_trace et;

	ms_snapshot_trace(s->snap, i, &et);
	t = PyObject_New(MsPyTrace, &MsPyTrace_Type);
	if (!t)
		return NULL;
	t->domain = PyLong_FromUnsignedLong(et.domain);
	t->size = PyLong_FromUnsignedLongLong(et.size);
	t->traceback = NULL;
	t->snapshot = (MsPySnapshot *)Py_NewRef(s);
	t->tb_id = et.traceback;
	if (!t->domain || !t->size) {
		Py_DECREF(t);
		return NULL;
	}
	return (PyObject *)t;
}

static PyObject *trace_traceback(MsPyTrace *t)
{
	if (!t->traceback) {
		t->traceback = mspy_snapshot_traceback(t->snapshot, t->tb_id);
		if (!t->traceback)
			return NULL;
	}
	return t->traceback;
}

static PyObject *trace_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
	static const char *kwlist[] = { "trace", NULL };
	PyObject *raw, *seq, *tbargs;
	MsPyTrace *t;
	Py_ssize_t n;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "O:Trace", (char **)kwlist, &raw))
		return NULL;
	seq = PySequence_Fast(raw, "trace must be a (domain, size, frames, "
				   "total_nframe) tuple");
	if (!seq)
		return NULL;
	n = PySequence_Fast_GET_SIZE(seq);
	if (n != 3 && n != 4) {
		Py_DECREF(seq);
		PyErr_SetString(PyExc_TypeError, "trace must be a (domain, size, "
				"frames, total_nframe) tuple");
		return NULL;
	}
	t = (MsPyTrace *)type->tp_alloc(type, 0);
	if (!t) {
		Py_DECREF(seq);
		return NULL;
	}
	t->domain = Py_NewRef(PySequence_Fast_GET_ITEM(seq, 0));
	t->size = Py_NewRef(PySequence_Fast_GET_ITEM(seq, 1));
	tbargs = PyTuple_GetSlice(seq, 2, n);
	Py_DECREF(seq);
	if (!tbargs) {
		Py_DECREF(t);
		return NULL;
	}
	t->traceback = PyObject_Call((PyObject *)&MsPyTraceback_Type, tbargs,
				     NULL);
	Py_DECREF(tbargs);
	if (!t->traceback) {
		Py_DECREF(t);
		return NULL;
	}
	return (PyObject *)t;
}

static void trace_dealloc(MsPyTrace *t)
{
	Py_XDECREF(t->domain);
	Py_XDECREF(t->size);
	Py_XDECREF(t->traceback);
	Py_XDECREF(t->snapshot);
	Py_TYPE(t)->tp_free((PyObject *)t);
}

static PyObject *trace_get_traceback(MsPyTrace *t, void *c)
{
	return Py_XNewRef(trace_traceback(t));
}

static PyObject *trace_get_domain(MsPyTrace *t, void *c)
{
	return Py_NewRef(t->domain);
}

static PyObject *trace_get_size(MsPyTrace *t, void *c)
{
	return Py_NewRef(t->size);
}

/* tracemalloc compares the raw tuples (domain, size, frames,
 * total_nframe). */
static int trace_equal(MsPyTrace *a, MsPyTrace *b)
{
	MsPyTraceback *ta, *tb;
	int r;

	if (a == b)
		return 1;
	r = PyObject_RichCompareBool(a->domain, b->domain, Py_EQ);
	if (r == 1)
		r = PyObject_RichCompareBool(a->size, b->size, Py_EQ);
	if (r != 1)
		return r;
	if (a->snapshot && a->snapshot == b->snapshot && a->tb_id == b->tb_id)
		return 1;
	ta = (MsPyTraceback *)trace_traceback(a);
	tb = ta ? (MsPyTraceback *)trace_traceback(b) : NULL;
	if (!tb)
		return -1;
	r = PyObject_RichCompareBool((PyObject *)ta, (PyObject *)tb, Py_EQ);
	if (r == 1)
		r = PyObject_RichCompareBool(ta->total_nframe,
					     tb->total_nframe, Py_EQ);
	return r;
}

static PyObject *trace_richcompare(PyObject *a, PyObject *b, int op)
{
	int r;

	if (!PyObject_TypeCheck(a, &MsPyTrace_Type) ||
	    !PyObject_TypeCheck(b, &MsPyTrace_Type) ||
	    (op != Py_EQ && op != Py_NE))
		Py_RETURN_NOTIMPLEMENTED;
	r = trace_equal((MsPyTrace *)a, (MsPyTrace *)b);
	if (r < 0)
		return NULL;
	return PyBool_FromLong(op == Py_EQ ? r : !r);
}

static Py_hash_t trace_hash(MsPyTrace *t)
{
	MsPyTraceback *tb = (MsPyTraceback *)trace_traceback(t);
	PyObject *key;
	Py_hash_t h;

	if (!tb)
		return -1;
	key = PyTuple_Pack(4, t->domain, t->size, (PyObject *)tb,
			   tb->total_nframe);
	if (!key)
		return -1;
	h = PyObject_Hash(key);
	Py_DECREF(key);
	return h;
}

static PyObject *trace_str(MsPyTrace *t)
{
	PyObject *tb = trace_traceback(t), *size, *s;

	if (!tb)
		return NULL;
	size = mspy_format_size(t->size, 0);
	if (!size)
		return NULL;
	s = PyUnicode_FromFormat("%S: %U", tb, size);
	Py_DECREF(size);
	return s;
}

static PyObject *trace_repr(MsPyTrace *t)
{
	PyObject *tb = trace_traceback(t), *size, *s;

	if (!tb)
		return NULL;
	size = mspy_format_size(t->size, 0);
	if (!size)
		return NULL;
	s = PyUnicode_FromFormat("<Trace domain=%S size=%U, traceback=%R>",
				 t->domain, size, tb);
	Py_DECREF(size);
	return s;
}

static PyGetSetDef trace_getset[] = {
	{ "domain", (getter)trace_get_domain, NULL,
	  "Allocator domain: 0 malloc family, 1 anonymous mmap, 2+ custom.",
	  NULL },
	{ "size", (getter)trace_get_size, NULL, "Block size in bytes.", NULL },
	{ "traceback", (getter)trace_get_traceback, NULL,
	  "Traceback of the allocation.", NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

PyTypeObject MsPyTrace_Type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "memsnap.Trace",
	.tp_basicsize = sizeof(MsPyTrace),
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
	.tp_doc = "Trace((domain, size, frames, total_nframe)): one memory "
		  "block.",
	.tp_new = trace_new,
	.tp_dealloc = (destructor)trace_dealloc,
	.tp_richcompare = trace_richcompare,
	.tp_hash = (hashfunc)trace_hash,
	.tp_str = (reprfunc)trace_str,
	.tp_repr = (reprfunc)trace_repr,
	.tp_getset = trace_getset,
};

/* --------------------------------------------------------------- Traces */

typedef struct {
	PyObject_HEAD
	MsPySnapshot *snapshot;
} MsPyTraces;

PyObject *mspy_traces_new(MsPySnapshot *s)
{
	MsPyTraces *t = PyObject_New(MsPyTraces, &MsPyTraces_Type);

	if (!t)
		return NULL;
	t->snapshot = (MsPySnapshot *)Py_NewRef(s);
	return (PyObject *)t;
}

static void traces_dealloc(MsPyTraces *t)
{
	Py_XDECREF(t->snapshot);
	PyObject_Free(t);
}

static Py_ssize_t traces_len(MsPyTraces *t)
{
	return (Py_ssize_t)ms_snapshot_ntraces(t->snapshot->snap);
}

static PyObject *traces_item(MsPyTraces *t, Py_ssize_t i)
{
	if (i < 0 || i >= traces_len(t)) {
		PyErr_SetString(PyExc_IndexError, "list index out of range");
		return NULL;
	}
	return mspy_trace_from_snapshot(t->snapshot, (size_t)i);
}

static PyObject *traces_subscript(MsPyTraces *t, PyObject *key)
{
	Py_ssize_t start, stop, step, n;
	PyObject *r;

	if (!PySlice_Check(key)) {
		Py_ssize_t i = PyNumber_AsSsize_t(key, PyExc_IndexError);

		if (i == -1 && PyErr_Occurred()) {
			if (PyErr_ExceptionMatches(PyExc_TypeError)) {
				PyErr_Clear();
				PyErr_Format(PyExc_TypeError, "list indices must "
					     "be integers or slices, not %.200s",
					     Py_TYPE(key)->tp_name);
			}
			return NULL;
		}
		if (i < 0)
			i += traces_len(t);
		return traces_item(t, i);
	}
	if (PySlice_Unpack(key, &start, &stop, &step) < 0)
		return NULL;
	n = PySlice_AdjustIndices(traces_len(t), &start, &stop, step);
	r = PyTuple_New(n);
	if (!r)
		return NULL;
	for (Py_ssize_t k = 0, i = start; k < n; k++, i += step) {
		PyObject *tr = mspy_trace_from_snapshot(t->snapshot, (size_t)i);

		if (!tr) {
			Py_DECREF(r);
			return NULL;
		}
		PyTuple_SET_ITEM(r, k, tr);
	}
	return r;
}

static int traces_contains(MsPyTraces *t, PyObject *obj)
{
	Py_ssize_t n = traces_len(t);

	if (!PyObject_TypeCheck(obj, &MsPyTrace_Type))
		return 0;
	for (Py_ssize_t i = 0; i < n; i++) {
		PyObject *tr = mspy_trace_from_snapshot(t->snapshot, (size_t)i);
		int r;

		if (!tr)
			return -1;
		r = trace_equal((MsPyTrace *)tr, (MsPyTrace *)obj);
		Py_DECREF(tr);
		if (r != 0)
			return r;
	}
	return 0;
}

static PyObject *traces_richcompare(PyObject *a, PyObject *b, int op)
{
	MsPyTraces *x = (MsPyTraces *)a, *y = (MsPyTraces *)b;
	Py_ssize_t n;
	int eq = 1;

	if (!PyObject_TypeCheck(a, &MsPyTraces_Type) ||
	    !PyObject_TypeCheck(b, &MsPyTraces_Type) ||
	    (op != Py_EQ && op != Py_NE))
		Py_RETURN_NOTIMPLEMENTED;
	n = traces_len(x);
	if (x->snapshot != y->snapshot) {
		eq = n == traces_len(y);
		for (Py_ssize_t i = 0; eq == 1 && i < n; i++) {
			PyObject *p = mspy_trace_from_snapshot(x->snapshot, i);
			PyObject *q = p ? mspy_trace_from_snapshot(y->snapshot, i)
					: NULL;

			eq = q ? trace_equal((MsPyTrace *)p, (MsPyTrace *)q) : -1;
			Py_XDECREF(p);
			Py_XDECREF(q);
		}
	}
	if (eq < 0)
		return NULL;
	return PyBool_FromLong(op == Py_EQ ? eq : !eq);
}

static PyObject *traces_repr(MsPyTraces *t)
{
	return PyUnicode_FromFormat("<Traces len=%zd>", traces_len(t));
}

static PySequenceMethods traces_as_sequence = {
	.sq_length = (lenfunc)traces_len,
	.sq_item = (ssizeargfunc)traces_item,
	.sq_contains = (objobjproc)traces_contains,
};

static PyMappingMethods traces_as_mapping = {
	.mp_length = (lenfunc)traces_len,
	.mp_subscript = (binaryfunc)traces_subscript,
};

PyTypeObject MsPyTraces_Type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "memsnap.Traces",
	.tp_basicsize = sizeof(MsPyTraces),
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_SEQUENCE,
	.tp_doc = "The traces of a Snapshot: a sequence of Trace.",
	.tp_dealloc = (destructor)traces_dealloc,
	.tp_as_sequence = &traces_as_sequence,
	.tp_as_mapping = &traces_as_mapping,
	.tp_richcompare = traces_richcompare,
	.tp_repr = (reprfunc)traces_repr,
	.tp_hash = PyObject_HashNotImplemented,
};
