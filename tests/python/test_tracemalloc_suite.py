"""CPython 3.11's own TestSnapshot cases (Lib/test/test_tracemalloc.py),
run against memsnap: the same raw traces must give the same objects."""
import unittest
import unittest.mock

import memsnap as tracemalloc
from msutil import raw_of


def create_snapshots():
    traceback_limit = 2
    raw_traces = [
        (0, 10, (('a.py', 2), ('b.py', 4)), 3),
        (0, 10, (('a.py', 2), ('b.py', 4)), 3),
        (0, 10, (('a.py', 2), ('b.py', 4)), 3),
        (1, 2, (('a.py', 5), ('b.py', 4)), 3),
        (2, 66, (('b.py', 1),), 1),
        (3, 7, (('<unknown>', 0),), 1),
    ]
    snapshot = tracemalloc.Snapshot(raw_traces, traceback_limit)
    raw_traces2 = [
        (0, 10, (('a.py', 2), ('b.py', 4)), 3),
        (0, 10, (('a.py', 2), ('b.py', 4)), 3),
        (0, 10, (('a.py', 2), ('b.py', 4)), 3),
        (2, 2, (('a.py', 5), ('b.py', 4)), 3),
        (2, 5000, (('a.py', 5), ('b.py', 4)), 3),
        (4, 400, (('c.py', 578),), 1),
    ]
    snapshot2 = tracemalloc.Snapshot(raw_traces2, traceback_limit)
    return (snapshot, snapshot2)


def traceback(*frames):
    return tracemalloc.Traceback(frames)


def traceback_lineno(filename, lineno):
    return traceback((filename, lineno))


def traceback_filename(filename):
    return traceback_lineno(filename, 0)


A2 = (0, 10, (('a.py', 2), ('b.py', 4)), 3)


class TestSnapshot(unittest.TestCase):
    maxDiff = 4000

    def test_create_snapshot(self):
        snapshot = tracemalloc.Snapshot([(0, 5, (('a.py', 2),), 10)], 5)
        self.assertEqual(snapshot.traceback_limit, 5)
        self.assertEqual(len(snapshot.traces), 1)
        trace = snapshot.traces[0]
        self.assertEqual(trace.size, 5)
        self.assertEqual(trace.traceback.total_nframe, 10)
        self.assertEqual(len(trace.traceback), 1)
        self.assertEqual(trace.traceback[0].filename, 'a.py')
        self.assertEqual(trace.traceback[0].lineno, 2)

    def test_filter_traces(self):
        snapshot, snapshot2 = create_snapshots()
        filter1 = tracemalloc.Filter(False, "b.py")
        filter2 = tracemalloc.Filter(True, "a.py", 2)
        filter3 = tracemalloc.Filter(True, "a.py", 5)
        original_traces = raw_of(snapshot)

        snapshot3 = snapshot.filter_traces((filter1,))
        self.assertEqual(raw_of(snapshot3), [
            A2, A2, A2,
            (1, 2, (('a.py', 5), ('b.py', 4)), 3),
            (3, 7, (('<unknown>', 0),), 1),
        ])
        self.assertEqual(raw_of(snapshot), original_traces)

        snapshot4 = snapshot3.filter_traces((filter2, filter3))
        self.assertEqual(raw_of(snapshot4), [
            A2, A2, A2, (1, 2, (('a.py', 5), ('b.py', 4)), 3),
        ])

        snapshot5 = snapshot.filter_traces(())
        self.assertIsNot(snapshot5, snapshot)
        self.assertIsNot(snapshot5.traces, snapshot.traces)
        self.assertEqual(snapshot5.traces, snapshot.traces)

        self.assertRaises(TypeError, snapshot.filter_traces, filter1)

    def test_filter_traces_domain(self):
        snapshot, snapshot2 = create_snapshots()
        filter1 = tracemalloc.Filter(False, "a.py", domain=1)
        filter2 = tracemalloc.Filter(True, "a.py", domain=1)
        snapshot3 = snapshot.filter_traces((filter1,))
        self.assertEqual(raw_of(snapshot3), [
            A2, A2, A2,
            (2, 66, (('b.py', 1),), 1),
            (3, 7, (('<unknown>', 0),), 1),
        ])
        snapshot3 = snapshot.filter_traces((filter2,))
        self.assertEqual(raw_of(snapshot3), [
            (1, 2, (('a.py', 5), ('b.py', 4)), 3),
        ])

    def test_filter_traces_domain_filter(self):
        snapshot, snapshot2 = create_snapshots()
        filter1 = tracemalloc.DomainFilter(False, domain=3)
        filter2 = tracemalloc.DomainFilter(True, domain=3)
        snapshot3 = snapshot.filter_traces((filter1,))
        self.assertEqual(raw_of(snapshot3), [
            A2, A2, A2,
            (1, 2, (('a.py', 5), ('b.py', 4)), 3),
            (2, 66, (('b.py', 1),), 1),
        ])
        snapshot3 = snapshot.filter_traces((filter2,))
        self.assertEqual(raw_of(snapshot3), [(3, 7, (('<unknown>', 0),), 1)])

    def test_snapshot_group_by_line(self):
        snapshot, snapshot2 = create_snapshots()
        tb_0 = traceback_lineno('<unknown>', 0)
        tb_a_2 = traceback_lineno('a.py', 2)
        tb_a_5 = traceback_lineno('a.py', 5)
        tb_b_1 = traceback_lineno('b.py', 1)
        tb_c_578 = traceback_lineno('c.py', 578)
        self.assertEqual(snapshot.statistics('lineno'), [
            tracemalloc.Statistic(tb_b_1, 66, 1),
            tracemalloc.Statistic(tb_a_2, 30, 3),
            tracemalloc.Statistic(tb_0, 7, 1),
            tracemalloc.Statistic(tb_a_5, 2, 1),
        ])
        self.assertEqual(snapshot2.statistics('lineno'), [
            tracemalloc.Statistic(tb_a_5, 5002, 2),
            tracemalloc.Statistic(tb_c_578, 400, 1),
            tracemalloc.Statistic(tb_a_2, 30, 3),
        ])
        self.assertEqual(snapshot2.compare_to(snapshot, 'lineno'), [
            tracemalloc.StatisticDiff(tb_a_5, 5002, 5000, 2, 1),
            tracemalloc.StatisticDiff(tb_c_578, 400, 400, 1, 1),
            tracemalloc.StatisticDiff(tb_b_1, 0, -66, 0, -1),
            tracemalloc.StatisticDiff(tb_0, 0, -7, 0, -1),
            tracemalloc.StatisticDiff(tb_a_2, 30, 0, 3, 0),
        ])

    def test_snapshot_group_by_file(self):
        snapshot, snapshot2 = create_snapshots()
        tb_0 = traceback_filename('<unknown>')
        tb_a = traceback_filename('a.py')
        tb_b = traceback_filename('b.py')
        tb_c = traceback_filename('c.py')
        self.assertEqual(snapshot.statistics('filename'), [
            tracemalloc.Statistic(tb_b, 66, 1),
            tracemalloc.Statistic(tb_a, 32, 4),
            tracemalloc.Statistic(tb_0, 7, 1),
        ])
        self.assertEqual(snapshot2.statistics('filename'), [
            tracemalloc.Statistic(tb_a, 5032, 5),
            tracemalloc.Statistic(tb_c, 400, 1),
        ])
        self.assertEqual(snapshot2.compare_to(snapshot, 'filename'), [
            tracemalloc.StatisticDiff(tb_a, 5032, 5000, 5, 1),
            tracemalloc.StatisticDiff(tb_c, 400, 400, 1, 1),
            tracemalloc.StatisticDiff(tb_b, 0, -66, 0, -1),
            tracemalloc.StatisticDiff(tb_0, 0, -7, 0, -1),
        ])

    def test_snapshot_group_by_traceback(self):
        snapshot, snapshot2 = create_snapshots()
        tb1 = traceback(('a.py', 2), ('b.py', 4))
        tb2 = traceback(('a.py', 5), ('b.py', 4))
        tb3 = traceback(('b.py', 1))
        tb4 = traceback(('<unknown>', 0))
        self.assertEqual(snapshot.statistics('traceback'), [
            tracemalloc.Statistic(tb3, 66, 1),
            tracemalloc.Statistic(tb1, 30, 3),
            tracemalloc.Statistic(tb4, 7, 1),
            tracemalloc.Statistic(tb2, 2, 1),
        ])
        tb5 = traceback(('c.py', 578))
        self.assertEqual(snapshot2.statistics('traceback'), [
            tracemalloc.Statistic(tb2, 5002, 2),
            tracemalloc.Statistic(tb5, 400, 1),
            tracemalloc.Statistic(tb1, 30, 3),
        ])
        self.assertEqual(snapshot2.compare_to(snapshot, 'traceback'), [
            tracemalloc.StatisticDiff(tb2, 5002, 5000, 2, 1),
            tracemalloc.StatisticDiff(tb5, 400, 400, 1, 1),
            tracemalloc.StatisticDiff(tb3, 0, -66, 0, -1),
            tracemalloc.StatisticDiff(tb4, 0, -7, 0, -1),
            tracemalloc.StatisticDiff(tb1, 30, 0, 3, 0),
        ])
        self.assertRaises(ValueError,
                          snapshot.statistics, 'traceback', cumulative=True)

    def test_snapshot_group_by_cumulative(self):
        snapshot, snapshot2 = create_snapshots()
        tb_0 = traceback_filename('<unknown>')
        tb_a = traceback_filename('a.py')
        tb_b = traceback_filename('b.py')
        tb_a_2 = traceback_lineno('a.py', 2)
        tb_a_5 = traceback_lineno('a.py', 5)
        tb_b_1 = traceback_lineno('b.py', 1)
        tb_b_4 = traceback_lineno('b.py', 4)
        self.assertEqual(snapshot.statistics('filename', True), [
            tracemalloc.Statistic(tb_b, 98, 5),
            tracemalloc.Statistic(tb_a, 32, 4),
            tracemalloc.Statistic(tb_0, 7, 1),
        ])
        self.assertEqual(snapshot.statistics('lineno', True), [
            tracemalloc.Statistic(tb_b_1, 66, 1),
            tracemalloc.Statistic(tb_b_4, 32, 4),
            tracemalloc.Statistic(tb_a_2, 30, 3),
            tracemalloc.Statistic(tb_0, 7, 1),
            tracemalloc.Statistic(tb_a_5, 2, 1),
        ])

    def test_trace_format(self):
        snapshot, snapshot2 = create_snapshots()
        trace = snapshot.traces[0]
        self.assertEqual(str(trace), 'b.py:4: 10 B')
        traceback = trace.traceback
        self.assertEqual(str(traceback), 'b.py:4')
        self.assertEqual(str(traceback[0]), 'b.py:4')

    def test_statistic_format(self):
        snapshot, snapshot2 = create_snapshots()
        stat = snapshot.statistics('lineno')[0]
        self.assertEqual(str(stat), 'b.py:1: size=66 B, count=1, average=66 B')

    def test_statistic_diff_format(self):
        snapshot, snapshot2 = create_snapshots()
        stat = snapshot2.compare_to(snapshot, 'lineno')[0]
        self.assertEqual(str(stat), 'a.py:5: size=5002 B (+5000 B), '
                         'count=2 (+1), average=2501 B')

    def test_slices(self):
        snapshot, snapshot2 = create_snapshots()
        self.assertEqual(snapshot.traces[:2],
                         (snapshot.traces[0], snapshot.traces[1]))
        traceback = snapshot.traces[0].traceback
        self.assertEqual(traceback[:2], (traceback[0], traceback[1]))

    def test_format_traceback(self):
        snapshot, snapshot2 = create_snapshots()

        def getline(filename, lineno):
            return '  <%s, %s>' % (filename, lineno)
        with unittest.mock.patch('linecache.getline', side_effect=getline):
            tb = snapshot.traces[0].traceback
            self.assertEqual(tb.format(), [
                '  File "b.py", line 4', '    <b.py, 4>',
                '  File "a.py", line 2', '    <a.py, 2>'])
            self.assertEqual(tb.format(limit=1), [
                '  File "a.py", line 2', '    <a.py, 2>'])
            self.assertEqual(tb.format(limit=-1), [
                '  File "b.py", line 4', '    <b.py, 4>'])
            self.assertEqual(tb.format(most_recent_first=True), [
                '  File "a.py", line 2', '    <a.py, 2>',
                '  File "b.py", line 4', '    <b.py, 4>'])
            self.assertEqual(tb.format(limit=1, most_recent_first=True), [
                '  File "a.py", line 2', '    <a.py, 2>'])
            self.assertEqual(tb.format(limit=-1, most_recent_first=True), [
                '  File "b.py", line 4', '    <b.py, 4>'])


class TestFilters(unittest.TestCase):
    def test_filter_attributes(self):
        f = tracemalloc.Filter(True, "abc")
        self.assertEqual(f.inclusive, True)
        self.assertEqual(f.filename_pattern, "abc")
        self.assertIsNone(f.lineno)
        self.assertEqual(f.all_frames, False)

        f = tracemalloc.Filter(False, "test.py", 123, True)
        self.assertEqual(f.inclusive, False)
        self.assertEqual(f.filename_pattern, "test.py")
        self.assertEqual(f.lineno, 123)
        self.assertEqual(f.all_frames, True)

        f = tracemalloc.Filter(inclusive=False, filename_pattern="test.py",
                               lineno=123, all_frames=True)
        self.assertEqual(f.inclusive, False)
        self.assertEqual(f.filename_pattern, "test.py")
        self.assertEqual(f.lineno, 123)
        self.assertEqual(f.all_frames, True)

        self.assertRaises(AttributeError, setattr, f, "filename_pattern",
                          "abc")


if __name__ == "__main__":
    unittest.main()
