#!/usr/bin/python3
"""vsock_flood.py -- a client that floods vm-boot's agent socket with pings
and reads nothing (the host side of the mux's back-pressure).

usage: vsock_flood.py SOCKET PID N

Connects to SOCKET (Firecracker-style: CONNECT 5252, then OK), writes N
ping frames without reading a reply, until all are written or vm-boot has
stopped taking them for two seconds.  Then prints PID's (vm-boot's) peak
resident set ("hwm_kib K") and whether the writer was held back ("stalled
yes|no"), reads every reply and prints how many pongs it got ("pongs M").
"""
import socket
import struct
import sys
import threading
import time

PING = b'{"type":"ping"}'
PONG = b'{"type":"pong","agent":"mvm-agent","version":1}'


def main():
    path, pid, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(b"CONNECT 5252\n")
    line = b""
    while not line.endswith(b"\n"):
        line += s.recv(1)
    if not line.startswith(b"OK "):
        sys.exit("no OK: %r" % line)
    frame = struct.pack(">I", len(PING)) + PING
    per = 65536 // len(frame)
    written = [0, False]

    def writer():
        left = n
        while left:
            k = min(per, left)
            s.sendall(frame * k)
            left -= k
            written[0] += k
        written[1] = True

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    last, since = -1, time.monotonic()
    while not written[1]:
        time.sleep(0.1)
        if written[0] != last:
            last, since = written[0], time.monotonic()
        elif time.monotonic() - since > 2.0:
            break
    with open("/proc/%d/status" % pid) as f:
        hwm = [l.split()[1] for l in f if l.startswith("VmHWM:")][0]
    print("hwm_kib", hwm)
    print("stalled", "no" if written[1] else "yes")
    sys.stdout.flush()
    expect = struct.pack(">I", len(PONG)) + PONG
    got, pend = 0, b""
    s.settimeout(60)
    while got < n:
        d = s.recv(1 << 20)
        if not d:
            break
        pend += d
        k = len(pend) // len(expect)
        if pend[:k * len(expect)] != expect * k:
            sys.exit("not a pong")
        got += k
        pend = pend[k * len(expect):]
    print("pongs", got)


main()
