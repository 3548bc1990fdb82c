/* vmmspawn.c — starting the VMM, QEMU confined (vmm.h) */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "vsock.h"
#include "vmm.h"

/* ---- starting the VMM, confined ----
 * QEMU gets its files as descriptors vm-boot opened (the kernel through
 * /proc/self/fd, the root drive and the console through -add-fd fdsets, the
 * agent's chardev as a listening socket), so it opens no path of ours; a
 * seccomp filter (-sandbox) with no spawning, no privilege changes and no
 * resource control; no monitor; no other inherited descriptor.  Run as
 * root, it becomes VMM_USER in a mount namespace where the directories
 * that hold people's and services' files are empty. */

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
