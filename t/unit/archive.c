/* t/unit/archive.c — lib/archivezip.c's wheel reader on zips built here.
 *
 * The wheel is written byte by byte after APPNOTE.TXT (PKWARE's zip
 * specification: local header, central directory entry, end of central
 * directory), its data deflated by zlib (raw, as method 8 stores it) and
 * its CRC-32 by zlib: the reader is checked against those, not against
 * itself.  Then the same zip claiming a size beyond what deflate can
 * expand to (zlib's FAQ: about 1032 to 1) must be refused before any
 * memory is taken for it. */
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

/* A one-entry zip of name holding text, deflated; the central directory
 * claims usize (0: the true size).  Its length, or 0. */
static size_t make_zip(unsigned char *z, size_t cap, const char *name, const char *text,
	unsigned long usize)
{
	size_t nl = strlen(name), tl = strlen(text), at = 0, csize, cd;
	unsigned char *c = z + 30 + nl;
	unsigned long crc = crc32(0L, (const unsigned char *)text, (uInt)tl);
	z_stream s;

	memset(&s, 0, sizeof s);
	if (deflateInit2(&s, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return 0;
	s.next_in = (unsigned char *)text;
	s.avail_in = (uInt)tl;
	s.next_out = c;
	s.avail_out = (uInt)(cap - 30 - nl - 46 - nl - 22);
	if (deflate(&s, Z_FINISH) != Z_STREAM_END)
		return 0;
	csize = s.total_out;
	deflateEnd(&s);
	if (!usize)
		usize = tl;
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
	n = make_zip(z, sizeof z, "pkg/mod.py", text, 0);
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
	n = make_zip(z, sizeof z, "pkg/bomb.py", text, 1ul << 30);
	snprintf(dir, sizeof dir, "%s/bomb", tmp);
	r = unzip_bytes(z, n, dir, &e);
	check(r == EX_DATA, "a claim beyond deflate's 1032:1 is refused as malformed (got %d)", r);
	check(r != 0 && strstr(e.msg, "more than deflate can expand to") != NULL,
		"the refusal says why (got \"%s\")", r ? e.msg : "");
	snprintf(dir, sizeof dir, "%s/bomb/pkg/bomb.py", tmp);
	check(access(dir, F_OK) != 0 && errno == ENOENT, "nothing was written for it");

	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "archive: could not remove %s\n", tmp);
	return check_report();
}
