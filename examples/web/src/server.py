"""examples/web: a small HTTP service, run as mvm's command entrypoint."""
import http.server
import os


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("%s (pid %d, uid %d, cwd %s)\n" % (os.environ.get("GREETING", "?"), os.getpid(),
                                                    os.getuid(), os.getcwd())).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):  # to the console log, one line each
        print("web: " + fmt % args, flush=True)


if __name__ == "__main__":
    http.server.ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
