"""mvm.network: the app's network and egress policy."""


def policy(mode="none", ports=None, egress=None, peers=None, dns=None):
    """mode: "none", "bridge", "host" or custom(provider, config)."""
    return {"mode": mode, "ports": list(ports) if ports is not None else None,
            "egress": egress, "peers": list(peers) if peers is not None else None,
            "dns": dns}


def custom(provider, config):
    return {"custom": {"provider": provider, "config": config}}


def port(guest, host, proto="tcp"):
    return {"guest": guest, "host": host, "proto": proto}


def allow(*rules):
    """Egress allowlist: allow(("api.example.com", 443), ...)."""
    return {"allowlist": [{"host": h, "port": p} for h, p in rules]}


def dns_none():
    return {"kind": "none"}


def dns_system():
    return {"kind": "system"}


def dns_resolver(host, port=53):
    return {"kind": "resolver", "host": host, "port": port}
