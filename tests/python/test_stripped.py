"""Frames of a stripped program (no line information: every frame is
(module path, 0)) keep their offset in the module as part of their
identity, as the engine's statistics do: the call sites of
tests/targets/postmortem/leaky stripped are 3 distinct statistics with 3
distinct tracebacks, and two runs (other load addresses) give equal
tracebacks. Needs memsnap and leaky, built by make check in the same build
tree (MEMSNAP_BUILDDIR), and strip(1)."""
import os
import shutil
import subprocess
import tempfile
import unittest

from memsnap import Frame, Snapshot

BUILDDIR = os.environ.get('MEMSNAP_BUILDDIR', '')
MEMSNAP = os.path.join(BUILDDIR, 'memsnap')
LEAKY = os.path.join(BUILDDIR, 'tests', 'targets', 'postmortem', 'leaky')


@unittest.skipUnless(os.access(MEMSNAP, os.X_OK) and
                     os.access(LEAKY, os.X_OK) and shutil.which('strip'),
                     'memsnap, leaky or strip is missing')
class TestStripped(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.prog = os.path.join(self.dir.name, 'leaky')
        shutil.copy(LEAKY, self.prog)
        subprocess.run(['strip', self.prog], check=True)

    def tearDown(self):
        self.dir.cleanup()

    def run_once(self, name):
        out = os.path.join(self.dir.name, name)
        subprocess.run([MEMSNAP, 'run', '--dump-on-exit', out, '--',
                        self.prog], check=True, stdout=subprocess.DEVNULL,
                       timeout=60)
        return Snapshot.load(out)

    def test_call_sites_stay_distinct(self):
        stats = self.run_once('a.msnap').statistics('lineno')
        self.assertEqual([(s.size, s.count) for s in stats],
                         [(4000, 1), (500, 1), (288, 4)])
        self.assertEqual({(s.traceback[0].filename, s.traceback[0].lineno)
                          for s in stats}, {(self.prog, 0)})
        self.assertEqual(len({s.traceback for s in stats}), 3)
        self.assertNotEqual(stats[0].traceback[0], stats[1].traceback[0])
        # a frame made from a tuple has no module: tracemalloc's identity
        self.assertEqual(Frame((self.prog, 0)), Frame((self.prog, 0)))
        self.assertNotEqual(stats[0].traceback[0], Frame((self.prog, 0)))

    def test_two_runs_give_equal_tracebacks(self):
        a = self.run_once('a.msnap').statistics('traceback')
        b = self.run_once('b.msnap').statistics('traceback')
        self.assertEqual(len({s.traceback for s in a}), 4)
        self.assertEqual([s.traceback for s in a], [s.traceback for s in b])
        self.assertEqual({hash(s.traceback) for s in a},
                         {hash(s.traceback) for s in b})


if __name__ == '__main__':
    unittest.main()
