"""Snapshot: construction from raw traces, native extras, metadata, files
(dump/load) and pickling."""
import os
import pickle
import tempfile
import unittest

import memsnap
from memsnap import Frame, Snapshot
from msutil import random_raw, raw_of

NATIVE = [
    (0, 100, (Frame(('a.c', 3), function='alloc_a', module='/lib/liba.so',
                    address=0x7f0000001234),
              Frame(('main.c', 9), function='main', module='/usr/bin/prog',
                    address=0x401000)), 2),
    (0, 50, (Frame(('a.c', 4), function='alloc_a', module='/lib/liba.so',
                   address=0x7f0000001238),), 1),
    (1, 4096, (Frame(('b.c', 1), function='map_b', module='/usr/bin/prog',
                     address=0x402000),), 3),
]


class TestConstruction(unittest.TestCase):
    def test_raw_traces_round_trip(self):
        raw = random_raw(2)
        self.assertEqual(raw_of(Snapshot(raw, 5)), raw)

    def test_any_sequence_of_sequences(self):
        raw = [[0, 1, [['a.c', 1]], 1]]
        s = Snapshot(tuple(raw), 3)
        self.assertEqual(raw_of(s), [(0, 1, (('a.c', 1),), 1)])
        self.assertEqual(s.traceback_limit, 3)

    def test_shared_frames_with_different_total_nframe(self):
        frames = (('a.c', 1), ('b.c', 2))
        s = Snapshot([(0, 1, frames, 2), (0, 1, frames, 9)], 2)
        self.assertEqual([t.traceback.total_nframe for t in s.traces], [2, 9])

    def test_unshared_equal_frames(self):
        raw = [(0, i, tuple((('f%d.c' % (j % 3)), j) for j in range(3)), 3)
               for i in range(50)]
        self.assertEqual(raw_of(Snapshot(raw, 3)), raw)

    def test_big_sizes_and_domains(self):
        raw = [(0xffffffff, (1 << 64) - 1, (('a.c', 0xffffffff),), 0)]
        self.assertEqual(raw_of(Snapshot(raw, 1)), raw)

    def test_undecodable_filename_round_trips(self):
        name = os.fsdecode(b'/tmp/caf\xe9.c')
        raw = [(0, 1, ((name, 1),), 1)]
        s = Snapshot(raw, 1)
        self.assertEqual(raw_of(s), raw)
        self.assertEqual(str(s.statistics('lineno')[0].traceback),
                         name + ':1')

    def test_bad_raw_traces(self):
        cases = [
            (3, TypeError), ([3], TypeError), ([(0, 1, ())], ValueError),
            ([(0, 1, (('a', 1),), 1, 5)], ValueError),
            ([('0', 1, (('a', 1),), 1)], TypeError),
            ([(-1, 1, (('a', 1),), 1)], OverflowError),
            ([(1 << 32, 1, (('a', 1),), 1)], OverflowError),
            ([(0, -1, (('a', 1),), 1)], OverflowError),
            ([(0, 1, (('a', 1),), None)], TypeError),
            ([(0, 1, 5, 1)], TypeError),
            ([(0, 1, ((b'a', 1),), 1)], TypeError),
            ([(0, 1, (('a', '1'),), 1)], TypeError),
            ([(0, 1, (('a', -1),), 1)], OverflowError),
            ([(0, 1, (('a',),), 1)], ValueError),
            ([(0, 1, (('a\0b', 1),), 1)], ValueError),
        ]
        for raw, exc in cases:
            with self.subTest(raw=raw):
                with self.assertRaises(exc):
                    Snapshot(raw, 1)
        with self.assertRaises(OverflowError):
            Snapshot([], -1)
        with self.assertRaises(TypeError):
            Snapshot([], 1, metadata=[('a', 'b')])
        with self.assertRaises(TypeError):
            Snapshot([], 1, metadata={'a': 1})

    def test_subclass(self):
        class Sub(Snapshot):
            pass
        s = Sub(random_raw(1, ntraces=5), 2)
        self.assertIsInstance(s, Sub)
        self.assertEqual(len(s.traces), 5)


class TestNativeExtras(unittest.TestCase):
    def setUp(self):
        self.s = Snapshot(NATIVE, 8, metadata={'pid': '42', 'cmdline': 'prog'})

    def test_frame_extras(self):
        f = self.s.traces[0].traceback[-1]
        self.assertEqual((f.filename, f.lineno, f.function, f.module,
                          f.address),
                         ('a.c', 3, 'alloc_a', '/lib/liba.so', 0x7f0000001234))

    def test_metadata(self):
        self.assertEqual(self.s.metadata, {'pid': '42', 'cmdline': 'prog'})
        self.assertEqual(Snapshot([], 1).metadata, {})

    def test_statistics_by_function(self):
        stats = self.s.statistics('function')
        self.assertEqual([(s.traceback[0].function, s.size, s.count)
                          for s in stats],
                         [('map_b', 4096, 1), ('alloc_a', 150, 2)])
        self.assertEqual(str(stats[1]),
                         'a.c:0: size=150 B, count=2, average=75 B')
        cum = self.s.statistics('function', cumulative=True)
        self.assertEqual([(s.traceback[0].function, s.size) for s in cum],
                         [('map_b', 4096), ('alloc_a', 150), ('main', 100)])

    def test_statistics_by_module(self):
        stats = self.s.statistics('module')
        self.assertEqual([(str(s.traceback), s.size) for s in stats],
                         [('/usr/bin/prog:0', 4096), ('/lib/liba.so:0', 150)])
        cum = self.s.statistics('module', True)
        self.assertEqual([(str(s.traceback), s.size) for s in cum],
                         [('/usr/bin/prog:0', 4196), ('/lib/liba.so:0', 150)])

    def test_compare_by_function(self):
        old = Snapshot(NATIVE[:1], 8)
        diff = self.s.compare_to(old, 'function')
        self.assertEqual([(s.traceback[0].function, s.size_diff, s.count_diff)
                          for s in diff],
                         [('map_b', 4096, 1), ('alloc_a', 50, 1)])

    def test_compare_to_needs_a_snapshot(self):
        with self.assertRaises(TypeError):
            self.s.compare_to(object(), 'lineno')


class TestFiles(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, 'snap.msnap')

    def tearDown(self):
        self.dir.cleanup()

    def test_dump_load_round_trip(self):
        s = Snapshot(NATIVE + random_raw(4), 8, metadata={'pid': '7'})
        s.dump(self.path)
        self.assertEqual(os.stat(self.path).st_mode & 0o777, 0o600)
        t = Snapshot.load(self.path)
        self.assertEqual(raw_of(t), raw_of(s))
        self.assertEqual(t.traces, s.traces)
        self.assertEqual(t.traceback_limit, 8)
        self.assertEqual(t.metadata, {'pid': '7'})
        f = t.traces[0].traceback[-1]
        self.assertEqual((f.function, f.module, f.address),
                         ('alloc_a', '/lib/liba.so', 0x7f0000001234))
        self.assertEqual([str(x) for x in t.statistics('lineno', True)],
                         [str(x) for x in s.statistics('lineno', True)])

    def test_dump_accepts_path_like(self):
        import pathlib
        s = Snapshot(NATIVE, 8)
        s.dump(pathlib.Path(self.path))
        self.assertEqual(len(Snapshot.load(pathlib.Path(self.path)).traces), 3)

    def test_load_missing_file(self):
        with self.assertRaises(FileNotFoundError):
            Snapshot.load(self.path)

    def test_load_garbage(self):
        with open(self.path, 'wb') as fp:
            fp.write(b'not a snapshot' * 10)
        with self.assertRaisesRegex(ValueError, 'not a memsnap snapshot'):
            Snapshot.load(self.path)

    def test_load_truncated(self):
        Snapshot(NATIVE, 8).dump(self.path)
        with open(self.path, 'rb') as fp:
            data = fp.read()
        with open(self.path, 'wb') as fp:
            fp.write(data[:len(data) // 2])
        with self.assertRaises(ValueError):
            Snapshot.load(self.path)

    def test_dump_into_missing_directory(self):
        with self.assertRaises(OSError):
            Snapshot(NATIVE, 8).dump(os.path.join(self.path, 'x', 'y'))

    def test_pickle(self):
        s = Snapshot(NATIVE, 8, metadata={'host': 'h'})
        t = pickle.loads(pickle.dumps(s))
        self.assertIsInstance(t, Snapshot)
        self.assertEqual(t.traces, s.traces)
        self.assertEqual(t.metadata, {'host': 'h'})

    def test_filter_result_dumps(self):
        s = Snapshot(NATIVE, 8).filter_traces([memsnap.DomainFilter(True, 1)])
        s.dump(self.path)
        self.assertEqual(raw_of(Snapshot.load(self.path)), raw_of(s))


if __name__ == "__main__":
    unittest.main()
