# t/data/warm/src/app.py — examples/hello's greet, run by a warm pool in
# t/e2e-hello.bats; a few names make it report from inside the worker
# (issue 17: each warm worker in a cgroup of its own).
import json
import os
import sys


def _read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError as e:
        return "errno %d" % e.errno


def _spawn():
    # a detached child as a daemon makes it: fork, setsid, fork again (the
    # agent, a subreaper, inherits it), stdio closed; its pid comes back
    # through a pipe
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.setsid()
        if os.fork() == 0:
            os.write(w, str(os.getpid()).encode())
            fd = os.open("/dev/null", os.O_RDWR)
            for i in (0, 1, 2):
                os.dup2(fd, i)
            os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(600)"])
        os._exit(0)
    os.close(w)
    os.waitpid(pid, 0)
    child = int(os.read(r, 32))
    os.close(r)
    me = _read("/proc/self/cgroup")
    cg = "/sys/fs/cgroup" + me.split("::", 1)[1] if me.startswith("0::") else ""
    total = [l.split()[1] for l in _read("/proc/meminfo").splitlines() if l.startswith("MemTotal:")]
    return json.dumps({"self": me, "worker": os.getpid(), "child": child,
                       "child_cgroup": _read("/proc/%d/cgroup" % child), "dir": cg,
                       "memory_max": _read(cg + "/memory.max"), "pids_max": _read(cg + "/pids.max"),
                       "mem_total_kb": int(total[0]) if total else 0}, sort_keys=True)


def greet(name: str) -> str:
    if name == "spawn":
        return _spawn()
    if name.startswith("check:"):
        # check:PID:DIR: is PID still there, and what is left in cgroup DIR
        _, pid, d = name.split(":", 2)
        alive = os.path.exists("/proc/%s" % pid) and \
            _read("/proc/%s/stat" % pid).rsplit(")", 1)[-1].split()[0:1] != ["Z"]
        return json.dumps({"alive": alive, "procs": _read(d + "/cgroup.procs").split()})
    if name.startswith("hog:"):
        # say where, then touch MiB, 4 MiB at a time
        print("cgroup " + _read("/proc/self/cgroup"), file=sys.stderr, flush=True)
        hog = [b"\x01" * (4 << 20) for _ in range(int(name[4:]) // 4)]
        return "held %d MiB" % (4 * len(hog))
    if name.startswith("exists:"):
        return "yes" if os.path.exists(name[7:]) else "no"
    return f"hello, {name}"
