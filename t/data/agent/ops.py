# ops.py — the function t/agent.bats calls through mvm-agent: f(op, arg).
import os
import subprocess
import threading
import time

_hog = []


def f(op, arg=None):
    if op == "greet":
        return "hello, " + arg
    if op == "pid":
        return os.getpid()
    if op == "slow":
        time.sleep(arg)
        return "slept"
    if op == "len":
        return len(arg)
    if op == "grow":
        _hog.append(bytearray(arg * 1024 * 1024))
        return len(_hog)
    if op == "boom":
        raise ValueError("secret /etc/passwd token-1234")
    if op == "die":
        os.kill(os.getpid(), 9)
    if op == "die_later":
        threading.Thread(target=lambda: (time.sleep(0.2), os.kill(os.getpid(), 9))).start()
        return "bye"
    if op == "env":
        return dict(os.environ)
    if op == "getenv":
        return os.environ.get(arg)
    if op == "read":
        # a file's content, mode and owner (a provisioned secret file)
        st = os.stat(arg)
        with open(arg) as fh:
            return [fh.read(), "%o" % (st.st_mode & 0o7777), st.st_uid]
    if op == "waitfile":
        # a file's content once it exists (what a command service wrote), 60 s at most
        for _ in range(600):
            if os.path.exists(arg):
                with open(arg) as fh:
                    return fh.read()
            time.sleep(0.1)
        return None
    if op == "alive":
        # whether each pid in the file arg (a command service's) still runs
        return [os.path.exists("/proc/" + p) for p in open(arg).read().split()]
    if op == "socket":
        import socket
        try:
            socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
            return "made"
        except OSError as e:
            return e.errno
    if op == "seccomp":
        with open("/proc/self/status") as fh:
            return [ln.split()[1] for ln in fh if ln.startswith("Seccomp:")][0]
    if op == "ids":
        return [os.getuid(), os.getgid(), os.getcwd(), sorted(int(x) for x in os.listdir("/proc/self/fd"))]
    if op == "caps":
        # this process's and the agent's effective and bounding capabilities
        out = []
        for pid in ("self", os.getppid()):
            with open("/proc/%s/status" % pid) as f:
                st = dict(l.split(":\t", 1) for l in f.read().splitlines())
            out += [st["CapEff"], st["CapBnd"]]
        return out
    if op == "agentfds":
        # the agent's open descriptors (needs the runner to run as root)
        return len(os.listdir("/proc/%d/fd" % os.getppid()))
    if op == "zombies":
        # zombie children of the agent (besides none expected)
        n = 0
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open("/proc/%s/stat" % d) as f:
                        st = f.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if st[0] == "Z" and int(st[1]) == os.getppid():
                    n += 1
        return ["zombies", n]
    if op == "sleeper":
        p = subprocess.Popen(["sleep", "300"])
        return p.pid
    if op == "setsid":
        # a child in its own session, out of the runner's process group
        pid = os.fork()
        if pid == 0:
            os.setsid()
            time.sleep(300)
            os._exit(0)
        return pid
    if op == "daemon":
        # a double fork: the grandchild (own session) is orphaned at once
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.setsid()
            g = os.fork()
            if g == 0:
                time.sleep(300)
                os._exit(0)
            os.write(w, str(g).encode())
            os._exit(0)
        os.waitpid(pid, 0)
        os.close(w)
        g = int(os.read(r, 32))
        if arg:
            # then the call goes on a while with its orphan around
            time.sleep(arg)
        return g
    if op == "nproc":
        import resource
        return list(resource.getrlimit(resource.RLIMIT_NPROC))
    if op == "print":
        print("user output")
        return "printed"
    if op == "ptrace":
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        r = libc.ptrace(0, 0, None, None)   # PTRACE_TRACEME
        return [r, ctypes.get_errno()]
    if op == "spew":
        import sys
        sys.stderr.write("e" * arg)
        sys.stderr.flush()
        return "spewed"
    if op == "big":
        return "x" * arg
    raise ValueError("unknown op")
