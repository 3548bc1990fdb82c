#!/usr/bin/env node
// longrunning.mjs -- mvm's warm-tier runner for Node (and compiled
// TypeScript) functions.
//
// One process serves many calls.  The agent starts it (installed as
// /usr/lib/mvm/wrappers/runner, mvm_wrapper_common.mjs, package.json and
// node_modules/ beside it) and speaks the worker protocol of PROTOCOL.md
// over its stdin/stdout:
//
//   frame    = u32 big-endian length N, then N bytes
//   request  = the encoded [args, kwargs] (<= 16 MiB)
//   response = 1 status byte (0 ok, 1 error) + the encoded result, or the
//              error envelope JSON
//   the very first frame the worker writes is "ready": status 2 + JSON
//
// Startup: read wrapper.json, prod hardening, chdir to working_dir, import
// the module once, look up function, write "ready".  Each call: scrub
// (restore cwd, process.env, umask, process.exitCode and the stdout
// redirection to what they were after the import), decode, call, await,
// encode, respond.  A failing call is answered with status 1 and the worker
// goes on.  EOF at a frame boundary: exit 0.  Startup failure (bad config,
// missing module or function, exception at import): envelope on stderr, no
// "ready" frame, exit 3.  A truncated frame: envelope on stderr, exit 2.
// Cannot write a response: exit 5.  An exception escaping user code outside
// a call (a throwing timer, an unhandled rejection): envelope, exit 1.
//
// Module state, globals, timers and open handles are *not* scrubbed: state
// the user's code keeps across calls is its own.

import * as mw from './mvm_wrapper_common.mjs';

const PROTOCOL_VERSION = 1;
const STATUS_OK = 0;
const STATUS_ERROR = 1;
const STATUS_READY = 2;

// Reads exact byte counts from an async-iterable byte stream.
class FrameReader {
  constructor(stream) {
    this.it = stream[Symbol.asyncIterator]();
    this.chunks = [];
    this.len = 0;
    this.eof = false;
  }

  async fill(n) {
    while (this.len < n && !this.eof) {
      const { value, done } = await this.it.next();
      if (done) {
        this.eof = true;
        break;
      }
      if (value.length > 0) {
        this.chunks.push(value);
        this.len += value.length;
      }
    }
  }

  take(k) {
    if (k === 0) return Buffer.alloc(0);
    const first = this.chunks[0];
    if (first.length >= k) {
      if (first.length === k) this.chunks.shift();
      else this.chunks[0] = first.subarray(k);
      this.len -= k;
      return first.subarray(0, k);
    }
    const out = Buffer.allocUnsafe(k);
    let o = 0;
    while (o < k) {
      const c = this.chunks[0];
      const m = Math.min(c.length, k - o);
      c.copy(out, o, 0, m);
      o += m;
      if (m === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(m);
    }
    this.len -= k;
    return out;
  }

  // Up to n bytes; fewer only at EOF.
  async read(n) {
    await this.fill(n);
    return this.take(Math.min(n, this.len));
  }

  // Skip n bytes without keeping them; false at an early EOF.
  async discard(n) {
    while (n > 0) {
      await this.fill(1);
      if (this.len === 0) return false;
      const k = Math.min(n, this.len);
      this.take(k);
      n -= k;
    }
    return true;
  }
}

class Worker {
  constructor(cfg, target, writeStdout) {
    this.cfg = cfg;
    this.target = target;
    this.writeStdout = writeStdout;
    this.env = { ...process.env };
    this.umask = process.umask(0o022);
    process.umask(this.umask);
  }

  scrub() {
    process.chdir(this.cfg.working_dir);
    for (const k of Object.keys(process.env)) {
      if (!Object.hasOwn(this.env, k)) delete process.env[k];
    }
    for (const [k, v] of Object.entries(this.env)) {
      if (process.env[k] !== v) process.env[k] = v;
    }
    process.umask(this.umask);
    process.exitCode = undefined;
    process.stdout.write = this.writeStdout.redirect;
  }

  async call(payload) {
    const fmt = this.cfg.format;
    try {
      try {
        this.scrub();
      } catch (e) {
        throw new mw.WrapperError('config_error', 'cannot restore working_dir', { detail: String(e) });
      }
      const [args, kwargs] = mw.decodeCall(fmt, payload);
      mw.checkArgs(this.cfg, args, kwargs);
      const result = await mw.invoke(this.target, args, kwargs);
      mw.checkReturn(this.cfg, result);
      return [STATUS_OK, mw.encodeResult(fmt, result)];
    } catch (e) {
      const err = e instanceof mw.WrapperError ? e : mw.internalError(e);
      return [STATUS_ERROR, mw.envelope(err, this.cfg.mode)];
    }
  }

  respond(status, body) {
    const header = Buffer.allocUnsafe(5);
    header.writeUInt32BE(body.length + 1, 0);
    header[4] = status;
    return this.writeStdout(Buffer.concat([header, body]));
  }

  async serve(reader) {
    const hello = { protocol: PROTOCOL_VERSION, language: 'node', format: this.cfg.format, pid: process.pid };
    await this.respond(STATUS_READY, Buffer.from(JSON.stringify(hello)));
    for (;;) {
      const header = await reader.read(4);
      if (header.length === 0) return mw.EXIT_OK;
      if (header.length < 4) throw new mw.WrapperError('protocol_error', 'EOF inside a frame header');
      const n = header.readUInt32BE(0);
      if (n > mw.MAX_PAYLOAD) {
        if (!(await reader.discard(n))) throw new mw.WrapperError('protocol_error', 'EOF inside a request frame');
        const err = new mw.WrapperError('payload_too_large', `request is larger than ${mw.MAX_PAYLOAD} bytes`);
        await this.respond(STATUS_ERROR, mw.envelope(err, this.cfg.mode));
        continue;
      }
      const payload = await reader.read(n);
      if (payload.length < n) throw new mw.WrapperError('protocol_error', 'EOF inside a request frame');
      const [status, body] = await this.call(payload);
      await this.respond(status, body);
    }
  }
}

async function main() {
  let mode = 'prod';
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

  let worker;
  try {
    mw.enterWorkingDir(cfg);
    const target = await mw.loadFunction(cfg);
    worker = new Worker(cfg, target, writeStdout);
  } catch (e) {
    return mw.exitWithError(e instanceof mw.WrapperError ? e : mw.internalError(e), mode);
  }
  let code;
  try {
    code = await worker.serve(new FrameReader(process.stdin));
  } catch (e) {
    const err =
      e instanceof mw.WrapperError ? e : new mw.WrapperError('io_error', 'worker pipe failed', { detail: String(e) });
    return mw.exitWithError(err, mode);
  }
  process.exit(code);
}

await main();
