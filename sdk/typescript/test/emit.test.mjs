import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { canonical } from "../index.js";
import { LOCKS, ROOT, SEED_IR, runEmit, tmpdir, validators } from "./support.mjs";

const seed = () => canonical(JSON.parse(fs.readFileSync(SEED_IR, "utf8")));
const SEED_HASH = "a62b5e999e18e4a51c740d5e3bb6d67f85aabd713241a80150d583db16eff65b";

test("examples/hello/entry.ts emits language typescript and validates", () => {
  for (const [, v] of validators()) {
    const r = runEmit({ entry: path.join(ROOT, "examples", "hello", "entry.ts"), validator: v });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /"language":"typescript"/);
    const ir = JSON.parse(r.stdout);
    assert.equal(canonical(ir), r.stdout);
    assert.deepEqual(ir.apps[0].image, { kind: "nix_packages", packages: ["nodejs_22"] });
  }
});

test("examples/greet/entry.ts (the seed's short form) validates", () => {
  for (const [, v] of validators()) {
    const r = runEmit({ entry: path.join(ROOT, "examples", "greet", "entry.ts"), validator: v });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).apps[0].entrypoints[0].primary, false);
  }
});

const SEED_TS = `import * as mvm from "mvm-sdk";
export const spec = mvm.app({
  name: "hello", source: mvm.source.local("./src"), image: mvm.nixPackages(["python3"]),
  resources: mvm.resources({ vcpus: 1, memory_mb: 256 }), dependencies: mvm.deps.none(),
  entrypoint: mvm.entrypointFunction({ language: "python", module: "app", function: "greet", format: "json", primary: true }),
})(() => undefined);
`;

test("the worked example declared in TypeScript emits the seed's bytes", () => {
  const r = runEmit({ text: SEED_TS });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, seed());
  assert.equal(crypto.createHash("sha256").update(r.stdout).digest("hex"), SEED_HASH);
});

test("MVM_IR_OUT is written atomically; stdout stays empty", () => {
  const d = tmpdir();
  const dest = path.join(d, "workload-ir.json");
  const r = runEmit({ text: SEED_TS, out: dest });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "");
  assert.equal(fs.readFileSync(dest, "utf8"), seed());
  assert.deepEqual(fs.readdirSync(d), ["workload-ir.json"]);
});

const decl = ({ src = ".", deps = "mvm.deps.none()", lang = "typescript", schema = "undefined" } = {}) => `
import * as mvm from "mvm-sdk";
export const greet = mvm.app({
  name: "hello", source: mvm.source.local(${JSON.stringify(src)}), image: mvm.nixPackages(["nodejs_22"]),
  resources: mvm.resources({ vcpus: 1, memory_mb: 256 }), dependencies: ${deps},
  entrypoint: mvm.entrypointFunction({ language: ${JSON.stringify(lang)}, module: "app", function: "greet", args_schema: ${schema} }),
})((name: string): string => { throw new Error("the workload function ran on the host"); });
`;

function failsWith(text, code) {
  for (const [name, v] of validators()) {
    const d = tmpdir();
    const dest = path.join(d, "ir.json");
    const r = runEmit({ text, validator: v, out: dest });
    assert.equal(r.status, 1, `${name}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`${code} at /apps/0/`), name);
    assert.equal(r.stdout, "");
    assert.deepEqual(fs.readdirSync(d), [], `${name}: a file was left`);
  }
}

test("unpinned lockfile: E_UNPINNED_DEPS, nothing written", () => {
  failsWith(decl({ src: path.join(LOCKS, "npm-unpinned"), deps: 'mvm.deps.node({ lockfile: "package-lock.json", tool: "npm" })' }), "E_UNPINNED_DEPS");
  failsWith(decl({ src: path.join(LOCKS, "yarn-unpinned"), deps: 'mvm.deps.node({ lockfile: "yarn.lock", tool: "yarn" })' }), "E_UNPINNED_DEPS");
});

test("secret-shaped argument: E_SECRET_IN_SCHEMA", () => {
  failsWith(decl({ schema: '{ type: "object", properties: { name: { type: "string" }, authToken: { type: "string" } } }' }), "E_SECRET_IN_SCHEMA");
});

test("unsupported language: E_UNSUPPORTED_LANGUAGE", () => {
  failsWith(decl({ lang: "cobol" }), "E_UNSUPPORTED_LANGUAGE");
});

test("pinned lockfiles pass, pnpm v9 inline integrity included", () => {
  for (const [sub, deps] of [["npm", 'mvm.deps.node({ lockfile: "package-lock.json" })'],
    ["pnpm9", 'mvm.deps.node({ lockfile: "pnpm-lock.yaml", tool: "pnpm" })'],
    ["pnpm6", 'mvm.deps.node({ lockfile: "pnpm-lock.yaml", tool: "pnpm" })']]) {
    for (const [name, v] of validators()) {
      const r = runEmit({ text: decl({ src: path.join(LOCKS, sub), deps }), validator: v });
      assert.equal(r.status, 0, `${sub} ${name}: ${r.stderr}`);
    }
  }
});

test("the workload function is never called; MVM_EMITTING is 1", () => {
  const r = runEmit({ text: decl() + 'if (process.env.MVM_EMITTING !== "1" || !mvm.emitting()) throw new Error("not emitting");\n' });
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /ran on the host/);
});

test("declaration errors exit 3", () => {
  for (const text of ['import * as mvm from "mvm-sdk";\n', 'throw new Error("boom");\n', "const x: number = ;\n",
    'import * as mvm from "mvm-sdk";\nmvm.app({ name: "x", bogus: 1 } as any);\n']) {
    const r = runEmit({ text });
    assert.equal(r.status, 3, `${text}: ${r.stderr}`);
    assert.equal(r.stdout, "");
  }
});

test("plain JavaScript (.mjs) works too", () => {
  const r = runEmit({ text: SEED_TS.replace("(() => undefined)", "(() => undefined)"), ext: "mts" });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, seed());
});

test("MVM_EMITTING=1 node entry.mjs emits when the event loop empties", async () => {
  const { spawnSync } = await import("node:child_process");
  const d = tmpdir();
  fs.mkdirSync(path.join(d, "node_modules"));
  fs.symlinkSync(path.resolve(ROOT, "sdk", "typescript"), path.join(d, "node_modules", "mvm-sdk"));
  fs.writeFileSync(path.join(d, "entry.mjs"), SEED_TS.replace("(() => undefined)", "(() => undefined)"));
  const env = { ...process.env, MVM_EMITTING: "1", MVM_IR_VALIDATE: "" };
  delete env.MVM_IR_OUT;
  const r = spawnSync(process.execPath, [path.join(d, "entry.mjs")], { env, encoding: "utf8", cwd: d });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, seed());
  delete env.MVM_EMITTING;
  const q = spawnSync(process.execPath, [path.join(d, "entry.mjs")], { env, encoding: "utf8", cwd: d });
  assert.equal(q.status, 0, q.stderr);
  assert.equal(q.stdout, "");
});

test("a validator that refuses without reading all its input: its verdict, not EPIPE", async () => {
  // More than a pipe holds (64 KiB), so the write fails with EPIPE every time
  // once the validator has exited 1 without reading.
  const { validate, ValidationError } = await import("../lib/emit.js");
  const d = tmpdir();
  const v = path.join(d, "validate");
  fs.writeFileSync(v, "#!/bin/sh\necho 'ir-validate: -: E_NO_FUNCTIONS at /apps: refused unread' >&2\nexit 1\n", { mode: 0o755 });
  const saved = process.env.MVM_IR_VALIDATE;
  process.env.MVM_IR_VALIDATE = v;
  try {
    assert.throws(() => validate({ pad: "x".repeat(1 << 20) }), (e) =>
      e instanceof ValidationError && e.codes.join() === "E_NO_FUNCTIONS" && /refused unread/.test(e.message));
    // a validator that says yes without reading is not believed
    fs.writeFileSync(v, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    assert.throws(() => validate({ pad: "x".repeat(1 << 20) }), /EPIPE/);
  } finally {
    if (saved === undefined) delete process.env.MVM_IR_VALIDATE; else process.env.MVM_IR_VALIDATE = saved;
  }
});
