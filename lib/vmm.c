/* vmm.c — choosing, configuring and starting QEMU or Firecracker (vmm.h) */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "frame.h"
#include "json.h"
#include "muxhost.h"
#include "vsock.h"
#include "vmm.h"
#include "monoclock.h"

const char vmm_cmdline_qemu[] =
	"console=ttyS0 reboot=t panic=-1 root=/dev/vda ro rootfstype=ext4 init=/sbin/init quiet";
const char vmm_cmdline_firecracker[] =
	"console=ttyS0 reboot=k panic=1 pci=off root=/dev/vda ro rootfstype=ext4 init=/sbin/init quiet";

void vmm_cmdline(const struct vmm *vm, char out[VMM_CMDLINE_MAX])
{
	const char *base = vm->kind == VMM_FIRECRACKER ? vmm_cmdline_firecracker : vmm_cmdline_qemu;
	const char *root = strstr(base, "root=/dev/vda ");
	const char *net = vm->net && vm->net->nic ? " " NETCFG_GUEST_ARGS : "";
	const char *tcg = vm->kind == VMM_QEMU && !vm->kvm && vm->vcpus == 1 ? VMM_CMDLINE_TCG : "";
	char dm[512];

	if (!vm->verity || !root) {
		snprintf(out, VMM_CMDLINE_MAX, "%s%s%s", base, tcg, net);
		return;
	}
	verity_cmdline(vm->verity, "/dev/vda", dm, sizeof dm);
	snprintf(out, VMM_CMDLINE_MAX, "%.*sdm-mod.waitfor=/dev/vda %s %s%s%s", (int)(root - base),
		base, dm, root + strlen("root=/dev/vda "), tcg, net);
}

int vmm_paths(struct vmm *vm, const char *state, struct merr *e)
{
	if (strlen(state) > VMM_STATE_MAX)
		return merr_set(e, EX_USAGE, NULL,
			"%s: state directory path too long for a socket (max %u bytes)", state,
			VMM_STATE_MAX);
	snprintf(vm->state, sizeof vm->state, "%s", state);
	snprintf(vm->vsock, sizeof vm->vsock, "%s/v.sock", state);
	snprintf(vm->chardev, sizeof vm->chardev, "%s/agent.serial", state);
	snprintf(vm->api, sizeof vm->api, "%s/fc.api", state);
	snprintf(vm->console, sizeof vm->console, "%s/console.log", state);
	snprintf(vm->fcconf, sizeof vm->fcconf, "%s/firecracker.json", state);
	return 0;
}

int vmm_kvm_usable(const char **why)
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

int vmm_on_path(const char *name)
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

int vmm_choose(struct vmm *vm, const char *backend, const char *accel, const char **note,
	struct merr *e)
{
	const char *why = "";

	*note = NULL;
	if (strcmp(backend, "auto") && strcmp(backend, "qemu") && strcmp(backend, "firecracker"))
		return merr_set(e, EX_USAGE, NULL, "-b: auto, qemu or firecracker, not %s", backend);
	if (strcmp(accel, "auto") && strcmp(accel, "kvm") && strcmp(accel, "tcg"))
		return merr_set(e, EX_USAGE, NULL, "-a: auto, kvm or tcg, not %s", accel);
	if (strcmp(backend, "firecracker") == 0 ||
	    (strcmp(backend, "auto") == 0 && vmm_on_path("firecracker") && vmm_kvm_usable(&why))) {
		if (!vmm_on_path("firecracker"))
			return merr_set(e, EX_SELF, NULL, "-b firecracker: firecracker is not on PATH");
		vm->kind = VMM_FIRECRACKER;
		return 0;
	}
	vm->kind = VMM_QEMU;
	vm->kvm = strcmp(accel, "kvm") == 0 || (strcmp(accel, "auto") == 0 && vmm_kvm_usable(&why));
	if (strcmp(accel, "auto") == 0 && !vm->kvm)
		*note = why;
	return 0;
}

const char *vmm_name(const struct vmm *vm)
{
	return vm->kind == VMM_FIRECRACKER ? "firecracker" : vm->kvm ? "qemu/kvm" : "qemu/tcg";
}

void vmm_firecracker_config(const struct vmm *vm, struct buf *b)
{
	char path[PATH_MAX + 32], cmdline[VMM_CMDLINE_MAX];
	struct buf j = BUF_INIT;
	struct merr e;

	buf_puts(&j, "{\"boot-source\":{\"kernel_image_path\":");
	snprintf(path, sizeof path, "%s/vmlinux", vm->image);
	json_put_str(&j, path, strlen(path));
	buf_puts(&j, ",\"boot_args\":");
	vmm_cmdline(vm, cmdline);
	json_put_str(&j, cmdline, strlen(cmdline));
	buf_puts(&j, "},\"drives\":[{\"drive_id\":\"rootfs\",\"path_on_host\":");
	snprintf(path, sizeof path, "%s/rootfs.ext4", vm->image);
	json_put_str(&j, path, strlen(path));
	buf_puts(&j, ",\"is_root_device\":true,\"is_read_only\":true}");
	for (unsigned i = 0; i < vm->ndrives; i++) {
		buf_printf(&j, ",{\"drive_id\":\"%s\",\"path_on_host\":", vm->drive[i].role);
		json_put_str(&j, vm->drive[i].path, strlen(vm->drive[i].path));
		buf_printf(&j, ",\"is_root_device\":false,\"is_read_only\":%s}",
			vm->drive[i].readonly ? "true" : "false");
	}
	buf_puts(&j, "],");
	if (vm->net && vm->net->nic) {
		buf_puts(&j, "\"network-interfaces\":[{\"iface_id\":\"eth0\",\"host_dev_name\":");
		json_put_str(&j, vm->net->tap, strlen(vm->net->tap));
		buf_puts(&j, "}],");
	}
	buf_printf(&j, "\"machine-config\":{\"vcpu_count\":%u,\"mem_size_mib\":%u,\"smt\":false},",
		vm->vcpus, vm->memory_mb);
	buf_puts(&j, "\"vsock\":{\"guest_cid\":3,\"uds_path\":");
	json_put_str(&j, vm->vsock, strlen(vm->vsock));
	buf_puts(&j, "},\"logger\":{\"log_path\":");
	json_put_str(&j, vm->console, strlen(vm->console));
	buf_puts(&j, ",\"level\":\"Warning\"}}");
	json_canonicalize(j.p, j.len, NULL, b, &e);
	buf_free(&j);
}

int vmm_add_drive(struct vmm *vm, const char *path, const char *role, int readonly,
	struct merr *e)
{
	size_t n = strlen(role);
	struct vmm_drive *d;

	if (n == 0 || n > VMM_ROLE_MAX || strspn(role, "abcdefghijklmnopqrstuvwxyz0123456789_") != n ||
	    !strcmp(role, "root") || !strcmp(role, "rootfs"))
		return merr_set(e, EX_USAGE, NULL, "drive role \"%.32s\": 1 to %u of [a-z0-9_], "
			"not root or rootfs", role, VMM_ROLE_MAX);
	for (unsigned i = 0; i < vm->ndrives; i++)
		if (!strcmp(vm->drive[i].role, role))
			return merr_set(e, EX_USAGE, NULL, "drive role %s attached twice", role);
	if (vm->ndrives == VMM_DRIVES_MAX)
		return merr_set(e, EX_USAGE, NULL, "more than %u drives", VMM_DRIVES_MAX);
	d = &vm->drive[vm->ndrives];
	if (!realpath(path, d->path))
		return merr_sys(e, path);
	snprintf(d->role, sizeof d->role, "%s", role);
	d->readonly = readonly;
	vm->ndrives++;
	return 0;
}

void vmm_argv_free(struct vmm_argv *a)
{
	for (int i = 0; i < a->argc; i++)
		free(a->argv[i]);
	a->argc = 0;
	a->argv[0] = NULL;
}

/* Append a printf'd argument (an overlong vector or no memory: *oom). */
__attribute__((format(printf, 3, 4)))
static void arg(struct vmm_argv *a, int *oom, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (a->argc >= (int)VMM_ARGV_MAX || vasprintf(&s, fmt, ap) < 0)
		*oom = 1, s = NULL;
	va_end(ap);
	if (s)
		a->argv[a->argc++] = s;
	a->argv[a->argc] = NULL;
}

int vmm_qemu_argv(const struct vmm *vm, const struct vmm_fds *q, struct vmm_argv *a,
	struct merr *e)
{
	static const char *const fixed1[] = { "-nodefaults", "-no-user-config", "-nographic",
		"-no-reboot", "-monitor", "none", "-sandbox",
		"on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny", NULL };
	char cmdline[VMM_CMDLINE_MAX];
	int oom = 0;

	a->argc = 0;
	a->argv[0] = NULL;
	vmm_cmdline(vm, cmdline);
	arg(a, &oom, "%s", vm->qemu ? vm->qemu : "qemu-system-x86_64");
	arg(a, &oom, "-M");
	arg(a, &oom, "microvm,acpi=off,rtc=on");
	arg(a, &oom, "-accel");
	arg(a, &oom, "%s", vm->kvm ? "kvm" : "tcg");
	arg(a, &oom, "-cpu");
	arg(a, &oom, "%s", vm->kvm ? "host" : "max");
	arg(a, &oom, "-m");
	arg(a, &oom, "%u", vm->memory_mb);
	arg(a, &oom, "-smp");
	arg(a, &oom, "%u", vm->vcpus);
	for (const char *const *f = fixed1; *f; f++)
		arg(a, &oom, "%s", *f);
	/* fdset 1 the root, 2 the console, 3 + i the i-th drive */
	arg(a, &oom, "-add-fd");
	arg(a, &oom, "fd=%d,set=1", q->root);
	arg(a, &oom, "-add-fd");
	arg(a, &oom, "fd=%d,set=2", q->console);
	for (unsigned i = 0; i < vm->ndrives; i++) {
		arg(a, &oom, "-add-fd");
		arg(a, &oom, "fd=%d,set=%u", q->drive[i], 3 + i);
		if (!vm->drive[i].readonly) {
			arg(a, &oom, "-add-fd");
			arg(a, &oom, "fd=%d,set=%u", q->drive_ro[i], 3 + i);
		}
	}
	arg(a, &oom, "-kernel");
	arg(a, &oom, "/proc/self/fd/%d", q->kernel);
	arg(a, &oom, "-append");
	arg(a, &oom, "%s", cmdline);
	arg(a, &oom, "-drive");
	arg(a, &oom, "id=root,file=/dev/fdset/1,format=raw,if=none,readonly=on");
	arg(a, &oom, "-device");
	arg(a, &oom, "virtio-blk-device,drive=root");
	for (unsigned i = 0; i < vm->ndrives; i++) {
		const struct vmm_drive *d = &vm->drive[i];

		arg(a, &oom, "-drive");
		arg(a, &oom, "file=/dev/fdset/%u,if=none,format=raw,id=d-%s%s", 3 + i, d->role,
			d->readonly ? ",readonly=on" : "");
		arg(a, &oom, "-device");
		arg(a, &oom, "virtio-blk-device,drive=d-%s,serial=mvm-%s", d->role, d->role);
	}
	arg(a, &oom, "-device");
	arg(a, &oom, "virtio-serial-device,max_ports=2"); /* port 0 and ours (vmm.h) */
	arg(a, &oom, "-chardev");
	arg(a, &oom, "socket,id=agent,fd=%d,server=on,wait=off", q->chardev);
	arg(a, &oom, "-device");
	arg(a, &oom, "virtserialport,chardev=agent,name=org.mvm.agent");
	arg(a, &oom, "-device");
	arg(a, &oom, "virtio-rng-device");
	arg(a, &oom, "-serial");
	arg(a, &oom, "file:/dev/fdset/2");
	if (vm->net && vm->net->nic) {
		/* issue #16: user-mode networking, restrict=on (netcfg.h) */
		char netdev[NETCFG_NETDEV_MAX];

		netcfg_qemu_netdev(vm->net, netdev);
		arg(a, &oom, "-netdev");
		arg(a, &oom, "%s", netdev);
		arg(a, &oom, "-device");
		arg(a, &oom, "virtio-net-device,netdev=net0");
	}
	if (oom) {
		vmm_argv_free(a);
		return merr_set(e, EX_SYS, NULL, "out of memory");
	}
	return 0;
}

/* ---- starting the VMM, confined ----
 * QEMU gets its files as descriptors vm-boot opened (the kernel through
 * /proc/self/fd, the root drive and the console through -add-fd fdsets, the
 * agent's chardev as a listening socket), so it opens no path of ours; a
 * seccomp filter (-sandbox) with no spawning, no privilege changes and no
 * resource control; no monitor; no other inherited descriptor.  Run as
 * root, it becomes VMM_USER in a mount namespace where the directories
 * that hold people's and services' files are empty. */

/* The descriptors the child hands QEMU. */

/* Directories a VMM never needs, hidden under an empty read-only tmpfs. */
static const char *const hidden[] = { "/home", "/root", "/srv", "/mnt", "/media", "/opt",
	"/var/lib", "/var/log", "/var/cache", "/var/mail", "/var/spool", "/var/backups", NULL };

/* What the child was doing when it failed (vmm_spawn's message). */
enum { ST_OPEN, ST_FDS, ST_NS, ST_USER, ST_EXEC };
static const char *const stage_what[] = {
	[ST_OPEN] = "open the kernel, root drive or console",
	[ST_FDS] = "hand QEMU its descriptors",
	[ST_NS] = "make QEMU's mount namespace",
	[ST_USER] = "run QEMU as the user " VMM_USER " (tools/install-deps.sh creates it)",
	[ST_EXEC] = "run the VMM",
};

/* As root: a private mount namespace with hidden[] emptied, then
 * VMM_USER's ids (and /dev/kvm's group when KVM is used).  Returns a stage
 * on failure, else -1. */
static int confine(const struct vmm *vm)
{
	struct passwd *pw;
	struct stat st;
	gid_t groups[1];
	size_t ng = 0;

	if (geteuid() != 0)
		return -1;
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return ST_NS;
	for (int i = 0; hidden[i]; i++)
		if (stat(hidden[i], &st) == 0 && S_ISDIR(st.st_mode) &&
		    mount("mvm-vmm", hidden[i], "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV |
		    MS_NOEXEC, "size=4k,mode=0755") < 0)
			return ST_NS;
	errno = 0;
	if (!(pw = getpwnam(VMM_USER)) || pw->pw_uid == 0)
		return errno = errno ? errno : ENOENT, ST_USER;
	if (vm->kvm && stat("/dev/kvm", &st) == 0)
		groups[ng++] = st.st_gid;
	if (setgroups(ng, groups) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
		return ST_USER;
	if (setuid(0) == 0)   /* the drop must be for good */
		return errno = EPERM, ST_USER;
	return -1;
}

/* In the child: set up and exec QEMU.  Returns only on failure: a stage. */
static int exec_qemu(const struct vmm *vm, struct vmm_fds *q)
{
	char path[PATH_MAX + 16];
	struct vmm_argv a;
	struct merr e;
	int stage;

	snprintf(path, sizeof path, "%s/vmlinux", vm->image);
	q->kernel = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof path, "%s/rootfs.ext4", vm->image);
	q->root = open(path, O_RDONLY | O_CLOEXEC);
	q->console = open(vm->console, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (q->kernel < 0 || q->root < 0 || q->console < 0)
		return ST_OPEN;
	for (unsigned i = 0; i < vm->ndrives; i++) {
		const struct vmm_drive *d = &vm->drive[i];

		if ((q->drive[i] = open(d->path, (d->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC |
		    O_NOFOLLOW)) < 0 || (!d->readonly && (q->drive_ro[i] = open(d->path, O_RDONLY |
		    O_CLOEXEC | O_NOFOLLOW)) < 0))
			return ST_OPEN;
	}
	/* Every descriptor but 0-2 closes on exec, except QEMU's. */
	if (close_range(3, ~0u, CLOSE_RANGE_CLOEXEC) < 0)
		return ST_FDS;
	if (fcntl(q->kernel, F_SETFD, 0) < 0 || fcntl(q->root, F_SETFD, 0) < 0 ||
	    fcntl(q->console, F_SETFD, 0) < 0 || fcntl(q->chardev, F_SETFD, 0) < 0)
		return ST_FDS;
	for (unsigned i = 0; i < vm->ndrives; i++)
		if (fcntl(q->drive[i], F_SETFD, 0) < 0 ||
		    (!vm->drive[i].readonly && fcntl(q->drive_ro[i], F_SETFD, 0) < 0))
			return ST_FDS;
	if ((stage = confine(vm)) >= 0)
		return stage;
	/* after the ids changed: a change of ids clears the death signal */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	if (vmm_qemu_argv(vm, q, &a, &e) != 0)
		return errno = ENOMEM, ST_EXEC;
	execvp(a.argv[0], a.argv);
	return ST_EXEC;
}

pid_t vmm_spawn(const struct vmm *vm, int logfd, struct merr *e)
{
	struct vmm_fds q = { -1, -1, -1, -1, { 0 }, { 0 } };
	int p[2], msg[2] = { 0, 0 }, status, nul;
	pid_t pid;
	ssize_t n;

	/* QEMU's agent port: a listening socket it inherits (we connect to
	 * the path; QEMU needs no access to the state directory). */
	if (vm->kind == VMM_QEMU && (q.chardev = unix_listen(vm->chardev)) < 0)
		return merr_sys(e, "listen on the agent's serial socket"), -1;
	/* The child reports a failure as {stage, errno} on a close-on-exec
	 * pipe: EOF means the VMM program is running. */
	if (pipe2(p, O_CLOEXEC) < 0) {
		if (q.chardev >= 0)
			close(q.chardev);
		return merr_sys(e, "create a pipe"), -1;
	}
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		if (q.chardev >= 0)
			close(q.chardev);
		return merr_sys(e, "fork"), -1;
	}
	if (pid == 0) {
		/* The VMM never outlives its caller. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		setpgid(0, 0);
		if ((nul = open("/dev/null", O_RDONLY)) >= 0 && nul != 0) {
			dup2(nul, 0);
			close(nul);
		}
		if (logfd >= 0) {
			dup2(logfd, 1);
			dup2(logfd, 2);
		}
		if (vm->kind == VMM_FIRECRACKER) {
			close_range(3, ~0u, CLOSE_RANGE_CLOEXEC);
			execlp("firecracker", "firecracker", "--api-sock", vm->api, "--config-file",
				vm->fcconf, (char *)NULL);
			msg[0] = ST_EXEC;
		} else {
			msg[0] = exec_qemu(vm, &q);
		}
		msg[1] = errno;
		if (write(p[1], msg, sizeof msg) < 0)
			{ /* the parent sees EOF and a dead child */ }
		_exit(127);
	}
	close(p[1]);
	if (q.chardev >= 0)
		close(q.chardev);
	while ((n = read(p[0], msg, sizeof msg)) < 0 && errno == EINTR)
		;
	close(p[0]);
	if (n == (ssize_t)sizeof msg) {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		errno = msg[1];
		merr_sys(e, msg[0] >= 0 && msg[0] <= ST_EXEC ? stage_what[msg[0]] : "run the VMM");
		return -1;
	}
	return pid;
}

/* ---- supervising ---- */

struct run {
	const struct vmm *vm;
	const struct vmm_hooks *h;
	volatile sig_atomic_t *stop;
	pid_t pid;
	int *status, gone, ready, outcome;
	double deadline;
	struct muxhost *m;
	int lsock, gfd;
};

static void nap_ms(long ms)
{
	nanosleep(&(struct timespec){ ms / 1000, (ms % 1000) * 1000000L }, NULL);
}

/* 1 if the VMM has exited (its status kept). */
static int exited(struct run *r)
{
	if (!r->gone && waitpid(r->pid, r->status, WNOHANG) == r->pid)
		r->gone = 1;
	return r->gone;
}

static void became_ready(struct run *r)
{
	r->ready = 1;
	if (r->h && r->h->ready)
		r->h->ready(r->h->ctx);
}

/* QEMU: connect to the agent's serial port, then serve it as vm->vsock. */
static int serve_qemu(struct run *r, struct merr *e)
{
	int st;

	while ((r->gfd = unix_connect(r->vm->chardev)) < 0 && !*r->stop) {
		if (exited(r))
			return VMM_EARLY_EXIT;
		if (mono_s() > r->deadline)
			return VMM_NO_PORT;
		nap_ms(10);
	}
	if (r->gfd < 0)
		return VMM_SIGNALLED;
	if (!(r->m = muxhost_new(r->gfd, r->lsock)))
		return merr_set(e, EX_SYS, NULL, "out of memory"), VMM_SERVE_FAIL;
	if (r->h && r->h->guest_open)
		muxhost_on_guest_open(r->m, r->h->guest_open, r->h->ctx);
	while (!*r->stop) {
		if ((st = muxhost_step(r->m, 200, e)) == MUXHOST_FAIL)
			return VMM_SERVE_FAIL;
		if (st == MUXHOST_BAD && r->h && r->h->warn)
			r->h->warn(r->h->ctx, e);
		if (!r->ready && muxhost_ready(r->m))
			became_ready(r);
		if (exited(r))
			return r->ready ? VMM_STOPPED : VMM_EARLY_EXIT;
		if (!r->ready && mono_s() > r->deadline)
			return VMM_TIMEOUT;
	}
	return VMM_SIGNALLED;
}

/* Firecracker: ready when the agent answers a ping through the socket
 * Firecracker made; then wait for *stop or the VMM's exit. */
static int serve_firecracker(struct run *r)
{
	while (!*r->stop && !r->ready) {
		if (exited(r))
			return VMM_EARLY_EXIT;
		if (mono_s() > r->deadline)
			return VMM_TIMEOUT;
		if (vsock_ping(r->vm->vsock, 2000))
			became_ready(r);
		else
			nap_ms(100);
	}
	while (!*r->stop)
		if (exited(r))
			return VMM_STOPPED;
		else
			nap_ms(100);
	return VMM_SIGNALLED;
}

/* Ask a ready guest to shut down, then terminate what is left. */
static void stop_vmm(struct run *r)
{
	struct buf f = BUF_INIT;
	struct merr e;
	int fd = -1;

	if (!r->gone && r->ready && *r->stop) {
		double end = mono_s() + VMM_GUEST_STOP_SECS;
		req_put_shutdown(&f);
		if (r->m)
			muxhost_shutdown(r->m);
		else if (r->vm->kind == VMM_FIRECRACKER)
			fd = vsock_send(r->vm->vsock, f.p, f.len);
		while (mono_s() < end && !exited(r))
			if (!r->m || muxhost_step(r->m, 10, &e) == MUXHOST_FAIL)
				nap_ms(10);
		if (fd >= 0)
			close(fd);
		buf_free(&f);
	}
	if (r->gone)
		return;
	kill(r->pid, SIGTERM);
	for (int i = 0; i < VMM_TERM_SECS * 100 && !exited(r); i++)
		nap_ms(10);
	if (!r->gone) {
		kill(-r->pid, SIGKILL);
		kill(r->pid, SIGKILL);
		while (waitpid(r->pid, r->status, 0) < 0 && errno == EINTR)
			;
		r->gone = 1;
	}
}

int vmm_run(const struct vmm *vm, unsigned boot_timeout, int logfd,
	volatile sig_atomic_t *stop, const struct vmm_hooks *h, int *status, struct merr *e)
{
	struct run r = { .vm = vm, .h = h, .stop = stop, .status = status, .lsock = -1, .gfd = -1 };

	*status = 0;
	/* Firecracker makes its vsock socket itself; for QEMU, we do. */
	if (vm->kind == VMM_QEMU && (r.lsock = unix_listen(vm->vsock)) < 0)
		return merr_sys(e, "listen on the agent socket"), VMM_NOSTART;
	r.deadline = mono_s() + boot_timeout;
	if ((r.pid = vmm_spawn(vm, logfd, e)) < 0) {
		r.outcome = VMM_NOSTART;
	} else {
		r.outcome = vm->kind == VMM_QEMU ? serve_qemu(&r, e) : serve_firecracker(&r);
		stop_vmm(&r);
	}
	muxhost_free(r.m);
	if (r.lsock >= 0)
		close(r.lsock);
	if (r.gfd >= 0)
		close(r.gfd);
	unlink(vm->vsock);
	unlink(vm->chardev);
	return r.outcome;
}
