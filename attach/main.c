/* main.c - the `memsnap` command line. */
#include "config.h"

#include "tracer.h"
#include "offline.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"Usage: memsnap run [OPTIONS] -- PROGRAM [ARGS...]\n"
	"       memsnap attach [OPTIONS] PID\n"
	"       memsnap stats|compare|filter|show|info|block|export|shell ... "
	"(offline, below)\n"
	"       memsnap --version\n"
	"\n"
	"Trace the heap of a native program with ptrace and take snapshots of\n"
	"its live blocks (like Python's tracemalloc). A snapshot is taken on\n"
	"SIGUSR1 to memsnap, every --every seconds, and at the target's exit\n"
	"with --dump-on-exit. SIGINT, SIGTERM or SIGHUP to memsnap detach and\n"
	"leave the process exactly as it was.\n"
	"\n"
	"Options:\n"
	"  -n, --frames N          frames kept per traceback (default 16)\n"
	"  -e, --every SECONDS     take a snapshot every SECONDS\n"
	"  -d, --duration SECONDS  detach after SECONDS\n"
	"  -o, --output PREFIX     on-demand snapshots go to PREFIX.N.msnap\n"
	"                          (default memsnap.PID.N.msnap)\n"
	"  -x, --dump-on-exit FILE snapshot at the target's exit\n"
	"      --displaced MODE    auto, outofline or step: how the\n"
	"                          instruction under each breakpoint runs\n"
	"      --return-capture MODE  stub (default): a return stub keeps\n"
	"                          the result for the next stop; trap: an int3\n"
	"                          trampoline stops at every return\n"
	"  -v, --verbose           say what is hooked and how\n"
	"  -h, --help              this text\n"
	"\n"
	"Exit status: 0 success (`run`: the program's own status when it\n"
	"exits, 128+N when killed by signal N, 127 when it cannot be run),\n"
	"1 internal error (the process is detached as it was), 2 usage,\n"
	"3 no such process or zombie, 4 no permission or already traced,\n"
	"5 unsupported target (not x86-64) or no allocator found.\n";

static int usage_error(const char *fmt, ...) TRACER_PRINTF(1, 2);
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "memsnap: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_TRACER_USAGE;
}

static bool parse_seconds(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return !errno && end != s && !*end && *out > 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "frames", required_argument, NULL, 'n' },
		{ "every", required_argument, NULL, 'e' },
		{ "duration", required_argument, NULL, 'd' },
		{ "output", required_argument, NULL, 'o' },
		{ "dump-on-exit", required_argument, NULL, 'x' },
		{ "displaced", required_argument, NULL, 'D' },
		{ "return-capture", required_argument, NULL, 'R' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	tracer_options o = { .frames = 16, .return_stubs = true };
	const char *cmd;
	int c;

	if (argc < 2)
		return usage_error("%s", "no command given");
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
	else if (strcmp(cmd, "attach") != 0)
		return usage_error("unknown command '%s'", cmd);
	argv++;
	argc--;
	while ((c = getopt_long(argc, argv, "+n:e:d:o:x:vh", longopts,
				NULL)) != -1) {
		char *end;
		switch (c) {
		case 'n': {
			unsigned long n = strtoul(optarg, &end, 10);
			if (*end || end == optarg || n < 1 ||
			    n > MS_MAX_FRAMES)
				return usage_error("--frames: '%s' is not a "
						   "number from 1 to 1024",
						   optarg);
			o.frames = (uint32_t)n;
			break;
		}
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
		case 'D':
			if (strcmp(optarg, "auto") == 0)
				o.displaced = DMODE_AUTO;
			else if (strcmp(optarg, "outofline") == 0)
				o.displaced = DMODE_OUTOFLINE;
			else if (strcmp(optarg, "step") == 0)
				o.displaced = DMODE_STEP;
			else
				return usage_error("--displaced: unknown "
						   "mode '%s'", optarg);
			break;
		case 'R':
			if (strcmp(optarg, "stub") == 0)
				o.return_stubs = true;
			else if (strcmp(optarg, "trap") == 0)
				o.return_stubs = false;
			else
				return usage_error("--return-capture: unknown "
						   "mode '%s'", optarg);
			break;
		case 'v':
			o.verbose++;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			return EXIT_TRACER_USAGE;
		}
	}
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
