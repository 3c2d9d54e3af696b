/* bench_table.c - the live table under 1,000,000 blocks: event cost, memory
 * per block, and how long taking a snapshot holds the table.
 * Prints one "name: value" line per figure (scripts/bench collects them). */
#include "config.h"
#include "memsnap.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	size_t nblocks = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
	enum { NTB = 20000, DEPTH = 16 };
	uint64_t *stacks = malloc(sizeof(*stacks) * NTB * DEPTH);
	ms_error err;
	ms_table *t = ms_table_new(&err);
	ms_capture *c;
	ms_snapshot *s;
	double t0, t1, t2, t3;

	if (!stacks || !t)
		return 1;
	for (size_t i = 0; i < (size_t)NTB * DEPTH; i++)
		stacks[i] = 0x400000 + (i % DEPTH) * 0x100 + (i / DEPTH) % 2000 * 0x10000 + i / (2000 * DEPTH);
	t0 = now();
	for (size_t i = 0; i < nblocks; i++) {
		if (ms_table_alloc(t, 0, 0x7f0000000000ull + i * 48, 16 + i % 512,
				   stacks + (i % NTB) * DEPTH, DEPTH, DEPTH, &err) < 0) {
			fprintf(stderr, "bench_table: %s\n", err.message);
			return 1;
		}
	}
	t1 = now();
	printf("table_blocks: %zu\n", ms_table_count(t));
	printf("table_alloc_ns_per_event: %.0f\n", (t1 - t0) / nblocks * 1e9);
	printf("table_bytes_per_block: %.1f\n",
	       (double)ms_table_memory_blocks(t) / nblocks);
	printf("table_traceback_bytes: %zu\n", ms_table_memory_tracebacks(t));
	t2 = now();
	c = ms_capture_take(t, 16, &err);
	t3 = now();
	if (!c)
		return 1;
	printf("capture_hold_ms: %.1f\n", (t3 - t2) * 1e3);
	t2 = now();
	s = ms_capture_finish(c, NULL, &err);
	t3 = now();
	if (!s)
		return 1;
	printf("capture_finish_ms: %.1f\n", (t3 - t2) * 1e3);
	t0 = now();
	for (size_t i = 0; i < nblocks; i++)
		ms_table_free_block(t, 0, 0x7f0000000000ull + i * 48, NULL);
	t1 = now();
	printf("table_free_ns_per_event: %.0f\n", (t1 - t0) / nblocks * 1e9);
	ms_snapshot_free(s);
	ms_table_free(t);
	free(stacks);
	return 0;
}
