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
SEED_IR = os.path.join(ROOT, "t", "data", "seed-ir-sdk.json")
LOCKS = os.path.join(ROOT, "t", "data", "lockfiles")
IR_VALIDATE = os.path.join(ROOT, "bin", "ir-validate")
SEED_HASH = "a62b5e999e18e4a51c740d5e3bb6d67f85aabd713241a80150d583db16eff65b"

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
