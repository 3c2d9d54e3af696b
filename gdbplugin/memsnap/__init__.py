"""memsnap: Python's tracemalloc.Snapshot for native (C/C++) programs.

The classes mirror tracemalloc's, so code written for tracemalloc's Snapshot
works after ``import memsnap as tracemalloc``: Snapshot, Trace, Traceback,
Frame, Statistic, StatisticDiff, BaseFilter, Filter and DomainFilter, with
the same str/repr, sort orders and errors. Native extras: Frame.function,
Frame.module, Frame.address, statistics('function') and ('module'), and
Snapshot.metadata. Snapshot files are those of the memsnap CLI and attacher.
"""
from collections.abc import Sequence as _Sequence

from memsnap._memsnap import (  # noqa: F401
    BaseFilter,
    DomainFilter,
    Filter,
    Frame,
    Snapshot,
    Statistic,
    StatisticDiff,
    Trace,
    Traceback,
    Traces,
    _format_size,
)

# tracemalloc's Traceback and _Traces are collections.abc.Sequence
_Sequence.register(Traceback)
_Sequence.register(Traces)

__all__ = [
    "BaseFilter", "DomainFilter", "Filter", "Frame", "Snapshot",
    "Statistic", "StatisticDiff", "Trace", "Traceback",
]
