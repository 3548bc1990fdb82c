#!/usr/bin/env python3
"""oneshot.py -- mvm's cold-tier runner for Python functions.

The guest agent execs this once per call (installed as
/usr/lib/mvm/wrappers/runner, with mvm_wrapper_common.py beside it).  It
reads /etc/mvm/wrapper.json (or $MVM_WRAPPER_CONFIG), reads stdin -- the
encoded [args, kwargs], at most 16 MiB -- decodes and checks it, chdirs to
working_dir, puts working_dir first on sys.path, imports module, calls
function(*args, **kwargs), writes the encoded return value on stdout and
exits 0.  On error: one line of JSON, the error envelope, as the last line
of stderr, and exit 1 (user exception), 2 (bad input), 3 (config, missing
module or function, exception at import), 4 (result not encodable), 5 (I/O
or internal).  See PROTOCOL.md beside this directory.

While user code runs, fd 1 and sys.stdout point at stderr: print() in a
function cannot corrupt the encoded result, which goes to a private copy
of the original stdout.

The process serves exactly one call: chdir and sys.path changes are never
undone, so dispatch() refuses to run twice in one process.
"""

import os
import sys

import mvm_wrapper_common as mw

_dispatched = False


def dispatch(cfg, data):
    """Run one call.  Returns (exit status, bytes): the encoded result when
    the status is 0, else the error envelope (one JSON line, no newline).
    A second call in the same process is refused (exit status 5)."""
    global _dispatched
    try:
        if _dispatched:
            raise mw.WrapperError("internal_error",
                                  "oneshot runner already dispatched a call in this process")
        _dispatched = True
        fmt = cfg["format"]
        args, kwargs = mw.decode_call(fmt, data)
        del data
        mw.check_args(cfg, args, kwargs)
        mw.enter_working_dir(cfg)
        fn = mw.load_function(cfg)
        result = mw.invoke(fn, args, kwargs)
        del args, kwargs
        mw.check_result(cfg, result)
        return mw.EXIT_OK, mw.encode_result(fmt, result)
    except mw.WrapperError as e:
        return e.exit_code, mw.envelope(e, cfg["mode"])
    except Exception as e:  # a bug in the wrapper itself
        err = mw.WrapperError("internal_error", "wrapper failed: " + type(e).__name__, str(e))
        return err.exit_code, mw.envelope(err, cfg["mode"])


def _fail(err, mode):
    try:
        sys.stderr.flush()
    except Exception:
        pass
    try:
        mw.write_all(2, mw.envelope(err, mode) + b"\n")
    except OSError:
        pass
    os._exit(err.exit_code)


def main():
    try:
        cfg = mw.load_config()
    except mw.WrapperError as e:
        _fail(e, "prod")  # the mode is unknown: say as little as prod does
    mode = cfg["mode"]
    if mode == "prod":
        mw.set_nondumpable()
    mw.quiet_thread_tracebacks(mode)

    # Keep the real stdout for the result; user output goes to stderr.
    try:
        out_fd = os.dup(1)
        os.dup2(2, 1)
    except OSError as e:
        _fail(mw.WrapperError("io_error", "no usable stdout", e.strerror), mode)
    sys.stdout = sys.stderr

    try:
        data = mw.read_capped(0)
    except mw.WrapperError as e:
        _fail(e, mode)
    code, payload = dispatch(cfg, data)
    del data
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except Exception:
            pass
    if code != mw.EXIT_OK:
        try:
            mw.write_all(2, payload + b"\n")
        except OSError:
            pass
        os._exit(code)
    try:
        mw.write_all(out_fd, payload)
        os.close(out_fd)
    except OSError as e:
        _fail(mw.WrapperError("io_error", "cannot write the result", e.strerror), mode)
    # _exit: user atexit handlers and non-daemon threads must not hold the
    # call open once its result is written.
    os._exit(mw.EXIT_OK)


if __name__ == "__main__":
    main()
