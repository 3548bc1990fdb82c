"""mvm: declare a workload in Python; `mvm-emit entry.py` turns it into the
Workload IR (mvm-ir(5)).  Standard library only.

    import mvm

    @mvm.app(name="hello", image=mvm.image.nix_packages(["python3"]),
             resources=mvm.resources(vcpus=1, memory_mb=256),
             dependencies=mvm.deps.none())
    @mvm.function(language="python", module="app", function="greet", format="json")
    def greet(name: str) -> str:
        return f"hello, {name}"

Decorators record the declaration and return the function unchanged; the
function is never called while emitting (MVM_EMITTING=1).
"""

from . import addons, concurrency, deps, env, image, mounts, network, source
from ._canon import CanonError, canonical
from ._dsl import DeclarationError, app, build, command, function, reset, workload
from ._emit import ValidationError, emit, ir_bytes, validate
from ._model import MODEL
from ._resources import resources

__version__ = "0.1.0"
SCHEMA_VERSION = MODEL["schema_version"]


def emitting():
    """True while mvm-emit runs the declaration (MVM_EMITTING=1)."""
    import os
    return os.environ.get("MVM_EMITTING") == "1"


def _emit_at_exit_when_run_directly():
    """`MVM_EMITTING=1 python3 entry.py` honours the contract too: at exit,
    what was declared is emitted (unless mvm-emit's runner does it, the
    declaration raised, or nothing was declared)."""
    import atexit
    import os
    import sys

    if os.environ.get("MVM_EMITTING") != "1":
        return
    raised = []
    prev = sys.excepthook

    def hook(t, v, tb):
        raised.append(v)
        prev(t, v, tb)

    sys.excepthook = hook

    def at_exit():
        from . import _dsl as d
        if d.runner_active() or raised or not d.declared():
            return
        main = sys.modules.get("__main__")
        path = getattr(main, "__file__", None)
        base = os.path.dirname(os.path.abspath(path)) if path else os.getcwd()
        try:
            emit(base_dir=os.environ.get("MVM_EMIT_BASE") or base)
        except ValidationError as e:
            for code, ptr, detail in e.errors:
                sys.stderr.write("mvm: %s at %s: %s\n" % (code, ptr, detail))
            sys.stderr.flush()
            os._exit(1)
        except (DeclarationError, CanonError, ValueError) as e:
            sys.stderr.write("mvm: %s\n" % e)
            sys.stderr.flush()
            os._exit(3)
        except OSError as e:
            sys.stderr.write("mvm: unable to write the IR: %s\n" % e)
            sys.stderr.flush()
            os._exit(4)

    atexit.register(at_exit)


_emit_at_exit_when_run_directly()

__all__ = ["addons", "app", "build", "canonical", "command", "concurrency", "deps", "emit",
           "emitting", "env", "function", "image", "ir_bytes", "mounts", "network",
           "reset", "resources", "source", "validate", "workload", "CanonError",
           "DeclarationError", "ValidationError", "SCHEMA_VERSION"]
