#!/usr/bin/env python3
"""make-rule-cases.py — write rule-cases.json: IRs that break one rule each,
with the (code, pointer) pairs ir-validate reports for them.

Every SDK's tests run their built-in checks on these cases and must report
the same pairs, so an SDK without ir-validate on PATH fails with the codes
ir-validate would give.  Lockfile paths are relative to the repository root
(ir-validate -C ROOT).  Run from anywhere; needs bin/ir-validate built.

Usage: sdk/testdata/make-rule-cases.py [--check]
"""

import copy
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def seed():
    with open(os.path.join(ROOT, "t", "data", "seed-ir.json")) as f:
        return json.load(f)


def case(name, fn):
    ir = seed()
    app = ir["apps"][0]
    ep = app["entrypoints"][0]
    fn(ir, app, ep)
    return name, ir


def secret(hosts):
    return {"kind": "secret_ref", "ref": {"name": "tok", "mount": {"kind": "env", "var": "TOK"},
                                          "auth_type": "bearer", "allowed_hosts": hosts}}


def fn2(module="app", function="greet", primary=False):
    return {"kind": "function", "language": "python", "module": module, "function": function,
            "format": "json", "primary": primary}


def conc(**kw):
    c = {"kind": "warm_process", "pool_size": 1, "max_calls_per_worker": 1000, "max_rss_mb": 128,
         "in_process": "serial"}
    c.update(kw)
    return c


def addon(name="redis", alias=None, tier="separate", sha="ab" * 32, ref=None):
    a = {"name": name, "tier": tier, "sha256": sha,
         "ref": ref or {"kind": "registry", "url": "https://a.example", "version": "1"}}
    if alias is not None:
        a["alias"] = alias
    return a


def deps_lock(sub, kind, lock, tool):
    def f(ir, app, ep):
        app["source"]["path"] = "t/data/lockfiles/" + sub
        app["dependencies"] = {"kind": kind, "lockfile": lock, "tool": tool}
    return f


CASES = [
    case("the seed", lambda ir, app, ep: None),
    case("bad workload id", lambda ir, app, ep: ir.update(id="Hello_World")),
    case("bad app name", lambda ir, app, ep: app.update(name="-x")),
    case("no apps", lambda ir, app, ep: ir.update(apps=[])),
    case("two apps", lambda ir, app, ep: ir["apps"].append(copy.deepcopy(app))),
    case("unknown app field", lambda ir, app, ep: app.update(colour="blue")),
    case("unknown top-level field", lambda ir, app, ep: ir.update(extra=1)),
    case("format outside the enum", lambda ir, app, ep: ep.update(format="pickle")),
    case("missing image", lambda ir, app, ep: app.pop("image")),
    case("missing kind", lambda ir, app, ep: app["source"].pop("kind")),
    case("unknown kind", lambda ir, app, ep: app["image"].update(kind="docker")),
    case("schema_version 0.2", lambda ir, app, ep: ir.update(schema_version="0.2")),
    case("schema_version 1.0", lambda ir, app, ep: ir.update(schema_version="1.0")),
    case("schema_version x", lambda ir, app, ep: ir.update(schema_version="x")),
    case("nix source deferred", lambda ir, app, ep: app.update(
        source={"kind": "nix_derivation", "expr": "pkgs.hello"})),
    case("app secret without hosts", lambda ir, app, ep: app.update(env={"TOK": secret([])})),
    case("command secret without hosts", lambda ir, app, ep: app["entrypoints"].append(
        {"kind": "command", "command": ["/bin/app"], "env": {"K": secret([])}})),
    case("no entrypoints", lambda ir, app, ep: app.update(entrypoints=[])),
    case("duplicate function, no primary", lambda ir, app, ep: app.update(
        entrypoints=[fn2(), fn2()])),
    case("two primaries", lambda ir, app, ep: app["entrypoints"].append(
        fn2(function="other", primary=True))),
    case("sh -c command", lambda ir, app, ep: app["entrypoints"].append(
        {"kind": "command", "command": ["/bin/sh", "-c", "run"]})),
    case("env bash command", lambda ir, app, ep: app["entrypoints"].append(
        {"kind": "command", "command": ["/usr/bin/env", "-i", "A=1", "bash"]})),
    case("busybox sh command", lambda ir, app, ep: app["entrypoints"].append(
        {"kind": "command", "command": ["busybox", "sh"]})),
    case("unsupported language", lambda ir, app, ep: ep.update(language="cobol")),
    case("secret-shaped argument", lambda ir, app, ep: ep.update(args_schema={
        "type": "object", "properties": {"user": {"type": "object", "properties": {
            "Password": {"type": "string"}}}, "items": {"type": "array", "items": {
                "type": "object", "properties": {"x-api-key": {}}}}}})),
    case("secret-shaped result in oneOf", lambda ir, app, ep: ep.update(return_schema={
        "oneOf": [{"type": "string"}, {"properties": {"customer_credit_card": {}}}]})),
    case("not secrets", lambda ir, app, ep: ep.update(args_schema={"properties": {
        "auth_strategy_name": {}, "myApiKey": {}, "tokens_left": {}}})),
    case("pool size 0", lambda ir, app, ep: ep.update(concurrency=conc(pool_size=0))),
    case("pool size 65", lambda ir, app, ep: ep.update(concurrency=conc(pool_size=65))),
    case("calls below 100", lambda ir, app, ep: ep.update(concurrency=conc(max_calls_per_worker=5))),
    case("rss above memory", lambda ir, app, ep: ep.update(concurrency=conc(max_rss_mb=1024))),
    case("concurrent in process", lambda ir, app, ep: ep.update(
        concurrency=conc(in_process="concurrent"))),
    case("ports with mode none", lambda ir, app, ep: app.update(network={
        "mode": "none", "ports": [{"guest": 80, "host": 8080, "proto": "tcp"}]})),
    case("host network for a function", lambda ir, app, ep: app.update(network={"mode": "host"})),
    case("wildcard egress", lambda ir, app, ep: app.update(network={"mode": "bridge", "egress": {
        "allowlist": [{"host": h, "port": 443} for h in
                      ("*", "0.0.0.0/0", "*.com", " ", "api.example.com", "*.example.com",
                       "10.0.0.0/8", "a*b.example.com")]}})),
    case("bad peer", lambda ir, app, ep: app.update(network={"mode": "bridge",
                                                               "peers": ["db", "Bad_Peer"]})),
    case("no dependencies, function app", lambda ir, app, ep: app.pop("dependencies")),
    case("no dependencies, command app", lambda ir, app, ep: (app.pop("dependencies"), app.update(
        entrypoints=[{"kind": "command", "command": ["/bin/app"]}]))),
    case("addons", lambda ir, app, ep: app.update(addons=[
        addon(), addon(), addon(name="Bad"), addon(name="pg", alias="x_y"),
        addon(name="q", tier="in_vm"), addon(name="r", sha="AB" * 32),
        addon(name="s", ref={"kind": "registry", "url": "", "version": ""}),
        addon(name="t", ref={"kind": "local", "path": ""}),
        addon(name="redis", alias="cache"), addon(name="redis", alias="cache")])),
    case("persistent volume", lambda ir, app, ep: ir.update(volumes=[
        {"name": "v", "size_mb": 64, "persist": True}])),
    case("relative working_dir", lambda ir, app, ep: ep.update(working_dir="app")),
    case("bad env name", lambda ir, app, ep: app.update(env={"1BAD": {"kind": "literal",
                                                                     "value": "x"}})),
    case("bad oci digest", lambda ir, app, ep: app.update(image={
        "kind": "oci_base", "reference": "debian", "digest": "sha256:abc"})),
    case("oci reference with a tag", lambda ir, app, ep: app.update(image={
        "kind": "oci_base", "reference": "debian:12", "digest": "sha256:" + "a" * 64})),
    case("zero vcpus", lambda ir, app, ep: app["resources"].update(vcpus=0)),
    case("fractional memory", lambda ir, app, ep: app["resources"].update(memory_mb=1.5)),
    case("string vcpus", lambda ir, app, ep: app["resources"].update(vcpus="1")),
    case("empty module", lambda ir, app, ep: ep.update(module="")),
    case("unpinned npm lockfile", deps_lock("npm-unpinned", "node", "package-lock.json", "npm")),
    case("unpinned uv lockfile", deps_lock("uv-unpinned", "python", "uv.lock", "uv")),
    case("unpinned pip lockfile", deps_lock("pip-unpinned", "python", "requirements.txt",
                                            "pip_tools")),
    case("unpinned pnpm lockfile", deps_lock("pnpm-unpinned", "node", "pnpm-lock.yaml", "pnpm")),
    case("unpinned yarn lockfile", deps_lock("yarn-unpinned", "node", "yarn.lock", "yarn")),
    case("missing lockfile", deps_lock("npm", "node", "no-such.json", "npm")),
    case("pinned npm", deps_lock("npm", "node", "package-lock.json", "npm")),
    case("pinned pnpm 9", deps_lock("pnpm9", "node", "pnpm-lock.yaml", "pnpm")),
    case("pinned pnpm 6", deps_lock("pnpm6", "node", "pnpm-lock.yaml", "pnpm")),
    case("pinned yarn", deps_lock("yarn", "node", "yarn.lock", "yarn")),
    case("pinned uv", deps_lock("uv", "python", "uv.lock", "uv")),
    case("pinned pip", deps_lock("pip", "python", "requirements.txt", "pip_tools")),
]


def expected(ir):
    exe = os.path.join(ROOT, "bin", "ir-validate")
    p = subprocess.run([exe, "-j", "-C", ROOT, "-"], input=json.dumps(ir).encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode not in (0, 1):
        raise SystemExit("ir-validate exited %d: %s" % (p.returncode, p.stderr.decode()))
    return sorted([e["code"], e["pointer"]] for e in json.loads(p.stdout)["errors"])


def build():
    return [{"name": n, "ir": ir, "errors": expected(ir)} for n, ir in CASES]


def main(argv):
    out = os.path.join(HERE, "rule-cases.json")
    text = json.dumps(build(), indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    if "--check" in argv:
        with open(out) as f:
            if f.read() != text:
                sys.stderr.write("make-rule-cases: rule-cases.json differs from what "
                                 "ir-validate says now\n")
                return 1
        return 0
    with open(out, "w") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
