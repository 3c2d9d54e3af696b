/* test_compare.c - Snapshot.compare_to() with tracemalloc's semantics:
 * keys matched by content across snapshots, StatisticDiff values and its
 * sort order (abs(size_diff), size, abs(count_diff), count, traceback). */
#include "stats_fixture.h"

#include <stdlib.h>
#include <unistd.h>

/* old: a.c:1 2 x 50, b.c:2 30, c.c:3 10 (gone in new) */
static ms_snapshot *old_snapshot(void)
{
	ms_builder *b = fx_builder(16);
	uint32_t a = TB(b, { "a.c", 1, "fa" }, { "main.c", 9 });
	uint32_t bb = TB(b, { "b.c", 2 }, { "main.c", 9 });
	uint32_t c = TB(b, { "c.c", 3, "old_fc" }, { "main.c", 8 });

	fx_trace(b, 0, 0x10, 50, a);
	fx_trace(b, 0, 0x20, 50, a);
	fx_trace(b, 0, 0x30, 30, bb);
	fx_trace(b, 0, 0x40, 10, c);
	return fx_finish(b);
}

/* new: a.c:1 3 x 50, b.c:2 30 (unchanged), d.c:4 40 (new). Strings are
 * interned in another order, so string ids differ from the old ones. */
static ms_snapshot *new_snapshot(void)
{
	ms_builder *b = fx_builder(16);
	uint32_t d = TB(b, { "d.c", 4 }, { "zzz.c", 7 }, { "main.c", 9 });
	uint32_t bb = TB(b, { "b.c", 2 }, { "main.c", 9 });
	uint32_t a = TB(b, { "a.c", 1, "fa" }, { "main.c", 9 });

	fx_trace(b, 0, 0x10, 50, a);
	fx_trace(b, 0, 0x20, 50, a);
	fx_trace(b, 0, 0x50, 50, a);
	fx_trace(b, 0, 0x30, 30, bb);
	fx_trace(b, 0, 0x60, 40, d);
	return fx_finish(b);
}

static ms_stats *compare(const ms_snapshot *n, const ms_snapshot *o,
			 ms_group_by g, bool cumulative)
{
	ms_error err;
	ms_stats *st = ms_snapshot_compare(n, o, g, cumulative, &err);

	assert_non_null(st);
	assert_true(ms_stats_is_diff(st));
	return st;
}

static void test_compare_keys_in_both_only_new_and_only_old(void **state)
{
	ms_snapshot *o = old_snapshot(), *n = new_snapshot();
	ms_stats *st = compare(n, o, MS_GROUP_LINENO, false);

	assert_int_equal(ms_stats_count(st), 4);
	fx_expect_diff(st, 0, 150, 50, 3, 1, "a.c:1");
	fx_expect_diff(st, 1, 40, 40, 1, 1, "d.c:4");
	fx_expect_diff(st, 2, 0, -10, 0, -1, "c.c:3");
	fx_expect_diff(st, 3, 30, 0, 1, 0, "b.c:2");
	ms_stats_free(st);
	ms_snapshot_free(o);
	ms_snapshot_free(n);
}

static void test_compare_key_only_in_old_keeps_old_frames(void **state)
{
	ms_snapshot *o = old_snapshot(), *n = new_snapshot();
	ms_stats *st = compare(n, o, MS_GROUP_LINENO, false);
	ms_stat one;

	ms_stats_get(st, 2, &one);
	assert_string_equal(one.frames[0].function, "old_fc");
	ms_stats_free(st);
	ms_snapshot_free(o);
	ms_snapshot_free(n);
}

static void test_compare_traceback_matches_keys_by_content(void **state)
{
	ms_snapshot *o = old_snapshot(), *n = new_snapshot();
	ms_stats *st = compare(n, o, MS_GROUP_TRACEBACK, false);

	assert_int_equal(ms_stats_count(st), 4);
	fx_expect_diff(st, 0, 150, 50, 3, 1, "main.c:9,a.c:1");
	fx_expect_diff(st, 1, 40, 40, 1, 1, "main.c:9,zzz.c:7,d.c:4");
	fx_expect_diff(st, 2, 0, -10, 0, -1, "main.c:8,c.c:3");
	fx_expect_diff(st, 3, 30, 0, 1, 0, "main.c:9,b.c:2");
	ms_stats_free(st);
	ms_snapshot_free(o);
	ms_snapshot_free(n);
}

static void test_compare_filename(void **state)
{
	ms_snapshot *o = old_snapshot(), *n = new_snapshot();
	ms_stats *st = compare(n, o, MS_GROUP_FILENAME, false);

	assert_int_equal(ms_stats_count(st), 4);
	fx_expect_diff(st, 0, 150, 50, 3, 1, "a.c:0");
	fx_expect_diff(st, 1, 40, 40, 1, 1, "d.c:0");
	fx_expect_diff(st, 2, 0, -10, 0, -1, "c.c:0");
	fx_expect_diff(st, 3, 30, 0, 1, 0, "b.c:0");
	ms_stats_free(st);
	ms_snapshot_free(o);
	ms_snapshot_free(n);
}

/* main.c:9: old a+b = 130 in 3, new a+b+d = 220 in 5; main.c:8 only old. */
static void test_compare_cumulative(void **state)
{
	ms_snapshot *o = old_snapshot(), *n = new_snapshot();
	ms_stats *st = compare(n, o, MS_GROUP_LINENO, true);

	assert_int_equal(ms_stats_count(st), 7);
	fx_expect_diff(st, 0, 220, 90, 5, 2, "main.c:9");
	fx_expect_diff(st, 1, 150, 50, 3, 1, "a.c:1");
	fx_expect_diff(st, 2, 40, 40, 1, 1, "zzz.c:7");
	fx_expect_diff(st, 3, 40, 40, 1, 1, "d.c:4");
	fx_expect_diff(st, 4, 0, -10, 0, -1, "main.c:8");
	fx_expect_diff(st, 5, 0, -10, 0, -1, "c.c:3");
	fx_expect_diff(st, 6, 30, 0, 1, 0, "b.c:2");
	ms_stats_free(st);
	ms_snapshot_free(o);
	ms_snapshot_free(n);
}

/* NMANY distinct lines in each snapshot, none shared: more units than the
 * grouping sizes its hash for from one snapshot, so it grows midway. Line
 * k has one block of k bytes; in the result a new line sorts before the
 * old line of the same number (same |size_diff|, larger size). */
enum { NMANY = 1500 };

static ms_snapshot *many_lines(const char *file, uint32_t caller)
{
	ms_builder *b = fx_builder(16);

	for (uint32_t k = 1; k <= NMANY; k++)
		fx_trace(b, 0, 0x1000 + k * 16, k,
			 TB(b, { file, k }, { "main.c", caller }));
	return fx_finish(b);
}

static void test_compare_many_units_only_in_one_snapshot(void **state)
{
	ms_snapshot *o = many_lines("old.c", 2), *n = many_lines("new.c", 1);
	ms_stats *lines = compare(n, o, MS_GROUP_LINENO, false);
	ms_stats *tbs = compare(n, o, MS_GROUP_TRACEBACK, false);
	char key[64];

	assert_int_equal(ms_stats_count(lines), 2 * NMANY);
	assert_int_equal(ms_stats_count(tbs), 2 * NMANY);
	for (uint32_t j = 0; j < NMANY; j++) {
		uint32_t k = NMANY - j;

		snprintf(key, sizeof(key), "new.c:%u", k);
		fx_expect_diff(lines, 2 * j, k, k, 1, 1, key);
		snprintf(key, sizeof(key), "old.c:%u", k);
		fx_expect_diff(lines, 2 * j + 1, 0, -(int64_t)k, 0, -1, key);
		snprintf(key, sizeof(key), "main.c:1,new.c:%u", k);
		fx_expect_diff(tbs, 2 * j, k, k, 1, 1, key);
		snprintf(key, sizeof(key), "main.c:2,old.c:%u", k);
		fx_expect_diff(tbs, 2 * j + 1, 0, -(int64_t)k, 0, -1, key);
	}
	ms_stats_free(lines);
	ms_stats_free(tbs);
	ms_snapshot_free(o);
	ms_snapshot_free(n);
}

static void test_compare_with_itself_has_zero_diffs(void **state)
{
	ms_snapshot *o = old_snapshot();
	ms_stats *st = compare(o, o, MS_GROUP_LINENO, false);

	assert_int_equal(ms_stats_count(st), 3);
	fx_expect_diff(st, 0, 100, 0, 2, 0, "a.c:1");
	fx_expect_diff(st, 1, 30, 0, 1, 0, "b.c:2");
	fx_expect_diff(st, 2, 10, 0, 1, 0, "c.c:3");
	ms_stats_free(st);
	ms_snapshot_free(o);
}

static void add(ms_builder *b, const char *file, uint64_t size, int n)
{
	uint32_t tb = fx_tb_n(b, FX_FRAMES({ file, 1 }), 1, 0);
	static uint64_t address = 0x1000;

	for (int i = 0; i < n; i++)
		fx_trace(b, 0, address += 0x100, size / (uint64_t)n, tb);
}

/* Each group ties on the sort keys before the one its name gives:
 *   size decides:          pb +20 (size 20) before pa -20 (size 0)
 *   abs(count_diff):       qb (cd +2) before qa (cd 0), both +200 / 300
 *   count:                 rb (count 3) before ra (count 2), both cd +1
 *   traceback:             rc (cd -1, count 3) ties rb, and "rc" > "rb" */
static void test_compare_sort_ties(void **state)
{
	ms_builder *ob = fx_builder(1), *nb = fx_builder(1);
	ms_snapshot *o, *n;
	ms_stats *st;

	add(ob, "pa.c", 20, 1);
	add(nb, "pb.c", 20, 1);
	add(ob, "qa.c", 100, 1);
	add(nb, "qa.c", 300, 1);
	add(ob, "qb.c", 100, 1);
	add(nb, "qb.c", 300, 3);
	add(ob, "ra.c", 1000, 1);
	add(nb, "ra.c", 3000, 2);
	add(ob, "rb.c", 1000, 2);
	add(nb, "rb.c", 3000, 3);
	add(ob, "rc.c", 1000, 4);
	add(nb, "rc.c", 3000, 3);
	o = fx_finish(ob);
	n = fx_finish(nb);
	st = compare(n, o, MS_GROUP_LINENO, false);
	assert_int_equal(ms_stats_count(st), 7);
	fx_expect_diff(st, 0, 3000, 2000, 3, -1, "rc.c:1");
	fx_expect_diff(st, 1, 3000, 2000, 3, 1, "rb.c:1");
	fx_expect_diff(st, 2, 3000, 2000, 2, 1, "ra.c:1");
	fx_expect_diff(st, 3, 300, 200, 3, 2, "qb.c:1");
	fx_expect_diff(st, 4, 300, 200, 1, 0, "qa.c:1");
	fx_expect_diff(st, 5, 20, 20, 1, 1, "pb.c:1");
	fx_expect_diff(st, 6, 0, -20, 0, -1, "pa.c:1");
	ms_stats_free(st);
	ms_snapshot_free(o);
	ms_snapshot_free(n);
}

static void test_compare_against_empty_snapshot(void **state)
{
	ms_snapshot *o = old_snapshot(), *e = fx_finish(fx_builder(16));
	ms_stats *st = compare(e, o, MS_GROUP_FILENAME, false);

	assert_int_equal(ms_stats_count(st), 3);
	fx_expect_diff(st, 0, 0, -100, 0, -2, "a.c:0");
	fx_expect_diff(st, 1, 0, -30, 0, -1, "b.c:0");
	fx_expect_diff(st, 2, 0, -10, 0, -1, "c.c:0");
	ms_stats_free(st);
	st = compare(o, e, MS_GROUP_FILENAME, false);
	fx_expect_diff(st, 0, 100, 100, 2, 2, "a.c:0");
	ms_stats_free(st);
	ms_snapshot_free(o);
	ms_snapshot_free(e);
}

static void test_compare_cumulative_traceback_is_an_error(void **state)
{
	ms_snapshot *o = old_snapshot();
	ms_error err;

	assert_null(ms_snapshot_compare(o, o, MS_GROUP_TRACEBACK, true, &err));
	assert_int_equal(err.code, MS_ECUMULATIVE);
	assert_string_equal(err.message,
			    "cumulative mode cannot by used with key type "
			    "'traceback'");
	ms_snapshot_free(o);
}

static void test_compare_unknown_key_type_is_an_error(void **state)
{
	ms_snapshot *o = old_snapshot();
	ms_error err;

	assert_null(ms_snapshot_compare(o, o, (ms_group_by)-3, false, &err));
	assert_int_equal(err.code, MS_EKEYTYPE);
	assert_string_equal(err.message, "unknown key_type: -3");
	ms_snapshot_free(o);
}

static void test_compare_needs_both_snapshots(void **state)
{
	ms_snapshot *o = old_snapshot();
	ms_error err;

	assert_null(ms_snapshot_compare(o, NULL, MS_GROUP_LINENO, false, &err));
	assert_int_equal(err.code, MS_EINVAL);
	assert_string_equal(err.message, "compare: old snapshot not given");
	assert_null(ms_snapshot_compare(NULL, o, MS_GROUP_LINENO, false, &err));
	assert_string_equal(err.message, "compare: new snapshot not given");
	ms_snapshot_free(o);
}

/* ---------------------------------------------------------- parity with
 * CPython: the same random traces go to the engine and to a real python3
 * running tracemalloc, and both print every result the same way. */

static const char *const parity_files[] = {
	"a.c", "b.c", "main.c", "Z.c", "\xc3\xa9.c", "lib/x.c", "b.cc", "a",
};
#define NPARITY_FILES (sizeof(parity_files) / sizeof(parity_files[0]))

static uint32_t parity_rand(uint32_t *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 16;
}

/* Frames of one traceback have distinct files, so that cumulative mode has
 * no recursion to count (where memsnap deviates on purpose). Sizes take
 * four values so that ties on size and count are common. */
static ms_snapshot *parity_snapshot(uint32_t seed)
{
	ms_builder *b = fx_builder(8);
	uint32_t tbs[40];

	for (int t = 0; t < 40; t++) {
		fx_frame frames[5];
		uint32_t n = t == 0 ? 0 : 1 + parity_rand(&seed) % 5;
		bool used[NPARITY_FILES] = { false };

		for (uint32_t i = 0; i < n; i++) {
			uint32_t f;

			do
				f = parity_rand(&seed) % NPARITY_FILES;
			while (used[f]);
			used[f] = true;
			memset(&frames[i], 0, sizeof(frames[i]));
			frames[i].filename = parity_files[f];
			frames[i].lineno = 1 + parity_rand(&seed) % 12;
			frames[i].address = parity_rand(&seed);
		}
		tbs[t] = fx_tb_n(b, frames, n, 0);
	}
	for (int i = 0; i < 300; i++) {
		uint32_t t = parity_rand(&seed) % 40;

		fx_trace(b, 0, 0x1000 + (uint64_t)i * 16,
			 8 * (1 + parity_rand(&seed) % 4), tbs[t]);
	}
	return fx_finish(b);
}

/* One line per trace: size, then filename and lineno per frame, most
 * recent first, tab-separated. */
static void write_traces(const ms_snapshot *s, const char *path)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	for (size_t i = 0; i < ms_snapshot_ntraces(s); i++) {
		const uint32_t *ids;
		ms_trace t;
		uint32_t n;

		ms_snapshot_trace(s, i, &t);
		n = ms_snapshot_traceback(s, t.traceback, &ids, NULL);
		fprintf(f, "%llu", (unsigned long long)t.size);
		for (uint32_t k = 0; k < n; k++) {
			ms_frame fr;

			ms_snapshot_frame(s, ids[k], &fr);
			fprintf(f, "\t%s\t%u", fr.filename, fr.lineno);
		}
		fprintf(f, "\n");
	}
	assert_int_equal(fclose(f), 0);
}

static const struct {
	ms_group_by g;
	bool cumulative;
} parity_queries[] = {
	{ MS_GROUP_LINENO, false }, { MS_GROUP_FILENAME, false },
	{ MS_GROUP_TRACEBACK, false }, { MS_GROUP_LINENO, true },
	{ MS_GROUP_FILENAME, true },
};

static const char parity_script[] =
	"import sys, tracemalloc as T\n"
	"def load(path):\n"
	"    traces = []\n"
	"    for line in open(path, encoding='utf-8'):\n"
	"        p = line.rstrip('\\n').split('\\t')\n"
	"        fr = tuple((p[i], int(p[i + 1])) for i in range(1, len(p), 2))\n"
	"        fr = fr or (('<unknown>', 0),)\n"
	"        traces.append((0, int(p[0]), fr, len(fr)))\n"
	"    return T.Snapshot(traces, 8)\n"
	"new, old = load(sys.argv[1]), load(sys.argv[2])\n"
	"def key(tb):\n"
	"    return ','.join('%s:%d' % (f.filename, f.lineno) for f in tb)\n"
	"for k in ('lineno', 'filename', 'traceback', 'lineno+', 'filename+'):\n"
	"    c = k.endswith('+'); k = k.rstrip('+')\n"
	"    print('statistics', k, c)\n"
	"    for s in new.statistics(k, c):\n"
	"        print(s.size, s.count, key(s.traceback))\n"
	"    print('compare', k, c)\n"
	"    for s in new.compare_to(old, k, c):\n"
	"        print(s.size, s.size_diff, s.count, s.count_diff, key(s.traceback))\n";

static void append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
		va_end(ap);
		assert_true(n >= 0);
		if ((size_t)n < *cap - *len)
			break;
		*cap = *cap * 2 + (size_t)n;
		*buf = realloc(*buf, *cap);
		assert_non_null(*buf);
	}
	*len += (size_t)n;
}

static void print_stats(char **buf, size_t *len, size_t *cap,
			const ms_stats *st)
{
	for (size_t i = 0; i < ms_stats_count(st); i++) {
		ms_stat s;
		char key[512];

		ms_stats_get(st, i, &s);
		fx_key(&s, key, sizeof(key));
		if (ms_stats_is_diff(st))
			append(buf, len, cap, "%llu %lld %llu %lld %s\n",
			       (unsigned long long)s.size, (long long)s.size_diff,
			       (unsigned long long)s.count,
			       (long long)s.count_diff, key);
		else
			append(buf, len, cap, "%llu %llu %s\n",
			       (unsigned long long)s.size,
			       (unsigned long long)s.count, key);
	}
}

static void test_statistics_and_compare_match_python_tracemalloc(void **state)
{
	char new_path[] = "/tmp/ms_parity_new_XXXXXX";
	char old_path[] = "/tmp/ms_parity_old_XXXXXX";
	char cmd[256], *want = NULL, *got = NULL;
	size_t want_len = 0, want_cap = 0, got_len = 0, got_cap = 256;
	ms_snapshot *n, *o;
	FILE *py;
	int fd;

	if (system("python3 -c 'import tracemalloc' >/dev/null 2>&1") != 0)
		skip();
	n = parity_snapshot(7);
	o = parity_snapshot(11);
	assert_true((fd = mkstemp(new_path)) >= 0);
	close(fd);
	assert_true((fd = mkstemp(old_path)) >= 0);
	close(fd);
	write_traces(n, new_path);
	write_traces(o, old_path);

	got = malloc(got_cap);
	assert_non_null(got);
	for (size_t q = 0; q < sizeof(parity_queries) / sizeof(parity_queries[0]); q++) {
		ms_group_by g = parity_queries[q].g;
		bool c = parity_queries[q].cumulative;
		ms_stats *st;

		append(&got, &got_len, &got_cap, "statistics %s %s\n",
		       ms_group_by_name(g), c ? "True" : "False");
		st = ms_snapshot_statistics(n, g, c, NULL);
		assert_non_null(st);
		print_stats(&got, &got_len, &got_cap, st);
		ms_stats_free(st);
		append(&got, &got_len, &got_cap, "compare %s %s\n",
		       ms_group_by_name(g), c ? "True" : "False");
		st = ms_snapshot_compare(n, o, g, c, NULL);
		assert_non_null(st);
		print_stats(&got, &got_len, &got_cap, st);
		ms_stats_free(st);
	}

	assert_int_equal(setenv("MS_PARITY_SCRIPT", parity_script, 1), 0);
	snprintf(cmd, sizeof(cmd), "python3 -c \"$MS_PARITY_SCRIPT\" %s %s",
		 new_path, old_path);
	py = popen(cmd, "r");
	assert_non_null(py);
	for (;;) {
		if (want_cap - want_len < 4096) {
			want_cap = want_cap * 2 + 4096;
			want = realloc(want, want_cap);
			assert_non_null(want);
		}
		size_t r = fread(want + want_len, 1, want_cap - want_len - 1, py);

		if (r == 0)
			break;
		want_len += r;
	}
	want[want_len] = '\0';
	assert_int_equal(pclose(py), 0);
	unlink(new_path);
	unlink(old_path);
	assert_true(want_len > 1000);
	assert_string_equal(got, want);
	free(got);
	free(want);
	ms_snapshot_free(n);
	ms_snapshot_free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compare_keys_in_both_only_new_and_only_old),
		cmocka_unit_test(test_compare_key_only_in_old_keeps_old_frames),
		cmocka_unit_test(test_compare_traceback_matches_keys_by_content),
		cmocka_unit_test(test_compare_filename),
		cmocka_unit_test(test_compare_cumulative),
		cmocka_unit_test(test_compare_many_units_only_in_one_snapshot),
		cmocka_unit_test(test_compare_with_itself_has_zero_diffs),
		cmocka_unit_test(test_compare_sort_ties),
		cmocka_unit_test(test_compare_against_empty_snapshot),
		cmocka_unit_test(test_compare_cumulative_traceback_is_an_error),
		cmocka_unit_test(test_compare_unknown_key_type_is_an_error),
		cmocka_unit_test(test_compare_needs_both_snapshots),
		cmocka_unit_test(test_statistics_and_compare_match_python_tracemalloc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
