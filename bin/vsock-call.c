/* vsock-call — call the function in a running microVM through its agent */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "frame.h"
#include "json.h"
#include "msgpack.h"
#include "tool.h"
#include "monoclock.h"

#define AGENT_PORT 5252

static void usage(int code)
{
	fprintf(code ? stderr : stdout,
		"usage: %s -s socket [-f json|msgpack] [-t seconds] [-e NAME=VALUE]... [-r|-R]\n"
		"       [function] [--input KEY=VALUE]... [--input-json KEY=JSON]... [--json ARGS]\n"
		"       %s -s socket --ping | --status\n"
		"Call the function of a running microVM through its agent (a Firecracker-style\n"
		"vsock Unix socket: CONNECT 5252).  Without --input or --json the encoded\n"
		"[args, kwargs] are read from standard input.\n"
		"  -s socket       the VM's vsock socket (vm-boot prints it)\n"
		"  -f format       json (default) or msgpack: how arguments and result are encoded\n"
		"  -t seconds      call timeout (default 30)\n"
		"  -e NAME=VALUE   environment variable for the call (repeatable)\n"
		"  --input K=V     keyword argument K, a string (repeatable)\n"
		"  --input-json K=JSON  keyword argument K, any JSON value\n"
		"  --json ARGS     the whole [args, kwargs] as JSON\n"
		"  -r              print a string result without JSON quotes\n"
		"  -R              print the result bytes as the function's runner wrote them\n"
		"Exit: the call's own status (0 ok, 1 user exception, ...), 2 usage, 124 timeout,\n"
		"125 vsock-call or agent failure.\n",
		progname, progname);
	exit(code);
}

/* Read into b until a frame is complete or the deadline passes. */
static int read_some(int fd, struct buf *b, double deadline)
{
	struct pollfd p = { fd, POLLIN, 0 };
	ssize_t n;
	int ms = (int)((deadline - mono_s()) * 1000);

	if (ms <= 0)
		return -2;
	if (poll(&p, 1, ms) == 0)
		return -2;
	if (buf_reserve(b, 65536) < 0)
		return -1;
	do
		n = read(fd, b->p + b->len, b->cap - b->len - 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	b->len += (size_t)n;
	return n == 0 ? 0 : 1;
}

static int vsock_connect(const char *path, double deadline, struct buf *in)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char hello[32];
	int fd, r;
	char *nl;

	if (strlen(path) >= sizeof sa.sun_path)
		tool_die(EX_SELF, "%s: socket path too long", path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		tool_die(EX_SELF, "unable to connect to %s: %s", path, strerror(errno));
	snprintf(hello, sizeof hello, "CONNECT %d\n", AGENT_PORT);
	if (write_all(fd, hello, strlen(hello)) < 0)
		tool_die(EX_SELF, "unable to write to %s: %s", path, strerror(errno));
	/* Firecracker's hybrid vsock handshake: "OK <port>\n". */
	while (!(in->len && (nl = memchr(in->p, '\n', in->len)))) {
		if (in->len > 64)
			tool_die(EX_SELF, "%s: bad handshake reply", path);
		r = read_some(fd, in, deadline);
		if (r == -2) {
			fprintf(stderr, "%s: %s: timed out waiting for the agent\n", progname, path);
			exit(EX_TIMEOUT);
		}
		if (r <= 0)
			tool_die(EX_SELF, "%s: the VM closed the connection during the handshake", path);
	}
	if (in->len < 3 || memcmp(in->p, "OK ", 3) != 0)
		tool_die(EX_SELF, "%s: handshake refused: %.20s", path, in->p);
	in->len -= (size_t)(nl + 1 - in->p);
	memmove(in->p, nl + 1, in->len);
	return fd;
}

/* Build [args, kwargs] JSON from --input/--input-json pairs. */
static void add_kwarg(struct buf *kw, const char *arg, int is_json)
{
	const char *eq = strchr(arg, '=');
	struct merr e;

	if (!eq || eq == arg)
		tool_die(EX_USAGE, "--input%s: KEY=VALUE expected: %s", is_json ? "-json" : "", arg);
	buf_putc(kw, kw->len ? ',' : '{');
	json_put_str(kw, arg, (size_t)(eq - arg));
	buf_putc(kw, ':');
	if (is_json) {
		struct buf tmp = BUF_INIT;
		if (json_canonicalize(eq + 1, strlen(eq + 1), NULL, &tmp, &e) != 0)
			tool_die(EX_USAGE, "--input-json %.*s: %s%s%s", (int)(eq - arg), arg,
				e.where, e.where[0] ? ": " : "", e.msg);
		buf_put(kw, tmp.p, tmp.len);
		buf_free(&tmp);
	} else {
		json_put_str(kw, eq + 1, strlen(eq + 1));
	}
}

int main(int argc, char **argv)
{
	const char *sock = NULL, *json_args = NULL;
	int msgpack = 0, raw = 0, rawstr = 0, ping = 0, status = 0, c, fd;
	unsigned long timeout = 30;
	struct buf kw = BUF_INIT, args = BUF_INIT, payload = BUF_INIT, req = BUF_INIT;
	struct buf in = BUF_INIT, result = BUF_INIT;
	char **env = NULL;
	size_t nenv = 0;
	struct merr e;
	double deadline;
	enum { O_INPUT = 256, O_INPUT_JSON, O_JSON, O_PING, O_STATUS };
	static const struct option lopts[] = {
		{ "input", required_argument, NULL, O_INPUT },
		{ "input-json", required_argument, NULL, O_INPUT_JSON },
		{ "json", required_argument, NULL, O_JSON },
		{ "ping", no_argument, NULL, O_PING },
		{ "status", no_argument, NULL, O_STATUS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};

	tool_init(argv);
	signal(SIGPIPE, SIG_IGN);
	while ((c = getopt_long(argc, argv, "s:f:t:e:rRh", lopts, NULL)) != -1) {
		switch (c) {
		case 's': sock = optarg; break;
		case 'f':
			if (strcmp(optarg, "json") == 0)
				msgpack = 0;
			else if (strcmp(optarg, "msgpack") == 0)
				msgpack = 1;
			else
				tool_die(EX_USAGE, "-f: json or msgpack, not %s", optarg);
			break;
		case 't': timeout = tool_num("-t", optarg, 1, 3600); break;
		case 'e':
			if (!strchr(optarg, '=') || optarg[0] == '=')
				tool_die(EX_USAGE, "-e: NAME=VALUE expected: %s", optarg);
			env = realloc(env, (nenv + 1) * sizeof *env);
			if (!env)
				tool_die(EX_SELF, "out of memory");
			env[nenv++] = optarg;
			break;
		case 'r': rawstr = 1; break;
		case 'R': raw = 1; break;
		case O_INPUT: add_kwarg(&kw, optarg, 0); break;
		case O_INPUT_JSON: add_kwarg(&kw, optarg, 1); break;
		case O_JSON: json_args = optarg; break;
		case O_PING: ping = 1; break;
		case O_STATUS: status = 1; break;
		case 'h': usage(0);
		/* fallthrough */
		default: usage(EX_USAGE);
		}
	}
	if (!sock)
		usage(EX_USAGE);
	if (argc - optind > 1 || (json_args && kw.len) || (ping && status))
		usage(EX_USAGE);
	/* The function operand names which of the image's functions runs
	 * (runtime.json's names); without it the agent runs the primary. */

	if (!ping && !status) {
		if (json_args || kw.len) {
			struct jdoc *d;
			if (json_args) {
				buf_puts(&args, json_args);
			} else {
				buf_puts(&args, "[[],");
				buf_put(&args, kw.p, kw.len);
				buf_puts(&args, "}]");
			}
			d = json_parse(args.p, args.len, NULL, &e);
			if (!d)
				tool_die(EX_USAGE, "--json: %s: %s", e.where, e.msg);
			if (json_type(d, json_root(d)) != J_ARR || json_len(d, json_root(d)) != 2 ||
			    json_type(d, json_first(d, json_root(d))) != J_ARR ||
			    json_type(d, json_next(d, json_first(d, json_root(d)))) != J_OBJ)
				tool_die(EX_USAGE, "--json: [args, kwargs] expected: an array and an object");
			if (msgpack ? msgpack_from_json(d, json_root(d), &payload, &e)
				    : json_canon(d, json_root(d), &payload))
				tool_die(EX_SELF, "cannot encode the arguments");
			json_free(d);
		} else if (read_fd(0, &payload, &e) != 0) {
			tool_fail("-", &e);
		}
		if (payload.len > FRAME_PAYLOAD_MAX)
			tool_die(EX_SELF, "the arguments exceed the 16 MiB (16777216-byte) cap");
	}

	deadline = mono_s() + (double)timeout + 10.0;
	fd = vsock_connect(sock, deadline, &in);
	if (ping)
		req_put_ping(&req);
	else if (status)
		req_put_status(&req);
	else
		req_put_run(&req, payload.p, payload.len, (uint32_t)(timeout * 1000), env, nenv,
			argc - optind == 1 ? argv[optind] : NULL);
	if (write_all(fd, req.p, req.len) < 0)
		tool_die(EX_SELF, "unable to send the request: %s", strerror(errno));
	/* no shutdown(SHUT_WR): an agent may read a half-close as the end of the connection */

	for (;;) {
		uint32_t len;
		size_t needn;
		struct rep rp;
		int r = frame_parse(in.p, in.len, FRAME_MAX, &len, &needn);

		if (r == FRAME_BIG)
			tool_die(EX_SELF, "the agent sent an oversized frame");
		if (r == FRAME_NEED) {
			r = read_some(fd, &in, deadline);
			if (r == -2) {
				fprintf(stderr, "%s: timed out after %lu s waiting for the agent\n", progname,
					timeout + 10);
				exit(EX_TIMEOUT);
			}
			if (r < 0)
				tool_die(EX_SELF, "unable to read from the VM: %s", strerror(errno));
			if (r == 0)
				tool_die(EX_SELF, "the agent closed the connection before the call ended");
			continue;
		}
		if (ping || status) {
			/* print the reply as it is, one line */
			if (rep_parse(in.p + FRAME_HDR, len, &rp, &e) != 0)
				tool_die(EX_SELF, "bad reply from the agent: %s", e.msg);
			int ok = rp.type == REP_PONG || rp.type == REP_STATUS;
			rep_free(&rp);
			if (!ok)
				tool_die(EX_SELF, "the agent answered: %.*s", (int)len, in.p + FRAME_HDR);
			fwrite(in.p + FRAME_HDR, 1, len, stdout);
			putchar('\n');
			tool_exit(0);
		}
		if (rep_parse(in.p + FRAME_HDR, len, &rp, &e) != 0)
			tool_die(EX_SELF, "bad reply from the agent: %s", e.msg);
		in.len -= FRAME_HDR + len;
		memmove(in.p, in.p + FRAME_HDR + len, in.len);
		switch (rp.type) {
		case REP_STDOUT:
			if (result.len + rp.len > FRAME_PAYLOAD_MAX)
				tool_die(EX_SELF, "the result exceeds 16 MiB");
			buf_put(&result, rp.data, rp.len);
			break;
		case REP_STDERR:
			fwrite(rp.data, 1, rp.len, stderr);
			fflush(stderr);
			break;
		case REP_EXIT: {
			int code = rp.code;
			rep_free(&rp);
			if (code != 0)
				exit(code >= 0 && code <= 123 ? code : EX_SELF);
			if (raw) {
				fwrite(result.p ? result.p : "", 1, result.len, stdout);
				tool_exit(0);
			}
			struct buf js = BUF_INIT;
			if (msgpack) {
				if (msgpack_to_json(result.p ? result.p : "", result.len, &js, &e) != 0)
					tool_die(EX_SELF, "the result is not valid MessagePack: %s", e.msg);
			} else if (json_canonicalize(result.p ? result.p : "", result.len, NULL, &js, &e) != 0) {
				tool_die(EX_SELF, "the result is not valid JSON: %s", e.msg);
			}
			if (rawstr && js.len >= 2 && js.p[0] == '"') {
				struct jdoc *d = json_parse(js.p, js.len, NULL, &e);
				size_t n;
				const char *s = d ? json_str(d, json_root(d), &n) : NULL;
				if (s)
					fwrite(s, 1, n, stdout);
				json_free(d);
			} else {
				fwrite(js.p, 1, js.len, stdout);
			}
			putchar('\n');
			buf_free(&js);
			tool_exit(0);
		}
		case REP_ERROR:
			fprintf(stderr, "%s: agent: %s: %s\n", progname, rp.kind,
				rp.message ? rp.message : "");
			exit(strcmp(rp.kind, ERRK_TIMEOUT) == 0 ? EX_TIMEOUT : EX_SELF);
		default:
			tool_die(EX_SELF, "unexpected reply from the agent");
		}
		rep_free(&rp);
	}
}
