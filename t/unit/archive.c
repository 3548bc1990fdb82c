/* t/unit/archive.c — lib/archivezip.c's wheel reader on zips built here.
 *
 * The wheel is written byte by byte after APPNOTE.TXT (PKWARE's zip
 * specification: local header, central directory entry, end of central
 * directory), its data deflated by zlib (raw, as method 8 stores it) and
 * its CRC-32 by zlib: the reader is checked against those, not against
 * itself.  Then the same zip claiming a size beyond what deflate can
 * expand to (zlib's FAQ: about 1032 to 1) must be refused before
 * anything is made for it.  Last, an entry of 64 MiB must unpack without
 * the peak resident set (VmHWM) growing by anything like its size: it is
 * streamed 64 KiB at a time, never held whole. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include "archive.h"
#define UNIT_NAME "archive"
#include "check.h"

static void le16(unsigned char *p, unsigned v) { p[0] = v & 255; p[1] = v >> 8 & 255; }
static void le32(unsigned char *p, unsigned long v) { le16(p, v & 65535); le16(p + 2, v >> 16); }

/* A one-entry zip of name holding reps copies of the tl bytes at text,
 * deflated; the central directory claims usize (0: the true size).  Its
 * length, or 0. */
static size_t make_zip(unsigned char *z, size_t cap, const char *name, const char *text,
	size_t tl, unsigned reps, unsigned long usize)
{
	size_t nl = strlen(name), at = 0, csize, cd;
	unsigned char *c = z + 30 + nl;
	unsigned long crc = crc32(0L, Z_NULL, 0);
	z_stream s;

	memset(&s, 0, sizeof s);
	if (deflateInit2(&s, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return 0;
	s.next_out = c;
	s.avail_out = (uInt)(cap - 30 - nl - 46 - nl - 22);
	for (unsigned i = 0; i <= reps; i++) {
		s.next_in = (unsigned char *)text;
		s.avail_in = i < reps ? (uInt)tl : 0;
		if (i < reps)
			crc = crc32(crc, (const unsigned char *)text, (uInt)tl);
		if (deflate(&s, i < reps ? Z_NO_FLUSH : Z_FINISH) != (i < reps ? Z_OK : Z_STREAM_END) ||
		    s.avail_in != 0)
			return 0;
	}
	csize = s.total_out;
	deflateEnd(&s);
	if (!usize)
		usize = (unsigned long)tl * reps;
	memset(z, 0, 30);
	le32(z, 0x04034b50);
	le16(z + 4, 20);
	le16(z + 8, 8);
	le32(z + 14, crc);
	le32(z + 18, csize);
	le32(z + 22, usize);
	le16(z + 26, nl);
	memcpy(z + 30, name, nl);
	at = cd = 30 + nl + csize;
	memset(z + at, 0, 46);
	le32(z + at, 0x02014b50);
	le16(z + at + 4, 20);
	le16(z + at + 6, 20);
	le16(z + at + 10, 8);
	le32(z + at + 16, crc);
	le32(z + at + 20, csize);
	le32(z + at + 24, usize);
	le16(z + at + 28, nl);
	le32(z + at + 38, 0100644ul << 16);
	le32(z + at + 42, 0);
	memcpy(z + at + 46, name, nl);
	at += 46 + nl;
	memset(z + at, 0, 22);
	le32(z + at, 0x06054b50);
	le16(z + at + 8, 1);
	le16(z + at + 10, 1);
	le32(z + at + 12, 46 + nl);
	le32(z + at + 16, cd);
	return at + 22;
}

/* The process's peak resident set (VmHWM of /proc/self/status), KiB; 0
 * when unknown. */
static unsigned long peak_kib(void)
{
	char line[128];
	unsigned long k = 0;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "VmHWM: %lu kB", &k) == 1)
			break;
	if (f)
		fclose(f);
	return k;
}

static int unzip_bytes(const unsigned char *z, size_t n, const char *dir, struct merr *e)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof path, "%s.whl", dir);
	if (!(f = fopen(path, "wb")) || fwrite(z, 1, n, f) != n || fclose(f) != 0)
		return perror(path), -1;
	return unzip_wheel(path, dir, e);
}

int main(void)
{
	static unsigned char z[8192];
	char tmp[] = "/tmp/mvm-unit-archive-XXXXXX", dir[128], got[64] = "";
	const char *text = "def hello():\n    return 'hello'\n";
	struct merr e;
	size_t n;
	FILE *f;
	int r;

	if (!mkdtemp(tmp))
		return perror("mkdtemp"), 2;
	n = make_zip(z, sizeof z, "pkg/mod.py", text, strlen(text), 1, 0);
	check(n > 0, "the test zip was built");
	snprintf(dir, sizeof dir, "%s/ok", tmp);
	r = unzip_bytes(z, n, dir, &e);
	check(r == 0, "a well-formed deflated wheel unpacks (got %d: %s)", r, r ? e.msg : "");
	snprintf(dir, sizeof dir, "%s/ok/pkg/mod.py", tmp);
	if ((f = fopen(dir, "r"))) {
		got[fread(got, 1, sizeof got - 1, f)] = 0;
		fclose(f);
	}
	check(strcmp(got, text) == 0, "its file holds what zlib deflated (got \"%s\")", got);

	/* 1 GiB claimed from a few dozen deflated bytes */
	n = make_zip(z, sizeof z, "pkg/bomb.py", text, strlen(text), 1, 1ul << 30);
	snprintf(dir, sizeof dir, "%s/bomb", tmp);
	r = unzip_bytes(z, n, dir, &e);
	check(r == EX_DATA, "a claim beyond deflate's 1032:1 is refused as malformed (got %d)", r);
	check(r != 0 && strstr(e.msg, "more than deflate can expand to") != NULL,
		"the refusal says why (got \"%s\")", r ? e.msg : "");
	snprintf(dir, sizeof dir, "%s/bomb/pkg/bomb.py", tmp);
	check(access(dir, F_OK) != 0 && errno == ENOENT, "nothing was written for it");

	/* 64 MiB from one entry (4096 copies of 16 KiB of an LCG's bytes,
	 * about 1 MiB deflated): unpacked through 64 KiB chunks, the peak
	 * resident set grows by the wheel read whole and a few buffers, far
	 * from the entry's size (holding it whole grows it by 64 MiB) */
	static char block[16384];
	unsigned long x = 1, before, after;
	size_t cap = 4ul << 20;
	unsigned char *big = malloc(cap);
	for (size_t i = 0; i < sizeof block; i++)
		block[i] = (char)((x = x * 1103515245 + 12345) >> 16);
	n = big ? make_zip(big, cap, "pkg/big.bin", block, sizeof block, 4096, 0) : 0;
	check(n > 0 && n < 2ul << 20, "the 64 MiB test zip was built (%zu bytes)", n);
	snprintf(dir, sizeof dir, "%s/big", tmp);
	before = peak_kib();
	r = n ? unzip_bytes(big, n, dir, &e) : -1;
	after = peak_kib();
	check(r == 0, "a 64 MiB entry unpacks (got %d: %s)", r, r > 0 ? e.msg : "");
	check(before > 0 && after - before < 16384, "the peak resident set grew by %lu KiB, "
		"less than 16 MiB", after - before);
	unsigned long crc = crc32(0L, Z_NULL, 0), len = 0;
	snprintf(dir, sizeof dir, "%s/big/pkg/big.bin", tmp);
	if ((f = fopen(dir, "rb"))) {
		size_t k;
		while ((k = fread(big, 1, cap, f)) > 0) {
			crc = crc32(crc, big, (uInt)k);
			len += k;
		}
		fclose(f);
	}
	x = crc32(0L, Z_NULL, 0);
	for (int i = 0; i < 4096; i++)
		x = crc32(x, (const unsigned char *)block, sizeof block);
	check(len == 64ul << 20 && crc == x, "its file holds the 64 MiB (%lu bytes)", len);
	free(big);

	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "archive: could not remove %s\n", tmp);
	return check_report();
}
