"""The emit contract (mvm-emit(1)): validate, then write canonical bytes to
$MVM_IR_OUT atomically, or to standard output."""

import os
import shutil
import subprocess
import sys
import tempfile

from . import _dsl, _ir
from ._canon import canonical

__all__ = ["ValidationError", "emit", "validate", "ir_bytes"]


class ValidationError(Exception):
    """The IR is invalid: errors is a list of (code, pointer, detail)."""

    def __init__(self, errors):
        self.errors = list(errors)
        Exception.__init__(self, "; ".join("%s at %s: %s" % e for e in self.errors))

    @property
    def codes(self):
        return [e[0] for e in self.errors]


class ValidatorFailed(Exception):
    """ir-validate could not run or gave an unexpected answer."""


def _validator():
    """The ir-validate to run: $MVM_IR_VALIDATE if set (empty: none, use
    the built-in checks), else ir-validate on PATH, else None."""
    v = os.environ.get("MVM_IR_VALIDATE")
    if v is not None:
        return v or None
    return shutil.which("ir-validate")


def _run_validator(exe, data, base_dir):
    try:
        args = [exe, "-C", base_dir, "-"] if base_dir else [exe, "-L", "-"]
        p = subprocess.run(args, input=data, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, cwd=base_dir or None)
    except OSError as e:
        raise ValidatorFailed("unable to run %s: %s" % (exe, e.strerror))
    if p.returncode == 0:
        return []
    text = p.stderr.decode("utf-8", "replace")
    if p.returncode != 1:
        raise ValidatorFailed("%s exited %d: %s" % (exe, p.returncode, text.strip()))
    errors = []
    for line in text.splitlines():
        # "ir-validate: FILE: CODE at /pointer: detail"
        rest = line.split(": ", 1)[1] if ": " in line else line
        for _ in range(2):
            head, sep, tail = rest.partition(": ")
            if head.startswith("E_") and " at " in head:
                code, _, ptr = head.partition(" at ")
                errors.append((code, ptr, tail))
                break
            rest = tail
    if not errors:
        raise ValidatorFailed("%s said the IR is invalid: %s" % (exe, text.strip()))
    return errors


def validate(ir, base_dir=None):
    """Check a normalized IR: ir-validate when available, else the built-in
    checks.  Raises ValidationError."""
    data = canonical(ir)
    exe = _validator()
    if exe:
        errors = _run_validator(exe, data, base_dir)
    else:
        errors = _ir.check(ir, base_dir=base_dir)
    if errors:
        raise ValidationError(errors)
    return data


def ir_bytes(ir=None, base_dir=None):
    """The canonical, validated bytes of ir (default: what was declared)."""
    if ir is None:
        ir = _dsl.build()
    return validate(_ir.normalize(ir), base_dir)


def _write_atomic(path, data):
    d = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(dir=d, prefix="." + os.path.basename(path) + ".")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.rename(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dfd = os.open(d, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def emit(ir=None, out=None, base_dir=None):
    """Validate and write the IR: to out, else $MVM_IR_OUT, else standard
    output.  Nothing is written when the IR is invalid."""
    data = ir_bytes(ir, base_dir)
    out = out or os.environ.get("MVM_IR_OUT") or None
    if out:
        _write_atomic(out, data)
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    return data
