/* test_filter.c - tracemalloc's Filter / DomainFilter and Python's fnmatch.
 *
 * Expected trace lists were checked against CPython 3.11's
 * tracemalloc.Snapshot(traces, 4).filter_traces() on the same traces. */
#include "stats_fixture.h"

#include <stdlib.h>
#include <unistd.h>

/* Expected values generated once with python3 (3.11) on this machine, for
 * every PATTERN and NAME of the table:
 *   python3 -c 'import fnmatch, sys; print(fnmatch.fnmatch(sys.argv[2], sys.argv[1]))' PATTERN NAME */
static const struct {
	const char *pattern, *name;
	bool match;
} fnmatch_table[] = {
	{ "", "", true },
	{ "", "a", false },
	{ "*", "", true },
	{ "*", "a/b/c.c", true },
	{ "**", "x", true },
	{ "*.c", "src/main.c", true },
	{ "*.c", "src/main.h", false },
	{ "src/*", "src/a/b.c", true },
	{ "*/b.c", "src/a/b.c", true },
	{ "?", "a", true },
	{ "?", "", false },
	{ "?", "ab", false },
	{ "??", "\xc3""\xa9""\xe2""\x82""\xac""", true },
	{ "?", "\xc3""\xa9""", true },
	{ "a?c", "a/c", true },
	{ "[abc]", "b", true },
	{ "[abc]", "d", false },
	{ "[!abc]", "d", true },
	{ "[!abc]", "a", false },
	{ "[^abc]", "^", true },
	{ "[^abc]", "d", false },
	{ "[a-c]", "b", true },
	{ "[a-c]", "-", false },
	{ "[c-a]", "b", false },
	{ "[c-a]", "c", false },
	{ "[!c-a]", "x", true },
	{ "[z-ab]", "b", true },
	{ "[z-ab]", "z", false },
	{ "[]]", "]", true },
	{ "[]a]", "a", true },
	{ "[!]]", "]", false },
	{ "[!]]", "x", true },
	{ "[]-a]", "^", true },
	{ "[", "[", true },
	{ "[a", "[a", true },
	{ "[a", "a", false },
	{ "[]", "[]", true },
	{ "[!]", "[!]", true },
	{ "[!]", "a", false },
	{ "a]", "a]", true },
	{ "[-a]", "-", true },
	{ "[a-]", "-", true },
	{ "[a-]", "b", false },
	{ "[!-a]", "-", false },
	{ "[!-a]", "b", true },
	{ "[a-b-c]", "-", true },
	{ "[a-b-c]", "c", true },
	{ "[a-b--d]", "c", true },
	{ "[--z]", "a", true },
	{ "\\*", "\\x", true },
	{ "\\*", "*", false },
	{ "[\\]", "\\", true },
	{ "a\\b", "a\\b", true },
	{ "*[!/]", "dir/", false },
	{ "*[!/]", "dir/f", true },
	{ "[\xc3""\xa9""]", "\xc3""\xa9""", true },
	{ "[\xc3""\xa0""-\xc3""\xaa""]", "\xc3""\xa9""", true },
	{ "[a-z]", "\xc3""\xa9""", false },
	{ "*.py", "x.py", true },
	{ "*a*b*c", "aXbYc", true },
	{ "*a*b*c", "aXbYcZ", false },
	{ "*a*b*c*", "aXbYcZ", true },
	{ "a*a*a", "aaa", true },
	{ "a*a*a", "aa", false },
	{ "*x*", "xx", true },
	{ "[*]", "*", true },
	{ "[?]", "?", true },
	{ "[?]", "a", false },
	{ "*?", "", false },
	{ "*?", "a", true },
	{ "*[a-c]?", "zzbq", true },
	{ "/usr/lib/*", "/usr/lib/x86_64-linux-gnu/libc.so.6", true },
	{ "*/libc.so*", "/usr/lib/x86_64-linux-gnu/libc.so.6", true },
	{ "[&~|]", "~", true },
	{ "[a&&b]", "&", true },
	{ "*.[ch]", "x.h", true },
	{ "*.[ch]", "x.cc", false },
	{ "\n", "\n", true },
	{ "?", "\n", true },
	{ "*", "a\nb", true },
};

static void test_fnmatch_matches_python_table(void **state)
{
	for (size_t i = 0; i < sizeof(fnmatch_table) / sizeof(fnmatch_table[0]); i++) {
		bool got = ms_fnmatch(fnmatch_table[i].pattern,
				      fnmatch_table[i].name);

		if (got != fnmatch_table[i].match)
			fail_msg("fnmatch(%s, %s) gave %d", fnmatch_table[i].name,
				 fnmatch_table[i].pattern, got);
	}
}

static void test_fnmatch_null_matches_nothing(void **state)
{
	assert_false(ms_fnmatch(NULL, "a"));
	assert_false(ms_fnmatch("*", NULL));
}

/* Random patterns over the characters that mean something to fnmatch,
 * checked against a real python3 process. Skipped without python3. */
static void test_fnmatch_matches_python_on_random_patterns(void **state)
{
	static const char *const alphabet[] = {
		"a", "b", "-", "!", "]", "[", "*", "?", "^", "/", "\\",
		"\xc3\xa9", "\xe2\x82\xac",
	};
	static const char script[] =
		"import fnmatch, sys\n"
		"lines = sys.stdin.buffer.read().decode('utf-8').split('\\n')\n"
		"print(''.join('1' if fnmatch.fnmatch(lines[i + 1], lines[i])"
		" else '0' for i in range(0, len(lines) - 1, 2)))\n";
	enum { NPAIRS = 20000 };
	char in_path[] = "/tmp/ms_fnmatch_XXXXXX", cmd[256];
	static char pat[NPAIRS][40], name[NPAIRS][40];
	static char out[NPAIRS + 2];
	unsigned seed = 12345;
	FILE *in, *py;
	int fd;

	if (system("python3 -c '' >/dev/null 2>&1") != 0)
		skip();
	fd = mkstemp(in_path);
	assert_true(fd >= 0);
	in = fdopen(fd, "w");
	assert_non_null(in);
	for (int i = 0; i < NPAIRS; i++) {
		char *strs[2] = { pat[i], name[i] };

		for (int k = 0; k < 2; k++) {
			int len;

			seed = seed * 1103515245u + 12345u;
			len = (int)((seed >> 16) % 7);
			strs[k][0] = '\0';
			for (int c = 0; c < len; c++) {
				size_t pick;

				seed = seed * 1103515245u + 12345u;
				pick = (seed >> 16) % (k ? 6 : 13);
				/* names avoid the pattern-only characters */
				strcat(strs[k], k ? alphabet[(pick + 11) % 13]
						     : alphabet[pick]);
			}
		}
		fprintf(in, "%s\n%s\n", pat[i], name[i]);
	}
	assert_int_equal(fclose(in), 0);
	snprintf(cmd, sizeof(cmd), "python3 -c \"$MS_FNMATCH_SCRIPT\" < %s",
		 in_path);
	assert_int_equal(setenv("MS_FNMATCH_SCRIPT", script, 1), 0);
	py = popen(cmd, "r");
	assert_non_null(py);
	assert_non_null(fgets(out, sizeof(out), py));
	assert_int_equal(pclose(py), 0);
	unlink(in_path);
	assert_int_equal(strlen(out), NPAIRS + 1);
	for (int i = 0; i < NPAIRS; i++)
		if (ms_fnmatch(pat[i], name[i]) != (out[i] == '1'))
			fail_msg("fnmatch('%s', '%s'): python says %c", name[i],
				 pat[i], out[i]);
}

/* Traces (domain, address, size), tracebacks most recent first:
 *   T1 a.c:1 <- main.c:10          d0 0x10, d1 0x20
 *   T2 b.c:2 <- a.c:1 <- main.c:10 d0 0x30, d0 0x70
 *   T3 lib/x.c:5 <- main.c:11      d0 0x40
 *   T4 (no frame)                  d2 0x50
 *   T5 b.c:3 (total_nframe 7)      d1 0x60 */
static ms_snapshot *snapshot(void)
{
	ms_builder *b = fx_builder(4);
	int app = fx_module(b, "/bin/app", "beef", 0x400000);
	int libx = fx_module(b, "/lib/libx.so", NULL, 0x7f0000000000);
	uint32_t t1 = TB(b, { "a.c", 1, "fa", app, 0x401001 }, { "main.c", 10, "main", app, 0x402010 });
	uint32_t t2 = TB(b, { "b.c", 2, "fb", app, 0x403002 }, { "a.c", 1, "fa", app, 0x401001 },
			 { "main.c", 10, "main", app, 0x402010 });
	uint32_t t3 = TB(b, { "lib/x.c", 5, "x5", libx, 0x7f0000000105 }, { "main.c", 11, "main", app, 0x402011 });
	uint32_t t4 = fx_tb_n(b, NULL, 0, 0);
	uint32_t t5 = fx_tb_n(b, FX_FRAMES({ "b.c", 3 }), 1, 7);
	ms_error err;

	assert_int_equal(ms_builder_meta(b, MS_META_PID, "42", &err), 0);
	assert_int_equal(ms_builder_meta(b, MS_META_CMDLINE, "app --x", &err), 0);
	fx_trace(b, 0, 0x10, 1, t1);
	fx_trace(b, 1, 0x20, 2, t1);
	fx_trace(b, 0, 0x30, 4, t2);
	fx_trace(b, 0, 0x40, 8, t3);
	fx_trace(b, 2, 0x50, 16, t4);
	fx_trace(b, 1, 0x60, 32, t5);
	fx_trace(b, 0, 0x70, 64, t2);
	return fx_finish(b);
}

/* The kept traces' addresses, in order: "10,20". */
static const char *addresses(const ms_snapshot *s, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < ms_snapshot_ntraces(s) && o < len; i++) {
		ms_trace t;

		ms_snapshot_trace(s, i, &t);
		o += (size_t)snprintf(buf + o, len - o, "%s%llx", i ? "," : "",
				      (unsigned long long)t.address);
	}
	return buf;
}

static void expect_kept(const ms_filter *filters, size_t n, const char *want)
{
	ms_snapshot *s = snapshot(), *f;
	ms_error err;
	char buf[256];

	f = ms_snapshot_filter(s, filters, n, &err);
	assert_non_null(f);
	assert_string_equal(addresses(f, buf, sizeof(buf)), want);
	ms_snapshot_free(f);
	ms_snapshot_free(s);
}

#define FILTER(...) ((ms_filter){ .kind = MS_FILTER_FILENAME, __VA_ARGS__ })
#define DOMAIN_FILTER(incl, d) \
	((ms_filter){ .kind = MS_FILTER_DOMAIN, .inclusive = (incl), .domain = (d) })
#define KEPT(want, ...)                                                     \
	expect_kept((const ms_filter[]){ __VA_ARGS__ },                      \
		    sizeof((const ms_filter[]){ __VA_ARGS__ }) / sizeof(ms_filter), \
		    want)

static void test_inclusive_filter_matches_most_recent_frame(void **state)
{
	KEPT("10,20", FILTER(.inclusive = true, .filename_pattern = "a.c"));
	KEPT("40", FILTER(.inclusive = true, .filename_pattern = "lib/*"));
}

static void test_exclusive_filter_drops_most_recent_frame_matches(void **state)
{
	KEPT("30,40,50,60,70",
	     FILTER(.inclusive = false, .filename_pattern = "a.c"));
}

static void test_filter_lineno(void **state)
{
	KEPT("30,70", FILTER(.inclusive = true, .filename_pattern = "b.c",
			     .has_lineno = true, .lineno = 2));
	KEPT("10,20", FILTER(.inclusive = true, .filename_pattern = "*",
			     .has_lineno = true, .lineno = 1));
}

static void test_all_frames_inclusive_matches_any_frame(void **state)
{
	KEPT("10,20,30,70", FILTER(.inclusive = true, .filename_pattern = "a.c",
				   .all_frames = true));
	KEPT("40", FILTER(.inclusive = true, .filename_pattern = "main.c",
			  .has_lineno = true, .lineno = 11, .all_frames = true));
}

static void test_all_frames_exclusive_drops_any_frame_match(void **state)
{
	KEPT("40,50,60", FILTER(.inclusive = false, .filename_pattern = "a.c",
				.all_frames = true));
	KEPT("40,50,60", FILTER(.inclusive = false, .filename_pattern = "main.c",
				.has_lineno = true, .lineno = 10,
				.all_frames = true));
}

static void test_inclusive_filter_with_domain(void **state)
{
	KEPT("20,60", FILTER(.inclusive = true, .filename_pattern = "*",
			     .has_domain = true, .domain = 1));
}

/* Exclusive with a domain drops only the matches in that domain. */
static void test_exclusive_filter_with_domain(void **state)
{
	KEPT("10,20,40,50,60", FILTER(.inclusive = false, .filename_pattern = "b.c",
				      .has_domain = true, .domain = 0));
}

static void test_domain_filter(void **state)
{
	KEPT("50", DOMAIN_FILTER(true, 2));
	KEPT("20,50,60", DOMAIN_FILTER(false, 0));
	KEPT("", DOMAIN_FILTER(true, 7));
}

static void test_several_inclusive_filters_keep_the_union(void **state)
{
	KEPT("10,20,40", FILTER(.inclusive = true, .filename_pattern = "a.c"),
	     FILTER(.inclusive = true, .filename_pattern = "lib/*"));
}

static void test_exclusive_filters_apply_after_inclusive_ones(void **state)
{
	KEPT("10,30,40,70", FILTER(.inclusive = true, .filename_pattern = "*.c",
				   .all_frames = true),
	     DOMAIN_FILTER(false, 1));
	KEPT("", FILTER(.inclusive = true, .filename_pattern = "b.c",
			.has_domain = true, .domain = 1),
	     DOMAIN_FILTER(false, 1));
}

/* tracemalloc never has an empty traceback: it is (("<unknown>", 0),). */
static void test_empty_traceback_matches_as_unknown_frame(void **state)
{
	KEPT("50", FILTER(.inclusive = true, .filename_pattern = "<unknown>"));
	KEPT("50", FILTER(.inclusive = true, .filename_pattern = "<unknown>",
			  .has_lineno = true, .lineno = 0, .all_frames = true));
	KEPT("10,20,30,40,60,70",
	     FILTER(.inclusive = false, .filename_pattern = "<*>"));
}

/* _normalize_filename reads ".pyc" as ".py", in patterns and names. */
static void test_pyc_is_normalized_like_tracemalloc(void **state)
{
	ms_builder *b = fx_builder(1);
	ms_snapshot *s, *f;
	ms_filter flt = FILTER(.inclusive = true);
	char buf[64];

	fx_trace(b, 0, 1, 1, TB(b, { "m.py", 1 }));
	fx_trace(b, 0, 2, 1, TB(b, { "n.pyc", 1 }));
	s = fx_finish(b);
	flt.filename_pattern = "m.pyc";
	f = ms_snapshot_filter(s, &flt, 1, NULL);
	assert_string_equal(addresses(f, buf, sizeof(buf)), "1");
	ms_snapshot_free(f);
	flt.filename_pattern = "n.py";
	f = ms_snapshot_filter(s, &flt, 1, NULL);
	assert_string_equal(addresses(f, buf, sizeof(buf)), "2");
	ms_snapshot_free(f);
	ms_snapshot_free(s);
}

static void expect_same_frames(const ms_snapshot *a, uint32_t ta,
			       const ms_snapshot *b, uint32_t tb)
{
	const uint32_t *fa, *fb;
	uint32_t totala, totalb;
	uint32_t n = ms_snapshot_traceback(a, ta, &fa, &totala);

	assert_int_equal(ms_snapshot_traceback(b, tb, &fb, &totalb), n);
	assert_int_equal(totala, totalb);
	for (uint32_t i = 0; i < n; i++) {
		ms_frame x, y;

		ms_snapshot_frame(a, fa[i], &x);
		ms_snapshot_frame(b, fb[i], &y);
		assert_string_equal(x.filename, y.filename);
		assert_int_equal(x.lineno, y.lineno);
		assert_string_equal(x.function ? x.function : "-",
				    y.function ? y.function : "-");
		assert_string_equal(x.module ? x.module : "-",
				    y.module ? y.module : "-");
		assert_string_equal(x.build_id ? x.build_id : "-",
				    y.build_id ? y.build_id : "-");
		assert_int_equal(x.address, y.address);
		assert_int_equal(x.offset, y.offset);
	}
}

/* An empty list gives a copy: every trace in order with its traceback,
 * the limit, the metadata and the module map. */
static void test_no_filter_gives_a_copy(void **state)
{
	ms_snapshot *s = snapshot(), *c;
	ms_error err;

	c = ms_snapshot_filter(s, NULL, 0, &err);
	assert_non_null(c);
	assert_ptr_not_equal(c, s);
	assert_int_equal(ms_snapshot_traceback_limit(c), 4);
	assert_int_equal(ms_snapshot_ntraces(c), ms_snapshot_ntraces(s));
	for (size_t i = 0; i < ms_snapshot_ntraces(s); i++) {
		ms_trace a, b;

		ms_snapshot_trace(s, i, &a);
		ms_snapshot_trace(c, i, &b);
		assert_int_equal(a.domain, b.domain);
		assert_int_equal(a.address, b.address);
		assert_int_equal(a.size, b.size);
		expect_same_frames(s, a.traceback, c, b.traceback);
	}
	assert_int_equal(ms_snapshot_nmodules(c), 2);
	for (size_t i = 0; i < 2; i++) {
		ms_module a, b;

		ms_snapshot_module(s, i, &a);
		ms_snapshot_module(c, i, &b);
		assert_string_equal(a.path, b.path);
		assert_string_equal(a.build_id ? a.build_id : "-",
				    b.build_id ? b.build_id : "-");
		assert_int_equal(a.bias, b.bias);
		assert_int_equal(a.start, b.start);
		assert_int_equal(a.end, b.end);
	}
	ms_snapshot_free(s);
	assert_int_equal(ms_snapshot_nmeta(c), 2);
	assert_string_equal(ms_snapshot_meta(c, MS_META_PID), "42");
	assert_string_equal(ms_snapshot_meta(c, MS_META_CMDLINE), "app --x");
	ms_snapshot_free(c);
}

/* A filtered snapshot holds only the tracebacks its traces use. */
static void test_filter_keeps_only_used_tracebacks(void **state)
{
	ms_snapshot *s = snapshot(), *f;
	ms_filter flt = FILTER(.inclusive = true, .filename_pattern = "b.c");
	ms_trace t;

	f = ms_snapshot_filter(s, &flt, 1, NULL);
	assert_non_null(f);
	assert_int_equal(ms_snapshot_ntraces(f), 3);
	assert_int_equal(ms_snapshot_ntracebacks(f), 2);
	ms_snapshot_trace(f, 1, &t);
	assert_int_equal(t.address, 0x60);
	assert_int_equal(t.domain, 1);
	assert_int_equal(t.size, 32);
	expect_same_frames(s, 4, f, t.traceback);
	assert_string_equal(ms_snapshot_meta(f, MS_META_PID), "42");
	assert_int_equal(ms_snapshot_nmodules(f), 2);
	ms_snapshot_free(s);
	ms_snapshot_free(f);
}

static void test_filter_errors(void **state)
{
	ms_snapshot *s = snapshot();
	ms_filter bad_kind = DOMAIN_FILTER(true, 0);
	ms_filter no_pattern = FILTER(.inclusive = true);
	ms_error err;

	assert_null(ms_snapshot_filter(NULL, NULL, 0, &err));
	assert_int_equal(err.code, MS_EINVAL);
	assert_string_equal(err.message, "filter: no snapshot given");
	assert_null(ms_snapshot_filter(s, NULL, 2, &err));
	assert_int_equal(err.code, MS_EINVAL);
	assert_string_equal(err.message,
			    "filter: 2 filters announced but none given");
	bad_kind.kind = (ms_filter_kind)9;
	assert_null(ms_snapshot_filter(s, &bad_kind, 1, &err));
	assert_int_equal(err.code, MS_EINVAL);
	assert_string_equal(err.message, "filter 0: unknown filter kind 9");
	assert_null(ms_snapshot_filter(s, &no_pattern, 1, &err));
	assert_int_equal(err.code, MS_EINVAL);
	assert_string_equal(err.message,
			    "filter 0: a filename filter needs a filename pattern");
	ms_snapshot_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fnmatch_matches_python_table),
		cmocka_unit_test(test_fnmatch_null_matches_nothing),
		cmocka_unit_test(test_fnmatch_matches_python_on_random_patterns),
		cmocka_unit_test(test_inclusive_filter_matches_most_recent_frame),
		cmocka_unit_test(test_exclusive_filter_drops_most_recent_frame_matches),
		cmocka_unit_test(test_filter_lineno),
		cmocka_unit_test(test_all_frames_inclusive_matches_any_frame),
		cmocka_unit_test(test_all_frames_exclusive_drops_any_frame_match),
		cmocka_unit_test(test_inclusive_filter_with_domain),
		cmocka_unit_test(test_exclusive_filter_with_domain),
		cmocka_unit_test(test_domain_filter),
		cmocka_unit_test(test_several_inclusive_filters_keep_the_union),
		cmocka_unit_test(test_exclusive_filters_apply_after_inclusive_ones),
		cmocka_unit_test(test_empty_traceback_matches_as_unknown_frame),
		cmocka_unit_test(test_pyc_is_normalized_like_tracemalloc),
		cmocka_unit_test(test_no_filter_gives_a_copy),
		cmocka_unit_test(test_filter_keeps_only_used_tracebacks),
		cmocka_unit_test(test_filter_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
