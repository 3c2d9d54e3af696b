/* command.h - the command layer shared by the CLI and GDB, and the exports.
 *
 * Three levels, each usable on its own:
 *  - ms_output: where text or bytes go (a growable buffer, a FILE *, or the
 *    front-end's write callback); the engine never prints;
 *  - reports (report.c): statistics, compare, info and block lookups
 *    formatted as tracemalloc formats them, driven by ms_report_options,
 *    the one parser of the statistics options (--group-by, --limit, ...);
 *  - ms_session (command.c): the snapshots of one session, numbered #1, #2...
 *    with optional names, and ms_session_exec() that parses a command line
 *    ("snapshot statistics #1 --limit 5"), runs it and formats the result;
 *    plus completion for readline/libedit and GDB's completer;
 *  - exports (export.c): JSON (docs/JSON.md), pprof (gzipped profile.proto),
 *    collapsed stacks and a self-contained SVG flame graph.
 *
 * Every function follows memsnap.h's rules: no printing, no exit, errors as
 * a negative ms_errcode with a one-line message in the caller's ms_error.
 * Usage errors (unknown subcommand or option, bad number, bad pattern) are
 * -MS_EINVAL; everything else is a run-time error.
 */
#ifndef MEMSNAP_COMMAND_H
#define MEMSNAP_COMMAND_H

#include "memsnap.h"

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- output */

/* Writes len bytes; returns 0 or a negative ms_errcode. */
typedef int (*ms_write_fn)(void *arg, const void *data, size_t len);

typedef struct ms_output {
	ms_write_fn write;    /* NULL: bytes are appended to buf */
	void *arg;
	char *buf;            /* NUL-terminated when write is NULL */
	size_t len, cap;
	bool tty;             /* front-end's terminal: align columns */
	bool color;           /* ANSI colours (see ms_color_wanted) */
	int error;            /* first write failure, sticky; 0 when none */
} ms_output;

void ms_output_init_buffer(ms_output *o);
void ms_output_init_callback(ms_output *o, ms_write_fn fn, void *arg);
/* Writes to f with fwrite; a short write fails with MS_EIO. */
void ms_output_init_file(ms_output *o, FILE *f);
/* Frees the buffer (a callback output holds nothing). */
void ms_output_destroy(ms_output *o);
/* Empties the buffer and clears the error, keeping tty/color. */
void ms_output_reset(ms_output *o);
int ms_output_write(ms_output *o, const void *data, size_t len);
int ms_output_printf(ms_output *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Colour for a front-end whose output is a terminal (is_tty) and where the
 * user did not set NO_COLOR to a non-empty value (https://no-color.org). */
bool ms_color_wanted(bool is_tty);

/* --------------------------------------------------------------- options */

typedef enum ms_export_format {
	MS_EXPORT_JSON,
	MS_EXPORT_PPROF,
	MS_EXPORT_COLLAPSED,
	MS_EXPORT_SVG,
} ms_export_format;

/* "json", "pprof", "collapsed", "svg"; -MS_EINVAL otherwise. */
int ms_export_format_parse(const char *name, ms_export_format *out,
			   ms_error *err);

/* The statistics options shared by every command that reports on
 * snapshots. Filters apply in two passes: first --domain (several are
 * or-ed), then --include/--exclude with tracemalloc's rules, so that a
 * domain and a pattern together mean "and". */
typedef struct ms_report_options {
	ms_group_by group_by;   /* default lineno */
	bool group_by_set;
	bool cumulative;
	size_t limit;           /* statistics shown; 0 = all */
	bool all_frames;        /* applies to every --include/--exclude */
	bool traceback;         /* print each statistic's traceback */
	bool bytes;             /* sizes as exact byte counts */
	ms_filter *filters;     /* filename filters; patterns owned */
	size_t nfilters, filters_cap;
	uint32_t *domains;
	size_t ndomains, domains_cap;
	char *name;             /* --name (filter's result) */
	bool format_set;
	ms_export_format format;
} ms_report_options;

void ms_report_options_init(ms_report_options *o, size_t default_limit);
void ms_report_options_destroy(ms_report_options *o);

typedef enum ms_option_arg { MS_OPT_UNKNOWN, MS_OPT_FLAG, MS_OPT_VALUE } ms_option_arg;
/* Whether long option name (without "--") exists and takes a value. */
ms_option_arg ms_report_option_kind(const char *name);
/* Which commands an option applies to: those taking its group. */
typedef enum ms_option_group {
	MS_OPTS_STATS = 1 << 0,   /* --group-by --cumulative --limit
				   * --traceback --bytes */
	MS_OPTS_FILTER = 1 << 1,  /* --include --exclude --domain --all-frames */
	MS_OPTS_NAME = 1 << 2,    /* --name (filter's result) */
	MS_OPTS_FORMAT = 1 << 3,  /* --format (export) */
} ms_option_group;
/* The group of option name (without "--"); 0 when there is none. */
unsigned ms_report_option_group(const char *name);
/* Sets option name (without "--") to value (NULL for a flag). Bad values
 * ("--limit x", "--include ''", "--group-by foo") give -MS_EINVAL or
 * -MS_EKEYTYPE with a message naming the option. */
int ms_report_option_set(ms_report_options *o, const char *name,
			 const char *value, ms_error *err);
/* The long option names, NULL-terminated (for getopt_long tables and
 * completion). */
const char *const *ms_report_option_names(void);
/* Whether o has any filter. */
bool ms_report_options_filter(const ms_report_options *o);

/* Applies o's filters. *out is a new snapshot, or NULL when o has no
 * filter (use s itself). */
int ms_report_apply_filters(const ms_snapshot *s, const ms_report_options *o,
			    ms_snapshot **out, ms_error *err);

/* ---------------------------------------------------------------- reports */

/* One statistic per line in Statistic.__str__'s format
 *   "file.c:12: size=4.2 MiB, count=1000, average=4.3 KiB"
 * followed by " in func()" when the function is known (lineno, function and
 * traceback grouping), at most o->limit lines, then "... N more: ..." and
 * "Total: N blocks, SIZE". When out->tty the location column is padded
 * (only spaces added after "file.c:12:"). With o->traceback each line is
 * followed by its traceback in Traceback.format()'s style. Filters of o
 * are applied first. */
int ms_report_statistics(ms_output *out, const ms_snapshot *s,
			 const ms_report_options *o, ms_error *err);
/* The same with StatisticDiff.__str__ lines (new vs old) and a total with
 * the growth: "Total: 1000 blocks (+200), 4.2 MiB (+1.1 MiB)". */
int ms_report_compare(ms_output *out, const ms_snapshot *old_snap,
		      const ms_snapshot *new_snap, const ms_report_options *o,
		      ms_error *err);
/* Metadata: label (e.g. "#1 base"), pid, cmdline, time, host, hooked
 * functions, unknown frees, traceback limit, traces, total size, modules,
 * then any other metadata key. */
int ms_report_info(ms_output *out, const ms_snapshot *s, const char *label,
		   ms_error *err);
/* The block containing addr (domain, address, size, offset of addr in it)
 * and its full traceback. When no block contains addr but one ends less
 * than MS_REPORT_NEAR_WINDOW bytes below it (an overrun's fault), that
 * block, introduced by "No live block in LABEL contains ADDR; it is N
 * bytes past the end of the nearest block below:"; -MS_ENOTFOUND when
 * neither. */
#define MS_REPORT_NEAR_WINDOW 65536
int ms_report_block(ms_output *out, const ms_snapshot *s, const char *label,
		    uint64_t addr, ms_error *err);
/* A leak report in LeakSanitizer's style over the live blocks of s (at
 * the target's exit: what it never freed), grouped by traceback, biggest
 * first (tracemalloc's order), after o's filters (o may be NULL):
 *   "Leak of 72 byte(s) in 3 object(s) allocated from:"
 *   "    #0 0x55d0c0ffee00 in log_access demo.c:53" (most recent first,
 *   then the stripped source line indented when the file is readable)
 * a blank line after each, and last
 *   "SUMMARY: memsnap: 5400 byte(s) leaked in 10 allocation(s) from 8
 *   traceback(s)." or "No leaks: no live block." when there is none.
 * Exact integers throughout. */
int ms_report_leaks(ms_output *out, const ms_snapshot *s,
		    const ms_report_options *o, ms_error *err);
/* Frames oldest first, Traceback.format() style with ", in func" added:
 *   '  File "a.c", line 3, in main' then '    source line' when the file
 * is readable; indent is prepended to each line. */
int ms_report_traceback(ms_output *out, const ms_frame *frames, uint32_t n,
			const char *indent, ms_error *err);

/* Whether path names a temporary file of ms_snapshot_dump
 * (".NAME.XXXXXXXXXXXX.tmp", 12 hex digits): one is left only when the
 * writer died between creating it and renaming it to NAME, and loading
 * refuses it (-MS_EINVAL from ms_check_not_temp, naming NAME). */
bool ms_path_is_temp(const char *path);
int ms_check_not_temp(const char *path, ms_error *err);

/* Parses a number for option what: decimal, or hex with 0x; -MS_EINVAL with
 * "bad number for WHAT: 'x'" otherwise. */
int ms_parse_u64(const char *text, const char *what, uint64_t *out,
		 ms_error *err);

/* ---------------------------------------------------------------- exports */

/* JSON as docs/JSON.md describes: the whole snapshot, and the statistics
 * of o (group_by, cumulative, limit) when o is not NULL. o's filters are
 * not applied here (the caller filters). */
int ms_export_json(ms_output *out, const ms_snapshot *s,
		   const ms_report_options *o, ms_error *err);
/* gzipped profile.proto: sample types inuse_objects/count and
 * inuse_space/bytes, one sample per traceback, mappings with build-ids,
 * one location per PC with its inlined lines innermost first. */
int ms_export_pprof(ms_output *out, const ms_snapshot *s, ms_error *err);
/* "main;foo;bar 4096" lines, frames oldest first, byte weights, equal
 * stacks merged, sorted. */
int ms_export_collapsed(ms_output *out, const ms_snapshot *s, ms_error *err);
/* A self-contained SVG flame graph (no scripts, no external resources). */
int ms_export_svg(ms_output *out, const ms_snapshot *s, const char *title,
		  ms_error *err);
int ms_export(ms_output *out, const ms_snapshot *s, ms_export_format f,
	      const ms_report_options *o, ms_error *err);
/* Exports s in o->format (which must be set) to the file path after o's
 * filters, built in memory and then written as snapshot files are
 * (atomic_file.h: 0600, temporary file, fsync, rename, no symlink
 * followed), so that a reader never sees half an export. Progress
 * ("formatting", then "writing" and "syncing") goes to p (may be NULL). */
int ms_export_file(const ms_snapshot *s, const char *path,
		   const ms_report_options *o, const ms_progress *p,
		   ms_error *err);

/* ---------------------------------------------------------------- session */

typedef struct ms_session ms_session;

/* The front-end's way to take a snapshot of the live target: returns a new
 * snapshot (the session owns it) or NULL with err filled. */
typedef ms_snapshot *(*ms_take_fn)(void *arg, ms_error *err);

ms_session *ms_session_new(ms_error *err);
void ms_session_free(ms_session *s);
/* fn NULL (offline): "take" fails with a message saying so. */
void ms_session_set_take(ms_session *s, ms_take_fn fn, void *arg);
/* Statistics lines shown when --limit is not given (10 for a terminal,
 * 0 = all). */
void ms_session_set_default_limit(ms_session *s, size_t limit);
/* Where load, dump and export report their progress (copied; NULL: none). */
void ms_session_set_progress(ms_session *s, const ms_progress *p);

/* Runs one command line. The "snapshot" prefix is optional; an empty line
 * or a comment (#...) does nothing. Returns 0 or a negative ms_errcode
 * (-MS_EINVAL for usage errors). Output written before a failure stays in
 * out. */
int ms_session_exec(ms_session *s, const char *line, ms_output *out,
		    ms_error *err);

/* Adds a snapshot (the session takes it over, even on failure); name may
 * be NULL. Returns its number (>= 1) or a negative ms_errcode (a name
 * already used, or that starts with a digit or '#'). */
int ms_session_add(ms_session *s, ms_snapshot *snap, const char *name,
		   const char *origin, ms_error *err);
size_t ms_session_count(const ms_session *s);
/* A snapshot by reference: "#2", "2" or a name; NULL (the newest) when ref
 * is NULL. NULL with -MS_ENOTFOUND in err when there is none. */
const ms_snapshot *ms_session_find(const ms_session *s, const char *ref,
				   ms_error *err);

/* Completion of the last word of line (the text before the cursor). */
typedef struct ms_completion {
	char **words;      /* candidates, sorted, each malloc'ed */
	size_t count;
	size_t start;      /* offset in line where the completed word starts */
	bool filenames;    /* a file name is expected: front-end completes */
} ms_completion;
int ms_session_complete(const ms_session *s, const char *line,
			ms_completion *c, ms_error *err);
void ms_completion_destroy(ms_completion *c);

/* The text of "help" (all commands) or "help CMD". */
int ms_session_help(ms_output *out, const char *cmd, ms_error *err);

#ifdef __cplusplus
}
#endif
#endif /* MEMSNAP_COMMAND_H */
