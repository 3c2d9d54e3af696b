/* make_corpus.c - writes the fuzzer's seed corpus: small valid snapshot
 * files that between them use every section, every field and both
 * storage modes (raw and zstd).
 *
 * Usage: make_corpus DIR    (the seeds in the tree, tests/fuzz/corpus,
 * come from this program; rerun it when the format changes) */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memsnap.h"

static const char *dir;

static void fail(const char *what, const ms_error *err)
{
	fprintf(stderr, "make_corpus: %s: %s\n", what, err->message);
	exit(1);
}

static void dump(ms_builder *b, const char *name)
{
	char path[4096];
	ms_error err;
	ms_snapshot *s = ms_builder_finish(b, &err);

	if (!s)
		fail(name, &err);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (ms_snapshot_dump(s, path, &err) < 0)
		fail(name, &err);
	ms_snapshot_free(s);
}

static ms_builder *builder(uint32_t limit)
{
	ms_error err;
	ms_builder *b = ms_builder_new(limit, &err);

	if (!b)
		fail("builder", &err);
	return b;
}

/* Frames, modules, a cut traceback, three domains, metadata. */
static void small(void)
{
	ms_builder *b = builder(3);
	ms_error err;
	ms_frame f[] = {
		{ .filename = "src/server.c", .lineno = 120,
		  .function = "handle_request", .address = 0x55d0c0001234 },
		{ .filename = "src/pool.c", .lineno = 44, .function = "pool_grow",
		  .address = 0x55d0c0002000 },
		{ .filename = "/usr/lib/libfoo.so.1", .address = 0x7f0000001000 },
		{ .filename = "??" },
	};
	uint32_t ids[3] = { 1, 0, 2 };

	ms_builder_module(b, "/usr/bin/server", "0123abcd", 0x55d0c0000000,
			  0x55d0c0000000, 0x55d0c0100000, &err);
	ms_builder_module(b, "/usr/lib/libfoo.so.1", NULL, 0x7f0000000000,
			  0x7f0000000000, 0x7f0000200000, &err);
	ms_builder_frame(b, &f[0], 0, &err);
	ms_builder_frame(b, &f[1], 0, &err);
	ms_builder_frame(b, &f[2], 1, &err);
	ms_builder_frame(b, &f[3], -1, &err);
	ms_builder_traceback(b, ids, 3, 7, &err);
	ms_builder_traceback(b, ids + 1, 1, 1, &err);
	ids[0] = 3;
	ms_builder_traceback(b, ids, 1, 1, &err);
	ms_builder_trace(b, 0, 0x55d0c0ffee00, 64, 0, &err);
	ms_builder_trace(b, 0, 0x55d0c0ffee50, 100, 1, &err);
	ms_builder_trace(b, 1, 0x7f1234560000, 1 << 20, 2, &err);
	ms_builder_trace(b, 7, 0x1000, 0, 1, &err);
	ms_builder_meta(b, "pid", "4242", &err);
	ms_builder_meta(b, "cmdline", "./server --port 80", &err);
	ms_builder_meta(b, "host", "", &err);
	dump(b, "small.msnap");
}

/* Enough traces and tracebacks that sections are zstd-compressed. */
static void compressed(void)
{
	ms_builder *b = builder(8);
	ms_error err;
	uint64_t addr = 0x5600001000;
	char name[32];
	uint32_t ids[8];

	ms_builder_module(b, "/usr/bin/app", "deadbeefcafe", 0x400000,
			  0x400000, 0x800000, &err);
	for (uint32_t i = 0; i < 40; i++) {
		ms_frame f = { .filename = "app.c", .lineno = 100 + i,
			       .function = name, .address = 0x401000 + 32 * i };

		snprintf(name, sizeof(name), "fn%u", i);
		ms_builder_frame(b, &f, 0, &err);
	}
	for (uint32_t t = 0; t < 30; t++) {
		for (uint32_t j = 0; j < 8; j++)
			ids[j] = (t * 3 + j * 5) % 40;
		ms_builder_traceback(b, ids, 1 + t % 8, 8 + t % 5, &err);
	}
	for (uint32_t i = 0; i < 300; i++) {
		uint64_t size = 16 + (i * 37) % 200;

		ms_builder_trace(b, i < 280 ? 0 : 2, addr, size, i * 7 % 30, &err);
		addr += (size + 23) & ~(uint64_t)15;
	}
	ms_builder_meta(b, "pid", "1", &err);
	dump(b, "compressed.msnap");
}

static void empty(void)
{
	dump(builder(0), "empty.msnap");
}

/* Odd values: huge sizes and addresses, no metadata values, deep limit,
 * a frame without filename text, frames sharing one PC (inlining). */
static void edges(void)
{
	ms_builder *b = builder(UINT32_MAX);
	ms_error err;
	ms_frame inl[] = {
		{ .filename = "inline.h", .lineno = UINT32_MAX, .function = "inner",
		  .address = UINT64_MAX },
		{ .filename = "outer.c", .lineno = 1, .function = "outer",
		  .address = UINT64_MAX },
		{ .filename = "", .address = 1 },
	};
	uint32_t ids[3] = { 0, 1, 2 };

	ms_builder_module(b, "", NULL, 0, 0, 0, &err);
	ms_builder_frame(b, &inl[0], 0, &err);
	ms_builder_frame(b, &inl[1], 0, &err);
	ms_builder_frame(b, &inl[2], -1, &err);
	ms_builder_traceback(b, ids, 3, UINT32_MAX, &err);
	ms_builder_traceback(b, ids, 0, 0, &err);
	ms_builder_trace(b, UINT32_MAX, UINT64_MAX, UINT64_MAX, 0, &err);
	ms_builder_trace(b, 0, 0, 0, 1, &err);
	ms_builder_trace(b, 0, 0, 0, 1, &err);
	ms_builder_meta(b, "k", "", &err);
	ms_builder_meta(b, "unicode", "h\xc3\xa9llo \xe2\x9c\x93", &err);
	dump(b, "edges.msnap");
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: make_corpus DIR\n");
		return 2;
	}
	dir = argv[1];
	empty();
	small();
	compressed();
	edges();
	return 0;
}
