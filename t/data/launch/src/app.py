# t/data/launch/src/app.py — the function t/e2e-launch.bats calls: what the
# guest delivered, seen from inside (issue 15).
import json
import os


def probe(step: str, alloc_mb: str = "0") -> str:
    if alloc_mb != "0":
        # issue 17: touch alloc_mb MiB, 4 MiB at a time (one allocation
        # above the VM's memory would fail at once, before any limit)
        hog = [b"\x01" * (4 << 20) for _ in range(int(alloc_mb) // 4)]
        return "held %d MiB" % (4 * len(hog))
    out = {"step": step, "env": os.environ.get("API_KEY"),
           "literal": os.environ.get("GREETING")}
    with open("/mnt/secrets/tok") as f:
        out["file"] = f.read()
    st = os.stat("/mnt/secrets/tok")
    out["file_mode"] = "%o" % (st.st_mode & 0o7777)
    out["file_uid"] = st.st_uid
    try:
        with open("/mnt/config/app.conf") as f:
            out["config"] = f.read().strip()
    except OSError as e:   # a block dm-verity refuses (issue 17)
        out["config"] = "errno %d" % e.errno
    try:   # (no such file in a kernel without cgroups)
        with open("/proc/self/cgroup") as f:
            out["cgroup"] = f.read().strip()
    except OSError:
        out["cgroup"] = None
    # the counter on the data volume: one more each boot's call
    try:
        with open("/mnt/data/counter") as f:
            n = int(f.read())
    except FileNotFoundError:
        n = 0
    with open("/mnt/data/counter", "w") as f:
        f.write(str(n + 1))
        f.flush()
        os.fsync(f.fileno())
    out["counter"] = n + 1
    with open("/scratch/x", "w") as f:
        f.write("tmpfs")
    with open("/proc/self/status") as f:
        out["seccomp"] = [l.split()[1] for l in f if l.startswith("Seccomp:")][0]
    # what the minimal tier refuses: a socket
    try:
        import socket
        socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
        out["socket"] = "allowed"
    except OSError as e:
        out["socket"] = e.errno
    with open("/proc/self/mounts") as f:
        out["mounts"] = [l.split()[1] + " " + l.split()[3] for l in f
                         if l.split()[1] in ("/mnt/config", "/mnt/data", "/scratch", "/mnt/secrets")]
    return json.dumps(out, sort_keys=True)
