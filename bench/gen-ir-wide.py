#!/usr/bin/env python3
"""gen-ir-wide.py — a deterministic Workload IR with one app of N functions or N addons.

Usage: gen-ir-wide.py functions|addons N [--dups] > ir.json

functions: N function entrypoints (module mK, function fK), the first primary.
addons:    N addons attached to the seed's hello app, named aK, each with a
           distinct alias or none.
--dups:    about a third of the entries repeat an earlier one, so ir-validate
           has duplicates to report (E_DUPLICATE_ENTRYPOINT_FUNCTION,
           E_ADDON_ENV_COLLISION), and some are near misses that must not be
           reported: the same module with another function, the same addon
           with another alias, an alias against none, null against a missing
           alias.  Entry order and choices come from a seeded generator.
"""
import hashlib
import json
import random
import sys

if len(sys.argv) < 3 or sys.argv[1] not in ("functions", "addons"):
    sys.exit("usage: gen-ir-wide.py functions|addons N [--dups]")
shape, n, dups = sys.argv[1], int(sys.argv[2]), "--dups" in sys.argv[3:]
rng = random.Random("mvm-bench-ir-wide-v1")

app = {
    "name": "hello",
    "source": {"kind": "local_path", "path": "./src", "include": ["**"], "exclude": []},
    "image": {"kind": "nix_packages", "packages": ["python3"]},
    "entrypoints": [{"kind": "function", "language": "python", "module": "app",
                     "function": "greet", "format": "json", "primary": True}],
    "resources": {"vcpus": 1, "memory_mb": 256, "boot_timeout_secs": 30},
    "dependencies": {"kind": "none"},
}

if shape == "functions":
    eps = []
    for k in range(n):
        if dups and eps and rng.random() < 0.33:
            prev = rng.choice(eps)
            if rng.random() < 0.8:
                m, f = prev["module"], prev["function"]          # a duplicate
            else:
                m, f = prev["module"], prev["function"] + "x"    # a near miss
        else:
            m, f = "m%d" % k, "f%d" % k
        eps.append({"kind": "function", "language": "python", "module": m,
                    "function": f, "format": "json", "primary": k == 0})
    app["entrypoints"] = eps
else:
    adds = []
    for k in range(n):
        a = {"name": "a%d" % k, "tier": "separate",
             "ref": {"kind": "registry", "url": "https://addons.example/a%d" % k,
                     "version": "1.0.%d" % k},
             "sha256": hashlib.sha256(b"a%d" % k).hexdigest()}
        if k % 2:
            a["alias"] = "x%d" % k
        if dups and adds and rng.random() < 0.33:
            prev = rng.choice(adds)
            a["name"] = prev["name"]
            r = rng.random()
            if r < 0.6:                        # the same alias or the same absence
                if "alias" in prev:
                    a["alias"] = prev["alias"]
                else:
                    a.pop("alias", None)
                    if rng.random() < 0.5:
                        a["alias"] = None      # null and missing are both "no alias"
            elif r < 0.8:                      # another alias: no collision
                a["alias"] = "y%d" % k
            else:                              # an alias against none, or none against one
                if "alias" in prev and prev["alias"] is not None:
                    a.pop("alias", None)
                else:
                    a["alias"] = "z%d" % k
        adds.append(a)
    app["addons"] = adds

json.dump({"schema_version": "0.1", "id": "wide", "apps": [app], "volumes": [],
           "extensions": {}}, sys.stdout, ensure_ascii=False)
sys.stdout.write("\n")
