#!/usr/bin/python3
"""fake-qemu.py QEMU-ARGS...  (with FAKE_QEMU_AGENT="COMMAND ...")

A stand-in for qemu-system-x86_64 as vm-boot runs it, for tests without a
kernel: it takes the `-chardev socket,id=agent,path=P,server=on,wait=off`
argument, listens on P like QEMU's chardev server, and hands the one
connection, as standard input and output, to COMMAND (e.g. mvm-agent
--serial-stdio): the mux protocol then flows as over the guest's
virtio-serial port.  Like QEMU with -no-reboot when the guest reboots, it
exits 0 when COMMAND exits with status 80 (mvm-agent after a shutdown
request).  The arguments it was given are written to FAKE_QEMU_ARGS (one a
line) if that is set.
"""
import os
import shlex
import signal
import socket
import subprocess
import sys

args = sys.argv[1:]
if os.environ.get("FAKE_QEMU_ARGS"):
    with open(os.environ["FAKE_QEMU_ARGS"], "w") as f:
        f.write("".join(a + "\n" for a in args))
chardev = args[args.index("-chardev") + 1]
opts = dict(o.split("=", 1) for o in chardev.split(",")[1:] if "=" in o)
path = opts["path"]
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(1)
conn, _ = srv.accept()
agent = subprocess.Popen(shlex.split(os.environ["FAKE_QEMU_AGENT"]),
                         stdin=conn.fileno(), stdout=conn.fileno())
conn.close()
try:
    status = agent.wait()
finally:
    if agent.poll() is None:
        agent.kill()
sys.exit(0 if status == 80 else 1)
