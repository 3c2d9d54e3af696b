/* pystats.c - Statistic and StatisticDiff. The engine groups and sorts;
 * each result row becomes one object whose Traceback builds its frames
 * only when looked at. */
#include "config.h"
#include "pymemsnap.h"

#include <stddef.h>
#include <structmember.h>

/* ------------------------------------------------------ the stats owner */

/* Keeps an engine result alive for the lazy Tracebacks that point into it. */
typedef struct {
	PyObject_HEAD
	ms_stats *st;
} MsPyStatsOwner;

static void owner_dealloc(MsPyStatsOwner *o)
{
	ms_stats_free(o->st);
	PyObject_Free(o);
}

PyTypeObject MsPyStatsOwner_Type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "memsnap._StatsOwner",
	.tp_basicsize = sizeof(MsPyStatsOwner),
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_dealloc = (destructor)owner_dealloc,
};

static PyObject *stat_row(PyObject *owner, const ms_stat *s, int diff)
{
	MsPyStatistic *o = PyObject_New(MsPyStatistic,
					diff ? &MsPyStatisticDiff_Type
					     : &MsPyStatistic_Type);

	if (!o)
		return NULL;
	o->traceback = mspy_traceback_lazy(owner, s->frames, s->nframe, NULL);
	o->size = PyLong_FromUnsignedLongLong(s->size);
	o->count = PyLong_FromUnsignedLongLong(s->count);
	o->size_diff = diff ? PyLong_FromLongLong(s->size_diff) : NULL;
	o->count_diff = diff ? PyLong_FromLongLong(s->count_diff) : NULL;
	if (!o->traceback || !o->size || !o->count ||
	    (diff && (!o->size_diff || !o->count_diff))) {
		Py_DECREF(o);
		return NULL;
	}
	return (PyObject *)o;
}

PyObject *mspy_stats_to_list(ms_stats *st)
{
	MsPyStatsOwner *owner = PyObject_New(MsPyStatsOwner,
					     &MsPyStatsOwner_Type);
	size_t n = ms_stats_count(st);
	int diff = ms_stats_is_diff(st);
	PyObject *list;

	if (!owner) {
		ms_stats_free(st);
		return NULL;
	}
	owner->st = st;
	list = PyList_New((Py_ssize_t)n);
	for (size_t i = 0; list && i < n; i++) {
		ms_stat s;
		PyObject *row;

		ms_stats_get(st, i, &s);
		row = stat_row((PyObject *)owner, &s, diff);
		if (!row)
			Py_CLEAR(list);
		else
			PyList_SET_ITEM(list, (Py_ssize_t)i, row);
	}
	Py_DECREF(owner);
	return list;
}

/* ------------------------------------------------------------ Statistic */

static int is_diff(PyObject *o)
{
	return PyObject_TypeCheck(o, &MsPyStatisticDiff_Type);
}

/* Attributes can be deleted; everything below needs them all. */
static int check_complete(MsPyStatistic *o)
{
	if (!o->traceback || !o->size || !o->count ||
	    (is_diff((PyObject *)o) && (!o->size_diff || !o->count_diff))) {
		PyErr_SetString(PyExc_AttributeError,
				"an attribute of this statistic was deleted");
		return -1;
	}
	return 0;
}

static PyObject *statistic_new(PyTypeObject *type, PyObject *args,
			       PyObject *kw)
{
	static const char *kwlist[] = { "traceback", "size", "count", NULL };
	static const char *kwlist_diff[] = { "traceback", "size", "size_diff",
				       "count", "count_diff", NULL };
	PyObject *tb, *size, *count, *size_diff = NULL, *count_diff = NULL;
	MsPyStatistic *o;
	int diff = PyType_IsSubtype(type, &MsPyStatisticDiff_Type);

	if (diff ? !PyArg_ParseTupleAndKeywords(args, kw, "OOOOO:StatisticDiff",
						(char **)kwlist_diff, &tb, &size,
						&size_diff, &count, &count_diff)
		 : !PyArg_ParseTupleAndKeywords(args, kw, "OOO:Statistic",
						(char **)kwlist, &tb, &size, &count))
		return NULL;
	o = (MsPyStatistic *)type->tp_alloc(type, 0);
	if (!o)
		return NULL;
	o->traceback = Py_NewRef(tb);
	o->size = Py_NewRef(size);
	o->count = Py_NewRef(count);
	o->size_diff = Py_XNewRef(size_diff);
	o->count_diff = Py_XNewRef(count_diff);
	return (PyObject *)o;
}

static void statistic_dealloc(MsPyStatistic *o)
{
	Py_XDECREF(o->traceback);
	Py_XDECREF(o->size);
	Py_XDECREF(o->size_diff);
	Py_XDECREF(o->count);
	Py_XDECREF(o->count_diff);
	Py_TYPE(o)->tp_free((PyObject *)o);
}

static PyObject *statistic_key(MsPyStatistic *o)
{
	if (check_complete(o) < 0)
		return NULL;
	if (is_diff((PyObject *)o))
		return PyTuple_Pack(5, o->traceback, o->size, o->size_diff,
				    o->count, o->count_diff);
	return PyTuple_Pack(3, o->traceback, o->size, o->count);
}

static Py_hash_t statistic_hash(MsPyStatistic *o)
{
	PyObject *key = statistic_key(o);
	Py_hash_t h;

	if (!key)
		return -1;
	h = PyObject_Hash(key);
	Py_DECREF(key);
	return h;
}

static PyObject *statistic_richcompare(PyObject *a, PyObject *b, int op)
{
	PyTypeObject *t = is_diff(a) ? &MsPyStatisticDiff_Type
				     : &MsPyStatistic_Type;
	PyObject *ka, *kb, *r;

	if (!PyObject_TypeCheck(b, t) || is_diff(a) != is_diff(b) ||
	    (op != Py_EQ && op != Py_NE))
		Py_RETURN_NOTIMPLEMENTED;
	ka = statistic_key((MsPyStatistic *)a);
	kb = ka ? statistic_key((MsPyStatistic *)b) : NULL;
	r = kb ? PyObject_RichCompare(ka, kb, op) : NULL;
	Py_XDECREF(ka);
	Py_XDECREF(kb);
	return r;
}

/* ", average=..." when count is not zero; "" otherwise. */
static PyObject *average_text(MsPyStatistic *o)
{
	PyObject *avg, *fmt, *r;
	int nonzero = PyObject_IsTrue(o->count);

	if (nonzero < 0)
		return NULL;
	if (!nonzero)
		return PyUnicode_FromString("");
	avg = PyNumber_TrueDivide(o->size, o->count);
	if (!avg)
		return NULL;
	fmt = mspy_format_size(avg, 0);
	Py_DECREF(avg);
	if (!fmt)
		return NULL;
	r = PyUnicode_FromFormat(", average=%U", fmt);
	Py_DECREF(fmt);
	return r;
}

static PyObject *statistic_str(MsPyStatistic *o)
{
	int diff = is_diff((PyObject *)o);
	PyObject *size = check_complete(o) < 0 ? NULL
					       : mspy_format_size(o->size, 0);
	PyObject *count = size ? mspy_format_int(o->count, 0) : NULL;
	PyObject *sdiff = NULL, *cdiff = NULL, *avg = NULL, *r = NULL;

	if (!count)
		goto out;
	if (diff) {
		sdiff = mspy_format_size(o->size_diff, 1);
		cdiff = sdiff ? mspy_format_int(o->count_diff, 1) : NULL;
		if (!cdiff)
			goto out;
	}
	avg = average_text(o);
	if (!avg)
		goto out;
	if (diff)
		r = PyUnicode_FromFormat("%S: size=%U (%U), count=%U (%U)%U",
					 o->traceback, size, sdiff, count, cdiff,
					 avg);
	else
		r = PyUnicode_FromFormat("%S: size=%U, count=%U%U",
					 o->traceback, size, count, avg);
out:
	Py_XDECREF(size);
	Py_XDECREF(count);
	Py_XDECREF(sdiff);
	Py_XDECREF(cdiff);
	Py_XDECREF(avg);
	return r;
}

static PyObject *statistic_repr(MsPyStatistic *o)
{
	int diff = is_diff((PyObject *)o);
	PyObject *size = check_complete(o) < 0 ? NULL
					       : mspy_format_int(o->size, 0);
	PyObject *count = size ? mspy_format_int(o->count, 0) : NULL;
	PyObject *sdiff = NULL, *cdiff = NULL, *r = NULL;

	if (!count)
		goto out;
	if (diff) {
		sdiff = mspy_format_int(o->size_diff, 1);
		cdiff = sdiff ? mspy_format_int(o->count_diff, 1) : NULL;
		if (!cdiff)
			goto out;
		r = PyUnicode_FromFormat("<StatisticDiff traceback=%R size=%U "
					 "(%U) count=%U (%U)>", o->traceback,
					 size, sdiff, count, cdiff);
	} else {
		r = PyUnicode_FromFormat("<Statistic traceback=%R size=%U "
					 "count=%U>", o->traceback, size, count);
	}
out:
	Py_XDECREF(size);
	Py_XDECREF(count);
	Py_XDECREF(sdiff);
	Py_XDECREF(cdiff);
	return r;
}

#define STAT_MEMBER(name, doc) \
	{ #name, T_OBJECT_EX, offsetof(MsPyStatistic, name), 0, doc }

static PyMemberDef statistic_members[] = {
	STAT_MEMBER(traceback, "Traceback of the group."),
	STAT_MEMBER(size, "Total size of the blocks, in bytes."),
	STAT_MEMBER(count, "Number of blocks."),
	{ NULL, 0, 0, 0, NULL },
};

static PyMemberDef statistic_diff_members[] = {
	STAT_MEMBER(traceback, "Traceback of the group."),
	STAT_MEMBER(size, "Total size of the blocks in the new snapshot."),
	STAT_MEMBER(size_diff, "Size difference, new minus old."),
	STAT_MEMBER(count, "Number of blocks in the new snapshot."),
	STAT_MEMBER(count_diff, "Block count difference, new minus old."),
	{ NULL, 0, 0, 0, NULL },
};

PyTypeObject MsPyStatistic_Type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "memsnap.Statistic",
	.tp_basicsize = sizeof(MsPyStatistic),
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
	.tp_doc = "Statistic(traceback, size, count): one group of "
		  "Snapshot.statistics().",
	.tp_new = statistic_new,
	.tp_dealloc = (destructor)statistic_dealloc,
	.tp_hash = (hashfunc)statistic_hash,
	.tp_richcompare = statistic_richcompare,
	.tp_str = (reprfunc)statistic_str,
	.tp_repr = (reprfunc)statistic_repr,
	.tp_members = statistic_members,
};

PyTypeObject MsPyStatisticDiff_Type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "memsnap.StatisticDiff",
	.tp_basicsize = sizeof(MsPyStatistic),
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
	.tp_doc = "StatisticDiff(traceback, size, size_diff, count, "
		  "count_diff): one group of Snapshot.compare_to().",
	.tp_new = statistic_new,
	.tp_dealloc = (destructor)statistic_dealloc,
	.tp_hash = (hashfunc)statistic_hash,
	.tp_richcompare = statistic_richcompare,
	.tp_str = (reprfunc)statistic_str,
	.tp_repr = (reprfunc)statistic_repr,
	.tp_members = statistic_diff_members,
};
