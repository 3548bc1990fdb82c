/* t/unit/vmm.c — the drive list of lib/vmm.h: the QEMU argument vector and
 * the Firecracker configuration vm-boot would run, with extra drives.
 * Known answers from outside the code: QEMU's documented -drive/-device
 * syntax (qemu-system-x86_64(1): "-drive file=...,if=none,id=...",
 * readonly=on, "virtio-blk-device" with serial=, a comma in a value
 * written ",,") and Firecracker's drive fields (docs/api_requests/
 * block-io-engine.md and the swagger's Drive: drive_id, path_on_host,
 * is_root_device, is_read_only). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "json.h"
#include "vmm.h"

#define UNIT_NAME "vmm"
#include "check.h"

/* The index of the argument equal to s after from, or -1. */
static int find(const struct vmm_argv *a, int from, const char *s)
{
	for (int i = from; i < a->argc; i++)
		if (!strcmp(a->argv[i], s))
			return i;
	return -1;
}

int main(void)
{
	char dir[] = "/tmp/mvm-unit-vmm-XXXXXX", p1[PATH_MAX], p2[PATH_MAX], want[PATH_MAX * 2];
	struct vmm vm = { .vcpus = 1, .memory_mb = 256 };
	struct vmm_argv a;
	/* descriptors as vm-boot's child would have them (not opened here:
	 * only their numbers reach the command line) */
	struct vmm_fds fds = { .kernel = 10, .root = 11, .console = 12, .chardev = 13,
		.drive = { 14, 15 }, .drive_ro = { -1, 16 } };
	struct buf b = BUF_INIT;
	struct merr e;
	FILE *f;
	int i, j;

	if (!mkdtemp(dir))
		return perror("mkdtemp"), 4;
	snprintf(p1, sizeof p1, "%s/config.img", dir);
	snprintf(p2, sizeof p2, "%s/a,b.img", dir);       /* a comma: QEMU's ",," */
	if (!(f = fopen(p1, "w")) || fclose(f) || !(f = fopen(p2, "w")) || fclose(f))
		return perror("fopen"), 4;
	snprintf(vm.image, sizeof vm.image, "/img");
	check(vmm_paths(&vm, "/st", &e) == 0, "vmm_paths");

	/* refusals */
	check(vmm_add_drive(&vm, p1, "", 1, &e) == EX_USAGE, "empty role refused");
	check(vmm_add_drive(&vm, p1, "root", 1, &e) == EX_USAGE, "role root refused");
	check(vmm_add_drive(&vm, p1, "rootfs", 1, &e) == EX_USAGE, "role rootfs refused");
	check(vmm_add_drive(&vm, p1, "Config", 1, &e) == EX_USAGE, "upper case refused");
	check(vmm_add_drive(&vm, p1, "a-b", 1, &e) == EX_USAGE, "a dash refused");
	check(vmm_add_drive(&vm, p1, "abcdefghijklm", 1, &e) == EX_USAGE, "13 bytes refused");
	check(vmm_add_drive(&vm, "/nonexistent/x", "x", 1, &e) == EX_SYS, "a missing file: EX_SYS");
	check(vm.ndrives == 0, "nothing attached by a refusal");

	/* no drives: the root alone, as before */
	check(vmm_qemu_argv(&vm, &fds, &a, &e) == 0, "argv");
	check(!strcmp(a.argv[0], "qemu-system-x86_64"), "argv[0] %s", a.argv[0]);
	check(find(&a, 0, "virtio-blk-device,drive=root") > 0, "the root device");
	check(find(&a, 0, "id=root,file=/dev/fdset/1,format=raw,if=none,readonly=on") > 0,
		"the root drive");
	check(find(&a, 0, "fd=11,set=1") > 0 && find(&a, 0, "fd=12,set=2") > 0, "fdsets 1 and 2");
	check(find(&a, 0, "/proc/self/fd/10") > 0, "the kernel by descriptor");
	check(find(&a, 0, "socket,id=agent,fd=13,server=on,wait=off") > 0, "the agent's socket");
	check(find(&a, 0, "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny") > 0,
		"sandboxed");
	check(a.argv[a.argc] == NULL, "NULL-terminated");
	i = 0;
	for (int k = 0; k < a.argc; k++)
		i += !strcmp(a.argv[k], "-drive");
	check(i == 1, "one -drive without extra drives (%d)", i);
	vmm_argv_free(&a);

	check(vmm_add_drive(&vm, p1, "config", 1, &e) == 0, "config: %s", e.msg);
	check(vmm_add_drive(&vm, p2, "abcdefghijkl", 0, &e) == 0, "12 bytes: %s", e.msg);
	check(vmm_add_drive(&vm, p1, "config", 1, &e) == EX_USAGE, "a role twice refused");
	check(vm.ndrives == 2, "two drives");

	check(vmm_qemu_argv(&vm, &fds, &a, &e) == 0, "argv with drives");
	i = find(&a, 0, "virtio-blk-device,drive=root");
	check(find(&a, 0, "fd=14,set=3") > 0 && find(&a, 0, "fd=15,set=4") > 0, "fdsets 3 and 4");
	check(find(&a, 0, "fd=16,set=4") > 0, "the read-write drive's read-only twin in its set");
	check(find(&a, 0, "fd=-1,set=3") < 0, "no twin for a read-only drive");
	snprintf(want, sizeof want, "file=/dev/fdset/3,if=none,format=raw,id=d-config,readonly=on");
	j = find(&a, 0, want);
	check(i > 0 && j > i && !strcmp(a.argv[j - 1], "-drive"), "config -drive after the root: %s", want);
	check(j > 0 && j + 2 < a.argc && !strcmp(a.argv[j + 1], "-device") &&
		!strcmp(a.argv[j + 2], "virtio-blk-device,drive=d-config,serial=mvm-config"),
		"config's -device with serial=mvm-config");
	snprintf(want, sizeof want, "file=/dev/fdset/4,if=none,format=raw,id=d-abcdefghijkl");
	i = find(&a, 0, want);
	check(i > j, "the second drive, read-write: %s", want);
	check(i > 0 && i + 2 < a.argc &&
		!strcmp(a.argv[i + 2], "virtio-blk-device,drive=d-abcdefghijkl,serial=mvm-abcdefghijkl"),
		"a 20-byte serial");
	check(strlen("mvm-abcdefghijkl") == 16, "the longest serial is an ext4 label's 16 bytes");
	vmm_argv_free(&a);

	/* Firecracker: the root first, then the drives in order */
	vmm_firecracker_config(&vm, &b);
	buf_putc(&b, 0);
	snprintf(want, sizeof want, "\"drives\":[{\"drive_id\":\"rootfs\",\"is_read_only\":true,"
		"\"is_root_device\":true,\"path_on_host\":\"/img/rootfs.ext4\"},"
		"{\"drive_id\":\"config\",\"is_read_only\":true,\"is_root_device\":false,"
		"\"path_on_host\":\"%s/config.img\"},{\"drive_id\":\"abcdefghijkl\","
		"\"is_read_only\":false,\"is_root_device\":false,\"path_on_host\":\"%s/a,b.img\"}]",
		dir, dir);
	check(b.p && strstr(b.p, want) != NULL, "firecracker drives: %s", b.p ? b.p : "");
	buf_free(&b);

	unlink(p1);
	unlink(p2);
	rmdir(dir);
	return check_report();
}
