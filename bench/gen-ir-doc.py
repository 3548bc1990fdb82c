#!/usr/bin/env python3
"""gen-ir-doc.py — write a deterministic IR-like JSON document of at least N MB.

Usage: gen-ir-doc.py [MB] > doc.json      (default 25)

An array of Workload IRs shaped like the seed's (apps, entrypoints, env,
resources, lockfile dependencies, args schemas), with members in shuffled
order and pretty-printed, so canonicalization has real work: sorting,
whitespace removal, number normalization and escape rewriting.  Strings mix
ASCII with non-ASCII text and escapes; numbers are integers and short
decimals that every peer prints the same way.
"""
import json
import random
import sys

mb = float(sys.argv[1]) if len(sys.argv) > 1 else 25.0
rng = random.Random("mvm-bench-canon-v1")
words = ["hello", "greet", "worker", "résumé", "naïve", "日本語", "données", "Ωmega",
         "queue", "batch", "line\nbreak", "tab\there", "quote\"d", "back\\slash", "emoji😀"]


def word():
    return rng.choice(words) + str(rng.randrange(1000))


def shuffled(d):
    items = list(d.items())
    rng.shuffle(items)
    return dict(items)


def schema(depth=0):
    props = {}
    for _ in range(rng.randrange(1, 5)):
        t = rng.choice(["string", "integer", "number", "boolean"])
        p = {"type": t, "description": word()}
        if t == "integer":
            p["minimum"] = rng.randrange(-100, 0)
            p["maximum"] = rng.randrange(1, 10**9)
        if t == "number":
            p["multipleOf"] = rng.choice([0.5, 0.25, 0.125, 1.5, 2.75])
        props[word()] = shuffled(p)
    if depth < 2 and rng.random() < 0.3:
        props["nested"] = schema(depth + 1)
    return shuffled({"type": "object", "properties": props, "required": sorted(props)[:1]})


def workload(i):
    fn = {
        "kind": "function", "language": rng.choice(["python", "node", "typescript"]),
        "module": "app", "function": word(), "format": rng.choice(["json", "msgpack"]),
        "primary": True, "working_dir": "/app", "args_schema": schema(),
        "return_schema": {"type": "string"},
    }
    if rng.random() < 0.5:
        fn["concurrency"] = {"kind": "warm_pool", "pool_size": rng.randrange(1, 9),
                             "max_calls_per_worker": rng.randrange(100, 10000),
                             "max_rss_mb": rng.randrange(64, 1024)}
    app = {
        "name": "app%d" % i,
        "source": {"kind": "local_path", "path": "./src", "include": ["**"],
                   "exclude": ["*.pyc", "__pycache__/**", "node_modules/**"]},
        "image": {"kind": "nix_packages",
                  "packages": rng.sample(["python3", "nodejs_22", "curl", "git", "jq",
                                          "openssl", "zlib", "sqlite", "cacert"], 4)},
        "entrypoints": [shuffled(fn)],
        "env": {("VAR_%d" % k): word() for k in range(rng.randrange(2, 8))},
        "resources": shuffled({"vcpus": rng.randrange(1, 9), "memory_mb": 128 * rng.randrange(1, 33),
                               "boot_timeout_secs": rng.randrange(5, 120)}),
        "dependencies": {"kind": "python", "tool": "uv", "lockfile": "uv.lock"},
        "network": {"kind": "egress_allowlist",
                    "hosts": ["api%d.example.com" % rng.randrange(100) for _ in range(3)]},
        "threat_tier": rng.choice(["untrusted", "trusted"]),
    }
    return shuffled({"schema_version": "0.1", "id": "wl-%06d" % i, "apps": [shuffled(app)],
                     "volumes": [], "extensions": {"x-cost": rng.randrange(10**6) / 100,
                                                   "x-ratio": rng.random() < 0.5 and 0.5 or 1.25}})


out = sys.stdout
out.write("[\n")
size, i, target = 2, 0, int(mb * 1024 * 1024)
while size < target:
    s = json.dumps(workload(i), ensure_ascii=rng.random() < 0.3, indent=1)
    if i:
        out.write(",\n")
        size += 2
    out.write(s)
    size += len(s.encode())
    i += 1
out.write("\n]\n")
