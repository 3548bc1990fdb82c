/* initdev.c — what init (init.c) reads from the command line, /etc and
 * /sys before it starts the agent: the hostname, the users, /etc
 * read-only, the drives (by virtio-blk serial, else by file-system label;
 * through dm-verity when /etc/mvm/verity lists them) and the agent's
 * transport (initnet.c: the network).  Every value from outside is kept tame: the command
 * line's are used in paths and argv. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include "agent.h"
#include "init.h"

int read_line(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	if (!fgets(buf, (int)n, f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

const char *init_cmdline(const char *name, char *val, size_t n)
{
	char words[sizeof ini.cmdline], *w, *save;
	size_t l = strlen(name);

	val[0] = 0;
	snprintf(words, sizeof words, "%s", ini.cmdline);
	for (w = strtok_r(words, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
		if (!strncmp(w, "mvm.", 4) && !strncmp(w + 4, name, l) && w[4 + l] == '=')
			snprintf(val, n, "%s", w + 5 + l);
	return val;
}

/* A value used in paths and argv: [A-Za-z0-9._-]+ only. */
static int tame(const char *s)
{
	return s[0] && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ==
		strlen(s);
}

int init_names(const char *guestdir, struct dirent ***list)
{
	char p[PATH_MAX];
	int n = scandir(rpath(p, sizeof p, guestdir), list, NULL, alphasort);

	if (n < 0)
		*list = NULL;
	return n < 0 ? 0 : n;
}

void init_names_free(struct dirent **list, int n)
{
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

/* ---- 2. hostname ---- */
void set_hostname(void)
{
	char name[256], p[PATH_MAX];

	init_cmdline("hostname", name, sizeof name);
	if (!name[0] && read_line(rpath(p, sizeof p, "/etc/mvm/name"), name, sizeof name) != 0)
		name[0] = 0;
	if (!tame(name) || strlen(name) > 64)
		snprintf(name, sizeof name, "mvm");
	rpath(p, sizeof p, "/proc/sys/kernel/hostname");
	if (ini.dry) {
		ishow("echo %s >%s", name, p);
	} else {
		int fd = open(p, O_WRONLY | O_CLOEXEC);
		size_t l = strlen(name);

		name[l] = '\n';
		if (fd < 0 || write(fd, name, l + 1) != (ssize_t)(l + 1))
			ilog("failed: echo %.*s >%s", (int)l, name, p);
		name[l] = 0;
		if (fd >= 0)
			close(fd);
	}
	ilog("hostname %s", name);
}

/* ---- 3. users: the builders write them, and /etc is read-only here ---- */
void users(void)
{
	static const char *const files[] = { "passwd", "group" };

	for (int i = 0; i < 2; i++) {
		char p[PATH_MAX], g[64], line[1024];
		int a = 0, w = 0;
		FILE *f;

		snprintf(g, sizeof g, "/etc/%s", files[i]);
		if ((f = fopen(rpath(p, sizeof p, g), "re"))) {
			while (fgets(line, sizeof line, f)) {
				line[strcspn(line, ":\n")] = 0;
				a |= !strcmp(line, "mvm-agent");
				w |= !strcmp(line, "mvm-worker");
			}
			fclose(f);
		}
		if (!a || !w)
			ilog("warning: /etc/%s names no mvm-agent or no mvm-worker (the agent uses uids "
				AGENT_ID " and " WORKER_ID " all the same)", files[i]);
	}
}

/* ---- 4. /etc read-only (it is already when the root is: the cmdline's ro) ---- */
static int etc_is_ro(void)
{
	char p[PATH_MAX], etc[PATH_MAX], line[4096], best[PATH_MAX] = "", bopts[1040] = "";
	int found = 0;
	FILE *f = fopen(rpath(p, sizeof p, "/proc/mounts"), "re");

	if (!f)
		return 0;
	rpath(etc, sizeof etc, "/etc/");
	while (fgets(line, sizeof line, f)) {
		char mp[PATH_MAX], opts[1024], pre[PATH_MAX + 1];

		if (sscanf(line, "%*s %4095s %*s %1023s", mp, opts) != 2)
			continue;
		size_t l = strlen(mp);
		snprintf(pre, sizeof pre, "%.*s/", (int)(l && mp[l - 1] == '/' ? l - 1 : l), mp);
		if (!strncmp(etc, pre, strlen(pre)) && (!found || l >= strlen(best))) {
			snprintf(best, sizeof best, "%s", mp);
			snprintf(bopts, sizeof bopts, ",%s,", opts);
			found = 1;
		}
	}
	fclose(f);
	return strstr(bopts, ",ro,") != NULL;
}

void etc_ro(void)
{
	char etc[PATH_MAX];

	if (etc_is_ro())
		return;
	rpath(etc, sizeof etc, "/etc");
	if (ini.dry) {
		ishow("mount --bind %s %s", etc, etc);
		ishow("mount -o remount,bind,ro,nosuid,nodev %s", etc);
		return;
	}
	if (mount(etc, etc, NULL, MS_BIND, NULL) != 0)
		ilog("failed: mount --bind %s %s: %s", etc, etc, strerror(errno));
	else if (mount(NULL, etc, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV,
	    NULL) != 0)
		ilog("failed: mount -o remount,bind,ro,nosuid,nodev %s: %s", etc, strerror(errno));
}

/* ---- 5. drives: by virtio-blk serial, else by file-system label ----
 * The host names each drive by its role (lib/vmm.h): QEMU gives it the
 * virtio-blk serial mvm-ROLE; Firecracker gives none, and there the
 * drive's ext4 file system carries the label mvm-ROLE. */
static int ndrives;

/* An ext4 superblock's label (s_volume_name) on /dev/NAME equals want. */
static int has_label(const char *name, const char *want)
{
	unsigned char sb[1024];
	char p[PATH_MAX];
	int fd, ok = 0;

	snprintf(p, sizeof p, "%s/dev/%s", ini.root, name);
	if ((fd = open(p, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	if (pread(fd, sb, sizeof sb, 1024) == (ssize_t)sizeof sb && sb[0x38] == 0x53 && sb[0x39] == 0xEF)
		ok = strnlen((char *)sb + 0x78, 16) == strlen(want) && !memcmp(sb + 0x78, want, strlen(want));
	close(fd);
	return ok;
}

/* The drive of role: dev gets /dev/NAME, "" if there is none. */
static void find_drive(const char *role, char *dev, size_t n)
{
	char want[128], p[PATH_MAX], v[128];
	struct dirent **l;
	int k = init_names("/sys/block", &l);

	dev[0] = 0;
	snprintf(want, sizeof want, "mvm-%s", role);
	for (int i = 0; i < k && !dev[0]; i++) {
		snprintf(p, sizeof p, "%s/sys/block/%s/serial", ini.root, l[i]->d_name);
		if (l[i]->d_name[0] != '.' && read_line(p, v, sizeof v) == 0 && !strcmp(v, want))
			snprintf(dev, n, "/dev/%s", l[i]->d_name);
	}
	/* No serial (Firecracker gives none): by label, when there is more than
	 * the root drive to look at (a dry run too: it reads under the root). */
	for (int i = 0; i < k && !dev[0] && ndrives >= 2; i++)
		if (l[i]->d_name[0] != '.' && has_label(l[i]->d_name, want))
			snprintf(dev, n, "/dev/%s", l[i]->d_name);
	init_names_free(l, k);
}

/* /etc/mvm/verity (mvm-meta(5)): one line a config drive or the deps volume,
 *   ROLE DATA_BLOCKS ROOT_HASH SALT
 * on the verified root, so bound to the plan like the root.  A drive listed
 * there is mounted only through dm-verity: dev becomes the mapped device,
 * "" on failure. */
static void verity(const char *role, char *dev, size_t n)
{
	char p[PATH_MAX], line[512], vrole[128], blocks[32], root[80], salt[80], name[160];
	FILE *f = fopen(rpath(p, sizeof p, "/etc/mvm/verity"), "re");

	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		if (sscanf(line, "%127s %31s %79s %79s", vrole, blocks, root, salt) != 4 ||
		    strcmp(vrole, role))
			continue;
		snprintf(name, sizeof name, "mvm-%s", role);
		if (ini.dry) {
			ishow("%s --dm-verity %s %s %s %s %s", ini.agent, name, dev, blocks, root, salt);
			snprintf(dev, n, "/dev/mapper/%s", name);
		} else if (dm_verity_map(name, dev, blocks, root, salt, dev, n) != 0) {
			ilog("drive %s: no dm-verity mapping: not mounted", name);
			dev[0] = 0;
		}
		break;
	}
	fclose(f);
}

/* /etc/mvm/mounts (ir-lower's, mvm-lower(5)): one line a mount,
 *   ROLE TARGET MODE drive        the drive of that role (lib/vmm.h)
 *   - TARGET MODE tmpfs SIZE_MB
 * each mounted nodev,nosuid,noexec (the IR has no field to ask for exec),
 * ro or rw as declared.  The targets exist in the image (the builder
 * makes them: the root is read-only). */
void drives(void)
{
	char dev[PATH_MAX], p[PATH_MAX], src[PATH_MAX], dst[PATH_MAX], line[1024];
	struct dirent **l;
	int k = init_names("/sys/block", &l);
	struct stat st;
	FILE *f;

	ndrives = 0;
	for (int i = 0; i < k; i++)
		ndrives += !strncmp(l[i]->d_name, "vd", 2);
	init_names_free(l, k);
	/* mvm-deps(1)'s volume, through dm-verity when the root lists its tree in
	 * /etc/mvm/verity (admission checked only the tree's top); read-only,
	 * exec allowed: a manylinux wheel's extension modules are mmapped
	 * executable */
	find_drive("deps", dev, sizeof dev);
	if (dev[0])
		verity("deps", dev, sizeof dev);
	if (dev[0]) {
		rpath(dst, sizeof dst, "/mnt/deps");
		if (stat(dst, &st) != 0) {   /* in the image (read-only root) */
			if (ini.dry)
				ishow("mkdir -p %s", dst);
			else
				mkdir(dst, 0755);
		}
		imount("ext4", "ro,nosuid,nodev", rpath(src, sizeof src, dev), dst);
		ilog("deps volume %s on /mnt/deps", dev);
	}
	if (!(f = fopen(rpath(p, sizeof p, "/etc/mvm/mounts"), "re")))
		return;
	while (fgets(line, sizeof line, f)) {
		char role[128] = "", target[512] = "", mode[16] = "", kind[16] = "", size[32] = "", o[64];

		sscanf(line, "%127s %511s %15s %15s %31s", role, target, mode, kind, size);
		if (strcmp(mode, "ro") && strcmp(mode, "rw")) {
			ilog("mounts: bad mode for %s", target);
			continue;
		}
		/* absolute, and no ".." to climb out of the root it names */
		if (target[0] != '/' || strstr(target, "/../") ||
		    (strlen(target) >= 3 && !strcmp(target + strlen(target) - 3, "/.."))) {
			ilog("mounts: bad target %s", target);
			continue;
		}
		rpath(dst, sizeof dst, target);
		if (!strcmp(kind, "tmpfs")) {
			if (!size[0] || strspn(size, "0123456789") != strlen(size) || strlen(size) > 9) {
				ilog("mounts: bad size for %s", target);
				continue;
			}
			snprintf(o, sizeof o, "%s,nodev,nosuid,noexec,size=%sm,mode=1777", mode, size);
			imount("tmpfs", o, "tmpfs", dst);
			ilog("tmpfs on %s (%s, %s MiB)", target, mode, size);
			continue;
		}
		if (!tame(role)) {
			ilog("mounts: bad role %s", role);
			continue;
		}
		find_drive(role, dev, sizeof dev);
		if (!dev[0]) {
			ilog("mounts: no drive mvm-%s for %s", role, target);
			continue;
		}
		verity(role, dev, sizeof dev);
		if (!dev[0])
			continue;
		snprintf(o, sizeof o, "%s,nodev,nosuid,noexec", mode);
		imount("ext4", o, rpath(src, sizeof src, dev), dst);
		ilog("drive %s (mvm-%s) on %s (%s)", dev, role, target, mode);
	}
	fclose(f);
}

/* ---- 6. the agent's transport ---- */
int transport(const char **argv)
{
	static char words[256];
	char p[PATH_MAX], v[128];
	const char *t = getenv("MVM_INIT_TRANSPORT");
	struct dirent **l;
	int n = 0, k;

	if (ini.root[0] && t && t[0]) {   /* tests only */
		char *w, *save;
		snprintf(words, sizeof words, "%s", t);
		for (w = strtok_r(words, " \t", &save); w && n < 4; w = strtok_r(NULL, " \t", &save))
			argv[n++] = w;
		return n;
	}
	/* The virtio port first: /dev/vsock exists whenever the kernel has vsock
	 * built in, also under a VMM (QEMU here) that gives it no device. */
	k = init_names("/sys/class/virtio-ports", &l);
	for (int i = 0; i < k && !n; i++) {
		snprintf(p, sizeof p, "%s/sys/class/virtio-ports/%s/name", ini.root, l[i]->d_name);
		if (l[i]->d_name[0] != '.' && read_line(p, v, sizeof v) == 0 && !strcmp(v, "org.mvm.agent")) {
			argv[n++] = "--serial";
			argv[n++] = "auto";
		}
	}
	init_names_free(l, k);
	if (!n && access(rpath(p, sizeof p, "/dev/vsock"), F_OK) == 0)
		argv[n++] = "--vsock";
	return n;
}
