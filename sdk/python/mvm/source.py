"""mvm.source: where the app's code comes from."""


def local(path, include=None, exclude=None):
    """A directory beside the declaration; include defaults to ["**"],
    exclude to []."""
    return {"kind": "local_path", "path": path,
            "include": list(include) if include is not None else None,
            "exclude": list(exclude) if exclude is not None else None}


def nix(expr):
    """A Nix expression producing the source (not supported by the validator yet)."""
    return {"kind": "nix_derivation", "expr": expr}


def oci(reference, digest):
    """An OCI image holding the source, pinned by digest (not supported yet)."""
    return {"kind": "oci_image", "reference": reference, "digest": digest}
