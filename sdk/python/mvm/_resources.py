def resources(vcpus, memory_mb, boot_timeout_secs=None, rootfs_size_mb=None):
    """vCPUs, memory in MiB, boot timeout in seconds (default 30)."""
    return {"vcpus": vcpus, "memory_mb": memory_mb, "boot_timeout_secs": boot_timeout_secs,
            "rootfs_size_mb": rootfs_size_mb}
