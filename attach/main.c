/* main.c - the `memsnap` command line. */
#include "config.h"

#include "tracer.h"
#include "offline.h"
#include "session.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_text[] =
	"Usage: memsnap run [OPTIONS] -- PROGRAM [ARGS...]\n"
	"       memsnap attach [OPTIONS] PID\n"
	"       memsnap stats|compare|filter|show|info|block|export|shell ... "
	"(offline, below)\n"
	"       memsnap --version\n"
	"\n"
	"Trace the heap of a native program with ptrace and take snapshots of\n"
	"its live blocks (like Python's tracemalloc). When stdin and stderr are\n"
	"a terminal and none of -c, --script, --every, --duration,\n"
	"--dump-on-exit, --dump-on-crash is given, a prompt takes commands\n"
	"while the program runs (below; 'help' lists them) until quit or its\n"
	"end; -c and --script run commands once the program is traced, then\n"
	"detach unless --every, --duration or a dump option keeps tracing.\n"
	"A snapshot file is also written on SIGUSR1 to memsnap, every --every\n"
	"seconds, and at the target's exit with --dump-on-exit. quit, end of\n"
	"input, SIGINT, SIGTERM or SIGHUP detach and leave the process exactly\n"
	"as it was.\n"
	"\n"
	"Options:\n"
	"  -c, --command CMD       run CMD (repeatable, in order with --script)\n"
	"  -s, --script FILE       run the commands of FILE, one a line\n"
	"                          (- for standard input)\n"
	"  -i, --interactive       the prompt even when stdin is no terminal\n"
	"  -n, --frames N          frames kept per traceback (default 16)\n"
	"  -e, --every SECONDS     take a snapshot every SECONDS\n"
	"  -d, --duration SECONDS  detach after SECONDS\n"
	"  -o, --output PATTERN    SIGUSR1 and --every snapshots go to PATTERN\n"
	"                          with %n the sequence number (0, 1, ...),\n"
	"                          else to PATTERN.N.msnap (default\n"
	"                          memsnap.PID.N.msnap)\n"
	"  -k, --keep N            keep only the newest N of those files\n"
	"  -x, --dump-on-exit FILE snapshot at the target's exit\n"
	"      --dump-on-crash FILE  snapshot when a signal is about to kill\n"
	"                          the target (not caught, not ignored); then\n"
	"                          detach and let it die, so that the kernel\n"
	"                          writes its core as without memsnap\n"
	"      --displaced MODE    auto, outofline or step: how the\n"
	"                          instruction under each breakpoint runs\n"
	"      --return-capture MODE  stub (default): a return stub keeps\n"
	"                          the result for the next stop; trap: an int3\n"
	"                          trampoline stops at every return\n"
	"  -v, --verbose           say what is hooked and how\n"
	"  -h, --help              this text\n"
	"  -V, --version           the version\n"
	"\n"
	"Commands (-c, --script, the prompt; the \"snapshot\" prefix is optional):\n"
	"  take [NAME], list, statistics [SNAP] [OPTIONS], compare OLD [NEW]\n"
	"  [OPTIONS], filter SNAP [OPTIONS] [--name NEW], dump SNAP FILE,\n"
	"  load FILE [NAME], block ADDR [SNAP], info [SNAP], export SNAP FILE\n"
	"  --format F, help [COMMAND], wait SECONDS (keep tracing), quit.\n"
	"  Options as for the offline commands below (--bytes: exact sizes).\n"
	"\n"
	"Exit status: 0 success (`run`: the program's own status when it\n"
	"exits, 128+N when killed by signal N, 127 when it cannot be run),\n"
	"1 run-time error (a command failed; the process is detached as it\n"
	"was), 2 usage error (also an unknown command or bad option inside -c\n"
	"or --script, a missing --script file), 3 no such process or zombie,\n"
	"4 no permission or already traced, 5 unsupported target (not x86-64)\n"
	"or no allocator found.\n";

/* Usage errors exit 2 in the live and the offline commands alike. */
_Static_assert(MS_EXIT_USAGE == EXIT_TRACER_USAGE, "one usage status");
#define usage_error ms_cli_usage_error

static bool parse_seconds(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return !errno && end != s && !*end && *out > 0;
}

/* A whole number from 1 to max for option opt; false after the usage
 * error. */
static bool parse_count(const char *opt, const char *s, unsigned long max,
			unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno || *end || end == s || s[0] == '-' || *out < 1 || *out > max) {
		usage_error("%s: '%s' is not a number from 1 to %lu", opt, s,
			    max);
		return false;
	}
	return true;
}

/* The index of value in names (NULL-terminated); -1 after the usage
 * error. */
static int parse_mode(const char *opt, const char *value,
		      const char *const *names)
{
	for (int i = 0; names[i]; i++)
		if (strcmp(value, names[i]) == 0)
			return i;
	usage_error("%s: unknown mode '%s'", opt, value);
	return -1;
}

/* The commands of -c and --script, in order. */
typedef struct command_list {
	char **v;
	size_t n, cap;
} command_list;

/* Every command is a copy, freed at exit whatever the way out. */
static command_list commands;

static void free_commands(void)
{
	for (size_t i = 0; i < commands.n; i++)
		free(commands.v[i]);
	free(commands.v);
}

static int add_command(command_list *l, const char *text)
{
	char *cmd = strdup(text);

	if (!cmd)
		return -1;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		char **v = realloc(l->v, cap * sizeof(*v));
		if (!v) {
			free(cmd);
			return -1;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = cmd;
	return 0;
}

/* Every line of a --script file is a command ("-": standard input). */
static int read_script(command_list *l, const char *path)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!f)
		return usage_error("--script: cannot open '%s': %s", path,
				   strerror(errno));
	while ((n = getline(&line, &cap, f)) >= 0) {
		line[strcspn(line, "\r\n")] = 0;
		if (add_command(l, line) < 0) {
			free(line);
			if (f != stdin)
				fclose(f);
			return usage_error("%s", "out of memory");
		}
	}
	free(line);
	if (ferror(f)) {
		int e = errno;
		if (f != stdin)
			fclose(f);
		return usage_error("--script: cannot read '%s': %s", path,
				   strerror(e));
	}
	if (f != stdin)
		fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "command", required_argument, NULL, 'c' },
		{ "script", required_argument, NULL, 's' },
		{ "interactive", no_argument, NULL, 'i' },
		{ "keep", required_argument, NULL, 'k' },
		{ "version", no_argument, NULL, 'V' },
		{ "frames", required_argument, NULL, 'n' },
		{ "every", required_argument, NULL, 'e' },
		{ "duration", required_argument, NULL, 'd' },
		{ "output", required_argument, NULL, 'o' },
		{ "dump-on-exit", required_argument, NULL, 'x' },
		{ "dump-on-crash", required_argument, NULL, 'C' },
		{ "displaced", required_argument, NULL, 'D' },
		{ "return-capture", required_argument, NULL, 'R' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	tracer_options o = { .frames = 16, .return_stubs = true };
	bool force_prompt = false;
	const char *cmd;
	unsigned long n;
	ms_error err;
	int c, rc;

	if (argc < 2)
		return usage_error("%s", "no command given (memsnap --help "
				   "lists them)");
	cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		fputs(usage_text, stdout);
		fputc('\n', stdout);
		ms_cli_offline_usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
		printf("memsnap %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (ms_cli_offline_is_command(cmd))
		return ms_cli_offline(argc - 1, argv + 1);
	if (strcmp(cmd, "run") == 0)
		o.run = true;
	else if (cmd[0] == '-')
		return usage_error("option '%s' needs a target first: memsnap "
				   "attach [OPTIONS] PID, or memsnap run "
				   "[OPTIONS] -- PROGRAM", cmd);
	else if (strcmp(cmd, "attach") != 0)
		return usage_error("unknown command '%s' (memsnap --help lists "
				   "them)", cmd);
	argv++;
	argc--;
	atexit(free_commands);
	opterr = 0;
	/* run: PROGRAM's own options are not ours; attach: PID may come
	 * first (memsnap attach PID -c take) */
	while ((c = getopt_long(argc, argv,
				o.run ? "+:c:s:ik:n:e:d:o:x:vhV"
				      : ":c:s:ik:n:e:d:o:x:vhV",
				longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (add_command(&commands, optarg) < 0)
				return usage_error("%s", "out of memory");
			break;
		case 's':
			if ((rc = read_script(&commands, optarg)) != 0)
				return rc;
			break;
		case 'i':
			force_prompt = true;
			break;
		case 'k':
			if (!parse_count("--keep", optarg, 1000000, &n))
				return EXIT_TRACER_USAGE;
			o.keep = (unsigned)n;
			break;
		case 'V':
			printf("memsnap %s\n", PACKAGE_VERSION);
			return 0;
		case ':':
			return usage_error("%s: option '%s' needs a value",
					   cmd, argv[optind - 1]);
		case '?':
			if (optopt)
				return usage_error("%s: unknown option '-%c'",
						   cmd, optopt);
			return usage_error("%s: unknown option '%s'", cmd,
					   argv[optind - 1]);
		case 'n':
			if (!parse_count("--frames", optarg, MS_MAX_FRAMES, &n))
				return EXIT_TRACER_USAGE;
			o.frames = (uint32_t)n;
			break;
		case 'e':
			if (!parse_seconds(optarg, &o.every))
				return usage_error("--every: bad number of "
						   "seconds '%s'", optarg);
			break;
		case 'd':
			if (!parse_seconds(optarg, &o.duration))
				return usage_error("--duration: bad number "
						   "of seconds '%s'", optarg);
			break;
		case 'o':
			o.output = optarg;
			break;
		case 'x':
			o.dump_on_exit = optarg;
			break;
		case 'C':
			o.dump_on_crash = optarg;
			break;
		case 'D': {
			/* in the order of enum displaced_mode */
			static const char *const modes[] = { "auto", "outofline",
							     "step", NULL };
			int m = parse_mode("--displaced", optarg, modes);

			if (m < 0)
				return EXIT_TRACER_USAGE;
			o.displaced = (enum displaced_mode)m;
			break;
		}
		case 'R': {
			static const char *const modes[] = { "stub", "trap",
							     NULL };
			int m = parse_mode("--return-capture", optarg, modes);

			if (m < 0)
				return EXIT_TRACER_USAGE;
			o.return_stubs = m == 0;
			break;
		}
		case 'v':
			o.verbose++;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			return usage_error("%s: unknown option '%s'", cmd,
					   argv[optind - 1]);
		}
	}
	for (size_t i = 0; i < commands.n; i++)
		if (live_check_command(commands.v[i], &err) < 0)
			return usage_error("%s", err.message);
	o.commands = commands.v;
	o.ncommands = commands.n;
	o.keep_going = o.every > 0 || o.duration > 0 || o.dump_on_exit ||
		       o.dump_on_crash;
	/* a prompt wants a user at a terminal: a redirected stderr is a
	 * script's */
	o.interactive = (force_prompt || (isatty(STDIN_FILENO) &&
					  isatty(STDERR_FILENO))) &&
			!commands.n && !o.keep_going;
	if (o.run) {
		if (optind >= argc)
			return usage_error("%s", "run: no program given");
		o.argv = argv + optind;
	} else {
		char *end;
		long pid;
		if (optind != argc - 1)
			return usage_error("%s", "attach: give one PID");
		pid = strtol(argv[optind], &end, 10);
		if (*end || pid <= 0 || pid > 0x3fffffff)
			return usage_error("attach: '%s' is not a process id",
					   argv[optind]);
		o.pid = (pid_t)pid;
	}
	return tracer_main(&o);
}
