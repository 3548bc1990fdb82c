"""examples/web: a small HTTP service, run as mvm's command entrypoint.

GET /          a greeting, with who and where the service runs
GET /net       the guest's network interfaces
GET /probe?port=N   try to connect out to the host (10.0.2.2:N): the
               host's user-mode network drops it (restrict=on)
GET /seccomp   the service's seccomp mode (/proc/self/status: 0 none,
               2 a filter): the plan's tier, applied by the agent
GET /exit      the service exits (status 3): its supervisor starts it again
"""
import http.server
import os
import socket
import sys
import urllib.parse


class Handler(http.server.BaseHTTPRequestHandler):
    def reply(self, text):
        body = text.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/net":
            self.reply(" ".join(sorted(os.listdir("/sys/class/net"))) + "\n")
        elif url.path == "/probe":
            port = int(urllib.parse.parse_qs(url.query).get("port", ["80"])[0])
            try:
                socket.create_connection(("10.0.2.2", port), timeout=2).close()
                self.reply("connected\n")
            except OSError as e:
                self.reply("blocked: %s\n" % (e.__class__.__name__,))
        elif url.path == "/seccomp":
            with open("/proc/self/status") as fh:
                self.reply("".join(ln for ln in fh if ln.startswith("Seccomp")))
        elif url.path == "/exit":
            self.reply("exiting\n")
            self.wfile.flush()
            os._exit(3)
        else:
            self.reply("%s (pid %d, uid %d, cwd %s)\n" % (
                os.environ.get("GREETING", "?"), os.getpid(), os.getuid(), os.getcwd()))

    def log_message(self, fmt, *args):  # the console log, one line each
        print("web: " + fmt % args, file=sys.stderr, flush=True)


if __name__ == "__main__":
    http.server.ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
