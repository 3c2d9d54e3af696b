"""The smoke subset run inside GDB's embedded Python (tests/python/run-tests
gdb): the module loads there and the main paths agree with tracemalloc."""
import sys

from test_parity import TestErrorParity, TestStatisticsParity  # noqa: F401
from test_snapshot import TestFiles, TestNativeExtras  # noqa: F401
from test_tracemalloc_suite import TestSnapshot  # noqa: F401
from test_types import TestFrame, TestTraceback  # noqa: F401

import unittest


class TestEmbedded(unittest.TestCase):
    def test_running_inside_gdb(self):
        import gdb  # only GDB's Python has it
        self.assertTrue(hasattr(gdb, 'execute'))

    def test_module_is_from_the_build_tree(self):
        import memsnap
        self.assertIn(memsnap._memsnap.__file__.rsplit('/', 1)[-1],
                      ['_memsnap' + __import__('sysconfig').get_config_var(
                          'EXT_SUFFIX')])
        self.assertEqual(sys.version_info[:2], (3, 11))
