/* offline.c - `memsnap stats|compare|filter|show|info|block|leaks|export|
 * shell`: the offline subcommands, on snapshot files. Parsing is
 * getopt_long over the shared option names; every report comes from the
 * shared command layer. */
#include "config.h"
#include "offline.h"
#include "command.h"
#include "progress.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define usage_error ms_cli_usage_error

/* Options of a subcommand: the session's option groups, and -o. */
enum {
	A_STATS = MS_OPTS_STATS,
	A_FILTER = MS_OPTS_FILTER,
	A_FORMAT = MS_OPTS_FORMAT,
	A_OUTPUT = 1 << 8,
};

typedef struct parsed parsed;
/* A subcommand's work on its arguments: an MS_EXIT_* status. */
typedef int run_fn(parsed *p, ms_output *out, ms_error *err);
/* The work of a subcommand on one loaded snapshot: 0 or a negative
 * ms_errcode. */
typedef int on_snapshot_fn(parsed *p, ms_output *out, const ms_snapshot *s,
			   ms_error *err);

static run_fn run_stats, run_compare, run_filter, run_block, run_export,
	run_shell;
static on_snapshot_fn show, info_of, leaks_of;

typedef struct subcommand {
	const char *name;
	const char *usage;
	int min_files, max_files; /* positional arguments; -1 = no limit */
	unsigned options;
	/* run, or else on_snapshot on the loaded first file */
	run_fn *run;
	on_snapshot_fn *on_snapshot;
} subcommand;

static const subcommand subcommands[] = {
	{ "stats", "stats FILE... [OPTIONS]", 1, -1, A_STATS | A_FILTER,
	  run_stats, NULL },
	{ "compare", "compare OLD NEW [OPTIONS]", 2, 2, A_STATS | A_FILTER,
	  run_compare, NULL },
	{ "filter", "filter FILE -o OUT [FILTER OPTIONS]", 1, 1,
	  A_FILTER | A_OUTPUT, run_filter, NULL },
	{ "show", "show FILE [--traceback] [OPTIONS]", 1, 1,
	  A_STATS | A_FILTER, NULL, show },
	{ "info", "info FILE", 1, 1, 0, NULL, info_of },
	{ "block", "block FILE ADDR", 2, 2, 0, run_block, NULL },
	{ "leaks", "leaks FILE [FILTER OPTIONS]", 1, 1, A_FILTER, NULL,
	  leaks_of },
	{ "export", "export FILE --format json|pprof|collapsed|svg [-o OUT] "
		    "[OPTIONS]",
	  1, 1, A_STATS | A_FILTER | A_OUTPUT | A_FORMAT, run_export, NULL },
	{ "shell", "shell [FILE...] (commands from stdin; 'help' lists them)",
	  0, -1, 0, run_shell, NULL },
};
#define NSUB (sizeof(subcommands) / sizeof(subcommands[0]))

static const subcommand *find_sub(const char *name)
{
	for (size_t i = 0; name && i < NSUB; i++)
		if (strcmp(subcommands[i].name, name) == 0)
			return &subcommands[i];
	return NULL;
}

bool ms_cli_offline_is_command(const char *name)
{
	return find_sub(name) != NULL;
}

void ms_cli_offline_usage(FILE *f)
{
	fprintf(f, "Offline commands (on snapshot files):\n");
	for (size_t i = 0; i < NSUB; i++)
		fprintf(f, "  memsnap %s\n", subcommands[i].usage);
	fprintf(f,
		"Options:\n"
		"  --group-by filename|lineno|traceback|function|module "
		"(default lineno)\n"
		"  --cumulative, --limit N (0 = all; default 10 on a terminal, "
		"else all)\n"
		"  --traceback (show: each entry's traceback, grouping by "
		"traceback)\n"
		"  --bytes (sizes as exact byte counts, for scripts)\n"
		"  --include PATTERN[:LINE], --exclude PATTERN[:LINE], "
		"--all-frames, --domain N\n"
		"  -o OUT, --output OUT (filter, export; export defaults to "
		"stdout)\n"
		"  stats with several files reports on each in turn, headed "
		"\"==> FILE <==\".\n"
		"Exit status: 0 success, 1 run-time error (missing or corrupt "
		"file, no such block), 2 usage error (unknown command or "
		"option, bad value).\n");
}

int ms_cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("memsnap: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return MS_EXIT_USAGE;
}

/* An engine error: usage when it came from a bad value. */
static int engine_error(const ms_error *err, bool usage)
{
	fprintf(stderr, "memsnap: %s\n", err->message);
	return usage ? MS_EXIT_USAGE : MS_EXIT_RUNTIME;
}

struct parsed {
	ms_report_options o;
	char **files;
	int nfiles;
	const char *output;
	/* set while running */
	int current;                 /* stats: the file being reported on */
	const ms_snapshot *old_snap; /* compare */
	uint64_t addr;               /* block */
};

static int parse(const subcommand *sc, int argc, char **argv, parsed *p)
{
	const char *const *names = ms_report_option_names();
	struct option longopts[32];
	size_t n = 0;
	ms_error err;
	int c, idx;

	for (size_t i = 0; names[i] && n < 28; i++) {
		ms_option_arg kind = ms_report_option_kind(names[i]);

		longopts[n++] = (struct option){
			names[i], kind == MS_OPT_VALUE ? required_argument
						       : no_argument,
			NULL, 1000 + (int)i
		};
	}
	longopts[n++] = (struct option){ "output", required_argument, NULL, 'o' };
	longopts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	longopts[n] = (struct option){ 0 };

	ms_report_options_init(&p->o, isatty(STDOUT_FILENO) ? 10 : 0);
	opterr = 0;
	optind = 0; /* glibc: restart scanning from argv[1] */
	while ((c = getopt_long(argc, argv, ":o:h", longopts, &idx)) != -1) {
		const char *opt = argv[optind - 1];

		if (c == '?') {
			if (optopt)
				return usage_error("%s: unknown option '-%c'",
						   sc->name, optopt);
			return usage_error("%s: unknown option '%s'", sc->name,
					   opt);
		}
		if (c == ':')
			return usage_error("%s: option '%s' needs a value",
					   sc->name, opt);
		if (c == 'h') {
			printf("usage: memsnap %s\n", sc->usage);
			return -1;
		}
		if (c == 'o') {
			if (!(sc->options & A_OUTPUT))
				return usage_error("%s: option '-o' does not "
						   "apply", sc->name);
			p->output = optarg;
			continue;
		}
		{
			const char *name = names[c - 1000];

			/* --name is the session's, never the CLI's */
			if (!(ms_report_option_group(name) & sc->options))
				return usage_error("%s: option '--%s' does "
						   "not apply", sc->name, name);
			if (ms_report_option_set(&p->o, name, optarg, &err) < 0)
				return engine_error(&err, true);
		}
	}
	p->files = argv + optind;
	p->nfiles = argc - optind;
	if (p->nfiles < sc->min_files)
		return usage_error("%s: missing argument (usage: memsnap %s)",
				   sc->name, sc->usage);
	if (sc->max_files >= 0 && p->nfiles > sc->max_files)
		return usage_error("%s: unexpected argument '%s' (usage: "
				   "memsnap %s)", sc->name,
				   p->files[sc->max_files], sc->usage);
	if (p->o.traceback && !p->o.group_by_set)
		p->o.group_by = MS_GROUP_TRACEBACK;
	return 0;
}

static ms_snapshot *load(const char *path, ms_error *err)
{
	ms_snapshot *s;

	if (ms_check_not_temp(path, err) < 0)
		return NULL;
	progress_begin("loading %s", path);
	s = ms_snapshot_load_progress(path, progress_engine(), err);
	progress_end();
	return s;
}

static void init_stdout(ms_output *out)
{
	bool tty = isatty(STDOUT_FILENO);

	ms_output_init_file(out, stdout);
	out->tty = tty;
	out->color = ms_color_wanted(tty);
}

/* Loads path, runs fn on it, frees it: an MS_EXIT_* status. */
static int on_file(parsed *p, ms_output *out, const char *path,
		   on_snapshot_fn *fn, ms_error *err)
{
	ms_snapshot *s = load(path, err);
	int rc;

	if (!s)
		return engine_error(err, false);
	rc = fn(p, out, s, err);
	ms_snapshot_free(s);
	/* --cumulative with a grouping that refuses it is the user's */
	return rc < 0 ? engine_error(err, rc == -MS_ECUMULATIVE) : MS_EXIT_OK;
}

static int stats_of(parsed *p, ms_output *out, const ms_snapshot *s,
		    ms_error *err)
{
	if (p->nfiles > 1)
		ms_output_printf(out, "%s==> %s <==\n", p->current ? "\n" : "",
				 p->files[p->current]);
	return ms_report_statistics(out, s, &p->o, err);
}

static int run_stats(parsed *p, ms_output *out, ms_error *err)
{
	for (p->current = 0; p->current < p->nfiles; p->current++) {
		int rc = on_file(p, out, p->files[p->current], stats_of, err);

		if (rc != MS_EXIT_OK)
			return rc;
	}
	return MS_EXIT_OK;
}

static int compare_with(parsed *p, ms_output *out, const ms_snapshot *new_snap,
			ms_error *err)
{
	return ms_report_compare(out, p->old_snap, new_snap, &p->o, err);
}

static int run_compare(parsed *p, ms_output *out, ms_error *err)
{
	ms_snapshot *old_snap = load(p->files[0], err);
	int rc;

	if (!old_snap)
		return engine_error(err, false);
	p->old_snap = old_snap;
	rc = on_file(p, out, p->files[1], compare_with, err);
	ms_snapshot_free(old_snap);
	return rc;
}

static int filter_to_file(parsed *p, ms_output *out, const ms_snapshot *s,
			  ms_error *err)
{
	ms_snapshot *res = NULL;
	int rc;

	rc = ms_report_apply_filters(s, &p->o, &res, err);
	if (rc == 0 && !res && !(res = ms_snapshot_filter(s, NULL, 0, err)))
		rc = -1;
	if (rc == 0) {
		progress_begin("writing %s", p->output);
		rc = ms_snapshot_dump_progress(res, p->output,
					       progress_engine(), err);
		progress_end();
	}
	if (rc == 0)
		ms_output_printf(out, "Wrote %s: %zu of %zu traces kept\n",
				 p->output, ms_snapshot_ntraces(res),
				 ms_snapshot_ntraces(s));
	ms_snapshot_free(res);
	return rc;
}

static int run_filter(parsed *p, ms_output *out, ms_error *err)
{
	if (!p->output)
		return usage_error("filter: -o OUT is required");
	return on_file(p, out, p->files[0], filter_to_file, err);
}

static int info_of(parsed *p, ms_output *out, const ms_snapshot *s,
		   ms_error *err)
{
	return ms_report_info(out, s, p->files[0], err);
}

static int show(parsed *p, ms_output *out, const ms_snapshot *s,
		ms_error *err)
{
	int rc = ms_report_info(out, s, p->files[0], err);

	if (rc == 0) {
		ms_output_write(out, "\n", 1);
		rc = ms_report_statistics(out, s, &p->o, err);
	}
	return rc;
}

static int block_of(parsed *p, ms_output *out, const ms_snapshot *s,
		    ms_error *err)
{
	return ms_report_block(out, s, p->files[0], p->addr, err);
}

static int run_block(parsed *p, ms_output *out, ms_error *err)
{
	if (ms_parse_u64(p->files[1], "ADDR", &p->addr, err) < 0)
		return engine_error(err, true);
	return on_file(p, out, p->files[0], block_of, err);
}

static int leaks_of(parsed *p, ms_output *out, const ms_snapshot *s,
		    ms_error *err)
{
	return ms_report_leaks(out, s, &p->o, err);
}

static int export(parsed *p, ms_output *out, const ms_snapshot *s,
		  ms_error *err)
{
	ms_snapshot *filtered = NULL;
	int rc;

	if (p->output && strcmp(p->output, "-") != 0) {
		/* written as snapshots are: 0600, atomic, no symlink
		 * followed */
		progress_begin("exporting %s", p->output);
		rc = ms_export_file(s, p->output, &p->o, progress_engine(),
				    err);
		progress_end();
		return rc;
	}
	/* no progress line: the export goes to the terminal itself */
	rc = ms_report_apply_filters(s, &p->o, &filtered, err);
	if (rc == 0)
		rc = ms_export(out, filtered ? filtered : s, p->o.format,
			       &p->o, err);
	ms_snapshot_free(filtered);
	return rc;
}

static int run_export(parsed *p, ms_output *out, ms_error *err)
{
	if (!p->o.format_set)
		return usage_error("export: --format json|pprof|collapsed|svg "
				   "is required");
	return on_file(p, out, p->files[0], export, err);
}

/* The session's command language on files, one command per line from
 * stdin: the files are #1, #2..., "take" fails (no live target). */
static int run_shell(parsed *p, ms_output *out, ms_error *err)
{
	bool prompt = isatty(STDIN_FILENO), failed = false;
	ms_session *s = ms_session_new(err);
	ms_output cmd_out;
	char *line = NULL;
	size_t cap = 0;

	if (!s)
		return engine_error(err, false);
	ms_session_set_default_limit(s, isatty(STDOUT_FILENO) ? 10 : 0);
	ms_session_set_progress(s, progress_engine());
	/* a command's output is gathered, then printed once its progress
	 * line is gone */
	ms_output_init_buffer(&cmd_out);
	cmd_out.tty = out->tty;
	cmd_out.color = out->color;
	for (int i = 0; i < p->nfiles; i++) {
		ms_snapshot *snap = load(p->files[i], err);

		if (!snap || ms_session_add(s, snap, NULL, p->files[i], err) < 0) {
			ms_session_free(s);
			return engine_error(err, false);
		}
	}
	for (;;) {
		char *cmd;
		int rc;

		if (prompt) {
			fputs("memsnap> ", stdout);
			fflush(stdout);
		}
		if (getline(&line, &cap, stdin) < 0)
			break;
		cmd = line + strspn(line, " \t");
		if (strncmp(cmd, "quit", 4) == 0 || strncmp(cmd, "exit", 4) == 0)
			break;
		cmd[strcspn(cmd, "\r\n")] = 0;
		progress_begin("%s", cmd);
		rc = ms_session_exec(s, cmd, &cmd_out, err);
		progress_end();
		ms_output_write(out, cmd_out.buf, cmd_out.len);
		ms_output_reset(&cmd_out);
		if (rc < 0) {
			fflush(stdout);
			fprintf(stderr, "memsnap: %s\n", err->message);
			failed = true;
		}
		out->error = 0;
	}
	free(line);
	ms_output_destroy(&cmd_out);
	ms_session_free(s);
	return failed ? MS_EXIT_RUNTIME : MS_EXIT_OK;
}

int ms_cli_offline(int argc, char **argv)
{
	const subcommand *sc = argc > 0 ? find_sub(argv[0]) : NULL;
	ms_output out;
	ms_error err;
	parsed p = { 0 };
	int rc;

	if (!sc)
		return usage_error("unknown command '%s' (memsnap --help lists "
				   "them)", argc > 0 ? argv[0] : "");
	ms_error_clear(&err);
	rc = parse(sc, argc, argv, &p);
	if (rc != 0) {
		ms_report_options_destroy(&p.o);
		return rc < 0 ? MS_EXIT_OK : rc;
	}
	init_stdout(&out);
	if (sc->run)
		rc = sc->run(&p, &out, &err);
	else
		rc = on_file(&p, &out, p.files[0], sc->on_snapshot, &err);
	ms_report_options_destroy(&p.o);
	if (fflush(stdout) != 0 && rc == MS_EXIT_OK) {
		fprintf(stderr, "memsnap: writing the output failed: %m\n");
		rc = MS_EXIT_RUNTIME;
	}
	return rc;
}
