/* depsimg.c — the deps volume's reproducible ext4 image (deps.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "deps.h"
#include "io.h"

struct walk {
	struct buf cmds;        /* debugfs commands */
	unsigned long long bytes;
	size_t files;
	long long epoch;
};

static int bycmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Copy src into dst in sorted order (regular files and directories: the
 * installers create nothing else), then fix dst's times; rel is the path
 * inside the volume ("" at the root). */
static int copy_sorted(const char *src, const char *dst, const char *rel, struct walk *w,
	struct merr *e)
{
	struct dirent **ents;
	int n = scandir(src, &ents, NULL, bycmp), r = 0;

	if (n < 0)
		return merr_sys(e, src);
	for (int i = 0; i < n; i++) {
		const char *nm = ents[i]->d_name;
		char s[4096], d[4096], rr[4096];
		struct stat st;
		if (r || strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0)
			continue;
		if (snprintf(s, sizeof s, "%s/%s", src, nm) >= (int)sizeof s ||
		    snprintf(d, sizeof d, "%s/%s", dst, nm) >= (int)sizeof d ||
		    snprintf(rr, sizeof rr, "%s/%s", rel, nm) >= (int)sizeof rr) {
			r = merr_set(e, EX_SYS, NULL, "path too long under %s", src);
			continue;
		}
		if (lstat(s, &st) != 0) {
			r = merr_sys(e, s);
			continue;
		}
		w->files++;
		buf_puts(&w->cmds, "sif \"");
		for (const char *c = rr; *c; c++) {
			if (*c == '"' || *c == '\\')
				buf_putc(&w->cmds, '\\');
			buf_putc(&w->cmds, *c);
		}
		buf_puts(&w->cmds, "\" ctime @");
		buf_printf(&w->cmds, "%lld\n", w->epoch);
		if (S_ISDIR(st.st_mode)) {
			if (mkdir(d, 0755) != 0)
				r = merr_sys(e, d);
			else
				r = copy_sorted(s, d, rr, w, e);
			w->bytes += 4096;
		} else if (S_ISREG(st.st_mode)) {
			struct buf b = BUF_INIT;
			if (read_file(s, &b, e) ||
			    write_atomic(d, b.p ? b.p : "", b.len, (st.st_mode & 0111) ? 0755 : 0644, e))
				r = EX_SYS;
			w->bytes += (b.len + 4095) / 4096 * 4096;
			buf_free(&b);
		}
		if (r == 0) {
			struct timespec t[2] = { { w->epoch, 0 }, { w->epoch, 0 } };
			if (utimensat(AT_FDCWD, d, t, AT_SYMLINK_NOFOLLOW) != 0 ||
			    lchown(d, 0, 0) != 0)
				r = merr_sys(e, d);
		}
	}
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return r;
}

int deps_image(const char *tree, const char *work, const char *key, const char *img,
	struct merr *e)
{
	struct walk w = { BUF_INIT, 0, 0, 1700000000 };
	char vol[4096], uuid[40], fake[64], size[32], inodes[32], cmdf[4096], errf[4096];
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	int r;

	if (sde && *sde) {
		char *end;
		long long v = strtoll(sde, &end, 10);
		if (*end || v < 0)
			return merr_set(e, EX_SYS, NULL, "SOURCE_DATE_EPOCH is not a number of seconds");
		w.epoch = v;
	}
	snprintf(vol, sizeof vol, "%s/vol", work);
	snprintf(cmdf, sizeof cmdf, "%s/times.cmd", work);
	snprintf(errf, sizeof errf, "%s/mke2fs.err", work);
	if (mkdir(vol, 0755) != 0)
		return merr_sys(e, vol);
	r = copy_sorted(tree, vol, "", &w, e);
	struct timespec t[2] = { { w.epoch, 0 }, { w.epoch, 0 } };
	if (r == 0 && utimensat(AT_FDCWD, vol, t, 0) != 0)
		r = merr_sys(e, vol);
	if (r) {
		buf_free(&w.cmds);
		return r;
	}
	buf_printf(&w.cmds, "sif / atime @%lld\nssv wtime @%lld\nssv mtime @%lld\nssv lastcheck @%lld\n",
		w.epoch, w.epoch, w.epoch, w.epoch);
	/* the key's first 128 bits as the UUID and the directory hash seed */
	snprintf(uuid, sizeof uuid, "%.8s-%.4s-%.4s-%.4s-%.12s", key, key + 8, key + 12, key + 16,
		key + 20);
	snprintf(fake, sizeof fake, "E2FSPROGS_FAKE_TIME=%lld", w.epoch);
	snprintf(size, sizeof size, "%lluk", (w.bytes * 5 / 4 + 8 * 1024 * 1024) / 1024);
	snprintf(inodes, sizeof inodes, "%zu", w.files + w.files / 8 + 64);
	char hs[80];
	snprintf(hs, sizeof hs, "hash_seed=%s,root_owner=0:0", uuid);
	const char *mk[] = { "mke2fs", "-q", "-F", "-t", "ext4", "-L", "mvm-deps", "-U", uuid, "-E", hs,
		"-O", "^has_journal", "-m", "0", "-b", "4096", "-I", "256", "-N", inodes, "-d", vol,
		img, size, NULL };
	const char *rs[] = { "resize2fs", "-M", img, NULL };
	const char *dbg[] = { "debugfs", "-w", "-f", cmdf, img, NULL };
	if (write_atomic(cmdf, w.cmds.p, w.cmds.len, 0600, e))
		r = EX_SYS;
	else if (deps_cmd(mk, fake, errf, NULL) != 0)
		r = merr_set(e, EX_SYS, NULL, "mke2fs failed (see %s)", errf);
	else if (deps_cmd(rs, fake, errf, NULL) != 0)
		r = merr_set(e, EX_SYS, NULL, "resize2fs failed (see %s)", errf);
	else if (deps_cmd(dbg, fake, errf, NULL) != 0)
		r = merr_set(e, EX_SYS, NULL, "debugfs failed (see %s)", errf);
	buf_free(&w.cmds);
	return r;
}
