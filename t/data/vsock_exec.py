#!/usr/bin/python3
"""vsock_exec.py SOCKET ARGV... -- send the dev agent's exec request
(mvm-agent-protocol(5) "Dev images") through a Firecracker-style hybrid
vsock socket and print the replies: stdout and stderr decoded, then
"exit N" or "error KIND: MESSAGE".  vsock-call sends run requests only; the
exec request is for debugging and has no tool of its own."""
import base64
import json
import socket
import struct
import sys


def main():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect(sys.argv[1])
    s.sendall(b"CONNECT 5252\n")
    line = b""
    while not line.endswith(b"\n"):
        line += s.recv(1)
    if not line.startswith(b"OK "):
        sys.exit("vsock_exec: " + line.decode(errors="replace"))
    body = json.dumps({"type": "exec", "argv": sys.argv[2:]}).encode()
    s.sendall(struct.pack(">I", len(body)) + body)
    buf = b""
    while True:
        while len(buf) < 4 or len(buf) < 4 + struct.unpack(">I", buf[:4])[0]:
            chunk = s.recv(65536)
            if not chunk:
                sys.exit("vsock_exec: the agent closed the connection")
            buf += chunk
        n = struct.unpack(">I", buf[:4])[0]
        r, buf = json.loads(buf[4:4 + n]), buf[4 + n:]
        if r["type"] in ("stdout", "stderr"):
            print(r["type"], base64.b64decode(r["data"]).decode(errors="replace").rstrip("\n"))
        elif r["type"] == "exit":
            print("exit", r["code"])
            return
        else:
            print("error %s: %s" % (r.get("kind"), r.get("message")))
            return


main()
