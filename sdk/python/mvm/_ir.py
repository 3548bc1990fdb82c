"""The IR model, walked: normalization and the built-in checks.

Everything about field names, required fields, defaults and enum values
comes from _model.MODEL, which tools/gen-sdk-models.py generates from
schemas/workload.schema.json.  The semantic rules mirror ir-validate(1);
when ir-validate is on PATH the SDK runs it instead (see _emit.py).
"""

import os
import re

from ._model import MODEL

SHAPES = MODEL["shapes"]
_ID = re.compile(r"[a-z][a-z0-9-]{0,62}\Z")
_ENVNAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_SHELLS = {"sh", "bash", "dash", "ash", "hush", "zsh", "ksh", "ksh93", "mksh", "pdksh",
           "oksh", "yash", "csh", "tcsh", "fish", "rbash", "posh"}


def resolve(shape):
    while shape.get("type") == "ref":
        shape = SHAPES[shape["name"]]
    return shape


def ptr_push(ptr, tok):
    return ptr + "/" + str(tok).replace("~", "~0").replace("/", "~1")


# ---- normalization ----

def normalize(value, shape=None):
    """Drop absent (None) fields and optional fields equal to their
    default; fill fields the model always writes.  Unknown fields are
    kept, for the checks to report."""
    if shape is None:
        shape = SHAPES[MODEL["root"]]
    shape = resolve(shape)
    t = shape["type"]
    if t == "struct" and isinstance(value, dict):
        return _norm_fields(value, shape["fields"], None)
    if t == "tagged" and isinstance(value, dict):
        fields = shape["variants"].get(value.get(shape["tag"]))
        if fields is None:
            return dict(value)
        return _norm_fields(value, fields, shape["tag"])
    if t == "one_of":
        for opt in shape["options"]:
            o = resolve(opt)
            if (o["type"] == "enum" and isinstance(value, str)) or \
               (o["type"] in ("struct", "tagged") and isinstance(value, dict)):
                return normalize(value, o)
        return value
    if t == "array" and isinstance(value, (list, tuple)):
        return [normalize(x, shape["items"]) for x in value]
    if t == "map" and isinstance(value, dict):
        return {k: normalize(v, shape["values"]) for k, v in value.items()}
    if isinstance(value, tuple):
        return list(value)
    return value


def _norm_fields(obj, fields, tag):
    out = {}
    if tag is not None:
        out[tag] = obj[tag]
    known = {f["name"]: f for f in fields}
    for k, v in obj.items():
        if k == tag:
            continue
        f = known.get(k)
        if f is None:
            out[k] = v
            continue
        if v is None and f["presence"] != "required":
            continue
        v = normalize(v, f["shape"])
        if f["presence"] == "optional" and "default" in f and v == f["default"]:
            continue
        out[k] = v
    for f in fields:
        if f["presence"] == "always" and f["name"] not in out and "default" in f:
            out[f["name"]] = f["default"]
    return out


# ---- structural checks ----

def _tname(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, (list, tuple)):
        return "array"
    if isinstance(v, dict):
        return "object"
    return type(v).__name__


class _Ctx:
    def __init__(self, languages=None, secret_tokens=None, base_dir=None):
        self.errors = []
        self.languages = MODEL["languages"] if languages is None else languages
        self.secret_tokens = MODEL["secret_tokens"] if secret_tokens is None else secret_tokens
        self.base_dir = base_dir

    def add(self, code, ptr, detail):
        self.errors.append((code, ptr, detail))


def _check(c, v, shape, ptr):
    shape = resolve(shape)
    t = shape["type"]
    if t == "any":
        return
    if t == "object":
        if not isinstance(v, dict):
            c.add("E_MALFORMED_MANIFEST", ptr, "expected object, found %s" % _tname(v))
    elif t == "string":
        if not isinstance(v, str):
            c.add("E_MALFORMED_MANIFEST", ptr, "expected string, found %s" % _tname(v))
        elif len(v) < shape.get("min_length", 0):
            c.add("E_MALFORMED_MANIFEST", ptr, "must not be empty")
        elif "pattern" in shape and not re.search(shape["pattern"], v):
            c.add("E_MALFORMED_MANIFEST", ptr, "%r does not match %s" % (v, shape["pattern"]))
    elif t == "boolean":
        if not isinstance(v, bool):
            c.add("E_MALFORMED_MANIFEST", ptr, "expected boolean, found %s" % _tname(v))
    elif t == "integer":
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v != int(v):
            c.add("E_MALFORMED_MANIFEST", ptr, "expected integer, found %s" % _tname(v))
        elif not shape.get("minimum", v) <= v <= shape.get("maximum", v):
            c.add("E_MALFORMED_MANIFEST", ptr, "expected an integer from %d to %d, found %s"
                  % (shape["minimum"], shape["maximum"], v))
    elif t == "enum":
        if not isinstance(v, str):
            c.add("E_MALFORMED_MANIFEST", ptr, "expected string, found %s" % _tname(v))
        elif v not in shape["values"]:
            c.add("E_MALFORMED_MANIFEST", ptr, "expected one of: %s; found %r"
                  % (", ".join(shape["values"]), v))
    elif t == "array":
        if not isinstance(v, (list, tuple)):
            c.add("E_MALFORMED_MANIFEST", ptr, "expected array, found %s" % _tname(v))
            return
        if len(v) < shape.get("min_items", 0):
            c.add("E_MALFORMED_MANIFEST", ptr, "must not be empty")
        for i, x in enumerate(v):
            _check(c, x, shape["items"], ptr_push(ptr, i))
    elif t == "map":
        if not isinstance(v, dict):
            c.add("E_MALFORMED_MANIFEST", ptr, "expected object, found %s" % _tname(v))
            return
        for k, x in v.items():
            if shape.get("key_pattern") and not re.search(shape["key_pattern"], k):
                c.add("E_MALFORMED_MANIFEST", ptr_push(ptr, k),
                      "%r is not an environment variable name" % k)
            _check(c, x, shape["values"], ptr_push(ptr, k))
    elif t == "struct":
        if not isinstance(v, dict):
            c.add("E_MALFORMED_MANIFEST", ptr, "expected object, found %s" % _tname(v))
        else:
            _check_fields(c, v, shape["fields"], None, ptr)
    elif t == "tagged":
        if not isinstance(v, dict):
            c.add("E_MALFORMED_MANIFEST", ptr, "expected object, found %s" % _tname(v))
            return
        tag = shape["tag"]
        names = ", ".join(shape["variants"])
        if tag not in v:
            c.add("E_MALFORMED_MANIFEST", ptr, 'missing required field "%s" (one of: %s)'
                  % (tag, names))
        elif v[tag] not in shape["variants"]:
            c.add("E_MALFORMED_MANIFEST", ptr_push(ptr, tag),
                  "unknown %s %r (expected one of: %s)" % (tag, v[tag], names))
        else:
            _check_fields(c, v, shape["variants"][v[tag]], tag, ptr)
    elif t == "one_of":
        for opt in shape["options"]:
            o = resolve(opt)
            if (o["type"] == "enum" and isinstance(v, str)) or \
               (o["type"] in ("struct", "tagged") and isinstance(v, dict)):
                _check(c, v, o, ptr)
                return
        c.add("E_MALFORMED_MANIFEST", ptr, "expected string or object, found %s" % _tname(v))


def _check_fields(c, obj, fields, tag, ptr):
    known = {f["name"]: f for f in fields}
    for k, v in obj.items():
        if k == tag:
            continue
        f = known.get(k)
        if f is None:
            c.add("E_UNKNOWN_FIELD", ptr_push(ptr, k), "unknown field %r (expected one of: %s)"
                  % (k, ", ".join(known) or "no fields"))
        elif not (v is None and f["presence"] != "required"):
            _check(c, v, f["shape"], ptr_push(ptr, k))
    for f in fields:
        if f["presence"] == "required" and f["name"] not in obj:
            c.add("E_MALFORMED_MANIFEST", ptr, 'missing required field "%s"' % f["name"])


# ---- semantic rules (the subset ir-validate(1) documents; see mvm-emit(1)) ----

def _fold(s):
    """ASCII lowercase, '-' as '_' (how ir-validate compares names)."""
    return "".join(chr(ord(ch) + 32) if "A" <= ch <= "Z" else "_" if ch == "-" else ch
                   for ch in s)


def _secret_name(tokens, name):
    low = _fold(name)
    return any(low == _fold(t) or low.endswith("_" + _fold(t)) for t in tokens)


_SUBS = ("items", "additionalProperties", "not", "if", "then", "else", "contains",
         "unevaluatedItems", "unevaluatedProperties")
_ARRS = ("prefixItems", "oneOf", "anyOf", "allOf")
_MAPS = ("$defs", "definitions", "patternProperties", "dependentSchemas")


def _walk_schema(c, s, ptr):
    if not isinstance(s, dict):
        return
    props = s.get("properties")
    if isinstance(props, dict):
        for k, v in props.items():
            p = ptr_push(ptr_push(ptr, "properties"), k)
            if _secret_name(c.secret_tokens, k):
                c.add("E_SECRET_IN_SCHEMA", p, "property %r looks like a secret; pass secrets "
                      "with a secret_ref, not as an argument or result" % k)
            _walk_schema(c, v, p)
    for a in _SUBS:
        x = s.get(a)
        if isinstance(x, dict):
            _walk_schema(c, x, ptr_push(ptr, a))
        elif isinstance(x, list) and a == "items":
            for i, y in enumerate(x):
                _walk_schema(c, y, ptr_push(ptr_push(ptr, a), i))
    for a in _ARRS:
        x = s.get(a)
        if isinstance(x, list):
            for i, y in enumerate(x):
                _walk_schema(c, y, ptr_push(ptr_push(ptr, a), i))
    for a in _MAPS:
        x = s.get(a)
        if isinstance(x, dict):
            for k, y in x.items():
                _walk_schema(c, y, ptr_push(ptr_push(ptr, a), k))


def _shell_argv(argv):
    if not argv or not isinstance(argv[0], str):
        return False
    i = 0
    base = os.path.basename(argv[0])
    if base == "env":
        i = 1
        while i < len(argv) and isinstance(argv[i], str) and \
                (argv[i].startswith("-") or "=" in argv[i]):
            i += 1
    elif base == "busybox":
        i = 1
    if i >= len(argv) or not isinstance(argv[i], str):
        return False
    return os.path.basename(argv[i]) in _SHELLS


def _wildcard_host(h):
    h = h.strip(" \t")
    if h in ("", "*", "0.0.0.0", "::", "[::]", "0.0.0.0/0", "::/0") or h.endswith("/0"):
        return True
    if h.startswith("*."):
        return "." not in h[2:] or "*" in h[1:]
    return "*" in h


def _env_secrets(c, env, base):
    if not isinstance(env, dict):
        return
    for k, v in env.items():
        ref = v.get("ref") if isinstance(v, dict) else None
        hosts = ref.get("allowed_hosts") if isinstance(ref, dict) else None
        if isinstance(v, dict) and v.get("kind") == "secret_ref" and isinstance(hosts, list) \
                and not hosts:
            c.add("E_SECRET_WITHOUT_BINDING", ptr_push(base + "/env", k),
                  "secret %r has no allowed_hosts: name the hosts it may be sent to" % k)


def _addons(c, app, base):
    addons = app.get("addons")
    if not isinstance(addons, list):
        return
    for i, a in enumerate(addons):
        if not isinstance(a, dict):
            continue
        p = "%s/addons/%d" % (base, i)
        _check_id(c, a.get("name"), p + "/name", "addon name")
        alias = a.get("alias")
        if isinstance(alias, str):
            _check_id(c, alias, p + "/alias", "addon alias")
        for b in addons[:i]:
            if not isinstance(b, dict):
                continue
            ba = b.get("alias")
            if isinstance(a.get("name"), str) and a.get("name") == b.get("name") and \
                    ((not isinstance(alias, str) and not isinstance(ba, str)) or
                     (isinstance(alias, str) and alias == ba)):
                c.add("E_ADDON_ENV_COLLISION", p, "addon %r is attached twice with the same "
                      "alias; give each a distinct alias" % a.get("name"))
                break
        if a.get("tier") == "in_vm":
            c.add("E_ADDON_TIER_NOT_IMPLEMENTED", p + "/tier",
                  'tier "in_vm" is not implemented; use "separate"')
        sha = a.get("sha256")
        if isinstance(sha, str) and not re.match(r"[0-9a-f]{64}\Z", sha):
            c.add("E_ADDON_SHA_MISMATCH", p + "/sha256", "sha256 must be 64 lowercase hex digits")
        ref = a.get("ref")
        if isinstance(ref, dict) and ref.get("kind") == "registry":
            for k in ("url", "version"):
                if ref.get(k) == "":
                    c.add("E_ADDON_NOT_FOUND", p + "/ref/" + k, "registry addon has an empty " + k)
        elif isinstance(ref, dict) and ref.get("kind") == "local" and ref.get("path") == "":
            c.add("E_ADDON_LOCAL_PATH_DRIFT", p + "/ref/path", "local addon has an empty path")


def _check_id(c, v, ptr, what):
    if isinstance(v, str) and not _ID.match(v):
        c.add("E_INVALID_ID", ptr, "%s %r does not match ^[a-z][a-z0-9-]{0,62}$" % (what, v))


def _rules(c, ir):
    sv = ir.get("schema_version")
    if isinstance(sv, str):
        m = re.match(r"(0|[1-9][0-9]{0,9})\.(0|[1-9][0-9]{0,9})\Z", sv)
        major, minor = MODEL["schema_version"].split(".")
        if not m or int(m.group(1)) > 2**32 - 1 or int(m.group(2)) > 2**32 - 1:
            c.add("E_MALFORMED_VERSION", "/schema_version",
                  "schema_version %r is not MAJOR.MINOR (e.g. \"0.1\")" % sv)
        elif int(m.group(1)) != int(major):
            c.add("E_UNSUPPORTED_MAJOR", "/schema_version",
                  "major version %s is not supported" % m.group(1))
        elif int(m.group(2)) > int(minor):
            c.add("E_MINOR_TOO_HIGH", "/schema_version",
                  "minor version %s is newer than this SDK supports (%s)" % (m.group(2), sv))
    _check_id(c, ir.get("id"), "/id", "workload id")
    apps = ir.get("apps")
    if isinstance(apps, list):
        if not apps:
            c.add("E_EMPTY_APPS", "/apps", "a workload needs one app")
        elif len(apps) > 1:
            c.add("E_MULTI_APP_DEFERRED", "/apps", "only one app per workload is supported")
        for i, app in enumerate(apps):
            if isinstance(app, dict):
                _rules_app(c, app, "/apps/%d" % i)
    vols = ir.get("volumes")
    if isinstance(vols, list):
        for i, v in enumerate(vols):
            if isinstance(v, dict) and v.get("persist") is True:
                c.add("E_PERSIST_DEFERRED", "/volumes/%d/persist" % i,
                      "persistent volumes are not supported yet")


def _rules_app(c, app, base):
    _check_id(c, app.get("name"), base + "/name", "app name")
    src = app.get("source")
    if isinstance(src, dict) and src.get("kind") in ("nix_derivation", "oci_image"):
        c.add("E_SOURCE_KIND_DEFERRED", base + "/source/kind",
              "source kind %r is not supported yet; use local_path" % src["kind"])
    _env_secrets(c, app.get("env"), base)
    eps = app.get("entrypoints")
    funcs = []
    if isinstance(eps, list):
        if not eps:
            c.add("E_EMPTY_APPS", base + "/entrypoints", "an app needs an entrypoint")
        funcs = [e for e in eps if isinstance(e, dict) and e.get("kind") == "function"]
        if len(funcs) > 1:
            seen = set()
            for j, f in enumerate(eps):
                if not isinstance(f, dict) or f.get("kind") != "function":
                    continue
                key = (f.get("module"), f.get("function"))
                if isinstance(key[0], str) and isinstance(key[1], str) and key in seen:
                    c.add("E_DUPLICATE_ENTRYPOINT_FUNCTION", "%s/entrypoints/%d" % (base, j),
                          "module %r function %r is declared twice" % key)
                seen.add(key)
            if not any(f.get("primary") is True for f in funcs):
                c.add("E_NO_PRIMARY_ENTRYPOINT", base + "/entrypoints",
                      "several function entrypoints and none is primary")
        if sum(1 for e in funcs if e.get("primary") is True) > 1:
            c.add("E_MULTIPLE_PRIMARY_ENTRYPOINTS", base + "/entrypoints",
                  "more than one entrypoint is primary")
        for j, ep in enumerate(eps):
            if isinstance(ep, dict):
                _rules_ep(c, ep, app, "%s/entrypoints/%d" % (base, j))
    net = app.get("network")
    if isinstance(net, dict):
        if net.get("mode") == "none" and net.get("ports"):
            c.add("E_NETWORK_PORTS_WITH_NONE", base + "/network/ports",
                  "ports are forwarded but network mode is none")
        if funcs and net.get("mode") == "host":
            c.add("E_FUNCTION_NETWORK_HOST_FORBIDDEN", base + "/network/mode",
                  "function workloads cannot use host networking")
        eg = net.get("egress")
        allow = eg.get("allowlist") if isinstance(eg, dict) else None
        for j, r in enumerate(allow if isinstance(allow, list) else []):
            h = r.get("host") if isinstance(r, dict) else None
            if isinstance(h, str) and _wildcard_host(h):
                c.add("E_NETWORK_WILDCARD", "%s/network/egress/allowlist/%d/host" % (base, j),
                      "egress host %r allows everything; name hosts (exact, or *.domain)" % h)
        peers = net.get("peers")
        for j, p in enumerate(peers if isinstance(peers, list) else []):
            _check_id(c, p, "%s/network/peers/%d" % (base, j), "peer")
    deps = app.get("dependencies")
    if deps is None:
        if funcs:
            c.add("E_DEPS_REQUIRED_FOR_FUNCTION_WORKLOAD", base + "/dependencies",
                  "a function app must declare its dependencies (mvm.deps.none() for stdlib only)")
        else:
            c.add("E_MALFORMED_MANIFEST", base + "/dependencies",
                  'missing required field "dependencies" (mvm.deps.none() for none)')
    elif isinstance(deps, dict) and deps.get("kind") in ("python", "node"):
        _rules_lockfile(c, app, deps, base)
    _addons(c, app, base)


def _rules_ep(c, ep, app, p):
    if ep.get("kind") == "command" and isinstance(ep.get("command"), list) and \
            _shell_argv(ep["command"]):
        c.add("E_SHELL_ENTRYPOINT_FORBIDDEN", p + "/command",
              "the command launches a shell; run the program directly")
    if ep.get("kind") == "command":
        _env_secrets(c, ep.get("env"), p)
    if ep.get("kind") != "function":
        return
    lang = ep.get("language")
    if isinstance(lang, str) and lang not in c.languages:
        c.add("E_UNSUPPORTED_LANGUAGE", p + "/language",
              "language %r is not supported (supported: %s)" % (lang, ", ".join(c.languages)))
    for k in ("args_schema", "return_schema"):
        if isinstance(ep.get(k), dict):
            _walk_schema(c, ep.get(k), p + "/" + k)
    conc = ep.get("concurrency")
    if isinstance(conc, dict):
        q = p + "/concurrency"
        ps = conc.get("pool_size")
        if isinstance(ps, int) and not 1 <= ps <= 64:
            c.add("E_INVALID_CONCURRENCY_POOL_SIZE", q + "/pool_size",
                  "pool_size %d is not from 1 to 64" % ps)
        mc = conc.get("max_calls_per_worker")
        if isinstance(mc, int) and mc < 100:
            c.add("E_INVALID_CONCURRENCY_MAX_CALLS_PER_WORKER", q + "/max_calls_per_worker",
                  "max_calls_per_worker %d is below 100" % mc)
        rss = conc.get("max_rss_mb")
        mem = (app.get("resources") or {}).get("memory_mb") \
            if isinstance(app.get("resources"), dict) else None
        if isinstance(rss, int) and isinstance(mem, int) and rss > mem:
            c.add("E_INVALID_CONCURRENCY_MAX_RSS_MB", q + "/max_rss_mb",
                  "max_rss_mb %d exceeds resources.memory_mb %d" % (rss, mem))
        if conc.get("in_process") == "concurrent":
            c.add("E_UNSUPPORTED_CONCURRENCY_IN_PROCESS_MODE", q + "/in_process",
                  "in_process \"concurrent\" is not supported; use \"serial\"")


def _rules_lockfile(c, app, deps, base):
    if c.base_dir is None:
        return
    src = app.get("source")
    lock = deps.get("lockfile")
    if not isinstance(src, dict) or src.get("kind") != "local_path" or not isinstance(lock, str) \
            or not lock or "\0" in lock or not isinstance(src.get("path"), str) \
            or "\0" in src["path"]:
        return
    from ._lockfile import check as lock_check
    path = src["path"]
    srcdir = path if path.startswith("/") else c.base_dir + "/" + path
    res = lock_check(deps.get("tool"), srcdir, lock)
    if res is None:
        return
    code, detail = res
    c.add(code, base + "/dependencies/lockfile", detail)


def check(ir, languages=None, secret_tokens=None, base_dir=None):
    """The built-in checks: a list of (code, pointer, detail), empty if valid."""
    c = _Ctx(languages, secret_tokens, base_dir)
    _check(c, ir, SHAPES[MODEL["root"]], "")
    _rules(c, ir)
    return c.errors
