/* bench_symbols.c - how fast the libdwfl symbolizer turns PCs into frames.
 *
 * Starts the sym_cxx target (argv[1], or the one built beside this bench),
 * spreads N distinct PCs (default 100000) over the executable code of the
 * target, libc and libstdc++ (all of the target's own code, the rest split
 * evenly), and prints:
 *   cold    a new symbolizer on the live pid, every PC a miss: reading the
 *           maps, opening files, loading debug information, resolving;
 *   warm    the PC cache dropped (ms_dwfl_forget), debug information loaded;
 *   cached  every PC again, from the cache.
 * Usage: bench_symbols [TARGET [N]]
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "memsnap_symbols.h"

#ifndef SYM_TARGET_DIR
#define SYM_TARGET_DIR "tests/targets/symbols"
#endif

struct range {
	uint64_t start, end;
	const char *what;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The executable mappings of pid that belong to the three modules. */
static size_t text_ranges(pid_t pid, const char *exe, struct range *r)
{
	char path[64], line[1024];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "r");
	size_t n = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f) && n < 3) {
		uint64_t start, end;
		char perms[8];
		int at = 0;
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %*s %*s %*s %n",
			   &start, &end, perms, &at) < 3 || !strchr(perms, 'x'))
			continue;
		const char *name = line + at;
		const char *what = strstr(name, "/libc.so") ? "libc"
				   : strstr(name, "/libstdc++") ? "libstdc++"
				   : strncmp(name, exe, strlen(exe)) == 0
				   ? "target" : NULL;
		if (what)
			r[n++] = (struct range){ start, end, what };
	}
	fclose(f);
	return n;
}

static int resolve_all(ms_dwfl *d, const uint64_t *pcs, size_t n,
		       size_t *frames)
{
	ms_symbolizer s = ms_dwfl_symbolizer(d);
	ms_frame f[MS_MAX_INLINE];
	ms_error err;
	*frames = 0;
	for (size_t i = 0; i < n; i++) {
		int k = s.ops->resolve(s.ctx, pcs[i], true, f, MS_MAX_INLINE,
				       &err);
		if (k < 0) {
			fprintf(stderr, "resolve: %s\n", err.message);
			return -1;
		}
		*frames += (size_t)k;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *target = argc > 1 ? argv[1] : SYM_TARGET_DIR "/sym_cxx";
	size_t npcs = argc > 2 ? strtoul(argv[2], NULL, 10) : 100000;
	int to[2], from[2];
	if (pipe(to) < 0 || pipe(from) < 0)
		return 1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(to[0], 0);
		dup2(from[1], 1);
		close(to[1]);
		close(from[0]);
		execl(target, target, (char *)NULL);
		_exit(127);
	}
	close(to[0]);
	close(from[1]);
	FILE *out = fdopen(from[0], "r");
	char line[256];
	while (fgets(line, sizeof(line), out) && strcmp(line, "ready\n") != 0)
		;

	struct range r[3];
	size_t nr = text_ranges(pid, target, r);
	if (nr != 3) {
		fprintf(stderr, "bench_symbols: expected the text of %s, libc "
			"and libstdc++ in the target's maps\n", target);
		return 1;
	}
	uint64_t *pcs = calloc(npcs, sizeof(*pcs));
	size_t n = 0;
	for (size_t i = 0; i < nr && n < npcs; i++) {
		if (strcmp(r[i].what, "target") != 0)
			continue;
		for (uint64_t pc = r[i].start; pc < r[i].end && n < npcs / 10;
		     pc++)
			pcs[n++] = pc;
	}
	size_t own = n, per_lib = (npcs - n) / 2;
	for (size_t i = 0; i < nr; i++) {
		if (strcmp(r[i].what, "target") == 0)
			continue;
		uint64_t len = r[i].end - r[i].start;
		uint64_t step = len / per_lib ? len / per_lib : 1;
		for (size_t k = 0; k < per_lib && n < npcs; k++)
			pcs[n++] = r[i].start + k * step;
	}
	while (n < npcs) /* odd counts: top up from libc's tail */
		pcs[n] = r[0].end - 1 - (npcs - n), n++;

	ms_error err;
	size_t frames;
	double t0 = now();
	ms_dwfl *d = ms_dwfl_new_pid(pid, NULL, &err);
	if (!d) {
		fprintf(stderr, "bench_symbols: %s\n", err.message);
		return 1;
	}
	if (resolve_all(d, pcs, n, &frames) < 0)
		return 1;
	double cold = now() - t0;
	ms_dwfl_stats st;
	ms_dwfl_get_stats(d, &st);
	size_t distinct = st.cached;

	ms_dwfl_forget(d);
	t0 = now();
	if (resolve_all(d, pcs, n, &frames) < 0)
		return 1;
	double warm = now() - t0;
	t0 = now();
	if (resolve_all(d, pcs, n, &frames) < 0)
		return 1;
	double cached = now() - t0;
	ms_dwfl_free(d);

	printf("pcs      %zu distinct (%zu in the target, %zu each in libc "
	       "and libstdc++), %zu frames\n", distinct, own, per_lib, frames);
	printf("cold     %.3f s  (%.2f us/pc)\n", cold, cold * 1e6 / n);
	printf("warm     %.3f s  (%.2f us/pc)\n", warm, warm * 1e6 / n);
	printf("cached   %.3f s  (%.2f us/pc)\n", cached, cached * 1e6 / n);

	fclose(out);
	close(to[1]);
	waitpid(pid, NULL, 0);
	free(pcs);
	return 0;
}
