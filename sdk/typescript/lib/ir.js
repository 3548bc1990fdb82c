// The IR model, walked: normalization and the built-in checks.  Field
// names, required fields, defaults and enums come from ../model.js, which
// tools/gen-sdk-models.py generates from schemas/workload.schema.json.
// The semantic rules mirror ir-validate(1), which the SDK runs instead when
// it is on PATH.
import path from "node:path";
import { MODEL } from "../model.js";
import { checkLockfile } from "./lockfile.js";

const SHAPES = MODEL.shapes;
const ID = /^[a-z][a-z0-9-]{0,62}$/;
const SHELLS = new Set(["sh", "bash", "dash", "ash", "hush", "zsh", "ksh", "ksh93", "mksh", "pdksh",
  "oksh", "yash", "csh", "tcsh", "fish", "rbash", "posh"]);

export function resolve(shape) {
  while (shape.type === "ref") shape = SHAPES[shape.name];
  return shape;
}
const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const ptrPush = (p, t) => `${p}/${String(t).replace(/~/g, "~0").replace(/\//g, "~1")}`;

function deepEqual(a, b) {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObj(a) && isObj(b)) {
    const ka = Object.keys(a), kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

function pickOption(shape, v) {
  for (const o of shape.options.map(resolve)) {
    if ((o.type === "enum" && typeof v === "string") || ((o.type === "struct" || o.type === "tagged") && isObj(v))) return o;
  }
  return null;
}

/** Drop absent fields (undefined/null) and optional fields equal to their
 * default; fill the fields the model always writes. */
export function normalize(value, shape = SHAPES[MODEL.root]) {
  shape = resolve(shape);
  switch (shape.type) {
    case "struct": return isObj(value) ? normFields(value, shape.fields, null) : value;
    case "tagged": {
      if (!isObj(value)) return value;
      const f = shape.variants[value[shape.tag]];
      return f ? normFields(value, f, shape.tag) : { ...value };
    }
    case "one_of": { const o = pickOption(shape, value); return o ? normalize(value, o) : value; }
    case "array": return Array.isArray(value) ? value.map((x) => normalize(x, shape.items)) : value;
    case "map": return isObj(value) ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v, shape.values)])) : value;
    default: return value;
  }
}

function normFields(obj, fields, tag) {
  const out = {};
  if (tag !== null) out[tag] = obj[tag];
  const known = new Map(fields.map((f) => [f.name, f]));
  for (const [k, v0] of Object.entries(obj)) {
    if (k === tag) continue;
    const f = known.get(k);
    if (!f) { out[k] = v0; continue; }
    if ((v0 === undefined || v0 === null) && f.presence !== "required") continue;
    const v = normalize(v0, f.shape);
    if (f.presence === "optional" && "default" in f && deepEqual(v, f.default)) continue;
    out[k] = v;
  }
  for (const f of fields) if (f.presence === "always" && !(f.name in out) && "default" in f) out[f.name] = f.default;
  return out;
}

const tname = (v) => v === null ? "null" : Array.isArray(v) ? "array" : typeof v === "object" ? "object" : typeof v;

function check(c, v, shape, p) {
  shape = resolve(shape);
  const bad = (want) => c.add("E_MALFORMED_MANIFEST", p, `expected ${want}, found ${tname(v)}`);
  switch (shape.type) {
    case "any": return;
    case "object": if (!isObj(v)) bad("object"); return;
    case "string":
      if (typeof v !== "string") bad("string");
      else if (v.length < (shape.min_length || 0)) c.add("E_MALFORMED_MANIFEST", p, "must not be empty");
      else if (shape.pattern && !new RegExp(shape.pattern, "u").test(v)) c.add("E_MALFORMED_MANIFEST", p, `${JSON.stringify(v)} does not match ${shape.pattern}`);
      return;
    case "boolean": if (typeof v !== "boolean") bad("boolean"); return;
    case "integer":
      if (typeof v !== "number" || !Number.isInteger(v)) bad("integer");
      else if (v < shape.minimum || v > shape.maximum) c.add("E_MALFORMED_MANIFEST", p, `expected an integer from ${shape.minimum} to ${shape.maximum}, found ${v}`);
      return;
    case "enum":
      if (typeof v !== "string") bad("string");
      else if (!shape.values.includes(v)) c.add("E_MALFORMED_MANIFEST", p, `expected one of: ${shape.values.join(", ")}; found ${JSON.stringify(v)}`);
      return;
    case "array":
      if (!Array.isArray(v)) { bad("array"); return; }
      if (v.length < (shape.min_items || 0)) c.add("E_MALFORMED_MANIFEST", p, "must not be empty");
      v.forEach((x, i) => check(c, x, shape.items, ptrPush(p, i)));
      return;
    case "map":
      if (!isObj(v)) { bad("object"); return; }
      for (const [k, x] of Object.entries(v)) {
        if (shape.key_pattern && !new RegExp(shape.key_pattern).test(k)) c.add("E_MALFORMED_MANIFEST", ptrPush(p, k), `${JSON.stringify(k)} is not an environment variable name`);
        check(c, x, shape.values, ptrPush(p, k));
      }
      return;
    case "struct": if (!isObj(v)) bad("object"); else checkFields(c, v, shape.fields, null, p); return;
    case "tagged": {
      if (!isObj(v)) { bad("object"); return; }
      const names = Object.keys(shape.variants).join(", ");
      if (!(shape.tag in v)) c.add("E_MALFORMED_MANIFEST", p, `missing required field "${shape.tag}" (one of: ${names})`);
      else if (!Object.hasOwn(shape.variants, v[shape.tag])) c.add("E_MALFORMED_MANIFEST", ptrPush(p, shape.tag), `unknown ${shape.tag} ${JSON.stringify(v[shape.tag])} (expected one of: ${names})`);
      else checkFields(c, v, shape.variants[v[shape.tag]], shape.tag, p);
      return;
    }
    case "one_of": { const o = pickOption(shape, v); if (o) check(c, v, o, p); else bad("string or object"); return; }
  }
}

function checkFields(c, obj, fields, tag, p) {
  const known = new Map(fields.map((f) => [f.name, f]));
  for (const [k, v] of Object.entries(obj)) {
    if (k === tag || v === undefined) continue;
    const f = known.get(k);
    if (!f) c.add("E_UNKNOWN_FIELD", ptrPush(p, k), `unknown field ${JSON.stringify(k)} (expected one of: ${[...known.keys()].join(", ") || "no fields"})`);
    else if (!(v === null && f.presence !== "required")) check(c, v, f.shape, ptrPush(p, k));
  }
  for (const f of fields) if (f.presence === "required" && obj[f.name] === undefined) c.add("E_MALFORMED_MANIFEST", p, `missing required field "${f.name}"`);
}

// ASCII lowercase, '-' as '_' (how ir-validate compares names).
const fold = (s) => s.replace(/[A-Z-]/g, (ch) => (ch === "-" ? "_" : ch.toLowerCase()));
const secretName = (tokens, name) => {
  const low = fold(name);
  return tokens.some((t) => low === fold(t) || low.endsWith(`_${fold(t)}`));
};
const SUBS = ["items", "additionalProperties", "not", "if", "then", "else", "contains", "unevaluatedItems", "unevaluatedProperties"];
const ARRS = ["prefixItems", "oneOf", "anyOf", "allOf"];
const MAPS = ["$defs", "definitions", "patternProperties", "dependentSchemas"];

function walkSchema(c, s, p) {
  if (!isObj(s)) return;
  if (isObj(s.properties)) {
    for (const [k, v] of Object.entries(s.properties)) {
      const q = ptrPush(ptrPush(p, "properties"), k);
      if (secretName(c.secretTokens, k)) c.add("E_SECRET_IN_SCHEMA", q, `property ${JSON.stringify(k)} looks like a secret; pass secrets with a secret_ref, not as an argument or result`);
      walkSchema(c, v, q);
    }
  }
  for (const a of SUBS) {
    const x = s[a];
    if (isObj(x)) walkSchema(c, x, ptrPush(p, a));
    else if (Array.isArray(x) && a === "items") x.forEach((y, i) => walkSchema(c, y, ptrPush(ptrPush(p, a), i)));
  }
  for (const a of ARRS) if (Array.isArray(s[a])) s[a].forEach((y, i) => walkSchema(c, y, ptrPush(ptrPush(p, a), i)));
  for (const a of MAPS) if (isObj(s[a])) for (const [k, y] of Object.entries(s[a])) walkSchema(c, y, ptrPush(ptrPush(p, a), k));
}

function shellArgv(argv) {
  if (!argv.length || typeof argv[0] !== "string") return false;
  let i = 0;
  const base = path.basename(argv[0]);
  if (base === "env") { i = 1; while (i < argv.length && typeof argv[i] === "string" && (argv[i].startsWith("-") || argv[i].includes("="))) i++; }
  else if (base === "busybox") i = 1;
  return i < argv.length && typeof argv[i] === "string" && SHELLS.has(path.basename(argv[i]));
}

function wildcardHost(h0) {
  const h = h0.replace(/^[ \t]+|[ \t]+$/g, "");
  if (["", "*", "0.0.0.0", "::", "[::]", "0.0.0.0/0", "::/0"].includes(h) || h.endsWith("/0")) return true;
  if (h.startsWith("*.")) return !h.slice(2).includes(".") || h.slice(1).includes("*");
  return h.includes("*");
}

function envSecrets(c, env, base) {
  if (!isObj(env)) return;
  for (const [k, v] of Object.entries(env)) {
    const hosts = isObj(v) && isObj(v.ref) ? v.ref.allowed_hosts : undefined;
    if (isObj(v) && v.kind === "secret_ref" && Array.isArray(hosts) && !hosts.length) {
      c.add("E_SECRET_WITHOUT_BINDING", ptrPush(`${base}/env`, k), `secret ${JSON.stringify(k)} has no allowed_hosts: name the hosts it may be sent to`);
    }
  }
}

function addons(c, app, base) {
  if (!Array.isArray(app.addons)) return;
  app.addons.forEach((a, i) => {
    if (!isObj(a)) return;
    const p = `${base}/addons/${i}`;
    checkId(c, a.name, `${p}/name`, "addon name");
    const alias = a.alias;
    if (typeof alias === "string") checkId(c, alias, `${p}/alias`, "addon alias");
    for (const b of app.addons.slice(0, i)) {
      if (!isObj(b)) continue;
      const ba = b.alias;
      if (typeof a.name === "string" && a.name === b.name &&
          ((typeof alias !== "string" && typeof ba !== "string") || (typeof alias === "string" && alias === ba))) {
        c.add("E_ADDON_ENV_COLLISION", p, `addon ${JSON.stringify(a.name)} is attached twice with the same alias; give each a distinct alias`);
        break;
      }
    }
    if (a.tier === "in_vm") c.add("E_ADDON_TIER_NOT_IMPLEMENTED", `${p}/tier`, 'tier "in_vm" is not implemented; use "separate"');
    if (typeof a.sha256 === "string" && !/^[0-9a-f]{64}$/.test(a.sha256)) c.add("E_ADDON_SHA_MISMATCH", `${p}/sha256`, "sha256 must be 64 lowercase hex digits");
    const ref = a.ref;
    if (isObj(ref) && ref.kind === "registry") {
      for (const k of ["url", "version"]) if (ref[k] === "") c.add("E_ADDON_NOT_FOUND", `${p}/ref/${k}`, `registry addon has an empty ${k}`);
    } else if (isObj(ref) && ref.kind === "local" && ref.path === "") {
      c.add("E_ADDON_LOCAL_PATH_DRIFT", `${p}/ref/path`, "local addon has an empty path");
    }
  });
}

function checkId(c, v, p, what) {
  if (typeof v === "string" && !ID.test(v)) c.add("E_INVALID_ID", p, `${what} ${JSON.stringify(v)} does not match ^[a-z][a-z0-9-]{0,62}$`);
}

function rules(c, ir) {
  const sv = ir.schema_version;
  if (typeof sv === "string") {
    const m = /^(0|[1-9][0-9]{0,9})\.(0|[1-9][0-9]{0,9})$/.exec(sv);
    const [major, minor] = MODEL.schema_version.split(".").map(Number);
    if (!m || Number(m[1]) > 4294967295 || Number(m[2]) > 4294967295) c.add("E_MALFORMED_VERSION", "/schema_version", `schema_version ${JSON.stringify(sv)} is not MAJOR.MINOR (e.g. "0.1")`);
    else if (Number(m[1]) !== major) c.add("E_UNSUPPORTED_MAJOR", "/schema_version", `major version ${m[1]} is not supported`);
    else if (Number(m[2]) > minor) c.add("E_MINOR_TOO_HIGH", "/schema_version", `minor version ${m[2]} is newer than this SDK supports`);
  }
  checkId(c, ir.id, "/id", "workload id");
  if (Array.isArray(ir.apps)) {
    if (!ir.apps.length) c.add("E_EMPTY_APPS", "/apps", "a workload needs one app");
    else if (ir.apps.length > 1) c.add("E_MULTI_APP_DEFERRED", "/apps", "only one app per workload is supported");
    ir.apps.forEach((a, i) => { if (isObj(a)) rulesApp(c, a, `/apps/${i}`); });
  }
  if (Array.isArray(ir.volumes)) ir.volumes.forEach((v, i) => { if (isObj(v) && v.persist === true) c.add("E_PERSIST_DEFERRED", `/volumes/${i}/persist`, "persistent volumes are not supported yet"); });
}

function rulesApp(c, app, base) {
  checkId(c, app.name, `${base}/name`, "app name");
  const src = app.source;
  if (isObj(src) && (src.kind === "nix_derivation" || src.kind === "oci_image")) c.add("E_SOURCE_KIND_DEFERRED", `${base}/source/kind`, `source kind ${JSON.stringify(src.kind)} is not supported yet; use local_path`);
  envSecrets(c, app.env, base);
  let funcs = [];
  if (Array.isArray(app.entrypoints)) {
    const eps = app.entrypoints;
    if (!eps.length) c.add("E_EMPTY_APPS", `${base}/entrypoints`, "an app needs an entrypoint");
    funcs = eps.filter((e) => isObj(e) && e.kind === "function");
    if (funcs.length > 1) {
      const seen = new Set();
      eps.forEach((f, j) => {
        if (!isObj(f) || f.kind !== "function") return;
        const key = JSON.stringify([f.module, f.function]);
        if (typeof f.module === "string" && typeof f.function === "string" && seen.has(key)) {
          c.add("E_DUPLICATE_ENTRYPOINT_FUNCTION", `${base}/entrypoints/${j}`, `module ${JSON.stringify(f.module)} function ${JSON.stringify(f.function)} is declared twice`);
        }
        seen.add(key);
      });
      if (!funcs.some((f) => f.primary === true)) c.add("E_NO_PRIMARY_ENTRYPOINT", `${base}/entrypoints`, "several function entrypoints and none is primary");
    }
    if (funcs.filter((e) => e.primary === true).length > 1) c.add("E_MULTIPLE_PRIMARY_ENTRYPOINTS", `${base}/entrypoints`, "more than one entrypoint is primary");
    eps.forEach((ep, j) => { if (isObj(ep)) rulesEp(c, ep, app, `${base}/entrypoints/${j}`); });
  }
  const net = app.network;
  if (isObj(net)) {
    if (net.mode === "none" && Array.isArray(net.ports) && net.ports.length) c.add("E_NETWORK_PORTS_WITH_NONE", `${base}/network/ports`, "ports are forwarded but network mode is none");
    if (funcs.length && net.mode === "host") c.add("E_FUNCTION_NETWORK_HOST_FORBIDDEN", `${base}/network/mode`, "function workloads cannot use host networking");
    const allow = isObj(net.egress) ? net.egress.allowlist : undefined;
    if (Array.isArray(allow)) {
      allow.forEach((r, j) => {
        if (isObj(r) && typeof r.host === "string" && wildcardHost(r.host)) c.add("E_NETWORK_WILDCARD", `${base}/network/egress/allowlist/${j}/host`, `egress host ${JSON.stringify(r.host)} allows everything; name hosts (exact, or *.domain)`);
      });
    }
    if (Array.isArray(net.peers)) net.peers.forEach((p, j) => checkId(c, p, `${base}/network/peers/${j}`, "peer"));
  }
  const deps = app.dependencies;
  if (deps === undefined || deps === null) {
    if (funcs.length) c.add("E_DEPS_REQUIRED_FOR_FUNCTION_WORKLOAD", `${base}/dependencies`, "a function app must declare its dependencies (mvm.deps.none() for stdlib only)");
    else c.add("E_MALFORMED_MANIFEST", `${base}/dependencies`, 'missing required field "dependencies" (mvm.deps.none() for none)');
  } else if (isObj(deps) && (deps.kind === "python" || deps.kind === "node") && c.baseDir && isObj(src) && src.kind === "local_path" && typeof deps.lockfile === "string") {
    const r = checkLockfile(deps.tool, path.resolve(c.baseDir, src.path || ".", deps.lockfile));
    if (r) c.add(r[0], `${base}/dependencies/lockfile`, r[1]);
  }
  addons(c, app, base);
}

function rulesEp(c, ep, app, p) {
  if (ep.kind === "command" && Array.isArray(ep.command) && shellArgv(ep.command)) c.add("E_SHELL_ENTRYPOINT_FORBIDDEN", `${p}/command`, "the command launches a shell; run the program directly");
  if (ep.kind === "command") envSecrets(c, ep.env, p);
  if (ep.kind !== "function") return;
  if (typeof ep.language === "string" && !c.languages.includes(ep.language)) c.add("E_UNSUPPORTED_LANGUAGE", `${p}/language`, `language ${JSON.stringify(ep.language)} is not supported (supported: ${c.languages.join(", ")})`);
  for (const k of ["args_schema", "return_schema"]) if (isObj(ep[k])) walkSchema(c, ep[k], `${p}/${k}`);
  const conc = ep.concurrency;
  if (isObj(conc)) {
    const q = `${p}/concurrency`;
    if (Number.isInteger(conc.pool_size) && (conc.pool_size < 1 || conc.pool_size > 64)) c.add("E_INVALID_CONCURRENCY_POOL_SIZE", `${q}/pool_size`, `pool_size ${conc.pool_size} is not from 1 to 64`);
    if (Number.isInteger(conc.max_calls_per_worker) && conc.max_calls_per_worker < 100) c.add("E_INVALID_CONCURRENCY_MAX_CALLS_PER_WORKER", `${q}/max_calls_per_worker`, `max_calls_per_worker ${conc.max_calls_per_worker} is below 100`);
    const mem = isObj(app.resources) ? app.resources.memory_mb : undefined;
    if (Number.isInteger(conc.max_rss_mb) && Number.isInteger(mem) && conc.max_rss_mb > mem) c.add("E_INVALID_CONCURRENCY_MAX_RSS_MB", `${q}/max_rss_mb`, `max_rss_mb ${conc.max_rss_mb} exceeds resources.memory_mb ${mem}`);
    if (conc.in_process === "concurrent") c.add("E_UNSUPPORTED_CONCURRENCY_IN_PROCESS_MODE", `${q}/in_process`, 'in_process "concurrent" is not supported; use "serial"');
  }
}

/** The built-in checks: [[code, pointer, detail], ...], empty when valid. */
export function checkIR(ir, { baseDir = null, languages = MODEL.languages, secretTokens = MODEL.secret_tokens } = {}) {
  const errors = [];
  const c = { baseDir, languages, secretTokens, add: (code, p, d) => errors.push([code, p, d]) };
  check(c, ir, SHAPES[MODEL.root], "");
  rules(c, ir);
  return errors;
}
