/* vmm.c — choosing a VMM, the VM's paths, drives and kernel command line (vmm.h) */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "vmm.h"

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
