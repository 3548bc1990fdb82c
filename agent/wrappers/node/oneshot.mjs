#!/usr/bin/env node
// oneshot.mjs -- mvm's cold-tier runner for Node (and compiled TypeScript)
// functions.
//
// The guest agent execs this once per call (installed as
// /usr/lib/mvm/wrappers/runner, with mvm_wrapper_common.mjs, package.json
// and node_modules/ beside it).  It reads /etc/mvm/wrapper.json (or
// $MVM_WRAPPER_CONFIG), reads stdin -- the encoded [args, kwargs], at most
// 16 MiB -- decodes and checks it, chdirs to working_dir, imports
// <working_dir>/<module>.mjs (or .js), calls function(...args) -- with
// kwargs as one more, final, object argument when kwargs has keys --
// awaits the result, writes it encoded on stdout and exits 0.  On error:
// one line of JSON, the error envelope, as the last line of stderr, and exit
// 1 (user exception), 2 (bad input), 3 (config, missing module or function,
// exception at import), 4 (result not encodable), 5 (I/O or internal).
// See PROTOCOL.md beside this directory.
//
// console.log and process.stdout.write go to stderr while user code runs.
// The process serves one call: dispatch() refuses to run twice.

import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as mw from './mvm_wrapper_common.mjs';

let dispatched = false;

// Run one call.  Resolves to { code, body }: the encoded result when code
// is 0, else the error envelope (one JSON line, no newline).  A second call
// in the same process is refused (code 5).
export async function dispatch(cfg, data) {
  try {
    if (dispatched) {
      throw new mw.WrapperError('internal_error', 'oneshot runner already dispatched a call in this process');
    }
    dispatched = true;
    await mw.loadCodecs(cfg);
    const [args, kwargs] = mw.decodeCall(cfg.format, data);
    mw.checkArgs(cfg, args, kwargs);
    mw.enterWorkingDir(cfg);
    const target = await mw.loadFunction(cfg);
    const result = await mw.invoke(target, args, kwargs);
    mw.checkReturn(cfg, result);
    return { code: mw.EXIT_OK, body: mw.encodeResult(cfg.format, result) };
  } catch (e) {
    const err = e instanceof mw.WrapperError ? e : mw.internalError(e);
    return { code: err.exitCode, body: mw.envelope(err, cfg.mode) };
  }
}

async function main() {
  let mode = 'prod'; // until the config says otherwise: say as little as prod does
  mw.installCrashHandlers(() => mode);
  let cfg;
  try {
    cfg = mw.loadConfig();
    await mw.loadCodecs(cfg);
  } catch (e) {
    return mw.exitWithError(e instanceof mw.WrapperError ? e : mw.internalError(e), mode);
  }
  mode = cfg.mode;
  if (mode === 'prod') mw.setNondumpable();
  const writeStdout = mw.redirectStdout();

  let data;
  try {
    data = await mw.readCapped(process.stdin);
  } catch (e) {
    return mw.exitWithError(e instanceof mw.WrapperError ? e : mw.internalError(e), mode);
  }
  const { code, body } = await dispatch(cfg, data);
  data = undefined;
  if (code !== mw.EXIT_OK) {
    await mw.writeStderr(Buffer.concat([body, Buffer.from('\n')]));
    process.exit(code);
  }
  try {
    await writeStdout(body);
  } catch (e) {
    return mw.exitWithError(new mw.WrapperError('io_error', 'cannot write the result', { detail: String(e) }), mode);
  }
  // exit now: timers or handles left by user code must not hold the call open
  process.exit(mw.EXIT_OK);
}

function isMain() {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isMain()) await main();
