/* pysnapshot.c - Snapshot: built from tracemalloc's raw traces or loaded
 * from a file; filter, statistics and compare run in the engine. */
#include "config.h"
#include "pymemsnap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------- raw traces -> builder */

/* Python objects already converted, keyed by identity (and an extra
 * number): tracemalloc's raw traces share their frames tuples, so most
 * lookups hit here before any string is touched. Keys are kept alive by
 * raw_builder.keep, so an address cannot be reused for another object. */
typedef struct ptrmap {
	uintptr_t *keys;
	uint32_t *extra;
	uint32_t *vals;     /* value + 1, 0 = empty */
	size_t cap, count;
} ptrmap;

static size_t ptr_hash(uintptr_t p, uint32_t extra)
{
	uint64_t x = (uint64_t)p ^ ((uint64_t)extra << 32) ^ extra;

	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	return (size_t)x;
}

static void ptrmap_free(ptrmap *m)
{
	free(m->keys);
	free(m->extra);
	free(m->vals);
}

static int64_t ptrmap_get(const ptrmap *m, const void *p, uint32_t extra)
{
	size_t i;

	if (!m->cap)
		return -1;
	i = ptr_hash((uintptr_t)p, extra) & (m->cap - 1);
	while (m->vals[i]) {
		if (m->keys[i] == (uintptr_t)p && m->extra[i] == extra)
			return m->vals[i] - 1;
		i = (i + 1) & (m->cap - 1);
	}
	return -1;
}

static int ptrmap_put(ptrmap *m, const void *p, uint32_t extra, uint32_t val)
{
	size_t i;

	if ((m->count + 1) * 2 > m->cap) {
		ptrmap n = { 0 };

		n.cap = m->cap ? m->cap * 2 : 1024;
		n.keys = malloc(n.cap * sizeof(*n.keys));
		n.extra = malloc(n.cap * sizeof(*n.extra));
		n.vals = calloc(n.cap, sizeof(*n.vals));
		if (!n.keys || !n.extra || !n.vals) {
			ptrmap_free(&n);
			PyErr_NoMemory();
			return -1;
		}
		for (size_t k = 0; k < m->cap; k++) {
			if (!m->vals[k])
				continue;
			i = ptr_hash(m->keys[k], m->extra[k]) & (n.cap - 1);
			while (n.vals[i])
				i = (i + 1) & (n.cap - 1);
			n.keys[i] = m->keys[k];
			n.extra[i] = m->extra[k];
			n.vals[i] = m->vals[k];
		}
		n.count = m->count;
		ptrmap_free(m);
		*m = n;
	}
	i = ptr_hash((uintptr_t)p, extra) & (m->cap - 1);
	while (m->vals[i])
		i = (i + 1) & (m->cap - 1);
	m->keys[i] = (uintptr_t)p;
	m->extra[i] = extra;
	m->vals[i] = val + 1;
	m->count++;
	return 0;
}

typedef struct raw_builder {
	ms_builder *b;
	ptrmap tracebacks;   /* (frames object, total_nframe) -> traceback id */
	ptrmap frames;       /* frame object -> frame id */
	PyObject *keep;      /* list of every key above */
	uint32_t *ids;
	size_t ids_cap;
	ms_error err;
} raw_builder;

/* UTF-8 of a str for the engine; lone surrogates (from undecodable bytes)
 * go back to their bytes. A temporary bytes object is kept in rb->keep. */
static const char *engine_string(raw_builder *rb, PyObject *s,
				 const char *what)
{
	Py_ssize_t len;
	const char *u;

	if (!PyUnicode_Check(s)) {
		PyErr_Format(PyExc_TypeError, "%s must be a str, not %.100s",
			     what, Py_TYPE(s)->tp_name);
		return NULL;
	}
	u = PyUnicode_AsUTF8AndSize(s, &len);
	if (!u) {
		PyObject *bytes;

		if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError))
			return NULL;
		PyErr_Clear();
		bytes = PyUnicode_AsEncodedString(s, "utf-8", "surrogateescape");
		if (!bytes)
			return NULL;
		if (PyList_Append(rb->keep, bytes) < 0) {
			Py_DECREF(bytes);
			return NULL;
		}
		Py_DECREF(bytes);
		u = PyBytes_AS_STRING(bytes);
		len = PyBytes_GET_SIZE(bytes);
	}
	if (strlen(u) != (size_t)len) {
		PyErr_Format(PyExc_ValueError, "%s contains a null character",
			     what);
		return NULL;
	}
	return u;
}

static int64_t raw_frame(raw_builder *rb, PyObject *item)
{
	PyObject *filename, *lineno, *seq = NULL;
	PyObject *function = Py_None, *module = Py_None, *address = Py_None;
	ms_frame f;
	int64_t id = ptrmap_get(&rb->frames, item, 0), mod = -1;
	uint64_t v;

	if (id >= 0)
		return id;
	memset(&f, 0, sizeof(f));
	if (PyObject_TypeCheck(item, &MsPyFrame_Type)) {
		MsPyFrame *fr = (MsPyFrame *)item;

		filename = fr->filename;
		lineno = fr->lineno;
		function = fr->function;
		module = fr->module;
		address = fr->address;
	} else if (PyTuple_Check(item) && PyTuple_GET_SIZE(item) == 2) {
		filename = PyTuple_GET_ITEM(item, 0);
		lineno = PyTuple_GET_ITEM(item, 1);
	} else {
		seq = PySequence_Fast(item, "a frame must be a (filename, "
					    "lineno) tuple");
		if (!seq)
			return -1;
		if (PySequence_Fast_GET_SIZE(seq) != 2) {
			Py_DECREF(seq);
			PyErr_SetString(PyExc_ValueError, "a frame must be a "
					"(filename, lineno) tuple");
			return -1;
		}
		filename = PySequence_Fast_GET_ITEM(seq, 0);
		lineno = PySequence_Fast_GET_ITEM(seq, 1);
	}
	f.filename = engine_string(rb, filename, "filename");
	if (!f.filename || mspy_as_u64(lineno, UINT32_MAX, "lineno", &v) < 0)
		goto fail;
	f.lineno = (uint32_t)v;
	if (function != Py_None &&
	    !(f.function = engine_string(rb, function, "function")))
		goto fail;
	if (address != Py_None) {
		if (mspy_as_u64(address, UINT64_MAX, "address", &v) < 0)
			goto fail;
		f.address = v;
	}
	if (module != Py_None) {
		const char *path = engine_string(rb, module, "module");

		if (!path)
			goto fail;
		mod = ms_builder_module(rb->b, path, NULL, 0, 0, 0, &rb->err);
		if (mod < 0) {
			mspy_raise(&rb->err);
			goto fail;
		}
	}
	id = ms_builder_frame(rb->b, &f, mod, &rb->err);
	if (id < 0) {
		mspy_raise(&rb->err);
		goto fail;
	}
	Py_XDECREF(seq);
	if (ptrmap_put(&rb->frames, item, 0, (uint32_t)id) < 0 ||
	    PyList_Append(rb->keep, item) < 0)
		return -1;
	return id;
fail:
	Py_XDECREF(seq);
	return -1;
}

static int64_t raw_traceback(raw_builder *rb, PyObject *frames,
			     uint32_t total_nframe)
{
	int64_t id = ptrmap_get(&rb->tracebacks, frames, total_nframe);
	PyObject *seq;
	Py_ssize_t n;

	if (id >= 0)
		return id;
	seq = PySequence_Fast(frames, "frames must be a sequence of "
				      "(filename, lineno) tuples");
	if (!seq)
		return -1;
	n = PySequence_Fast_GET_SIZE(seq);
	if ((size_t)n > rb->ids_cap) {
		uint32_t *ids = realloc(rb->ids, (size_t)n * sizeof(*ids));

		if (!ids) {
			Py_DECREF(seq);
			PyErr_NoMemory();
			return -1;
		}
		rb->ids = ids;
		rb->ids_cap = (size_t)n;
	}
	/* tracemalloc's raw frames are most recent first, as the engine's */
	for (Py_ssize_t i = 0; i < n; i++) {
		int64_t fid = raw_frame(rb, PySequence_Fast_GET_ITEM(seq, i));

		if (fid < 0) {
			Py_DECREF(seq);
			return -1;
		}
		rb->ids[i] = (uint32_t)fid;
	}
	Py_DECREF(seq);
	id = ms_builder_traceback(rb->b, rb->ids, (uint32_t)n, total_nframe,
				  &rb->err);
	if (id < 0) {
		mspy_raise(&rb->err);
		return -1;
	}
	if (ptrmap_put(&rb->tracebacks, frames, total_nframe, (uint32_t)id) < 0 ||
	    PyList_Append(rb->keep, frames) < 0)
		return -1;
	return id;
}

static const char bad_trace[] =
	"a trace must be a (domain, size, frames, total_nframe) tuple";

static int raw_trace(raw_builder *rb, PyObject *item)
{
	PyObject *seq = NULL, *const *v;
	uint64_t domain, size, total;
	int64_t tb;
	int rc = -1;

	if (PyTuple_Check(item) && PyTuple_GET_SIZE(item) == 4) {
		v = &PyTuple_GET_ITEM(item, 0);
	} else {
		seq = PySequence_Fast(item, bad_trace);
		if (!seq)
			return -1;
		if (PySequence_Fast_GET_SIZE(seq) != 4) {
			PyErr_SetString(PyExc_ValueError, bad_trace);
			goto out;
		}
		v = PySequence_Fast_ITEMS(seq);
	}
	if (mspy_as_u64(v[0], UINT32_MAX, "domain", &domain) < 0 ||
	    mspy_as_u64(v[1], UINT64_MAX, "size", &size) < 0 ||
	    mspy_as_u64(v[3], UINT32_MAX, "total_nframe", &total) < 0)
		goto out;
	tb = raw_traceback(rb, v[2], (uint32_t)total);
	if (tb < 0)
		goto out;
	if (ms_builder_trace(rb->b, (uint32_t)domain, 0, size, (uint32_t)tb,
			     &rb->err) < 0) {
		mspy_raise(&rb->err);
		goto out;
	}
	rc = 0;
out:
	Py_XDECREF(seq);
	return rc;
}

static int raw_metadata(raw_builder *rb, PyObject *metadata)
{
	PyObject *key, *value;
	Py_ssize_t pos = 0;

	if (!PyDict_Check(metadata)) {
		PyErr_Format(PyExc_TypeError, "metadata must be a dict, not "
			     "%.100s", Py_TYPE(metadata)->tp_name);
		return -1;
	}
	while (PyDict_Next(metadata, &pos, &key, &value)) {
		const char *k = engine_string(rb, key, "a metadata key");
		const char *v = k ? engine_string(rb, value, "a metadata value")
				  : NULL;

		if (!v)
			return -1;
		if (ms_builder_meta(rb->b, k, v, &rb->err) < 0) {
			mspy_raise(&rb->err);
			return -1;
		}
	}
	return 0;
}

static ms_snapshot *build_from_raw(PyObject *traces, uint32_t limit,
				   PyObject *metadata)
{
	raw_builder rb;
	ms_snapshot *s = NULL;
	PyObject *seq;
	Py_ssize_t n;

	memset(&rb, 0, sizeof(rb));
	seq = PySequence_Fast(traces, "traces must be a sequence of (domain, "
				      "size, frames, total_nframe) tuples");
	if (!seq)
		return NULL;
	rb.keep = PyList_New(0);
	rb.b = rb.keep ? ms_builder_new(limit, &rb.err) : NULL;
	if (!rb.b) {
		if (rb.keep)
			mspy_raise(&rb.err);
		goto out;
	}
	n = PySequence_Fast_GET_SIZE(seq);
	for (Py_ssize_t i = 0; i < n; i++)
		if (raw_trace(&rb, PySequence_Fast_GET_ITEM(seq, i)) < 0)
			goto out;
	if (metadata && metadata != Py_None &&
	    raw_metadata(&rb, metadata) < 0)
		goto out;
	s = ms_builder_finish(rb.b, &rb.err);
	rb.b = NULL;
	if (!s)
		mspy_raise(&rb.err);
out:
	ms_builder_free(rb.b);
	ptrmap_free(&rb.tracebacks);
	ptrmap_free(&rb.frames);
	free(rb.ids);
	Py_XDECREF(rb.keep);
	Py_DECREF(seq);
	return s;
}

/* ------------------------------------------------------------- Snapshot */

PyObject *mspy_snapshot_wrap(PyTypeObject *type, ms_snapshot *s)
{
	MsPySnapshot *self = (MsPySnapshot *)type->tp_alloc(type, 0);
	size_t n = ms_snapshot_nframes(s);

	if (!self) {
		ms_snapshot_free(s);
		return NULL;
	}
	self->snap = s;
	self->frame_cache = calloc(n ? n : 1, sizeof(PyObject *));
	if (!self->frame_cache) {
		Py_DECREF(self);
		return PyErr_NoMemory();
	}
	return (PyObject *)self;
}

PyObject *mspy_snapshot_frame(MsPySnapshot *self, uint32_t id)
{
	if (!self->frame_cache[id]) {
		ms_frame f;

		ms_snapshot_frame(self->snap, id, &f);
		self->frame_cache[id] = mspy_frame_from_engine(&f);
		if (!self->frame_cache[id])
			return NULL;
	}
	return Py_NewRef(self->frame_cache[id]);
}

PyObject *mspy_snapshot_traceback(MsPySnapshot *self, uint32_t id)
{
	const uint32_t *ids;
	uint32_t total, n = ms_snapshot_traceback(self->snap, id, &ids, &total);
	PyObject *t = PyTuple_New(n), *tn;

	if (!t)
		return NULL;
	for (uint32_t i = 0; i < n; i++) {
		PyObject *f = mspy_snapshot_frame(self, ids[n - 1 - i]);

		if (!f) {
			Py_DECREF(t);
			return NULL;
		}
		PyTuple_SET_ITEM(t, i, f);
	}
	tn = PyLong_FromUnsignedLong(total);
	if (!tn) {
		Py_DECREF(t);
		return NULL;
	}
	t = mspy_traceback_new(t, tn);
	Py_DECREF(tn);
	return t;
}

static PyObject *snapshot_new(PyTypeObject *type, PyObject *args,
			      PyObject *kw)
{
	static const char *kwlist[] = { "traces", "traceback_limit", "metadata",
				  NULL };
	PyObject *traces, *limit, *metadata = NULL;
	ms_snapshot *s;
	uint64_t lim;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|O:Snapshot", (char **)kwlist,
					 &traces, &limit, &metadata))
		return NULL;
	if (mspy_as_u64(limit, UINT32_MAX, "traceback_limit", &lim) < 0)
		return NULL;
	s = build_from_raw(traces, (uint32_t)lim, metadata);
	if (!s)
		return NULL;
	return mspy_snapshot_wrap(type, s);
}

static void snapshot_dealloc(MsPySnapshot *self)
{
	if (self->frame_cache) {
		size_t n = ms_snapshot_nframes(self->snap);

		for (size_t i = 0; i < n; i++)
			Py_XDECREF(self->frame_cache[i]);
		free(self->frame_cache);
	}
	ms_snapshot_free(self->snap);
	Py_TYPE(self)->tp_free((PyObject *)self);
}

/* A new view each time: caching it here would make a reference cycle. */
static PyObject *snapshot_get_traces(MsPySnapshot *self, void *c)
{
	return mspy_traces_new(self);
}

static PyObject *snapshot_get_limit(MsPySnapshot *self, void *c)
{
	return PyLong_FromUnsignedLong(ms_snapshot_traceback_limit(self->snap));
}

static PyObject *snapshot_get_metadata(MsPySnapshot *self, void *c)
{
	PyObject *d = PyDict_New();
	size_t n = ms_snapshot_nmeta(self->snap);

	for (size_t i = 0; d && i < n; i++) {
		const char *k, *v;
		PyObject *pk, *pv;
		int rc = -1;

		ms_snapshot_meta_at(self->snap, i, &k, &v);
		pk = mspy_str(k);
		pv = pk ? mspy_str(v) : NULL;
		if (pv)
			rc = PyDict_SetItem(d, pk, pv);
		Py_XDECREF(pk);
		Py_XDECREF(pv);
		if (rc < 0)
			Py_CLEAR(d);
	}
	return d;
}

static PyObject *snapshot_dump(MsPySnapshot *self, PyObject *arg)
{
	PyObject *path;
	ms_error err;
	int rc;

	if (!PyUnicode_FSConverter(arg, &path))
		return NULL;
	ms_error_clear(&err);
	Py_BEGIN_ALLOW_THREADS
	rc = ms_snapshot_dump(self->snap, PyBytes_AS_STRING(path), &err);
	Py_END_ALLOW_THREADS
	Py_DECREF(path);
	if (rc < 0)
		return mspy_raise(&err);
	Py_RETURN_NONE;
}

static PyObject *snapshot_load(PyObject *cls, PyObject *arg)
{
	PyObject *path;
	ms_snapshot *s;
	ms_error err;
	int fd;

	if (!PyUnicode_FSConverter(arg, &path))
		return NULL;
	/* the engine's message has no errno: open once here so that a
	 * missing or unreadable file raises FileNotFoundError and friends */
	fd = open(PyBytes_AS_STRING(path), O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, arg);
		Py_DECREF(path);
		return NULL;
	}
	close(fd);
	ms_error_clear(&err);
	Py_BEGIN_ALLOW_THREADS
	s = ms_snapshot_load(PyBytes_AS_STRING(path), &err);
	Py_END_ALLOW_THREADS
	Py_DECREF(path);
	if (!s)
		return mspy_raise(&err);
	return mspy_snapshot_wrap((PyTypeObject *)cls, s);
}

static PyObject *snapshot_filter_traces(MsPySnapshot *self, PyObject *filters)
{
	PyObject *list, *r = NULL;
	ms_filter *arr = NULL;
	ms_snapshot *s;
	Py_ssize_t n;
	ms_error err;

	if (!PyObject_HasAttrString((PyObject *)Py_TYPE(filters), "__iter__")) {
		PyObject *name = PyType_GetName(Py_TYPE(filters));

		if (name)
			PyErr_Format(PyExc_TypeError, "filters must be a list "
				     "of filters, not %U", name);
		Py_XDECREF(name);
		return NULL;
	}
	list = PySequence_List(filters);
	if (!list)
		return NULL;
	n = PyList_GET_SIZE(list);
	arr = calloc(n ? (size_t)n : 1, sizeof(*arr));
	if (!arr) {
		PyErr_NoMemory();
		goto out;
	}
	for (Py_ssize_t i = 0; i < n; i++)
		if (mspy_filter_to_engine(PyList_GET_ITEM(list, i), &arr[i]) < 0)
			goto out;
	ms_error_clear(&err);
	Py_BEGIN_ALLOW_THREADS
	s = ms_snapshot_filter(self->snap, arr, (size_t)n, &err);
	Py_END_ALLOW_THREADS
	if (!s)
		mspy_raise(&err);
	else
		r = mspy_snapshot_wrap(&MsPySnapshot_Type, s);
out:
	free(arr);
	Py_DECREF(list);
	return r;
}

/* key_type and cumulative as tracemalloc checks them, with its messages
 * (the engine decides what is valid; Python's repr is ours to give). */
static int parse_key_type(PyObject *key_type, ms_group_by *g)
{
	Py_ssize_t len = 0;
	const char *name = PyUnicode_Check(key_type)
				   ? PyUnicode_AsUTF8AndSize(key_type, &len)
				   : NULL;

	if (!name || strlen(name) != (size_t)len ||
	    ms_group_by_parse(name, g, NULL) < 0) {
		PyErr_Clear();
		PyErr_Format(PyExc_ValueError, "unknown key_type: %R", key_type);
		return -1;
	}
	return 0;
}

static PyObject *stats_error(const ms_error *err, PyObject *key_type)
{
	if (err->code == MS_ECUMULATIVE) {
		PyErr_Format(PyExc_ValueError, "cumulative mode cannot by used "
			     "with key type %R", key_type);
		return NULL;
	}
	return mspy_raise(err);
}

static PyObject *snapshot_statistics(MsPySnapshot *self, PyObject *args,
				     PyObject *kw)
{
	static const char *kwlist[] = { "key_type", "cumulative", NULL };
	PyObject *key_type, *cumulative = Py_False;
	ms_group_by g;
	ms_stats *st;
	ms_error err;
	int cum;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "O|O:statistics", (char **)kwlist,
					 &key_type, &cumulative))
		return NULL;
	if (parse_key_type(key_type, &g) < 0 ||
	    (cum = PyObject_IsTrue(cumulative)) < 0)
		return NULL;
	ms_error_clear(&err);
	Py_BEGIN_ALLOW_THREADS
	st = ms_snapshot_statistics(self->snap, g, cum, &err);
	Py_END_ALLOW_THREADS
	if (!st)
		return stats_error(&err, key_type);
	return mspy_stats_to_list(st);
}

static PyObject *snapshot_compare_to(MsPySnapshot *self, PyObject *args,
				     PyObject *kw)
{
	static const char *kwlist[] = { "old_snapshot", "key_type", "cumulative",
				  NULL };
	PyObject *old, *key_type, *cumulative = Py_False;
	ms_group_by g;
	ms_stats *st;
	ms_error err;
	int cum;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|O:compare_to", (char **)kwlist,
					 &old, &key_type, &cumulative))
		return NULL;
	if (parse_key_type(key_type, &g) < 0 ||
	    (cum = PyObject_IsTrue(cumulative)) < 0)
		return NULL;
	if (!PyObject_TypeCheck(old, &MsPySnapshot_Type)) {
		PyErr_Format(PyExc_TypeError, "old_snapshot must be a "
			     "memsnap.Snapshot, not %.200s",
			     Py_TYPE(old)->tp_name);
		return NULL;
	}
	ms_error_clear(&err);
	Py_BEGIN_ALLOW_THREADS
	st = ms_snapshot_compare(self->snap, ((MsPySnapshot *)old)->snap, g,
				 cum, &err);
	Py_END_ALLOW_THREADS
	if (!st)
		return stats_error(&err, key_type);
	return mspy_stats_to_list(st);
}

static PyObject *snapshot_from_bytes(PyObject *cls, PyObject *arg)
{
	Py_buffer view;
	ms_snapshot *s;
	ms_error err;

	if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
		return NULL;
	ms_error_clear(&err);
	s = ms_snapshot_decode(view.buf, (size_t)view.len, &err);
	PyBuffer_Release(&view);
	if (!s)
		return mspy_raise(&err);
	return mspy_snapshot_wrap((PyTypeObject *)cls, s);
}

static PyObject *snapshot_to_bytes(MsPySnapshot *self, PyObject *unused)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	ms_error err;
	PyObject *r;

	ms_error_clear(&err);
	if (ms_snapshot_encode(self->snap, &buf, &len, &err) < 0)
		return mspy_raise(&err);
	r = PyBytes_FromStringAndSize((const char *)buf, (Py_ssize_t)len);
	free(buf);
	return r;
}

/* pickle: the file format, through Snapshot._from_bytes */
static PyObject *snapshot_reduce(MsPySnapshot *self, PyObject *unused)
{
	PyObject *data = snapshot_to_bytes(self, NULL), *ctor, *r;

	if (!data)
		return NULL;
	ctor = PyObject_GetAttrString((PyObject *)&MsPySnapshot_Type,
				      "_from_bytes");
	r = ctor ? Py_BuildValue("(O(O))", ctor, data) : NULL;
	Py_XDECREF(ctor);
	Py_DECREF(data);
	return r;
}

static PyMethodDef snapshot_methods[] = {
	{ "dump", (PyCFunction)snapshot_dump, METH_O,
	  "dump(filename): write the snapshot to a memsnap file." },
	{ "load", (PyCFunction)snapshot_load, METH_O | METH_CLASS,
	  "load(filename): read a snapshot from a memsnap file." },
	{ "filter_traces", (PyCFunction)snapshot_filter_traces, METH_O,
	  "filter_traces(filters): a new Snapshot with the traces that pass "
	  "the Filter/DomainFilter list." },
	{ "statistics", (PyCFunction)(void (*)(void))snapshot_statistics,
	  METH_VARARGS | METH_KEYWORDS,
	  "statistics(key_type, cumulative=False): sorted list of Statistic; "
	  "key_type is 'filename', 'lineno', 'traceback', 'function' or "
	  "'module'." },
	{ "compare_to", (PyCFunction)(void (*)(void))snapshot_compare_to,
	  METH_VARARGS | METH_KEYWORDS,
	  "compare_to(old_snapshot, key_type, cumulative=False): sorted list "
	  "of StatisticDiff." },
	{ "_from_bytes", (PyCFunction)snapshot_from_bytes, METH_O | METH_CLASS,
	  "A snapshot from the bytes of a memsnap file." },
	{ "_to_bytes", (PyCFunction)snapshot_to_bytes, METH_NOARGS,
	  "The bytes of the memsnap file of this snapshot." },
	{ "__reduce__", (PyCFunction)snapshot_reduce, METH_NOARGS, NULL },
	{ NULL, NULL, 0, NULL },
};

static PyGetSetDef snapshot_getset[] = {
	{ "traces", (getter)snapshot_get_traces, NULL,
	  "Traces of all memory blocks: a sequence of Trace.", NULL },
	{ "traceback_limit", (getter)snapshot_get_limit, NULL,
	  "Maximum number of frames stored in a traceback.", NULL },
	{ "metadata", (getter)snapshot_get_metadata, NULL,
	  "Metadata of the snapshot (pid, cmdline, time, ...) as a dict.",
	  NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

PyTypeObject MsPySnapshot_Type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "memsnap.Snapshot",
	.tp_basicsize = sizeof(MsPySnapshot),
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
	.tp_doc = "Snapshot(traces, traceback_limit, metadata=None): traces "
		  "of memory blocks, from tracemalloc's raw traces (a sequence "
		  "of (domain, size, frames, total_nframe)).",
	.tp_new = snapshot_new,
	.tp_dealloc = (destructor)snapshot_dealloc,
	.tp_methods = snapshot_methods,
	.tp_getset = snapshot_getset,
};
