/* memsnapP.h - internals shared inside shared/ (ms__ prefix).
 * Nothing outside shared/ (and the engine's unit tests) includes this. */
#ifndef MEMSNAPP_H
#define MEMSNAPP_H

#include "memsnap.h"

#include <stdarg.h>

#define MS__UNUSED __attribute__((unused))
#define MS__PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Fill err (may be NULL) and return -code. */
int ms__fail(ms_error *err, int code, const char *fmt, ...) MS__PRINTF(3, 4);
/* Out of memory while doing what. */
int ms__nomem(ms_error *err, const char *what);

/* Overflow-checked allocation helpers; they return NULL on overflow too. */
void *ms__malloc_array(size_t n, size_t size);
void *ms__calloc_array(size_t n, size_t size);
void *ms__realloc_array(void *p, size_t n, size_t size);
/* Grow *p (an array of *cap elements of size) to hold at least need. */
int ms__grow(void **p, size_t *cap, size_t need, size_t size);

static inline uint64_t ms__hash64(uint64_t x)
{
	/* splitmix64 finaliser: cheap and well mixed */
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	x ^= x >> 31;
	return x;
}
uint64_t ms__hash_bytes(const void *p, size_t len, uint64_t seed);

/* Reports progress when the caller asked for it (p and p->fn set). */
static inline void ms__progress(const ms_progress *p, const char *phase,
				uint64_t done, uint64_t total)
{
	if (p && p->fn)
		p->fn(p->arg, phase, done, total);
}

/* --------------------------------------------------------- string pool */

/* Interned NUL-terminated strings. Id 0 is always the empty string, which
 * also stands for "absent" where a field is optional. */
typedef struct ms__strpool {
	char *data;          /* all strings, each NUL-terminated */
	size_t len, cap;
	uint32_t *offsets;   /* id -> offset into data */
	size_t count, offsets_cap;
	uint32_t *index;     /* open-addressing hash: id + 1, 0 = empty */
	size_t index_cap;    /* power of two, 0 when no index (frozen) */
} ms__strpool;

int ms__strpool_init(ms__strpool *p, ms_error *err);
void ms__strpool_destroy(ms__strpool *p);
/* Returns the id (>= 0) of s[0..len), or a negative ms_errcode. */
int64_t ms__strpool_intern(ms__strpool *p, const char *s, size_t len,
			   ms_error *err);
static inline const char *ms__strpool_get(const ms__strpool *p, uint32_t id)
{
	return p->data + p->offsets[id];
}
/* Drop the hash index (the pool becomes read-only). */
void ms__strpool_freeze(ms__strpool *p);

/* --------------------------------------------------------- snapshot */

typedef struct ms__module {
	uint32_t path;       /* string id */
	uint32_t build_id;   /* string id, 0 = unknown */
	uint64_t bias, start, end;
} ms__module;

#define MS__NO_MODULE UINT32_MAX

typedef struct ms__frame {
	uint64_t address;
	uint32_t filename;   /* string id */
	uint32_t lineno;
	uint32_t function;   /* string id, 0 = unknown */
	uint32_t module;     /* module index or MS__NO_MODULE */
} ms__frame;

typedef struct ms__traceback {
	uint32_t first;        /* index into tb_frames */
	uint32_t nframe;
	uint32_t total_nframe;
} ms__traceback;

typedef struct ms__trace {
	uint64_t address;
	uint64_t size;
	uint32_t domain;
	uint32_t traceback;
} ms__trace;

typedef struct ms__meta {
	uint32_t key, value;   /* string ids */
} ms__meta;

struct ms_snapshot {
	uint32_t traceback_limit;
	ms__strpool strings;
	ms__module *modules;
	size_t nmodules, modules_cap;
	ms__frame *frames;
	size_t nframes, frames_cap;
	uint32_t *tb_frames;   /* frame ids of all tracebacks, most recent first */
	size_t ntb_frames, tb_frames_cap;
	ms__traceback *tracebacks;
	size_t ntracebacks, tracebacks_cap;
	ms__trace *traces;
	size_t ntraces, traces_cap;
	ms__meta *meta;
	size_t nmeta, meta_cap;
};

/* An empty snapshot to be filled field by field (the file loader). */
ms_snapshot *ms__snapshot_new(uint32_t traceback_limit, ms_error *err);

/* Fill a public frame from an internal one. */
void ms__snapshot_frame_export(const ms_snapshot *s, const ms__frame *f,
			       ms_frame *out);

/* Copy the live traces and every interned traceback of a table (the hold
 * of ms_capture_take). Traces come in slot order; tracebacks index pcs. */
int ms__table_copy(const ms_table *t, ms__trace **traces, size_t *ntraces,
		   uint64_t **pcs, size_t *npcs, ms__traceback **tbs,
		   size_t *ntbs, ms_error *err);

#endif /* MEMSNAPP_H */
