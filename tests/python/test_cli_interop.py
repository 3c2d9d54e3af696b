"""Files of the other front-end: snapshots written by the engine for the CLI
tests (tests/cli/gen_snapshots) load here, and a file dumped here is read by
the CLI (tests/cli/memsnap-offline). Needs those two programs, built by
make check in the same build tree (MEMSNAP_BUILDDIR)."""
import os
import subprocess
import tempfile
import unittest

from memsnap import Snapshot

BUILDDIR = os.environ.get('MEMSNAP_BUILDDIR', '')
GEN = os.path.join(BUILDDIR, 'tests', 'cli', 'gen_snapshots')
CLI = os.path.join(BUILDDIR, 'tests', 'cli', 'memsnap-offline')


@unittest.skipUnless(os.access(GEN, os.X_OK) and os.access(CLI, os.X_OK),
                     'the CLI test programs are not built in this tree')
class TestCliInterop(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.old = os.path.join(self.dir.name, 'old.msnap')
        self.new = os.path.join(self.dir.name, 'new.msnap')
        subprocess.run([GEN, self.old, self.new], check=True)

    def tearDown(self):
        self.dir.cleanup()

    def test_engine_files_load_here(self):
        new, old = Snapshot.load(self.new), Snapshot.load(self.old)
        self.assertEqual(new.metadata['cmdline'], './server --port 8080')
        self.assertEqual(len(new.traces), 8)
        self.assertEqual(str(new.statistics('lineno')[0]),
                         'src/cache.c:77: size=1029 KiB, count=5, '
                         'average=206 KiB')
        self.assertEqual(str(new.compare_to(old, 'function')[0]),
                         'src/cache.c:0: size=1029 KiB (+4096 B), count=5 '
                         '(+2), average=206 KiB')
        self.assertEqual(new.statistics('function')[0].traceback[0].function,
                         'cache_insert')

    def test_files_dumped_here_read_by_the_cli(self):
        out = os.path.join(self.dir.name, 'py.msnap')
        Snapshot.load(self.new).dump(out)
        want = subprocess.run([CLI, 'stats', self.new], check=True,
                              capture_output=True, text=True).stdout
        got = subprocess.run([CLI, 'stats', out], check=True,
                             capture_output=True, text=True).stdout
        self.assertEqual(got, want)
        self.assertIn('Total: 8 blocks, 1037 KiB', got)

    def test_python_built_snapshot_read_by_the_cli(self):
        out = os.path.join(self.dir.name, 'raw.msnap')
        Snapshot([(0, 5000, (('x.c', 3), ('main.c', 1)), 2),
                  (0, 120, (('y.c', 9),), 1)], 4).dump(out)
        got = subprocess.run([CLI, 'stats', out], check=True,
                             capture_output=True, text=True).stdout
        self.assertIn('x.c:3: size=5000 B, count=1, average=5000 B', got)
        self.assertIn('y.c:9: size=120 B, count=1, average=120 B', got)


if __name__ == '__main__':
    unittest.main()
