"""mvm_wrapper_common -- code shared by the Python runners.

oneshot.py and longrunning.py import this module from their own directory
(the image installs it beside the runner as
/usr/lib/mvm/wrappers/mvm_wrapper_common.py).  Python puts the *real*
directory of the script first on sys.path even when the agent execs the
runner through /proc/self/fd/N, so the sibling import works there too.

Everything here follows agent/wrappers/PROTOCOL.md: the wrapper.json
contract, the data model and decoder hardening, the error envelope and the
exit statuses.  Only mvm_json (CPython's _json, see there) and msgpack are
ever imported to decode input.  What a cold call imports is kept short: a
runner's first start under TCG pays for every module it runs (no re, no
json package, ctypes only for prod's prctl).
"""

import math
import os
import sys
import types

import mvm_json

MAX_DEPTH = 64                    # containers, the [args, kwargs] array included
MAX_PAYLOAD = 16 * 1024 * 1024    # stdin / request frame / result cap (bytes)
MAX_CONFIG = 64 * 1024            # wrapper.json cap (bytes)
DEV_MESSAGE_MAX = 4096            # dev-mode caps on what the envelope carries
DEV_TRACEBACK_MAX = 32768

DEFAULT_CONFIG = "/etc/mvm/wrapper.json"
CONFIG_ENV = "MVM_WRAPPER_CONFIG"

# Exit statuses of the oneshot runner; kinds map onto them (PROTOCOL.md).
EXIT_OK = 0
EXIT_USER = 1
EXIT_INPUT = 2
EXIT_CONFIG = 3
EXIT_ENCODE = 4
EXIT_INTERNAL = 5

KIND_EXIT = {
    "user_exception": EXIT_USER,
    "decode_error": EXIT_INPUT,
    "payload_too_large": EXIT_INPUT,
    "protocol_error": EXIT_INPUT,
    "config_error": EXIT_CONFIG,
    "import_error": EXIT_CONFIG,
    "encode_error": EXIT_ENCODE,
    "result_too_large": EXIT_ENCODE,
    "bad_input": EXIT_INPUT,
    "bad_output": EXIT_ENCODE,
    "io_error": EXIT_INTERNAL,
    "internal_error": EXIT_INTERNAL,
}

CONFIG_KEYS = ("module", "function", "format", "working_dir", "mode")
SCHEMA_KEYS = ("args_schema", "return_schema")   # optional


def _py_identifier(name):
    """[A-Za-z_][A-Za-z0-9_]* (ASCII; keywords are not refused)."""
    return name.isascii() and name.isidentifier()


def _py_dotted(name):
    """Identifiers joined by single dots."""
    return all(_py_identifier(part) for part in name.split("."))


class WrapperError(Exception):
    """An error the wrapper reports in an envelope.

    message is safe for prod (no payload bytes, no paths); detail is added
    in dev mode only.  type_name and tb are set for errors raised by user
    code (user_exception, import_error).
    """

    def __init__(self, kind, message, detail=None, type_name=None, tb=None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.detail = detail
        self.type_name = type_name
        self.tb = tb

    @property
    def exit_code(self):
        return KIND_EXIT.get(self.kind, EXIT_INTERNAL)


def from_user(kind, exc):
    """Wrap an exception raised by user code (at import or in the call)."""
    name = type(exc).__name__
    try:
        detail = str(exc)
    except Exception:  # a user __str__ may raise
        detail = "<unprintable %s>" % name
    frames = exc.__traceback__
    if frames is not None and frames.tb_next is not None:
        frames = frames.tb_next  # drop the wrapper's own frame
    try:
        # imported here, on an error only: its imports cost every cold start
        # 40-90 ms under TCG.  The user's directory is on sys.path by now, so
        # a module of theirs named traceback is what this finds.
        import traceback

        tb = "".join(traceback.format_exception(type(exc), exc, frames))
    except Exception:
        tb = "%s: %s\n" % (name, detail)
    what = "importing the module" if kind == "import_error" else "the function"
    return WrapperError(kind, "%s raised %s" % (what, name), detail, name, tb)


def envelope(err, mode):
    """The error envelope: one line of JSON, as bytes, without the newline."""
    body = {"kind": err.kind}
    if err.type_name is not None:
        body["type"] = err.type_name
    message = err.message
    if mode == "dev":
        if err.detail:
            message = "%s: %s" % (message, err.detail)
        message = message[:DEV_MESSAGE_MAX]
    body["message"] = message
    if mode == "dev" and err.tb:
        body["traceback"] = err.tb[-DEV_TRACEBACK_MAX:]
    text = mvm_json.dumps({"error": body}, ensure_ascii=True)
    return text.encode("ascii")


# ---------------------------------------------------------------- config


def config_path():
    return os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG


def load_config(path=None):
    """Read and check wrapper.json; raise WrapperError(config_error)."""
    path = path or config_path()
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_CONFIG + 1)
    except OSError as e:
        raise WrapperError("config_error", "cannot read wrapper config",
                           "%s: %s" % (path, e.strerror)) from None
    if len(raw) > MAX_CONFIG:
        raise WrapperError("config_error", "wrapper config is larger than %d bytes" % MAX_CONFIG)
    try:
        cfg = _decode_json(raw)
    except WrapperError as e:
        raise WrapperError("config_error", "wrapper config: " + e.message, e.detail) from None
    if not isinstance(cfg, dict):
        raise WrapperError("config_error", "wrapper config must be a JSON object")
    for k in cfg:
        if k in SCHEMA_KEYS:
            if not isinstance(cfg[k], (dict, bool)):
                raise WrapperError("config_error", "wrapper config: '%s' must be a schema" % k)
            continue
        if k not in CONFIG_KEYS:
            raise WrapperError("config_error", "wrapper config: unknown key", repr(k))
    for k in CONFIG_KEYS:
        if k not in cfg:
            raise WrapperError("config_error", "wrapper config: missing key '%s'" % k)
        if not isinstance(cfg[k], str):
            raise WrapperError("config_error", "wrapper config: '%s' must be a string" % k)
    if cfg["format"] not in ("json", "msgpack"):
        raise WrapperError("config_error", "wrapper config: format must be json or msgpack",
                           repr(cfg["format"]))
    if cfg["format"] == "msgpack":
        try:
            import msgpack  # noqa: F401 -- fail here, not at the first call
        except ImportError as e:
            raise WrapperError("config_error", "format msgpack needs the msgpack module "
                               "(Debian: python3-msgpack)", str(e)) from None
    if cfg["mode"] not in ("prod", "dev"):
        raise WrapperError("config_error", "wrapper config: mode must be prod or dev",
                           repr(cfg["mode"]))
    if not _py_dotted(cfg["module"]):
        raise WrapperError("config_error", "wrapper config: module is not a dotted Python name",
                           repr(cfg["module"]))
    if not _py_identifier(cfg["function"]):
        raise WrapperError("config_error", "wrapper config: function is not a Python identifier",
                           repr(cfg["function"]))
    if not cfg["working_dir"].startswith("/") or "\0" in cfg["working_dir"]:
        raise WrapperError("config_error", "wrapper config: working_dir must be an absolute path",
                           repr(cfg["working_dir"]))
    return cfg


# ---------------------------------------------------------------- process


def set_nondumpable():
    """prctl(PR_SET_DUMPABLE, 0): no core dumps, no same-uid ptrace or
    /proc/<pid>/mem.  Best effort: a libc without prctl leaves it as is
    (the agent's RLIMIT_CORE=0 still holds).  CDLL(None) is the libc the
    interpreter is linked with (glibc or musl) -- no find_library, which
    may run a compiler."""
    PR_SET_DUMPABLE = 4
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def quiet_thread_tracebacks(mode):
    """In prod an exception escaping a user thread must not print a
    traceback (paths, maybe payload bytes): log one neutral line."""
    if mode != "prod":
        return

    def hook(args):
        try:
            name = args.exc_type.__name__
        except Exception:
            name = "exception"
        try:
            sys.stderr.write("mvm-wrapper: uncaught %s in a user thread "
                             "(traceback suppressed in prod mode)\n" % name)
            sys.stderr.flush()
        except Exception:
            pass

    # threading takes its default hook from _thread when it is first
    # imported: set it there, so that a function without threads does not
    # import threading (a cold call's start pays for every module, dearly
    # under TCG); and on threading itself when something imported it.
    import _thread

    _thread._excepthook = hook
    if "threading" in sys.modules:
        sys.modules["threading"].excepthook = hook
    sys.unraisablehook = lambda u: None


def read_capped(fd, cap=MAX_PAYLOAD):
    """Read fd to EOF; more than cap bytes is payload_too_large (reading
    stops there)."""
    chunks = []
    total = 0
    while True:
        try:
            chunk = os.read(fd, min(65536, cap + 1 - total))
        except InterruptedError:
            continue
        except OSError as e:
            raise WrapperError("io_error", "cannot read input", e.strerror) from None
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > cap:
            raise WrapperError("payload_too_large",
                               "input is larger than %d bytes" % cap)
        chunks.append(chunk)


def write_all(fd, data):
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
        except InterruptedError:
            continue
        view = view[n:]


DEPS_SITE = "/mnt/deps/site-packages"


def enter_working_dir(cfg):
    """chdir to working_dir and put it first on sys.path, in place of the
    runner's own directory (user code cannot import the wrapper's files)."""
    wd = cfg["working_dir"]
    try:
        os.chdir(wd)
    except OSError as e:
        raise WrapperError("config_error", "cannot enter working_dir",
                           "%s: %s" % (wd, e.strerror)) from None
    here = os.path.dirname(os.path.realpath(__file__))
    rest = [p for p in sys.path if p and os.path.realpath(p) != here]
    sys.path[:] = [wd] + [p for p in rest if p != wd]
    # The deps volume (mvm-deps(1)), mounted read-only by init when the
    # image has one: after the standard library, as site-packages would be.
    if os.path.isdir(DEPS_SITE) and DEPS_SITE not in sys.path:
        sys.path.append(DEPS_SITE)


def load_function(cfg):
    """Import cfg.module and return cfg.function.  Call after
    enter_working_dir.  A missing module/function is config_error; an
    exception raised by the module's own code is import_error."""
    import importlib

    name = cfg["module"]
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as e:
        missing = e.name or ""
        if missing and (missing == name or name.startswith(missing + ".")):
            raise WrapperError("config_error", "module '%s' not found" % name,
                               "not found under %s" % cfg["working_dir"]) from None
        raise from_user("import_error", e) from None
    except BaseException as e:  # SyntaxError, SystemExit at import, ...
        raise from_user("import_error", e) from None
    fname = cfg["function"]
    fn = getattr(module, fname, None)
    if fn is None:
        raise WrapperError("config_error",
                           "function '%s' not found in module '%s'" % (fname, name))
    if not callable(fn):
        raise WrapperError("config_error",
                           "'%s' in module '%s' is not callable" % (fname, name))
    return fn


def invoke(fn, args, kwargs):
    """fn(*args, **kwargs); a coroutine result is run to completion."""
    try:
        result = fn(*args, **kwargs)
        # inspect.iscoroutine() is this test; importing inspect (ast, dis,
        # tokenize...) cost every cold call about 0.1 s under TCG
        if isinstance(result, types.CoroutineType):
            import asyncio
            result = asyncio.run(result)
        return result
    except BaseException as e:  # SystemExit/KeyboardInterrupt are user errors here
        raise from_user("user_exception", e) from None


# ---------------------------------------------------------------- data model


class _Reject(Exception):
    """Raised from inside the decoders' hooks."""

    def __init__(self, message, detail=None):
        super().__init__(message)
        self.message = message
        self.detail = detail


def _pairs_hook(pairs):
    out = {}
    for k, v in pairs:
        if not isinstance(k, str):
            raise _Reject("map key is not a string", "key of type %s" % type(k).__name__)
        if k in out:
            raise _Reject("duplicate key in map", "key %r" % k)
        out[k] = v
    return out


def _reject_constant(name):
    raise _Reject("non-finite number", name)


def _finite_float(text):
    v = float(text)
    if not math.isfinite(v):
        raise _Reject("non-finite number", "%s overflows a double" % text)
    return v


def _decode_json(data):
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise WrapperError("decode_error", "input is not valid UTF-8",
                           "at byte %d" % e.start) from None
    try:
        value = mvm_json.loads(text, object_pairs_hook=_pairs_hook,
                               parse_constant=_reject_constant,
                               parse_float=_finite_float)
    except _Reject as e:
        raise WrapperError("decode_error", e.message, e.detail) from None
    except RecursionError:
        raise WrapperError("decode_error", "nesting deeper than %d" % MAX_DEPTH) from None
    except ValueError as e:
        if hasattr(e, "lineno"):  # mvm_json.DecodeError or json.JSONDecodeError
            raise WrapperError("decode_error", "malformed JSON: %s at line %d column %d"
                               % (e.msg, e.lineno, e.colno)) from None
        # e.g. an integer with too many digits
        raise WrapperError("decode_error", "malformed JSON number", str(e)) from None
    check_value(value, "decode_error", "json")
    return value


def _reject_ext(code, data):
    raise _Reject("msgpack extension types are not accepted", "ext type %d" % code)


def _decode_msgpack(data):
    import msgpack

    try:
        value = msgpack.unpackb(data, raw=False, strict_map_key=True,
                                object_pairs_hook=_pairs_hook, ext_hook=_reject_ext,
                                use_list=True)
    except _Reject as e:
        raise WrapperError("decode_error", e.message, e.detail) from None
    except msgpack.StackError:
        raise WrapperError("decode_error", "nesting deeper than %d" % MAX_DEPTH) from None
    except msgpack.ExtraData:
        raise WrapperError("decode_error", "malformed msgpack: trailing bytes") from None
    except UnicodeDecodeError as e:
        raise WrapperError("decode_error", "msgpack string is not valid UTF-8",
                           "at byte %d of the string" % e.start) from None
    except (ValueError, TypeError) as e:  # FormatError, incomplete input, ...
        raise WrapperError("decode_error", "malformed msgpack",
                           "%s: %s" % (type(e).__name__, e)) from None
    check_value(value, "decode_error", "msgpack")
    return value


def decode_call(fmt, data):
    """Decode the [args, kwargs] payload; return (args list, kwargs dict)."""
    if len(data) > MAX_PAYLOAD:
        raise WrapperError("payload_too_large", "input is larger than %d bytes" % MAX_PAYLOAD)
    value = _decode_json(data) if fmt == "json" else _decode_msgpack(data)
    if not (isinstance(value, list) and len(value) == 2
            and isinstance(value[0], list) and isinstance(value[1], dict)):
        raise WrapperError("decode_error",
                           "payload must be a 2-element array [args, kwargs]")
    return value[0], value[1]


def check_value(value, kind, fmt):
    """Walk a value: containers nested at most MAX_DEPTH, finite floats,
    string map keys, valid Unicode strings (no lone surrogates), and only
    the data model's types (PROTOCOL.md).  Raises WrapperError(kind)."""
    binary = (bytes, bytearray) if fmt == "msgpack" else ()
    stack = [(value, 0)]
    while stack:
        v, depth = stack.pop()
        if v is None or v is True or v is False:
            continue
        if isinstance(v, str):
            _check_str(v, kind)
        elif isinstance(v, int):
            continue
        elif isinstance(v, float):
            if not math.isfinite(v):
                raise WrapperError(kind, "non-finite number", repr(v))
        elif isinstance(v, (list, tuple)):
            if depth + 1 > MAX_DEPTH:
                raise WrapperError(kind, "nesting deeper than %d" % MAX_DEPTH)
            stack.extend((x, depth + 1) for x in v)
        elif isinstance(v, dict):
            if depth + 1 > MAX_DEPTH:
                raise WrapperError(kind, "nesting deeper than %d" % MAX_DEPTH)
            for k, x in v.items():
                if not isinstance(k, str):
                    raise WrapperError(kind, "map key is not a string",
                                       "key of type %s" % type(k).__name__)
                _check_str(k, kind)
                stack.append((x, depth + 1))
        elif binary and isinstance(v, binary):
            continue
        else:
            raise WrapperError(kind, "value of type %s is not in the data model"
                               % type(v).__name__)


def _check_str(s, kind):
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        raise WrapperError(kind, "string with a lone surrogate") from None


def encode_result(fmt, value):
    """Encode a return value; raise WrapperError(encode_error|result_too_large)."""
    check_value(value, "encode_error", fmt)
    try:
        if fmt == "json":
            out = mvm_json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
        else:
            import msgpack
            out = msgpack.packb(value, use_bin_type=True)
    except (ValueError, TypeError, OverflowError) as e:
        raise WrapperError("encode_error", "return value cannot be encoded as " + fmt,
                           "%s: %s" % (type(e).__name__, e)) from None
    if len(out) > MAX_PAYLOAD:
        raise WrapperError("result_too_large",
                           "encoded result is larger than %d bytes" % MAX_PAYLOAD)
    return out


# ---------------------------------------------------------------- schemas
#
# args_schema / return_schema (PROTOCOL.md section 5): the JSON Schema
# 2020-12 subset ir-lower(1) lets through -- type, enum, const, properties,
# required, additionalProperties, items, minimum, maximum, minLength,
# maxLength, and annotations that check nothing.  ir-lower refuses every
# other keyword, so none is ever ignored here.


def _type_ok(t, v):
    if t == "null":
        return v is None
    if t == "boolean":
        return isinstance(v, bool)
    if t == "string":
        return isinstance(v, str)
    if t == "array":
        return isinstance(v, (list, tuple))
    if t == "object":
        return isinstance(v, dict)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    return t == "number" or (isinstance(v, int) or v.is_integer())


def _json_equal(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _tok(s):
    return s.replace("~", "~0").replace("/", "~1")


def schema_error(schema, value):
    """The first place value breaks schema: (pointer, safe, reason), or
    None.  safe is the pointer cut before the first member name that came
    from the value rather than from the schema (prod mode shows only
    that)."""
    stack = [(schema, value, "", None)]
    while stack:
        s, v, ptr, safe = stack.pop()
        if s is True:
            continue
        if s is False:
            return ptr, safe, "no value is allowed here"
        t = s.get("type")
        if t is not None:
            ts = [t] if isinstance(t, str) else t
            if not any(_type_ok(x, v) for x in ts):
                return ptr, safe, "not of type %s" % " or ".join(ts)
        if "enum" in s and not any(_json_equal(v, x) for x in s["enum"]):
            return ptr, safe, "not one of the enum values"
        if "const" in s and not _json_equal(v, s["const"]):
            return ptr, safe, "not the const value"
        if isinstance(v, str):
            n = len(v)
            if "minLength" in s and n < s["minLength"]:
                return ptr, safe, "shorter than minLength %d" % s["minLength"]
            if "maxLength" in s and n > s["maxLength"]:
                return ptr, safe, "longer than maxLength %d" % s["maxLength"]
        if _type_ok("number", v):
            if "minimum" in s and v < s["minimum"]:
                return ptr, safe, "below minimum %s" % s["minimum"]
            if "maximum" in s and v > s["maximum"]:
                return ptr, safe, "above maximum %s" % s["maximum"]
        later = []
        if isinstance(v, dict):
            for k in s.get("required", ()):
                if k not in v:
                    return ptr, safe, "missing required member %s" % mvm_json.dumps(k)
            props = s.get("properties", {})
            extra = s.get("additionalProperties", True)
            for k in sorted(v):
                if k in props:
                    later.append((props[k], v[k], ptr + "/" + _tok(k), safe))
                elif extra is False:
                    return ptr, safe, "a member the schema does not declare"
                else:
                    later.append((extra, v[k], ptr + "/" + _tok(k), ptr if safe is None else safe))
        elif isinstance(v, (list, tuple)) and "items" in s:
            for i, x in enumerate(v):
                later.append((s["items"], x, "%s/%d" % (ptr, i), safe))
        stack.extend(reversed(later))
    return None


def _schema_check(cfg, key, value, kind, what):
    schema = cfg.get(key)
    if schema is None:
        return
    found = schema_error(schema, value)
    if found is None:
        return
    ptr, safe, reason = found
    shown = ptr if safe is None else safe + " (inside a member the schema does not name)"
    raise WrapperError(kind, "%s %s at %s: %s" % (what, key, shown or "(root)", reason),
                       "at %s" % (ptr or "(root)"))


def check_args(cfg, args, kwargs):
    """args_schema describes the keyword arguments as one object; under
    it a call with positional arguments is bad_input.  Checked before the
    module is imported."""
    if "args_schema" not in cfg:
        return
    if args:
        raise WrapperError("bad_input", "the call has positional arguments, which args_schema "
                           "does not describe")
    _schema_check(cfg, "args_schema", kwargs, "bad_input", "the arguments do not match")


def check_result(cfg, value):
    """return_schema describes the return value; checked before encoding."""
    _schema_check(cfg, "return_schema", value, "bad_output", "the result does not match")
