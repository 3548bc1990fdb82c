// No drift: the SDK can declare every field and enum value of
// schemas/workload.schema.json and nothing else.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import * as mvm from "../index.js";
import { ROOT, SCHEMA } from "./support.mjs";

const SHA = "sha256:" + "ab".repeat(32);

function kitchenSink() {
  const m = mvm;
  const secrets = [["sigv4", m.env.asEnv("TOKEN")], ["hmac", m.env.asFile("/run/secret")], ["bearer", m.env.asEnv("B")], ["basic", m.env.asEnv("C")]]
    .map(([auth, mount], i) => m.env.secret({ name: `tok${i}`, mount, auth_type: auth, allowed_hosts: ["api.example.com"],
      sigv4: auth === "sigv4" ? m.env.sigv4({ access_key_id: "AKID", region: "eu-west-1", service: "s3" }) : undefined }));
  const env = m.env.of({ PLAIN: "x", S0: secrets[0], S1: secrets[1], S2: secrets[2], S3: secrets[3] });
  const fn = m.entrypointFunction({ language: "typescript", module: "app", function: "f", format: "msgpack", primary: true,
    working_dir: "/srv", args_schema: { type: "object" }, return_schema: { type: "string" }, extra_imports: ["json"],
    concurrency: m.concurrency.warmProcess({ pool_size: 2, max_calls_per_worker: 100, max_rss_mb: 128, in_process: "concurrent", max_queue_depth: 4 }) });
  const fn2 = m.entrypointFunction({ language: "node", module: "app", function: "g", format: "json", concurrency: m.concurrency.warmProcess() });
  const cmd = m.entrypointCommand({ command: ["/bin/app"], working_dir: "/srv", env });
  const mounts = [m.mount({ target: "/a", source: m.mounts.volume("v"), mode: "ro" }), m.mount({ target: "/b", source: m.mounts.hostPath("/srv/b"), mode: "rw" }),
    m.mount({ target: "/c", source: m.mounts.tmpfs(64) }), m.mount({ target: "/d", source: m.mounts.external("s3fs", { bucket: "x" }) })];
  const nets = [m.network({ mode: "none" }), m.network({ mode: "host" }),
    m.network({ mode: "bridge", ports: [m.net.port(8080, 18080, "tcp"), m.net.port(53, 1053, "udp")], egress: m.net.allow(["api.example.com", 443]), peers: ["db"], dns: m.net.dnsResolver("10.0.0.1") }),
    m.network({ mode: m.net.custom("cni", { x: 1 }), dns: m.net.dnsNone() }), m.network({ mode: "bridge", dns: m.net.dnsSystem() })];
  const addons = [m.addon({ name: "redis", ref: m.addonRef.registry("https://addons.example", "7.2"), sha256: "ab".repeat(32), alias: "cache", params: { maxmemory: "64mb" } }),
    m.addon({ name: "pg", ref: m.addonRef.local("./addons/pg"), sha256: "cd".repeat(32), tier: "in_vm" })];
  const sources = [m.source.local("./src", { include: ["*.ts"], exclude: ["test/**"] }), m.source.nix("pkgs.hello"), m.source.oci("registry.example/app", SHA)];
  const images = [m.nixPackages(["nodejs_22"]), m.ociBase("debian", SHA)];
  const depss = [m.deps.none(), m.deps.python({ lockfile: "uv.lock" }), m.deps.python({ lockfile: "requirements.txt", tool: "pip_tools" }),
    m.deps.node({ lockfile: "package-lock.json" }), m.deps.node({ lockfile: "pnpm-lock.yaml", tool: "pnpm" }), m.deps.node({ lockfile: "yarn.lock", tool: "yarn" })];
  const out = [];
  for (let i = 0; i < 6; i++) {
    mvm.reset();
    mvm.workload({ id: "sink", volumes: [m.volume({ name: "v", size_mb: 128, persist: i % 2 === 1 })], extensions: { "x-test": i } });
    mvm.app({ name: "sink", source: sources[i % 3], image: images[i % 2], entrypoints: [fn, fn2, cmd], env, mounts, network: nets[i % 5],
      resources: m.resources({ vcpus: 2, memory_mb: 512, boot_timeout_secs: 60, rootfs_size_mb: 1024 }), dependencies: depss[i % 6],
      threat_tier: ["trusted", "untrusted"][i % 2], addons })(() => undefined);
    out.push(mvm.build());
  }
  mvm.reset();
  return out;
}

const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const dropUndef = (v) => Array.isArray(v) ? v.map(dropUndef) : isObj(v) ? Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined && x !== null).map(([k, x]) => [k, dropUndef(x)])) : v;

function strip(node) {
  for (const k of ["anyOf", "oneOf"]) {
    const opts = node[k];
    if (opts && opts.some((o) => o.type === "null")) {
      const rest = opts.filter((o) => o.type !== "null");
      const n = { ...node }; delete n[k];
      return rest.length === 1 ? { ...n, ...rest[0] } : { ...n, [k]: rest };
    }
  }
  return node;
}

class SchemaWalk {
  constructor(schema) { this.defs = schema.$defs || {}; }
  deref(node) { node = strip(node); while (node.$ref) node = strip(this.defs[node.$ref.split("/").pop()]); return node; }
  all(node0, p, paths, enums, stack = []) {
    let node = node0;
    if (node.$ref) { const n = node.$ref.split("/").pop(); if (stack.includes(n)) return; stack = [...stack, n]; }
    node = this.deref(node);
    if (node.oneOf && (node.required || []).includes("kind")) {
      for (const o of node.oneOf) {
        const q = `${p}<${o.properties.kind.const}>`;
        paths.add(q);
        const { required, ...rest } = o; void required;
        this.all(rest, q, paths, enums, stack);
      }
      return;
    }
    for (const k of ["anyOf", "oneOf"]) for (const o of node[k] || []) this.all(o, p, paths, enums, stack);
    for (const v of node.enum || []) enums.add(`${p}=${v}`);
    for (const [k, sub] of Object.entries(node.properties || {})) {
      if (k === "kind" && "const" in sub) continue;
      paths.add(`${p}.${k}`);
      this.all(sub, `${p}.${k}`, paths, enums, stack);
    }
    if (isObj(node.additionalProperties)) this.all(node.additionalProperties, `${p}{}`, paths, enums, stack);
    if (isObj(node.items)) this.all(node.items, `${p}[]`, paths, enums, stack);
  }
  seen(x, node, p, paths, enums, unknown) {
    if (x === undefined || x === null) return;
    node = this.deref(node);
    if (node.oneOf && (node.required || []).includes("kind") && isObj(x)) {
      const o = node.oneOf.find((o) => o.properties.kind.const === x.kind);
      if (!o) { unknown.add(`${p}<${x.kind}>`); return; }
      const q = `${p}<${x.kind}>`;
      paths.add(q);
      this.props(x, o, q, paths, enums, unknown, "kind");
      return;
    }
    for (const k of ["anyOf", "oneOf"]) {
      for (const o of node[k] || []) {
        const o2 = this.deref(o);
        if ((o2.enum && typeof x === "string") || (o2.type === "object" && isObj(x))) { this.seen(x, o2, p, paths, enums, unknown); return; }
      }
    }
    if (node.enum) enums.add(`${p}=${x}`);
    if (isObj(x) && node.properties) this.props(x, node, p, paths, enums, unknown);
    else if (isObj(x) && isObj(node.additionalProperties)) for (const v of Object.values(x)) this.seen(v, node.additionalProperties, `${p}{}`, paths, enums, unknown);
    else if (Array.isArray(x) && isObj(node.items)) for (const v of x) this.seen(v, node.items, `${p}[]`, paths, enums, unknown);
  }
  props(x, node, p, paths, enums, unknown, skip) {
    for (const [k, v] of Object.entries(x)) {
      if (k === skip) continue;
      if (!(k in (node.properties || {}))) { unknown.add(`${p}.${k}`); continue; }
      paths.add(`${p}.${k}`);
      this.seen(v, node.properties[k], `${p}.${k}`, paths, enums, unknown);
    }
  }
}

const diff = (a, b) => [...a].filter((x) => !b.has(x)).sort();

test("every schema field and enum value can be declared, and nothing else", () => {
  const schema = JSON.parse(fs.readFileSync(SCHEMA, "utf8"));
  const w = new SchemaWalk(schema);
  const wantP = new Set(), wantE = new Set(), gotP = new Set(), gotE = new Set(), unknown = new Set();
  w.all(schema, "", wantP, wantE);
  for (const ir of kitchenSink()) w.seen(dropUndef(ir), schema, "", gotP, gotE, unknown);
  assert.ok(wantP.size > 100, `only ${wantP.size} schema paths found`);
  assert.deepEqual([...unknown], [], "fields the schema does not have");
  assert.deepEqual(diff(wantP, gotP), [], "schema fields the SDK cannot declare");
  assert.deepEqual(diff(wantE, gotE), [], "schema enum values the SDK cannot declare");
  assert.deepEqual(diff(gotE, wantE), [], "enum values the schema does not have");
});

test("the kitchen sink is structurally valid after normalization", () => {
  for (const ir of kitchenSink()) {
    const errs = mvm.checkIR(mvm.normalize(ir)).filter(([c]) => c === "E_UNKNOWN_FIELD" || c === "E_MALFORMED_MANIFEST");
    assert.deepEqual(errs, []);
  }
});

test("the generated model is up to date with schemas/", (t) => {
  const py = ["/usr/bin/python3", "python3"].find((p) => spawnSync(p, ["-c", "1"]).status === 0);
  if (!py) { t.skip("python3 not found: cannot run tools/gen-sdk-models.py --check"); return; }
  const r = spawnSync(py, [path.join(ROOT, "tools", "gen-sdk-models.py"), "--check"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
});
