"""Bad input to the Python API: each wrong call raises its exception with
its exact message (docs/RELIABILITY.md counts them)."""
import os
import tempfile
import unittest

import memsnap


def one_trace():
    return memsnap.Snapshot([(0, 1, (('a.c', 1),), 1)], 1)


class BadInputTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def check(self, exc, message, fn, *args, **kwargs):
        with self.assertRaises(exc) as cm:
            fn(*args, **kwargs)
        self.assertEqual(str(cm.exception), message)

    def path(self, name, content=None):
        p = os.path.join(self.dir, name)
        if content is not None:
            with open(p, 'w') as f:
                f.write(content)
        return p

    def test_load_missing_file(self):
        p = self.path('missing.msnap')
        self.check(FileNotFoundError,
                   "[Errno 2] No such file or directory: '%s'" % p,
                   memsnap.Snapshot.load, p)

    def test_load_directory(self):
        self.check(OSError, "cannot load '%s': not a regular file" % self.dir,
                   memsnap.Snapshot.load, self.dir)

    def test_load_text_file(self):
        p = self.path('garbage.msnap', 'hello')
        self.check(ValueError, '%s: not a memsnap snapshot file (5 bytes, '
                   'too short for the signature)' % p, memsnap.Snapshot.load, p)

    def test_load_empty_file(self):
        p = self.path('empty.msnap', '')
        self.check(ValueError, '%s: not a memsnap snapshot file (0 bytes, '
                   'too short for the signature)' % p, memsnap.Snapshot.load, p)

    def test_statistics_unknown_key(self):
        self.check(ValueError, "unknown key_type: 'foo'",
                   one_trace().statistics, 'foo')

    def test_statistics_key_not_a_string(self):
        self.check(ValueError, 'unknown key_type: 42',
                   one_trace().statistics, 42)

    def test_statistics_cumulative_traceback(self):
        self.check(ValueError,
                   "cumulative mode cannot by used with key type 'traceback'",
                   one_trace().statistics, 'traceback', cumulative=True)

    def test_compare_unknown_key(self):
        self.check(ValueError, "unknown key_type: 'bar'",
                   one_trace().compare_to, one_trace(), 'bar')

    def test_compare_to_not_a_snapshot(self):
        self.check(TypeError,
                   'old_snapshot must be a memsnap.Snapshot, not int',
                   one_trace().compare_to, 42, 'lineno')

    def test_filter_traces_not_a_list(self):
        self.check(TypeError, 'filters must be a list of filters, not Filter',
                   one_trace().filter_traces, memsnap.Filter(True, 'x'))

    def test_filter_traces_bad_item(self):
        self.check(TypeError,
                   'filters must be Filter or DomainFilter objects, not int',
                   one_trace().filter_traces, [42])

    def test_filter_pattern_not_a_string(self):
        self.check(TypeError,
                   'expected str, bytes or os.PathLike object, not int',
                   memsnap.Filter, True, 42)

    def test_filter_lineno_not_an_int(self):
        self.check(TypeError, 'lineno must be None or an int, not str',
                   memsnap.Filter, True, 'a.c', 'x')

    def test_domain_filter_domain_not_an_int(self):
        self.check(TypeError, 'domain must be an int, not str',
                   memsnap.DomainFilter, True, 'x')

    def test_snapshot_traces_not_a_sequence(self):
        self.check(TypeError, 'traces must be a sequence of (domain, size, '
                   'frames, total_nframe) tuples', memsnap.Snapshot, 42, 1)

    def test_snapshot_trace_too_short(self):
        self.check(ValueError, 'a trace must be a (domain, size, frames, '
                   'total_nframe) tuple', memsnap.Snapshot, [(0, 1)], 1)

    def test_snapshot_negative_size(self):
        self.check(OverflowError, 'size out of range: -1', memsnap.Snapshot,
                   [(0, -1, (('a.c', 1),), 1)], 1)

    def test_snapshot_frame_without_lineno(self):
        self.check(ValueError, 'a frame must be a (filename, lineno) tuple',
                   memsnap.Snapshot, [(0, 1, (('a.c',),), 1)], 1)

    def test_snapshot_limit_not_an_int(self):
        self.check(TypeError, 'traceback_limit must be an int, not str',
                   memsnap.Snapshot, [], 'x')

    def test_dump_to_directory_path(self):
        p = self.dir + '/'
        self.check(ValueError, "cannot write a snapshot to '%s': the path "
                   "names a directory, not a file" % p, one_trace().dump, p)

    def test_dump_to_missing_directory(self):
        p = os.path.join(self.dir, 'no', 'x.msnap')
        self.check(OSError, "cannot write a snapshot to '%s': directory "
                   "'%s': No such file or directory" % (p, os.path.dirname(p)),
                   one_trace().dump, p)
        self.assertEqual(os.listdir(self.dir), [])

    def test_dump_path_not_a_string(self):
        self.check(TypeError,
                   'expected str, bytes or os.PathLike object, not int',
                   one_trace().dump, 42)

    def test_frame_is_read_only(self):
        frame = one_trace().traces[0].traceback[0]
        self.check(AttributeError, 'readonly attribute',
                   setattr, frame, 'lineno', 3)


if __name__ == '__main__':
    unittest.main()
