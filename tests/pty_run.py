#!/usr/bin/env python3
"""Run a command with its stderr on a pseudo-terminal, as a user's terminal would be.

usage: pty_run.py COLS TTY_LOG -- CMD [ARGS...]

The terminal is COLS columns wide (TIOCSWINSZ); everything the command writes to
stderr is saved, byte for byte, in TTY_LOG; stdout and stdin stay the caller's.
Exits with the command's exit status (128+N for signal N)."""
import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios


def main():
    cols, log = int(sys.argv[1]), sys.argv[2]
    cmd = sys.argv[sys.argv.index("--") + 1:]
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, cols, 0, 0))
    # No newline translation: the log shows exactly the \r and \n the program wrote.
    attrs = termios.tcgetattr(slave)
    attrs[1] &= ~termios.OPOST
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    proc = subprocess.Popen(cmd, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    out = bytearray()
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the last writer closed the terminal
            break
        if not chunk:
            break
        out += chunk
    rc = proc.wait()
    with open(log, "wb") as f:
        f.write(out)
    sys.exit(rc if rc >= 0 else 128 - rc)


if __name__ == "__main__":
    main()
