#!/usr/bin/env python3
"""pty_session.py - drive memsnap's interactive prompt through a terminal.

Usage: pty_session.py TRANSCRIPT LINE... -- COMMAND [ARGS...]

Starts COMMAND on a new pseudo-terminal (its stdin, stdout and stderr),
waits for the prompt, types each LINE followed by Enter, waiting for the
next prompt after each but the last, and writes everything the terminal
showed to TRANSCRIPT. A tab in a LINE is typed as a tab (completion); a
LINE starting with "!" is run by the shell instead (between two commands);
"^D" is a Ctrl-D alone (the end of input), "^C" a Ctrl-C (the terminal
sends SIGINT).
Exits with COMMAND's exit status, 124 when something took over 60 s.
"""
import os
import pty
import select
import sys
import termios
import time

PROMPT = b"memsnap> "


def main():
    args = sys.argv[1:]
    transcript, args = args[0], args[1:]
    sep = args.index("--")
    lines, command = args[:sep], args[sep + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(command[0], command)
    seen = bytearray()
    deadline = time.monotonic() + 60

    def read_until(pattern, start):
        while seen.find(pattern, start) < 0:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            r, _, _ = select.select([fd], [], [], left)
            if not r:
                return False
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                return False
            if not chunk:
                return False
            seen.extend(chunk)
        return True

    def editing():
        # the prompt is out before the line editor takes the terminal:
        # typed earlier, a line would be echoed twice (type-ahead)
        while time.monotonic() < deadline:
            if not termios.tcgetattr(fd)[3] & termios.ICANON:
                return True
            time.sleep(0.005)
        return False

    ok = read_until(PROMPT, 0)
    for i, line in enumerate(lines):
        if not ok:
            break
        if line.startswith("!"):
            if os.system(line[1:]) != 0:
                ok = False
            continue
        if not editing():
            ok = False
            break
        mark = len(seen)
        keys = {"^D": b"\x04", "^C": b"\x03"}
        os.write(fd, keys.get(line, line.encode() + b"\r"))
        if i < len(lines) - 1:
            ok = read_until(PROMPT, mark)
    # the rest, up to the end of the session
    read_until(b"\0never\0", len(seen))
    with open(transcript, "wb") as f:
        f.write(bytes(seen))
    if not ok:
        os.kill(pid, 15)
        os.waitpid(pid, 0)
        sys.exit(124)
    _, status = os.waitpid(pid, 0)
    sys.exit(os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    main()
