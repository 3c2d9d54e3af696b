"""Helpers shared by memsnap's Python tests: raw traces in tracemalloc's
layout, made deterministically, and converters back to that layout."""
import random

import memsnap


def raw_of(snapshot):
    """The raw traces of a memsnap or tracemalloc snapshot, as tuples."""
    return [(t.domain, t.size,
             tuple((f.filename, f.lineno) for f in reversed(t.traceback)),
             t.traceback.total_nframe)
            for t in snapshot.traces]


def random_raw(seed, ntraces=400, nfiles=7, nlines=6, maxdepth=5,
               recursion=False, ntracebacks=60):
    """Random raw traces: tracebacks drawn from a pool so that some repeat
    (as tracemalloc's interned tracebacks do), sizes spanning B to GiB.
    Without recursion no filename appears twice in a traceback (so that
    cumulative statistics do not meet memsnap's documented deviation)."""
    rng = random.Random(seed)
    files = ['dir%d/file%d.c' % (i % 2, i) for i in range(nfiles)]
    files.append('<unknown>')
    pool = [(f, l) for f in files for l in range(0, nlines)]
    tracebacks = []
    for _ in range(ntracebacks):
        depth = rng.randint(1, maxdepth)
        if recursion:
            frames = tuple(rng.choice(pool[:8]) for _ in range(depth))
        else:
            frames = tuple((f, rng.randrange(nlines))
                           for f in rng.sample(files, depth))
        tracebacks.append((frames, depth + rng.choice((0, 0, 0, 1, 7))))
    sizes = (0, 1, 7, 99, 100, 1023, 1024, 10239, 10240, 65536,
             1 << 20, 5 << 30)
    raw = []
    for _ in range(ntraces):
        frames, total = rng.choice(tracebacks)
        size = rng.choice(sizes) + rng.randint(0, 3)
        raw.append((rng.randint(0, 3), size, frames, total))
    return raw


def both(raw, limit=5):
    """(memsnap snapshot, tracemalloc snapshot) of the same raw traces."""
    import tracemalloc
    return memsnap.Snapshot(raw, limit), tracemalloc.Snapshot(raw, limit)
