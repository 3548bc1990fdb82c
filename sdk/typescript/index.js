// mvm-sdk: declare a workload in TypeScript or JavaScript; `mvm-emit
// entry.ts` turns it into the Workload IR (mvm-ir(5)).  No runtime
// dependencies.  Declaring never calls the workload's function.
import { canonical, CanonError } from "./lib/canon.js";
import { emitIR, irText, ValidationError } from "./lib/emit.js";
import { checkIR, normalize } from "./lib/ir.js";
import { MODEL } from "./model.js";

export { canonical, CanonError, checkIR, normalize, ValidationError, MODEL };
export const SCHEMA_VERSION = MODEL.schema_version;

export class DeclarationError extends Error {}

// One registry per process, even if two copies of the SDK are loaded.
const REG = Symbol.for("mvm-sdk.registry");
function registry() {
  if (!globalThis[REG]) globalThis[REG] = { apps: [], workload: {} };
  return globalThis[REG];
}

/** Forget every declaration. */
export function reset() { globalThis[REG] = { apps: [], workload: {} }; }

// `MVM_EMITTING=1 node entry.mjs` honours the contract too: when the event
// loop empties, what was declared is emitted (unless mvm-emit's runner does
// it, or nothing was declared).  An uncaught exception never gets here.
const RUNNER = Symbol.for("mvm-sdk.runner");
if (process.env.MVM_EMITTING === "1" && !globalThis[Symbol.for("mvm-sdk.exit-hook")]) {
  globalThis[Symbol.for("mvm-sdk.exit-hook")] = true;
  let done = false;
  process.on("beforeExit", () => {
    if (done || globalThis[RUNNER] || !registry().apps.length) return;
    done = true;
    try {
      emit({ baseDir: process.env.MVM_EMIT_BASE || process.cwd() });
    } catch (e) {
      if (e instanceof ValidationError) { for (const [c, p, d] of e.errors) process.stderr.write(`mvm-sdk: ${c} at ${p}: ${d}\n`); process.exitCode = 1; }
      else if (e instanceof DeclarationError || e instanceof CanonError) { process.stderr.write(`mvm-sdk: ${e.message}\n`); process.exitCode = 3; }
      else { process.stderr.write(`mvm-sdk: ${e && e.message ? e.message : e}\n`); process.exitCode = 4; }
    }
  });
}

/** True while mvm-emit runs the declaration (MVM_EMITTING=1). */
export function emitting() { return process.env.MVM_EMITTING === "1"; }

const list = (v, what) => {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new DeclarationError(`${what} must be an array`);
  return [...v];
};

/** Declare an app; returns a function that takes the workload's function
 * and returns it unchanged (it is never called while emitting). */
export function app(opts) {
  if (!opts || typeof opts !== "object") throw new DeclarationError("mvm.app({...}) takes an object");
  const known = new Set(["name", "source", "image", "entrypoint", "entrypoints", "env", "mounts", "network", "resources", "dependencies", "threat_tier", "addons"]);
  for (const k of Object.keys(opts)) if (!known.has(k)) throw new DeclarationError(`mvm.app: unknown option ${JSON.stringify(k)}`);
  const eps = [...(list(opts.entrypoints, "entrypoints") || [])];
  if (opts.entrypoint) eps.unshift(opts.entrypoint);
  const node = {
    name: opts.name, source: opts.source ?? localSource("."), image: opts.image, entrypoints: eps,
    env: opts.env, mounts: list(opts.mounts, "mounts"), network: opts.network, resources: opts.resources,
    dependencies: opts.dependencies, threat_tier: opts.threat_tier, addons: list(opts.addons, "addons"),
  };
  registry().apps.push(node);
  return (fn) => fn;
}

/** Workload-wide settings: id (default: the first app's name), volumes, extensions. */
export function workload({ id, volumes, extensions } = {}) {
  const w = registry().workload;
  if (id !== undefined) w.id = id;
  if (volumes !== undefined) w.volumes = list(volumes, "volumes");
  if (extensions !== undefined) w.extensions = extensions;
}

/** The IR (not yet normalized) of everything declared. */
export function build() {
  const r = registry();
  if (!r.apps.length) throw new DeclarationError("no app is declared: call mvm.app({...})(fn)");
  return {
    schema_version: MODEL.schema_version, id: r.workload.id ?? r.apps[0].name,
    apps: r.apps.map((a) => ({ ...a })), volumes: r.workload.volumes ?? [], extensions: r.workload.extensions ?? {},
  };
}

/** The canonical, validated IR text of what was declared. */
export function irBytes({ baseDir = null } = {}) { return irText(build(), baseDir); }

/** Validate and write the IR: to out, else $MVM_IR_OUT, else standard output. */
export function emit({ out = null, baseDir = null } = {}) { return emitIR(build(), { out, baseDir }); }

// ---- images, sources, resources, dependencies ----
export function nixPackages(packages) { return { kind: "nix_packages", packages: [...packages] }; }
export function ociBase(reference, digest) { return { kind: "oci_base", reference, digest }; }
export const image = { nixPackages, ociBase };

// What a source tree holds but an image must not: version control, earlier
// images and run state, the host's packages, bytecode, environment files
// (secrets).  Written into the IR, so the exclusion is declared; pass
// exclude: [] (or [...source.DEFAULT_EXCLUDE, "test/**"]) to choose otherwise.
const DEFAULT_EXCLUDE = Object.freeze(["**/.git/**", "**/.mvm/**", "**/node_modules/**", "**/__pycache__/**", "**/.env*"]);
function localSource(path, { include, exclude } = {}) {
  return { kind: "local_path", path, include: list(include, "include"), exclude: list(exclude ?? DEFAULT_EXCLUDE, "exclude") };
}
export const source = {
  DEFAULT_EXCLUDE,
  local: localSource,
  nix: (expr) => ({ kind: "nix_derivation", expr }),
  oci: (reference, digest) => ({ kind: "oci_image", reference, digest }),
};

export function resources({ vcpus, memory_mb, boot_timeout_secs, rootfs_size_mb }) {
  return { vcpus, memory_mb, boot_timeout_secs, rootfs_size_mb };
}

export const deps = {
  none: () => ({ kind: "none" }),
  python: ({ lockfile, tool = "uv" }) => ({ kind: "python", lockfile, tool }),
  node: ({ lockfile, tool = "npm" }) => ({ kind: "node", lockfile, tool }),
};

// ---- entrypoints ----
export function entrypointFunction({ language, module, function: fn, format = "json", primary = false,
  working_dir, args_schema, return_schema, concurrency, extra_imports }) {
  return { kind: "function", language, module, function: fn, format, primary, working_dir, args_schema,
    return_schema, concurrency, extra_imports: list(extra_imports, "extra_imports") };
}
export function entrypointCommand({ command, working_dir, env }) {
  return { kind: "command", command: list(command, "command"), working_dir, env };
}
export const concurrency = {
  warmProcess: ({ pool_size = 1, max_calls_per_worker = 1000, max_rss_mb = 256, in_process = "serial", max_queue_depth } = {}) =>
    ({ kind: "warm_process", pool_size, max_calls_per_worker, max_rss_mb, in_process, max_queue_depth }),
};

// ---- environment and secrets ----
export const env = {
  literal: (value) => ({ kind: "literal", value }),
  secret: ({ name, mount, auth_type, allowed_hosts, sigv4 }) =>
    ({ kind: "secret_ref", ref: { name, mount, auth_type, allowed_hosts: list(allowed_hosts, "allowed_hosts"), sigv4 } }),
  asEnv: (v) => ({ kind: "env", var: v }),
  asFile: (p) => ({ kind: "file", path: p }),
  sigv4: ({ access_key_id, region, service }) => ({ access_key_id, region, service }),
  of: (m) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, typeof v === "string" ? { kind: "literal", value: v } : v])),
};

// ---- mounts and volumes ----
export function mount({ target, source: src, mode = "ro" }) { return { target, source: src, mode }; }
export const mounts = {
  volume: (name) => ({ kind: "volume", name }),
  hostPath: (p) => ({ kind: "host_path", path: p }),
  tmpfs: (size_mb) => ({ kind: "tmpfs", size_mb }),
  external: (provider, config) => ({ kind: "external", provider, config }),
};
export function volume({ name, size_mb, persist = false }) { return { name, size_mb, persist }; }

// ---- network ----
export function network({ mode = "none", ports, egress, peers, dns } = {}) {
  return { mode, ports: list(ports, "ports"), egress, peers: list(peers, "peers"), dns };
}
export const net = {
  custom: (provider, config) => ({ custom: { provider, config } }),
  port: (guest, host, proto = "tcp") => ({ guest, host, proto }),
  allow: (...rules) => ({ allowlist: rules.map(([host, port]) => ({ host, port })) }),
  dnsNone: () => ({ kind: "none" }),
  dnsSystem: () => ({ kind: "system" }),
  dnsResolver: (host, port = 53) => ({ kind: "resolver", host, port }),
};

// ---- addons ----
export function addon({ name, ref, sha256, tier = "separate", alias, params }) { return { name, alias, tier, ref, sha256, params }; }
export const addonRef = {
  registry: (url, version) => ({ kind: "registry", url, version }),
  local: (p) => ({ kind: "local", path: p }),
};

export const threatTier = { untrusted: "untrusted", trusted: "trusted" };
