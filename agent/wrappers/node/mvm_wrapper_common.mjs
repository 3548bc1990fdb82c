// mvm_wrapper_common.mjs -- code shared by the Node runners.
//
// oneshot.mjs and longrunning.mjs import this module from their own
// directory; the image installs it beside the runner as
// /usr/lib/mvm/wrappers/mvm_wrapper_common.mjs, with package.json
// ({"type":"module"}) and node_modules/@msgpack/msgpack.  Node resolves the
// main script through realpath, so the relative import works when the agent
// execs the runner through /proc/self/fd/N.
//
// Everything here follows agent/wrappers/PROTOCOL.md: the wrapper.json
// contract, the data model and decoder hardening, the error envelope and
// the exit statuses.  JSON is parsed by the strict parser below (JSON.parse
// cannot see duplicate keys); msgpack input is checked by a scan of the raw
// bytes before @msgpack/msgpack decodes it.

import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// @msgpack/msgpack, imported by loadCodecs() only when the format is msgpack,
// so that a missing node_modules is a config_error, not a crash.
let msgpackDecode;
let msgpackEncode;

export const MAX_DEPTH = 64; // containers, the [args, kwargs] array included
export const MAX_PAYLOAD = 16 * 1024 * 1024; // stdin / request frame / result cap
export const MAX_CONFIG = 64 * 1024;
const DEV_MESSAGE_MAX = 4096;
const DEV_TRACEBACK_MAX = 32768;

export const DEFAULT_CONFIG = '/etc/mvm/wrapper.json';
export const CONFIG_ENV = 'MVM_WRAPPER_CONFIG';

export const EXIT_OK = 0;
export const EXIT_USER = 1;
export const EXIT_INPUT = 2;
export const EXIT_CONFIG = 3;
export const EXIT_ENCODE = 4;
export const EXIT_INTERNAL = 5;

const KIND_EXIT = {
  user_exception: EXIT_USER,
  decode_error: EXIT_INPUT,
  payload_too_large: EXIT_INPUT,
  protocol_error: EXIT_INPUT,
  config_error: EXIT_CONFIG,
  import_error: EXIT_CONFIG,
  encode_error: EXIT_ENCODE,
  result_too_large: EXIT_ENCODE,
  bad_input: EXIT_INPUT,
  bad_output: EXIT_ENCODE,
  io_error: EXIT_INTERNAL,
  internal_error: EXIT_INTERNAL,
};

const WRAPPER_DIR_URL = pathToFileURL(dirname(fileURLToPath(import.meta.url))).href + '/';

const CONFIG_KEYS = ['module', 'function', 'format', 'working_dir', 'mode'];
const SCHEMA_KEYS = ['args_schema', 'return_schema']; // optional
const NODE_MODULE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*(\/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$/;
const NODE_FUNCTION = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

// An error reported in an envelope.  message is safe for prod (no payload
// bytes, no paths); detail is added in dev mode only.  type and tb are set
// for errors thrown by user code (user_exception, import_error).
export class WrapperError extends Error {
  constructor(kind, message, { detail, type, tb } = {}) {
    super(message);
    this.kind = kind;
    this.detail = detail;
    this.type = type;
    this.tb = tb;
  }

  get exitCode() {
    return KIND_EXIT[this.kind] ?? EXIT_INTERNAL;
  }
}

function typeName(e) {
  try {
    if (e === null) return 'null';
    if (typeof e === 'object' || typeof e === 'function') {
      const c = e.constructor;
      if (c && typeof c.name === 'string' && c.name) return c.name;
      return 'Object';
    }
    return typeof e;
  } catch {
    return 'unknown';
  }
}

function describe(e) {
  try {
    if (e !== null && typeof e === 'object' && typeof e.message === 'string') return e.message;
    return String(e);
  } catch {
    return `<unprintable ${typeName(e)}>`;
  }
}

// Wrap a value thrown by user code (at import or in the call).
export function fromUser(kind, e) {
  const type = typeName(e);
  let tb;
  try {
    if (e !== null && typeof e === 'object' && typeof e.stack === 'string') {
      tb = e.stack
        .split('\n')
        .filter((line) => !line.includes(WRAPPER_DIR_URL)) // the wrapper's own frames
        .join('\n');
    }
  } catch {
    tb = undefined;
  }
  const what = kind === 'import_error' ? 'importing the module' : 'the function';
  return new WrapperError(kind, `${what} raised ${type}`, { detail: describe(e), type, tb });
}

export function internalError(e) {
  return new WrapperError('internal_error', `wrapper failed: ${typeName(e)}`, { detail: describe(e) });
}

// The error envelope: one line of ASCII JSON, as a Buffer, no newline.
export function envelope(err, mode) {
  const body = { kind: err.kind };
  if (err.type !== undefined) body.type = err.type;
  let message = err.message;
  if (mode === 'dev') {
    if (err.detail) message = `${message}: ${err.detail}`;
    message = message.slice(0, DEV_MESSAGE_MAX);
  }
  body.message = message;
  if (mode === 'dev' && err.tb) body.traceback = err.tb.slice(-DEV_TRACEBACK_MAX);
  const text = JSON.stringify({ error: body }).replace(
    /[\u0080-\uffff]/g,
    (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'),
  );
  return Buffer.from(text, 'ascii');
}

// ------------------------------------------------------------ config

export function configPath() {
  return process.env[CONFIG_ENV] || DEFAULT_CONFIG;
}

function configError(message, detail) {
  return new WrapperError('config_error', message, { detail });
}

export function loadConfig(path = configPath()) {
  let raw;
  try {
    raw = readFileSync(path);
  } catch (e) {
    throw configError('cannot read wrapper config', `${path}: ${e.code ?? describe(e)}`);
  }
  if (raw.length > MAX_CONFIG) throw configError(`wrapper config is larger than ${MAX_CONFIG} bytes`);
  let cfg;
  try {
    cfg = parseJSON(raw);
  } catch (e) {
    if (e instanceof WrapperError) throw configError(`wrapper config: ${e.message}`, e.detail);
    throw e;
  }
  if (cfg === null || typeof cfg !== 'object' || Array.isArray(cfg)) {
    throw configError('wrapper config must be a JSON object');
  }
  for (const k of Object.keys(cfg)) {
    if (SCHEMA_KEYS.includes(k)) {
      const v = cfg[k];
      if (typeof v !== 'boolean' && (v === null || typeof v !== 'object' || Array.isArray(v))) {
        throw configError(`wrapper config: '${k}' must be a schema`);
      }
      continue;
    }
    if (!CONFIG_KEYS.includes(k)) throw configError('wrapper config: unknown key', JSON.stringify(k));
  }
  for (const k of CONFIG_KEYS) {
    if (!Object.hasOwn(cfg, k)) throw configError(`wrapper config: missing key '${k}'`);
    if (typeof cfg[k] !== 'string') throw configError(`wrapper config: '${k}' must be a string`);
  }
  if (cfg.format !== 'json' && cfg.format !== 'msgpack') {
    throw configError('wrapper config: format must be json or msgpack', JSON.stringify(cfg.format));
  }
  if (cfg.mode !== 'prod' && cfg.mode !== 'dev') {
    throw configError('wrapper config: mode must be prod or dev', JSON.stringify(cfg.mode));
  }
  if (!NODE_MODULE.test(cfg.module)) {
    throw configError('wrapper config: module is not a relative module path', JSON.stringify(cfg.module));
  }
  if (!NODE_FUNCTION.test(cfg.function)) {
    throw configError('wrapper config: function is not an identifier', JSON.stringify(cfg.function));
  }
  if (!cfg.working_dir.startsWith('/') || cfg.working_dir.includes('\0')) {
    throw configError('wrapper config: working_dir must be an absolute path', JSON.stringify(cfg.working_dir));
  }
  return cfg;
}

export async function loadCodecs(cfg) {
  if (cfg.format !== 'msgpack' || msgpackDecode !== undefined) return;
  try {
    ({ decode: msgpackDecode, encode: msgpackEncode } = await import('@msgpack/msgpack'));
  } catch (e) {
    throw configError('format msgpack needs @msgpack/msgpack in node_modules beside the runner', describe(e));
  }
}

// ------------------------------------------------------------ process

// Node has no prctl: PR_SET_DUMPABLE cannot be set from JavaScript, and the
// agent cannot set it for us because execve resets the flag.  What we can
// do is empty the core dump: coredump_filter 0 keeps every memory mapping
// out of a dump (the agent's RLIMIT_CORE=0 prevents the dump itself).
// Same-uid ptrace stays possible; the entrypoint runs under its own uid.
export function setNondumpable() {
  try {
    writeFileSync('/proc/self/coredump_filter', '0');
  } catch {
    // best effort: no /proc, or a kernel without coredump_filter
  }
}

// Route JavaScript-level writes to stdout (console.log, process.stdout.write)
// to stderr; return a function that writes to the real stdout.  Writes to
// fd 1 by other means (fs.writeSync(1), inherited stdio of child processes)
// are not redirected: Node has no dup2.
export function redirectStdout() {
  const out = process.stdout;
  const real = out.write.bind(out);
  out.on('error', () => {}); // EPIPE reaches the write callbacks instead
  const toStderr = process.stderr.write.bind(process.stderr);
  out.write = toStderr;
  const write = (buf) =>
    new Promise((resolve, reject) => {
      real(buf, (err) => (err ? reject(err) : resolve()));
    });
  write.redirect = toStderr;
  return write;
}

export function writeStderr(buf) {
  return new Promise((resolve) => {
    try {
      process.stderr.write(buf, () => resolve());
    } catch {
      resolve();
    }
  });
}

// Write the envelope as the last line of stderr and exit with err's status.
export async function exitWithError(err, mode) {
  await writeStderr(Buffer.concat([envelope(err, mode), Buffer.from('\n')]));
  process.exit(err.exitCode);
}

// Errors that escape user code outside the awaited call (a throwing timer,
// an unhandled rejection) end the process with a sanitized envelope.
export function installCrashHandlers(getMode) {
  const crash = (e) => {
    const err = fromUser('user_exception', e);
    err.message = `uncaught ${err.type} outside the call`;
    exitWithError(err, getMode());
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
}

export async function readCapped(stream, cap = MAX_PAYLOAD) {
  const chunks = [];
  let total = 0;
  try {
    for await (const chunk of stream) {
      total += chunk.length;
      if (total > cap) throw new WrapperError('payload_too_large', `input is larger than ${cap} bytes`);
      chunks.push(chunk);
    }
  } catch (e) {
    if (e instanceof WrapperError) throw e;
    throw new WrapperError('io_error', 'cannot read input', { detail: describe(e) });
  }
  return Buffer.concat(chunks, total);
}

// chdir to working_dir.  ESM has no module search path: the module is
// imported by its file URL under working_dir, and its own bare imports
// resolve from working_dir/node_modules upward -- working_dir comes first.
export function enterWorkingDir(cfg) {
  try {
    process.chdir(cfg.working_dir);
  } catch (e) {
    throw configError('cannot enter working_dir', `${cfg.working_dir}: ${e.code ?? describe(e)}`);
  }
}

function isFile(p) {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

// Import <working_dir>/<module>.mjs (or .js; or the name as given when it
// ends in .mjs/.js) and return { fn, self }.  TypeScript is compiled to
// .mjs when the image is built; a lone .ts is a config error.
export async function loadFunction(cfg) {
  const base = join(cfg.working_dir, cfg.module);
  const candidates = /\.(mjs|js)$/.test(cfg.module) ? [base] : [`${base}.mjs`, `${base}.js`];
  const file = candidates.find(isFile);
  if (file === undefined) {
    if (['.ts', '.mts'].some((x) => isFile(base + x))) {
      throw configError(`module '${cfg.module}' is TypeScript source: the image build compiles it to .mjs`);
    }
    throw configError(`module '${cfg.module}' not found`, `tried ${candidates.join(', ')}`);
  }
  let mod;
  try {
    mod = await import(pathToFileURL(file).href);
  } catch (e) {
    throw fromUser('import_error', e);
  }
  const name = cfg.function;
  let fn = mod[name];
  let self;
  if (fn === undefined) {
    const d = mod.default;
    if (d !== null && (typeof d === 'object' || typeof d === 'function') && d[name] !== undefined) {
      fn = d[name];
      self = d;
    }
  }
  if (fn === undefined) throw configError(`function '${name}' not found in module '${cfg.module}'`);
  if (typeof fn !== 'function') throw configError(`'${name}' in module '${cfg.module}' is not a function`);
  return { fn, self };
}

// fn(...args), plus kwargs as one final object argument when it has keys.
export async function invoke(target, args, kwargs) {
  const callArgs = Object.keys(kwargs).length > 0 ? [...args, kwargs] : args;
  try {
    return await target.fn.apply(target.self, callArgs);
  } catch (e) {
    throw fromUser('user_exception', e);
  }
}

// ------------------------------------------------------------ data model

function decodeError(message, detail) {
  return new WrapperError('decode_error', message, { detail });
}

function nestingError(kind) {
  return new WrapperError(kind, `nesting deeper than ${MAX_DEPTH}`);
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function isWellFormed(s) {
  if (typeof s.isWellFormed === 'function') return s.isWellFormed();
  return !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const PLAIN = /[^"\\\u0000-\u001f]*/y;
const HEX4 = /^[0-9A-Fa-f]{4}$/;
const ESCAPES = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

// A strict RFC 8259 parser: UTF-8 only (no BOM), no duplicate keys, no
// lone surrogate escapes, finite numbers, at most MAX_DEPTH containers.
// Objects get own data properties (like JSON.parse: "__proto__" is a key).
export function parseJSON(bytes) {
  let text;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw decodeError('input is not valid UTF-8');
  }
  const n = text.length;
  let i = 0;
  const fail = (what) => decodeError(`malformed JSON: ${what} at offset ${i}`);

  const ws = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
  };

  const hex4 = () => {
    const h = text.slice(i, i + 4);
    if (!HEX4.test(h)) throw fail('bad \\u escape');
    i += 4;
    return parseInt(h, 16);
  };

  const string = () => {
    i++; // the opening quote
    let out = '';
    for (;;) {
      PLAIN.lastIndex = i;
      PLAIN.exec(text);
      if (PLAIN.lastIndex > i) {
        out += text.slice(i, PLAIN.lastIndex);
        i = PLAIN.lastIndex;
      }
      if (i >= n) throw fail('unterminated string');
      const c = text[i];
      if (c === '"') {
        i++;
        return out;
      }
      if (c !== '\\') throw fail('control character in string');
      const e = text[i + 1];
      i += 2;
      if (e === 'u') {
        const u = hex4();
        if (u >= 0xd800 && u <= 0xdbff) {
          if (text[i] !== '\\' || text[i + 1] !== 'u') throw decodeError('string with a lone surrogate');
          i += 2;
          const lo = hex4();
          if (lo < 0xdc00 || lo > 0xdfff) throw decodeError('string with a lone surrogate');
          out += String.fromCharCode(u, lo);
        } else if (u >= 0xdc00 && u <= 0xdfff) {
          throw decodeError('string with a lone surrogate');
        } else {
          out += String.fromCharCode(u);
        }
      } else if (e !== undefined && Object.hasOwn(ESCAPES, e)) {
        out += ESCAPES[e];
      } else {
        i -= 1;
        throw fail('bad escape');
      }
    }
  };

  const number = () => {
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (m === null) throw fail('bad number');
    i = NUMBER.lastIndex;
    const v = Number(m[0]);
    if (!Number.isFinite(v)) throw decodeError('non-finite number', `${m[0]} overflows a double`);
    return v;
  };

  const literal = (word, v) => {
    if (text.startsWith(word, i)) {
      i += word.length;
      return v;
    }
    throw fail('unexpected character');
  };

  const value = (depth) => {
    ws();
    if (i >= n) throw fail('unexpected end of input');
    const c = text[i];
    if (c === '{') return object(depth + 1);
    if (c === '[') return array(depth + 1);
    if (c === '"') return string();
    if (c === 't') return literal('true', true);
    if (c === 'f') return literal('false', false);
    if (c === 'n') return literal('null', null);
    if (text.startsWith('NaN', i) || text.startsWith('Infinity', i) || text.startsWith('-Infinity', i)) {
      throw decodeError('non-finite number', text.startsWith('NaN', i) ? 'NaN' : 'Infinity');
    }
    if (c === '-' || (c >= '0' && c <= '9')) return number();
    throw fail('unexpected character');
  };

  const array = (depth) => {
    if (depth > MAX_DEPTH) throw nestingError('decode_error');
    i++;
    const out = [];
    ws();
    if (text[i] === ']') {
      i++;
      return out;
    }
    for (;;) {
      out.push(value(depth));
      ws();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === ']') {
        i++;
        return out;
      }
      throw fail(i >= n ? 'unexpected end of input' : "expected ',' or ']'");
    }
  };

  const object = (depth) => {
    if (depth > MAX_DEPTH) throw nestingError('decode_error');
    i++;
    const out = {};
    ws();
    if (text[i] === '}') {
      i++;
      return out;
    }
    for (;;) {
      ws();
      if (text[i] !== '"') throw fail(i >= n ? 'unexpected end of input' : 'expected a string key');
      const k = string();
      if (Object.hasOwn(out, k)) throw decodeError('duplicate key in map', `key ${JSON.stringify(k)}`);
      ws();
      if (text[i] !== ':') throw fail(i >= n ? 'unexpected end of input' : "expected ':'");
      i++;
      const v = value(depth);
      Object.defineProperty(out, k, { value: v, writable: true, enumerable: true, configurable: true });
      ws();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === '}') {
        i++;
        return out;
      }
      throw fail(i >= n ? 'unexpected end of input' : "expected ',' or '}'");
    }
  };

  const v = value(0);
  ws();
  if (i < n) throw fail('trailing characters');
  return v;
}

// Check raw msgpack bytes before decoding them: one value, no trailing
// bytes, at most MAX_DEPTH containers, string map keys without duplicates,
// valid UTF-8 strings, finite floats, integers within +-(2^53-1) (they
// decode to JavaScript numbers), no extension types, no 0xc1.
export function checkMsgpack(u8) {
  const n = u8.length;
  const dv = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  let p = 0;
  const malformed = (what) => decodeError(`malformed msgpack: ${what} at offset ${p}`);
  const need = (k) => {
    if (n - p < k) throw malformed('truncated input');
  };
  const uint = (k) => {
    need(k);
    const v = k === 1 ? u8[p] : k === 2 ? dv.getUint16(p) : dv.getUint32(p);
    p += k;
    return v;
  };
  const str = (len) => {
    need(len);
    let s;
    try {
      s = utf8.decode(u8.subarray(p, p + len));
    } catch {
      throw decodeError('msgpack string is not valid UTF-8');
    }
    p += len;
    return s;
  };
  const safe = (v) => {
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) {
      throw decodeError('integer outside the safe range of a JavaScript number', String(v));
    }
  };
  const finite = (v) => {
    if (!Number.isFinite(v)) throw decodeError('non-finite number', String(v));
  };

  const array = (count, depth) => {
    if (depth > MAX_DEPTH) throw nestingError('decode_error');
    if (count > n - p) throw malformed('truncated input');
    for (let k = 0; k < count; k++) item(depth);
  };

  const map = (count, depth) => {
    if (depth > MAX_DEPTH) throw nestingError('decode_error');
    if (count > (n - p) / 2) throw malformed('truncated input');
    const seen = new Set();
    for (let k = 0; k < count; k++) {
      need(1);
      const b = u8[p];
      let len;
      if (b >= 0xa0 && b <= 0xbf) {
        p++;
        len = b & 0x1f;
      } else if (b === 0xd9 || b === 0xda || b === 0xdb) {
        p++;
        len = uint(b === 0xd9 ? 1 : b === 0xda ? 2 : 4);
      } else {
        throw decodeError('map key is not a string');
      }
      const key = str(len);
      if (seen.has(key)) throw decodeError('duplicate key in map', `key ${JSON.stringify(key)}`);
      seen.add(key);
      item(depth);
    }
  };

  const item = (depth) => {
    need(1);
    const b = u8[p++];
    if (b <= 0x7f || b >= 0xe0) return;
    if (b <= 0x8f) return map(b & 0x0f, depth + 1);
    if (b <= 0x9f) return array(b & 0x0f, depth + 1);
    if (b <= 0xbf) return void str(b & 0x1f);
    switch (b) {
      case 0xc0:
      case 0xc2:
      case 0xc3:
        return;
      case 0xc4:
      case 0xc5:
      case 0xc6: {
        const len = uint(b === 0xc4 ? 1 : b === 0xc5 ? 2 : 4);
        need(len);
        p += len;
        return;
      }
      case 0xca:
        need(4);
        finite(dv.getFloat32(p));
        p += 4;
        return;
      case 0xcb:
        need(8);
        finite(dv.getFloat64(p));
        p += 8;
        return;
      case 0xcc:
      case 0xd0:
        need(1);
        p += 1;
        return;
      case 0xcd:
      case 0xd1:
        need(2);
        p += 2;
        return;
      case 0xce:
      case 0xd2:
        need(4);
        p += 4;
        return;
      case 0xcf:
        need(8);
        safe(dv.getBigUint64(p));
        p += 8;
        return;
      case 0xd3:
        need(8);
        safe(dv.getBigInt64(p));
        p += 8;
        return;
      case 0xd9:
        return void str(uint(1));
      case 0xda:
        return void str(uint(2));
      case 0xdb:
        return void str(uint(4));
      case 0xdc:
        return array(uint(2), depth + 1);
      case 0xdd:
        return array(uint(4), depth + 1);
      case 0xde:
        return map(uint(2), depth + 1);
      case 0xdf:
        return map(uint(4), depth + 1);
      case 0xc1:
        p--;
        throw malformed('reserved type byte 0xc1');
      default: // 0xc7-0xc9 ext, 0xd4-0xd8 fixext
        throw decodeError('msgpack extension types are not accepted', `type byte 0x${b.toString(16)}`);
    }
  };

  item(0);
  if (p !== n) throw malformed('trailing bytes');
}

// Decode the [args, kwargs] payload; returns [args, kwargs].
export function decodeCall(format, bytes) {
  if (bytes.length > MAX_PAYLOAD) {
    throw new WrapperError('payload_too_large', `input is larger than ${MAX_PAYLOAD} bytes`);
  }
  let v;
  if (format === 'json') {
    v = parseJSON(bytes);
  } else {
    checkMsgpack(bytes);
    try {
      v = msgpackDecode(bytes);
    } catch (e) {
      // after checkMsgpack, only the library's own refusals: a "__proto__" key
      throw decodeError('malformed msgpack', describe(e));
    }
  }
  const plain = (o) => o !== null && typeof o === 'object' && !Array.isArray(o) && !(o instanceof Uint8Array);
  if (!Array.isArray(v) || v.length !== 2 || !Array.isArray(v[0]) || !plain(v[1])) {
    throw decodeError('payload must be a 2-element array [args, kwargs]');
  }
  return [v[0], v[1]];
}

// Walk a return value: the data model's types only, finite numbers, well-
// formed strings, at most MAX_DEPTH containers (which also stops cycles).
// undefined is null at the top and in arrays, and drops an object entry --
// as both encoders do.
export function checkResult(value, format) {
  const stack = [[value, 0]];
  const bad = (what) => new WrapperError('encode_error', `return value: ${what}`);
  while (stack.length > 0) {
    const [v, depth] = stack.pop();
    if (v === null || v === undefined || typeof v === 'boolean') continue;
    switch (typeof v) {
      case 'string':
        if (!isWellFormed(v)) throw bad('string with a lone surrogate');
        continue;
      case 'number':
        if (!Number.isFinite(v)) throw bad('non-finite number');
        continue;
      case 'object':
        break;
      default:
        throw bad(`value of type ${typeof v} is not in the data model`);
    }
    if (v instanceof Uint8Array) {
      if (format !== 'msgpack') throw bad('binary data cannot be encoded as json');
      continue;
    }
    if (depth + 1 > MAX_DEPTH) throw bad(`nesting deeper than ${MAX_DEPTH} (or a cycle)`);
    if (Array.isArray(v)) {
      for (let k = 0; k < v.length; k++) stack.push([v[k], depth + 1]);
      continue;
    }
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) {
      throw bad(`value of type ${typeName(v)} is not in the data model`);
    }
    for (const k of Object.keys(v)) {
      if (!isWellFormed(k)) throw bad('map key with a lone surrogate');
      stack.push([v[k], depth + 1]);
    }
  }
}

export function encodeResult(format, value) {
  checkResult(value, format);
  let out;
  try {
    if (format === 'json') {
      out = Buffer.from(JSON.stringify(value === undefined ? null : value), 'utf8');
    } else {
      const u8 = msgpackEncode(value === undefined ? null : value, { ignoreUndefined: true });
      out = Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
    }
  } catch (e) {
    throw new WrapperError('encode_error', `return value cannot be encoded as ${format}`, { detail: describe(e) });
  }
  if (out.length > MAX_PAYLOAD) {
    throw new WrapperError('result_too_large', `encoded result is larger than ${MAX_PAYLOAD} bytes`);
  }
  return out;
}

// ------------------------------------------------------------ schemas
//
// args_schema / return_schema (PROTOCOL.md section 5): the JSON Schema
// 2020-12 subset ir-lower(1) lets through -- type, enum, const, properties,
// required, additionalProperties, items, minimum, maximum, minLength,
// maxLength, and annotations that check nothing.  ir-lower refuses every
// other keyword, so none is ever ignored here.

function isObj(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function typeOk(t, v) {
  switch (t) {
    case 'null': return v === null || v === undefined;
    case 'boolean': return typeof v === 'boolean';
    case 'string': return typeof v === 'string';
    case 'array': return Array.isArray(v);
    case 'object': return isObj(v);
    case 'number': return typeof v === 'number';
    case 'integer': return typeof v === 'number' && Number.isInteger(v);
    default: return false;
  }
}

function jsonEqual(a, b) {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length &&
      a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (isObj(a) || isObj(b)) {
    if (!isObj(a) || !isObj(b)) return false;
    const ka = Object.keys(a).sort(), kb = Object.keys(b).sort();
    return ka.length === kb.length && ka.every((k, i) => k === kb[i] && jsonEqual(a[k], b[k]));
  }
  return a === b;
}

const tok = (s) => s.replace(/~/g, '~0').replace(/\//g, '~1');

// The first place value breaks schema: [pointer, safe, reason], or null.
// safe is the pointer cut before the first member name that came from
// the value rather than from the schema (prod mode shows only that).
export function schemaError(schema, value) {
  const stack = [[schema, value, '', null]];
  while (stack.length) {
    const [s, v, ptr, safe] = stack.pop();
    if (s === true) continue;
    if (s === false) return [ptr, safe, 'no value is allowed here'];
    const has = (k) => Object.hasOwn(s, k);
    if (has('type')) {
      const ts = typeof s.type === 'string' ? [s.type] : s.type;
      if (!ts.some((t) => typeOk(t, v))) return [ptr, safe, `not of type ${ts.join(' or ')}`];
    }
    if (has('enum') && !s.enum.some((x) => jsonEqual(v, x))) return [ptr, safe, 'not one of the enum values'];
    if (has('const') && !jsonEqual(v, s.const)) return [ptr, safe, 'not the const value'];
    if (typeof v === 'string') {
      const n = [...v].length;
      if (has('minLength') && n < s.minLength) return [ptr, safe, `shorter than minLength ${s.minLength}`];
      if (has('maxLength') && n > s.maxLength) return [ptr, safe, `longer than maxLength ${s.maxLength}`];
    }
    if (typeof v === 'number') {
      if (has('minimum') && v < s.minimum) return [ptr, safe, `below minimum ${s.minimum}`];
      if (has('maximum') && v > s.maximum) return [ptr, safe, `above maximum ${s.maximum}`];
    }
    const later = [];
    if (isObj(v)) {
      for (const k of has('required') ? s.required : []) {
        if (!Object.hasOwn(v, k) || v[k] === undefined) return [ptr, safe, `missing required member ${JSON.stringify(k)}`];
      }
      const props = has('properties') ? s.properties : {};
      const extra = has('additionalProperties') ? s.additionalProperties : true;
      for (const k of Object.keys(v).sort()) {
        if (v[k] === undefined) continue; // the encoders drop it
        if (Object.hasOwn(props, k)) later.push([props[k], v[k], `${ptr}/${tok(k)}`, safe]);
        else if (extra === false) return [ptr, safe, 'a member the schema does not declare'];
        else later.push([extra, v[k], `${ptr}/${tok(k)}`, safe === null ? ptr : safe]);
      }
    } else if (Array.isArray(v) && has('items')) {
      v.forEach((x, i) => later.push([s.items, x, `${ptr}/${i}`, safe]));
    }
    stack.push(...later.reverse());
  }
  return null;
}

function schemaCheck(cfg, key, value, kind, what) {
  if (!Object.hasOwn(cfg, key)) return;
  const found = schemaError(cfg[key], value);
  if (found === null) return;
  const [ptr, safe, reason] = found;
  const shown = safe === null ? ptr : `${safe} (inside a member the schema does not name)`;
  throw new WrapperError(kind, `${what} ${key} at ${shown || '(root)'}: ${reason}`,
    { detail: `at ${ptr || '(root)'}` });
}

// args_schema describes the keyword arguments as one object; under it a
// call with positional arguments is bad_input.  Checked before the module
// is imported.
export function checkArgs(cfg, args, kwargs) {
  if (!Object.hasOwn(cfg, 'args_schema')) return;
  if (args.length) {
    throw new WrapperError('bad_input', 'the call has positional arguments, which args_schema does not describe');
  }
  schemaCheck(cfg, 'args_schema', kwargs, 'bad_input', 'the arguments do not match');
}

// return_schema describes the return value; checked before encoding.
export function checkReturn(cfg, value) {
  schemaCheck(cfg, 'return_schema', value, 'bad_output', 'the result does not match');
}
