/* vm-boot — admit a signed plan, boot its image as a microVM, serve its agent */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "enc.h"
#include "frame.h"
#include "json.h"
#include "tool.h"

#define AGENT_PORT 5252
#define MAX_CLIENTS 256
#define CLIENT_BUF_MAX (64u << 20)   /* bytes queued for one slow client */
#define GUEST_BUF_HIGH (4u << 20)    /* stop reading clients above this */
#define READY_STREAM 1u

static void usage(int code)
{
	fprintf(code ? stderr : stdout,
		"usage: %s [-d] [-k pubfile]... [-i imagedir] [-S statedir] [-b backend]\n"
		"       [-a accel] [-f auditlog] [-s secretfile] [--rehash] [--now time] plan.dsse.json\n"
		"       %s --print-config [-i imagedir] [-S statedir] plan.json\n"
		"Admit a signed ExecutionPlan (plan-verify), record it (audit-append), boot its\n"
		"image and serve the guest agent on a Firecracker-style vsock socket.\n"
		"  -d            detach once the agent answers; state in statedir\n"
		"  -k file       trusted public key for plan-verify (repeatable)\n"
		"  -i dir        the image: rootfs.ext4, vmlinux, mvm-meta.json (default .mvm/image/current)\n"
		"  -S dir        state directory (default .mvm/run/<plan id>)\n"
		"  -b backend    auto (default), qemu or firecracker\n"
		"  -a accel      auto (default), kvm or tcg (QEMU)\n"
		"  -f log        audit log for audit-append (default its own)\n"
		"  -s file       secret key for audit-append (default its own)\n"
		"  --rehash      hash every image file, even one unchanged since it was last\n"
		"                hashed (default: plan-verify --digest-cache)\n"
		"  --now time    check the plan's window at time (tests)\n"
		"  --print-config  print the Firecracker config for a plan and image; boot nothing\n"
		"Exit: 0 the VM ran and stopped (or -d: it is up), 1 plan refused, 2 usage,\n"
		"3 malformed input, 4 system error, 124 the agent was not ready in time,\n"
		"125 the VMM failed.\n",
		progname, progname);
	exit(code);
}

/* ---- small helpers ---- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static char self_dir[PATH_MAX - 64];

/* Our sibling tools first (a checkout's bin/), then PATH. */
static const char *tool_path(const char *name, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s", self_dir, name);
	if (self_dir[0] && access(buf, X_OK) == 0)
		return buf;
	snprintf(buf, n, "%s", name);
	return buf;
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Run argv; capture stdout into out (if not NULL) and stderr into err.
 * Returns the exit status, or -1. */
static int run_capture(char *const argv[], struct buf *out, struct buf *err)
{
	int po[2], pe[2], status;
	pid_t pid;
	struct merr e;

	if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		execvp(argv[0], argv);
		fprintf(stderr, "%s: unable to run %s: %s\n", progname, argv[0], strerror(errno));
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	/* outputs are small (a plan, a message): read one after the other */
	if (out)
		read_fd(po[0], out, &e);
	read_fd(pe[0], err, &e);
	close(po[0]);
	close(pe[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---- audit ---- */

static const char *audit_log, *audit_key, *envelope_path;

/* Record event for the plan, with one label key=value (or none). */
static void audit(const char *event, const char *key, const char *value)
{
	char tool[PATH_MAX], lab[600];
	char *argv[16];
	int n = 0, r;
	struct buf out = BUF_INIT, err = BUF_INIT;

	argv[n++] = (char *)tool_path("audit-append", tool, sizeof tool);
	argv[n++] = (char *)"-e";
	argv[n++] = (char *)event;
	argv[n++] = (char *)"-p";
	argv[n++] = (char *)envelope_path;
	if (key) {
		snprintf(lab, sizeof lab, "%s=%.500s", key, value);
		argv[n++] = (char *)"-l";
		argv[n++] = lab;
	}
	if (audit_log) {
		argv[n++] = (char *)"-f";
		argv[n++] = (char *)audit_log;
	}
	if (audit_key) {
		argv[n++] = (char *)"-s";
		argv[n++] = (char *)audit_key;
	}
	argv[n] = NULL;
	r = run_capture(argv, &out, &err);
	if (r != 0)
		fprintf(stderr, "%s: warning: audit-append %s failed: %.*s", progname, event,
			(int)err.len, err.p ? err.p : "");
	buf_free(&out);
	buf_free(&err);
}

/* plan-verify's message -> the reason part of plan.rejected.<reason> */
static const char *reject_reason(const char *msg)
{
	static const struct { const char *word, *reason; } map[] = {
		{ "already", "replayed" }, { "replay", "replayed" }, { "nonce", "replayed" },
		{ "expired", "expired" }, { "not yet valid", "not_yet_valid" },
		{ "window", "window" }, { "signature", "signature" }, { "trusted", "signature" },
		{ "payloadType", "envelope" }, { "envelope", "envelope" },
		{ "ir_hash", "digest" }, { "digest", "digest" }, { "does not match", "digest" },
		{ "schema", "schema" },
	};

	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strstr(msg, map[i].word))
			return map[i].reason;
	return "invalid";
}

/* ---- the plan ---- */

struct plan {
	char id[80];
	unsigned vcpus, memory_mb, boot_timeout;
};

static int plan_read(const char *text, size_t n, struct plan *p, struct merr *e)
{
	struct jdoc *d = json_parse(text, n, NULL, e);
	jref root, res, v;
	const char *s;
	size_t len;

	if (!d)
		return EX_DATA;
	root = json_root(d);
	res = json_get(d, root, "resources");
	v = json_get(d, root, "plan_id");
	s = v != JREF_NONE ? json_str(d, v, &len) : NULL;
	if (res == JREF_NONE || !s || len >= sizeof p->id) {
		json_free(d);
		return merr_set(e, EX_DATA, NULL, "the plan has no resources or plan_id");
	}
	memcpy(p->id, s, len);
	p->id[len] = '\0';
#define NUM(field, dst, def, max) do { \
		jref x = json_get(d, res, field); \
		double f = x != JREF_NONE ? json_num(d, x) : def; \
		if (f < 1 || f > max || f != (unsigned)f) { json_free(d); \
			return merr_set(e, EX_DATA, "/resources/" field, "out of range"); } \
		dst = (unsigned)f; } while (0)
	NUM("vcpus", p->vcpus, 1, 64);
	NUM("memory_mb", p->memory_mb, 256, 65536);
	NUM("boot_timeout_secs", p->boot_timeout, 30, 3600);
#undef NUM
	json_free(d);
	return 0;
}

/* ---- VMM command lines ---- */

struct vm {
	char state[PATH_MAX - 64], image[PATH_MAX];
	char vsock[PATH_MAX], chardev[PATH_MAX], console[PATH_MAX], fcconf[PATH_MAX];
	int firecracker, kvm;
	struct plan plan;
};

static const char *cmdline_qemu =
	"console=ttyS0 reboot=t panic=-1 root=/dev/vda ro rootfstype=ext4 init=/sbin/init quiet";
static const char *cmdline_fc =
	"console=ttyS0 reboot=k panic=1 pci=off root=/dev/vda ro rootfstype=ext4 init=/sbin/init quiet";

static void firecracker_config(const struct vm *vm, struct buf *b)
{
	char path[PATH_MAX + 32];
	struct buf j = BUF_INIT;
	struct merr e;

	buf_puts(&j, "{\"boot-source\":{\"kernel_image_path\":");
	snprintf(path, sizeof path, "%s/vmlinux", vm->image);
	json_put_str(&j, path, strlen(path));
	buf_puts(&j, ",\"boot_args\":");
	json_put_str(&j, cmdline_fc, strlen(cmdline_fc));
	buf_puts(&j, "},\"drives\":[{\"drive_id\":\"rootfs\",\"path_on_host\":");
	snprintf(path, sizeof path, "%s/rootfs.ext4", vm->image);
	json_put_str(&j, path, strlen(path));
	buf_puts(&j, ",\"is_root_device\":true,\"is_read_only\":true}],");
	buf_printf(&j, "\"machine-config\":{\"vcpu_count\":%u,\"mem_size_mib\":%u,\"smt\":false},",
		vm->plan.vcpus, vm->plan.memory_mb);
	buf_puts(&j, "\"vsock\":{\"guest_cid\":3,\"uds_path\":");
	json_put_str(&j, vm->vsock, strlen(vm->vsock));
	buf_puts(&j, "},\"logger\":{\"log_path\":");
	json_put_str(&j, vm->console, strlen(vm->console));
	buf_puts(&j, ",\"level\":\"Warning\"}}");
	json_canonicalize(j.p, j.len, NULL, b, &e);
	buf_free(&j);
}

/* A usable KVM: /dev/kvm opens and this is not a PVM host (where stock
 * guests hang under -accel kvm). */
static int kvm_usable(const char **why)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		*why = "/dev/kvm cannot be opened";
		return 0;
	}
	close(fd);
	if (access("/sys/module/kvm_pvm", F_OK) == 0) {
		*why = "this host's KVM is PVM (kvm_pvm is loaded), where stock guests hang";
		return 0;
	}
	return 1;
}

static int on_path(const char *name)
{
	const char *p = getenv("PATH");
	char buf[PATH_MAX];

	while (p && *p) {
		size_t n = strcspn(p, ":");
		snprintf(buf, sizeof buf, "%.*s/%s", (int)n, p, name);
		if (access(buf, X_OK) == 0)
			return 1;
		p += n + (p[n] == ':');
	}
	return 0;
}

static pid_t spawn_vmm(const struct vm *vm, int logfd)
{
	char mem[16], smp[16], kernel[PATH_MAX + 16], drive[PATH_MAX + 80], chr[PATH_MAX + 64];
	char serial[PATH_MAX + 16];
	const char *qemu = getenv("MVM_QEMU") ? getenv("MVM_QEMU") : "qemu-system-x86_64";
	pid_t pid;

	snprintf(mem, sizeof mem, "%u", vm->plan.memory_mb);
	snprintf(smp, sizeof smp, "%u", vm->plan.vcpus);
	snprintf(kernel, sizeof kernel, "%s/vmlinux", vm->image);
	snprintf(drive, sizeof drive, "id=root,file=%s/rootfs.ext4,format=raw,if=none,readonly=on",
		vm->image);
	snprintf(chr, sizeof chr, "socket,id=agent,path=%s,server=on,wait=off", vm->chardev);
	snprintf(serial, sizeof serial, "file:%s", vm->console);
	pid = fork();
	if (pid != 0)
		return pid;
	/* The VMM never outlives vm-boot. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	setpgid(0, 0);
	if (logfd >= 0) {
		dup2(logfd, 1);
		dup2(logfd, 2);
	}
	if (vm->firecracker) {
		char api[PATH_MAX + 16];
		snprintf(api, sizeof api, "%s/fc.api", vm->state);
		execlp("firecracker", "firecracker", "--api-sock", api, "--config-file", vm->fcconf,
			(char *)NULL);
	} else {
		execlp(qemu, qemu, "-M", "microvm,acpi=off,rtc=on", "-accel", vm->kvm ? "kvm" : "tcg",
			"-cpu", vm->kvm ? "host" : "max", "-m", mem, "-smp", smp,
			"-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
			"-kernel", kernel, "-append", cmdline_qemu,
			"-drive", drive, "-device", "virtio-blk-device,drive=root",
			"-device", "virtio-serial-device", "-chardev", chr,
			"-device", "virtserialport,chardev=agent,name=org.mvm.agent",
			"-device", "virtio-rng-device", "-serial", serial, (char *)NULL);
	}
	fprintf(stderr, "%s: unable to run the VMM: %s\n", progname, strerror(errno));
	_exit(127);
}

/* ---- the host side of the multiplexed agent port ---- */

struct client {
	int fd;
	uint32_t stream;
	int handshaken, sent_close, got_close;
	struct buf in, out;
};

static struct client clients[MAX_CLIENTS];
static int nclients;
static uint32_t next_stream = READY_STREAM + 1;
static struct buf gout = BUF_INIT;   /* records to the guest */
static struct buf gin = BUF_INIT;    /* records from the guest */
static struct buf ready_in = BUF_INIT;
static int hello_seen, ready;
static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

static void drop_client(int i)
{
	struct client *c = &clients[i];

	if (c->handshaken && !c->sent_close && hello_seen)
		mux_put(&gout, c->stream, MUX_CLOSE, NULL, 0);
	close(c->fd);
	buf_free(&c->in);
	buf_free(&c->out);
	clients[i] = clients[--nclients];
}

static struct client *find_stream(uint32_t id)
{
	for (int i = 0; i < nclients; i++)
		if (clients[i].handshaken && clients[i].stream == id)
			return &clients[i];
	return NULL;
}

static void send_ping(void)
{
	struct buf f = BUF_INIT;

	req_put_ping(&f);
	mux_put(&gout, READY_STREAM, MUX_OPEN, NULL, 0);
	mux_put(&gout, READY_STREAM, MUX_DATA, f.p, f.len);
	buf_free(&f);
}

/* Handle the records from the guest. */
static int guest_records(struct merr *e)
{
	size_t off = 0, need;
	struct mux_rec r;
	int st;

	while ((st = mux_parse(gin.p + off, gin.len - off, &r, &need, e)) == MUX_OK) {
		off += r.size;
		if (r.kind == MUX_HELLO) {
			/* (re)start: every stream is gone */
			for (int i = nclients - 1; i >= 0; i--)
				if (clients[i].handshaken) {
					clients[i].sent_close = 1;
					drop_client(i);
				}
			hello_seen = 1;
			if (!ready) {
				buf_free(&ready_in);
				send_ping();
			}
			continue;
		}
		if (r.stream == READY_STREAM) {
			uint32_t len;
			size_t nd;
			struct rep rp;
			struct merr e2;

			if (r.kind != MUX_DATA)
				continue;
			buf_put(&ready_in, r.data, r.len);
			if (frame_parse(ready_in.p, ready_in.len, FRAME_MAX, &len, &nd) == FRAME_OK &&
			    rep_parse(ready_in.p + FRAME_HDR, len, &rp, &e2) == 0) {
				if (rp.type == REP_PONG && !ready) {
					ready = 1;
					mux_put(&gout, READY_STREAM, MUX_CLOSE, NULL, 0);
				}
				rep_free(&rp);
			}
			continue;
		}
		struct client *c = find_stream(r.stream);
		if (!c)
			continue;
		if (r.kind == MUX_DATA) {
			if (c->out.len + r.len > CLIENT_BUF_MAX) {
				drop_client((int)(c - clients));
				continue;
			}
			buf_put(&c->out, r.data, r.len);
		} else if (r.kind == MUX_CLOSE) {
			c->got_close = 1;
		}
	}
	if (st == MUX_BAD)
		return EX_DATA;
	gin.len -= off;
	memmove(gin.p, gin.p + off, gin.len);
	return 0;
}

static void client_input(struct client *c, int idx)
{
	ssize_t n;

	if (buf_reserve(&c->in, 65536) < 0) {
		drop_client(idx);
		return;
	}
	n = read(c->fd, c->in.p + c->in.len, MUX_DATA_MAX);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		if (!c->handshaken) {
			drop_client(idx);
			return;
		}
		if (!c->sent_close) {
			mux_put(&gout, c->stream, MUX_CLOSE, NULL, 0);
			c->sent_close = 1;
		}
		if (c->got_close && c->out.len == 0)
			drop_client(idx);
		return;
	}
	c->in.len += (size_t)n;
	if (!c->handshaken) {
		char *nl = memchr(c->in.p, '\n', c->in.len);
		char reply[32];

		if (!nl) {
			if (c->in.len > 64)
				drop_client(idx);
			return;
		}
		*nl = '\0';
		if (strcmp(c->in.p, "CONNECT 5252") != 0 || !ready) {
			drop_client(idx);
			return;
		}
		c->handshaken = 1;
		c->stream = next_stream++;
		if (next_stream == 0)
			next_stream = READY_STREAM + 1;
		snprintf(reply, sizeof reply, "OK %u\n", c->stream);
		buf_puts(&c->out, reply);
		mux_put(&gout, c->stream, MUX_OPEN, NULL, 0);
		size_t rest = c->in.len - (size_t)(nl + 1 - c->in.p);
		memmove(c->in.p, nl + 1, rest);
		c->in.len = rest;
	}
	if (c->in.len > 0 && !c->sent_close) {
		mux_put(&gout, c->stream, MUX_DATA, c->in.p, c->in.len);
		c->in.len = 0;
	}
}

/* Write what is queued to fd; 0, or -1 on a hard error. */
static int drain(int fd, struct buf *b)
{
	ssize_t n;

	while (b->len > 0) {
		n = write(fd, b->p, b->len);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			return -1;
		}
		b->len -= (size_t)n;
		memmove(b->p, b->p + n, b->len);
	}
	return 0;
}

static int listen_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof sa.sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 64) < 0)
		return -1;
	return fd;
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (strlen(path) >= sizeof sa.sun_path) {
		close(fd);
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Seconds of guest uptime when init started the agent, from the console
 * line "mvm-init: agent started at <uptime>"; -1 if absent. */
static double guest_ready_time(const char *console)
{
	struct buf b = BUF_INIT;
	struct merr e;
	double t = -1;
	char *p;

	if (read_file(console, &b, &e) == 0 && buf_cstr(&b) &&
	    (p = strstr(b.p, "mvm-init: agent started at ")) != NULL)
		t = strtod(p + strlen("mvm-init: agent started at "), NULL);
	buf_free(&b);
	return t;
}

static void announce_ready(const struct vm *vm, double t0, int *readyfd)
{
	double host = now_s() - t0, guest = guest_ready_time(vm->console);

	fprintf(stderr, "%s: agent ready after %.3f s (host)", progname, host);
	if (guest >= 0)
		fprintf(stderr, "; guest init started it %.3f s after kernel start", guest);
	fprintf(stderr, "\n");
	audit("plan.launched", NULL, NULL);
	if (*readyfd >= 0) {
		char ok = 0;
		if (write(*readyfd, &ok, 1) < 0)
			{ /* the parent is gone: keep serving */ }
		close(*readyfd);
		*readyfd = -1;
	} else {
		printf("%s\n", vm->vsock);
		fflush(stdout);
	}
}

/* Ask the agent for a shutdown (through the mux, or Firecracker's vsock
 * socket) and wait up to GUEST_STOP_SECS for the VMM to exit: 0 if it did,
 * -1 if not. */
#define GUEST_STOP_SECS 5
static int guest_shutdown(const struct vm *vm, int gfd, pid_t vmm, int *status)
{
	struct buf f = BUF_INIT;
	double end = now_s() + GUEST_STOP_SECS;
	int fd = -1;

	req_put_shutdown(&f);
	if (vm->firecracker) {
		fd = connect_unix(vm->vsock);
		if (fd >= 0 && (write_all(fd, "CONNECT 5252\n", 13) < 0 || write_all(fd, f.p, f.len) < 0)) {
			close(fd);
			fd = -1;
		}
	} else if (gfd >= 0) {
		uint32_t id = next_stream++;
		mux_put(&gout, id, MUX_OPEN, NULL, 0);
		mux_put(&gout, id, MUX_DATA, f.p, f.len);
	}
	buf_free(&f);
	while (now_s() < end) {
		if (waitpid(vmm, status, WNOHANG) == vmm) {
			if (fd >= 0)
				close(fd);
			return 0;
		}
		/* keep the guest's stream moving both ways; its output is dropped */
		if (!vm->firecracker && gfd >= 0) {
			char sink[4096];
			if (gout.len)
				drain(gfd, &gout);
			while (read(gfd, sink, sizeof sink) > 0)
				;
		}
		usleep(10000);
	}
	if (fd >= 0)
		close(fd);
	return -1;
}

/* One ping through a Firecracker vsock socket: 1 if the agent answered. */
static int fc_ping(const char *path)
{
	struct buf b = BUF_INIT, in = BUF_INIT;
	int fd = connect_unix(path), ok = 0;
	struct pollfd p;
	double end = now_s() + 2;

	if (fd < 0)
		return 0;
	buf_puts(&b, "CONNECT 5252\n");
	req_put_ping(&b);
	if (write_all(fd, b.p, b.len) == 0) {
		p.fd = fd;
		p.events = POLLIN;
		while (now_s() < end && poll(&p, 1, 200) >= 0) {
			ssize_t n;
			char *nl;
			uint32_t len;
			size_t need;
			struct rep rp;
			struct merr e;

			if (!(p.revents & POLLIN) || buf_reserve(&in, 4096) < 0)
				continue;
			n = read(fd, in.p + in.len, 4096);
			if (n <= 0)
				break;
			in.len += (size_t)n;
			nl = memchr(in.p, '\n', in.len);
			if (!nl)
				continue;
			size_t off = (size_t)(nl + 1 - in.p);
			if (frame_parse(in.p + off, in.len - off, FRAME_MAX, &len, &need) == FRAME_OK) {
				if (rep_parse(in.p + off + FRAME_HDR, len, &rp, &e) == 0) {
					ok = rp.type == REP_PONG;
					rep_free(&rp);
				}
				break;
			}
		}
	}
	close(fd);
	buf_free(&b);
	buf_free(&in);
	return ok;
}

static void cleanup(const struct vm *vm)
{
	unlink(vm->vsock);
	unlink(vm->chardev);
	char pidf[PATH_MAX + 8];
	snprintf(pidf, sizeof pidf, "%s/pid", vm->state);
	unlink(pidf);
}

int main(int argc, char **argv)
{
	struct vm vm = { 0 };
	const char *image = ".mvm/image/current", *state = NULL, *backend = "auto", *accel = "auto";
	const char *now = NULL, *why = "";
	const char *keys[32];
	int nkeys = 0, detach = 0, print_config = 0, rehash = 0, c, r, readyfd = -1;
	struct buf planjs = BUF_INIT, err = BUF_INIT;
	struct merr e;
	enum { O_NOW = 256, O_PRINT_CONFIG, O_REHASH };
	static const struct option lopts[] = {
		{ "now", required_argument, NULL, O_NOW },
		{ "rehash", no_argument, NULL, O_REHASH },
		{ "print-config", no_argument, NULL, O_PRINT_CONFIG },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char tool[PATH_MAX];
	ssize_t sl;

	tool_init(argv);
	sl = readlink("/proc/self/exe", self_dir, sizeof self_dir - 1);
	if (sl > 0 && (size_t)sl < sizeof self_dir - 1) {
		self_dir[sl] = '\0';
		*strrchr(self_dir, '/') = '\0';
	}
	while ((c = getopt_long(argc, argv, "dk:i:S:b:a:f:s:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'd': detach = 1; break;
		case 'k':
			if (nkeys == 32)
				tool_die(EX_USAGE, "-k: at most 32 keys");
			keys[nkeys++] = optarg;
			break;
		case 'i': image = optarg; break;
		case 'S': state = optarg; break;
		case 'b': backend = optarg; break;
		case 'a': accel = optarg; break;
		case 'f': audit_log = optarg; break;
		case 's': audit_key = optarg; break;
		case O_NOW: now = optarg; break;
		case O_PRINT_CONFIG: print_config = 1; break;
		case O_REHASH: rehash = 1; break;
		case 'h': usage(0);
		/* fallthrough */
		default: usage(EX_USAGE);
		}
	}
	if (argc - optind != 1)
		usage(EX_USAGE);
	envelope_path = argv[optind];
	if (strcmp(backend, "auto") && strcmp(backend, "qemu") && strcmp(backend, "firecracker"))
		tool_die(EX_USAGE, "-b: auto, qemu or firecracker, not %s", backend);
	if (strcmp(accel, "auto") && strcmp(accel, "kvm") && strcmp(accel, "tcg"))
		tool_die(EX_USAGE, "-a: auto, kvm or tcg, not %s", accel);
	if (!realpath(image, vm.image))
		tool_die(EX_SYS, "%s: no image directory: %s", image, strerror(errno));

	if (print_config) {
		/* A plan (not signed): the Firecracker config vm-boot would use. */
		if (read_file(envelope_path, &planjs, &e) != 0)
			tool_fail(envelope_path, &e);
		if (plan_read(planjs.p ? planjs.p : "", planjs.len, &vm.plan, &e) != 0)
			tool_fail(envelope_path, &e);
		snprintf(vm.state, sizeof vm.state, "%s", state ? state : ".mvm/run/vm");
		snprintf(vm.vsock, sizeof vm.vsock, "%s/v.sock", vm.state);
		snprintf(vm.console, sizeof vm.console, "%s/console.log", vm.state);
		struct buf out = BUF_INIT;
		firecracker_config(&vm, &out);
		fwrite(out.p, 1, out.len, stdout);
		putchar('\n');
		tool_exit(0);
	}

	/* 1. Admission: plan-verify decides; every outcome is audited. */
	{
		char *av[80];
		int n = 0;

		av[n++] = (char *)tool_path("plan-verify", tool, sizeof tool);
		for (int i = 0; i < nkeys; i++) {
			av[n++] = (char *)"-k";
			av[n++] = (char *)keys[i];
		}
		av[n++] = (char *)"--image";
		av[n++] = vm.image;
		if (!rehash)
			av[n++] = (char *)"--digest-cache";
		if (now) {
			av[n++] = (char *)"--now";
			av[n++] = (char *)now;
		}
		av[n++] = (char *)envelope_path;
		av[n] = NULL;
		r = run_capture(av, &planjs, &err);
		if (r != 0) {
			char ev[64];
			buf_cstr(&err);
			fprintf(stderr, "%.*s", (int)err.len, err.p ? err.p : "");
			if (r == EX_NO) {
				char *nl = err.p ? strchr(err.p, '\n') : NULL;
				if (nl)
					*nl = '\0';
				snprintf(ev, sizeof ev, "plan.rejected.%s", reject_reason(err.p ? err.p : ""));
				audit(ev, "reason", err.p ? err.p : "refused");
				tool_die(EX_NO, "%s: not admitted; nothing booted", envelope_path);
			}
			tool_die(r > 0 && r < 5 ? r : EX_SYS, "%s: plan-verify failed; nothing booted",
				envelope_path);
		}
	}
	if (plan_read(planjs.p ? planjs.p : "", planjs.len, &vm.plan, &e) != 0)
		tool_fail(envelope_path, &e);
	/* how the image's digests were checked: each file hashed now, or
	 * some taken from plan-verify's digest cache (it says so) */
	buf_cstr(&err);
	audit("plan.admitted", "digests", err.p && strstr(err.p, "digests are from") ?
		"cached" : "hashed");

	/* 2. State directory and backend. */
	{
		char short_id[24];
		const char *id = strncmp(vm.plan.id, "sha256:", 7) == 0 ? vm.plan.id + 7 : vm.plan.id;
		snprintf(short_id, sizeof short_id, "%.16s", id);
		if (state)
			snprintf(vm.state, sizeof vm.state, "%s", state);
		else
			snprintf(vm.state, sizeof vm.state, ".mvm/run/%s", short_id);
		if (mkdir_p(vm.state, 0700, &e) != 0)
			tool_fail(NULL, &e);
		char abs[PATH_MAX];
		if (!realpath(vm.state, abs))
			tool_die(EX_SYS, "%s: %s", vm.state, strerror(errno));
		if (strlen(abs) >= sizeof vm.state - 1 || strlen(abs) + 10 > 107)
			tool_die(EX_USAGE, "%s: state directory path too long for a socket (max 97 bytes)", abs);
		memcpy(vm.state, abs, strlen(abs) + 1);
	}
	snprintf(vm.vsock, sizeof vm.vsock, "%s/v.sock", vm.state);
	snprintf(vm.chardev, sizeof vm.chardev, "%s/agent.serial", vm.state);
	snprintf(vm.console, sizeof vm.console, "%s/console.log", vm.state);
	snprintf(vm.fcconf, sizeof vm.fcconf, "%s/firecracker.json", vm.state);
	{
		char p[PATH_MAX + 16];
		snprintf(p, sizeof p, "%s/plan.json", vm.state);
		if (write_atomic(p, planjs.p, planjs.len, 0600, &e) != 0)
			tool_fail(p, &e);
	}
	if (strcmp(backend, "firecracker") == 0 || (strcmp(backend, "auto") == 0 && on_path("firecracker") &&
	    kvm_usable(&why))) {
		if (!on_path("firecracker"))
			tool_die(EX_SELF, "-b firecracker: firecracker is not on PATH");
		vm.firecracker = 1;
		struct buf cfg = BUF_INIT;
		firecracker_config(&vm, &cfg);
		if (write_atomic(vm.fcconf, cfg.p, cfg.len, 0600, &e) != 0)
			tool_fail(vm.fcconf, &e);
		buf_free(&cfg);
	} else {
		vm.kvm = strcmp(accel, "kvm") == 0 || (strcmp(accel, "auto") == 0 && kvm_usable(&why));
		if (strcmp(accel, "auto") == 0 && !vm.kvm)
			fprintf(stderr, "%s: using TCG (software emulation): %s\n", progname, why);
	}

	/* 3. Detach: the parent waits for readiness and reports it. */
	if (detach) {
		int pfd[2];
		char logp[PATH_MAX + 16];
		pid_t child;

		if (pipe2(pfd, O_CLOEXEC) < 0)
			tool_die(EX_SYS, "unable to create a pipe: %s", strerror(errno));
		fflush(stdout);
		child = fork();
		if (child < 0)
			tool_die(EX_SYS, "unable to fork: %s", strerror(errno));
		if (child > 0) {
			char st = 0;
			close(pfd[1]);
			if (read(pfd[0], &st, 1) != 1)
				st = (char)EX_SELF;
			if (st == 0) {
				printf("%s\n", vm.vsock);
				tool_exit(0);
			}
			fprintf(stderr, "%s: the VM did not come up; see %s/vm-boot.log\n", progname,
				vm.state);
			exit((unsigned char)st);
		}
		close(pfd[0]);
		readyfd = pfd[1];
		setsid();
		snprintf(logp, sizeof logp, "%s/vm-boot.log", vm.state);
		int lfd = open(logp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		int nfd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (lfd >= 0) {
			dup2(lfd, 1);
			dup2(lfd, 2);
		}
		if (nfd >= 0)
			dup2(nfd, 0);
	}
	{
		char p[PATH_MAX + 8];
		char pidtext[32];
		snprintf(p, sizeof p, "%s/pid", vm.state);
		snprintf(pidtext, sizeof pidtext, "%ld\n", (long)getpid());
		if (write_atomic(p, pidtext, strlen(pidtext), 0600, &e) != 0)
			tool_fail(p, &e);
	}

	/* 4. Boot. */
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	unlink(vm.chardev);
	/* Firecracker makes its vsock socket itself; for QEMU vm-boot does. */
	int lsock = vm.firecracker ? -2 : listen_unix(vm.vsock);
	if (lsock == -1)
		tool_die(EX_SYS, "%s: unable to listen: %s", vm.vsock, strerror(errno));
	double t0 = now_s(), deadline = t0 + vm.plan.boot_timeout;
	int vmmlog;
	{
		char p[PATH_MAX + 16];
		snprintf(p, sizeof p, "%s/vmm.log", vm.state);
		vmmlog = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	}
	pid_t vmm = spawn_vmm(&vm, vmmlog);
	if (vmm < 0)
		tool_die(EX_SYS, "unable to start the VMM: %s", strerror(errno));
	fprintf(stderr, "%s: booting %s (%s, %u vCPU, %u MiB); boot timeout %u s\n", progname,
		vm.plan.id, vm.firecracker ? "firecracker" : vm.kvm ? "qemu/kvm" : "qemu/tcg",
		vm.plan.vcpus, vm.plan.memory_mb, vm.plan.boot_timeout);

	int gfd = -1, status = 0, exit_code = 0, vmm_gone = 0;
	const char *fail = NULL;
	while (!vm.firecracker && gfd < 0 && now_s() < deadline && !got_signal) {
		gfd = connect_unix(vm.chardev);
		if (gfd < 0) {
			if (waitpid(vmm, &status, WNOHANG) == vmm) {
				vmm_gone = 1;
				break;
			}
			usleep(10000);
		}
	}
	if (gfd >= 0)
		set_nonblock(gfd);
	if (vm.firecracker) {
		/* Ready when the agent answers a ping through Firecracker's socket. */
		while (!got_signal && !fail) {
			if (waitpid(vmm, &status, WNOHANG) == vmm) {
				vmm_gone = 1;
				fail = "the VMM exited during boot (see vmm.log)";
				break;
			}
			if (now_s() > deadline) {
				fail = "the agent did not answer within boot_timeout_secs";
				exit_code = EX_TIMEOUT;
				break;
			}
			if (fc_ping(vm.vsock)) {
				ready = 1;
				announce_ready(&vm, t0, &readyfd);
				break;
			}
			usleep(100000);
		}
		/* supervise until a signal or the VMM exits */
		while (!fail && !got_signal && waitpid(vmm, &status, WNOHANG) != vmm)
			usleep(100000);
		if (!fail && !got_signal)
			vmm_gone = 1;
	} else if (vmm_gone)
		fail = "the VMM exited during boot (see vmm.log)";
	else if (gfd < 0 && !got_signal)
		fail = "the VMM's agent port did not appear";

	/* 5. Serve until a signal or the guest stops. */
	while (!vm.firecracker && !fail && !got_signal) {
		struct pollfd pf[MAX_CLIENTS + 2];
		int np = 0, timeout = 200;

		pf[np++] = (struct pollfd){ gfd, POLLIN | (gout.len ? POLLOUT : 0), 0 };
		pf[np++] = (struct pollfd){ lsock, nclients < MAX_CLIENTS ? POLLIN : 0, 0 };
		for (int i = 0; i < nclients; i++) {
			short ev = clients[i].out.len ? POLLOUT : 0;
			if (gout.len < GUEST_BUF_HIGH && !clients[i].sent_close)
				ev |= POLLIN;
			pf[np++] = (struct pollfd){ clients[i].fd, ev, 0 };
		}
		if (poll(pf, (nfds_t)np, timeout) < 0 && errno != EINTR)
			break;
		if (waitpid(vmm, &status, WNOHANG) == vmm) {
			vmm_gone = 1;
			break;
		}
		if (!ready && now_s() > deadline) {
			fail = "the agent did not answer within boot_timeout_secs";
			exit_code = EX_TIMEOUT;
			break;
		}
		if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n;
			if (buf_reserve(&gin, 65536 + MUX_HDR) < 0)
				break;
			n = read(gfd, gin.p + gin.len, gin.cap - gin.len - 1);
			if (n == 0) {
				/* the guest side went away; QEMU is exiting */
				usleep(100000);
				continue;
			}
			if (n > 0) {
				gin.len += (size_t)n;
				int was_ready = ready;
				if (guest_records(&e) != 0) {
					fprintf(stderr, "%s: bad record from the guest: %s\n", progname, e.msg);
					gin.len = 0;
				}
				if (ready && !was_ready)
					announce_ready(&vm, t0, &readyfd);
			}
		}
		if (pf[0].revents & POLLOUT)
			if (drain(gfd, &gout) < 0)
				break;
		if (pf[1].revents & POLLIN) {
			int cfd = accept4(lsock, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			if (cfd >= 0) {
				memset(&clients[nclients], 0, sizeof clients[nclients]);
				clients[nclients].fd = cfd;
				clients[nclients].in = (struct buf)BUF_INIT;
				clients[nclients].out = (struct buf)BUF_INIT;
				nclients++;
			}
		}
		/* clients: walk backwards, drop_client moves the last one into i */
		for (int i = np - 3; i >= 0; i--) {
			struct pollfd *p = &pf[i + 2];
			if (i >= nclients || clients[i].fd != p->fd)
				continue;
			if (p->revents & POLLOUT && drain(clients[i].fd, &clients[i].out) < 0) {
				drop_client(i);
				continue;
			}
			if (p->revents & (POLLIN | POLLHUP | POLLERR)) {
				client_input(&clients[i], i);
				continue;
			}
		}
		for (int i = nclients - 1; i >= 0; i--) {
			struct client *cl = &clients[i];
			if (cl->got_close && cl->out.len == 0) {
				if (cl->sent_close)
					drop_client(i);
				else
					shutdown(cl->fd, SHUT_WR);
			}
		}
		if (gout.len && drain(gfd, &gout) < 0)
			break;
	}

	/* 6. Stop: a signal first asks the guest to shut down (the agent exits
	 * 80; init stops it, syncs the data drive and reboots, so the VMM
	 * exits) for up to GUEST_STOP_SECS; then SIGTERM to the VMM, SIGKILL
	 * after 5 s.  No VMM process, socket or client is left. */
	if (!vmm_gone && ready && got_signal &&
	    guest_shutdown(&vm, gfd, vmm, &status) == 0)
		vmm_gone = 1;
	if (!vmm_gone) {
		kill(vmm, SIGTERM);
		for (int i = 0; i < 500 && waitpid(vmm, &status, WNOHANG) != vmm; i++)
			usleep(10000);
		if (kill(vmm, 0) == 0) {
			kill(-vmm, SIGKILL);
			kill(vmm, SIGKILL);
			waitpid(vmm, &status, 0);
		}
	}
	while (nclients)
		drop_client(nclients - 1);
	if (lsock >= 0)
		close(lsock);
	if (gfd >= 0)
		close(gfd);
	cleanup(&vm);
	if (fail) {
		char sc[PATH_MAX + 80];
		fprintf(stderr, "%s: %s\n", progname, fail);
		snprintf(sc, sizeof sc, "%s", fail);
		audit("plan.failed", "reason", sc);
		if (!exit_code)
			exit_code = EX_SELF;
		if (readyfd >= 0) {
			char st = (char)exit_code;
			if (write(readyfd, &st, 1) < 0)
				{ /* parent gone */ }
		}
		exit(exit_code);
	}
	if (vmm_gone) {
		if (!ready) {
			audit("plan.failed", "reason", "the VMM exited before the agent was ready");
			if (readyfd >= 0) {
				char st = (char)EX_SELF;
				if (write(readyfd, &st, 1) < 0)
					{ /* parent gone */ }
			}
			fprintf(stderr, "%s: the VMM exited before the agent was ready (see %s/vmm.log)\n",
				progname, vm.state);
			exit(EX_SELF);
		}
		int code = WIFEXITED(status) ? WEXITSTATUS(status) : EX_SELF;
		fprintf(stderr, "%s: the VM stopped (VMM status %d)\n", progname, code);
		tool_exit(code <= 123 ? code : EX_SELF);
	}
	fprintf(stderr, "%s: stopped by signal %d\n", progname, (int)got_signal);
	tool_exit(0);
}
