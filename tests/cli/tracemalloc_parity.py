"""tracemalloc_parity.py - what Python's own tracemalloc prints for the
traces of gen_snapshots.c (keep the two in sync), for golden.test.
Usage: tracemalloc_parity.py stats|compare FILE... [--group-by G] [--cumulative]"""
import sys
import tracemalloc

JSON_INL = ("src/json.c", 20)
JSON = ("src/json.c", 100)
SERVE = ("src/server.c", 42)
MAIN = ("src/main.c", 10)
LIBC = ("/lib/x86_64-linux-gnu/libc.so.6", 0)
CACHE = ("src/cache.c", 77)
CONFIG = ("src/config.c", 5)

# most recent first, as _tracemalloc gives them; (frames, total_nframe)
TB_JSON = ((JSON_INL, JSON, SERVE, MAIN, LIBC), 5)
TB_CACHE = ((CACHE, SERVE, MAIN, LIBC), 4)
TB_CONFIG = ((CONFIG, MAIN, LIBC), 3)
TB_DEEP = ((CACHE, SERVE, MAIN), 12)

COMMON = [(0, 4096, TB_JSON), (0, 4096, TB_JSON), (0, 1000, TB_CACHE),
          (1, 1048576, TB_CACHE), (2, 256, TB_DEEP)]
OLD = COMMON + [(0, 24, TB_CONFIG)]
NEW = COMMON + [(0, 2048, TB_CACHE), (0, 2048, TB_CACHE), (0, 100, TB_JSON)]


def snapshot(path):
    traces = NEW if path.startswith("new") else OLD
    return tracemalloc.Snapshot(
        [(d, size, tb[0], tb[1]) for d, size, tb in traces], 8)


def main(argv):
    cmd, rest = argv[0], argv[1:]
    files = [a for a in rest if a.endswith(".msnap")]
    group_by = "lineno"
    if "--group-by" in rest:
        group_by = rest[rest.index("--group-by") + 1]
    cumulative = "--cumulative" in rest
    if cmd == "stats":
        stats = snapshot(files[0]).statistics(group_by, cumulative)
    else:
        stats = snapshot(files[1]).compare_to(snapshot(files[0]), group_by,
                                              cumulative)
    for stat in stats:
        print(stat)


main(sys.argv[1:])
