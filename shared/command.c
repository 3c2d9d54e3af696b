/* command.c - the session: numbered and named snapshots, and the command
 * language that the CLI and GDB share (parse, run, format). */
#include "config.h"
#include "memsnapP.h"
#include "command.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
	unsigned number;
	char *name;      /* NULL when unnamed */
	char *origin;    /* "live", a file name, "filter of #1"... */
	ms_snapshot *snap;
} entry;

struct ms_session {
	entry *entries;
	size_t count, cap;
	unsigned next_number;
	ms_take_fn take;
	void *take_arg;
	size_t default_limit;
	ms_progress progress;  /* fn NULL: none */
};

/* ---------------------------------------------------------------- table */

/* Positional argument kinds, for usage messages and completion. */
typedef enum arg_kind { A_NONE, A_SNAP, A_NAME, A_FILE, A_ADDR, A_CMD } arg_kind;

typedef struct command command;
/* A command: its positional arguments and options already checked. */
typedef int command_run(ms_session *s, char **pos, size_t npos,
			const ms_report_options *o, ms_output *out,
			ms_error *err);

struct command {
	const char *name;
	const char *usage;
	const char *summary;
	size_t min_pos, max_pos;
	arg_kind pos[3];
	unsigned options;      /* ms_option_group bits */
	command_run *fn;
};

static command_run cmd_take, cmd_list, cmd_statistics, cmd_compare, cmd_filter,
	cmd_dump, cmd_load, cmd_block, cmd_info, cmd_leaks, cmd_export, cmd_help;

static const command commands[] = {
	{ "take", "take [NAME]",
	  "take a snapshot of the live target", 0, 1, { A_NAME }, 0, cmd_take },
	{ "list", "list", "list the snapshots of this session", 0, 0, { 0 }, 0,
	  cmd_list },
	{ "statistics", "statistics [SNAP] [OPTIONS]",
	  "top allocation sites of a snapshot (default: the newest)", 0, 1,
	  { A_SNAP }, MS_OPTS_STATS | MS_OPTS_FILTER, cmd_statistics },
	{ "compare", "compare OLD [NEW] [OPTIONS]",
	  "growth from OLD to NEW (default: a fresh snapshot, or the newest "
	  "offline)", 1, 2, { A_SNAP, A_SNAP }, MS_OPTS_STATS | MS_OPTS_FILTER,
	  cmd_compare },
	{ "filter", "filter SNAP [FILTER OPTIONS] [--name NEW]",
	  "a new snapshot with the traces that pass the filters", 1, 1,
	  { A_SNAP }, MS_OPTS_FILTER | MS_OPTS_NAME, cmd_filter },
	{ "dump", "dump SNAP FILE", "write a snapshot file", 2, 2,
	  { A_SNAP, A_FILE }, 0, cmd_dump },
	{ "load", "load FILE [NAME]", "read a snapshot file", 1, 2,
	  { A_FILE, A_NAME }, 0, cmd_load },
	{ "block", "block ADDR [SNAP]",
	  "the live block containing ADDR and the stack that allocated it", 1,
	  2, { A_ADDR, A_SNAP }, 0, cmd_block },
	{ "info", "info [SNAP]", "metadata of a snapshot", 0, 1, { A_SNAP }, 0,
	  cmd_info },
	{ "leaks", "leaks [SNAP] [FILTER OPTIONS]",
	  "leak report: the live blocks (at exit: never freed) by traceback, "
	  "biggest first", 0, 1, { A_SNAP }, MS_OPTS_FILTER, cmd_leaks },
	{ "export", "export SNAP FILE --format json|pprof|collapsed|svg",
	  "write a snapshot as JSON, pprof, collapsed stacks or an SVG flame "
	  "graph", 2, 2, { A_SNAP, A_FILE },
	  MS_OPTS_FORMAT | MS_OPTS_FILTER | MS_OPTS_STATS, cmd_export },
	{ "help", "help [COMMAND]", "this text, or one command's", 0, 1,
	  { A_CMD }, 0, cmd_help },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const command *find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	/* the short name tracemalloc users type */
	if (strcmp(name, "stats") == 0)
		return find_command("statistics");
	return NULL;
}

/* ------------------------------------------------------------ tokenizer */

typedef struct tokens {
	char **v;
	size_t *start;   /* offset of each token in the line */
	size_t n, cap, start_cap;
	bool open_end;   /* the line ends inside the last token */
} tokens;

static void tokens_destroy(tokens *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i]);
	free(t->v);
	free(t->start);
	memset(t, 0, sizeof(*t));
}

/* Shell-like words: blanks separate, '...' and "..." quote, backslash
 * escapes outside single quotes. An unterminated quote is an error unless
 * partial (completion). */
static int tokenize(const char *line, tokens *t, bool partial, ms_error *err)
{
	size_t i = 0, len = strlen(line);
	char *buf = malloc(len + 1);

	memset(t, 0, sizeof(*t));
	if (!buf)
		return ms__nomem(err, "reading the command line");
	while (i < len) {
		size_t o = 0, begin;
		char quote = 0;

		while (i < len && (line[i] == ' ' || line[i] == '\t' ||
				   line[i] == '\n' || line[i] == '\r'))
			i++;
		if (i >= len)
			break;
		begin = i;
		for (; i < len; i++) {
			char c = line[i];

			if (quote) {
				if (c == quote)
					quote = 0;
				else if (c == '\\' && quote == '"' &&
					 i + 1 < len &&
					 (line[i + 1] == '"' ||
					  line[i + 1] == '\\'))
					buf[o++] = line[++i];
				else
					buf[o++] = c;
				continue;
			}
			if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
				break;
			if (c == '\'' || c == '"')
				quote = c;
			else if (c == '\\' && i + 1 < len)
				buf[o++] = line[++i];
			else
				buf[o++] = c;
		}
		if (quote && !partial) {
			free(buf);
			tokens_destroy(t);
			return ms__fail(err, MS_EINVAL,
					"unterminated quote (%c) in the command "
					"line", quote);
		}
		if (ms__grow((void **)&t->v, &t->cap, t->n + 1,
			     sizeof(*t->v)) < 0 ||
		    ms__grow((void **)&t->start, &t->start_cap, t->n + 1,
			     sizeof(*t->start)) < 0)
			goto nomem;
		t->v[t->n] = strndup(buf, o);
		if (!t->v[t->n])
			goto nomem;
		t->start[t->n++] = begin;
		t->open_end = i >= len;
	}
	free(buf);
	return 0;
nomem:
	free(buf);
	tokens_destroy(t);
	return ms__nomem(err, "reading the command line");
}

/* -------------------------------------------------------------- session */

ms_session *ms_session_new(ms_error *err)
{
	ms_session *s = calloc(1, sizeof(*s));

	if (!s) {
		ms__nomem(err, "creating a session");
		return NULL;
	}
	s->next_number = 1;
	s->default_limit = 10;
	return s;
}

void ms_session_free(ms_session *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->count; i++) {
		free(s->entries[i].name);
		free(s->entries[i].origin);
		ms_snapshot_free(s->entries[i].snap);
	}
	free(s->entries);
	free(s);
}

void ms_session_set_take(ms_session *s, ms_take_fn fn, void *arg)
{
	s->take = fn;
	s->take_arg = arg;
}

void ms_session_set_default_limit(ms_session *s, size_t limit)
{
	s->default_limit = limit;
}

void ms_session_set_progress(ms_session *s, const ms_progress *p)
{
	s->progress = p ? *p : (ms_progress){ NULL, NULL };
}

size_t ms_session_count(const ms_session *s)
{
	return s->count;
}

static int check_name(const ms_session *s, const char *name, ms_error *err)
{
	if (!*name || (name[0] >= '0' && name[0] <= '9') || name[0] == '#' ||
	    name[0] == '-' || strpbrk(name, " \t\n\r"))
		return ms__fail(err, MS_EINVAL,
				"bad snapshot name '%s' (it must not be empty, "
				"start with a digit, '#' or '-', or hold "
				"blanks)", name);
	for (size_t i = 0; i < s->count; i++)
		if (s->entries[i].name && strcmp(s->entries[i].name, name) == 0)
			return ms__fail(err, MS_EEXIST,
					"a snapshot named '%s' already exists "
					"(#%u)", name, s->entries[i].number);
	return 0;
}

int ms_session_add(ms_session *s, ms_snapshot *snap, const char *name,
		   const char *origin, ms_error *err)
{
	entry e = { 0 };
	int rc;

	if (name && (rc = check_name(s, name, err)) < 0) {
		ms_snapshot_free(snap);
		return rc;
	}
	if (ms__grow((void **)&s->entries, &s->cap, s->count + 1,
		     sizeof(*s->entries)) < 0)
		goto nomem;
	e.name = name ? strdup(name) : NULL;
	e.origin = strdup(origin ? origin : "");
	if ((name && !e.name) || !e.origin) {
		free(e.name);
		free(e.origin);
		goto nomem;
	}
	e.number = s->next_number++;
	e.snap = snap;
	s->entries[s->count++] = e;
	return (int)e.number;
nomem:
	ms_snapshot_free(snap);
	return ms__nomem(err, "adding a snapshot");
}

static entry *find_entry(const ms_session *s, const char *ref, ms_error *err)
{
	if (!s->count) {
		ms__fail(err, MS_ENOTFOUND,
			 "no snapshot yet: take or load one first");
		return NULL;
	}
	if (!ref)
		return &s->entries[s->count - 1];
	if (ref[0] == '#' || (ref[0] >= '0' && ref[0] <= '9')) {
		const char *digits = ref + (ref[0] == '#');
		char *end;
		unsigned long n;

		if (!(digits[0] >= '0' && digits[0] <= '9'))
			goto unknown;
		n = strtoul(digits, &end, 10);
		if (*end)
			goto unknown;
		for (size_t i = 0; i < s->count; i++)
			if (s->entries[i].number == n)
				return &s->entries[i];
		goto unknown;
	}
	for (size_t i = 0; i < s->count; i++)
		if (s->entries[i].name && strcmp(s->entries[i].name, ref) == 0)
			return &s->entries[i];
unknown:
	ms__fail(err, MS_ENOTFOUND,
		 "unknown snapshot '%s' ('list' shows the snapshots)", ref);
	return NULL;
}

const ms_snapshot *ms_session_find(const ms_session *s, const char *ref,
				   ms_error *err)
{
	entry *e = find_entry(s, ref, err);

	return e ? e->snap : NULL;
}

static void label(char *buf, size_t len, const entry *e)
{
	if (e->name)
		snprintf(buf, len, "#%u (%s)", e->number, e->name);
	else
		snprintf(buf, len, "#%u", e->number);
}

static void summary(char *buf, size_t len, const ms_snapshot *snap)
{
	uint64_t size, count;
	char sz[32];

	ms_snapshot_totals(snap, &size, &count);
	ms_format_size(sz, sizeof(sz), (int64_t)size, false);
	snprintf(buf, len, "%zu traces, %s", ms_snapshot_ntraces(snap), sz);
}

static int fail_code(ms_error *err)
{
	return err && err->code ? -err->code : -MS_EINVAL;
}

/* ------------------------------------------------------------- commands */

static entry *take_live(ms_session *s, const char *name, ms_output *out,
			ms_error *err)
{
	ms_snapshot *snap;
	char lab[300], sum[96];
	int n;

	if (name && check_name(s, name, err) < 0)
		return NULL;
	if (!s->take) {
		ms__fail(err, MS_EINVAL,
			 "take: no live target in this session (offline): "
			 "load a snapshot file instead");
		return NULL;
	}
	snap = s->take(s->take_arg, err);
	if (!snap) {
		if (err && !err->code)
			ms__fail(err, MS_EIO, "take: the snapshot failed");
		return NULL;
	}
	n = ms_session_add(s, snap, name, "live", err);
	if (n < 0)
		return NULL;
	label(lab, sizeof(lab), &s->entries[s->count - 1]);
	summary(sum, sizeof(sum), snap);
	ms_output_printf(out, "Took snapshot %s: %s\n", lab, sum);
	return &s->entries[s->count - 1];
}

static int cmd_take(ms_session *s, char **pos, size_t npos,
		    const ms_report_options *o, ms_output *out, ms_error *err)
{
	return take_live(s, npos ? pos[0] : NULL, out, err) ? 0
							     : fail_code(err);
}

static int cmd_list(ms_session *s, char **pos, size_t npos,
		    const ms_report_options *o, ms_output *out, ms_error *err)
{
	if (!s->count)
		ms_output_printf(out, "No snapshots.\n");
	for (size_t i = 0; i < s->count; i++) {
		const entry *e = &s->entries[i];
		char num[16], sum[96];

		snprintf(num, sizeof(num), "#%u", e->number);
		summary(sum, sizeof(sum), e->snap);
		ms_output_printf(out, "%-4s %-12s %s (%s)\n", num,
				 e->name ? e->name : "-", sum, e->origin);
	}
	return 0;
}

static int cmd_statistics(ms_session *s, char **pos, size_t npos,
			  const ms_report_options *o, ms_output *out,
			  ms_error *err)
{
	entry *e = find_entry(s, npos ? pos[0] : NULL, err);

	if (!e)
		return fail_code(err);
	return ms_report_statistics(out, e->snap, o, err);
}

static int cmd_compare(ms_session *s, char **pos, size_t npos,
		       const ms_report_options *o, ms_output *out,
		       ms_error *err)
{
	entry *old_e = find_entry(s, pos[0], err), *new_e;
	unsigned old_number;

	if (!old_e)
		return fail_code(err);
	old_number = old_e->number;
	if (npos > 1)
		new_e = find_entry(s, pos[1], err);
	else if (s->take)
		new_e = take_live(s, NULL, out, err);
	else
		new_e = find_entry(s, NULL, err);
	if (!new_e)
		return fail_code(err);
	/* taking may have moved the entries */
	old_e = NULL;
	for (size_t i = 0; i < s->count; i++)
		if (s->entries[i].number == old_number)
			old_e = &s->entries[i];
	if (!old_e)
		return ms__fail(err, MS_ENOTFOUND, "snapshot #%u is gone",
				old_number);
	return ms_report_compare(out, old_e->snap, new_e->snap, o, err);
}

static int cmd_filter(ms_session *s, char **pos, size_t npos,
		      const ms_report_options *o, ms_output *out, ms_error *err)
{
	entry *e = find_entry(s, pos[0], err);
	ms_snapshot *res = NULL;
	char lab[300], from[300], origin[320];
	size_t before;
	int rc;

	if (!e)
		return fail_code(err);
	if (o->name && (rc = check_name(s, o->name, err)) < 0)
		return rc;
	rc = ms_report_apply_filters(e->snap, o, &res, err);
	if (rc < 0)
		return rc;
	/* no filter: a copy, so that the new number is a snapshot of its own */
	if (!res && !(res = ms_snapshot_filter(e->snap, NULL, 0, err)))
		return fail_code(err);
	before = ms_snapshot_ntraces(e->snap);
	label(from, sizeof(from), e);
	snprintf(origin, sizeof(origin), "filter of #%u", e->number);
	rc = ms_session_add(s, res, o->name, origin, err);
	if (rc < 0)
		return rc;
	label(lab, sizeof(lab), &s->entries[s->count - 1]);
	ms_output_printf(out, "Filtered %s into %s: %zu of %zu traces kept\n",
			 from, lab, ms_snapshot_ntraces(res), before);
	return 0;
}

/* dump SNAP FILE (export NULL) and export SNAP FILE --format F. */
static int write_file(ms_session *s, char **pos,
		      const ms_report_options *export, ms_output *out,
		      ms_error *err)
{
	entry *e = find_entry(s, pos[0], err);
	char lab[300];
	int rc;

	if (!e)
		return fail_code(err);
	if (export)
		rc = ms_export_file(e->snap, pos[1], export, &s->progress, err);
	else
		rc = ms_snapshot_dump_progress(e->snap, pos[1], &s->progress,
					       err);
	if (rc < 0)
		return rc;
	label(lab, sizeof(lab), e);
	ms_output_printf(out, "Wrote %s to %s\n", lab, pos[1]);
	return 0;
}

static int cmd_dump(ms_session *s, char **pos, size_t npos,
		    const ms_report_options *o, ms_output *out, ms_error *err)
{
	return write_file(s, pos, NULL, out, err);
}

bool ms_path_is_temp(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t len;

	base = base ? base + 1 : path;
	len = strlen(base);
	/* "." NAME "." 12 hex ".tmp", NAME not empty */
	if (base[0] != '.' || len < 1 + 1 + 1 + 12 + 4 ||
	    strcmp(base + len - 4, ".tmp") != 0 || base[len - 17] != '.')
		return false;
	for (size_t i = len - 16; i < len - 4; i++)
		if (!strchr("0123456789abcdef", base[i]) || !base[i])
			return false;
	return true;
}

int ms_check_not_temp(const char *path, ms_error *err)
{
	const char *base = strrchr(path, '/');
	size_t len;

	if (!ms_path_is_temp(path))
		return 0;
	base = base ? base + 1 : path;
	len = strlen(base);
	return ms__fail(err, MS_EINVAL, "%s is the temporary file of a "
			"snapshot write that never finished (memsnap was "
			"killed or the machine stopped before renaming it to "
			"%.*s): load %.*s or an older snapshot instead", path,
			(int)(len - 18), base + 1, (int)(len - 18), base + 1);
}

static int cmd_load(ms_session *s, char **pos, size_t npos,
		    const ms_report_options *o, ms_output *out, ms_error *err)
{
	const char *name = npos > 1 ? pos[1] : NULL;
	ms_snapshot *snap;
	char lab[300], sum[96];
	int rc;

	if (name && (rc = check_name(s, name, err)) < 0)
		return rc;
	if ((rc = ms_check_not_temp(pos[0], err)) < 0)
		return rc;
	snap = ms_snapshot_load_progress(pos[0], &s->progress, err);
	if (!snap)
		return fail_code(err);
	rc = ms_session_add(s, snap, name, pos[0], err);
	if (rc < 0)
		return rc;
	label(lab, sizeof(lab), &s->entries[s->count - 1]);
	summary(sum, sizeof(sum), snap);
	ms_output_printf(out, "Loaded %s as %s: %s\n", pos[0], lab, sum);
	return 0;
}

static int cmd_block(ms_session *s, char **pos, size_t npos,
		     const ms_report_options *o, ms_output *out, ms_error *err)
{
	uint64_t addr;
	entry *e;
	char lab[300];

	if (ms_parse_u64(pos[0], "ADDR", &addr, err) < 0)
		return -MS_EINVAL;
	e = find_entry(s, npos > 1 ? pos[1] : NULL, err);
	if (!e)
		return fail_code(err);
	label(lab, sizeof(lab), e);
	return ms_report_block(out, e->snap, lab, addr, err);
}

static int cmd_info(ms_session *s, char **pos, size_t npos,
		    const ms_report_options *o, ms_output *out, ms_error *err)
{
	entry *e = find_entry(s, npos ? pos[0] : NULL, err);
	char lab[300], full[700];

	if (!e)
		return fail_code(err);
	label(lab, sizeof(lab), e);
	snprintf(full, sizeof(full), "%s from %s", lab, e->origin);
	return ms_report_info(out, e->snap, full, err);
}

static int cmd_leaks(ms_session *s, char **pos, size_t npos,
		     const ms_report_options *o, ms_output *out, ms_error *err)
{
	entry *e = find_entry(s, npos ? pos[0] : NULL, err);

	if (!e)
		return fail_code(err);
	return ms_report_leaks(out, e->snap, o, err);
}

static int cmd_export(ms_session *s, char **pos, size_t npos,
		      const ms_report_options *o, ms_output *out, ms_error *err)
{
	return write_file(s, pos, o, out, err);
}

static const char options_help[] =
	"Statistics options:\n"
	"  --group-by filename|lineno|traceback|function|module (default "
	"lineno)\n"
	"  --cumulative          count every frame of a traceback, not only "
	"the most recent\n"
	"  --limit N             show the N biggest entries (0 = all)\n"
	"  --traceback           print the traceback of each entry, oldest "
	"frame first\n"
	"Filter options:\n"
	"  --include PATTERN[:LINE]  keep traces allocated in a matching file "
	"(fnmatch)\n"
	"  --exclude PATTERN[:LINE]  drop traces allocated in a matching file\n"
	"  --all-frames          match patterns against every frame, not "
	"only the most recent\n"
	"  --domain N            keep traces of domain N (0 malloc, 1 mmap, "
	"2+ custom)\n";

int ms_session_help(ms_output *out, const char *cmd, ms_error *err)
{
	const command *c = cmd ? find_command(cmd) : NULL;

	if (cmd && !c)
		return ms__fail(err, MS_EINVAL,
				"help: unknown command '%s' ('help' lists them)",
				cmd);
	if (c) {
		ms_output_printf(out, "snapshot %s\n  %s\n", c->usage,
				 c->summary);
		if (c->options & (MS_OPTS_STATS | MS_OPTS_FILTER))
			ms_output_printf(out, "%s", options_help);
		return 0;
	}
	ms_output_printf(out, "Commands (the \"snapshot\" prefix is "
			      "optional):\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		ms_output_printf(out, "  %-50s %s\n", commands[i].usage,
				 commands[i].summary);
	ms_output_printf(out, "SNAP is #N, N or a name; the default is the "
			      "newest snapshot.\n%s",
			 options_help);
	return 0;
}

static int cmd_help(ms_session *s, char **pos, size_t npos,
		    const ms_report_options *o, ms_output *out, ms_error *err)
{
	return ms_session_help(out, npos ? pos[0] : NULL, err);
}

/* ------------------------------------------------------------------ exec */

int ms_session_exec(ms_session *s, const char *line, ms_output *out,
		    ms_error *err)
{
	tokens t;
	size_t first = 0, npos = 0;
	char **pos = NULL;
	const command *c;
	ms_report_options o;
	bool options_done = false;
	int rc;

	ms_error_clear(err);
	rc = tokenize(line, &t, false, err);
	if (rc < 0)
		return rc;
	if (t.n && strcmp(t.v[0], "snapshot") == 0)
		first = 1;
	if (first >= t.n || t.v[first][0] == '#' ) {
		if (first < t.n || !first) {
			tokens_destroy(&t);
			return 0;
		}
		tokens_destroy(&t);
		return ms__fail(err, MS_EINVAL,
				"snapshot: a command is needed ('help' lists "
				"them)");
	}
	c = find_command(t.v[first]);
	if (!c) {
		rc = ms__fail(err, MS_EINVAL,
			      "unknown command '%s' ('help' lists them)",
			      t.v[first]);
		tokens_destroy(&t);
		return rc;
	}
	ms_report_options_init(&o, s->default_limit);
	pos = ms__calloc_array(t.n, sizeof(*pos));
	if (!pos) {
		rc = ms__nomem(err, "reading the command line");
		goto out;
	}
	for (size_t i = first + 1; i < t.n; i++) {
		char *a = t.v[i], *eq, *value = NULL;
		ms_option_arg kind;

		if (options_done || a[0] != '-' || !a[1] ||
		    (a[1] >= '0' && a[1] <= '9')) {
			if (npos >= c->max_pos) {
				rc = ms__fail(err, MS_EINVAL,
					      "%s: unexpected argument '%s' "
					      "(usage: %s)", c->name, a,
					      c->usage);
				goto out;
			}
			pos[npos++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			options_done = true;
			continue;
		}
		if (a[1] != '-') {
			rc = ms__fail(err, MS_EINVAL,
				      "%s: unknown option '%s' (usage: %s)",
				      c->name, a, c->usage);
			goto out;
		}
		eq = strchr(a, '=');
		if (eq) {
			*eq = '\0';
			value = eq + 1;
		}
		kind = ms_report_option_kind(a + 2);
		if (kind == MS_OPT_UNKNOWN ||
		    !(ms_report_option_group(a + 2) & c->options)) {
			rc = ms__fail(err, MS_EINVAL,
				      "%s: unknown option '%s' (usage: %s)",
				      c->name, a, c->usage);
			goto out;
		}
		if (kind == MS_OPT_VALUE && !value) {
			if (i + 1 >= t.n) {
				rc = ms__fail(err, MS_EINVAL,
					      "%s: option '%s' needs a value",
					      c->name, a);
				goto out;
			}
			value = t.v[++i];
		}
		rc = ms_report_option_set(&o, a + 2, value, err);
		if (rc < 0)
			goto out;
	}
	if (npos < c->min_pos) {
		rc = ms__fail(err, MS_EINVAL, "%s: missing argument (usage: %s)",
			      c->name, c->usage);
		goto out;
	}
	if (o.traceback && !o.group_by_set)
		o.group_by = MS_GROUP_TRACEBACK;
	rc = c->fn(s, pos, npos, &o, out, err);
	if (rc == 0 && out->error)
		rc = ms__fail(err, -out->error, "writing the output failed: %s",
			      ms_strerror(-out->error));
out:
	free(pos);
	ms_report_options_destroy(&o);
	tokens_destroy(&t);
	return rc;
}

/* ------------------------------------------------------------ completion */

static int add_word(ms_completion *c, size_t *cap, const char *prefix,
		    const char *w, const char *suffix)
{
	size_t pl = strlen(prefix);
	char *dup;

	if (strncmp(w, prefix, pl) != 0)
		return 0;
	if (ms__grow((void **)&c->words, cap, c->count + 1,
		     sizeof(*c->words)) < 0)
		return -MS_ENOMEM;
	dup = malloc(strlen(w) + strlen(suffix) + 1);
	if (!dup)
		return -MS_ENOMEM;
	strcpy(dup, w);
	strcat(dup, suffix);
	c->words[c->count++] = dup;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void ms_completion_destroy(ms_completion *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->count; i++)
		free(c->words[i]);
	free(c->words);
	memset(c, 0, sizeof(*c));
}

static int complete_words(const ms_session *s, const tokens *t, size_t cur,
			  const char *prefix, ms_completion *c, size_t *cap)
{
	size_t first = t->n && cur > 0 && strcmp(t->v[0], "snapshot") == 0;
	const command *cmd;
	arg_kind want = A_NONE;
	size_t npos = 0;
	char num[24];
	int rc = 0;

	if (cur == first) {
		for (size_t i = 0; i < NCOMMANDS && rc == 0; i++)
			rc = add_word(c, cap, prefix, commands[i].name, "");
		if (!first && rc == 0)
			rc = add_word(c, cap, prefix, "snapshot", "");
		return rc;
	}
	cmd = find_command(t->v[first]);
	if (!cmd)
		return 0;
	if (prefix[0] == '-') {
		const char *const *names = ms_report_option_names();

		for (size_t i = 0; names[i] && rc == 0; i++) {
			char opt[64];

			if (!(ms_report_option_group(names[i]) & cmd->options))
				continue;
			snprintf(opt, sizeof(opt), "--%s", names[i]);
			rc = add_word(c, cap, prefix, opt, "");
		}
		return rc;
	}
	/* the value of an option, or the next positional argument */
	for (size_t i = first + 1; i < cur; i++) {
		const char *a = t->v[i];

		if (a[0] == '-' && a[1] == '-' && !strchr(a, '=') &&
		    ms_report_option_kind(a + 2) == MS_OPT_VALUE) {
			if (i + 1 == cur) {
				if (strcmp(a, "--group-by") == 0) {
					for (int g = 0; g <= MS_GROUP_MODULE &&
							rc == 0; g++)
						rc = add_word(c, cap, prefix,
							      ms_group_by_name(
								(ms_group_by)g),
							      "");
				} else if (strcmp(a, "--format") == 0) {
					static const char *const f[] = {
						"collapsed", "json", "pprof",
						"svg"
					};
					for (int k = 0; k < 4 && rc == 0; k++)
						rc = add_word(c, cap, prefix,
							      f[k], "");
				}
				return rc;
			}
			i++;
			continue;
		}
		if (a[0] != '-')
			npos++;
	}
	if (npos < cmd->max_pos)
		want = cmd->pos[npos];
	switch (want) {
	case A_SNAP:
		for (size_t i = 0; i < s->count && rc == 0; i++) {
			snprintf(num, sizeof(num), "#%u", s->entries[i].number);
			rc = add_word(c, cap, prefix, num, "");
			if (rc == 0 && s->entries[i].name)
				rc = add_word(c, cap, prefix,
					      s->entries[i].name, "");
		}
		break;
	case A_CMD:
		for (size_t i = 0; i < NCOMMANDS && rc == 0; i++)
			rc = add_word(c, cap, prefix, commands[i].name, "");
		break;
	case A_FILE:
		c->filenames = true;
		break;
	default:
		break;
	}
	return rc;
}

int ms_session_complete(const ms_session *s, const char *line,
			ms_completion *c, ms_error *err)
{
	size_t len = strlen(line), cap = 0, cur;
	bool in_word;
	tokens t;
	int rc;

	memset(c, 0, sizeof(*c));
	rc = tokenize(line, &t, true, err);
	if (rc < 0)
		return rc;
	in_word = t.n && t.open_end && len &&
		  !strchr(" \t\n\r", line[len - 1]);
	cur = in_word ? t.n - 1 : t.n;
	c->start = in_word ? t.start[cur] : len;
	rc = complete_words(s, &t, cur, in_word ? t.v[cur] : "", c, &cap);
	tokens_destroy(&t);
	if (rc < 0) {
		ms_completion_destroy(c);
		return ms__nomem(err, "completing");
	}
	if (c->count)
		qsort(c->words, c->count, sizeof(*c->words), cmp_str);
	return 0;
}
