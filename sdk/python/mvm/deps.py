"""mvm.deps: the app's language dependencies.  There is no implicit none."""


def none():
    """Standard library only."""
    return {"kind": "none"}


def python(lockfile, tool="uv"):
    """A hash-pinned Python lockfile, relative to the source directory;
    tool is "uv" (uv.lock) or "pip_tools" (requirements.txt with --hash)."""
    return {"kind": "python", "lockfile": lockfile, "tool": tool}


def node(lockfile, tool="npm"):
    """A Node lockfile with integrity hashes, relative to the source
    directory; tool is "npm", "pnpm" or "yarn"."""
    return {"kind": "node", "lockfile": lockfile, "tool": tool}
