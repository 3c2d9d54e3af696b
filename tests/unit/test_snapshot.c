/* test_snapshot.c - building snapshots from frames and capturing the table. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "memsnap.h"

static void test_builder_interns_frames_and_tracebacks(void **state)
{
	ms_error err;
	ms_builder *b = ms_builder_new(10, &err);
	ms_frame f1 = { .filename = "a.c", .lineno = 3 };
	ms_frame f2 = { .filename = "b.c", .lineno = 7, .function = "main" };
	int64_t a, a2, c, tb1, tb2, tb3;
	uint32_t ids[2];
	ms_snapshot *s;
	ms_frame out;
	ms_trace tr;
	const uint32_t *fids;
	uint32_t total;

	assert_non_null(b);
	a = ms_builder_frame(b, &f1, -1, &err);
	a2 = ms_builder_frame(b, &f1, -1, &err);
	c = ms_builder_frame(b, &f2, -1, &err);
	assert_int_equal(a, 0);
	assert_int_equal(a2, 0);
	assert_int_equal(c, 1);
	ids[0] = (uint32_t)a;
	ids[1] = (uint32_t)c;
	tb1 = ms_builder_traceback(b, ids, 2, 2, &err);
	tb2 = ms_builder_traceback(b, ids, 2, 2, &err);
	tb3 = ms_builder_traceback(b, ids, 2, 5, &err);
	assert_int_equal(tb1, 0);
	assert_int_equal(tb2, 0);
	assert_int_equal(tb3, 1);
	assert_int_equal(ms_builder_trace(b, 0, 0, 100, 0, &err), 0);
	assert_int_equal(ms_builder_trace(b, 2, 0, 50, 1, &err), 0);
	s = ms_builder_finish(b, &err);
	assert_non_null(s);
	assert_int_equal(ms_snapshot_traceback_limit(s), 10);
	assert_int_equal(ms_snapshot_ntraces(s), 2);
	assert_int_equal(ms_snapshot_ntracebacks(s), 2);
	assert_int_equal(ms_snapshot_nframes(s), 2);
	ms_snapshot_trace(s, 1, &tr);
	assert_int_equal(tr.domain, 2);
	assert_int_equal(tr.size, 50);
	assert_int_equal(ms_snapshot_traceback(s, tr.traceback, &fids, &total), 2);
	assert_int_equal(total, 5);
	ms_snapshot_frame(s, fids[1], &out);
	assert_string_equal(out.filename, "b.c");
	assert_int_equal(out.lineno, 7);
	assert_string_equal(out.function, "main");
	assert_null(out.module);
	ms_snapshot_frame(s, fids[0], &out);
	assert_null(out.function);
	ms_snapshot_free(s);
}

static void test_builder_refuses_dangling_ids_and_stays_failed(void **state)
{
	ms_error err;
	ms_builder *b = ms_builder_new(1, &err);
	uint32_t bad = 7;

	assert_int_equal(ms_builder_traceback(b, &bad, 1, 1, &err), -MS_EINVAL);
	assert_string_equal(err.message, "traceback refers to frame 7 of 0");
	assert_int_equal(ms_builder_trace(b, 0, 0, 1, 0, &err), -MS_EINVAL);
	/* the first failure is what finish reports */
	assert_null(ms_builder_finish(b, &err));
	assert_string_equal(err.message, "traceback refers to frame 7 of 0");
}

static void test_builder_meta_replaces_and_keeps_order(void **state)
{
	ms_error err;
	ms_builder *b = ms_builder_new(1, &err);
	ms_snapshot *s;
	const char *k, *v;

	assert_int_equal(ms_builder_meta(b, "pid", "12", &err), 0);
	assert_int_equal(ms_builder_meta(b, "host", "box", &err), 0);
	assert_int_equal(ms_builder_meta(b, "pid", "13", &err), 0);
	s = ms_builder_finish(b, &err);
	assert_int_equal(ms_snapshot_nmeta(s), 2);
	ms_snapshot_meta_at(s, 0, &k, &v);
	assert_string_equal(k, "pid");
	assert_string_equal(v, "13");
	assert_string_equal(ms_snapshot_meta(s, "host"), "box");
	assert_null(ms_snapshot_meta(s, "time"));
	ms_snapshot_free(s);
}

/* A symbolizer for the capture tests: PC 0x1000+n is line n of t.c in
 * function fN; PC 0x2000 expands to two frames (an inlined call). */
static int fake_resolve(void *ctx, uint64_t pc, bool is_return, ms_frame *out,
			size_t max, ms_error *err)
{
	static char func[2][32];
	int *calls = ctx;

	(*calls)++;
	assert_true(is_return);
	if (pc == 0x2000) {
		out[0] = (ms_frame){ .filename = "inl.h", .lineno = 5,
				     .function = "inner", .module = "/bin/t",
				     .offset = 0x1000 };
		out[1] = (ms_frame){ .filename = "t.c", .lineno = 99,
				     .function = "outer", .module = "/bin/t",
				     .offset = 0x1000 };
		return 2;
	}
	if (pc == 0xbad)
		return -MS_ESYMBOL;
	snprintf(func[0], sizeof(func[0]), "f%u", (unsigned)(pc - 0x1000));
	out[0] = (ms_frame){ .filename = "t.c", .lineno = (uint32_t)(pc - 0x1000),
			     .function = func[0], .module = "/bin/t",
			     .build_id = "abcd", .offset = pc - 0x1000 };
	return 1;
}

static int fake_modules(void *ctx, ms_module_cb cb, void *arg, ms_error *err)
{
	ms_module m = { "/bin/t", "abcd", 0x1000, 0x1000, 0x3000 };

	return cb(arg, &m);
}

static const ms_symbolizer_ops fake_ops = { fake_resolve, fake_modules };

static void test_capture_symbolizes_each_pc_once_and_sorts(void **state)
{
	ms_error err;
	ms_table *t = ms_table_new(&err);
	uint64_t s1[] = { 0x1001, 0x2000, 0x1003 };
	uint64_t s2[] = { 0x1002, 0x2000, 0x1003 };
	int calls = 0;
	ms_symbolizer sym = { &fake_ops, &calls };
	ms_capture *c;
	ms_snapshot *s;
	ms_trace tr;
	ms_frame f;
	ms_module m;
	const uint32_t *ids;
	uint32_t total, n;

	assert_int_equal(ms_table_alloc(t, 0, 0x9000, 30, s1, 3, 3, &err), 0);
	assert_int_equal(ms_table_alloc(t, 0, 0x8000, 20, s2, 3, 3, &err), 0);
	assert_int_equal(ms_table_alloc(t, 1, 0x1000, 10, s2, 3, 3, &err), 0);
	c = ms_capture_take(t, 16, &err);
	assert_non_null(c);
	/* the table may change right after the take */
	ms_table_clear(t);
	assert_int_equal(ms_capture_meta(c, "pid", "42", &err), 0);
	s = ms_capture_finish(c, &sym, &err);
	assert_non_null(s);
	assert_int_equal(calls, 4);
	assert_int_equal(ms_snapshot_ntraces(s), 3);
	ms_snapshot_trace(s, 0, &tr);
	assert_int_equal(tr.address, 0x8000);
	ms_snapshot_trace(s, 2, &tr);
	assert_int_equal(tr.domain, 1);
	n = ms_snapshot_traceback(s, tr.traceback, &ids, &total);
	assert_int_equal(n, 4);
	assert_int_equal(total, 4);
	ms_snapshot_frame(s, ids[0], &f);
	assert_string_equal(f.filename, "t.c");
	assert_int_equal(f.lineno, 2);
	assert_string_equal(f.function, "f2");
	assert_string_equal(f.module, "/bin/t");
	assert_string_equal(f.build_id, "abcd");
	assert_int_equal(f.address, 0x1002);
	assert_int_equal(f.offset, 0x2);
	ms_snapshot_frame(s, ids[1], &f);
	assert_string_equal(f.function, "inner");
	ms_snapshot_frame(s, ids[2], &f);
	assert_string_equal(f.function, "outer");
	assert_int_equal(f.lineno, 99);
	assert_int_equal(ms_snapshot_nmodules(s), 1);
	ms_snapshot_module(s, 0, &m);
	assert_string_equal(m.path, "/bin/t");
	assert_int_equal(m.end, 0x3000);
	assert_string_equal(ms_snapshot_meta(s, "pid"), "42");
	ms_snapshot_free(s);
	ms_table_free(t);
}

static void test_capture_cuts_at_limit_and_keeps_total(void **state)
{
	ms_error err;
	ms_table *t = ms_table_new(&err);
	uint64_t st[] = { 0x2000, 0x1001, 0x1002, 0x1003 };
	int calls = 0;
	ms_symbolizer sym = { &fake_ops, &calls };
	ms_snapshot *s;
	uint32_t total;

	assert_int_equal(ms_table_alloc(t, 0, 0x9000, 1, st, 4, 10, &err), 0);
	s = ms_capture_finish(ms_capture_take(t, 2, &err), &sym, &err);
	assert_non_null(s);
	/* 2 PCs kept, the first expands to 2 frames; 8 PCs cut */
	assert_int_equal(ms_snapshot_traceback(s, 0, NULL, &total), 3);
	assert_int_equal(total, 11);
	ms_snapshot_free(s);
	ms_table_free(t);
}

static void test_capture_without_symbolizer_names_frames_unknown(void **state)
{
	ms_error err;
	ms_table *t = ms_table_new(&err);
	uint64_t st[] = { 0xbad, 0x1234 };
	ms_snapshot *s;
	const uint32_t *ids;
	ms_frame f;

	assert_int_equal(ms_table_alloc(t, 0, 0x9000, 1, st, 2, 2, &err), 0);
	s = ms_capture_finish(ms_capture_take(t, 16, &err), NULL, &err);
	assert_non_null(s);
	assert_int_equal(ms_snapshot_traceback(s, 0, &ids, NULL), 2);
	ms_snapshot_frame(s, ids[0], &f);
	assert_string_equal(f.filename, "??");
	assert_int_equal(f.lineno, 0);
	assert_null(f.function);
	assert_int_equal(f.address, 0xbad);
	ms_snapshot_free(s);
	ms_table_free(t);
}

static void test_capture_survives_a_pc_the_symbolizer_cannot_resolve(void **state)
{
	ms_error err;
	ms_table *t = ms_table_new(&err);
	uint64_t st[] = { 0xbad, 0x1001 };
	int calls = 0;
	ms_symbolizer sym = { &fake_ops, &calls };
	ms_snapshot *s;
	const uint32_t *ids;
	ms_frame f;

	assert_int_equal(ms_table_alloc(t, 0, 0x9000, 1, st, 2, 2, &err), 0);
	s = ms_capture_finish(ms_capture_take(t, 16, &err), &sym, &err);
	assert_non_null(s);
	assert_int_equal(ms_snapshot_traceback(s, 0, &ids, NULL), 2);
	ms_snapshot_frame(s, ids[0], &f);
	assert_string_equal(f.filename, "??");
	ms_snapshot_frame(s, ids[1], &f);
	assert_string_equal(f.filename, "t.c");
	ms_snapshot_free(s);
	ms_table_free(t);
}

static void test_capture_orders_many_traces_by_domain_then_address(void **state)
{
	ms_error err;
	ms_table *t = ms_table_new(&err);
	uint64_t st[] = { 0x1001 };
	uint64_t x = 12345, total = 0, sum = 0;
	ms_snapshot *s;
	ms_trace prev, cur;

	for (int i = 0; i < 20000; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		/* addresses spread over all 47 bits, three domains */
		assert_int_equal(ms_table_alloc(t, (uint32_t)(x >> 61) % 3,
						(x >> 17) & ~15ull, i, st, 1, 1,
						&err), 0);
		total += (uint64_t)i;
	}
	s = ms_capture_finish(ms_capture_take(t, 16, &err), NULL, &err);
	assert_non_null(s);
	assert_int_equal(ms_snapshot_ntraces(s), ms_table_count(t));
	ms_snapshot_trace(s, 0, &prev);
	sum = prev.size;
	for (size_t i = 1; i < ms_snapshot_ntraces(s); i++) {
		ms_snapshot_trace(s, i, &cur);
		assert_true(prev.domain < cur.domain ||
			    (prev.domain == cur.domain && prev.address < cur.address));
		sum += cur.size;
		prev = cur;
	}
	/* nothing lost or duplicated by the sort (addresses are distinct
	 * unless the generator repeats, which the count check catches) */
	assert_int_equal(ms_snapshot_ntraces(s), 20000);
	assert_int_equal(sum, total);
	ms_snapshot_free(s);
	ms_table_free(t);
}

static void test_find_containing_in_snapshot(void **state)
{
	ms_error err;
	ms_builder *b = ms_builder_new(1, &err);
	ms_frame f = { .filename = "x.c", .lineno = 1 };
	uint32_t id = (uint32_t)ms_builder_frame(b, &f, -1, &err);
	ms_snapshot *s;
	uint64_t size, count;

	ms_builder_traceback(b, &id, 1, 1, &err);
	ms_builder_trace(b, 0, 0x1000, 0x100, 0, &err);
	ms_builder_trace(b, 2, 0x1010, 0x10, 0, &err);
	s = ms_builder_finish(b, &err);
	assert_int_equal(ms_snapshot_find_containing(s, 0x1015), 1);
	assert_int_equal(ms_snapshot_find_containing(s, 0x10ff), 0);
	assert_int_equal(ms_snapshot_find_containing(s, 0x1100), -1);
	ms_snapshot_totals(s, &size, &count);
	assert_int_equal(size, 0x110);
	assert_int_equal(count, 2);
	ms_snapshot_free(s);
}

static void test_strerror_names_every_code(void **state)
{
	assert_string_equal(ms_strerror(MS_OK), "success");
	assert_string_equal(ms_strerror(-MS_ENOMEM), "out of memory");
	assert_string_equal(ms_strerror(MS_ECHECKSUM), "snapshot file checksum mismatch");
	assert_string_equal(ms_strerror(1000), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builder_interns_frames_and_tracebacks),
		cmocka_unit_test(test_builder_refuses_dangling_ids_and_stays_failed),
		cmocka_unit_test(test_builder_meta_replaces_and_keeps_order),
		cmocka_unit_test(test_capture_symbolizes_each_pc_once_and_sorts),
		cmocka_unit_test(test_capture_cuts_at_limit_and_keeps_total),
		cmocka_unit_test(test_capture_without_symbolizer_names_frames_unknown),
		cmocka_unit_test(test_capture_survives_a_pc_the_symbolizer_cannot_resolve),
		cmocka_unit_test(test_capture_orders_many_traces_by_domain_then_address),
		cmocka_unit_test(test_find_containing_in_snapshot),
		cmocka_unit_test(test_strerror_names_every_code),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
