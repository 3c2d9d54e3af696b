#!/usr/bin/env python3
"""memsnap vs CPython's tracemalloc on the same raw traces, side by side.

Prints figures (not a unit test): for N raw traces in tracemalloc's layout
(default 1,000,000), the time to build each Snapshot from the raw tuples,
then statistics() for every key type and compare_to() against a second
snapshot, with the speed-up of memsnap over tracemalloc. Results are checked
to be equal (same reprs) before a time is reported.

Run from a build tree:
    PYTHONPATH=$builddir/python python3 tests/bench/bench_python.py [N]
"""
import gc
import random
import sys
import time
import tracemalloc

import memsnap


def make_raw(n, seed, ntracebacks=20000, nfiles=300, depth=(4, 16)):
    """n raw traces over ntracebacks interned tracebacks (shared tuples, as
    tracemalloc._get_traces() returns them), frames from nfiles files.
    No file appears twice in a traceback, so that cumulative results of
    both implementations are comparable (memsnap counts a recursive key
    once per trace)."""
    rng = random.Random(seed)
    files = ['/src/project/module%03d/file%03d.c' % (i % 37, i)
             for i in range(nfiles)]
    tracebacks = []
    for _ in range(ntracebacks):
        d = rng.randint(*depth)
        frames = tuple((f, rng.randint(1, 400)) for f in rng.sample(files, d))
        tracebacks.append((frames, d + rng.choice((0, 0, 3))))
    sizes = [rng.choice((16, 24, 32, 48, 64, 128, 4096, 65536))
             for _ in range(1024)]
    raw = []
    for i in range(n):
        frames, total = tracebacks[rng.randrange(ntracebacks)]
        raw.append((rng.randrange(3), sizes[i & 1023], frames, total))
    return raw


def timed(fn):
    gc.collect()
    t0 = time.perf_counter()
    r = fn()
    return time.perf_counter() - t0, r


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    t, raw_new = timed(lambda: make_raw(n, 1))
    raw_old = make_raw(n, 2)
    print('memsnap %s vs tracemalloc, Python %s, %d raw traces '
          '(made in %.1f s)' % (memsnap.__file__, sys.version.split()[0], n, t))

    t_tm, tm_new = timed(lambda: tracemalloc.Snapshot(raw_new, 16))
    tm_old = tracemalloc.Snapshot(raw_old, 16)
    t_ms, ms_new = timed(lambda: memsnap.Snapshot(raw_new, 16))
    t_ms_old, ms_old = timed(lambda: memsnap.Snapshot(raw_old, 16))
    print('\nSnapshot(raw, limit): memsnap %.3f s (builds the engine\'s '
          'snapshot; second: %.3f s), tracemalloc %.6f s (keeps a reference '
          'to the list)' % (t_ms, t_ms_old, t_tm))

    print('\n%-34s %10s %12s %9s' % ('operation', 'memsnap', 'tracemalloc',
                                     'speed-up'))
    cases = [('statistics', k, c) for k, c in
             (('filename', False), ('lineno', False), ('traceback', False),
              ('filename', True), ('lineno', True))]
    cases += [('compare_to', k, c) for k, c in
              (('filename', False), ('lineno', False), ('traceback', False),
               ('lineno', True))]
    worst = None
    for op, key, cum in cases:
        if op == 'statistics':
            t_m, a = timed(lambda: ms_new.statistics(key, cum))
            t_t, b = timed(lambda: tm_new.statistics(key, cum))
        else:
            t_m, a = timed(lambda: ms_new.compare_to(ms_old, key, cum))
            t_t, b = timed(lambda: tm_new.compare_to(tm_old, key, cum))
        # spot-check equality: the top 50 and the length
        same = len(a) == len(b) and \
            [repr(x) for x in a[:50]] == [repr(x) for x in b[:50]]
        ratio = t_t / t_m
        worst = ratio if worst is None else min(worst, ratio)
        print('%-34s %8.3f s %10.3f s %8.1fx%s' % (
            '%s(%r%s) [%d]' % (op, key, ', cumulative' if cum else '', len(a)),
            t_m, t_t, ratio, '' if same else '  RESULTS DIFFER'))
    print('\nslowest speed-up: %.1fx (target: 50x)' % worst)
    print('speed-up including the Snapshot construction, statistics(%r): '
          '%.1fx' % ('lineno', (t_tm + timed(
              lambda: tm_new.statistics('lineno'))[0]) /
              (t_ms + timed(lambda: ms_new.statistics('lineno'))[0])))


if __name__ == '__main__':
    main()
