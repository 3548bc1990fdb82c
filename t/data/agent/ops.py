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
    if op == "ids":
        return [os.getuid(), os.getgid(), os.getcwd(), sorted(int(x) for x in os.listdir("/proc/self/fd"))]
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
