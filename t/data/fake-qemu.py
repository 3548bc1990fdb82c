#!/usr/bin/python3
"""fake-qemu.py QEMU-ARGS...  (with FAKE_QEMU_AGENT="COMMAND ...")

A stand-in for qemu-system-x86_64 as vm-boot runs it, for tests without a
kernel: it takes the `-chardev socket,id=agent,fd=N,server=on,wait=off`
argument, accepts on the listening socket N like QEMU's chardev server, and
hands the one connection, as standard input and output, to COMMAND (e.g.
mvm-agent --serial-stdio): the mux protocol then flows as over the guest's
virtio-serial port.  Like QEMU with -no-reboot when the guest reboots, it
exits 0 when COMMAND exits with status 80 (mvm-agent after a shutdown
request).  It writes one line to the `-serial file:/dev/fdset/S` console
(the descriptor `-add-fd fd=N,set=S` names).  The arguments it was given
are written to FAKE_QEMU_ARGS (one a line) if that is set, and its
/proc/self/status (uid, groups, open descriptors) to FAKE_QEMU_STATUS.
With FAKE_QEMU_RESTART=FILE, it starts COMMAND again (on the same
connection) whenever it exits with another status than 80, as init (agent/init.c)
does, and appends each COMMAND's pid to FILE.
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
if os.environ.get("FAKE_QEMU_STATUS"):
    with open(os.environ["FAKE_QEMU_STATUS"], "w") as f:
        f.write(open("/proc/self/status").read())
        f.write("Fds:\t%s\n" % " ".join(sorted(os.listdir("/proc/self/fd"), key=int)))
fdsets = {}
for i, a in enumerate(args):
    if a == "-add-fd":
        o = dict(x.split("=", 1) for x in args[i + 1].split(","))
        fdsets["/dev/fdset/" + o["set"]] = int(o["fd"])
if os.environ.get("FAKE_QEMU_ARGS"):
    # what each fdset's descriptor is (the files QEMU was handed)
    with open(os.environ["FAKE_QEMU_ARGS"], "a") as f:
        for k, fd in sorted(fdsets.items()):
            f.write("%s=%s\n" % (k, os.readlink("/proc/self/fd/%d" % fd)))
chardev = args[args.index("-chardev") + 1]
opts = dict(o.split("=", 1) for o in chardev.split(",")[1:] if "=" in o)
serial = args[args.index("-serial") + 1]
if serial.startswith("file:"):
    with os.fdopen(fdsets[serial[5:]], "w") as f:
        f.write("fake-qemu: the serial console\n")
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
srv = socket.socket(fileno=int(opts["fd"]))
srv.setblocking(True)
conn, _ = srv.accept()
restart = os.environ.get("FAKE_QEMU_RESTART")
TERM = {signal.SIGTERM}
while True:
    # SIGTERM waits until the agent's pid is written and the agent is in
    # the try below: vm-boot may stop us as soon as the agent says HELLO
    signal.pthread_sigmask(signal.SIG_BLOCK, TERM)
    agent = subprocess.Popen(shlex.split(os.environ["FAKE_QEMU_AGENT"]),
                             stdin=conn.fileno(), stdout=conn.fileno(),
                             preexec_fn=lambda: signal.pthread_sigmask(signal.SIG_UNBLOCK, TERM))
    try:
        if restart:
            with open(restart, "a") as f:
                f.write("%d\n" % agent.pid)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, TERM)
        status = agent.wait()
    finally:
        if agent.poll() is None:
            agent.kill()
    if not restart or status == 80:
        break
conn.close()
sys.exit(0 if status == 80 else 1)
