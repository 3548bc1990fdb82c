/* vmmconf.c — the VM as each VMM is told it: QEMU's argument vector,
 * Firecracker's config file (vmm.h) */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"
#include "vmm.h"

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
