/* stats_fixture.h - small snapshots built frame by frame for the filter,
 * statistics and compare tests. Included by one test file each. */
#ifndef STATS_FIXTURE_H
#define STATS_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "memsnap.h"

/* Frames are written { "file.c", line } with the rest left zero. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

/* A frame as the tests write it; module is what fx_module returned, or 0
 * (the default) for a frame without module. */
typedef struct fx_frame {
	const char *filename;
	uint32_t lineno;
	const char *function;
	int module;          /* fx_module index + 1, 0 = none */
	uint64_t address;
} fx_frame;

static inline ms_builder *fx_builder(uint32_t limit)
{
	ms_error err;
	ms_builder *b = ms_builder_new(limit, &err);

	assert_non_null(b);
	return b;
}

static inline int fx_module(ms_builder *b, const char *path, const char *build_id,
		     uint64_t bias)
{
	ms_error err;
	int64_t id = ms_builder_module(b, path, build_id, bias, bias,
				       bias + 0x10000, &err);

	assert_true(id >= 0);
	return (int)id + 1;
}

/* A traceback from frames given most recent first. */
static inline uint32_t fx_tb_n(ms_builder *b, const fx_frame *frames, uint32_t n,
			uint32_t total)
{
	uint32_t ids[64];
	ms_error err;
	int64_t id;

	assert_true(n <= 64);
	for (uint32_t i = 0; i < n; i++) {
		ms_frame f;

		memset(&f, 0, sizeof(f));
		f.filename = frames[i].filename;
		f.lineno = frames[i].lineno;
		f.function = frames[i].function;
		f.address = frames[i].address;
		id = ms_builder_frame(b, &f, frames[i].module - 1, &err);
		assert_true(id >= 0);
		ids[i] = (uint32_t)id;
	}
	id = ms_builder_traceback(b, ids, n, total ? total : n, &err);
	assert_true(id >= 0);
	return (uint32_t)id;
}

#define FX_FRAMES(...) ((const fx_frame[]){ __VA_ARGS__ })
#define FX_NFRAMES(...) \
	((uint32_t)(sizeof(FX_FRAMES(__VA_ARGS__)) / sizeof(fx_frame)))
/* TB(b, {"a.c", 1}, {"main.c", 9}) - most recent first. */
#define TB(b, ...) fx_tb_n(b, FX_FRAMES(__VA_ARGS__), FX_NFRAMES(__VA_ARGS__), 0)

static inline void fx_trace(ms_builder *b, uint32_t domain, uint64_t address,
		     uint64_t size, uint32_t tb)
{
	ms_error err;

	assert_int_equal(ms_builder_trace(b, domain, address, size, tb, &err),
			 0);
}

static inline ms_snapshot *fx_finish(ms_builder *b)
{
	ms_error err;
	ms_snapshot *s = ms_builder_finish(b, &err);

	assert_non_null(s);
	return s;
}

/* "file:line" per frame, oldest first, comma-separated. */
static inline const char *fx_key(const ms_stat *st, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (uint32_t i = 0; i < st->nframe && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s:%u",
				      i ? "," : "", st->frames[i].filename,
				      st->frames[i].lineno);
	return buf;
}

/* Asserts the i-th statistic: size, count and key. */
static inline void fx_expect(const ms_stats *st, size_t i, uint64_t size,
		      uint64_t count, const char *key)
{
	ms_stat s;
	char buf[512];

	assert_true(i < ms_stats_count(st));
	ms_stats_get(st, i, &s);
	assert_string_equal(fx_key(&s, buf, sizeof(buf)), key);
	assert_int_equal(s.size, size);
	assert_int_equal(s.count, count);
}

/* The same for a StatisticDiff. */
static inline void fx_expect_diff(const ms_stats *st, size_t i, uint64_t size,
			   int64_t size_diff, uint64_t count,
			   int64_t count_diff, const char *key)
{
	ms_stat s;

	fx_expect(st, i, size, count, key);
	ms_stats_get(st, i, &s);
	assert_int_equal(s.size_diff, size_diff);
	assert_int_equal(s.count_diff, count_diff);
}

#endif /* STATS_FIXTURE_H */
