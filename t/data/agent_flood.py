#!/usr/bin/python3
"""agent_flood.py -- a peer that floods mvm-agent with pings and reads nothing.

usage: agent_flood.py [--mux] N -- AGENT_COMMAND...

Starts AGENT_COMMAND (mvm-agent --stdio, or --serial-stdio with --mux: the
pings then go on mux stream 1), writes N ping frames without reading a
byte, until it has written them all or the agent has stopped taking them
for a second.  Then prints the agent's peak resident set ("hwm_kib K",
VmHWM of /proc/PID/status) and whether the writer was held back
("stalled yes|no"), reads everything, and prints the pongs it got
("pongs M") and "agent-exit S".
"""
import os
import struct
import subprocess
import sys
import threading
import time

PING = b'{"type":"ping"}'
PONG = b'{"type":"pong","agent":"mvm-agent","version":1}'


def main():
    args = sys.argv[1:]
    mux = args[0] == "--mux"
    if mux:
        args = args[1:]
    n = int(args[0])
    cmd = args[args.index("--") + 1:]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
    frame = struct.pack(">I", len(PING)) + PING
    per = 65536 // len(frame)
    written = [0, False]  # pings, done

    def writer():
        try:
            if mux:
                p.stdin.write(struct.pack(">IBI", 1, 1, 0))       # OPEN 1
            left = n
            while left:
                k = min(per, left)
                data = frame * k
                if mux:
                    data = struct.pack(">IBI", 1, 2, len(data)) + data
                p.stdin.write(data)
                left -= k
                written[0] += k
            if mux:
                p.stdin.write(struct.pack(">IBI", 1, 3, 0))       # CLOSE 1
            p.stdin.close()
        except BrokenPipeError:
            pass
        written[1] = True

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    last, since = -1, time.monotonic()
    while not written[1]:
        time.sleep(0.1)
        if written[0] != last:
            last, since = written[0], time.monotonic()
        elif time.monotonic() - since > 1.0:
            break
    stalled = not written[1]
    with open("/proc/%d/status" % p.pid) as f:
        hwm = [l.split()[1] for l in f if l.startswith("VmHWM:")][0]
    print("hwm_kib", hwm)
    print("stalled", "yes" if stalled else "no")
    sys.stdout.flush()
    # now read: the agent must serve again
    pongs, bad, buf, pend = 0, 0, b"", b""
    expect = struct.pack(">I", len(PONG)) + PONG
    fd = p.stdout.fileno()
    while True:
        d = os.read(fd, 1 << 20)
        if not d:
            break
        buf += d
        if mux:
            out, i = [], 0
            while len(buf) - i >= 9:
                sid, kind, ln = struct.unpack(">IBI", buf[i:i + 9])
                if len(buf) - i < 9 + ln:
                    break
                if kind == 2:
                    out.append(buf[i + 9:i + 9 + ln])
                i += 9 + ln
            buf = buf[i:]
            data = b"".join(out)
        else:
            data, buf = buf, b""
        pend += data
        k = len(pend) // len(expect)
        if pend[:k * len(expect)] != expect * k:
            bad += 1
        pongs += k
        pend = pend[k * len(expect):]
    t.join()
    print("pongs %d%s" % (pongs, " (and replies that are not pongs)" if bad else ""))
    print("agent-exit", p.wait())


main()
