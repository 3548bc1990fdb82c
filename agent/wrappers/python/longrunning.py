#!/usr/bin/env python3
"""longrunning.py -- mvm's warm-tier runner for Python functions.

One process serves many calls.  The agent starts it (installed as
/usr/lib/mvm/wrappers/runner, mvm_wrapper_common.py beside it) and speaks
the worker protocol of PROTOCOL.md over its stdin/stdout:

  frame    = u32 big-endian length N, then N bytes
  request  = the encoded [args, kwargs] (<= 16 MiB)
  response = 1 status byte (0 ok, 1 error) + the encoded result, or the
             error envelope JSON
  the very first frame the worker writes is "ready": status 2 + JSON

Startup: read wrapper.json, prod hardening, chdir to working_dir, put it
first on sys.path, import module once, look up function, write "ready".
Each call: scrub (restore cwd, sys.path, os.environ, umask and the
standard streams to what they were after the import), decode, call,
encode, respond.  A failing call is answered with status 1 and the worker
goes on.  EOF at a frame boundary: exit 0.  Startup failure (bad config,
missing module or function, exception at import): envelope on stderr, no
"ready" frame, exit 3.  A truncated frame: envelope on stderr, exit 2.
Cannot write a response: exit 5.

Module globals, sys.modules, threads, open files and signal handlers are
*not* scrubbed: state the user's code keeps across calls is its own.
"""

import os
import struct
import sys

import mvm_json
import mvm_wrapper_common as mw

PROTOCOL_VERSION = 1
STATUS_OK = 0
STATUS_ERROR = 1
STATUS_READY = 2


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


class Worker:
    """Holds the state a call may disturb and that is put back before each."""

    def __init__(self, cfg, fn, inp, out_fd):
        self.cfg = cfg
        self.fn = fn
        self.inp = inp
        self.out_fd = out_fd
        self.path = list(sys.path)
        self.environ = dict(os.environ)
        self.umask = os.umask(0o022)
        os.umask(self.umask)
        self.stdin = sys.stdin
        self.stdout = sys.stdout
        self.stderr = sys.stderr

    def scrub(self):
        os.chdir(self.cfg["working_dir"])
        sys.path[:] = self.path
        if dict(os.environ) != self.environ:
            os.environ.clear()
            os.environ.update(self.environ)
        os.umask(self.umask)
        sys.stdin, sys.stdout, sys.stderr = self.stdin, self.stdout, self.stderr

    def call(self, payload):
        """Returns (status, body)."""
        fmt = self.cfg["format"]
        try:
            try:
                self.scrub()
            except OSError as e:
                raise mw.WrapperError("config_error", "cannot restore working_dir",
                                      e.strerror) from None
            args, kwargs = mw.decode_call(fmt, payload)
            del payload
            mw.check_args(self.cfg, args, kwargs)
            result = mw.invoke(self.fn, args, kwargs)
            del args, kwargs
            mw.check_result(self.cfg, result)
            return STATUS_OK, mw.encode_result(fmt, result)
        except mw.WrapperError as e:
            return STATUS_ERROR, mw.envelope(e, self.cfg["mode"])
        except Exception as e:  # a bug in the wrapper itself
            err = mw.WrapperError("internal_error", "wrapper failed: " + type(e).__name__, str(e))
            return STATUS_ERROR, mw.envelope(err, self.cfg["mode"])
        finally:
            for f in (sys.stdout, sys.stderr):
                try:
                    f.flush()
                except Exception:
                    pass

    def respond(self, status, body):
        mw.write_all(self.out_fd, struct.pack(">IB", len(body) + 1, status) + body)

    def discard(self, n):
        while n > 0:
            chunk = self.inp.read(min(n, 65536))
            if not chunk:
                return False
            n -= len(chunk)
        return True

    def serve(self):
        """Answer frames until EOF; returns the exit status."""
        hello = {"protocol": PROTOCOL_VERSION, "language": "python",
                 "format": self.cfg["format"], "pid": os.getpid()}
        self.respond(STATUS_READY, mvm_json.dumps(hello).encode())
        while True:
            header = self.inp.read(4)
            if not header:
                return mw.EXIT_OK
            if len(header) < 4:
                raise mw.WrapperError("protocol_error", "EOF inside a frame header")
            (n,) = struct.unpack(">I", header)
            if n > mw.MAX_PAYLOAD:
                if not self.discard(n):
                    raise mw.WrapperError("protocol_error", "EOF inside a request frame")
                err = mw.WrapperError("payload_too_large",
                                      "request is larger than %d bytes" % mw.MAX_PAYLOAD)
                self.respond(STATUS_ERROR, mw.envelope(err, self.cfg["mode"]))
                continue
            payload = self.inp.read(n)
            if len(payload) < n:
                raise mw.WrapperError("protocol_error", "EOF inside a request frame")
            status, body = self.call(payload)
            del payload
            self.respond(status, body)


def main():
    try:
        cfg = mw.load_config()
    except mw.WrapperError as e:
        _fail(e, "prod")
    mode = cfg["mode"]
    if mode == "prod":
        mw.set_nondumpable()
    mw.quiet_thread_tracebacks(mode)

    # The frames own fds 0 and 1: keep private copies, give user code
    # /dev/null for input and stderr for output.
    try:
        in_fd = os.dup(0)
        out_fd = os.dup(1)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.dup2(2, 1)
    except OSError as e:
        _fail(mw.WrapperError("io_error", "no usable stdin or stdout", e.strerror), mode)
    sys.stdin = open(os.devnull, "r")
    sys.stdout = sys.stderr
    inp = os.fdopen(in_fd, "rb", buffering=65536)

    try:
        mw.enter_working_dir(cfg)
        fn = mw.load_function(cfg)
        worker = Worker(cfg, fn, inp, out_fd)
    except mw.WrapperError as e:
        _fail(e, mode)
    try:
        code = worker.serve()
    except mw.WrapperError as e:
        _fail(e, mode)
    except OSError as e:
        _fail(mw.WrapperError("io_error", "worker pipe failed", e.strerror), mode)
    try:
        sys.stderr.flush()
    except Exception:
        pass
    os._exit(code)


if __name__ == "__main__":
    main()
