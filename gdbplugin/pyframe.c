/* pyframe.c - Frame and Traceback, tracemalloc's types as C types. */
#include "config.h"
#include "pymemsnap.h"

#include <stddef.h>
#include <structmember.h>

/* ---------------------------------------------------------------- Frame */

static PyObject *frame_make(PyTypeObject *type, PyObject *filename,
			    PyObject *lineno, PyObject *function,
			    PyObject *module, PyObject *address)
{
	MsPyFrame *f = (MsPyFrame *)type->tp_alloc(type, 0);

	if (!f)
		return NULL;
	f->filename = Py_NewRef(filename);
	f->lineno = Py_NewRef(lineno);
	f->function = Py_NewRef(function);
	f->module = Py_NewRef(module);
	f->address = Py_NewRef(address);
	f->hash = -1;
	f->ident = 0;
	return (PyObject *)f;
}

PyObject *mspy_frame_from_engine(const ms_frame *ef)
{
	PyObject *fn = mspy_str(ef->filename);
	PyObject *ln = PyLong_FromUnsignedLong(ef->lineno);
	PyObject *func = mspy_str(ef->function);
	PyObject *mod = mspy_str(ef->module);
	PyObject *addr = ef->address ? PyLong_FromUnsignedLongLong(ef->address)
				     : Py_NewRef(Py_None);
	PyObject *f = NULL;

	if (fn && ln && func && mod && addr)
		f = frame_make(&MsPyFrame_Type, fn, ln, func, mod, addr);
	if (f && !ef->lineno && ef->module && ef->address)
		((MsPyFrame *)f)->ident = ef->offset + 1;
	Py_XDECREF(fn);
	Py_XDECREF(ln);
	Py_XDECREF(func);
	Py_XDECREF(mod);
	Py_XDECREF(addr);
	return f;
}

static PyObject *frame_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
	static const char *kwlist[] = { "frame", "function", "module", "address",
				  NULL };
	PyObject *frame, *seq, *r;
	PyObject *function = Py_None, *module = Py_None, *address = Py_None;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "O|OOO:Frame", (char **)kwlist,
					 &frame, &function, &module, &address))
		return NULL;
	seq = PySequence_Fast(frame, "frame must be a (filename, lineno) tuple");
	if (!seq)
		return NULL;
	if (PySequence_Fast_GET_SIZE(seq) != 2) {
		Py_DECREF(seq);
		PyErr_SetString(PyExc_TypeError,
				"frame must be a (filename, lineno) tuple");
		return NULL;
	}
	r = frame_make(type, PySequence_Fast_GET_ITEM(seq, 0),
		       PySequence_Fast_GET_ITEM(seq, 1), function, module,
		       address);
	Py_DECREF(seq);
	return r;
}

static void frame_dealloc(MsPyFrame *f)
{
	Py_XDECREF(f->filename);
	Py_XDECREF(f->lineno);
	Py_XDECREF(f->function);
	Py_XDECREF(f->module);
	Py_XDECREF(f->address);
	Py_TYPE(f)->tp_free((PyObject *)f);
}

/* The same answer as comparing the tuples (filename, lineno). */
static PyObject *frame_richcompare(PyObject *a, PyObject *b, int op)
{
	MsPyFrame *x = (MsPyFrame *)a, *y = (MsPyFrame *)b;
	int eq;

	if (!PyObject_TypeCheck(a, &MsPyFrame_Type) ||
	    !PyObject_TypeCheck(b, &MsPyFrame_Type))
		Py_RETURN_NOTIMPLEMENTED;
	eq = PyObject_RichCompareBool(x->filename, y->filename, Py_EQ);
	if (eq < 0)
		return NULL;
	if (!eq) {
		if (op == Py_EQ)
			Py_RETURN_FALSE;
		if (op == Py_NE)
			Py_RETURN_TRUE;
		return PyObject_RichCompare(x->filename, y->filename, op);
	}
	eq = PyObject_RichCompareBool(x->lineno, y->lineno, Py_EQ);
	if (eq < 0)
		return NULL;
	if (!eq) {
		if (op == Py_EQ)
			Py_RETURN_FALSE;
		if (op == Py_NE)
			Py_RETURN_TRUE;
		return PyObject_RichCompare(x->lineno, y->lineno, op);
	}
	Py_RETURN_RICHCOMPARE(x->ident, y->ident, op);
}

static Py_hash_t frame_hash(MsPyFrame *f)
{
	if (f->hash == -1) {
		PyObject *t = PyTuple_Pack(2, f->filename, f->lineno);

		if (!t)
			return -1;
		f->hash = PyObject_Hash(t);
		Py_DECREF(t);
		if (f->ident && f->hash != -1) {
			f->hash ^= (Py_hash_t)(f->ident * 0x9e3779b97f4a7c15u);
			if (f->hash == -1)
				f->hash = -2;
		}
	}
	return f->hash;
}

static PyObject *frame_str(MsPyFrame *f)
{
	return PyUnicode_FromFormat("%S:%S", f->filename, f->lineno);
}

static PyObject *frame_repr(MsPyFrame *f)
{
	return PyUnicode_FromFormat("<Frame filename=%R lineno=%R>",
				    f->filename, f->lineno);
}

static PyMemberDef frame_members[] = {
	{ "filename", T_OBJECT, offsetof(MsPyFrame, filename), READONLY,
	  "Source file name (the module path when there is no debug info)." },
	{ "lineno", T_OBJECT, offsetof(MsPyFrame, lineno), READONLY,
	  "Line number, 0 when unknown." },
	{ "function", T_OBJECT, offsetof(MsPyFrame, function), READONLY,
	  "Function name, or None (native extra)." },
	{ "module", T_OBJECT, offsetof(MsPyFrame, module), READONLY,
	  "Path of the executable or library, or None (native extra)." },
	{ "address", T_OBJECT, offsetof(MsPyFrame, address), READONLY,
	  "The recorded program counter, or None (native extra)." },
	{ NULL, 0, 0, 0, NULL },
};

PyTypeObject MsPyFrame_Type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "memsnap.Frame",
	.tp_basicsize = sizeof(MsPyFrame),
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
	.tp_doc = "Frame((filename, lineno), function=None, module=None, "
		  "address=None): a frame of a traceback.",
	.tp_new = frame_new,
	.tp_dealloc = (destructor)frame_dealloc,
	.tp_richcompare = frame_richcompare,
	.tp_hash = (hashfunc)frame_hash,
	.tp_str = (reprfunc)frame_str,
	.tp_repr = (reprfunc)frame_repr,
	.tp_members = frame_members,
};

/* ------------------------------------------------------------ Traceback */

static MsPyTraceback *traceback_alloc(PyObject *total_nframe)
{
	MsPyTraceback *tb = PyObject_New(MsPyTraceback, &MsPyTraceback_Type);

	if (!tb)
		return NULL;
	tb->frames = NULL;
	tb->total_nframe = Py_NewRef(total_nframe ? total_nframe : Py_None);
	tb->owner = NULL;
	tb->src = NULL;
	tb->nsrc = 0;
	return tb;
}

PyObject *mspy_traceback_new(PyObject *frames, PyObject *total_nframe)
{
	MsPyTraceback *tb = traceback_alloc(total_nframe);

	if (!tb) {
		Py_DECREF(frames);
		return NULL;
	}
	tb->frames = frames;
	return (PyObject *)tb;
}

PyObject *mspy_traceback_lazy(PyObject *owner, const ms_frame *src,
			      Py_ssize_t n, PyObject *total_nframe)
{
	MsPyTraceback *tb = traceback_alloc(total_nframe);

	if (!tb)
		return NULL;
	tb->owner = Py_NewRef(owner);
	tb->src = src;
	tb->nsrc = n;
	return (PyObject *)tb;
}

PyObject *mspy_traceback_frames(MsPyTraceback *tb)
{
	PyObject *t;

	if (tb->frames)
		return tb->frames;
	t = PyTuple_New(tb->nsrc);
	if (!t)
		return NULL;
	for (Py_ssize_t i = 0; i < tb->nsrc; i++) {
		PyObject *f = mspy_frame_from_engine(&tb->src[i]);

		if (!f) {
			Py_DECREF(t);
			return NULL;
		}
		PyTuple_SET_ITEM(t, i, f);
	}
	tb->frames = t;
	tb->src = NULL;
	tb->nsrc = 0;
	Py_CLEAR(tb->owner);
	return t;
}

/* A Frame from a frame tuple (filename, lineno) or a Frame. */
static PyObject *as_frame(PyObject *item)
{
	if (PyObject_TypeCheck(item, &MsPyFrame_Type))
		return Py_NewRef(item);
	return PyObject_CallOneArg((PyObject *)&MsPyFrame_Type, item);
}

static PyObject *traceback_tp_new(PyTypeObject *type, PyObject *args,
				  PyObject *kw)
{
	static const char *kwlist[] = { "frames", "total_nframe", NULL };
	PyObject *frames, *total_nframe = Py_None, *seq, *t;
	MsPyTraceback *tb;
	Py_ssize_t n;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "O|O:Traceback", (char **)kwlist,
					 &frames, &total_nframe))
		return NULL;
	seq = PySequence_Fast(frames, "frames must be a sequence of "
				      "(filename, lineno) tuples");
	if (!seq)
		return NULL;
	n = PySequence_Fast_GET_SIZE(seq);
	t = PyTuple_New(n);
	if (!t) {
		Py_DECREF(seq);
		return NULL;
	}
	/* given most recent first, kept oldest first, as tracemalloc does */
	for (Py_ssize_t i = 0; i < n; i++) {
		PyObject *f = as_frame(PySequence_Fast_GET_ITEM(seq, n - 1 - i));

		if (!f) {
			Py_DECREF(t);
			Py_DECREF(seq);
			return NULL;
		}
		PyTuple_SET_ITEM(t, i, f);
	}
	Py_DECREF(seq);
	tb = (MsPyTraceback *)type->tp_alloc(type, 0);
	if (!tb) {
		Py_DECREF(t);
		return NULL;
	}
	tb->frames = t;
	tb->total_nframe = Py_NewRef(total_nframe);
	return (PyObject *)tb;
}

static void traceback_dealloc(MsPyTraceback *tb)
{
	Py_XDECREF(tb->frames);
	Py_XDECREF(tb->total_nframe);
	Py_XDECREF(tb->owner);
	Py_TYPE(tb)->tp_free((PyObject *)tb);
}

static Py_ssize_t traceback_len(MsPyTraceback *tb)
{
	return tb->frames ? PyTuple_GET_SIZE(tb->frames) : tb->nsrc;
}

static PyObject *traceback_item(MsPyTraceback *tb, Py_ssize_t i)
{
	PyObject *frames = mspy_traceback_frames(tb);

	if (!frames)
		return NULL;
	return PySequence_GetItem(frames, i);
}

static PyObject *traceback_subscript(MsPyTraceback *tb, PyObject *key)
{
	PyObject *frames = mspy_traceback_frames(tb);

	if (!frames)
		return NULL;
	return PyObject_GetItem(frames, key);
}

static int traceback_contains(MsPyTraceback *tb, PyObject *frame)
{
	PyObject *frames = mspy_traceback_frames(tb);

	if (!frames)
		return -1;
	return PySequence_Contains(frames, frame);
}

static PyObject *traceback_iter(MsPyTraceback *tb)
{
	PyObject *frames = mspy_traceback_frames(tb);

	if (!frames)
		return NULL;
	return PyObject_GetIter(frames);
}

static Py_hash_t traceback_hash(MsPyTraceback *tb)
{
	PyObject *frames = mspy_traceback_frames(tb);

	if (!frames)
		return -1;
	return PyObject_Hash(frames);
}

static PyObject *traceback_richcompare(PyObject *a, PyObject *b, int op)
{
	PyObject *fa, *fb;

	if (!PyObject_TypeCheck(a, &MsPyTraceback_Type) ||
	    !PyObject_TypeCheck(b, &MsPyTraceback_Type))
		Py_RETURN_NOTIMPLEMENTED;
	fa = mspy_traceback_frames((MsPyTraceback *)a);
	fb = fa ? mspy_traceback_frames((MsPyTraceback *)b) : NULL;
	if (!fb)
		return NULL;
	return PyObject_RichCompare(fa, fb, op);
}

static PyObject *traceback_str(MsPyTraceback *tb)
{
	PyObject *f = traceback_item(tb, 0);
	PyObject *s;

	if (!f)
		return NULL;
	s = PyObject_Str(f);
	Py_DECREF(f);
	return s;
}

static PyObject *traceback_repr(MsPyTraceback *tb)
{
	PyObject *frames = mspy_traceback_frames(tb);

	if (!frames)
		return NULL;
	if (tb->total_nframe == Py_None)
		return PyUnicode_FromFormat("<Traceback %R>", frames);
	return PyUnicode_FromFormat("<Traceback %R total_nframe=%S>", frames,
				    tb->total_nframe);
}

/* One frame's lines of Traceback.format(). */
static int format_frame(PyObject *lines, PyObject *linecache, PyObject *frame)
{
	MsPyFrame *f = (MsPyFrame *)frame;
	PyObject *line, *src, *stripped;
	int rc;

	line = PyUnicode_FromFormat("  File \"%S\", line %S", f->filename,
				    f->lineno);
	if (!line)
		return -1;
	rc = PyList_Append(lines, line);
	Py_DECREF(line);
	if (rc < 0)
		return -1;
	/* linecache gives '' for a lineno below 1; skipping it saves reading
	 * whole binaries named by frames without debug info */
	if (PyLong_Check(f->lineno)) {
		int overflow;
		long long v = PyLong_AsLongLongAndOverflow(f->lineno, &overflow);

		if (overflow < 0 || (!overflow && v < 1))
			return 0;
	}
	src = PyObject_CallMethod(linecache, "getline", "OO", f->filename,
				  f->lineno);
	if (!src)
		return -1;
	stripped = PyObject_CallMethod(src, "strip", NULL);
	Py_DECREF(src);
	if (!stripped)
		return -1;
	rc = 0;
	if (PyObject_IsTrue(stripped) == 1) {
		line = PyUnicode_FromFormat("    %S", stripped);
		rc = line ? PyList_Append(lines, line) : -1;
		Py_XDECREF(line);
	}
	Py_DECREF(stripped);
	return rc;
}

static PyObject *traceback_format(MsPyTraceback *tb, PyObject *args,
				  PyObject *kw)
{
	static const char *kwlist[] = { "limit", "most_recent_first", NULL };
	PyObject *limit = Py_None, *frames, *slice = NULL, *sel = NULL;
	PyObject *lines = NULL, *linecache = NULL;
	int most_recent_first = 0;
	Py_ssize_t n;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "|Op:format", (char **)kwlist,
					 &limit, &most_recent_first))
		return NULL;
	frames = mspy_traceback_frames(tb);
	if (!frames)
		return NULL;
	if (limit != Py_None) {
		PyObject *zero = PyLong_FromLong(0);
		int positive = zero ? PyObject_RichCompareBool(limit, zero, Py_GT)
				    : -1;

		Py_XDECREF(zero);

		if (positive < 0)
			return NULL;
		if (positive) {
			PyObject *neg = PyNumber_Negative(limit);

			slice = neg ? PySlice_New(neg, Py_None, Py_None) : NULL;
			Py_XDECREF(neg);
		} else {
			slice = PySlice_New(Py_None, limit, Py_None);
		}
		if (!slice)
			return NULL;
		sel = PyObject_GetItem(frames, slice);
		Py_DECREF(slice);
	} else {
		sel = Py_NewRef(frames);
	}
	if (!sel)
		return NULL;
	lines = PyList_New(0);
	linecache = PyImport_ImportModule("linecache");
	if (!lines || !linecache)
		goto fail;
	n = PyTuple_GET_SIZE(sel);
	for (Py_ssize_t i = 0; i < n; i++) {
		PyObject *f = PyTuple_GET_ITEM(sel, most_recent_first ? n - 1 - i
								      : i);

		if (format_frame(lines, linecache, f) < 0)
			goto fail;
	}
	Py_DECREF(sel);
	Py_DECREF(linecache);
	return lines;
fail:
	Py_XDECREF(sel);
	Py_XDECREF(lines);
	Py_XDECREF(linecache);
	return NULL;
}

static PyObject *traceback_forward(MsPyTraceback *tb, const char *name,
				   PyObject *args)
{
	PyObject *frames = mspy_traceback_frames(tb), *meth, *r;

	if (!frames)
		return NULL;
	meth = PyObject_GetAttrString(frames, name);
	if (!meth)
		return NULL;
	r = PyObject_Call(meth, args, NULL);
	Py_DECREF(meth);
	return r;
}

static PyObject *traceback_index(MsPyTraceback *tb, PyObject *args)
{
	return traceback_forward(tb, "index", args);
}

static PyObject *traceback_count(MsPyTraceback *tb, PyObject *args)
{
	return traceback_forward(tb, "count", args);
}

static PyObject *traceback_get_total_nframe(MsPyTraceback *tb, void *c)
{
	return Py_NewRef(tb->total_nframe);
}

static PyMethodDef traceback_methods[] = {
	{ "format", (PyCFunction)(void (*)(void))traceback_format,
	  METH_VARARGS | METH_KEYWORDS,
	  "format(limit=None, most_recent_first=False) -> list of lines" },
	{ "index", (PyCFunction)traceback_index, METH_VARARGS, NULL },
	{ "count", (PyCFunction)traceback_count, METH_VARARGS, NULL },
	{ NULL, NULL, 0, NULL },
};

static PyGetSetDef traceback_getset[] = {
	{ "total_nframe", (getter)traceback_get_total_nframe, NULL,
	  "Frames of the stack before truncation, or None.", NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

static PySequenceMethods traceback_as_sequence = {
	.sq_length = (lenfunc)traceback_len,
	.sq_item = (ssizeargfunc)traceback_item,
	.sq_contains = (objobjproc)traceback_contains,
};

static PyMappingMethods traceback_as_mapping = {
	.mp_length = (lenfunc)traceback_len,
	.mp_subscript = (binaryfunc)traceback_subscript,
};

PyTypeObject MsPyTraceback_Type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "memsnap.Traceback",
	.tp_basicsize = sizeof(MsPyTraceback),
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE |
		    Py_TPFLAGS_SEQUENCE,
	.tp_doc = "Traceback(frames, total_nframe=None): a sequence of Frame, "
		  "oldest first (frames are given most recent first).",
	.tp_new = traceback_tp_new,
	.tp_dealloc = (destructor)traceback_dealloc,
	.tp_as_sequence = &traceback_as_sequence,
	.tp_as_mapping = &traceback_as_mapping,
	.tp_iter = (getiterfunc)traceback_iter,
	.tp_hash = (hashfunc)traceback_hash,
	.tp_richcompare = traceback_richcompare,
	.tp_str = (reprfunc)traceback_str,
	.tp_repr = (reprfunc)traceback_repr,
	.tp_methods = traceback_methods,
	.tp_getset = traceback_getset,
};
