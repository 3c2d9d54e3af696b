/* bench_attach.c - what a traced malloc+free pair costs, against the floor.
 *
 *   bench_attach MEMSNAP[,MEMSNAP...] [PAIRS] [DEPTH] [ROUNDS]
 *
 * MEMSNAP: a memsnap binary, with options if any ("memsnap
 * --return-capture trap"); several, separated by commas, are measured in
 * the same rounds against the same floor (two ways of capturing returns,
 * two builds).
 *
 * floor: one bare ptrace stop-and-resume (the child executes int3, the
 * tracer waits for the stop and resumes it), measured here.
 * pair:  the time per malloc+free pair of this program in target mode
 * (recursing DEPTH frames, default 15, then PAIRS pairs after a warm-up),
 * traced by `MEMSNAP run` minus untraced.
 * ratio: pair / floor (the attacher's goal is at most 2.5). The floor and
 * the traced run take turns, ROUNDS times (default 5), under the same CPU
 * placement (run the whole benchmark under taskset to pin both); each
 * figure is the best of its rounds. A last traced run of each with
 * MEMSNAP_PROFILE=1 shows where the time of a stop goes.
 *
 *   bench_attach --target PAIRS DEPTH   (used by the above)
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double floor_ns(long n)
{
	pid_t pid = fork();
	int status;
	double t0, t;

	if (pid == 0) {
		raise(SIGSTOP);
		for (long i = 0; i < n; i++)
			__asm__ volatile("int3");
		_exit(0);
	}
	waitpid(pid, &status, WUNTRACED);
	ptrace(PTRACE_SEIZE, pid, 0, 0);
	kill(pid, SIGCONT);
	t0 = now();
	for (;;) {
		if (waitpid(pid, &status, __WALL) < 0 || !WIFSTOPPED(status))
			break;
		ptrace(PTRACE_CONT, pid, 0, 0);
	}
	t = now() - t0;
	return t / (double)n * 1e9;
}

static void *volatile sink;

static __attribute__((noinline)) double pairs_at_depth(long pairs, int depth)
{
	double t0;

	if (depth > 0) {
		double r = pairs_at_depth(pairs, depth - 1);
		sink = NULL; /* no tail call: keep the frames */
		return r;
	}
	for (int i = 0; i < 2000; i++) { /* warm-up: caches */
		sink = malloc(64);
		free(sink);
	}
	t0 = now();
	for (long i = 0; i < pairs; i++) {
		sink = malloc((size_t)(i & 255) + 1);
		free(sink);
	}
	return (now() - t0) / (double)pairs * 1e9;
}

#define MAX_TRACERS 8

static char profile[1024];

static double run_target(const char *memsnap, const char *self, long pairs,
			 int depth)
{
	char cmd[8192], line[1024];
	double ns = -1;
	FILE *p;

	/* memsnap may carry options: "memsnap --return-capture trap" */
	if (memsnap[0]) {
		const char *opts = strchr(memsnap, ' ');
		int n = opts ? (int)(opts - memsnap) : (int)strlen(memsnap);
		snprintf(cmd, sizeof(cmd), "%.*s run%s -- %s --target %ld %d "
			 "2>&1", n, memsnap, opts ? opts : "", self, pairs,
			 depth);
	} else {
		snprintf(cmd, sizeof(cmd), "%s --target %ld %d", self, pairs,
			 depth);
	}
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p)) {
		sscanf(line, "ns/pair %lf", &ns);
		if (strncmp(line, "memsnap: profile: ", 18) == 0)
			snprintf(profile, sizeof(profile), "%s", line + 18);
	}
	if (pclose(p) != 0)
		return -1;
	return ns;
}

int main(int argc, char **argv)
{
	long pairs;
	int depth, rounds, ntracers = 0;
	double fl = 1e30, untraced, traced[MAX_TRACERS];
	char self[4096], *tracers[MAX_TRACERS], *list, *save = NULL;
	ssize_t n;

	if (argc == 4 && strcmp(argv[1], "--target") == 0) {
		printf("ns/pair %.1f\n",
		       pairs_at_depth(atol(argv[2]), atoi(argv[3])));
		return 0;
	}
	if (argc < 2) {
		fprintf(stderr, "usage: bench_attach MEMSNAP[,MEMSNAP...] "
			"[PAIRS] [DEPTH] [ROUNDS]\n");
		return 2;
	}
	list = strdup(argv[1]);
	for (char *t = strtok_r(list, ",", &save);
	     t && ntracers < MAX_TRACERS; t = strtok_r(NULL, ",", &save)) {
		traced[ntracers] = 1e30;
		tracers[ntracers++] = t;
	}
	pairs = argc > 2 ? atol(argv[2]) : 20000;
	depth = argc > 3 ? atoi(argv[3]) : 15;
	rounds = argc > 4 ? atoi(argv[4]) : 5;
	/* not /proc/self/exe: under memsnap, that names memsnap */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 1;
	self[n] = 0;
	untraced = run_target("", self, pairs * 100, depth);
	/* best of the rounds: the machine's noise only ever adds; floor
	 * and traced run in turn, so a busy spell hits both */
	for (int i = 0; i < rounds; i++) {
		double f = floor_ns(pairs * 2);
		if (f < fl)
			fl = f;
		for (int k = 0; k < ntracers; k++) {
			double t = run_target(tracers[k], self, pairs, depth);
			if (t < 0) {
				fprintf(stderr, "bench_attach: a run of %s "
					"failed\n", tracers[k]);
				return 1;
			}
			if (t < traced[k])
				traced[k] = t;
		}
	}
	if (untraced < 0) {
		fprintf(stderr, "bench_attach: a run failed\n");
		return 1;
	}
	printf("floor (ptrace stop+resume): %.0f ns\n", fl);
	printf("malloc+free pair, untraced: %.0f ns\n", untraced);
	setenv("MEMSNAP_PROFILE", "1", 1);
	for (int k = 0; k < ntracers; k++) {
		profile[0] = 0;
		run_target(tracers[k], self, pairs, depth);
		printf("%s:\n", tracers[k]);
		printf("  malloc+free pair, traced (depth %d, %ld pairs): "
		       "%.0f ns\n", depth, pairs, traced[k]);
		printf("  cost per pair: %.0f ns = %.2f x floor\n",
		       traced[k] - untraced, (traced[k] - untraced) / fl);
		if (profile[0])
			printf("  profile of one more run: %s", profile);
	}
	free(list);
	return 0;
}
