"""mvm.env: environment values (literals and secret references)."""


def literal(value):
    return {"kind": "literal", "value": value}


def secret(name, mount, auth_type, allowed_hosts, sigv4=None):
    """A secret released only to allowed_hosts; mount is
    mvm.env.as_env(VAR) or mvm.env.as_file(PATH)."""
    return {"kind": "secret_ref", "ref": {"name": name, "mount": mount, "auth_type": auth_type,
                                          "allowed_hosts": list(allowed_hosts),
                                          "sigv4": sigv4}}


def as_env(var):
    return {"kind": "env", "var": var}


def as_file(path):
    return {"kind": "file", "path": path}


def sigv4(access_key_id, region, service):
    return {"access_key_id": access_key_id, "region": region, "service": service}


def of(mapping):
    """A dict of NAME -> str | literal(...) | secret(...): plain strings
    become literals."""
    return {k: literal(v) if isinstance(v, str) else v for k, v in mapping.items()}
