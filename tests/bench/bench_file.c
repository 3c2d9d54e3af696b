/* bench_file.c - size and speed of the snapshot file format.
 *
 * Builds a snapshot shaped like a big server's heap (by default 1,000,000
 * live blocks over 20,000 distinct 16-frame tracebacks, 4,000 distinct
 * frames in 40 modules), then times encode/decode in memory and
 * dump/load through a real file (fsync included), and prints bytes per
 * trace. The targets: under 12 bytes per trace, dump + load under 0.5 s.
 *
 * Usage: bench_file [-n TRACES] [-t TRACEBACKS] [-d DEPTH] [-r RUNS]
 *                   [-o DIR] [--check]
 * --check exits 1 when a target is missed. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "memsnap.h"

#define NMODULES 40
#define NFRAMES 4000

static uint64_t rng = 0x9e3779b97f4a7c15;

/* xorshift64*: fixed seed, so every run measures the same snapshot */
static uint64_t next_random(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * UINT64_C(0x2545f4914f6cdd1d);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void die(const char *what, const ms_error *err)
{
	fprintf(stderr, "bench_file: %s: %s\n", what, err->message);
	exit(2);
}

/* Block sizes: mostly small, some medium, a few large, as malloc sees. */
static uint64_t random_size(void)
{
	uint64_t r = next_random() % 100;

	if (r < 70)
		return 8 + next_random() % 249;
	if (r < 95)
		return 256 + next_random() % 3841;
	return 4096 + next_random() % (1 << 20);
}

static ms_snapshot *build(size_t ntraces, uint32_t ntb, uint32_t depth)
{
	ms_error err;
	ms_builder *b = ms_builder_new(depth, &err);
	uint32_t *ids = calloc(depth, sizeof(*ids));
	uint64_t addr = 0x55d0c0a00000;
	char path[64], func[64], file[64];

	if (!b || !ids)
		die("builder", &err);
	for (int m = 0; m < NMODULES; m++) {
		char bid[41];

		snprintf(path, sizeof(path), "/usr/lib/x86_64-linux-gnu/libm%02d.so", m);
		snprintf(bid, sizeof(bid), "%016llx%016llx%08x",
			 (unsigned long long)next_random(),
			 (unsigned long long)next_random(), m);
		if (ms_builder_module(b, path, bid, 0x7f0000000000 + ((uint64_t)m << 24),
				      0x7f0000000000 + ((uint64_t)m << 24),
				      0x7f0000000000 + ((uint64_t)m << 24) + 0x800000,
				      &err) < 0)
			die("module", &err);
	}
	for (uint32_t i = 0; i < NFRAMES; i++) {
		int m = (int)(i % NMODULES);
		ms_frame f = {
			.filename = file, .lineno = 10 + (uint32_t)(next_random() % 3000),
			.function = func,
			.address = 0x7f0000000000 + ((uint64_t)m << 24) +
				   next_random() % 0x800000,
		};

		snprintf(file, sizeof(file), "src/module%02d/file%03u.c", m, i / 13);
		snprintf(func, sizeof(func), "namespace%02d::function_%u", m, i);
		if (ms_builder_frame(b, &f, m, &err) != i)
			die("frame", &err);
	}
	for (uint32_t t = 0; t < ntb;) {
		/* callers share the outer frames: draw them from fewer ids */
		for (uint32_t j = 0; j < depth; j++)
			ids[j] = (uint32_t)(next_random() %
					    (j < depth / 2 ? NFRAMES : NFRAMES / 8));
		if (ms_builder_traceback(b, ids, depth, depth + (t % 3 == 0),
					 &err) == t)
			t++;
	}
	for (size_t i = 0; i < ntraces; i++) {
		uint64_t size = random_size();

		if (ms_builder_trace(b, 0, addr, size,
				     (uint32_t)(next_random() % ntb), &err) < 0)
			die("trace", &err);
		/* glibc chunk: 8 bytes of header, 16-byte rounding, and some
		 * holes left by freed blocks */
		addr += (size + 8 + 15) & ~(uint64_t)15;
		if (next_random() % 10 == 0)
			addr += 16 * (1 + next_random() % 256);
	}
	free(ids);
	if (ms_builder_meta(b, "pid", "31337", &err) < 0 ||
	    ms_builder_meta(b, "cmdline", "/usr/sbin/bigserver --workers 8", &err) < 0 ||
	    ms_builder_meta(b, "time", "1764060000", &err) < 0)
		die("meta", &err);
	return ms_builder_finish(b, &err);
}

int main(int argc, char **argv)
{
	size_t ntraces = 1000000;
	uint32_t ntb = 20000, depth = 16;
	int runs = 3, check = 0, opt;
	const char *dir = "/tmp";
	static const struct option longopts[] = {
		{ "check", no_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	double t0, build_ms, enc = 1e9, dec = 1e9, dump = 1e9, load = 1e9;
	char path[4096];
	ms_snapshot *s;
	ms_error err;
	uint8_t *buf = NULL;
	size_t len = 0;

	while ((opt = getopt_long(argc, argv, "n:t:d:r:o:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'n': ntraces = strtoull(optarg, NULL, 0); break;
		case 't': ntb = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'd': depth = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'r': runs = atoi(optarg); break;
		case 'o': dir = optarg; break;
		case 'c': check = 1; break;
		default:
			fprintf(stderr, "usage: bench_file [-n TRACES] [-t TRACEBACKS] "
				"[-d DEPTH] [-r RUNS] [-o DIR] [--check]\n");
			return 2;
		}
	}
	if (!ntb || !depth || runs < 1) {
		fprintf(stderr, "bench_file: -t, -d and -r must be positive\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/bench_file.%d.msnap", dir, (int)getpid());

	t0 = now_ms();
	s = build(ntraces, ntb, depth);
	if (!s)
		die("finish", &err);
	build_ms = now_ms() - t0;

	for (int r = 0; r < runs; r++) {
		ms_snapshot *t;
		double t1;

		free(buf);
		t0 = now_ms();
		if (ms_snapshot_encode(s, &buf, &len, &err) < 0)
			die("encode", &err);
		t1 = now_ms();
		if (t1 - t0 < enc)
			enc = t1 - t0;
		t = ms_snapshot_decode(buf, len, &err);
		if (!t)
			die("decode", &err);
		t0 = now_ms();
		if (t0 - t1 < dec)
			dec = t0 - t1;
		ms_snapshot_free(t);

		t0 = now_ms();
		if (ms_snapshot_dump(s, path, &err) < 0)
			die("dump", &err);
		t1 = now_ms();
		if (t1 - t0 < dump)
			dump = t1 - t0;
		t = ms_snapshot_load(path, &err);
		if (!t)
			die("load", &err);
		t0 = now_ms();
		if (t0 - t1 < load)
			load = t0 - t1;
		if (ms_snapshot_ntraces(t) != ntraces) {
			fprintf(stderr, "bench_file: loaded %zu traces, not %zu\n",
				ms_snapshot_ntraces(t), ntraces);
			return 2;
		}
		ms_snapshot_free(t);
	}
	unlink(path);

	printf("snapshot: %zu traces, %zu tracebacks of %u frames, %zu frames, "
	       "%zu modules (built in %.0f ms)\n", ntraces,
	       ms_snapshot_ntracebacks(s), depth, ms_snapshot_nframes(s),
	       ms_snapshot_nmodules(s), build_ms);
	printf("file: %zu bytes, %.2f bytes/trace (target < 12)\n", len,
	       ntraces ? (double)len / (double)ntraces : 0.0);
	printf("memory: encode %.1f ms, decode %.1f ms (best of %d)\n", enc, dec,
	       runs);
	printf("file: dump %.1f ms (fsync included), load %.1f ms, "
	       "dump+load %.1f ms (target < 500)\n", dump, load, dump + load);
	ms_snapshot_free(s);
	free(buf);
	if (check && ((ntraces && (double)len / (double)ntraces >= 12) ||
		      dump + load >= 500)) {
		printf("bench_file: target missed\n");
		return 1;
	}
	return 0;
}
