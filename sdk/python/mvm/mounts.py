"""mvm.mounts: file systems mounted into the guest, and workload volumes."""


def mount(target, source, mode="ro"):
    """Mount source at the absolute guest path target, mode "ro" or "rw"."""
    return {"target": target, "source": source, "mode": mode}


def volume(name):
    return {"kind": "volume", "name": name}


def host_path(path):
    return {"kind": "host_path", "path": path}


def tmpfs(size_mb):
    return {"kind": "tmpfs", "size_mb": size_mb}


def external(provider, config):
    return {"kind": "external", "provider": provider, "config": config}


def declare_volume(name, size_mb, persist=False):
    """A workload volume (pass to mvm.workload(volumes=[...]))."""
    return {"name": name, "size_mb": size_mb, "persist": persist}
