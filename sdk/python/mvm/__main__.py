"""python3 -m mvm ENTRY.py: run a declaration under MVM_EMITTING=1 and emit
its IR (the contract mvm-emit(1) describes).

Exit 0 written, 1 the IR is invalid, 2 usage, 3 the declaration failed or
declared nothing, 4 a system error."""

import os
import runpy
import sys
import traceback

from . import _dsl, _emit


def _say(prog, where, msg):
    sys.stderr.write("%s: %s%s\n" % (prog, where + ": " if where else "", msg))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    _dsl._runner.append(True)
    prog = os.environ.get("MVM_EMIT_PROG") or "mvm"
    if len(argv) != 1 or argv[0].startswith("-") and argv[0] != "-":
        sys.stderr.write("usage: python3 -m mvm ENTRY.py\n")
        return 2
    entry = argv[0]
    if not os.path.isfile(entry):
        _say(prog, entry, "unable to open: no such file")
        return 4
    os.environ["MVM_EMITTING"] = "1"
    # Paths in the IR (source, lockfiles) are relative to the declaration's
    # directory; mvm-emit names it in MVM_EMIT_BASE when the entry is stdin.
    base = os.environ.get("MVM_EMIT_BASE") or os.path.dirname(os.path.abspath(entry))
    sys.path.insert(0, os.path.dirname(os.path.abspath(entry)))
    if base not in sys.path:
        sys.path.insert(1, base)
    name = os.environ.get("MVM_EMIT_NAME") or entry
    _dsl.reset()
    try:
        # Not "__main__": an `if __name__ == "__main__":` block (which might
        # call the workload) does not run while emitting.
        runpy.run_path(entry, run_name="__mvm_emit__")
    except SystemExit as e:
        _say(prog, name, "the declaration exited (status %s) before declaring a workload"
             % (e.code,))
        return 3
    except _dsl.DeclarationError as e:
        _say(prog, name, str(e))
        return 3
    except Exception:
        _say(prog, name, "the declaration raised an exception:")
        traceback.print_exc(file=sys.stderr)
        return 3
    try:
        _emit.emit(base_dir=base)
    except _dsl.DeclarationError as e:
        _say(prog, name, str(e))
        return 3
    except _emit.ValidationError as e:
        for code, ptr, detail in e.errors:
            _say(prog, name, "%s at %s: %s" % (code, ptr, detail))
        return 1
    except _emit.ValidatorFailed as e:
        _say(prog, name, str(e))
        return 4
    except (ValueError, TypeError) as e:    # CanonError: NaN, lone surrogate, ...
        _say(prog, name, str(e))
        return 3
    except OSError as e:
        _say(prog, e.filename or name, "unable to write the IR: %s" % e.strerror)
        return 4
    return 0


if __name__ == "__main__":
    sys.exit(main())
