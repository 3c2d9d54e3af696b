/* test_command.c - the session, the command language, the reports and the
 * exports, on small snapshots built frame by frame. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <cmocka.h>

#include "command.h"

/* main (a.c:1) -> foo (b.c:2): 3 blocks of 100 B; main -> bar (c.c:3):
 * 1 block of 5000 B in domain 1. With extra, one more foo block. */
static ms_snapshot *make_snapshot(bool extra)
{
	ms_error err;
	ms_builder *b = ms_builder_new(4, &err);
	ms_frame fmain = { .filename = "a.c", .lineno = 1, .function = "main",
			   .address = 0x1000 };
	ms_frame ffoo = { .filename = "b.c", .lineno = 2, .function = "foo",
			  .address = 0x2000 };
	ms_frame fbar = { .filename = "c.c", .lineno = 3, .address = 0x3000 };
	uint32_t ids[2];
	int64_t m, f, g, tb1, tb2;

	assert_non_null(b);
	m = ms_builder_frame(b, &fmain, -1, &err);
	f = ms_builder_frame(b, &ffoo, -1, &err);
	g = ms_builder_frame(b, &fbar, -1, &err);
	ids[0] = (uint32_t)f;
	ids[1] = (uint32_t)m;
	tb1 = ms_builder_traceback(b, ids, 2, 2, &err);
	ids[0] = (uint32_t)g;
	tb2 = ms_builder_traceback(b, ids, 2, 7, &err);
	assert_true(tb1 >= 0 && tb2 >= 0);
	for (int i = 0; i < 3 + extra; i++)
		assert_int_equal(ms_builder_trace(b, 0, 0x100 * (uint64_t)(i + 1),
						  100, (uint32_t)tb1, &err), 0);
	assert_int_equal(ms_builder_trace(b, 1, 0x10000, 5000, (uint32_t)tb2,
					  &err), 0);
	ms_builder_meta(b, MS_META_PID, "77", &err);
	return ms_builder_finish(b, &err);
}

typedef struct fixture {
	ms_session *s;
	ms_output out;
	ms_error err;
	int takes;
} fixture;

static ms_snapshot *fake_take(void *arg, ms_error *err)
{
	fixture *fx = arg;

	/* every take after the first sees one more block */
	return make_snapshot(fx->takes++ > 0);
}

static int setup(void **state)
{
	fixture *fx = calloc(1, sizeof(*fx));

	fx->s = ms_session_new(&fx->err);
	ms_session_set_default_limit(fx->s, 0);
	ms_output_init_buffer(&fx->out);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	fixture *fx = *state;

	ms_session_free(fx->s);
	ms_output_destroy(&fx->out);
	free(fx);
	return 0;
}

/* Runs line; the output (or "" ) is in fx->out.buf. */
static int run(fixture *fx, const char *line)
{
	ms_output_reset(&fx->out);
	return ms_session_exec(fx->s, line, &fx->out, &fx->err);
}

static const char *text(fixture *fx)
{
	return fx->out.buf ? fx->out.buf : "";
}

/* ---------------------------------------------------------------- output */

static void test_output_buffer_grows(void **state)
{
	ms_output o;

	ms_output_init_buffer(&o);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(ms_output_printf(&o, "%04d", i), 0);
	assert_int_equal(o.len, 4000);
	assert_memory_equal(o.buf + 3996, "0999", 5);
	ms_output_destroy(&o);
}

static int failing_write(void *arg, const void *data, size_t len)
{
	(*(int *)arg)++;
	return -MS_EIO;
}

static void test_output_callback_failure_is_sticky(void **state)
{
	ms_output o;
	int calls = 0;

	ms_output_init_callback(&o, failing_write, &calls);
	assert_int_equal(ms_output_printf(&o, "x"), -MS_EIO);
	assert_int_equal(ms_output_printf(&o, "y"), -MS_EIO);
	assert_int_equal(calls, 1);
	assert_int_equal(o.error, -MS_EIO);
}

static void test_color_needs_tty_and_no_NO_COLOR(void **state)
{
	unsetenv("NO_COLOR");
	assert_true(ms_color_wanted(true));
	assert_false(ms_color_wanted(false));
	setenv("NO_COLOR", "1", 1);
	assert_false(ms_color_wanted(true));
	setenv("NO_COLOR", "", 1);
	assert_true(ms_color_wanted(true));
	unsetenv("NO_COLOR");
}

/* --------------------------------------------------------------- options */

static void test_options_parse_values_and_reject_bad_ones(void **state)
{
	ms_report_options o;
	ms_error err;

	ms_report_options_init(&o, 10);
	assert_int_equal(o.group_by, MS_GROUP_LINENO);
	assert_int_equal(o.limit, 10);
	assert_int_equal(ms_report_option_set(&o, "limit", "0x10", &err), 0);
	assert_int_equal(o.limit, 16);
	assert_int_equal(ms_report_option_set(&o, "limit", "1e3", &err),
			 -MS_EINVAL);
	assert_string_equal(err.message, "bad number for --limit: '1e3'");
	assert_int_equal(ms_report_option_set(&o, "limit", " 1", &err),
			 -MS_EINVAL);
	assert_int_equal(ms_report_option_set(&o, "include", "x/*.c:12", &err),
			 0);
	assert_string_equal(o.filters[0].filename_pattern, "x/*.c");
	assert_true(o.filters[0].has_lineno);
	assert_int_equal(o.filters[0].lineno, 12);
	assert_true(o.filters[0].inclusive);
	/* a non-numeric tail is part of the pattern */
	assert_int_equal(ms_report_option_set(&o, "exclude", "c:\\x", &err), 0);
	assert_string_equal(o.filters[1].filename_pattern, "c:\\x");
	assert_false(o.filters[1].has_lineno);
	assert_false(o.filters[1].inclusive);
	assert_int_equal(ms_report_option_set(&o, "group-by", "module", &err),
			 0);
	assert_int_equal(o.group_by, MS_GROUP_MODULE);
	assert_int_equal(ms_report_option_set(&o, "cumulative", "yes", &err),
			 -MS_EINVAL);
	assert_string_equal(err.message, "option '--cumulative' takes no value");
	assert_int_equal(ms_report_option_set(&o, "limit", NULL, &err),
			 -MS_EINVAL);
	assert_string_equal(err.message, "option '--limit' needs a value");
	assert_int_equal(ms_report_option_set(&o, "nope", NULL, &err),
			 -MS_EINVAL);
	assert_string_equal(err.message, "unknown option '--nope'");
	assert_int_equal(ms_report_option_set(&o, "domain", "65535", &err), 0);
	assert_int_equal(ms_report_option_set(&o, "domain", "65536", &err),
			 -MS_EINVAL);
	assert_int_equal(ms_report_option_set(&o, "format", "svg", &err), 0);
	assert_int_equal(o.format, MS_EXPORT_SVG);
	ms_report_options_destroy(&o);
}

/* --------------------------------------------------------------- session */

static void test_statistics_lines_are_tracemalloc_format(void **state)
{
	fixture *fx = *state;

	assert_int_equal(ms_session_add(fx->s, make_snapshot(false), "base",
					"test", &fx->err), 1);
	assert_int_equal(run(fx, "statistics"), 0);
	assert_string_equal(text(fx),
			    "c.c:3: size=5000 B, count=1, average=5000 B\n"
			    "b.c:2: size=300 B, count=3, average=100 B in foo()\n"
			    "Total: 4 blocks, 5300 B\n");
}

static void test_snapshot_prefix_is_optional_and_refs_resolve(void **state)
{
	fixture *fx = *state;
	const char *want = "b.c:2: size=300 B, count=3, average=100 B in foo()\n"
			   "Total: 3 blocks, 300 B\n";

	ms_session_add(fx->s, make_snapshot(false), "base", "test", &fx->err);
	assert_int_equal(run(fx, "snapshot statistics #1 --domain 0"), 0);
	assert_string_equal(text(fx), want);
	assert_int_equal(run(fx, "stats 1 --domain=0"), 0);
	assert_string_equal(text(fx), want);
	assert_int_equal(run(fx, "statistics --domain 0 base"), 0);
	assert_string_equal(text(fx), want);
	assert_non_null(ms_session_find(fx->s, "base", &fx->err));
	assert_null(ms_session_find(fx->s, "#2", &fx->err));
	assert_string_equal(fx->err.message,
			    "unknown snapshot '#2' ('list' shows the snapshots)");
}

static void test_take_uses_the_front_end_callback(void **state)
{
	fixture *fx = *state;

	ms_session_set_take(fx->s, fake_take, fx);
	assert_int_equal(run(fx, "take first"), 0);
	assert_string_equal(text(fx),
			    "Took snapshot #1 (first): 4 traces, 5300 B\n");
	assert_int_equal(run(fx, "take"), 0);
	assert_string_equal(text(fx), "Took snapshot #2: 5 traces, 5400 B\n");
	assert_int_equal(ms_session_count(fx->s), 2);
}

static void test_take_offline_fails_with_a_clear_message(void **state)
{
	fixture *fx = *state;

	assert_int_equal(run(fx, "take"), -MS_EINVAL);
	assert_string_equal(fx->err.message,
			    "take: no live target in this session (offline): "
			    "load a snapshot file instead");
}

static void test_compare_alone_takes_a_fresh_snapshot(void **state)
{
	fixture *fx = *state;

	ms_session_set_take(fx->s, fake_take, fx);
	assert_int_equal(run(fx, "take"), 0);
	assert_int_equal(run(fx, "compare 1"), 0);
	assert_string_equal(
		text(fx),
		"Took snapshot #2: 5 traces, 5400 B\n"
		"b.c:2: size=400 B (+100 B), count=4 (+1), average=100 B in foo()\n"
		"c.c:3: size=5000 B (+0 B), count=1 (+0), average=5000 B\n"
		"Total: 5 blocks (+1), 5400 B (+100 B)\n");
}

static void test_compare_alone_offline_uses_the_newest(void **state)
{
	fixture *fx = *state;

	ms_session_add(fx->s, make_snapshot(false), NULL, "a", &fx->err);
	ms_session_add(fx->s, make_snapshot(true), NULL, "b", &fx->err);
	assert_int_equal(run(fx, "compare #1 --limit 1"), 0);
	assert_string_equal(
		text(fx),
		"b.c:2: size=400 B (+100 B), count=4 (+1), average=100 B in foo()\n"
		"... 1 more: size=5000 B (+0 B), count=1 (+0)\n"
		"Total: 5 blocks (+1), 5400 B (+100 B)\n");
}

static void test_filter_adds_a_named_snapshot(void **state)
{
	fixture *fx = *state;

	ms_session_add(fx->s, make_snapshot(false), NULL, "a", &fx->err);
	assert_int_equal(run(fx, "filter 1 --exclude 'c.*' --name nob"), 0);
	assert_string_equal(text(fx),
			    "Filtered #1 into #2 (nob): 3 of 4 traces kept\n");
	assert_int_equal(run(fx, "list"), 0);
	assert_string_equal(text(fx),
			    "#1   -            4 traces, 5300 B (a)\n"
			    "#2   nob          3 traces, 300 B (filter of #1)\n");
	assert_int_equal(run(fx, "filter 1 --name nob"), -MS_EEXIST);
	assert_string_equal(fx->err.message,
			    "a snapshot named 'nob' already exists (#2)");
}

static void test_dump_and_load_round_trip(void **state)
{
	fixture *fx = *state;
	char dir[] = "/tmp/memsnap-cmd.XXXXXX", line[256], want[256];

	assert_non_null(mkdtemp(dir));
	ms_session_add(fx->s, make_snapshot(false), "x", "a", &fx->err);
	snprintf(line, sizeof(line), "dump x '%s/s 1.msnap'", dir);
	assert_int_equal(run(fx, line), 0);
	snprintf(want, sizeof(want), "Wrote #1 (x) to %s/s 1.msnap\n", dir);
	assert_string_equal(text(fx), want);
	snprintf(line, sizeof(line), "load \"%s/s 1.msnap\" y", dir);
	assert_int_equal(run(fx, line), 0);
	snprintf(want, sizeof(want),
		 "Loaded %s/s 1.msnap as #2 (y): 4 traces, 5300 B\n", dir);
	assert_string_equal(text(fx), want);
	assert_int_equal(run(fx, "compare x y"), 0);
	assert_non_null(strstr(text(fx), "Total: 4 blocks (+0), 5300 B (+0 B)\n"));
	snprintf(line, sizeof(line), "%s/s 1.msnap", dir);
	unlink(line);
	rmdir(dir);
}

static void test_block_names_the_containing_block(void **state)
{
	fixture *fx = *state;

	ms_session_add(fx->s, make_snapshot(false), NULL, "a", &fx->err);
	assert_int_equal(run(fx, "block 0x10010"), 0);
	assert_string_equal(text(fx),
			    "Block containing 0x10010 in #1:\n"
			    "  domain:  1\n"
			    "  address: 0x10000\n"
			    "  size:    5000 (5000 B)\n"
			    "  offset:  16\n"
			    "Traceback (most recent call last; 2 of 7 frames, "
			    "the oldest not recorded):\n"
			    "  File \"a.c\", line 1, in main\n"
			    "  File \"c.c\", line 3\n");
	assert_int_equal(run(fx, "block 0x5"), -MS_ENOTFOUND);
	assert_string_equal(fx->err.message,
			    "no live block in #1 contains 0x5");
}

static void test_block_past_the_end_names_the_nearest_block_below(void **state)
{
	fixture *fx = *state;

	ms_session_add(fx->s, make_snapshot(false), NULL, "a", &fx->err);
	/* 0x10000 + 5000 = 0x11388: 8 bytes past the end */
	assert_int_equal(run(fx, "block 0x11390"), 0);
	assert_string_equal(text(fx),
			    "No live block in #1 contains 0x11390; it is 8 "
			    "bytes past the end of the nearest block below:\n"
			    "  domain:  1\n"
			    "  address: 0x10000\n"
			    "  size:    5000 (5000 B)\n"
			    "  offset:  5008 (8 past the end)\n"
			    "Traceback (most recent call last; 2 of 7 frames, "
			    "the oldest not recorded):\n"
			    "  File \"a.c\", line 1, in main\n"
			    "  File \"c.c\", line 3\n");
	/* 64 KiB past the end is too far to be that block's overrun */
	assert_int_equal(run(fx, "block 0x21388"), -MS_ENOTFOUND);
	assert_string_equal(fx->err.message,
			    "no live block in #1 contains 0x21388");
}

static void test_leaks_groups_by_traceback_biggest_first(void **state)
{
	fixture *fx = *state;

	ms_session_add(fx->s, make_snapshot(false), NULL, "a", &fx->err);
	assert_int_equal(run(fx, "leaks"), 0);
	assert_string_equal(text(fx),
			    "Leak of 5000 byte(s) in 1 object(s) allocated "
			    "from:\n"
			    "    #0 0x3000 in ?? c.c:3\n"
			    "    #1 0x1000 in main a.c:1\n"
			    "\n"
			    "Leak of 300 byte(s) in 3 object(s) allocated "
			    "from:\n"
			    "    #0 0x2000 in foo b.c:2\n"
			    "    #1 0x1000 in main a.c:1\n"
			    "\n"
			    "SUMMARY: memsnap: 5300 byte(s) leaked in 4 "
			    "allocation(s) from 2 traceback(s).\n");
	assert_int_equal(run(fx, "leaks 1 --domain 0"), 0);
	assert_string_equal(text(fx),
			    "Leak of 300 byte(s) in 3 object(s) allocated "
			    "from:\n"
			    "    #0 0x2000 in foo b.c:2\n"
			    "    #1 0x1000 in main a.c:1\n"
			    "\n"
			    "SUMMARY: memsnap: 300 byte(s) leaked in 3 "
			    "allocation(s) from 1 traceback(s).\n");
	assert_int_equal(run(fx, "leaks --include nothing.c"), 0);
	assert_string_equal(text(fx), "No leaks: no live block.\n");
}

static void test_load_refuses_temporary_file_names(void **state)
{
	fixture *fx = *state;

	assert_true(ms_path_is_temp("/d/.s.msnap.0123456789ab.tmp"));
	assert_true(ms_path_is_temp(".a.0123456789ab.tmp"));
	assert_false(ms_path_is_temp("s.msnap"));
	assert_false(ms_path_is_temp(".s.msnap.tmp"));
	assert_false(ms_path_is_temp(".s.msnap.0123456789aB.tmp"));
	assert_false(ms_path_is_temp("..0123456789ab.tmp"));
	assert_int_equal(run(fx, "load /d/.s.msnap.0123456789ab.tmp"),
			 -MS_EINVAL);
	assert_string_equal(fx->err.message,
			    "/d/.s.msnap.0123456789ab.tmp is the temporary "
			    "file of a snapshot write that never finished "
			    "(memsnap was killed or the machine stopped before "
			    "renaming it to s.msnap): load s.msnap or an older "
			    "snapshot instead");
}

static void test_info_names_the_crash_signal(void **state)
{
	fixture *fx = *state;
	ms_builder *b = ms_builder_new(4, &fx->err);

	ms_builder_meta(b, "signal", "11", &fx->err);
	ms_builder_meta(b, "fault_address", "0x10", &fx->err);
	ms_session_add(fx->s, ms_builder_finish(b, &fx->err), NULL, "c",
		       &fx->err);
	assert_int_equal(run(fx, "info"), 0);
	assert_non_null(strstr(text(fx), "\n  signal:          11 (SIGSEGV)\n"
					 "  fault_address:   0x10\n"));
}

static void test_info_lists_metadata(void **state)
{
	fixture *fx = *state;

	ms_session_add(fx->s, make_snapshot(false), "n", "f.msnap", &fx->err);
	assert_int_equal(run(fx, "info"), 0);
	assert_string_equal(text(fx),
			    "Snapshot #1 (n) from f.msnap\n"
			    "  pid:             77\n"
			    "  cmdline:         -\n"
			    "  time:            -\n"
			    "  host:            -\n"
			    "  hooked:          -\n"
			    "  unknown frees:   -\n"
			    "  traceback limit: 4\n"
			    "  traces:          4\n"
			    "  total size:      5300 B (5300 B)\n"
			    "  modules:         0\n");
}

static void test_usage_errors_are_einval_with_messages(void **state)
{
	fixture *fx = *state;

	ms_session_add(fx->s, make_snapshot(false), NULL, "a", &fx->err);
	assert_int_equal(run(fx, "frob"), -MS_EINVAL);
	assert_string_equal(fx->err.message,
			    "unknown command 'frob' ('help' lists them)");
	assert_int_equal(run(fx, "stats --limit"), -MS_EINVAL);
	assert_string_equal(fx->err.message,
			    "statistics: option '--limit' needs a value");
	assert_int_equal(run(fx, "stats 1 2"), -MS_EINVAL);
	assert_string_equal(fx->err.message,
			    "statistics: unexpected argument '2' (usage: "
			    "statistics [SNAP] [OPTIONS])");
	assert_int_equal(run(fx, "stats -l"), -MS_EINVAL);
	assert_int_equal(run(fx, "dump 1"), -MS_EINVAL);
	assert_string_equal(fx->err.message,
			    "dump: missing argument (usage: dump SNAP FILE)");
	assert_int_equal(run(fx, "stats --group-by traceback --cumulative"),
			 -MS_ECUMULATIVE);
	assert_int_equal(run(fx, "export 1 /dev/null"), -MS_EINVAL);
	assert_int_equal(run(fx, "snapshot"), -MS_EINVAL);
	/* nothing to do */
	assert_int_equal(run(fx, ""), 0);
	assert_int_equal(run(fx, "   # a comment"), 0);
	assert_string_equal(text(fx), "");
}

static void test_no_snapshot_yet_says_what_to_do(void **state)
{
	fixture *fx = *state;

	assert_int_equal(run(fx, "stats"), -MS_ENOTFOUND);
	assert_string_equal(fx->err.message,
			    "no snapshot yet: take or load one first");
	assert_int_equal(run(fx, "list"), 0);
	assert_string_equal(text(fx), "No snapshots.\n");
}

static void test_names_must_not_look_like_numbers(void **state)
{
	fixture *fx = *state;

	assert_int_equal(ms_session_add(fx->s, make_snapshot(false), "2x",
					NULL, &fx->err), -MS_EINVAL);
	assert_int_equal(ms_session_add(fx->s, make_snapshot(false), "#a",
					NULL, &fx->err), -MS_EINVAL);
	assert_int_equal(ms_session_add(fx->s, make_snapshot(false), "ok",
					NULL, &fx->err), 1);
	assert_int_equal(ms_session_add(fx->s, make_snapshot(false), "ok",
					NULL, &fx->err), -MS_EEXIST);
}

static void test_terminal_output_is_aligned_and_coloured(void **state)
{
	fixture *fx = *state;

	ms_session_add(fx->s, make_snapshot(false), NULL, "a", &fx->err);
	ms_session_add(fx->s, make_snapshot(true), NULL, "b", &fx->err);
	fx->out.tty = true;
	assert_int_equal(run(fx, "stats 1 --include '*.c'"), 0);
	/* only spaces are added after "file:line:" */
	assert_string_equal(text(fx),
			    "c.c:3: size=5000 B, count=1, average=5000 B\n"
			    "b.c:2: size=300 B, count=3, average=100 B in foo()\n"
			    "Total: 4 blocks, 5300 B\n");
	fx->out.color = true;
	assert_int_equal(run(fx, "compare 1 2 --limit 1"), 0);
	assert_string_equal(text(fx),
			    "\033[1mb.c:2:\033[0m size=400 B (\033[31m+100 B"
			    "\033[0m), count=4 (+1), average=100 B in foo()\n"
			    "... 1 more: size=5000 B (+0 B), count=1 (+0)\n"
			    "Total: 5 blocks (+1), 5400 B (+100 B)\n");
}

static void test_alignment_pads_short_locations(void **state)
{
	ms_output o;
	ms_error err;
	ms_builder *b = ms_builder_new(1, &err);
	ms_frame f1 = { .filename = "long/path/x.c", .lineno = 100 };
	ms_frame f2 = { .filename = "y.c", .lineno = 1 };
	uint32_t id;
	ms_snapshot *s;

	id = (uint32_t)ms_builder_frame(b, &f1, -1, &err);
	ms_builder_trace(b, 0, 1, 50, (uint32_t)ms_builder_traceback(b, &id, 1, 1, &err), &err);
	id = (uint32_t)ms_builder_frame(b, &f2, -1, &err);
	ms_builder_trace(b, 0, 2, 10, (uint32_t)ms_builder_traceback(b, &id, 1, 1, &err), &err);
	s = ms_builder_finish(b, &err);
	ms_output_init_buffer(&o);
	o.tty = true;
	assert_int_equal(ms_report_statistics(&o, s, NULL, &err), 0);
	assert_string_equal(o.buf,
			    "long/path/x.c:100: size=50 B, count=1, average=50 B\n"
			    "y.c:1:             size=10 B, count=1, average=10 B\n"
			    "Total: 2 blocks, 60 B\n");
	ms_output_destroy(&o);
	ms_snapshot_free(s);
}

static void test_help_lists_every_command(void **state)
{
	fixture *fx = *state;
	static const char *const cmds[] = { "take", "list", "statistics",
					    "compare", "filter", "dump", "load",
					    "block", "info", "export", "help" };

	assert_int_equal(run(fx, "help"), 0);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(*cmds); i++) {
		char needle[32];

		snprintf(needle, sizeof(needle), "\n  %s", cmds[i]);
		assert_non_null(strstr(text(fx), needle));
	}
	assert_int_equal(run(fx, "help block"), 0);
	assert_string_equal(text(fx),
			    "snapshot block ADDR [SNAP]\n"
			    "  the live block containing ADDR and the stack "
			    "that allocated it\n");
}

/* ------------------------------------------------------------ completion */

static void expect_words(const ms_completion *c, const char *const *want,
			 size_t n)
{
	assert_int_equal(c->count, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(c->words[i], want[i]);
}

static void test_completion_of_commands_options_and_names(void **state)
{
	fixture *fx = *state;
	ms_completion c;
	static const char *const st[] = { "statistics" };
	static const char *const co[] = { "compare" };
	static const char *const gb[] = { "--group-by" };
	static const char *const groups[] = { "filename", "function", "lineno",
					      "module", "traceback" };
	static const char *const snaps[] = { "#1", "#2", "base" };
	static const char *const fmt[] = { "pprof" };

	ms_session_add(fx->s, make_snapshot(false), "base", "a", &fx->err);
	ms_session_add(fx->s, make_snapshot(false), NULL, "b", &fx->err);
	assert_int_equal(ms_session_complete(fx->s, "sta", &c, &fx->err), 0);
	expect_words(&c, st, 1);
	assert_int_equal(c.start, 0);
	ms_completion_destroy(&c);
	ms_session_complete(fx->s, "snapshot co", &c, &fx->err);
	expect_words(&c, co, 1);
	assert_int_equal(c.start, 9);
	ms_completion_destroy(&c);
	ms_session_complete(fx->s, "", &c, &fx->err);
	assert_int_equal(c.count, 13); /* 12 commands + "snapshot" */
	ms_completion_destroy(&c);
	ms_session_complete(fx->s, "stats --gr", &c, &fx->err);
	expect_words(&c, gb, 1);
	ms_completion_destroy(&c);
	ms_session_complete(fx->s, "stats --group-by ", &c, &fx->err);
	expect_words(&c, groups, 5);
	assert_int_equal(c.start, 17);
	ms_completion_destroy(&c);
	ms_session_complete(fx->s, "compare --limit 3 ", &c, &fx->err);
	expect_words(&c, snaps, 3);
	ms_completion_destroy(&c);
	ms_session_complete(fx->s, "compare 1 2 ", &c, &fx->err);
	assert_int_equal(c.count, 0);
	ms_completion_destroy(&c);
	ms_session_complete(fx->s, "dump base ", &c, &fx->err);
	assert_int_equal(c.count, 0);
	assert_true(c.filenames);
	ms_completion_destroy(&c);
	ms_session_complete(fx->s, "export 1 f.pb --format pp", &c, &fx->err);
	expect_words(&c, fmt, 1);
	ms_completion_destroy(&c);
	/* filter takes no statistics options */
	ms_session_complete(fx->s, "filter 1 --l", &c, &fx->err);
	assert_int_equal(c.count, 0);
	ms_completion_destroy(&c);
}

/* --------------------------------------------------------------- exports */

static void test_collapsed_stacks_oldest_first_with_bytes(void **state)
{
	ms_snapshot *s = make_snapshot(false);
	ms_output o;
	ms_error err;

	ms_output_init_buffer(&o);
	assert_int_equal(ms_export_collapsed(&o, s, &err), 0);
	assert_string_equal(o.buf, "main;c.c:3 5000\nmain;foo 300\n");
	ms_output_destroy(&o);
	ms_snapshot_free(s);
}

static void log_progress(void *arg, const char *phase, uint64_t done,
			 uint64_t total)
{
	ms_output *log = arg;

	ms_output_printf(log, "%s %llu/%llu\n", phase,
			 (unsigned long long)done, (unsigned long long)total);
}

/* ms_export_file: the filters applied, the file equal to ms_export's
 * bytes, and each phase reported (JSON steps through its 4 traces). */
static void test_export_file_reports_progress_and_writes_the_export(void **state)
{
	ms_snapshot *s = make_snapshot(false);
	ms_output log, direct;
	ms_progress p = { log_progress, &log };
	ms_report_options o;
	char dir[] = "/tmp/memsnap-cmd.XXXXXX", path[256], want[512];
	char content[1024];
	ms_error err;
	FILE *f;
	size_t n;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/e.json", dir);
	ms_output_init_buffer(&log);
	ms_output_init_buffer(&direct);
	ms_report_options_init(&o, 0);
	assert_int_equal(ms_export_file(s, path, &o, &p, &err), -MS_EINVAL);
	assert_string_equal(err.message, "export: --format "
			    "json|pprof|collapsed|svg is required");
	assert_int_equal(ms_report_option_set(&o, "format", "json", &err), 0);
	assert_int_equal(ms_report_option_set(&o, "domain", "0", &err), 0);
	assert_int_equal(ms_export_file(s, path, &o, &p, &err), 0);

	f = fopen(path, "rb");
	assert_non_null(f);
	n = fread(content, 1, sizeof(content), f);
	fclose(f);
	{
		ms_snapshot *d0;

		assert_int_equal(ms_report_apply_filters(s, &o, &d0, &err), 0);
		assert_int_equal(ms_export(&direct, d0, MS_EXPORT_JSON, &o,
					   &err), 0);
		ms_snapshot_free(d0);
	}
	assert_int_equal(n, direct.len);
	assert_memory_equal(content, direct.buf, n);
	snprintf(want, sizeof(want),
		 "formatting 0/0\nformatting 0/3\nwriting 0/%zu\n"
		 "writing %zu/%zu\nsyncing 0/0\n", n, n, n);
	assert_string_equal(log.buf, want);
	unlink(path);
	rmdir(dir);
	ms_report_options_destroy(&o);
	ms_output_destroy(&log);
	ms_output_destroy(&direct);
	ms_snapshot_free(s);
}

static void test_json_export_is_exact(void **state)
{
	ms_snapshot *s = make_snapshot(false);
	ms_report_options opts;
	ms_output o;
	ms_error err;

	ms_report_options_init(&opts, 1);
	ms_output_init_buffer(&o);
	assert_int_equal(ms_export_json(&o, s, &opts, &err), 0);
	assert_string_equal(
		o.buf,
		"{\n  \"format\": \"memsnap-snapshot\",\n  \"version\": 1,\n"
		"  \"traceback_limit\": 4,\n"
		"  \"totals\": {\"count\": 4, \"size\": 5300},\n"
		"  \"metadata\": {\n    \"pid\": \"77\"\n  },\n"
		"  \"modules\": [],\n"
		"  \"frames\": [\n"
		"    {\"filename\": \"a.c\", \"lineno\": 1, \"function\": \"main\", \"module\": null, \"address\": \"0x1000\"},\n"
		"    {\"filename\": \"b.c\", \"lineno\": 2, \"function\": \"foo\", \"module\": null, \"address\": \"0x2000\"},\n"
		"    {\"filename\": \"c.c\", \"lineno\": 3, \"function\": null, \"module\": null, \"address\": \"0x3000\"}\n"
		"  ],\n"
		"  \"tracebacks\": [\n"
		"    {\"total_nframe\": 2, \"frames\": [1, 0]},\n"
		"    {\"total_nframe\": 7, \"frames\": [2, 0]}\n"
		"  ],\n"
		"  \"traces\": [\n"
		"    {\"domain\": 0, \"address\": \"0x100\", \"size\": 100, \"traceback\": 0},\n"
		"    {\"domain\": 0, \"address\": \"0x200\", \"size\": 100, \"traceback\": 0},\n"
		"    {\"domain\": 0, \"address\": \"0x300\", \"size\": 100, \"traceback\": 0},\n"
		"    {\"domain\": 1, \"address\": \"0x10000\", \"size\": 5000, \"traceback\": 1}\n"
		"  ],\n"
		"  \"statistics\": {\"group_by\": \"lineno\", \"cumulative\": false, \"count\": 2, \"stats\": [\n"
		"    {\"size\": 5000, \"count\": 1, \"frames\": [{\"filename\": \"c.c\", \"lineno\": 3, \"function\": null}]}\n"
		"  ]}\n}\n");
	ms_output_destroy(&o);
	ms_report_options_destroy(&opts);
	ms_snapshot_free(s);
}

static void test_json_strings_are_escaped_and_valid_utf8(void **state)
{
	ms_error err;
	ms_builder *b = ms_builder_new(1, &err);
	ms_frame f = { .filename = "q\"\\\n\x01\xff\xc3\xa9.c", .lineno = 1 };
	uint32_t id;
	ms_snapshot *s;
	ms_output o;

	id = (uint32_t)ms_builder_frame(b, &f, -1, &err);
	ms_builder_trace(b, 0, 1, 1, (uint32_t)ms_builder_traceback(b, &id, 1, 1, &err), &err);
	s = ms_builder_finish(b, &err);
	ms_output_init_buffer(&o);
	assert_int_equal(ms_export_json(&o, s, NULL, &err), 0);
	assert_non_null(strstr(o.buf,
			       "\"filename\": \"q\\\"\\\\\\u000a\\u0001\\ufffd\xc3\xa9.c\""));
	ms_output_destroy(&o);
	ms_snapshot_free(s);
}

static void test_pprof_is_gzipped_profile_with_sample_types(void **state)
{
	ms_snapshot *s = make_snapshot(false);
	uint8_t raw[4096];
	uLongf rawlen = sizeof(raw);
	z_stream z;
	ms_output o;
	ms_error err;

	ms_output_init_buffer(&o);
	assert_int_equal(ms_export_pprof(&o, s, &err), 0);
	assert_int_equal((uint8_t)o.buf[0], 0x1f);
	assert_int_equal((uint8_t)o.buf[1], 0x8b);
	memset(&z, 0, sizeof(z));
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (Bytef *)o.buf;
	z.avail_in = (uInt)o.len;
	z.next_out = raw;
	z.avail_out = (uInt)rawlen;
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	rawlen = z.total_out;
	inflateEnd(&z);
	/* first field: sample_type {type=1, unit=2}: strings 1 and 2 */
	assert_int_equal(raw[0], 0x0a);
	assert_int_equal(raw[1], 4);
	assert_memory_equal(raw + 2, "\x08\x01\x10\x02", 4);
	assert_non_null(memmem(raw, rawlen, "inuse_space", 11));
	assert_non_null(memmem(raw, rawlen, "inuse_objects", 13));
	ms_output_destroy(&o);
	ms_snapshot_free(s);
}

static void test_svg_is_self_contained(void **state)
{
	ms_snapshot *s = make_snapshot(false);
	ms_output o;
	ms_error err;

	ms_output_init_buffer(&o);
	assert_int_equal(ms_export_svg(&o, s, "t<&>", &err), 0);
	assert_memory_equal(o.buf, "<?xml", 5);
	assert_non_null(strstr(o.buf, "t&lt;&amp;&gt; (5300 B)"));
	assert_non_null(strstr(o.buf, "<title>foo (300 B, 5.66%)</title>"));
	assert_null(strstr(o.buf, "<script"));
	assert_null(strstr(o.buf, "href"));
	ms_output_destroy(&o);
	ms_snapshot_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_output_buffer_grows),
		cmocka_unit_test(test_output_callback_failure_is_sticky),
		cmocka_unit_test(test_color_needs_tty_and_no_NO_COLOR),
		cmocka_unit_test(test_options_parse_values_and_reject_bad_ones),
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_statistics_lines_are_tracemalloc_format),
		T(test_snapshot_prefix_is_optional_and_refs_resolve),
		T(test_take_uses_the_front_end_callback),
		T(test_take_offline_fails_with_a_clear_message),
		T(test_compare_alone_takes_a_fresh_snapshot),
		T(test_compare_alone_offline_uses_the_newest),
		T(test_filter_adds_a_named_snapshot),
		T(test_dump_and_load_round_trip),
		T(test_block_names_the_containing_block),
		T(test_block_past_the_end_names_the_nearest_block_below),
		T(test_leaks_groups_by_traceback_biggest_first),
		T(test_load_refuses_temporary_file_names),
		T(test_info_names_the_crash_signal),
		T(test_info_lists_metadata),
		T(test_usage_errors_are_einval_with_messages),
		T(test_no_snapshot_yet_says_what_to_do),
		T(test_names_must_not_look_like_numbers),
		T(test_terminal_output_is_aligned_and_coloured),
		T(test_help_lists_every_command),
		T(test_completion_of_commands_options_and_names),
#undef T
		cmocka_unit_test(test_alignment_pads_short_locations),
		cmocka_unit_test(test_collapsed_stacks_oldest_first_with_bytes),
		cmocka_unit_test(test_json_export_is_exact),
		cmocka_unit_test(test_export_file_reports_progress_and_writes_the_export),
		cmocka_unit_test(test_json_strings_are_escaped_and_valid_utf8),
		cmocka_unit_test(test_pprof_is_gzipped_profile_with_sample_types),
		cmocka_unit_test(test_svg_is_self_contained),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
