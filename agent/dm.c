/* dm.c — init (init.c) maps a config drive or the deps volume through
 * dm-verity before mounting it (issue 17); `mvm-agent --dm-verity NAME DEV
 * BLOCKS ROOT SALT` does the same from a shell.
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

#define USAGE "usage: mvm-agent --dm-verity NAME /dev/DEV DATA_BLOCKS ROOT_HASH SALT\n"

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

int dm_verity_map(const char *name, const char *dev, const char *nblocks, const char *root,
	const char *salt, char *out, size_t outsz)
{
	union {
		struct dm_ioctl io;
		char b[sizeof(struct dm_ioctl) + sizeof(struct dm_target_spec) + 512];
	} u;
	struct dm_target_spec *t = (struct dm_target_spec *)(u.b + sizeof u.io);
	char *params = (char *)(t + 1), *end;
	unsigned long long blocks;
	unsigned minor;
	int fd;

	errno = 0;
	blocks = strtoull(nblocks, &end, 10);
	if (strlen(name) == 0 || strlen(name) >= DM_NAME_LEN || strchr(name, '/') ||
	    dev[0] != '/' || strlen(dev) > 64 || strpbrk(dev, " \t") || errno || *end ||
	    end == nblocks || blocks == 0 || blocks > (1ull << 40) || !hex64(root) || !hex64(salt)) {
		fputs(USAGE, stderr);
		return 2;
	}
	if ((fd = open("/dev/mapper/control", O_RDWR | O_CLOEXEC)) < 0) {
		fprintf(stderr, "mvm-agent: --dm-verity: /dev/mapper/control: %s\n", strerror(errno));
		return 4;
	}
	memset(&u, 0, sizeof u);
	if (dm(fd, DM_DEV_CREATE, &u.io, sizeof u.io, name) != 0) {
		fprintf(stderr, "mvm-agent: --dm-verity: create %s: %s\n", name, strerror(errno));
		close(fd);
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
		root, salt);
	if (dm(fd, DM_TABLE_LOAD, &u.io, sizeof u.io + sizeof *t + strlen(params) + 1, name) != 0 ||
	    (memset(&u, 0, sizeof u), dm(fd, DM_DEV_SUSPEND, &u.io, sizeof u.io, name)) != 0) {
		int saved = errno;

		memset(&u, 0, sizeof u);
		dm(fd, DM_DEV_REMOVE, &u.io, sizeof u.io, name);
		close(fd);
		fprintf(stderr, "mvm-agent: --dm-verity: %s over %s: %s\n", name, dev, strerror(saved));
		return 4;
	}
	close(fd);
	snprintf(out, outsz, "/dev/dm-%u", minor);
	return 0;
}

int dm_verity_main(int argc, char **argv)
{
	char dev[32];
	int r;

	if (argc != 7) {
		fputs(USAGE, stderr);
		return 2;
	}
	if ((r = dm_verity_map(argv[2], argv[3], argv[4], argv[5], argv[6], dev, sizeof dev)) == 0)
		printf("%s\n", dev);
	return r;
}
