/* memsnap.h - public API of libmemsnap, the snapshot engine.
 *
 * The engine keeps the live trace set of a process (ms_table), turns it into
 * immutable snapshots (ms_snapshot), and filters, groups, compares, dumps and
 * loads them, with the semantics of Python's tracemalloc.Snapshot.
 *
 * Rules every function follows:
 *  - it never prints, exits or aborts: failures come back as a negative
 *    ms_errcode, with the details in the caller's ms_error (which may be NULL);
 *  - objects come in new/free pairs; every *_free accepts NULL;
 *  - nothing here knows about ptrace or Python: front-ends feed events in
 *    and print what comes out.
 */
#ifndef MEMSNAP_H
#define MEMSNAP_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- errors */

/* One list generates the enum and the messages (see error.c). */
#define MS_ERRORS(X)                                                         \
	X(MS_OK, "success")                                                  \
	X(MS_ENOMEM, "out of memory")                                        \
	X(MS_EINVAL, "invalid argument")                                     \
	X(MS_EIO, "input/output error")                                      \
	X(MS_EFORMAT, "not a memsnap snapshot file")                         \
	X(MS_EVERSION, "unsupported snapshot file version")                  \
	X(MS_ETRUNCATED, "truncated snapshot file")                          \
	X(MS_ECHECKSUM, "snapshot file checksum mismatch")                   \
	X(MS_ECORRUPT, "corrupt snapshot file")                              \
	X(MS_EKEYTYPE, "unknown key_type")                                   \
	X(MS_ECUMULATIVE, "cumulative mode cannot be used with this key type") \
	X(MS_ENOTFOUND, "not found")                                         \
	X(MS_EEXIST, "already exists")                                       \
	X(MS_ELIMIT, "limit exceeded")                                       \
	X(MS_ESYMBOL, "symbolization failed")

#define MS__ERRENUM(name, msg) name,
typedef enum ms_errcode { MS_ERRORS(MS__ERRENUM) MS__NERRORS } ms_errcode;
#undef MS__ERRENUM

/* The caller's error context: the code and a one-line message that says
 * what went wrong in terms the user can act on ("snap.msnap: section 3
 * (traces) extends past the end of the file"). */
typedef struct ms_error {
	int code;            /* an ms_errcode, MS_OK when nothing failed */
	char message[320];   /* NUL-terminated, no trailing newline */
} ms_error;

/* The fixed text for a code ("out of memory"); never NULL. */
const char *ms_strerror(int code);

/* Clears err (code MS_OK, empty message). err may be NULL. */
void ms_error_clear(ms_error *err);

/* ---------------------------------------------------------------- frames */

/* A symbolized frame. Strings belong to the object that returned the frame
 * (a snapshot or a statistics result) and live as long as it does.
 * tracemalloc's identity of a frame is (filename, lineno); the rest is
 * native extra information. */
typedef struct ms_frame {
	const char *filename;  /* never NULL; module path when no debug info */
	uint32_t lineno;       /* 0 when unknown */
	const char *function;  /* NULL when unknown (C++ names demangled) */
	const char *module;    /* module path, NULL when unknown */
	const char *build_id;  /* module build-id in hex, NULL when unknown */
	uint64_t address;      /* the recorded PC, 0 when not from a PC */
	uint64_t offset;       /* address - module load bias, 0 when unknown */
} ms_frame;

/* A loaded module (executable or shared object) of the traced process. */
typedef struct ms_module {
	const char *path;
	const char *build_id; /* hex, NULL when unknown */
	uint64_t bias;        /* load bias: runtime address - ELF address */
	uint64_t start, end;  /* mapped range [start, end) */
} ms_module;

/* ------------------------------------------------------------ symbolizer */

/* The engine asks a symbolizer to turn a PC into one or more frames,
 * innermost (inlined) first. It is the one place where the engine meets
 * debug information; libdwfl fills it (symbolize_dwfl.c), tests may use
 * their own.
 *
 * resolve(): called once per distinct PC of a snapshot being taken.
 *   is_return is true for every PC but the innermost of a stack: such PCs are
 *   return addresses and must be looked up at pc - 1. Write up to max frames
 *   into out and return how many (>= 1), or a negative ms_errcode with err
 *   filled. Strings written into out must stay valid until the next call to
 *   resolve() or until the symbolizer is freed; the engine copies them. */
typedef int (*ms_module_cb)(void *arg, const ms_module *m);
typedef struct ms_symbolizer_ops {
	int (*resolve)(void *ctx, uint64_t pc, bool is_return, ms_frame *out,
		       size_t max, ms_error *err);
	/* Optional (may be NULL): call cb for every module of the address
	 * space, so that the snapshot keeps the module map. Strings need to
	 * live only during the call. Returns 0, cb's non-zero return, or a
	 * negative ms_errcode. */
	int (*modules)(void *ctx, ms_module_cb cb, void *arg, ms_error *err);
} ms_symbolizer_ops;

typedef struct ms_symbolizer {
	const ms_symbolizer_ops *ops;
	void *ctx;
} ms_symbolizer;

/* The most frames one PC may expand to (inlining depth + 1). */
#define MS_MAX_INLINE 32

/* ------------------------------------------------------------ trace table */

/* Domains: 0 = the malloc family (and operator new), 1 = anonymous mmap made
 * by the program itself, 2 and above = user-declared allocators. */
#define MS_DOMAIN_MALLOC 0u
#define MS_DOMAIN_MMAP 1u
#define MS_DOMAIN_MAX 0xffffu
/* Largest block size the live table stores (x86-64 user space is 2^47). */
#define MS_SIZE_MAX ((UINT64_C(1) << 48) - 1)
/* Most PCs kept per traceback. */
#define MS_MAX_FRAMES 1024

/* The live trace set: (domain, address) -> (size, traceback). Tracebacks are
 * interned: equal PC sequences share one id. Not thread-safe: its owner
 * (one tracer thread) serialises access. */
typedef struct ms_table ms_table;

ms_table *ms_table_new(ms_error *err);
void ms_table_free(ms_table *t);

/* Per-domain totals. */
typedef struct ms_domain_stats {
	uint64_t count;        /* live blocks now */
	uint64_t size;         /* live bytes now */
	uint64_t peak_size;    /* highest live bytes seen */
	uint64_t unknown_frees;/* frees/reallocs of blocks the table never saw */
} ms_domain_stats;

/* The narrow event interface that every trace source uses.
 *
 * pcs: the allocating stack, most recent first (pcs[0] is the caller's code,
 * allocator wrappers already skipped); npcs <= MS_MAX_FRAMES; total_nframe is
 * the depth before truncation (>= npcs).
 *
 * ms_table_alloc: a new block. An existing entry at the same (domain,
 *   address) is replaced (its free was missed) and counted in
 *   ms_table_replaced().
 * ms_table_free_block: returns MS_ENOTFOUND (a normal outcome, counted as an
 *   unknown free of the domain) when the block is not in the table.
 * ms_table_realloc: old block moves/resizes to new_address/new_size with the
 *   given stack. An unknown old block counts as an unknown free and the
 *   result is inserted as a new block. */
int ms_table_alloc(ms_table *t, uint32_t domain, uint64_t address,
		   uint64_t size, const uint64_t *pcs, uint32_t npcs,
		   uint32_t total_nframe, ms_error *err);
int ms_table_free_block(ms_table *t, uint32_t domain, uint64_t address,
			ms_error *err);
int ms_table_realloc(ms_table *t, uint32_t domain, uint64_t old_address,
		     uint64_t new_address, uint64_t new_size,
		     const uint64_t *pcs, uint32_t npcs, uint32_t total_nframe,
		     ms_error *err);

/* Look up one block. Returns MS_OK and fills size/traceback, or
 * MS_ENOTFOUND. */
typedef struct ms_block {
	uint32_t domain;
	uint64_t address;
	uint64_t size;
	const uint64_t *pcs;   /* valid until the table changes */
	uint32_t npcs;
	uint32_t total_nframe;
} ms_block;
int ms_table_lookup(const ms_table *t, uint32_t domain, uint64_t address,
		    ms_block *out);
/* The live block of any domain whose [address, address+size) contains addr
 * (a zero-size block contains its own address). When blocks of several
 * domains contain it, the smallest block wins. O(live blocks). */
int ms_table_find_containing(const ms_table *t, uint64_t addr, ms_block *out);

size_t ms_table_count(const ms_table *t);
/* Totals of one domain (all zero for a domain never seen). */
ms_domain_stats ms_table_domain_stats(const ms_table *t, uint32_t domain);
/* Highest domain number seen + 1. */
uint32_t ms_table_ndomains(const ms_table *t);
/* Allocations that replaced a live entry at the same address. */
uint64_t ms_table_replaced(const ms_table *t);
size_t ms_table_ntracebacks(const ms_table *t);
/* Bytes the table itself holds for live blocks (hash slots), and for the
 * interned tracebacks. */
size_t ms_table_memory_blocks(const ms_table *t);
size_t ms_table_memory_tracebacks(const ms_table *t);
/* Forget every block and traceback (exec: a new image is a new trace set).
 * Per-domain totals are reset too. */
void ms_table_clear(ms_table *t);

/* Iterate over live blocks in no particular order. Returns 0 to go on;
 * a non-zero return from cb stops and is returned. */
typedef int (*ms_block_cb)(void *arg, const ms_block *b);
int ms_table_foreach(const ms_table *t, ms_block_cb cb, void *arg);

/* ------------------------------------------------------------- snapshots */

/* An immutable set of traces with their symbolized tracebacks, the module
 * map and metadata. Self-contained: it owns every string it references. */
typedef struct ms_snapshot ms_snapshot;

/* Taking a snapshot of a table has two steps so that the table is held only
 * for the copy: ms_capture_take() copies the live traces and the tracebacks
 * they use (the table may change right after it returns), then
 * ms_capture_finish() symbolizes the PCs outside that window and builds the
 * snapshot; it consumes the capture whatever it returns.
 *
 * traceback_limit: frames (PCs) kept per traceback; tracebacks recorded
 * deeper are cut, their total_nframe kept. Traces are ordered by
 * (domain, address). Each PC expands to the frames the symbolizer returns;
 * a NULL symbolizer gives frames named "??" with the PC as address. */
typedef struct ms_capture ms_capture;
ms_capture *ms_capture_take(const ms_table *t, uint32_t traceback_limit,
			    ms_error *err);
ms_snapshot *ms_capture_finish(ms_capture *c, const ms_symbolizer *sym,
			       ms_error *err);
void ms_capture_free(ms_capture *c);
/* Metadata for the snapshot being built (same rules as ms_builder_meta). */
int ms_capture_meta(ms_capture *c, const char *key, const char *value,
		    ms_error *err);

/* Building a snapshot directly from frames, as tracemalloc.Snapshot(traces,
 * traceback_limit) does, and as the file loader does. Frames are given most
 * recent first. A builder that failed stays failed; finish() reports it. */
typedef struct ms_builder ms_builder;
ms_builder *ms_builder_new(uint32_t traceback_limit, ms_error *err);
void ms_builder_free(ms_builder *b);
/* Intern a module; returns its index (>= 0) or a negative ms_errcode. */
int64_t ms_builder_module(ms_builder *b, const char *path,
			  const char *build_id, uint64_t bias, uint64_t start,
			  uint64_t end, ms_error *err);
/* Intern a frame (module index or -1); returns a frame id or negative. */
int64_t ms_builder_frame(ms_builder *b, const ms_frame *f, int64_t module,
			 ms_error *err);
/* Intern a traceback of frame ids, most recent first; returns its id. */
int64_t ms_builder_traceback(ms_builder *b, const uint32_t *frame_ids,
			     uint32_t nframe, uint32_t total_nframe,
			     ms_error *err);
int ms_builder_trace(ms_builder *b, uint32_t domain, uint64_t address,
		     uint64_t size, uint32_t traceback_id, ms_error *err);
/* Metadata: ordered key/value strings; setting a key again replaces it. */
int ms_builder_meta(ms_builder *b, const char *key, const char *value,
		    ms_error *err);
ms_snapshot *ms_builder_finish(ms_builder *b, ms_error *err);

void ms_snapshot_free(ms_snapshot *s);

uint32_t ms_snapshot_traceback_limit(const ms_snapshot *s);
size_t ms_snapshot_ntraces(const ms_snapshot *s);
/* One trace; i < ntraces. */
typedef struct ms_trace {
	uint32_t domain;
	uint64_t address;
	uint64_t size;
	uint32_t traceback;  /* traceback id within this snapshot */
} ms_trace;
void ms_snapshot_trace(const ms_snapshot *s, size_t i, ms_trace *out);
size_t ms_snapshot_ntracebacks(const ms_snapshot *s);
/* Frames of traceback id, most recent first; returns nframe. */
uint32_t ms_snapshot_traceback(const ms_snapshot *s, uint32_t id,
			       const uint32_t **frame_ids,
			       uint32_t *total_nframe);
size_t ms_snapshot_nframes(const ms_snapshot *s);
void ms_snapshot_frame(const ms_snapshot *s, uint32_t frame_id,
		       ms_frame *out);
size_t ms_snapshot_nmodules(const ms_snapshot *s);
void ms_snapshot_module(const ms_snapshot *s, size_t i, ms_module *out);
size_t ms_snapshot_nmeta(const ms_snapshot *s);
void ms_snapshot_meta_at(const ms_snapshot *s, size_t i, const char **key,
			 const char **value);
/* NULL when the key is absent. */
const char *ms_snapshot_meta(const ms_snapshot *s, const char *key);
/* Total bytes and count of all traces. */
void ms_snapshot_totals(const ms_snapshot *s, uint64_t *size, uint64_t *count);
/* The trace whose block contains addr (smallest wins); -1 when none. */
int64_t ms_snapshot_find_containing(const ms_snapshot *s, uint64_t addr);

/* Well-known metadata keys. */
#define MS_META_PID "pid"
#define MS_META_CMDLINE "cmdline"
#define MS_META_TIME "time"              /* seconds since the epoch, decimal */
#define MS_META_HOST "host"
#define MS_META_HOOKED "hooked"          /* comma-separated function names */
#define MS_META_UNKNOWN_FREES "unknown_frees"
#define MS_META_IN_FLIGHT "in_flight"
#define MS_META_PEAK_SIZE "peak_size"     /* domain 0's highest live bytes, decimal */

/* ---------------------------------------------------------------- filters */

/* tracemalloc.Filter and DomainFilter. The filename pattern follows Python's
 * fnmatch.fnmatch on POSIX (no escapes; '*' matches '/'). */
typedef enum ms_filter_kind { MS_FILTER_FILENAME, MS_FILTER_DOMAIN } ms_filter_kind;
typedef struct ms_filter {
	ms_filter_kind kind;
	bool inclusive;
	const char *filename_pattern; /* MS_FILTER_FILENAME */
	bool has_lineno;
	uint32_t lineno;
	bool all_frames;
	bool has_domain;              /* Filter(domain=...) or DomainFilter */
	uint32_t domain;
} ms_filter;

/* Python fnmatch.fnmatchcase semantics. */
bool ms_fnmatch(const char *pattern, const char *name);

/* A new snapshot with the traces that pass the filters (tracemalloc's
 * rules: a trace is kept when at least one inclusive filter matches it, or
 * there is none, and no exclusive filter rejects it). nfilters == 0 gives a
 * copy. */
ms_snapshot *ms_snapshot_filter(const ms_snapshot *s, const ms_filter *filters,
				size_t nfilters, ms_error *err);

/* ------------------------------------------------------------- statistics */

typedef enum ms_group_by {
	MS_GROUP_FILENAME,
	MS_GROUP_LINENO,
	MS_GROUP_TRACEBACK,
	MS_GROUP_FUNCTION,  /* native: (function, filename) */
	MS_GROUP_MODULE,    /* native: module path */
} ms_group_by;

/* Parses "filename", "lineno", "traceback", "function", "module"; returns 0
 * or MS_EKEYTYPE with the message tracemalloc gives. */
int ms_group_by_parse(const char *name, ms_group_by *out, ms_error *err);
const char *ms_group_by_name(ms_group_by g);

/* A list of Statistic or StatisticDiff, sorted as tracemalloc sorts them.
 * Frames of a key are oldest first, as tracemalloc exposes them. Keys of
 * filename grouping have lineno 0; function keys have lineno 0 and function
 * set; module keys have filename = module path. */
typedef struct ms_stats ms_stats;
typedef struct ms_stat {
	uint64_t size;
	uint64_t count;
	int64_t size_diff;   /* compare only */
	int64_t count_diff;  /* compare only */
	uint32_t nframe;
	const ms_frame *frames; /* oldest first; valid while the stats live */
} ms_stat;

ms_stats *ms_snapshot_statistics(const ms_snapshot *s, ms_group_by g,
				 bool cumulative, ms_error *err);
/* compare_to: new vs old. */
ms_stats *ms_snapshot_compare(const ms_snapshot *new_snap,
			      const ms_snapshot *old_snap, ms_group_by g,
			      bool cumulative, ms_error *err);
size_t ms_stats_count(const ms_stats *st);
void ms_stats_get(const ms_stats *st, size_t i, ms_stat *out);
bool ms_stats_is_diff(const ms_stats *st);
void ms_stats_free(ms_stats *st);

/* ------------------------------------------------------------- progress */

/* Long work (loading, writing or exporting a big snapshot) says how far it
 * is through the caller's callback, so that a front-end can draw a progress
 * line; the engine itself never prints. fn gets the phase ("reading",
 * "decoding", "encoding", "formatting", "writing", "syncing") and done out
 * of total units of that phase (total 0: unknown). It is called from the
 * working thread at the start of each phase and then every few megabytes
 * or sections, and must not call the engine on the objects being worked
 * on. A NULL ms_progress, or a NULL fn, reports nothing. */
typedef struct ms_progress {
	void (*fn)(void *arg, const char *phase, uint64_t done, uint64_t total);
	void *arg;
} ms_progress;

/* ------------------------------------------------------------- files */

/* Writes s atomically (temporary file in the same directory, fsync,
 * rename) with mode 0600, never following a symlink at path. */
int ms_snapshot_dump(const ms_snapshot *s, const char *path, ms_error *err);
/* Reads and fully validates a file; a bad file gives NULL and err says
 * what is wrong. */
ms_snapshot *ms_snapshot_load(const char *path, ms_error *err);
/* The same, reporting progress to p (may be NULL). */
int ms_snapshot_dump_progress(const ms_snapshot *s, const char *path,
			      const ms_progress *p, ms_error *err);
ms_snapshot *ms_snapshot_load_progress(const char *path, const ms_progress *p,
				       ms_error *err);
/* The same on memory (used by the fuzzer and by tests). */
int ms_snapshot_encode(const ms_snapshot *s, uint8_t **buf, size_t *len,
		       ms_error *err);
ms_snapshot *ms_snapshot_decode(const uint8_t *buf, size_t len,
				ms_error *err);

/* ------------------------------------------------------------ formatting */

/* tracemalloc's _format_size: "10 B", "4.2 KiB", "+5000 B" with sign. */
void ms_format_size(char *buf, size_t len, int64_t size, bool sign);
/* The same on a float, as Python formats one ("average=": 1003 / 2 gives
 * "502 B", 'KiB' and above as for integers). */
void ms_format_size_double(char *buf, size_t len, double size, bool sign);

#ifdef __cplusplus
}
#endif
#endif /* MEMSNAP_H */
