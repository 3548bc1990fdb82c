# t/data/egress/src/app.py — the function t/e2e-egress.bats calls: a fetch
# through the egress proxy (urllib honours HTTP_PROXY), and what the guest
# has for a network, seen from inside (issue 16).
import os
import urllib.error
import urllib.request


def nameservers() -> list:
    try:
        with open("/etc/resolv.conf") as f:
            return [l.split()[1] for l in f if l.startswith("nameserver") and len(l.split()) > 1]
    except OSError:
        return []


def fetch(url: str) -> dict:
    out = {"proxy": os.environ.get("HTTP_PROXY"),
           "interfaces": sorted(os.listdir("/sys/class/net")),
           "nameservers": nameservers()}
    try:
        with urllib.request.urlopen(url, timeout=20) as r:
            out["status"] = r.status
            out["body"] = r.read().decode()
    except urllib.error.HTTPError as e:
        out["status"] = e.code
        out["body"] = e.read().decode()
    except OSError as e:
        out["status"] = 0
        out["body"] = str(e)
    return out
