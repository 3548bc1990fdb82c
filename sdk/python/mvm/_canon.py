"""RFC 8785 (JCS) canonical JSON, standard library only.

json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False) is
RFC 8785 only for ASCII keys and integers; this module also sorts keys by
UTF-16 code units and writes floats as ECMAScript's Number::toString does.
"""

import decimal
import json
import math

__all__ = ["canonical", "CanonError"]


class CanonError(ValueError):
    """A value that has no RFC 8785 form (NaN, Infinity, a lone surrogate,
    a non-string key, a type JSON does not have)."""


def _key(s):
    return s.encode("utf-16-be", "surrogatepass")


def _string(s, where):
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        raise CanonError("%s: string contains a lone surrogate" % (where or "/"))
    # json.dumps escapes exactly what RFC 8785 escapes when ensure_ascii
    # is off: '"', '\\', and U+0000..U+001F (\b \t \n \f \r short forms,
    # the rest as \u00xx with lowercase hex).
    return json.dumps(s, ensure_ascii=False)


def _number(x, where):
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        if abs(x) > 2**53 - 1:
            # Beyond 2^53 an integer is not exact in IEEE-754 doubles; write
            # the double it reads as, as RFC 8785 does.
            return _number(float(x), where)
        return str(x)
    if not math.isfinite(x):
        raise CanonError("%s: %r has no JSON form" % (where or "/", x))
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    # repr() is the shortest string that reads back as the same double.
    t = decimal.Decimal(repr(abs(x))).normalize().as_tuple()
    digits = "".join(map(str, t.digits))
    k = len(digits)
    n = t.exponent + k          # value = 0.digits * 10^n
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    m = digits[0] + ("." + digits[1:] if k > 1 else "")
    return sign + m + "e" + ("+" if e > 0 else "-") + str(abs(e))


def _write(v, out, where):
    if v is None:
        out.append("null")
    elif v is True:
        out.append("true")
    elif v is False:
        out.append("false")
    elif isinstance(v, (int, float)):
        out.append(_number(v, where))
    elif isinstance(v, str):
        out.append(_string(v, where))
    elif isinstance(v, (list, tuple)):
        out.append("[")
        for i, x in enumerate(v):
            if i:
                out.append(",")
            _write(x, out, "%s/%d" % (where, i))
        out.append("]")
    elif isinstance(v, dict):
        for k in v:
            if not isinstance(k, str):
                raise CanonError("%s: member name %r is not a string" % (where or "/", k))
        out.append("{")
        for i, k in enumerate(sorted(v, key=_key)):
            if i:
                out.append(",")
            out.append(_string(k, where))
            out.append(":")
            _write(v[k], out, where + "/" + k.replace("~", "~0").replace("/", "~1"))
        out.append("}")
    else:
        raise CanonError("%s: a %s has no JSON form" % (where or "/", type(v).__name__))


def canonical(value):
    """The RFC 8785 canonical bytes (UTF-8) of a JSON-like value."""
    out = []
    _write(value, out, "")
    return "".join(out).encode("utf-8")
