/* test_statistics.c - Snapshot.statistics() with tracemalloc's semantics,
 * the native key types, and _format_size.
 *
 * The expected values of the base scenario were checked against CPython
 * 3.11's tracemalloc.Snapshot(traces, 16).statistics() on the same traces
 * (frames given as (filename, lineno) tuples). */
#include "stats_fixture.h"

#include <stdlib.h>

/* Traces of the base scenario, tracebacks most recent first:
 *   100, 50  a.c:10 (f) <- main.c:5
 *   30       a.c:10 (g) <- main.c:6
 *   200      b.c:3 <- a.c:20 <- main.c:5
 *   7        no frame at all */
static ms_snapshot *base_snapshot(void)
{
	ms_builder *b = fx_builder(16);
	uint32_t tb1 = TB(b, { "a.c", 10, "f", 0, 0x1010 }, { "main.c", 5, "main", 0, 0x2005 });
	uint32_t tb2 = TB(b, { "a.c", 10, "g", 0, 0x1099 }, { "main.c", 6, "main", 0, 0x2006 });
	uint32_t tb3 = TB(b, { "b.c", 3 }, { "a.c", 20 }, { "main.c", 5 });
	uint32_t tb4 = fx_tb_n(b, NULL, 0, 0);

	fx_trace(b, 0, 0x100, 100, tb1);
	fx_trace(b, 0, 0x200, 50, tb1);
	fx_trace(b, 0, 0x300, 30, tb2);
	fx_trace(b, 0, 0x400, 200, tb3);
	fx_trace(b, 0, 0x500, 7, tb4);
	return fx_finish(b);
}

static ms_stats *stats(const ms_snapshot *s, ms_group_by g, bool cumulative)
{
	ms_error err;
	ms_stats *st = ms_snapshot_statistics(s, g, cumulative, &err);

	assert_non_null(st);
	assert_false(ms_stats_is_diff(st));
	return st;
}

static void test_lineno_groups_by_most_recent_frame(void **state)
{
	ms_snapshot *s = base_snapshot();
	ms_stats *st = stats(s, MS_GROUP_LINENO, false);

	assert_int_equal(ms_stats_count(st), 3);
	fx_expect(st, 0, 200, 1, "b.c:3");
	fx_expect(st, 1, 180, 3, "a.c:10");
	fx_expect(st, 2, 7, 1, "<unknown>:0");
	ms_stats_free(st);
	ms_snapshot_free(s);
}

static void test_lineno_key_takes_frames_of_first_trace_met(void **state)
{
	ms_snapshot *s = base_snapshot();
	ms_stats *st = stats(s, MS_GROUP_LINENO, false);
	ms_stat one;

	ms_stats_get(st, 1, &one);
	assert_int_equal(one.nframe, 1);
	assert_string_equal(one.frames[0].function, "f");
	assert_int_equal(one.frames[0].address, 0x1010);
	ms_stats_free(st);
	ms_snapshot_free(s);
}

/* An empty traceback stands for <unknown>:0, which a real frame can name
 * too: whichever trace comes first gives the key its frame. */
static ms_snapshot *unknown_frame_snapshot(bool empty_first)
{
	ms_builder *b = fx_builder(16);
	uint32_t empty = fx_tb_n(b, NULL, 0, 0);
	uint32_t named = TB(b, { "<unknown>", 0, "named", 0, 0x4242 },
			    { "main.c", 3 });

	if (empty_first)
		fx_trace(b, 0, 0x100, 10, empty);
	fx_trace(b, 0, 0x200, 20, named);
	if (!empty_first)
		fx_trace(b, 0, 0x300, 10, empty);
	return fx_finish(b);
}

static void test_unknown_key_takes_frame_of_first_trace_met(void **state)
{
	for (int empty_first = 0; empty_first < 2; empty_first++) {
		ms_snapshot *s = unknown_frame_snapshot(empty_first);
		ms_stats *st = stats(s, MS_GROUP_LINENO, false);
		ms_stat one;

		assert_int_equal(ms_stats_count(st), 1);
		fx_expect(st, 0, 30, 2, "<unknown>:0");
		ms_stats_get(st, 0, &one);
		if (empty_first) {
			assert_null(one.frames[0].function);
			assert_int_equal(one.frames[0].address, 0);
		} else {
			assert_string_equal(one.frames[0].function, "named");
			assert_int_equal(one.frames[0].address, 0x4242);
		}
		ms_stats_free(st);
		ms_snapshot_free(s);
	}
}

static void test_filename_groups_with_lineno_zero(void **state)
{
	ms_snapshot *s = base_snapshot();
	ms_stats *st = stats(s, MS_GROUP_FILENAME, false);
	ms_stat one;

	assert_int_equal(ms_stats_count(st), 3);
	fx_expect(st, 0, 200, 1, "b.c:0");
	fx_expect(st, 1, 180, 3, "a.c:0");
	fx_expect(st, 2, 7, 1, "<unknown>:0");
	ms_stats_get(st, 1, &one);
	assert_null(one.frames[0].function);
	assert_int_equal(one.frames[0].address, 0);
	ms_stats_free(st);
	ms_snapshot_free(s);
}

static void test_traceback_groups_all_frames_oldest_first(void **state)
{
	ms_snapshot *s = base_snapshot();
	ms_stats *st = stats(s, MS_GROUP_TRACEBACK, false);

	assert_int_equal(ms_stats_count(st), 4);
	fx_expect(st, 0, 200, 1, "main.c:5,a.c:20,b.c:3");
	fx_expect(st, 1, 150, 2, "main.c:5,a.c:10");
	fx_expect(st, 2, 30, 1, "main.c:6,a.c:10");
	fx_expect(st, 3, 7, 1, "<unknown>:0");
	ms_stats_free(st);
	ms_snapshot_free(s);
}

/* Identity is (filename, lineno): other PCs, functions or total_nframe do
 * not make another key. */
static void test_traceback_key_ignores_address_function_and_depth(void **state)
{
	ms_builder *b = fx_builder(2);
	uint32_t t1 = TB(b, { "a.c", 1, "f", 0, 0x10 }, { "m.c", 2, "main", 0, 0x20 });
	uint32_t t2 = TB(b, { "a.c", 1, "g", 0, 0x11 }, { "m.c", 2, "main", 0, 0x21 });
	uint32_t t3 = fx_tb_n(b, FX_FRAMES({ "a.c", 1 }, { "m.c", 2 }), 2, 9);
	ms_snapshot *s;
	ms_stats *st;
	ms_stat one;

	fx_trace(b, 0, 1, 1, t1);
	fx_trace(b, 0, 2, 2, t2);
	fx_trace(b, 0, 3, 4, t3);
	s = fx_finish(b);
	assert_int_equal(ms_snapshot_ntracebacks(s), 3);
	st = stats(s, MS_GROUP_TRACEBACK, false);
	assert_int_equal(ms_stats_count(st), 1);
	fx_expect(st, 0, 7, 3, "m.c:2,a.c:1");
	ms_stats_get(st, 0, &one);
	assert_string_equal(one.frames[1].function, "f");
	assert_int_equal(one.frames[1].address, 0x10);
	ms_stats_free(st);
	ms_snapshot_free(s);
}

static void test_cumulative_lineno_counts_every_frame(void **state)
{
	ms_snapshot *s = base_snapshot();
	ms_stats *st = stats(s, MS_GROUP_LINENO, true);

	assert_int_equal(ms_stats_count(st), 6);
	fx_expect(st, 0, 350, 3, "main.c:5");
	fx_expect(st, 1, 200, 1, "b.c:3");
	fx_expect(st, 2, 200, 1, "a.c:20");
	fx_expect(st, 3, 180, 3, "a.c:10");
	fx_expect(st, 4, 30, 1, "main.c:6");
	fx_expect(st, 5, 7, 1, "<unknown>:0");
	ms_stats_free(st);
	ms_snapshot_free(s);
}

static void test_cumulative_filename_counts_every_file(void **state)
{
	ms_snapshot *s = base_snapshot();
	ms_stats *st = stats(s, MS_GROUP_FILENAME, true);

	assert_int_equal(ms_stats_count(st), 4);
	fx_expect(st, 0, 380, 4, "main.c:0");
	fx_expect(st, 1, 380, 4, "a.c:0");
	fx_expect(st, 2, 200, 1, "b.c:0");
	fx_expect(st, 3, 7, 1, "<unknown>:0");
	ms_stats_free(st);
	ms_snapshot_free(s);
}

/* The documented deviation: tracemalloc would report r.c:5 as 20 B in 2
 * blocks and r.c as 30 B in 3 blocks for this one 10 B block. */
static void test_cumulative_counts_recursion_once_per_trace(void **state)
{
	ms_builder *b = fx_builder(16);
	uint32_t tb = TB(b, { "r.c", 5 }, { "r.c", 5 }, { "r.c", 7 }, { "main.c", 1 });
	ms_snapshot *s;
	ms_stats *st;

	fx_trace(b, 0, 1, 10, tb);
	s = fx_finish(b);
	st = stats(s, MS_GROUP_LINENO, true);
	assert_int_equal(ms_stats_count(st), 3);
	fx_expect(st, 0, 10, 1, "r.c:7");
	fx_expect(st, 1, 10, 1, "r.c:5");
	fx_expect(st, 2, 10, 1, "main.c:1");
	ms_stats_free(st);
	st = stats(s, MS_GROUP_FILENAME, true);
	assert_int_equal(ms_stats_count(st), 2);
	fx_expect(st, 0, 10, 1, "r.c:0");
	fx_expect(st, 1, 10, 1, "main.c:0");
	ms_stats_free(st);
	ms_snapshot_free(s);
}

static ms_snapshot *function_snapshot(void)
{
	ms_builder *b = fx_builder(16);

	fx_trace(b, 0, 1, 10, TB(b, { "a.c", 10, "f" }));
	fx_trace(b, 0, 2, 20, TB(b, { "a.c", 12, "f" }));
	fx_trace(b, 0, 3, 40, TB(b, { "b.c", 1, "f" }));
	fx_trace(b, 0, 4, 5, TB(b, { "a.c", 30 }));
	fx_trace(b, 0, 5, 6, TB(b, { "a.c", 40, "??" }));
	fx_trace(b, 0, 6, 3, TB(b, { "a.c", 50, "h" }));
	fx_trace(b, 0, 7, 3, TB(b, { "a.c", 51, "k" }));
	return fx_finish(b);
}

static void expect_function(const ms_stats *st, size_t i, const char *fn)
{
	ms_stat one;

	ms_stats_get(st, i, &one);
	assert_int_equal(one.nframe, 1);
	assert_string_equal(one.frames[0].function, fn);
}

static void test_function_groups_by_function_and_file(void **state)
{
	ms_snapshot *s = function_snapshot();
	ms_stats *st = stats(s, MS_GROUP_FUNCTION, false);

	assert_int_equal(ms_stats_count(st), 5);
	fx_expect(st, 0, 40, 1, "b.c:0");
	expect_function(st, 0, "f");
	fx_expect(st, 1, 30, 2, "a.c:0");
	expect_function(st, 1, "f");
	/* no function and a function named "??" are one key */
	fx_expect(st, 2, 11, 2, "a.c:0");
	expect_function(st, 2, "??");
	/* same size, count and (filename, lineno): the function name decides */
	fx_expect(st, 3, 3, 1, "a.c:0");
	expect_function(st, 3, "k");
	fx_expect(st, 4, 3, 1, "a.c:0");
	expect_function(st, 4, "h");
	ms_stats_free(st);
	ms_snapshot_free(s);
}

static void test_cumulative_function_counts_each_function_once(void **state)
{
	ms_builder *b = fx_builder(16);
	ms_snapshot *s;
	ms_stats *st;

	fx_trace(b, 0, 1, 10,
		 TB(b, { "a.c", 1, "f" }, { "a.c", 2, "f" }, { "a.c", 3, "g" }));
	fx_trace(b, 0, 2, 5, TB(b, { "a.c", 3, "g" }));
	s = fx_finish(b);
	st = stats(s, MS_GROUP_FUNCTION, true);
	assert_int_equal(ms_stats_count(st), 2);
	fx_expect(st, 0, 15, 2, "a.c:0");
	expect_function(st, 0, "g");
	fx_expect(st, 1, 10, 1, "a.c:0");
	expect_function(st, 1, "f");
	ms_stats_free(st);
	ms_snapshot_free(s);
}

static ms_snapshot *module_snapshot(void)
{
	ms_builder *b = fx_builder(16);
	int libx = fx_module(b, "/usr/lib/libx.so", "abcd", 0x7f0000000000);
	int app = fx_module(b, "/bin/app", NULL, 0x400000);

	fx_trace(b, 0, 1, 1, TB(b, { "x.c", 1, "x1", libx }));
	fx_trace(b, 0, 2, 2, TB(b, { "y.c", 2, "y2", libx }));
	fx_trace(b, 0, 3, 4, TB(b, { "main.c", 3, "main", app }));
	fx_trace(b, 0, 4, 8, TB(b, { "/opt/libz.so", 0 }));
	fx_trace(b, 0, 5, 16,
		 TB(b, { "x.c", 1, "x1", libx }, { "y.c", 2, "y2", libx },
		    { "main.c", 3, "main", app }));
	return fx_finish(b);
}

static void test_module_groups_by_module_path(void **state)
{
	ms_snapshot *s = module_snapshot();
	ms_stats *st = stats(s, MS_GROUP_MODULE, false);
	ms_stat one;

	assert_int_equal(ms_stats_count(st), 3);
	fx_expect(st, 0, 19, 3, "/usr/lib/libx.so:0");
	ms_stats_get(st, 0, &one);
	assert_string_equal(one.frames[0].module, "/usr/lib/libx.so");
	assert_string_equal(one.frames[0].build_id, "abcd");
	assert_null(one.frames[0].function);
	/* without a module, the frame's file names it */
	fx_expect(st, 1, 8, 1, "/opt/libz.so:0");
	ms_stats_get(st, 1, &one);
	assert_null(one.frames[0].module);
	fx_expect(st, 2, 4, 1, "/bin/app:0");
	ms_stats_free(st);
	ms_snapshot_free(s);
}

static void test_cumulative_module_counts_each_module_once(void **state)
{
	ms_snapshot *s = module_snapshot();
	ms_stats *st = stats(s, MS_GROUP_MODULE, true);

	assert_int_equal(ms_stats_count(st), 3);
	fx_expect(st, 0, 20, 2, "/bin/app:0");
	fx_expect(st, 1, 19, 3, "/usr/lib/libx.so:0");
	fx_expect(st, 2, 8, 1, "/opt/libz.so:0");
	ms_stats_free(st);
	ms_snapshot_free(s);
}

static void test_equal_size_sorts_by_count(void **state)
{
	ms_builder *b = fx_builder(16);
	ms_snapshot *s;
	ms_stats *st;

	fx_trace(b, 0, 1, 10, TB(b, { "a.c", 1 }));
	fx_trace(b, 0, 2, 4, TB(b, { "b.c", 1 }));
	fx_trace(b, 0, 3, 6, TB(b, { "b.c", 1 }));
	s = fx_finish(b);
	st = stats(s, MS_GROUP_LINENO, false);
	fx_expect(st, 0, 10, 2, "b.c:1");
	fx_expect(st, 1, 10, 1, "a.c:1");
	ms_stats_free(st);
	ms_snapshot_free(s);
}

/* Ties on size and count: Traceback order, descending. Filenames compare
 * as Python str (UTF-8 byte order), linenos as numbers. */
static void test_equal_size_and_count_sorts_by_traceback(void **state)
{
	ms_builder *b = fx_builder(16);
	ms_snapshot *s;
	ms_stats *st;

	fx_trace(b, 0, 1, 10, TB(b, { "c.c", 1 }));
	fx_trace(b, 0, 2, 10, TB(b, { "e.c", 2 }));
	fx_trace(b, 0, 3, 10, TB(b, { "d.c", 1 }));
	fx_trace(b, 0, 4, 10, TB(b, { "e.c", 10 }));
	fx_trace(b, 0, 5, 10, TB(b, { "\xc3\xa9.c", 1 }));
	fx_trace(b, 0, 6, 10, TB(b, { "z.c", 1 }));
	s = fx_finish(b);
	st = stats(s, MS_GROUP_LINENO, false);
	assert_int_equal(ms_stats_count(st), 6);
	fx_expect(st, 0, 10, 1, "\xc3\xa9.c:1");
	fx_expect(st, 1, 10, 1, "z.c:1");
	fx_expect(st, 2, 10, 1, "e.c:10");
	fx_expect(st, 3, 10, 1, "e.c:2");
	fx_expect(st, 4, 10, 1, "d.c:1");
	fx_expect(st, 5, 10, 1, "c.c:1");
	ms_stats_free(st);
	ms_snapshot_free(s);
}

/* A traceback that is a prefix of another (oldest first) sorts lower. */
static void test_traceback_prefix_sorts_lower(void **state)
{
	ms_builder *b = fx_builder(16);
	ms_snapshot *s;
	ms_stats *st;

	fx_trace(b, 0, 1, 10, TB(b, { "m.c", 1 }));
	fx_trace(b, 0, 2, 10, TB(b, { "a.c", 1 }, { "m.c", 1 }));
	fx_trace(b, 0, 3, 10, TB(b, { "b.c", 1 }, { "l.c", 1 }));
	s = fx_finish(b);
	st = stats(s, MS_GROUP_TRACEBACK, false);
	fx_expect(st, 0, 10, 1, "m.c:1,a.c:1");
	fx_expect(st, 1, 10, 1, "m.c:1");
	fx_expect(st, 2, 10, 1, "l.c:1,b.c:1");
	ms_stats_free(st);
	ms_snapshot_free(s);
}

static void test_empty_snapshot_has_no_statistics(void **state)
{
	ms_snapshot *s = fx_finish(fx_builder(1));

	for (int g = MS_GROUP_FILENAME; g <= MS_GROUP_MODULE; g++) {
		ms_stats *st = stats(s, (ms_group_by)g, false);

		assert_int_equal(ms_stats_count(st), 0);
		ms_stats_free(st);
	}
	ms_snapshot_free(s);
}

static void test_statistics_outlive_their_snapshot(void **state)
{
	ms_snapshot *s = base_snapshot();
	ms_stats *st = stats(s, MS_GROUP_TRACEBACK, false);

	ms_snapshot_free(s);
	fx_expect(st, 1, 150, 2, "main.c:5,a.c:10");
	ms_stats_free(st);
}

static void test_cumulative_traceback_is_an_error(void **state)
{
	ms_snapshot *s = base_snapshot();
	ms_error err;

	assert_null(ms_snapshot_statistics(s, MS_GROUP_TRACEBACK, true, &err));
	assert_int_equal(err.code, MS_ECUMULATIVE);
	assert_string_equal(err.message,
			    "cumulative mode cannot by used with key type "
			    "'traceback'");
	ms_snapshot_free(s);
}

static void test_unknown_key_type_is_an_error(void **state)
{
	ms_snapshot *s = base_snapshot();
	ms_error err;

	assert_null(ms_snapshot_statistics(s, (ms_group_by)42, false, &err));
	assert_int_equal(err.code, MS_EKEYTYPE);
	assert_string_equal(err.message, "unknown key_type: 42");
	ms_snapshot_free(s);
}

static void test_statistics_of_no_snapshot_is_an_error(void **state)
{
	ms_error err;

	assert_null(ms_snapshot_statistics(NULL, MS_GROUP_LINENO, false, &err));
	assert_int_equal(err.code, MS_EINVAL);
	assert_string_equal(err.message, "statistics: no snapshot given");
}

static void test_group_by_parse_knows_every_name(void **state)
{
	for (int g = MS_GROUP_FILENAME; g <= MS_GROUP_MODULE; g++) {
		ms_group_by out = (ms_group_by)-1;

		assert_int_equal(ms_group_by_parse(ms_group_by_name((ms_group_by)g),
						   &out, NULL), 0);
		assert_int_equal(out, g);
	}
	assert_string_equal(ms_group_by_name(MS_GROUP_FILENAME), "filename");
	assert_string_equal(ms_group_by_name(MS_GROUP_LINENO), "lineno");
	assert_string_equal(ms_group_by_name(MS_GROUP_TRACEBACK), "traceback");
	assert_string_equal(ms_group_by_name(MS_GROUP_FUNCTION), "function");
	assert_string_equal(ms_group_by_name(MS_GROUP_MODULE), "module");
}

static void test_group_by_parse_rejects_unknown_name(void **state)
{
	ms_group_by out;
	ms_error err;

	assert_int_equal(ms_group_by_parse("foo", &out, &err), -MS_EKEYTYPE);
	assert_int_equal(err.code, MS_EKEYTYPE);
	assert_string_equal(err.message, "unknown key_type: 'foo'");
	ms_group_by_parse("it's", &out, &err);
	assert_string_equal(err.message, "unknown key_type: \"it's\"");
	ms_group_by_parse("a\\b\n", &out, &err);
	assert_string_equal(err.message, "unknown key_type: 'a\\\\b\\n'");
	ms_group_by_parse("Lineno", &out, &err);
	assert_string_equal(err.message, "unknown key_type: 'Lineno'");
	assert_int_equal(ms_group_by_parse(NULL, &out, &err), -MS_EKEYTYPE);
	assert_string_equal(err.message, "unknown key_type: None");
}

/* Expected strings generated once with python3 (3.11) on this machine:
 *   python3 -c 'import tracemalloc; print(tracemalloc._format_size(V, S))'
 * for every V and S of the table. */
static const struct {
	int64_t size;
	bool sign;
	const char *text;
} size_table[] = {
	{ INT64_C(0), false, "0 B" },
	{ INT64_C(0), true, "+0 B" },
	{ INT64_C(1), false, "1 B" },
	{ INT64_C(1), true, "+1 B" },
	{ INT64_C(-1), false, "-1 B" },
	{ INT64_C(-1), true, "-1 B" },
	{ INT64_C(99), false, "99 B" },
	{ INT64_C(99), true, "+99 B" },
	{ INT64_C(100), false, "100 B" },
	{ INT64_C(100), true, "+100 B" },
	{ INT64_C(1023), false, "1023 B" },
	{ INT64_C(1023), true, "+1023 B" },
	{ INT64_C(1024), false, "1024 B" },
	{ INT64_C(1024), true, "+1024 B" },
	{ INT64_C(10239), false, "10239 B" },
	{ INT64_C(10239), true, "+10239 B" },
	{ INT64_C(10240), false, "10.0 KiB" },
	{ INT64_C(10240), true, "+10.0 KiB" },
	{ INT64_C(-10240), false, "-10.0 KiB" },
	{ INT64_C(-10240), true, "-10.0 KiB" },
	{ INT64_C(10291), false, "10.0 KiB" },
	{ INT64_C(10291), true, "+10.0 KiB" },
	{ INT64_C(10342), false, "10.1 KiB" },
	{ INT64_C(10342), true, "+10.1 KiB" },
	{ INT64_C(10496), false, "10.2 KiB" },
	{ INT64_C(10496), true, "+10.2 KiB" },
	{ INT64_C(11008), false, "10.8 KiB" },
	{ INT64_C(11008), true, "+10.8 KiB" },
	{ INT64_C(102348), false, "99.9 KiB" },
	{ INT64_C(102348), true, "+99.9 KiB" },
	{ INT64_C(102349), false, "100.0 KiB" },
	{ INT64_C(102349), true, "+100.0 KiB" },
	{ INT64_C(102399), false, "100.0 KiB" },
	{ INT64_C(102399), true, "+100.0 KiB" },
	{ INT64_C(102400), false, "100 KiB" },
	{ INT64_C(102400), true, "+100 KiB" },
	{ INT64_C(102401), false, "100 KiB" },
	{ INT64_C(102401), true, "+100 KiB" },
	{ INT64_C(1048575), false, "1024 KiB" },
	{ INT64_C(1048575), true, "+1024 KiB" },
	{ INT64_C(10485759), false, "10240 KiB" },
	{ INT64_C(10485759), true, "+10240 KiB" },
	{ INT64_C(10485760), false, "10.0 MiB" },
	{ INT64_C(10485760), true, "+10.0 MiB" },
	{ INT64_C(104857599), false, "100.0 MiB" },
	{ INT64_C(104857599), true, "+100.0 MiB" },
	{ INT64_C(104857600), false, "100 MiB" },
	{ INT64_C(104857600), true, "+100 MiB" },
	{ INT64_C(123456789), false, "118 MiB" },
	{ INT64_C(123456789), true, "+118 MiB" },
	{ INT64_C(10737418239), false, "10240 MiB" },
	{ INT64_C(10737418239), true, "+10240 MiB" },
	{ INT64_C(10737418240), false, "10.0 GiB" },
	{ INT64_C(10737418240), true, "+10.0 GiB" },
	{ INT64_C(109951162777599), false, "100.0 TiB" },
	{ INT64_C(109951162777599), true, "+100.0 TiB" },
	{ INT64_C(1099511627776), false, "1024 GiB" },
	{ INT64_C(1099511627776), true, "+1024 GiB" },
	{ INT64_C(10995116277760), false, "10.0 TiB" },
	{ INT64_C(10995116277760), true, "+10.0 TiB" },
	{ INT64_C(1125899906842624), false, "1024 TiB" },
	{ INT64_C(1125899906842624), true, "+1024 TiB" },
	{ INT64_C(4611686018427387904), false, "4194304 TiB" },
	{ INT64_C(4611686018427387904), true, "+4194304 TiB" },
	{ INT64_MIN, false, "-8388608 TiB" },
	{ INT64_MIN, true, "-8388608 TiB" },
	{ INT64_MAX, false, "8388608 TiB" },
	{ INT64_MAX, true, "+8388608 TiB" },
	{ INT64_C(51251), false, "50.0 KiB" },
	{ INT64_C(51251), true, "+50.0 KiB" },
	{ INT64_C(5000), false, "5000 B" },
	{ INT64_C(5000), true, "+5000 B" },
	{ INT64_C(-5000), false, "-5000 B" },
	{ INT64_C(-5000), true, "-5000 B" },
	{ INT64_C(9999999), false, "9766 KiB" },
	{ INT64_C(9999999), true, "+9766 KiB" },
	{ INT64_C(-9999999), false, "-9766 KiB" },
	{ INT64_C(-9999999), true, "-9766 KiB" },
};

static void test_format_size_matches_tracemalloc(void **state)
{
	for (size_t i = 0; i < sizeof(size_table) / sizeof(size_table[0]); i++) {
		char buf[64];

		ms_format_size(buf, sizeof(buf), size_table[i].size,
			       size_table[i].sign);
		assert_string_equal(buf, size_table[i].text);
	}
}

/* The same for floats (Statistic's average), with python3 (3.11):
 *   python3 -c 'import tracemalloc; print(tracemalloc._format_size(V, S))'
 * V being a float: halves round to even, as Python's '%.0f' does. */
static const struct {
	double size;
	bool sign;
	const char *text;
} size_double_table[] = {
	{ 0.0, false, "0 B" },
	{ 0.0, true, "+0 B" },
	{ 0.5, false, "0 B" },
	{ 0.5, true, "+0 B" },
	{ 1.5, false, "2 B" },
	{ 1.5, true, "+2 B" },
	{ 2.5, false, "2 B" },
	{ 2.5, true, "+2 B" },
	{ 1003.0 / 2, false, "502 B" },
	{ 1003.0 / 2, true, "+502 B" },
	{ 99.4, false, "99 B" },
	{ 99.4, true, "+99 B" },
	{ 99.5, false, "100 B" },
	{ 99.5, true, "+100 B" },
	{ 10239.5, false, "10240 B" },
	{ 10239.5, true, "+10240 B" },
	{ 10240.0, false, "10.0 KiB" },
	{ 10240.0, true, "+10.0 KiB" },
	{ 10291.2, false, "10.1 KiB" },
	{ 10291.2, true, "+10.1 KiB" },
	{ -10240.5, false, "-10.0 KiB" },
	{ -10240.5, true, "-10.0 KiB" },
	{ 102348.8, false, "100.0 KiB" },
	{ 102348.8, true, "+100.0 KiB" },
	{ 102399.9, false, "100.0 KiB" },
	{ 102399.9, true, "+100.0 KiB" },
	{ 1048575.5, false, "1024 KiB" },
	{ 1048575.5, true, "+1024 KiB" },
	{ 10485759.9, false, "10240 KiB" },
	{ 10485759.9, true, "+10240 KiB" },
	{ 1234567.89, false, "1206 KiB" },
	{ 1234567.89, true, "+1206 KiB" },
	{ 1e15, false, "909 TiB" },
	{ 1e15, true, "+909 TiB" },
	{ -0.4, false, "-0 B" },
	{ -0.4, true, "-0 B" },
	{ 10.0 / 3, false, "3 B" },
	{ 10.0 / 3, true, "+3 B" },
	{ 10995116277759.0, false, "10240 GiB" },
	{ 10995116277759.0, true, "+10240 GiB" },
};

static void test_format_size_double_matches_tracemalloc(void **state)
{
	for (size_t i = 0;
	     i < sizeof(size_double_table) / sizeof(size_double_table[0]); i++) {
		char buf[64];

		ms_format_size_double(buf, sizeof(buf), size_double_table[i].size,
				      size_double_table[i].sign);
		assert_string_equal(buf, size_double_table[i].text);
	}
}

static void test_format_size_double_truncates_to_buffer(void **state)
{
	char buf[5] = "xxxx";

	ms_format_size_double(buf, sizeof(buf), 123456789.5, true);
	assert_string_equal(buf, "+118");
	ms_format_size_double(buf, 0, 1.5, false);
	assert_string_equal(buf, "+118");
}

static void test_format_size_truncates_to_buffer(void **state)
{
	char buf[5] = "xxxx";

	ms_format_size(buf, sizeof(buf), 123456789, true);
	assert_string_equal(buf, "+118");
	ms_format_size(buf, 0, 1, false);
	assert_string_equal(buf, "+118");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lineno_groups_by_most_recent_frame),
		cmocka_unit_test(test_lineno_key_takes_frames_of_first_trace_met),
		cmocka_unit_test(test_unknown_key_takes_frame_of_first_trace_met),
		cmocka_unit_test(test_filename_groups_with_lineno_zero),
		cmocka_unit_test(test_traceback_groups_all_frames_oldest_first),
		cmocka_unit_test(test_traceback_key_ignores_address_function_and_depth),
		cmocka_unit_test(test_cumulative_lineno_counts_every_frame),
		cmocka_unit_test(test_cumulative_filename_counts_every_file),
		cmocka_unit_test(test_cumulative_counts_recursion_once_per_trace),
		cmocka_unit_test(test_function_groups_by_function_and_file),
		cmocka_unit_test(test_cumulative_function_counts_each_function_once),
		cmocka_unit_test(test_module_groups_by_module_path),
		cmocka_unit_test(test_cumulative_module_counts_each_module_once),
		cmocka_unit_test(test_equal_size_sorts_by_count),
		cmocka_unit_test(test_equal_size_and_count_sorts_by_traceback),
		cmocka_unit_test(test_traceback_prefix_sorts_lower),
		cmocka_unit_test(test_empty_snapshot_has_no_statistics),
		cmocka_unit_test(test_statistics_outlive_their_snapshot),
		cmocka_unit_test(test_cumulative_traceback_is_an_error),
		cmocka_unit_test(test_unknown_key_type_is_an_error),
		cmocka_unit_test(test_statistics_of_no_snapshot_is_an_error),
		cmocka_unit_test(test_group_by_parse_knows_every_name),
		cmocka_unit_test(test_group_by_parse_rejects_unknown_name),
		cmocka_unit_test(test_format_size_matches_tracemalloc),
		cmocka_unit_test(test_format_size_truncates_to_buffer),
		cmocka_unit_test(test_format_size_double_matches_tracemalloc),
		cmocka_unit_test(test_format_size_double_truncates_to_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
