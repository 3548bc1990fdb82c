"""Is a dependency lockfile hash-pinned?  The rules of ir-validate(1).

A port of lib/lock*.c (and of lib/irrules.c's messages), kept in step with
it: the same verdicts and details on the same files (t/lockfile-agree.bats
runs both on the same lockfiles).  Among them: the lockfile path is
resolved inside the source directory (absolute, "..", or a symlink leaving
it: refused, never read); a uv.lock sdist that carries only its hash is an
artifact; an npm v3 entry needs integrity, and a version when it has no
resolved URL; a pip file's -r/-c includes are checked through.
"""

import json
import os
import stat

PINNED, UNPINNED, NOT_FOUND, OUTSIDE = 0, 1, 2, 3

_NAME = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-@/+:=<>!~^ \",")
_HEX = set("0123456789abcdefABCDEF")
_B64 = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


class _Unpinned(Exception):
    pass


def _nm(s, size=128):
    """Up to 80 characters of a name, nothing after the first character
    that is not one of a name's (no free text of the file is quoted)."""
    k = 0
    while k < len(s) and k < 80 and s[k] in _NAME:
        k += 1
    return (s[:k] + ("..." if len(s) > k else ""))[:size - 1]


def _lines(text):
    out = text.split("\n")
    if out and out[-1] == "" and text.endswith("\n"):
        out.pop()
    return [x[:-1] if x.endswith("\r") else x for x in out] if text else []


def _hex(s, n):
    return len(s) >= n and all(c in _HEX for c in s[:n])


def _indent(s):
    return len(s) - len(s.lstrip(" "))


def _b64(s, want):
    return len(s) == want and all(c in _B64 or (c == "=" and i >= want - 2)
                                  for i, c in enumerate(s))


_SRI_OK, _SRI_BAD, _SRI_WEAK = 0, 1, 2


def _sri(s):
    weak = anything = False
    for tok in s.split(" "):
        q = tok.find("?")
        if q >= 0:
            tok = tok[:q]
        if not tok:
            continue
        anything = True
        if ((tok.startswith("sha512-") and _b64(tok[7:], 88)) or
                (tok.startswith("sha384-") and _b64(tok[7:], 64)) or
                (tok.startswith("sha256-") and _b64(tok[7:], 44))):
            return _SRI_OK
        if tok.startswith("sha1-") and _b64(tok[5:], 28):
            weak = True
    return _SRI_WEAK if anything and weak else _SRI_BAD


# ---- uv.lock ----

def _uv_artifacts(s, st):
    i = 0
    while i < len(s):
        o = s.find("{", i)
        if o < 0:
            return
        c = s.find("}", o)
        seg = s[o:c] if c >= 0 else s[o:]
        if any(k in seg for k in ("url =", "url=", "path =", "path=", "filename =", "hash =",
                                  "hash=")):
            st[0] += 1
            h, skip = seg.find('hash = "sha256:'), 15
            if h < 0:
                h, skip = seg.find('hash="sha256:'), 13
            if h >= 0 and len(seg) - h >= skip + 65 and _hex(seg[h + skip:], 64) and \
                    seg[h + skip + 64] == '"':
                st[1] += 1
        i = c + 1 if c >= 0 else len(s)


def _uv(text):
    total = bad = 0
    first = name = ""
    in_pkg = local = git_ok = is_git = in_wheels = False
    arts = [0, 0]

    def end():
        nonlocal total, bad, first
        if in_pkg:
            total += 1
            ok = local or (git_ok if is_git else (arts[0] > 0 and arts[1] == arts[0]))
            if not ok:
                if bad == 0:
                    first = name or "?"
                bad += 1

    for s in _lines(text):
        t = s.strip(" \t")
        if t == "[[package]]":
            end()
            in_pkg, local, git_ok, is_git, in_wheels = True, False, False, False, False
            arts = [0, 0]
            name = ""
            continue
        if not in_pkg:
            continue
        if in_wheels:
            _uv_artifacts(t, arts)
            if t.startswith("]"):
                in_wheels = False
            continue
        if s.startswith("["):
            if not t.startswith("[package."):
                end()
                in_pkg = False
            continue
        if t.startswith('name = "') and not name:
            q = t.find('"', 8)
            name = _nm(t[8:q] if q >= 0 else t[8:])
        elif t.startswith("source = {") or t.startswith("source={"):
            if "editable" in t or "virtual" in t or "directory" in t:
                local = True
            g = t.find('git = "')
            if g >= 0:
                is_git = True
                h = t.find("#", g)
                if h >= 0 and len(t) - h >= 41 and _hex(t[h + 1:], 40):
                    git_ok = True
        elif t.startswith("sdist = ") or t.startswith("sdist="):
            _uv_artifacts(t, arts)
        elif t.startswith("wheels = [") or t.startswith("wheels=["):
            _uv_artifacts(t, arts)
            in_wheels = "]" not in t
    end()
    if total == 0:
        return "no [[package]] blocks found — is this a uv.lock?"
    if bad:
        return "%d/%d packages missing a sha256 hash (first: %s)" % (bad, total, first)
    return None


# ---- requirements.txt ----

def _req_hash_ok(s):
    p = 0
    while True:
        p = s.find("--hash", p)
        if p < 0:
            return False
        p += 6
        if p < len(s) and s[p] in "= ":
            p += 1
            while p < len(s) and s[p] == " ":
                p += 1
            rest = s[p:]
            k = 64 if rest.startswith("sha256:") else 96 if rest.startswith("sha384:") else \
                128 if rest.startswith("sha512:") else 0
            if k and len(rest) >= 7 + k and _hex(rest[7:], k) and \
                    (len(rest) == 7 + k or rest[7 + k] in " \t"):
                return True


class _PipStat:
    def __init__(self, root):
        self.total = self.nohash = self.nopin = self.depth = 0
        self.editable = False
        self.first = self.firstpin = self.why = ""
        self.root = root


def _pip_include(t):
    for o in ("--requirement", "--constraint", "-r", "-c"):
        if not t.startswith(o):
            continue
        v = t[len(o):]
        if len(o) > 2 and v and v[0] not in " \t=":
            continue
        if v.startswith("="):
            v = v[1:]
        return v.strip(" \t")
    return None


def _inside(root, path):
    """(PINNED, real path), (OUTSIDE, None) or (NOT_FOUND, None)."""
    rp = os.path.realpath(path)
    if not os.path.exists(rp):
        return NOT_FOUND, None
    if not (rp.startswith(root) and (rp[len(root):len(root) + 1] == "/" or root == "/")):
        return OUTSIDE, None
    if not os.path.isfile(rp):
        return NOT_FOUND, None
    return PINNED, rp


def _read_regular(path):
    """The bytes of a regular file (not through a final symlink), or None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        chunks = []
        while True:
            b = os.read(fd, 1 << 16)
            if not b:
                return b"".join(chunks)
            chunks.append(b)
    finally:
        os.close(fd)


def _pip_check_include(t, f, d, st):
    if st.why:
        return
    what = _nm(t)
    if st.root is None:
        st.why = "the include (%s) cannot be checked here" % what
    elif st.depth >= 8:
        st.why = "includes nest deeper than 8 (at %s)" % what
    elif not f or "\0" in f or "://" in f:
        st.why = "the include (%s) is not a file of the source tree" % what
    else:
        r, rp = _inside(st.root, f if f.startswith("/") else d + "/" + f)
        if r == OUTSIDE:
            st.why = "the include (%s) is outside the source directory; it was not read" % what
        elif r == NOT_FOUND:
            st.why = "the include (%s) is not a regular file" % what
        else:
            st.depth += 1
            _pip_file(rp, st)
            st.depth -= 1


def _pip_file(path, st):
    data = _read_regular(path)
    if data is None:
        st.why = "an included file is not a regular file"
        return
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is None or "\0" in text:
        st.why = "an included file is not valid UTF-8 text"
        return
    _pip_count(text, os.path.dirname(path) or ".", st)


def _pip_count(text, d, st):
    lines, i, logical, cont = _lines(text), 0, "", False
    while True:
        more = i < len(lines)
        if more:
            t = lines[i].strip(" \t")
            i += 1
            if not cont and (not t or t[0] == "#"):
                continue
            for j in range(1, len(t)):
                if t[j] == "#" and t[j - 1] in " \t":
                    t = t[:j].strip(" \t")
                    break
            bs = t.endswith("\\")
            if bs:
                t = t[:-1]
            logical += t + " "
            cont = bs
            if cont:
                continue
        elif not logical:
            break
        t = logical.strip(" \t")
        f = _pip_include(t) if t else None
        if t and (t.startswith("-e ") or t.startswith("-e\t") or t.startswith("--editable")):
            st.editable = True
            st.total += 1
            st.nohash += 1
            if not st.first:
                st.first = _nm(t)
        elif t and f is not None:
            _pip_check_include(t, f, d, st)
        elif t and t[0] != "-":
            k = 0
            while k < len(t) and t[k] not in " ;":
                k += 1
            st.total += 1
            if not _req_hash_ok(t):
                if st.nohash == 0:
                    st.first = _nm(t[:k])
                st.nohash += 1
            if "==" not in t and " @ " not in t:
                if st.nopin == 0:
                    st.firstpin = _nm(t[:k])
                st.nopin += 1
        logical = ""
        if not more:
            break


def _pip_verdict(st):
    if st.why:
        return st.why
    if st.total == 0:
        return "no requirements found in lockfile"
    if st.editable:
        return ("an editable requirement (%s) cannot be hash-pinned: it names a source tree, "
                "which would have to be built on the host" % st.first)
    if st.nohash:
        return "%d/%d requirements missing --hash=sha256: (first: %s)" % (
            st.nohash, st.total, st.first)
    if st.nopin:
        return "%d/%d requirements not pinned with == (first: %s)" % (
            st.nopin, st.total, st.firstpin)
    return None


def _pip_tools(text):
    st = _PipStat(None)
    _pip_count(text, None, st)
    return _pip_verdict(st)


# ---- pnpm-lock.yaml (v6 to v9) ----

def _yaml_val(s, key):
    p, k = 0, len(key)
    while True:
        p = s.find(key, p)
        if p < 0:
            return None
        if (p == 0 or s[p - 1] in "{, \n") and len(s) - p > k and s[p + k] == ":":
            v = p + k + 1
            while v < len(s) and s[v] == " ":
                v += 1
            q = s[v] if v < len(s) and s[v] in "'\"" else None
            if q:
                v += 1
            e = v
            while e < len(s) and s[e] != "\n" and (s[e] != q if q else s[e] not in ",}"):
                e += 1
            while not q and e > v and s[e - 1] == " ":
                e -= 1
            return s[v:e]
        p += k


def _pnpm(text):
    lines = _lines(text)
    ver = None
    for s in lines:
        if s.startswith("lockfileVersion:"):
            ver = s[16:].strip(" \t")
    if ver is None:
        return "missing lockfileVersion — is this a pnpm-lock.yaml?"
    if len(ver) >= 2 and ver[0] in "'\"":
        ver = ver[1:-1]
    if not (ver and "6" <= ver[0] <= "9" and (len(ver) == 1 or ver[1] == ".")):
        return "lockfileVersion %s is not supported (pnpm v6 to v9 lockfiles are)" % _nm(ver, 64)
    total = bad = 0
    first = why = ""
    in_pkgs = in_res = False
    res_indent = 0
    entry, res = None, ""

    def end():
        nonlocal total, bad, first, why, entry
        if entry is None:
            return
        integ, commit = _yaml_val(res, "integrity"), _yaml_val(res, "commit")
        typ = _yaml_val(res, "type")
        ok = (integ is not None and _sri(integ) == _SRI_OK) or \
            (typ == "git" and commit is not None and len(commit) == 40 and _hex(commit, 40)) or \
            typ == "directory"
        total += 1
        if not ok:
            if bad == 0:
                first = _nm(entry)
                why = "weak sha1 integrity" if integ is not None and \
                    _sri(integ) == _SRI_WEAK else "no integrity" if res else "no resolution"
            bad += 1
        entry = None

    for s in lines:
        ind = _indent(s)
        t = s.strip(" \t")
        if not t or t[0] == "#":
            continue
        if ind == 0:
            end()
            in_pkgs = s.startswith("packages:")
            continue
        if not in_pkgs:
            continue
        if ind == 2:
            end()
            colon = len(t)
            for i in range(len(t)):
                if t[i] == ":" and (i + 1 == len(t) or t[i + 1] == " "):
                    colon = i
                    if t[0] not in "'\"":
                        break
            entry = t[:colon]
            if len(entry) >= 2 and t[0] in "'\"":
                entry = entry[1:-1]
            res, in_res = "", False
            r = t.find("resolution:")
            if r >= 0:
                res += t[r + 11:]
            continue
        if entry is None:
            continue
        if in_res and ind > res_indent:
            res += t + "\n"
            continue
        in_res = False
        if t.startswith("resolution:"):
            v = t[11:].strip(" \t")
            if v:
                res += v
            else:
                in_res, res_indent = True, ind
    end()
    if total == 0:
        return "no packages found in pnpm-lock.yaml"
    if bad:
        return "%d/%d pnpm packages missing integrity (first: %s, %s)" % (bad, total, first, why)
    return None


# ---- package-lock.json v3 ----

def _npm(text):
    try:
        d = json.loads(text)
    except ValueError as e:
        return "not valid JSON: %s" % e
    v = d.get("lockfileVersion") if isinstance(d, dict) else None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != 3:
        got = "none" if not isinstance(d, dict) or "lockfileVersion" not in d else \
            json.dumps(v, separators=(",", ":"), sort_keys=True, ensure_ascii=False)[:40]
        return ("package-lock.json must be lockfileVersion 3 (got %s); regenerate with "
                "`npm install`" % got)
    pk = d.get("packages")
    if not isinstance(pk, dict):
        return "missing or non-object `packages` field"
    total = bad = 0
    first = why = ""
    for key, e in pk.items():
        if not key or not (key.startswith("node_modules/") or "/node_modules/" in key):
            continue
        total += 1
        w = None
        if not isinstance(e, dict):
            w = "not an object"
        elif e.get("link") is True or e.get("inBundle") is True:
            continue
        else:
            integ = e.get("integrity")
            integ = integ if isinstance(integ, str) else None
            sc = _sri(integ) if integ is not None else _SRI_BAD
            if integ is None:
                w = "no integrity"
            elif sc == _SRI_WEAK:
                w = "weak sha1 integrity"
            elif sc != _SRI_OK:
                w = "malformed integrity"
            elif "resolved" not in e and not isinstance(e.get("version"), str):
                w = "no resolved URL and no version to fetch it by"
            elif "resolved" in e:
                r = e["resolved"]
                if not isinstance(r, str) or not (r.startswith("https://") or
                                                  r.startswith("file:")):
                    w = "resolved is not an https: or file: URL"
        if w:
            if bad == 0:
                first, why = _nm(key), w
            bad += 1
    if total == 0:
        return "no vendored packages found"
    if bad:
        return "%d/%d npm packages not pinned (first: %s, %s)" % (bad, total, first, why)
    return None


# ---- yarn.lock (classic v1) ----

def _yarn(text):
    total = bad = 0
    header = in_entry = integ = weak = resolved_bad = False
    first = cur = why = ""

    def end():
        nonlocal total, bad, first, why
        if in_entry:
            total += 1
            if not integ or resolved_bad:
                if bad == 0:
                    first = cur
                    why = "resolved is not an https: or file: URL" if resolved_bad else \
                        "weak sha1 integrity" if weak else "no integrity"
                bad += 1

    for s in _lines(text):
        if s.startswith("# yarn lockfile v1"):
            header = True
        t = s.strip(" \t")
        if not t or t[0] == "#":
            continue
        if _indent(s) == 0:
            end()
            in_entry, integ, weak, resolved_bad = True, False, False, False
            cur = _nm(t[:-1] if t.endswith(":") else t)
            continue
        if not in_entry:
            continue
        if t.startswith("integrity "):
            v = t[10:].strip(" \t")
            if len(v) >= 2 and v[0] == '"' and v[-1] == '"':
                v = v[1:-1]
            sc = _sri(v)
            if sc == _SRI_OK:
                integ = True
            elif sc == _SRI_WEAK:
                weak = True
        elif t.startswith("resolved "):
            v = t[9:].strip(" \t")
            if v.startswith('"'):
                v = v[1:]
            if not (v.startswith("https://") or v.startswith("file:")):
                resolved_bad = True
    end()
    if not header:
        return ('missing "# yarn lockfile v1" header — not recognized as a Yarn classic '
                'lockfile')
    if total == 0:
        return "no entries found in yarn.lock"
    if bad:
        return "%d/%d yarn entries not pinned (first: %s, %s)" % (bad, total, first, why)
    return None


_TOOLS = {"uv": _uv, "pip_tools": _pip_tools, "pnpm": _pnpm, "npm": _npm, "yarn": _yarn}


def _resolve(srcdir, lock):
    """lockfile_resolve(): (PINNED, real path, real srcdir), or (OUTSIDE or
    NOT_FOUND, None, None).  Nothing is read."""
    if not lock or lock.startswith("/") or ".." in lock.split("/"):
        return OUTSIDE, None, None
    root = os.path.realpath(srcdir)
    if not os.path.exists(root):
        return NOT_FOUND, None, None
    r, rp = _inside(root, root + "/" + lock)
    return r, rp, root


def verdict(tool, srcdir, lock):
    """(PINNED, None), (UNPINNED, detail), (NOT_FOUND, None) or (OUTSIDE, None)."""
    r, path, root = _resolve(srcdir, lock)
    if r != PINNED:
        return r, None
    data = _read_regular(path)
    if data is None:
        return NOT_FOUND, None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return UNPINNED, "lockfile is not valid UTF-8"
    if "\0" in text:
        return UNPINNED, "lockfile contains a NUL byte"
    if tool == "pip_tools":
        st = _PipStat(root)
        _pip_count(text, os.path.dirname(path), st)
        detail = _pip_verdict(st)
    else:
        detail = _TOOLS[tool](text)
    return (UNPINNED, detail) if detail else (PINNED, None)


def check(tool, srcdir, lock):
    """None when pinned, else (code, detail) as ir-validate says it.  srcdir
    is the app's source directory (the IR's base directory joined with
    source.path), lock the IR's dependencies.lockfile."""
    if tool not in _TOOLS:
        return None
    r, detail = verdict(tool, srcdir, lock)
    if r == NOT_FOUND:
        return ("E_LOCKFILE_NOT_FOUND", "dependency lockfile not found: %s/%s" % (srcdir, lock))
    if r == OUTSIDE:
        return ("E_LOCKFILE_NOT_FOUND",
                "dependency lockfile %s is outside the source directory %s (absolute, \"..\", "
                "or a symlink leaving it); it was not read" % (lock, srcdir))
    if r == UNPINNED:
        return ("E_UNPINNED_DEPS", "lockfile %s/%s is not hash-pinned: %s" % (srcdir, lock,
                                                                               detail))
    return None
