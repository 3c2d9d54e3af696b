#!/usr/bin/env python3
"""pty_run.py - run a command with its stderr, or its stdout, a terminal.

Usage: pty_run.py stderr|stdout TRANSCRIPT COMMAND [ARGS...]

That stream of COMMAND is a new pseudo-terminal, and everything it shows
goes to TRANSCRIPT byte for byte (escape sequences and carriage returns
kept); the other streams are this script's own, so that a test keeps them
plain files. Exits with COMMAND's exit status, 124 when it took over 60 s.
"""
import os
import select
import subprocess
import sys
import time


def main():
    stream, transcript, command = sys.argv[1], sys.argv[2], sys.argv[3:]
    master, slave = os.openpty()
    child = subprocess.Popen(command, **{stream: slave})
    os.close(slave)
    seen = bytearray()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        r, _, _ = select.select([master], [], [], 0.5)
        if not r:
            if child.poll() is not None:
                break
            continue
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the last holder of the terminal is gone
            break
        if not chunk:
            break
        seen.extend(chunk)
    with open(transcript, "wb") as f:
        f.write(bytes(seen))
    try:
        status = child.wait(max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
        sys.exit(124)
    sys.exit(status if status >= 0 else 128 - status)


if __name__ == "__main__":
    main()
