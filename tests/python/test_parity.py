"""memsnap against CPython's own tracemalloc on the same raw traces:
statistics, diffs, filters, strings, reprs, sort orders and errors must be
identical (tracemalloc.Snapshot(raw, limit) works without tracing)."""
import collections
import itertools
import tracemalloc
import unittest

import memsnap
from msutil import both, random_raw, raw_of

KEYS = [('filename', False), ('lineno', False), ('traceback', False),
        ('filename', True), ('lineno', True)]
SEEDS = range(6)


def texts(stats):
    return [(str(s), repr(s)) for s in stats]


class TestStatisticsParity(unittest.TestCase):
    maxDiff = None

    def test_statistics_same_strings_reprs_and_order(self):
        for seed, (key, cumulative) in itertools.product(SEEDS, KEYS):
            with self.subTest(seed=seed, key=key, cumulative=cumulative):
                ms, tm = both(random_raw(seed))
                got = ms.statistics(key, cumulative)
                want = tm.statistics(key, cumulative)
                self.assertEqual(texts(got), texts(want))

    def test_statistics_same_values(self):
        for seed, (key, cumulative) in itertools.product(SEEDS, KEYS):
            with self.subTest(seed=seed, key=key, cumulative=cumulative):
                ms, tm = both(random_raw(seed))
                got = [(tuple((f.filename, f.lineno) for f in s.traceback),
                        s.size, s.count)
                       for s in ms.statistics(key, cumulative)]
                want = [(tuple((f.filename, f.lineno) for f in s.traceback),
                         s.size, s.count)
                        for s in tm.statistics(key, cumulative)]
                self.assertEqual(got, want)

    def test_compare_to_same_strings_reprs_and_order(self):
        for seed, (key, cumulative) in itertools.product(SEEDS, KEYS):
            with self.subTest(seed=seed, key=key, cumulative=cumulative):
                new_raw = random_raw(seed)
                old_raw = random_raw(seed + 100)[:250] + new_raw[:100]
                ms_new, tm_new = both(new_raw)
                ms_old, tm_old = both(old_raw)
                got = ms_new.compare_to(ms_old, key, cumulative)
                want = tm_new.compare_to(tm_old, key, cumulative)
                self.assertEqual(texts(got), texts(want))

    def test_compare_to_itself_has_zero_diffs(self):
        ms, tm = both(random_raw(3))
        got = ms.compare_to(ms, 'lineno')
        self.assertEqual(texts(got), texts(tm.compare_to(tm, 'lineno')))
        self.assertTrue(all(s.size_diff == 0 and s.count_diff == 0
                            for s in got))

    def test_empty_snapshot_gives_empty_statistics(self):
        ms, tm = both([])
        self.assertEqual(ms.statistics('lineno'), [])
        self.assertEqual(texts(ms.compare_to(ms, 'filename')),
                         texts(tm.compare_to(tm, 'filename')))

    def test_same_frames_different_total_nframe_group_together(self):
        raw = [(0, 10, (('a.c', 1),), 1), (0, 20, (('a.c', 1),), 9)]
        ms, tm = both(raw)
        self.assertEqual(texts(ms.statistics('traceback')),
                         texts(tm.statistics('traceback')))
        self.assertEqual(len(ms.statistics('traceback')), 1)

    def test_cumulative_counts_a_recursive_key_once_per_trace(self):
        # documented deviation: tracemalloc counts a key met twice in one
        # traceback twice; memsnap counts it once for that trace
        raw = [(0, 100, (('r.c', 5), ('r.c', 5), ('main.c', 1)), 3),
               (0, 10, (('r.c', 5), ('r.c', 6)), 2)]
        ms, tm = both(raw)
        got = {str(s.traceback): (s.size, s.count)
               for s in ms.statistics('lineno', cumulative=True)}
        want = {str(s.traceback): (s.size, s.count)
                for s in tm.statistics('lineno', cumulative=True)}
        self.assertEqual(want['r.c:5'], (210, 3))
        self.assertEqual(got['r.c:5'], (110, 2))
        self.assertEqual(got['main.c:1'], want['main.c:1'])
        got = {str(s.traceback): (s.size, s.count)
               for s in ms.statistics('filename', cumulative=True)}
        self.assertEqual(got, {'r.c:0': (110, 2), 'main.c:0': (100, 1)})

    def test_cumulative_recursion_matches_tracemalloc_after_dedup(self):
        for seed in SEEDS:
            raw = random_raw(seed, recursion=True)
            ms = memsnap.Snapshot(raw, 5)
            for key in ('lineno', 'filename'):
                want = collections.Counter()
                count = collections.Counter()
                for domain, size, frames, total in raw:
                    keys = {(f, l if key == 'lineno' else 0)
                            for f, l in frames}
                    for k in keys:
                        want[k] += size
                        count[k] += 1
                got = {(s.traceback[0].filename, s.traceback[0].lineno):
                       (s.size, s.count)
                       for s in ms.statistics(key, cumulative=True)}
                self.assertEqual(got, {k: (want[k], count[k]) for k in want})


class TestFilterParity(unittest.TestCase):
    maxDiff = None
    PATTERNS = ['dir0/*', '*file1*', '*.c', 'dir1/file3.c', '?ir*',
                '*[13].c', '*[!0-4].c', '<unknown>', 'nomatch', '*']

    def filters(self, mod):
        yield []
        for pattern in self.PATTERNS:
            for inclusive, all_frames in itertools.product((True, False),
                                                           repeat=2):
                yield [mod.Filter(inclusive, pattern, all_frames=all_frames)]
                yield [mod.Filter(inclusive, pattern, 2, all_frames)]
                yield [mod.Filter(inclusive, pattern, domain=1,
                                  all_frames=all_frames)]
        for d in range(4):
            yield [mod.DomainFilter(True, d)]
            yield [mod.DomainFilter(False, d)]
        yield [mod.Filter(True, 'dir0/*'), mod.Filter(True, '*file1.c'),
               mod.Filter(False, '*', 3, True), mod.DomainFilter(False, 2)]
        yield [mod.Filter(False, '*file2*', all_frames=True),
               mod.Filter(False, 'dir1/*', 1)]

    def test_filter_traces_keeps_the_same_traces(self):
        for seed in SEEDS[:3]:
            ms, tm = both(random_raw(seed))
            for mf, tf in zip(self.filters(memsnap), self.filters(tracemalloc)):
                with self.subTest(seed=seed, filters=[vars_of(f) for f in tf]):
                    self.assertEqual(raw_of(ms.filter_traces(mf)),
                                     raw_of(tm.filter_traces(tf)))

    def test_filtered_statistics_match(self):
        ms, tm = both(random_raw(11))
        mf = [memsnap.Filter(False, '<unknown>'),
              memsnap.Filter(True, 'dir1/*', all_frames=True)]
        tf = [tracemalloc.Filter(False, '<unknown>'),
              tracemalloc.Filter(True, 'dir1/*', all_frames=True)]
        self.assertEqual(
            texts(ms.filter_traces(mf).statistics('lineno', True)),
            texts(tm.filter_traces(tf).statistics('lineno', True)))

    def test_pyc_pattern_is_normalized_like_tracemalloc(self):
        self.assertEqual(memsnap.Filter(True, 'x/y.pyc').filename_pattern,
                         tracemalloc.Filter(True, 'x/y.pyc').filename_pattern)


def vars_of(f):
    return (type(f).__name__, f.inclusive, getattr(f, 'filename_pattern', None),
            getattr(f, 'lineno', None), getattr(f, 'all_frames', None),
            f.domain)


class TestStringParity(unittest.TestCase):
    maxDiff = None

    def test_trace_traceback_frame_strings(self):
        raw = random_raw(5, ntraces=80)
        ms, tm = both(raw)
        for a, b in zip(ms.traces, tm.traces):
            self.assertEqual((str(a), repr(a)), (str(b), repr(b)))
            self.assertEqual((str(a.traceback), repr(a.traceback)),
                             (str(b.traceback), repr(b.traceback)))
            for fa, fb in zip(a.traceback, b.traceback):
                self.assertEqual((str(fa), repr(fa)), (str(fb), repr(fb)))
        self.assertEqual(repr(ms.traces), repr(tm.traces))

    def test_format_size_matches_tracemalloc(self):
        values = [0, 1, 99, 100, 1023, 1024, 10239, 10240, 10241, 102399,
                  102400, 1 << 20, 10 << 20, 1 << 30, 5 << 40, 123456789012,
                  (1 << 63) - 1, 1 << 70, 0.5, 1.5, 2.5, 333.33, 1023.5,
                  10239.6, 102399.9, 1e18, 2501.0]
        values += [-v for v in values]
        for v, sign in itertools.product(values, (False, True)):
            with self.subTest(v=v, sign=sign):
                self.assertEqual(memsnap._format_size(v, sign),
                                 tracemalloc._format_size(v, sign))

    def test_average_rounds_like_tracemalloc(self):
        # 1003 / 2 = 501.5 rounds to 502 B as a float, not 501 B
        raw = [(0, 1000, (('a.c', 1),), 1), (0, 3, (('a.c', 1),), 1),
               (0, 1 << 20, (('b.c', 1),), 1), (0, 1, (('b.c', 1),), 1),
               (0, 0, (('c.c', 1),), 1)]
        ms, tm = both(raw)
        self.assertEqual(texts(ms.statistics('lineno')),
                         texts(tm.statistics('lineno')))
        self.assertIn('average=502 B', str(ms.statistics('lineno')[1]))

    def test_format_matches_tracemalloc_with_real_source_lines(self):
        this = __file__
        raw = [(0, 1, ((this, 1), (this, 3), ('/nonexistent.c', 4),
                       (this, 0)), 4)]
        ms, tm = both(raw)
        a, b = ms.traces[0].traceback, tm.traces[0].traceback
        for limit, mrf in itertools.product((None, 0, 1, 2, -1, -3, 10),
                                            (False, True)):
            with self.subTest(limit=limit, most_recent_first=mrf):
                self.assertEqual(a.format(limit, mrf), b.format(limit, mrf))

    def test_user_built_objects_print_the_same(self):
        for mod in (memsnap, tracemalloc):
            tb = mod.Traceback((('b.c', 2), ('a.c', 1)), 7)
            self.assertEqual(repr(tb), "<Traceback (<Frame filename='a.c' "
                             "lineno=1>, <Frame filename='b.c' lineno=2>) "
                             "total_nframe=7>")
        pairs = [(memsnap.Statistic(memsnap.Traceback((('a.c', 1),)), 1500, 3),
                  tracemalloc.Statistic(
                      tracemalloc.Traceback((('a.c', 1),)), 1500, 3)),
                 (memsnap.StatisticDiff(memsnap.Traceback((('a.c', 1),)),
                                        0, -70000, 0, -4),
                  tracemalloc.StatisticDiff(
                      tracemalloc.Traceback((('a.c', 1),)), 0, -70000, 0, -4)),
                 (memsnap.StatisticDiff(memsnap.Traceback((('a.c', 1),)),
                                        5, 0, 1, 0),
                  tracemalloc.StatisticDiff(
                      tracemalloc.Traceback((('a.c', 1),)), 5, 0, 1, 0))]
        for a, b in pairs:
            self.assertEqual((str(a), repr(a)), (str(b), repr(b)))


class TestErrorParity(unittest.TestCase):
    def assertSameError(self, ms_call, tm_call):
        with self.assertRaises(Exception) as want:
            tm_call()
        with self.assertRaises(type(want.exception)) as got:
            ms_call()
        self.assertEqual(str(got.exception), str(want.exception))

    def test_statistics_errors(self):
        ms, tm = both(random_raw(1, ntraces=10))
        for args, kw in [(('foo',), {}), ((123,), {}), (('Lineno',), {}),
                         (('traceback', True), {}),
                         (('traceback',), {'cumulative': 1}),
                         (('foo', True), {})]:
            with self.subTest(args=args, kw=kw):
                self.assertSameError(lambda: ms.statistics(*args, **kw),
                                     lambda: tm.statistics(*args, **kw))
                self.assertSameError(
                    lambda: ms.compare_to(ms, *args, **kw),
                    lambda: tm.compare_to(tm, *args, **kw))

    def test_filter_traces_rejects_a_non_sequence(self):
        ms, tm = both(random_raw(1, ntraces=10))
        for bad in (None, 3, memsnap.Filter(True, 'x')):
            tbad = bad if not isinstance(bad, memsnap.Filter) \
                else tracemalloc.Filter(True, 'x')
            with self.subTest(bad=bad):
                self.assertSameError(lambda: ms.filter_traces(bad),
                                     lambda: tm.filter_traces(tbad))

    def test_empty_traceback_str_raises_index_error(self):
        self.assertSameError(lambda: str(memsnap.Traceback(())),
                             lambda: str(tracemalloc.Traceback(())))

    def test_frame_index_out_of_range(self):
        self.assertSameError(
            lambda: memsnap.Traceback((('a', 1),))[5],
            lambda: tracemalloc.Traceback((('a', 1),))[5])


class TestOrderingParity(unittest.TestCase):
    def test_sorted_tracebacks_and_frames_match(self):
        raw = random_raw(8, ntraces=200)
        ms, tm = both(raw)
        a = sorted(t.traceback for t in ms.traces)
        b = sorted(t.traceback for t in tm.traces)
        self.assertEqual([repr(x) for x in a], [repr(x) for x in b])
        fa = sorted(f for t in ms.traces for f in t.traceback)
        fb = sorted(f for t in tm.traces for f in t.traceback)
        self.assertEqual([repr(x) for x in fa], [repr(x) for x in fb])

    def test_hashes_match_tracemalloc(self):
        self.assertEqual(hash(memsnap.Frame(('a.c', 3))),
                         hash(tracemalloc.Frame(('a.c', 3))))
        frames = (('b.c', 2), ('a.c', 1))
        self.assertEqual(hash(memsnap.Traceback(frames)),
                         hash(tracemalloc.Traceback(frames)))


if __name__ == "__main__":
    unittest.main()
