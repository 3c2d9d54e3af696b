/* gen_snapshots.c - writes the fixed snapshot files the CLI tests read:
 * OLD and NEW, built frame by frame with ms_builder_*, so every number in
 * the golden outputs is known. Usage: gen_snapshots OLD NEW
 *
 * gen_snapshots --big N FILE writes a big snapshot instead, for the
 * progress tests: N traces of 16 bytes at 0x10000, 0x10020, ... over
 * 1000 tracebacks of 16 frames each (src/big.c, lines 1 to 1015). */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memsnap.h"

enum { F_JSON_INL, F_JSON, F_SERVE, F_MAIN, F_LIBC, F_CACHE, F_CONFIG, NF };

static const ms_frame frames[NF] = {
	[F_JSON_INL] = { "src/json.c", 20, "json_alloc", NULL, NULL,
			 0x555555555300, 0 },
	[F_JSON] = { "src/json.c", 100, "parse_json", NULL, NULL,
		     0x555555555300, 0 },
	[F_SERVE] = { "src/server.c", 42, "handle_request", NULL, NULL,
		      0x555555555200, 0 },
	[F_MAIN] = { "src/main.c", 10, "main", NULL, NULL, 0x555555555100, 0 },
	[F_LIBC] = { "/lib/x86_64-linux-gnu/libc.so.6", 0, "__libc_start_main",
		     NULL, NULL, 0x7ffff7da0100, 0 },
	[F_CACHE] = { "src/cache.c", 77, "cache_insert", NULL, NULL,
		      0x555555555400, 0 },
	[F_CONFIG] = { "src/config.c", 5, "load_config", NULL, NULL,
		       0x555555555500, 0 },
};

static int fail(const char *what, const ms_error *err)
{
	fprintf(stderr, "gen_snapshots: %s: %s\n", what, err->message);
	return 1;
}

static int finish_and_dump(ms_builder *b, const char *path)
{
	ms_error err;
	ms_snapshot *s = ms_builder_finish(b, &err);
	int rc;

	if (!s)
		return fail("finish", &err);
	rc = ms_snapshot_dump(s, path, &err);
	ms_snapshot_free(s);
	return rc < 0 ? fail(path, &err) : 0;
}

static int build(const char *path, bool is_new)
{
	static const uint32_t tb_json[] = { F_JSON_INL, F_JSON, F_SERVE, F_MAIN,
					    F_LIBC };
	static const uint32_t tb_cache[] = { F_CACHE, F_SERVE, F_MAIN, F_LIBC };
	static const uint32_t tb_config[] = { F_CONFIG, F_MAIN, F_LIBC };
	static const uint32_t tb_deep[] = { F_CACHE, F_SERVE, F_MAIN };
	ms_error err;
	ms_builder *b = ms_builder_new(8, &err);
	int64_t exe, libc, tb[4];
	uint32_t fid[NF];
	int rc;

	if (!b)
		return fail("builder", &err);
	exe = ms_builder_module(b, "/usr/bin/server", "0123456789abcdef",
				0x555555554000, 0x555555554000, 0x555555600000,
				&err);
	libc = ms_builder_module(b, "/lib/x86_64-linux-gnu/libc.so.6",
				 "fedcba9876543210", 0x7ffff7d80000,
				 0x7ffff7d80000, 0x7ffff7f00000, &err);
	for (int i = 0; i < NF; i++) {
		int64_t id = ms_builder_frame(b, &frames[i],
					      i == F_LIBC ? libc : exe, &err);
		if (id < 0)
			return fail("frame", &err);
		fid[i] = (uint32_t)id;
	}
	{
		const uint32_t *v[4] = { tb_json, tb_cache, tb_config, tb_deep };
		uint32_t n[4] = { 5, 4, 3, 3 }, total[4] = { 5, 4, 3, 12 };

		for (int t = 0; t < 4; t++) {
			uint32_t ids[8];

			for (uint32_t k = 0; k < n[t]; k++)
				ids[k] = fid[v[t][k]];
			tb[t] = ms_builder_traceback(b, ids, n[t], total[t],
						     &err);
			if (tb[t] < 0)
				return fail("traceback", &err);
		}
	}
	rc = ms_builder_trace(b, 0, 0x1000, 4096, (uint32_t)tb[0], &err);
	rc |= ms_builder_trace(b, 0, 0x3000, 4096, (uint32_t)tb[0], &err);
	rc |= ms_builder_trace(b, 0, 0x5000, 1000, (uint32_t)tb[1], &err);
	rc |= ms_builder_trace(b, 1, 0x7f0000000000, 1048576, (uint32_t)tb[1],
			       &err);
	rc |= ms_builder_trace(b, 2, 0x9000, 256, (uint32_t)tb[3], &err);
	if (is_new) {
		rc |= ms_builder_trace(b, 0, 0x8000, 2048, (uint32_t)tb[1], &err);
		rc |= ms_builder_trace(b, 0, 0xa000, 2048, (uint32_t)tb[1], &err);
		rc |= ms_builder_trace(b, 0, 0xc000, 100, (uint32_t)tb[0], &err);
	} else {
		rc |= ms_builder_trace(b, 0, 0x6000, 24, (uint32_t)tb[2], &err);
	}
	if (exe < 0 || libc < 0 || rc)
		return fail("trace", &err);
	ms_builder_meta(b, MS_META_PID, "4242", &err);
	ms_builder_meta(b, MS_META_CMDLINE, "./server --port 8080", &err);
	ms_builder_meta(b, MS_META_TIME, is_new ? "1700000060" : "1700000000",
			&err);
	ms_builder_meta(b, MS_META_HOST, "testhost", &err);
	ms_builder_meta(b, MS_META_HOOKED, "malloc,calloc,realloc,free", &err);
	ms_builder_meta(b, MS_META_UNKNOWN_FREES, "3", &err);
	ms_builder_meta(b, "build", "golden", &err);
	return finish_and_dump(b, path);
}

static int build_big(const char *path, unsigned long n)
{
	ms_error err;
	ms_builder *b = ms_builder_new(16, &err);
	uint32_t fid[1015], ids[16];
	int64_t tb[1000];
	int rc = 0;

	if (!b)
		return fail("builder", &err);
	for (uint32_t i = 0; i < 1015; i++) {
		ms_frame f = { "src/big.c", i + 1, "big_function", NULL, NULL,
			       0x400000 + 16 * (uint64_t)i, 0 };
		int64_t id = ms_builder_frame(b, &f, -1, &err);

		if (id < 0)
			return fail("frame", &err);
		fid[i] = (uint32_t)id;
	}
	for (uint32_t t = 0; t < 1000; t++) {
		for (uint32_t k = 0; k < 16; k++)
			ids[k] = fid[t + k];
		tb[t] = ms_builder_traceback(b, ids, 16, 16, &err);
		if (tb[t] < 0)
			return fail("traceback", &err);
	}
	for (unsigned long i = 0; i < n && rc == 0; i++)
		rc = ms_builder_trace(b, 0, 0x10000 + 0x20 * (uint64_t)i, 16,
				      (uint32_t)tb[i % 1000], &err);
	if (rc < 0)
		return fail("trace", &err);
	return finish_and_dump(b, path);
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "--big") == 0)
		return build_big(argv[3], strtoul(argv[2], NULL, 10));
	if (argc != 3) {
		fprintf(stderr, "usage: gen_snapshots OLD NEW\n");
		return 2;
	}
	return build(argv[1], false) || build(argv[2], true);
}
