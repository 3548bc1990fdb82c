#!/usr/bin/env node
// node bin/mvm-emit.mjs ENTRY: run a TypeScript/JavaScript declaration under
// MVM_EMITTING=1 and emit its IR (the contract mvm-emit(1) describes).
// esbuild (pinned in package-lock.json) strips the types and bundles the
// entry with what it imports; "mvm-sdk" resolves to this SDK, so the
// declaration and this runner share one registry.
// Exit 0 written, 1 the IR is invalid, 2 usage, 3 the declaration failed
// or declared nothing, 4 a system error.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const sdkIndex = path.join(here, "..", "index.js");
const prog = process.env.MVM_EMIT_PROG || "mvm-sdk";
const say = (where, msg) => process.stderr.write(`${prog}: ${where ? `${where}: ` : ""}${msg}\n`);

async function main(argv) {
  if (argv.length !== 1) { process.stderr.write("usage: node bin/mvm-emit.mjs ENTRY.ts\n"); return 2; }
  const entry = path.resolve(argv[0]);
  const name = process.env.MVM_EMIT_NAME || argv[0];
  if (!fs.existsSync(entry) || !fs.statSync(entry).isFile()) { say(name, "unable to open: no such file"); return 4; }
  const base = process.env.MVM_EMIT_BASE || path.dirname(entry);
  process.env.MVM_EMITTING = "1";

  let esbuild;
  try { esbuild = (await import("esbuild")).default; } catch (e) {
    say(null, `the TypeScript transpiler (esbuild) is not installed: run npm ci --prefix ${path.join(here, "..")} (${e.message})`);
    return 4;
  }
  globalThis[Symbol.for("mvm-sdk.runner")] = true;
  const mvm = await import(pathToFileURL(sdkIndex).href);
  mvm.reset();

  let code;
  try {
    const r = await esbuild.build({
      entryPoints: [entry], bundle: true, write: false, format: "esm", platform: "node",
      target: `node${process.versions.node.split(".")[0]}`, sourcemap: "inline", logLevel: "silent",
      absWorkingDir: path.dirname(entry),
      plugins: [{
        name: "mvm-sdk",
        setup(b) {
          b.onResolve({ filter: /^mvm-sdk$/ }, () => ({ path: pathToFileURL(sdkIndex).href, external: true }));
        },
      }],
    });
    code = r.outputFiles[0].text;
  } catch (e) {
    for (const m of e.errors || []) say(m.location ? `${name}:${m.location.line}:${m.location.column + 1}` : name, m.text);
    if (!e.errors) say(name, e.message);
    return 3;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mvm-emit-ts."));
  const mod = path.join(dir, "entry.mjs");
  try {
    fs.writeFileSync(mod, code);
    try {
      await import(pathToFileURL(mod).href);
    } catch (e) {
      say(name, `the declaration threw: ${e && e.stack ? e.stack : e}`);
      return 3;
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  try {
    mvm.emit({ baseDir: base });
  } catch (e) {
    if (e instanceof mvm.ValidationError) { for (const [c, p, d] of e.errors) say(name, `${c} at ${p}: ${d}`); return 1; }
    if (e instanceof mvm.DeclarationError || e instanceof mvm.CanonError) { say(name, e.message); return 3; }
    if (e && e.code && e.syscall) { say(e.path || name, `unable to write the IR: ${e.message}`); return 4; }
    say(name, String(e && e.message ? e.message : e));
    return 4;
  }
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
