import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const SDK = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const ROOT = path.resolve(SDK, "..", "..");
export const SEED_IR = path.join(ROOT, "t", "data", "seed-ir-sdk.json");  // the seed with the SDKs' default excludes
export const LOCKS = path.join(ROOT, "t", "data", "lockfiles");
export const IR_VALIDATE = path.join(ROOT, "bin", "ir-validate");
export const SCHEMA = path.join(ROOT, "schemas", "workload.schema.json");
export const RUNNER = path.join(SDK, "bin", "mvm-emit.mjs");

/** The validators to test: the built-in checks, and ir-validate when built. */
export function validators() {
  const v = [["builtin", ""]];
  try { fs.accessSync(IR_VALIDATE, fs.constants.X_OK); v.push(["ir-validate", IR_VALIDATE]); } catch { /* not built */ }
  return v;
}

export function tmpdir() { return fs.mkdtempSync(path.join(os.tmpdir(), "mvm-sdk-test.")); }

/** Run the emitter on entry (a path) or on text written to a temp entry.ts. */
export function runEmit({ text, entry, validator = "", out, ext = "ts" } = {}) {
  if (!entry) {
    const d = tmpdir();
    entry = path.join(d, `entry.${ext}`);
    fs.writeFileSync(entry, text);
  }
  const env = { ...process.env, MVM_IR_VALIDATE: validator };
  delete env.MVM_IR_OUT; delete env.MVM_EMIT_BASE; delete env.MVM_EMIT_NAME;
  if (out) env.MVM_IR_OUT = out;
  const p = spawnSync(process.execPath, [RUNNER, entry], { env, encoding: "utf8" });
  return { status: p.status, stdout: p.stdout, stderr: p.stderr };
}
