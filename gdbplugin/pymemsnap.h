/* pymemsnap.h - internals of the memsnap CPython extension (_memsnap).
 *
 * The binding is thin: it converts Python objects to engine calls and
 * engine results to Python objects. Filtering, grouping, sorting and the
 * file format live in the engine (shared/). Objects that come from the
 * engine are built lazily: a Statistic's Traceback makes its Frame objects
 * only when someone looks at them. */
#ifndef PYMEMSNAP_H
#define PYMEMSNAP_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "memsnap.h"

/* Every C function of the module (they live in one shared object whose
 * only exported symbol is PyInit__memsnap). */
#define MSPY_INTERNAL __attribute__((visibility("hidden")))

extern PyTypeObject MsPyFrame_Type;
extern PyTypeObject MsPyTraceback_Type;
extern PyTypeObject MsPyTrace_Type;
extern PyTypeObject MsPyTraces_Type;
extern PyTypeObject MsPySnapshot_Type;
extern PyTypeObject MsPyStatistic_Type;
extern PyTypeObject MsPyStatisticDiff_Type;
extern PyTypeObject MsPyStatsOwner_Type;
extern PyTypeObject MsPyBaseFilter_Type;
extern PyTypeObject MsPyFilter_Type;
extern PyTypeObject MsPyDomainFilter_Type;

/* ---------------------------------------------------------------- Frame */

/* tracemalloc's identity of a frame is (filename, lineno): eq, lt and hash
 * use only those two; function, module and address are native extras.
 * An engine frame without line information (lineno 0) in a module adds
 * its offset in the module, as the engine's statistics do, so that the
 * call sites of a stripped program stay distinct frames. */
typedef struct {
	PyObject_HEAD
	PyObject *filename;   /* str for engine frames, any object otherwise */
	PyObject *lineno;
	PyObject *function;   /* str or None */
	PyObject *module;     /* str or None */
	PyObject *address;    /* int or None */
	Py_hash_t hash;       /* -1 until computed */
	uint64_t ident;       /* offset + 1 for such a frame, else 0 */
} MsPyFrame;

/* A new Frame from an engine frame (strings decoded, surrogateescape). */
MSPY_INTERNAL PyObject *mspy_frame_from_engine(const ms_frame *f);

/* ------------------------------------------------------------ Traceback */

/* frames is built on first use from src (oldest first), which owner keeps
 * alive; a Traceback made from Python objects has frames from the start. */
typedef struct {
	PyObject_HEAD
	PyObject *frames;         /* tuple of Frame, oldest first, or NULL */
	PyObject *total_nframe;   /* int or None */
	PyObject *owner;          /* keeps src alive while frames is NULL */
	const ms_frame *src;
	Py_ssize_t nsrc;
} MsPyTraceback;

/* Takes a reference to frames (a tuple of Frame, oldest first). */
MSPY_INTERNAL PyObject *mspy_traceback_new(PyObject *frames,
					   PyObject *total_nframe);
/* A lazy Traceback over n engine frames (oldest first) owned by owner. */
MSPY_INTERNAL PyObject *mspy_traceback_lazy(PyObject *owner,
					    const ms_frame *src, Py_ssize_t n,
					    PyObject *total_nframe);
/* The frames tuple (borrowed), building it if needed; NULL on error. */
MSPY_INTERNAL PyObject *mspy_traceback_frames(MsPyTraceback *tb);

/* ------------------------------------------------------------- Snapshot */

typedef struct {
	PyObject_HEAD
	ms_snapshot *snap;
	PyObject **frame_cache;   /* frame id -> Frame, filled on demand */
} MsPySnapshot;

/* Wraps s (takes ownership; frees it on failure). */
MSPY_INTERNAL PyObject *mspy_snapshot_wrap(PyTypeObject *type, ms_snapshot *s);
/* Frame object of a frame id (new reference). */
MSPY_INTERNAL PyObject *mspy_snapshot_frame(MsPySnapshot *self, uint32_t id);
/* A new Traceback (oldest first) for traceback id. */
MSPY_INTERNAL PyObject *mspy_snapshot_traceback(MsPySnapshot *self, uint32_t id);

/* ---------------------------------------------------------------- Trace */

typedef struct {
	PyObject_HEAD
	PyObject *domain;
	PyObject *size;
	PyObject *traceback;      /* Traceback, or NULL while lazy */
	MsPySnapshot *snapshot;   /* lazy source, or NULL */
	uint32_t tb_id;
} MsPyTrace;

MSPY_INTERNAL PyObject *mspy_trace_from_snapshot(MsPySnapshot *s, size_t i);
MSPY_INTERNAL PyObject *mspy_traces_new(MsPySnapshot *s);

/* ------------------------------------------------------------ Statistic */

/* Statistic and StatisticDiff share one layout; Statistic leaves the diff
 * fields NULL. Attributes are writable, as tracemalloc's are. */
typedef struct {
	PyObject_HEAD
	PyObject *traceback;
	PyObject *size;
	PyObject *size_diff;
	PyObject *count;
	PyObject *count_diff;
} MsPyStatistic;

/* A list of Statistic / StatisticDiff for st (consumes st). */
MSPY_INTERNAL PyObject *mspy_stats_to_list(ms_stats *st);

/* -------------------------------------------------------------- filters */

typedef struct {
	PyObject_HEAD
	PyObject *inclusive;         /* any object, used for its truth */
	PyObject *filename_pattern;  /* Filter: str */
	PyObject *lineno;            /* Filter: int or None */
	PyObject *all_frames;        /* Filter: any object, for its truth */
	PyObject *domain;            /* int or None (DomainFilter: int) */
} MsPyFilter;

/* Fills out from a Filter or DomainFilter; the pattern string stays valid
 * while the filter object lives (its UTF-8 is cached by the str). */
MSPY_INTERNAL int mspy_filter_to_engine(PyObject *obj, ms_filter *out);

/* ------------------------------------------------------------ GDB (pygdb.c) */

/* Session: ms_session_exec for GDB's commands; Tracker: the live trace set
 * fed by internal breakpoints; _StopHandler: their stop(). */
extern PyTypeObject MsPySession_Type;
extern PyTypeObject MsPyTracker_Type;
extern PyTypeObject MsPyStopHandler_Type;
MSPY_INTERNAL PyObject *mspy_check_core(PyObject *mod, PyObject *args);
MSPY_INTERNAL PyObject *mspy_allocator_entries(PyObject *mod, PyObject *args);

/* ---------------------------------------------------------------- utils */

/* Sets a Python exception for an engine error and returns NULL. */
MSPY_INTERNAL PyObject *mspy_raise(const ms_error *err);
/* A str from engine UTF-8 (invalid bytes kept with surrogateescape);
 * NULL s gives None. */
MSPY_INTERNAL PyObject *mspy_str(const char *s);
/* tracemalloc's _format_size(size, sign) for an int or float object. */
MSPY_INTERNAL PyObject *mspy_format_size(PyObject *size, int sign);
/* "%i" and "%+i" of Python's % operator. */
MSPY_INTERNAL PyObject *mspy_format_int(PyObject *v, int sign);
/* Reads an int in [0, max] into *out; raises TypeError/OverflowError. */
MSPY_INTERNAL int mspy_as_u64(PyObject *v, uint64_t max, const char *what,
			      uint64_t *out);

#endif /* PYMEMSNAP_H */
