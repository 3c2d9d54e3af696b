/* bench_stats.c - time statistics(), compare_to() and filter_traces() on
 * snapshots of the size the acceptance targets name:
 *   1,000,000 traces over 20,000 distinct 16-frame tracebacks, made of
 *   4,000 PCs at 2,000 distinct (filename, lineno) (200 files x 10 lines).
 * Targets: statistics('lineno') and ('traceback') < 0.3 s each, compare_to
 * < 0.5 s. Prints one line per operation: best and median of the runs.
 *
 * usage: bench_stats [runs]   (default 5) */
#include "config.h"
#include "memsnap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
	NTRACES = 1000000,
	NTRACEBACKS = 20000,
	DEPTH = 16,
	NFILES = 200,
	NLINES = 10,
	NPCS = 2 * NFILES * NLINES,
};

static uint64_t rng_state;

static uint64_t rng(void)
{
	/* xorshift64*: reproducible inputs without libc's rand() */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const ms_error *err)
{
	fprintf(stderr, "bench_stats: %s: %s\n", what, err->message);
	exit(1);
}

/* One snapshot; variant != 0 changes a quarter of the tracebacks and the
 * sizes, and interns strings in another order (ids differ from variant 0). */
static ms_snapshot *build(int variant)
{
	static char names[NFILES][64], funcs[NPCS][32];
	ms_error err;
	ms_builder *b = ms_builder_new(DEPTH, &err);
	uint32_t *frame_ids = malloc(NPCS * sizeof(*frame_ids));
	uint32_t *tb_ids = malloc(NTRACEBACKS * sizeof(*tb_ids));
	ms_snapshot *s;

	if (!b || !frame_ids || !tb_ids)
		die("builder", &err);
	for (int i = 0; i < NFILES; i++)
		snprintf(names[i], sizeof(names[i]),
			 "/src/project/module%03d/file%03d.c", i % 17, i);
	for (int k = 0; k < NPCS; k++) {
		int i = variant ? NPCS - 1 - k : k;
		int fl = i / 2;  /* two PCs per (file, line) */
		ms_frame f;
		int64_t id;

		snprintf(funcs[i], sizeof(funcs[i]), "function_%d", fl);
		memset(&f, 0, sizeof(f));
		f.filename = names[fl / NLINES];
		f.lineno = (uint32_t)(fl % NLINES) * 7 + 1;
		f.function = funcs[i];
		f.address = 0x400000 + (uint64_t)i * 16;
		id = ms_builder_frame(b, &f, -1, &err);
		if (id < 0)
			die("frame", &err);
		frame_ids[i] = (uint32_t)id;
	}
	rng_state = UINT64_C(0x9e3779b97f4a7c15);
	for (int t = 0; t < NTRACEBACKS; t++) {
		uint32_t ids[DEPTH];
		int64_t id;
		bool changed = variant && t % 4 == 0;

		for (int d = 0; d < DEPTH; d++) {
			uint64_t r = rng();

			if (changed && d == 0)
				r += 1;
			ids[d] = frame_ids[r % NPCS];
		}
		id = ms_builder_traceback(b, ids, DEPTH, DEPTH, &err);
		if (id < 0)
			die("traceback", &err);
		tb_ids[t] = (uint32_t)id;
	}
	rng_state = UINT64_C(0x123456789) + (uint64_t)variant;
	for (uint32_t i = 0; i < NTRACES; i++) {
		uint64_t r = rng();

		if (ms_builder_trace(b, 0, 0x10000000 + (uint64_t)i * 64,
				     1 + (r >> 20) % 4096,
				     tb_ids[r % NTRACEBACKS], &err) < 0)
			die("trace", &err);
	}
	s = ms_builder_finish(b, &err);
	if (!s)
		die("finish", &err);
	free(frame_ids);
	free(tb_ids);
	return s;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

typedef enum op { STATS, COMPARE, FILTER } op;

static void run(const char *label, op what, const ms_snapshot *s,
		const ms_snapshot *old, ms_group_by g, bool cumulative,
		int runs, double target)
{
	double t[64];
	size_t n = 0;
	ms_error err;

	for (int r = 0; r < runs; r++) {
		double t0 = now();

		if (what == FILTER) {
			ms_filter f;
			ms_snapshot *out;

			memset(&f, 0, sizeof(f));
			f.kind = MS_FILTER_FILENAME;
			f.inclusive = false;
			f.filename_pattern = "*/module01?/*";
			f.all_frames = true;
			out = ms_snapshot_filter(s, &f, 1, &err);
			if (!out)
				die(label, &err);
			n = ms_snapshot_ntraces(out);
			ms_snapshot_free(out);
		} else {
			ms_stats *st = what == COMPARE
					       ? ms_snapshot_compare(s, old, g, cumulative, &err)
					       : ms_snapshot_statistics(s, g, cumulative, &err);

			if (!st)
				die(label, &err);
			n = ms_stats_count(st);
			ms_stats_free(st);
		}
		t[r] = now() - t0;
	}
	qsort(t, (size_t)runs, sizeof(t[0]), cmp_double);
	printf("%-34s best %.3f s  median %.3f s  (%zu %s)", label, t[0],
	       t[runs / 2], n, what == FILTER ? "traces kept" : "keys");
	if (target > 0)
		printf("  target < %.1f s: %s", target,
		       t[runs / 2] < target ? "ok" : "MISSED");
	printf("\n");
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 5;
	double t0;
	ms_snapshot *a, *b;

	if (runs < 1 || runs > 64) {
		fprintf(stderr, "usage: bench_stats [runs 1..64]\n");
		return 2;
	}
	t0 = now();
	a = build(0);
	b = build(1);
	printf("built 2 snapshots of %d traces, %zu tracebacks, %zu frames "
	       "in %.2f s\n", NTRACES, ms_snapshot_ntracebacks(a),
	       ms_snapshot_nframes(a), now() - t0);
	run("statistics('lineno')", STATS, a, NULL, MS_GROUP_LINENO, false,
	    runs, 0.3);
	run("statistics('traceback')", STATS, a, NULL, MS_GROUP_TRACEBACK,
	    false, runs, 0.3);
	run("statistics('filename')", STATS, a, NULL, MS_GROUP_FILENAME,
	    false, runs, 0);
	run("statistics('function')", STATS, a, NULL, MS_GROUP_FUNCTION,
	    false, runs, 0);
	run("statistics('lineno', cumulative)", STATS, a, NULL,
	    MS_GROUP_LINENO, true, runs, 0);
	run("compare_to('lineno')", COMPARE, b, a, MS_GROUP_LINENO, false,
	    runs, 0.5);
	run("compare_to('traceback')", COMPARE, b, a, MS_GROUP_TRACEBACK,
	    false, runs, 0.5);
	run("compare_to('filename', cumulative)", COMPARE, b, a,
	    MS_GROUP_FILENAME, true, runs, 0);
	run("filter_traces(exclude, all_frames)", FILTER, a, NULL,
	    MS_GROUP_LINENO, false, runs, 0);
	ms_snapshot_free(a);
	ms_snapshot_free(b);
	return 0;
}
