#!/usr/bin/python3
"""agent_client.py -- a test client for mvm-agent (mvm-agent-protocol(5)).

usage: agent_client.py [--mux | --pty] [--log FILE] SCRIPT -- AGENT_COMMAND...

Starts AGENT_COMMAND (mvm-agent --stdio, or --serial-stdio with --mux, or
--serial {pty} with --pty: the mux over a raw pseudo-terminal),
performs the actions of SCRIPT (one per line, '#' comments), then ends its
sending side and reads until the agent closes.  Prints, per stream in
stream order, one line per reply ("@ID " prefix in mux mode):

  pong | status k=v ... | stdout TEXT | stderr TEXT | exit N | error KIND | closed

stdout/stderr chunks are joined and printed before the terminal reply
(TEXT with \\n escaped; a msgpack run prints its result as JSON).  Last
come "order: ..." (terminal replies in arrival order, mux mode) and
"agent-exit N".

Actions ([@ID] in mux mode selects the stream, default 1):
  open | shut              mux OPEN / CLOSE (shut also ends a --stdio conn)
  ping | status
  run FMT ARGS_JSON [timeout=MS] [env:K=V]...   FMT json|msgpack
  runsize N [timeout=MS]   run [["len","aaa..."],{}], N bytes of stdin in all
  frame TEXT               one frame with TEXT as its body
  rawlen N                 a bare length prefix N (u32 BE)
  raw HEX                  raw bytes on the stream
  muxraw HEX               raw bytes on the mux (mux mode)
  wait                     until every request on the stream is answered
  waitready N              status until pool slots >= N (and busy 0)
  waitpool KEY N           status until pool KEY (respawned, crashed, ...) >= N
  waithello N              until the agent has sent N HELLO records
  bench N ACTION           N times ACTION, one at a time; prints "bench: ..."
  sleep S
  kill SIG                 send signal number SIG to the agent
  listening PORT...        status; prints "listening PORT=yes|no ..." (its
                           "listening" member) instead of the status line
"""
import base64
import json
import os
import struct
import subprocess
import sys
import threading
import time

try:
    import msgpack
except ImportError:  # only msgpack runs need it
    msgpack = None

TIMEOUT = 120


class Client:
    def __init__(self, cmd, mux, log, pty=False):
        self.mux = mux
        self.master = None
        if pty:
            # the agent's --serial device is the slave of a raw pty: "{pty}"
            import tty
            self.master, slave = os.openpty()
            tty.setraw(slave)
            path = os.ttyname(slave)
            cmd = [w.replace("{pty}", path) for w in cmd]
            self.p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=log)
            self.slave = slave      # kept open: the master reads EIO without one
        else:
            self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=log, bufsize=0)
        self.cv = threading.Condition()
        self.streams = {}   # id -> dict(events=[], out=b'', err=b'', sent=0, answered=0, rx=b'', closed=False)
        self.order = []
        self.fmt = {}       # id -> list of formats of pending runs
        self.eof = False
        self.hello = 0
        self.bench = []
        self.t = threading.Thread(target=self.reader, daemon=True)
        self.t.start()

    def st(self, sid):
        if sid not in self.streams:
            self.streams[sid] = dict(events=[], out=b"", err=b"", sent=0, answered=0,
                                     rx=b"", closed=False, fmts=[], last_status=None)
        return self.streams[sid]

    # -- output side --
    def write(self, data):
        if self.master is not None:
            while data:
                data = data[os.write(self.master, data):]
            return
        try:
            self.p.stdin.write(data)
            self.p.stdin.flush()
        except BrokenPipeError:
            pass

    def send(self, sid, data):
        if not self.mux:
            self.write(data)
            return
        for i in range(0, len(data), 65536):
            chunk = data[i:i + 65536]
            self.write(struct.pack(">IBI", sid, 2, len(chunk)) + chunk)

    def request(self, sid, body, fmt=None):
        with self.cv:
            s = self.st(sid)
            s["sent"] += 1
            s["fmts"].append(fmt)
        self.send(sid, struct.pack(">I", len(body)) + body)

    # -- input side --
    def reader(self):
        buf = b""
        while True:
            try:
                if self.master is not None:
                    d = os.read(self.master, 1 << 20)
                else:
                    d = os.read(self.p.stdout.fileno(), 1 << 20)
            except (OSError, ValueError):
                d = b""
            if not d:
                break
            buf += d
            if self.mux:
                while len(buf) >= 9:
                    sid, kind, n = struct.unpack(">IBI", buf[:9])
                    if len(buf) < 9 + n:
                        break
                    data, buf = buf[9:9 + n], buf[9 + n:]
                    with self.cv:
                        if kind == 4:
                            self.hello += 1
                        elif kind == 2:
                            self.feed(sid, data)
                        elif kind == 3:
                            self.st(sid)["closed"] = True
                            self.st(sid)["events"].append("closed")
                        else:
                            self.st(sid)["events"].append("bad-record %d" % kind)
                        self.cv.notify_all()
            else:
                with self.cv:
                    self.feed(1, buf)
                    buf = b""
                    self.cv.notify_all()
        with self.cv:
            self.eof = True
            if not self.mux:
                self.st(1)["events"].append("closed")
            self.cv.notify_all()

    def feed(self, sid, data):
        s = self.st(sid)
        s["rx"] += data
        while len(s["rx"]) >= 4:
            n = struct.unpack(">I", s["rx"][:4])[0]
            if len(s["rx"]) < 4 + n:
                break
            body, s["rx"] = s["rx"][4:4 + n], s["rx"][4 + n:]
            self.reply(sid, s, json.loads(body))

    def reply(self, sid, s, r):
        t = r.get("type")
        if t in ("stdout", "stderr"):
            s["out" if t == "stdout" else "err"] += base64.b64decode(r["data"])
            return
        fmt = s["fmts"].pop(0) if s["fmts"] else None
        if t in ("exit", "error"):
            if s["out"]:
                out = s["out"]
                if fmt == "msgpack" and t == "exit" and r["code"] == 0 and msgpack:
                    text = json.dumps(msgpack.unpackb(out, raw=False), separators=(",", ":"))
                else:
                    text = out.decode("utf-8", "replace")
                s["events"].append("stdout " + text.replace("\n", "\\n"))
            if s["err"]:
                s["events"].append("stderr " + s["err"].decode("utf-8", "replace").replace("\n", "\\n"))
            s["out"] = s["err"] = b""
        if t == "pong":
            s["events"].append("pong")
        elif t == "status":
            p = r["pool"]
            s["last_status"] = r
            s["events"].append("status entrypoint=%s tier=%s language=%s slots=%d busy=%d queued=%d "
                               "calls=%d recycled=%d respawned=%d crashed=%d" % (
                                   r["entrypoint"], r["tier"], r["language"], p["slots"], p["busy"],
                                   p["queued"], p["calls"], p["recycled"], p["respawned"], p["crashed"]))
        elif t == "exit":
            s["events"].append("exit %d" % r["code"])
        elif t == "error":
            s["events"].append("error " + r["kind"] + (": " + r["message"] if s.get("msgs") else ""))
        else:
            s["events"].append("unknown " + json.dumps(r))
        s["answered"] += 1
        self.order.append("@%d:%s" % (sid, s["events"][-1].split(" ")[0]))

    def wait(self, sid):
        end = time.time() + TIMEOUT
        with self.cv:
            while True:
                s = self.st(sid)
                if s["answered"] >= s["sent"] or s["closed"] or self.eof:
                    return
                left = end - time.time()
                if left <= 0:
                    raise SystemExit("agent_client: timed out waiting on stream %d" % sid)
                self.cv.wait(left)


def run_script(c, lines):
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        sid = 1
        if line.startswith("@"):
            tok, _, line = line.partition(" ")
            sid = int(tok[1:])
        words = line.split(" ")
        a = words[0]
        if a == "open":
            c.st(sid)
            c.write(struct.pack(">IBI", sid, 1, 0))
        elif a == "shut":
            if c.mux:
                c.write(struct.pack(">IBI", sid, 3, 0))
            else:
                c.p.stdin.close()
        elif a == "ping":
            c.request(sid, b'{"type":"ping"}')
        elif a == "status":
            c.request(sid, b'{"type":"status"}')
        elif a in ("run", "runsize"):
            opts = {}
            env = {}
            if a == "run":
                fmt = words[1]
                rest = line.split(" ", 2)[2]
                # ARGS_JSON runs to the first " timeout=" / " env:"
                cut = len(rest)
                for m in (" timeout=", " env:", " fn:", " +msg"):
                    i = rest.find(m)
                    if i >= 0:
                        cut = min(cut, i)
                args, tail = rest[:cut], rest[cut:].split()
                val = json.loads(args)
                data = args.encode() if fmt == "json" else msgpack.packb(val, use_bin_type=True)
            else:
                fmt = "json"
                # [["len","aaa..."],{}] of exactly N bytes
                data = b'[["len","' + b"a" * (int(words[1]) - 15) + b'"],{}]'
                tail = words[2:]
            for w in tail:
                if w == "+msg":     # from now on, error replies on this stream show their message
                    with c.cv:
                        c.st(sid)["msgs"] = True
                elif w.startswith("fn:"):
                    opts["function"] = w[3:]
                elif w.startswith("timeout="):
                    opts["timeout_ms"] = int(w[8:])
                elif w.startswith("env:"):
                    k, _, v = w[4:].partition("=")
                    env[k] = v
            req = {"type": "run", "stdin": base64.b64encode(data).decode()}
            req.update(opts)
            if env:
                req["env"] = env
            c.request(sid, json.dumps(req, separators=(",", ":")).encode(), fmt)
        elif a == "frame":
            c.request(sid, line.split(" ", 1)[1].encode())
        elif a == "rawlen":
            with c.cv:
                c.st(sid)["sent"] += 1
            c.send(sid, struct.pack(">I", int(words[1])))
        elif a == "raw":
            c.send(sid, bytes.fromhex(words[1]))
        elif a == "muxraw":
            c.write(bytes.fromhex(words[1]))
        elif a == "wait":
            c.wait(sid)
        elif a in ("waitready", "waitpool"):
            key, want = ("slots", int(words[1])) if a == "waitready" else (words[1], int(words[2]))
            end = time.time() + TIMEOUT
            while True:
                c.request(sid, b'{"type":"status"}')
                c.wait(sid)
                with c.cv:
                    s = c.st(sid)
                    r = s["last_status"]
                    s["events"].pop()       # not part of the transcript
                    c.order.pop()
                if r and r["pool"][key] >= want and (a == "waitpool" or r["pool"]["busy"] == 0):
                    break
                if time.time() > end:
                    raise SystemExit("agent_client: pool %s never reached %d" % (key, want))
                time.sleep(0.05)
        elif a == "waithello":
            want = int(words[1])
            end = time.time() + TIMEOUT
            with c.cv:
                while c.hello < want:
                    if time.time() > end or c.eof:
                        raise SystemExit("agent_client: no HELLO %d" % want)
                    c.cv.wait(1)
        elif a == "bench":
            # bench N ACTION...: N calls one at a time, each timed from
            # request to terminal reply
            n = int(words[1])
            act = ("@%d " % sid if c.mux else "") + line.split(" ", 2)[2]
            times = []
            for _ in range(n):
                t0 = time.perf_counter()
                run_script(c, [act])
                c.wait(sid)
                times.append(time.perf_counter() - t0)
            times.sort()
            c.bench.append("bench: n=%d median_us=%d mean_us=%d min_us=%d" % (
                n, times[n // 2] * 1e6, sum(times) / n * 1e6, times[0] * 1e6))
        elif a == "sleep":
            time.sleep(float(words[1]))
        elif a == "listening":
            c.request(sid, b'{"type":"status"}')
            c.wait(sid)
            with c.cv:
                s = c.st(sid)
                got = s["last_status"].get("listening", [])
                s["events"][-1] = "listening " + " ".join(
                    "%s=%s" % (p, "yes" if int(p) in got else "no") for p in words[1:])
        elif a == "kill":
            os.kill(c.p.pid, int(words[1]))
        else:
            raise SystemExit("agent_client: unknown action: " + a)


def main():
    argv = sys.argv[1:]
    mux = False
    pty = False
    log = subprocess.DEVNULL
    while argv and argv[0].startswith("--") and argv[0] != "--":
        if argv[0] == "--mux":
            mux = True
            argv = argv[1:]
        elif argv[0] == "--pty":
            mux = pty = True
            argv = argv[1:]
        elif argv[0] == "--log":
            log = open(argv[1], "ab")
            argv = argv[2:]
        else:
            raise SystemExit("agent_client: unknown option " + argv[0])
    script, sep, cmd = argv[0], argv[1], argv[2:]
    assert sep == "--"
    with open(script) as f:
        lines = f.read().splitlines()
    c = Client(cmd, mux, log, pty)
    run_script(c, lines)
    # end: close every stream we opened, then our side
    if mux:
        with c.cv:
            ids = [i for i, s in c.streams.items() if not s.get("shut")]
        for i in ids:
            c.write(struct.pack(">IBI", i, 3, 0))
    for i in list(c.streams):
        c.wait(i)
    if c.master is not None:
        # a serial port never ends: stop the agent with SIGTERM
        c.p.terminate()
    else:
        try:
            c.p.stdin.close()
        except (BrokenPipeError, OSError):
            pass
    try:
        rc = c.p.wait(TIMEOUT)
    except subprocess.TimeoutExpired:
        c.p.kill()
        rc = c.p.wait()
        print("agent-killed")
    c.t.join(10)
    for sid in sorted(c.streams):
        for e in c.streams[sid]["events"]:
            print(("@%d " % sid if mux else "") + e)
    if mux:
        print("order: " + " ".join(c.order))
        print("hello: %d" % c.hello)
    for b in c.bench:
        print(b)
    print("agent-exit %d" % rc)


if __name__ == "__main__":
    main()
