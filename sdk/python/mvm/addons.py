"""mvm.addons: composable sibling microVMs."""


def addon(name, ref, sha256, tier="separate", alias=None, params=None):
    return {"name": name, "alias": alias, "tier": tier, "ref": ref, "sha256": sha256,
            "params": params}


def registry(url, version):
    return {"kind": "registry", "url": url, "version": version}


def local(path):
    return {"kind": "local", "path": path}
