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


__all__ = ["addons", "app", "build", "canonical", "command", "concurrency", "deps", "emit",
           "emitting", "env", "function", "image", "ir_bytes", "mounts", "network",
           "reset", "resources", "source", "validate", "workload", "CanonError",
           "DeclarationError", "ValidationError", "SCHEMA_VERSION"]
