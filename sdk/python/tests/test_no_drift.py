"""No drift: the SDK can produce every field and enum value of
schemas/workload.schema.json and nothing else, and its generated model is
what tools/gen-sdk-models.py makes of the schema today."""

import os
import subprocess
import sys
import unittest

from support import ROOT, load_schema
import mvm
from mvm import _ir

SHA = "sha256:" + "ab" * 32


def kitchen_sink():
    """Workloads that use every helper, every variant and every enum value."""
    m = mvm
    secrets = [m.env.secret("tok%d" % i, mount, auth, ["api.example.com"],
                            sigv4=m.env.sigv4("AKID", "eu-west-1", "s3") if auth == "sigv4" else None)
               for i, (auth, mount) in enumerate([("sigv4", m.env.as_env("TOKEN")),
                                                  ("hmac", m.env.as_file("/run/secret")),
                                                  ("bearer", m.env.as_env("B")),
                                                  ("basic", m.env.as_env("C"))])]
    env = m.env.of({"PLAIN": "x", "S0": secrets[0], "S1": secrets[1], "S2": secrets[2],
                    "S3": secrets[3]})
    fn = m.function(language="python", module="app", function="f", format="msgpack",
                    primary=True, working_dir="/srv", args_schema={"type": "object"},
                    return_schema={"type": "string"}, extra_imports=["json"],
                    concurrency=m.concurrency.warm_process(pool_size=2, max_calls_per_worker=100,
                                                           max_rss_mb=128,
                                                           in_process="concurrent",
                                                           max_queue_depth=4))
    fn2 = m.function(language="python", module="app", function="g", format="json",
                     concurrency=m.concurrency.warm_process())
    cmd = m.command(["/bin/app", "--serve"], working_dir="/srv", env=env)
    mounts = [m.mounts.mount("/a", m.mounts.volume("v"), "ro"),
              m.mounts.mount("/b", m.mounts.host_path("/srv/b"), "rw"),
              m.mounts.mount("/c", m.mounts.tmpfs(64)),
              m.mounts.mount("/d", m.mounts.external("s3fs", {"bucket": "x"}))]
    nets = [m.network.policy("none"), m.network.policy("host"),
            m.network.policy("bridge", ports=[m.network.port(8080, 18080, "tcp"),
                                               m.network.port(53, 1053, "udp")],
                             egress=m.network.allow(("api.example.com", 443)), peers=["db"],
                             dns=m.network.dns_resolver("10.0.0.1")),
            m.network.policy(m.network.custom("cni", {"x": 1}), dns=m.network.dns_none()),
            m.network.policy("bridge", dns=m.network.dns_system())]
    addons = [m.addons.addon("redis", m.addons.registry("https://addons.example", "7.2"), "ab" * 32,
                             alias="cache", params={"maxmemory": "64mb"}),
              m.addons.addon("pg", m.addons.local("./addons/pg"), "cd" * 32, tier="in_vm")]
    sources = [m.source.local("./src", include=["*.py"], exclude=["tests/**"]),
               m.source.nix("pkgs.hello"), m.source.oci("registry.example/app", SHA)]
    images = [m.image.nix_packages(["python3"]), m.image.oci_base("debian", SHA)]
    depss = [m.deps.none(), m.deps.python("uv.lock", "uv"),
             m.deps.python("requirements.txt", "pip_tools"), m.deps.node("package-lock.json"),
             m.deps.node("pnpm-lock.yaml", "pnpm"), m.deps.node("yarn.lock", "yarn")]
    out = []
    for i in range(max(len(nets), len(sources), len(images), len(depss))):
        mvm.reset()
        mvm.workload(id="sink", volumes=[m.mounts.declare_volume("v", 128, persist=bool(i % 2))],
                     extensions={"x-test": i})
        mvm.app(name="sink", source=sources[i % len(sources)], image=images[i % len(images)],
                entrypoints=[fn, fn2, cmd], env=env, mounts=mounts, network=nets[i % len(nets)],
                resources=mvm.resources(2, 512, boot_timeout_secs=60, rootfs_size_mb=1024),
                dependencies=depss[i % len(depss)],
                threat_tier=("trusted", "untrusted")[i % 2], addons=addons)
        out.append(mvm.build())
    mvm.reset()
    return out


def _strip(node):
    for k in ("anyOf", "oneOf"):
        opts = node.get(k)
        if opts and any(o.get("type") == "null" for o in opts):
            rest = [o for o in opts if o.get("type") != "null"]
            n = {kk: vv for kk, vv in node.items() if kk != k}
            if len(rest) == 1:
                n.update(rest[0])
            else:
                n[k] = rest
            return n
    return node


class SchemaWalk:
    def __init__(self, schema):
        self.defs = schema.get("$defs", {})

    def deref(self, node):
        node = _strip(node)
        while "$ref" in node:
            node = _strip(self.defs[node["$ref"].rsplit("/", 1)[1]])
        return node

    def all_paths(self, node, path, paths, enums, stack=()):
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[1]
            if name in stack:
                return
            stack = stack + (name,)
        node = self.deref(node)
        if "oneOf" in node and "kind" in node.get("required", ()):
            for o in node["oneOf"]:
                p = "%s<%s>" % (path, o["properties"]["kind"]["const"])
                paths.add(p)
                self.all_paths({k: v for k, v in o.items() if k != "required"}, p, paths, enums,
                               stack)
            return
        for k in ("anyOf", "oneOf"):
            for o in node.get(k, ()):
                self.all_paths(o, path, paths, enums, stack)
        for v in node.get("enum", ()):
            enums.add((path, v))
        for k, sub in node.get("properties", {}).items():
            if k == "kind" and "const" in sub:
                continue
            paths.add(path + "." + k)
            self.all_paths(sub, path + "." + k, paths, enums, stack)
        if isinstance(node.get("additionalProperties"), dict):
            self.all_paths(node["additionalProperties"], path + "{}", paths, enums, stack)
        if isinstance(node.get("items"), dict):
            self.all_paths(node["items"], path + "[]", paths, enums, stack)

    def seen_paths(self, x, node, path, paths, enums, unknown):
        if x is None:
            return
        node = self.deref(node)
        if "oneOf" in node and "kind" in node.get("required", ()) and isinstance(x, dict):
            for o in node["oneOf"]:
                if o["properties"]["kind"]["const"] == x.get("kind"):
                    p = "%s<%s>" % (path, x["kind"])
                    paths.add(p)
                    self._props(x, o, p, paths, enums, unknown, skip="kind")
                    return
            unknown.add("%s<%s>" % (path, x.get("kind")))
            return
        for k in ("anyOf", "oneOf"):
            if k in node:
                for o in node[k]:
                    o2 = self.deref(o)
                    if ("enum" in o2 and isinstance(x, str)) or \
                            (o2.get("type") == "object" and isinstance(x, dict)):
                        self.seen_paths(x, o2, path, paths, enums, unknown)
                        return
        if "enum" in node:
            enums.add((path, x))
        if isinstance(x, dict) and "properties" in node:
            self._props(x, node, path, paths, enums, unknown)
        elif isinstance(x, dict) and isinstance(node.get("additionalProperties"), dict):
            for v in x.values():
                self.seen_paths(v, node["additionalProperties"], path + "{}", paths, enums,
                                unknown)
        elif isinstance(x, list) and isinstance(node.get("items"), dict):
            for v in x:
                self.seen_paths(v, node["items"], path + "[]", paths, enums, unknown)

    def _props(self, x, node, path, paths, enums, unknown, skip=None):
        props = node.get("properties", {})
        for k, v in x.items():
            if k == skip:
                continue
            if k not in props:
                unknown.add(path + "." + k)
                continue
            paths.add(path + "." + k)
            self.seen_paths(v, props[k], path + "." + k, paths, enums, unknown)


def _drop_none(v):
    if isinstance(v, dict):
        return {k: _drop_none(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [_drop_none(x) for x in v]
    return v


class TestNoDrift(unittest.TestCase):
    def setUp(self):
        self.schema = load_schema()
        self.walk = SchemaWalk(self.schema)

    def test_every_schema_field_and_enum_value_can_be_declared(self):
        want_p, want_e = set(), set()
        self.walk.all_paths(self.schema, "", want_p, want_e)
        got_p, got_e, unknown = set(), set(), set()
        for ir in kitchen_sink():
            self.walk.seen_paths(_drop_none(ir), self.schema, "", got_p, got_e, unknown)
        self.assertEqual(unknown, set(), "the SDK writes fields the schema does not have")
        self.assertEqual(want_p - got_p, set(), "schema fields the SDK cannot declare")
        self.assertEqual(want_e - got_e, set(), "schema enum values the SDK cannot declare")
        self.assertEqual(got_e - want_e, set(), "enum values the schema does not have")

    def test_kitchen_sink_is_structurally_valid_after_normalization(self):
        for ir in kitchen_sink():
            errs = [e for e in _ir.check(_ir.normalize(ir))
                    if e[0] in ("E_UNKNOWN_FIELD", "E_MALFORMED_MANIFEST")]
            self.assertEqual(errs, [])

    def test_model_matches_schema_version_languages_tokens(self):
        self.assertEqual(mvm.MODEL["schema_version"], "0.1")
        with open(os.path.join(ROOT, "schemas", "supported_languages.txt")) as f:
            langs = [x.strip() for x in f if x.strip() and not x.startswith("#")]
        self.assertEqual(mvm.MODEL["languages"], langs)

    def test_generated_model_is_up_to_date(self):
        p = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "gen-sdk-models.py"),
                            "--check"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(p.returncode, 0, p.stderr.decode())


if __name__ == "__main__":
    unittest.main()
