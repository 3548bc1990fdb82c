"""mvm.image: what the root file system is built from."""


def nix_packages(packages):
    """Nixpkgs attribute names, e.g. ["python3"]."""
    return {"kind": "nix_packages", "packages": list(packages)}


def oci_base(reference, digest):
    """An OCI base image, pinned by digest (sha256:...)."""
    return {"kind": "oci_base", "reference": reference, "digest": digest}
