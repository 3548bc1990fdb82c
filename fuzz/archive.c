/* fuzz/archive.c — libFuzzer harness for the npm tarball and wheel
 * unpackers (lib/archive.c).  The archive is hostile bytes from the
 * network.  The first input byte picks the mode: 0 a wheel (zip), 1 a tar
 * that the harness gzips first (so the fuzzer mutates tar headers, not
 * deflate streams) after setting the checksum of each header it finds
 * (so the fuzzer gets past the checksum), 2 a .tgz as is.  The rest is written to a file under
 * /dev/shm and unpacked into a fresh directory "t" inside a fresh parent.
 * Checks (archive.h's contract): no crash or sanitizer report; the return
 * is 0, EX_DATA or EX_SYS, with a message when not 0; whatever the
 * outcome, the parent holds only "t" (nothing was written beside or above
 * the target), and under "t" there are only regular files (mode 0644 or
 * 0755) and directories (lstat: no symlink, device, FIFO or socket), at
 * most ARCHIVE_MAX_FILES files and ARCHIVE_MAX_BYTES bytes. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "archive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char base[64], input[80], parent[80], target[96];
static unsigned long long files, bytes;

/* Check every entry under path (and remove it); depth-first. */
static void walk(const char *path, int check)
{
	DIR *d = opendir(path);
	struct dirent *de;

	if (!d)
		abort();
	while ((de = readdir(d))) {
		char p[8192];
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if ((size_t)snprintf(p, sizeof p, "%s/%s", path, de->d_name) >= sizeof p)
			abort();   /* deeper than the harness can follow */
		if (lstat(p, &st) != 0)
			abort();
		if (S_ISDIR(st.st_mode)) {
			walk(p, check);
			if (rmdir(p) != 0)
				abort();
			continue;
		}
		if (check && !S_ISREG(st.st_mode))
			abort();   /* a symlink, device, FIFO or socket */
		if (check && (st.st_mode & 07777) != 0644 && (st.st_mode & 07777) != 0755)
			abort();
		files++;
		bytes += (unsigned long long)st.st_size;
		if (unlink(p) != 0)
			abort();
	}
	closedir(d);
}

/* Set the checksum of each tar header from the first on, following the
 * octal sizes, as far as they lead. */
static void fix_sums(unsigned char *p, size_t n)
{
	for (size_t at = 0; at + 512 <= n;) {
		unsigned char *h = p + at;
		unsigned long long size = 0, sum = 0;

		for (int i = 124; i < 136 && h[i] >= '0' && h[i] <= '7'; i++)
			size = size * 8 + (unsigned)(h[i] - '0');
		for (int i = 0; i < 512; i++)
			sum += (i >= 148 && i < 156) ? ' ' : h[i];
		snprintf((char *)h + 148, 8, "%06llo", sum & 0777777);
		h[155] = ' ';
		if (size > n)
			break;
		at += 512 + (size + 511) / 512 * 512;
	}
}

static void write_input(int mode, const uint8_t *p, size_t n)
{
	if (mode == 1) {
		unsigned char *t = malloc(n ? n : 1);
		gzFile g = gzopen(input, "wb1");
		if (!t || !g)
			abort();
		memcpy(t, p, n);
		fix_sums(t, n);
		if ((n && gzwrite(g, t, (unsigned)n) != (int)n) || gzclose(g) != Z_OK)
			abort();
		free(t);
		return;
	}
	FILE *f = fopen(input, "wb");
	if (!f || (n && fwrite(p, 1, n, f) != n) || fclose(f) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct merr e = { 0 };
	int mode, rc;

	if (size < 1)
		return 0;
	if (!base[0]) {
		snprintf(base, sizeof base, "/dev/shm/fuzz-archive.%ld", (long)getpid());
		snprintf(input, sizeof input, "%s.in", base);
		snprintf(parent, sizeof parent, "%s.d", base);
		snprintf(target, sizeof target, "%s/t", parent);
	}
	mode = data[0] % 3;
	write_input(mode, data + 1, size - 1);
	if (mkdir(parent, 0755) != 0 || mkdir(target, 0755) != 0)
		abort();
	rc = mode == 0 ? unzip_wheel(input, target, &e) : untar_npm(input, target, &e);
	if (rc != 0 && rc != EX_DATA && rc != EX_SYS)
		abort();
	if (rc != 0 && (e.code != rc || !e.msg[0]))
		abort();   /* a refusal says why */

	/* The parent holds "t" and nothing else. */
	DIR *d = opendir(parent);
	struct dirent *de;
	if (!d)
		abort();
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, "t"))
			abort();
	closedir(d);

	files = bytes = 0;
	walk(target, 1);
	if (files > ARCHIVE_MAX_FILES || bytes > ARCHIVE_MAX_BYTES)
		abort();
	if (rmdir(target) != 0 || rmdir(parent) != 0 || unlink(input) != 0)
		abort();
	return 0;
}
