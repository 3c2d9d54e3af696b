"""Every class of memsnap on its own: Frame, Traceback, Trace, Traces,
Statistic, StatisticDiff, BaseFilter, Filter, DomainFilter."""
import collections.abc
import unittest

import memsnap
from memsnap import (BaseFilter, DomainFilter, Filter, Frame, Snapshot,
                     Statistic, StatisticDiff, Trace, Traceback)

RAW = [(0, 10, (('b.c', 2), ('a.c', 1)), 5),
       (2, 30, (('c.c', 7),), 1)]


class TestFrame(unittest.TestCase):
    def test_attributes(self):
        f = Frame(('a.c', 3))
        self.assertEqual((f.filename, f.lineno), ('a.c', 3))
        self.assertEqual((f.function, f.module, f.address), (None, None, None))
        g = Frame(('a.c', 3), function='f', module='/lib/l.so', address=16)
        self.assertEqual((g.function, g.module, g.address),
                         ('f', '/lib/l.so', 16))

    def test_identity_is_filename_and_lineno(self):
        f = Frame(('a.c', 3))
        g = Frame(('a.c', 3), function='f', address=99)
        self.assertEqual(f, g)
        self.assertEqual(hash(f), hash(g))
        self.assertNotEqual(f, Frame(('a.c', 4)))
        self.assertNotEqual(f, ('a.c', 3))

    def test_order(self):
        self.assertLess(Frame(('a.c', 9)), Frame(('b.c', 1)))
        self.assertLess(Frame(('a.c', 1)), Frame(('a.c', 2)))
        self.assertLessEqual(Frame(('a.c', 1)), Frame(('a.c', 1)))
        self.assertGreater(Frame(('b.c', 1)), Frame(('a.c', 2)))
        self.assertGreaterEqual(Frame(('b.c', 1)), Frame(('b.c', 1)))
        with self.assertRaises(TypeError):
            Frame(('a.c', 1)) < 3

    def test_str_repr(self):
        f = Frame(('a.c', 3))
        self.assertEqual(str(f), 'a.c:3')
        self.assertEqual(repr(f), "<Frame filename='a.c' lineno=3>")

    def test_read_only(self):
        with self.assertRaises(AttributeError):
            Frame(('a.c', 3)).lineno = 4

    def test_bad_argument(self):
        with self.assertRaises(TypeError):
            Frame(('a.c',))
        with self.assertRaises(TypeError):
            Frame(3)


class TestTraceback(unittest.TestCase):
    def setUp(self):
        self.tb = Traceback((('b.c', 2), ('a.c', 1)), 5)

    def test_is_a_sequence_oldest_first(self):
        self.assertIsInstance(self.tb, collections.abc.Sequence)
        self.assertEqual(len(self.tb), 2)
        self.assertEqual(self.tb[0], Frame(('a.c', 1)))
        self.assertEqual(self.tb[-1], Frame(('b.c', 2)))
        self.assertEqual(list(self.tb), [Frame(('a.c', 1)), Frame(('b.c', 2))])
        self.assertEqual(self.tb[::-1], (Frame(('b.c', 2)), Frame(('a.c', 1))))
        self.assertIn(Frame(('b.c', 2)), self.tb)
        self.assertNotIn(Frame(('b.c', 3)), self.tb)
        self.assertEqual(self.tb.index(Frame(('b.c', 2))), 1)
        self.assertEqual(self.tb.count(Frame(('a.c', 1))), 1)
        self.assertEqual(list(reversed(self.tb))[0], Frame(('b.c', 2)))

    def test_total_nframe(self):
        self.assertEqual(self.tb.total_nframe, 5)
        self.assertIsNone(Traceback((('a.c', 1),)).total_nframe)

    def test_eq_hash_order(self):
        same = Traceback([Frame(('b.c', 2)), ('a.c', 1)])
        self.assertEqual(self.tb, same)
        self.assertEqual(hash(self.tb), hash(same))
        self.assertLess(Traceback((('a.c', 1),)), self.tb)
        self.assertGreater(Traceback((('z.c', 1),)), self.tb)
        self.assertNotEqual(self.tb, (Frame(('a.c', 1)), Frame(('b.c', 2))))

    def test_str_repr(self):
        self.assertEqual(str(self.tb), 'a.c:1')
        self.assertEqual(repr(self.tb), "<Traceback (<Frame filename='a.c' "
                         "lineno=1>, <Frame filename='b.c' lineno=2>) "
                         "total_nframe=5>")

    def test_format_reads_source_through_linecache(self):
        tb = Traceback(((__file__, 2), ('/no/such/file.c', 3)))
        self.assertEqual(tb.format(), [
            '  File "/no/such/file.c", line 3',
            '  File "%s", line 2' % __file__,
            '    Statistic, StatisticDiff, BaseFilter, Filter, DomainFilter."""'])
        self.assertEqual(tb.format(limit=1, most_recent_first=True),
                         ['  File "%s", line 2' % __file__,
                          '    Statistic, StatisticDiff, BaseFilter, Filter, '
                          'DomainFilter."""'])
        self.assertEqual(tb.format(0), [])


class TestTrace(unittest.TestCase):
    def setUp(self):
        self.snapshot = Snapshot(RAW, 5)

    def test_attributes(self):
        t = self.snapshot.traces[0]
        self.assertEqual((t.domain, t.size), (0, 10))
        self.assertEqual(t.traceback,
                         Traceback((('b.c', 2), ('a.c', 1))))
        self.assertEqual(t.traceback.total_nframe, 5)

    def test_str_repr(self):
        t = self.snapshot.traces[1]
        self.assertEqual(str(t), 'c.c:7: 30 B')
        self.assertEqual(repr(t), "<Trace domain=2 size=30 B, traceback="
                         "<Traceback (<Frame filename='c.c' lineno=7>,) "
                         "total_nframe=1>>")

    def test_eq_hash_across_snapshots(self):
        other = Snapshot(RAW, 5)
        self.assertEqual(self.snapshot.traces[0], other.traces[0])
        self.assertEqual(hash(self.snapshot.traces[0]), hash(other.traces[0]))
        self.assertNotEqual(self.snapshot.traces[0], other.traces[1])
        self.assertEqual(Trace(RAW[0]), other.traces[0])
        self.assertNotEqual(Trace((0, 10, RAW[0][2], 6)), other.traces[0])

    def test_traces_sequence(self):
        traces = self.snapshot.traces
        self.assertIsInstance(traces, collections.abc.Sequence)
        self.assertEqual(len(traces), 2)
        self.assertEqual(traces[-1], traces[1])
        self.assertEqual(traces[0:2], (traces[0], traces[1]))
        self.assertEqual(traces[::-1], (traces[1], traces[0]))
        self.assertEqual(traces[5:], ())
        self.assertIn(Trace(RAW[1]), traces)
        self.assertNotIn(Trace((9, 1, (('x', 1),), 1)), traces)
        self.assertEqual(repr(traces), '<Traces len=2>')
        self.assertEqual([t.size for t in traces], [10, 30])
        with self.assertRaises(IndexError):
            traces[2]
        with self.assertRaises(TypeError):
            traces['a']
        self.assertEqual(traces, Snapshot(RAW, 5).traces)
        self.assertNotEqual(traces, Snapshot(RAW[:1], 5).traces)


class TestStatistic(unittest.TestCase):
    def test_statistic(self):
        tb = Traceback((('a.c', 1),))
        s = Statistic(tb, 3000, 2)
        self.assertEqual((s.traceback, s.size, s.count), (tb, 3000, 2))
        self.assertEqual(str(s), 'a.c:1: size=3000 B, count=2, average=1500 B')
        self.assertEqual(repr(s), "<Statistic traceback=<Traceback (<Frame "
                         "filename='a.c' lineno=1>,)> size=3000 count=2>")
        self.assertEqual(s, Statistic(tb, 3000, 2))
        self.assertEqual(hash(s), hash(Statistic(tb, 3000, 2)))
        self.assertNotEqual(s, Statistic(tb, 3000, 3))
        s.size += 1
        self.assertEqual(s.size, 3001)
        self.assertEqual(str(Statistic(tb, 0, 0)), 'a.c:1: size=0 B, count=0')

    def test_statistic_diff(self):
        tb = Traceback((('a.c', 1),))
        d = StatisticDiff(tb, 20480, -1024, 4, -1)
        self.assertEqual((d.size, d.size_diff, d.count, d.count_diff),
                         (20480, -1024, 4, -1))
        self.assertEqual(str(d), 'a.c:1: size=20.0 KiB (-1024 B), count=4 '
                         '(-1), average=5120 B')
        self.assertEqual(repr(d), "<StatisticDiff traceback=<Traceback (<Frame"
                         " filename='a.c' lineno=1>,)> size=20480 (-1024) "
                         "count=4 (-1)>")
        self.assertEqual(d, StatisticDiff(tb, 20480, -1024, 4, -1))
        self.assertNotEqual(d, Statistic(tb, 20480, 4))

    def test_from_snapshot(self):
        stats = Snapshot(RAW, 5).statistics('filename')
        self.assertEqual([type(s) for s in stats], [Statistic, Statistic])
        self.assertEqual(stats[0].traceback.total_nframe, None)
        diffs = Snapshot(RAW, 5).compare_to(Snapshot([], 5), 'filename')
        self.assertEqual([type(s) for s in diffs],
                         [StatisticDiff, StatisticDiff])
        self.assertEqual(str(diffs[0]), 'c.c:0: size=30 B (+30 B), count=1 '
                         '(+1), average=30 B')


class TestFilters(unittest.TestCase):
    def test_base_filter(self):
        f = BaseFilter(True)
        self.assertTrue(f.inclusive)
        f.inclusive = False
        self.assertFalse(f.inclusive)
        self.assertTrue(issubclass(Filter, BaseFilter))
        self.assertTrue(issubclass(DomainFilter, BaseFilter))

    def test_filter_attributes_are_writable_but_pattern(self):
        f = Filter(True, 'a.c', 3, True, 2)
        self.assertEqual((f.inclusive, f.filename_pattern, f.lineno,
                          f.all_frames, f.domain), (True, 'a.c', 3, True, 2))
        f.lineno = None
        f.domain = None
        f.all_frames = False
        self.assertEqual((f.lineno, f.domain, f.all_frames), (None, None, False))
        with self.assertRaises(AttributeError):
            f.filename_pattern = 'b.c'

    def test_filter_validation(self):
        with self.assertRaises(TypeError):
            Filter(True, 3)
        with self.assertRaises(TypeError):
            Filter(True, b'a.c')
        with self.assertRaises(TypeError):
            Filter(True, 'a.c', lineno='3')
        with self.assertRaises(OverflowError):
            Filter(True, 'a.c', lineno=-1)
        with self.assertRaises(TypeError):
            Filter(True, 'a.c', domain=1.5)
        f = Filter(True, 'a.c')
        with self.assertRaises(TypeError):
            f.lineno = 'x'
        with self.assertRaises(OverflowError):
            f.domain = 1 << 40

    def test_domain_filter(self):
        f = DomainFilter(False, 3)
        self.assertEqual((f.inclusive, f.domain), (False, 3))
        with self.assertRaises(AttributeError):
            f.domain = 4
        with self.assertRaises(TypeError):
            DomainFilter(True, None)

    def test_filter_traces_rejects_other_objects(self):
        s = Snapshot(RAW, 5)
        with self.assertRaises(TypeError):
            s.filter_traces([BaseFilter(True)])
        with self.assertRaises(TypeError):
            s.filter_traces(['a.c'])

    def test_filter_by_lineno_and_all_frames(self):
        s = Snapshot(RAW, 5)
        self.assertEqual(len(s.filter_traces([Filter(True, 'b.c', 2)]).traces),
                         1)
        self.assertEqual(len(s.filter_traces([Filter(True, 'a.c')]).traces), 0)
        self.assertEqual(len(s.filter_traces(
            [Filter(True, 'a.c', all_frames=True)]).traces), 1)
        self.assertEqual(len(s.filter_traces(
            iter([DomainFilter(True, 2)])).traces), 1)


if __name__ == "__main__":
    unittest.main()
