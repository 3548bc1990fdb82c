"""mvm_json -- JSON for the wrappers: json.loads and json.dumps as
mvm_wrapper_common calls them, made from CPython's _json accelerator
directly.

Why: importing the json package imports re (and through it enum and
functools) and compiles json's regular expressions, all Python code run
once per process.  A cold call is one process, and under TCG (this
project's CI machine) that import was a quarter of a runner's first
start.  The work itself is the same: json.loads and json.dumps call these
same _json functions (the scanner and, with indent None, the encoder);
only json's Python wrapping around them is written again here, and
t/wrappers.bats compares the two on the same inputs, results and errors.

Where _json is missing (another Python) or its signature is not the one
used here, loads and dumps are json's own.
"""

_WS = " \t\n\r"


class DecodeError(ValueError):
    """json.JSONDecodeError's fields: msg, doc, pos, lineno, colno."""

    def __init__(self, msg, doc, pos):
        lineno = doc.count("\n", 0, pos) + 1
        colno = pos - doc.rfind("\n", 0, pos)
        ValueError.__init__(self, "%s: line %d column %d (char %d)" % (msg, lineno, colno, pos))
        self.msg = msg
        self.doc = doc
        self.pos = pos
        self.lineno = lineno
        self.colno = colno


class _Context:
    """What _json.make_scanner reads from a JSONDecoder."""

    strict = True
    object_hook = None

    def __init__(self, object_pairs_hook, parse_float, parse_int, parse_constant):
        self.object_pairs_hook = object_pairs_hook
        self.parse_float = parse_float
        self.parse_int = parse_int
        self.parse_constant = parse_constant


def _skip_ws(s, i):
    n = len(s)
    while i < n and s[i] in _WS:
        i += 1
    return i


def _default(o):
    raise TypeError("Object of type %s is not JSON serializable" % o.__class__.__name__)


try:
    from _json import (make_scanner as _make_scanner, make_encoder as _make_encoder,
                       encode_basestring as _enc_str, encode_basestring_ascii as _enc_ascii)
    # the signatures used below (CPython 3.x); else json's own
    _make_encoder({}, _default, _enc_str, None, ":", ",", False, False, True)
    _make_scanner(_Context(None, float, int, None))
except (ImportError, TypeError, AttributeError):
    _make_scanner = None


def loads(s, object_pairs_hook=None, parse_float=float, parse_constant=None):
    """json.loads(s, object_pairs_hook=..., parse_float=..., parse_constant=...)
    for a str s.  Errors: DecodeError or json.JSONDecodeError (what _json
    raises inside the text), both with msg, lineno and colno;
    whatever the hooks raise; ValueError for an over-long integer;
    RecursionError for deep nesting."""
    if _make_scanner is None:
        import json
        return json.loads(s, object_pairs_hook=object_pairs_hook, parse_float=parse_float,
                          parse_constant=parse_constant)
    if s.startswith("\ufeff"):
        raise DecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", s, 0)
    scan = _make_scanner(_Context(object_pairs_hook, parse_float, int,
                                  parse_constant or _CONSTANTS.__getitem__))
    try:
        obj, end = scan(s, _skip_ws(s, 0))
    except StopIteration as err:
        raise DecodeError("Expecting value", s, err.value) from None
    except SystemError:
        # _json raises an error inside the text as json.decoder's
        # JSONDecodeError, which CPython 3.11 looks up in sys.modules
        # without importing it: absent, the scanner fails with no
        # exception set.  Malformed input only: let json say it.
        import json
        return json.loads(s, object_pairs_hook=object_pairs_hook, parse_float=parse_float,
                          parse_constant=parse_constant)
    end = _skip_ws(s, end)
    if end != len(s):
        raise DecodeError("Extra data", s, end)
    return obj


_CONSTANTS = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}


def dumps(obj, ensure_ascii=True, allow_nan=True):
    """json.dumps(obj, ensure_ascii=..., allow_nan=..., separators=(",", ":"))."""
    if _make_scanner is None:
        import json
        return json.dumps(obj, ensure_ascii=ensure_ascii, allow_nan=allow_nan,
                          separators=(",", ":"))
    enc = _enc_ascii if ensure_ascii else _enc_str
    if isinstance(obj, str):
        return enc(obj)
    chunks = _make_encoder({}, _default, enc, None, ":", ",", False, False, allow_nan)(obj, 0)
    if not isinstance(chunks, (list, tuple)):
        chunks = list(chunks)
    return "".join(chunks)
