"""Declaring a workload: decorators and helpers that build IR nodes.

Every helper returns a plain dict shaped like the IR (see mvm-ir(5));
None means "absent" and is dropped when the IR is normalized.  Nothing
here ever calls the user's function.
"""

from ._model import MODEL

__all__ = ["DeclarationError", "app", "function", "command", "workload", "declared",
           "reset", "build"]


class DeclarationError(Exception):
    """A declaration that cannot become an IR: a helper misused, no app."""


_apps = []
_workload = {}
_runner = []


def runner_active():
    """True when `python3 -m mvm` (mvm-emit's runner) does the emitting."""
    return bool(_runner)


def reset():
    """Forget every declaration (for tests and for re-running an entry)."""
    del _apps[:]
    _workload.clear()


def declared():
    return list(_apps)


def _list(v, what):
    if v is None:
        return None
    if isinstance(v, (str, bytes)) or not hasattr(v, "__iter__"):
        raise DeclarationError("%s must be a list, not %s" % (what, type(v).__name__))
    return list(v)


def function(language, module, function, format="json", primary=False, working_dir=None,
             args_schema=None, return_schema=None, concurrency=None, extra_imports=None):
    """Declare a function entrypoint.  As a decorator it records the
    entrypoint on the function (for @mvm.app) and returns it unchanged."""
    ep = {"kind": "function", "language": language, "module": module, "function": function,
          "format": format, "primary": primary, "working_dir": working_dir,
          "args_schema": args_schema, "return_schema": return_schema,
          "concurrency": concurrency, "extra_imports": _list(extra_imports, "extra_imports")}
    return _Entry(ep)


def command(argv, working_dir=None, env=None):
    """A command entrypoint: argv run once at boot (for app(entrypoints=[...]))."""
    return {"kind": "command", "command": _list(argv, "command"), "working_dir": working_dir,
            "env": env}


class _Entry(dict):
    """A function entrypoint; also a decorator."""

    def __call__(self, fn):
        if not callable(fn):
            raise DeclarationError("@mvm.function(...) decorates a function")
        eps = list(getattr(fn, "__mvm_entrypoints__", ()))
        eps.insert(0, dict(self))
        try:
            fn.__mvm_entrypoints__ = eps
        except (AttributeError, TypeError):
            raise DeclarationError("@mvm.function(...) cannot decorate %r" % (fn,))
        return fn


def app(name, image=None, resources=None, dependencies=None, source=None, entrypoints=None,
        env=None, mounts=None, network=None, threat_tier=None, addons=None):
    """Declare an app.  As a decorator over a function carrying
    @mvm.function(...) entrypoints, adds them to the app; returns the
    function unchanged.  source defaults to mvm.source.local(".")."""
    from .source import local
    node = {"name": name, "source": source if source is not None else local("."),
            "image": image, "entrypoints": [dict(e) for e in (_list(entrypoints, "entrypoints")
                                                             or [])],
            "env": env, "mounts": _list(mounts, "mounts"), "network": network,
            "resources": resources, "dependencies": dependencies, "threat_tier": threat_tier,
            "addons": _list(addons, "addons")}
    _apps.append(node)
    return _AppDecorator(node)


class _AppDecorator(dict):
    def __init__(self, node):
        dict.__init__(self, node)
        self._node = node

    def __call__(self, fn):
        if not callable(fn):
            raise DeclarationError("@mvm.app(...) decorates a function")
        self._node["entrypoints"].extend(dict(e) for e in
                                         getattr(fn, "__mvm_entrypoints__", ()))
        return fn


def workload(id=None, volumes=None, extensions=None):
    """Workload-wide settings: id (default: the first app's name), volumes,
    extensions."""
    if id is not None:
        _workload["id"] = id
    if volumes is not None:
        _workload["volumes"] = _list(volumes, "volumes")
    if extensions is not None:
        _workload["extensions"] = extensions


def build():
    """The IR (a dict, not yet normalized) of everything declared."""
    if not _apps:
        raise DeclarationError("no app is declared: decorate a function with @mvm.app(...)")
    return {"schema_version": MODEL["schema_version"],
            "id": _workload.get("id", _apps[0]["name"]),
            "apps": [dict(a) for a in _apps],
            "volumes": _workload.get("volumes", []),
            "extensions": _workload.get("extensions", {})}
