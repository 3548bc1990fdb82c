"""mvm.source: where the app's code comes from."""


# What a source tree holds but an image must not: version control, earlier
# images and run state, the host's packages (built for the host, and the
# image brings its own), bytecode, and environment files (secrets).  Written
# into the IR, so the exclusion is declared; pass exclude=[] (or your own
# list, e.g. DEFAULT_EXCLUDE + ["tests/**"]) to choose otherwise.
DEFAULT_EXCLUDE = ["**/.git/**", "**/.mvm/**", "**/node_modules/**",
                   "**/__pycache__/**", "**/.env*"]


def local(path, include=None, exclude=None):
    """A directory beside the declaration; include defaults to ["**"],
    exclude to DEFAULT_EXCLUDE."""
    return {"kind": "local_path", "path": path,
            "include": list(include) if include is not None else None,
            "exclude": list(exclude if exclude is not None else DEFAULT_EXCLUDE)}


def nix(expr):
    """A Nix expression producing the source (not supported by the validator yet)."""
    return {"kind": "nix_derivation", "expr": expr}


def oci(reference, digest):
    """An OCI image holding the source, pinned by digest (not supported yet)."""
    return {"kind": "oci_image", "reference": reference, "digest": digest}
