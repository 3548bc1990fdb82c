"""Shared by the tests: paths, running the SDK's emitter, the kitchen sink."""

import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SDK = os.path.dirname(HERE)
ROOT = os.path.dirname(os.path.dirname(SDK))
SCHEMA = os.path.join(ROOT, "schemas", "workload.schema.json")
SEED_IR = os.path.join(ROOT, "t", "data", "seed-ir.json")
LOCKS = os.path.join(ROOT, "t", "data", "lockfiles")
IR_VALIDATE = os.path.join(ROOT, "bin", "ir-validate")
SEED_HASH = "a092d69684c32f32d54f203d63ae8458f94f109be93c7c0a504c9987f58e16e3"

if SDK not in sys.path:
    sys.path.insert(0, SDK)


def validators():
    """The validator settings to test: the built-in checks always, and
    ir-validate when it is built."""
    v = [("builtin", "")]
    if os.access(IR_VALIDATE, os.X_OK):
        v.append(("ir-validate", IR_VALIDATE))
    return v


def run_emit(entry_text=None, entry=None, validator="", out=None, cwd=None):
    """Run `python3 -m mvm ENTRY` as mvm-emit does; (status, stdout, stderr)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = SDK
    env["MVM_IR_VALIDATE"] = validator
    env.pop("MVM_IR_OUT", None)
    env.pop("MVM_EMIT_BASE", None)
    env.pop("MVM_EMIT_NAME", None)
    if out:
        env["MVM_IR_OUT"] = out
    tmp = None
    if entry is None:
        tmp = tempfile.mkdtemp()
        entry = os.path.join(tmp, "entry.py")
        with open(entry, "w") as f:
            f.write(entry_text)
    p = subprocess.run([sys.executable, "-m", "mvm", entry], env=env, cwd=cwd or ROOT,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


def load_schema():
    with open(SCHEMA, encoding="utf-8") as f:
        return json.load(f)
