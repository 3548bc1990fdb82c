#!/usr/bin/python3
"""fake-vsock.py SOCKET -- COMMAND...

A Firecracker-style hybrid vsock Unix socket for tests, without a VM: each
connection that says "CONNECT 5252\\n" is answered "OK 1\\n" and handed, as
its standard input and output, to a new COMMAND (e.g. mvm-agent --stdio).
Anything else is refused by closing the connection (or, with
FAKE_VSOCK_REFUSE=1, by answering "NO\\n").  Exits when its parent dies,
and, like Firecracker when its guest reboots, when a COMMAND exits with
status 80 (mvm-agent after a shutdown request, on which init reboots).
"""
import os
import signal
import socket
import subprocess
import sys

path = sys.argv[1]
cmd = sys.argv[sys.argv.index("--") + 1:]


def reap(_sig, _frame):
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 80:
            os._exit(0)


signal.signal(signal.SIGCHLD, reap)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path + ".tmp")
os.rename(path + ".tmp", path)
s.listen(16)
while True:
    c, _ = s.accept()
    line = b""
    while not line.endswith(b"\n") and len(line) < 64:
        ch = c.recv(1)  # byte by byte: what follows belongs to COMMAND
        if not ch:
            break
        line += ch
    if os.environ.get("FAKE_VSOCK_REFUSE") == "1":
        c.sendall(b"NO\n")
    elif line == b"CONNECT 5252\n":
        c.sendall(b"OK 1\n")
        subprocess.Popen(cmd, stdin=c.fileno(), stdout=c.fileno(), close_fds=True,
                         preexec_fn=lambda: signal.signal(signal.SIGCHLD, signal.SIG_DFL))
    c.close()
