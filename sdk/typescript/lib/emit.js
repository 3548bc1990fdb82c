// The emit contract (mvm-emit(1)): validate, then write the canonical bytes
// to $MVM_IR_OUT atomically, or to standard output.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { canonical } from "./canon.js";
import { checkIR, normalize } from "./ir.js";

export class ValidationError extends Error {
  constructor(errors) {
    super(errors.map(([c, p, d]) => `${c} at ${p}: ${d}`).join("; "));
    this.errors = errors;
  }
  get codes() { return this.errors.map((e) => e[0]); }
}

export class ValidatorFailed extends Error {}

function which(prog) {
  if (prog.includes("/")) return prog;
  for (const dir of (process.env.PATH || "/usr/bin:/bin").split(":")) {
    const p = path.join(dir || ".", prog);
    try { fs.accessSync(p, fs.constants.X_OK); if (fs.statSync(p).isFile()) return p; } catch { /* next */ }
  }
  return null;
}

/** The ir-validate to run: $MVM_IR_VALIDATE ("" = none), else on PATH. */
function validator() {
  const v = process.env.MVM_IR_VALIDATE;
  if (v !== undefined) return v || null;
  return which("ir-validate");
}

function runValidator(exe, text, baseDir) {
  const args = baseDir ? ["-C", baseDir, "-"] : ["-L", "-"];
  const p = spawnSync(exe, args, { input: text, encoding: "utf8" });
  // A validator may refuse before it has read all its input (EPIPE on our
  // write): its status and stderr are the verdict.  A yes without reading
  // it all is not one.
  const unread = p.error && p.error.code === "EPIPE" && p.status !== null && p.status !== 0;
  if (p.error && !unread) throw new ValidatorFailed(`unable to run ${exe}: ${p.error.message}`);
  if (p.status === 0) return [];
  if (p.status !== 1) throw new ValidatorFailed(`${exe} exited ${p.status}: ${(p.stderr || "").trim()}`);
  const errors = [];
  for (const line of p.stderr.split("\n")) {
    const m = /(?:^|: )(E_[A-Z0-9_]+) at ([^:]*): (.*)$/.exec(line);
    if (m) errors.push([m[1], m[2], m[3]]);
  }
  if (!errors.length) throw new ValidatorFailed(`${exe} said the IR is invalid: ${p.stderr.trim()}`);
  return errors;
}

/** Validate a normalized IR (ir-validate when available, else the built-in
 * checks) and return its canonical text.  Throws ValidationError. */
export function validate(ir, baseDir = null) {
  const text = canonical(ir);
  const exe = validator();
  const errors = exe ? runValidator(exe, text, baseDir) : checkIR(ir, { baseDir });
  if (errors.length) throw new ValidationError(errors);
  return text;
}

export function irText(ir, baseDir = null) {
  return validate(normalize(ir), baseDir);
}

export function writeAtomic(file, text) {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}`);
  let fd = fs.openSync(tmp, "wx", 0o666);
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = -1;
    fs.renameSync(tmp, file);
  } catch (e) {
    if (fd >= 0) fs.closeSync(fd);
    try { fs.unlinkSync(tmp); } catch { /* gone */ }
    throw e;
  }
  try { const d = fs.openSync(dir, "r"); fs.fsyncSync(d); fs.closeSync(d); } catch { /* best effort */ }
}

/** Validate and write: to out, else $MVM_IR_OUT, else standard output. */
export function emitIR(ir, { out = null, baseDir = null } = {}) {
  const text = irText(ir, baseDir);
  const dest = out || process.env.MVM_IR_OUT || null;
  if (dest) writeAtomic(dest, text);
  else fs.writeSync(1, text);
  return text;
}
