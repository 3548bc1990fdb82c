/* dm.c — `mvm-agent --dm-verity NAME DEV BLOCKS ROOT SALT`: agent/init maps
 * a config drive through dm-verity before mounting it (issue 17).
 *
 * busybox has no dmsetup, and the kernel's dm-mod.create= names devices by
 * /dev name, which for the drives after the root depends on the order the
 * VMM announces them: init finds a drive by its virtio serial (find_drive)
 * and this makes the mapping with the device-mapper ioctls
 * (linux/dm-ioctl.h): DM_DEV_CREATE, DM_TABLE_LOAD of one read-only
 * "verity" target, DM_DEV_SUSPEND without DM_SUSPEND_FLAG (resume).  The
 * table is the one lib/verity.c gives the root: format 1, SHA-256,
 * 4096-byte blocks, the hash tree after the BLOCKS data blocks of DEV.
 * Prints the mapped device (/dev/dm-N); exit 0, 2 usage, 4 the kernel
 * refused.  Nothing is left half-made: a failed load removes the device. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/dm-ioctl.h>
#include "agent.h"

static int hex64(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

static int dm(int fd, unsigned long req, struct dm_ioctl *io, size_t size, const char *name)
{
	io->version[0] = DM_VERSION_MAJOR;
	io->version[1] = 0;
	io->version[2] = 0;
	io->data_size = (uint32_t)size;
	io->data_start = sizeof *io;
	snprintf(io->name, sizeof io->name, "%s", name);
	return ioctl(fd, req, io);
}

int dm_verity_main(int argc, char **argv)
{
	union {
		struct dm_ioctl io;
		char b[sizeof(struct dm_ioctl) + sizeof(struct dm_target_spec) + 512];
	} u;
	struct dm_target_spec *t = (struct dm_target_spec *)(u.b + sizeof u.io);
	char *params = (char *)(t + 1), *end;
	unsigned long long blocks;
	const char *name, *dev;
	unsigned minor;
	int fd;

	if (argc != 7)
		goto usage;
	name = argv[2];
	dev = argv[3];
	errno = 0;
	blocks = strtoull(argv[4], &end, 10);
	if (strlen(name) == 0 || strlen(name) >= DM_NAME_LEN || strchr(name, '/') ||
	    dev[0] != '/' || strlen(dev) > 64 || strpbrk(dev, " \t") || errno || *end ||
	    blocks == 0 || blocks > (1ull << 40) || !hex64(argv[5]) || !hex64(argv[6]))
		goto usage;
	if ((fd = open("/dev/mapper/control", O_RDWR | O_CLOEXEC)) < 0) {
		fprintf(stderr, "mvm-agent: --dm-verity: /dev/mapper/control: %s\n", strerror(errno));
		return 4;
	}
	memset(&u, 0, sizeof u);
	if (dm(fd, DM_DEV_CREATE, &u.io, sizeof u.io, name) != 0) {
		fprintf(stderr, "mvm-agent: --dm-verity: create %s: %s\n", name, strerror(errno));
		return 4;
	}
	minor = (unsigned)((u.io.dev & 0xff) | ((u.io.dev >> 12) & ~0xffull));
	memset(&u, 0, sizeof u);
	u.io.target_count = 1;
	u.io.flags = DM_READONLY_FLAG;
	t->sector_start = 0;
	t->length = blocks * 8;
	snprintf(t->target_type, sizeof t->target_type, "verity");
	snprintf(params, 512, "1 %s %s 4096 4096 %llu %llu sha256 %s %s", dev, dev, blocks, blocks,
		argv[5], argv[6]);
	if (dm(fd, DM_TABLE_LOAD, &u.io, sizeof u.io + sizeof *t + strlen(params) + 1, name) != 0 ||
	    (memset(&u, 0, sizeof u), dm(fd, DM_DEV_SUSPEND, &u.io, sizeof u.io, name)) != 0) {
		int saved = errno;

		memset(&u, 0, sizeof u);
		dm(fd, DM_DEV_REMOVE, &u.io, sizeof u.io, name);
		fprintf(stderr, "mvm-agent: --dm-verity: %s over %s: %s\n", name, dev, strerror(saved));
		return 4;
	}
	close(fd);
	printf("/dev/dm-%u\n", minor);
	return 0;
usage:
	fprintf(stderr, "usage: mvm-agent --dm-verity NAME /dev/DEV DATA_BLOCKS ROOT_HASH SALT\n");
	return 2;
}
