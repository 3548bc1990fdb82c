/* archivezip.c — a wheel (zip) onto the deps volume (archive.h) */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include "archive_int.h"
#include "io.h"

static uint32_t le16(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t le32(const unsigned char *p)
{
	return le16(p) | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Deflate's largest expansion: 258 bytes out of each 2-bit code once the
 * tree is set, about 1032 to 1 (zlib's FAQ, "maximum compression ratio"). */
#define DEFLATE_MAX_RATIO 1032

static int inflate_raw(const unsigned char *in, size_t inlen, unsigned char *out, size_t outlen)
{
	z_stream z;
	int r;

	memset(&z, 0, sizeof z);
	if (inflateInit2(&z, -15) != Z_OK)
		return -1;
	z.next_in = (unsigned char *)in;
	z.avail_in = (uInt)inlen;
	z.next_out = out;
	z.avail_out = (uInt)outlen;
	r = inflate(&z, Z_FINISH);
	size_t got = z.total_out;
	inflateEnd(&z);
	return r == Z_STREAM_END && got == outlen ? 0 : -1;
}

/* Where a wheel entry goes: its name with NAME.data/{purelib,platlib}/
 * dropped, or NULL (skipped). */
static const char *wheel_place(const char *rel)
{
	const char *slash = strchr(rel, '/');

	if (!slash || slash - rel < 5 || memcmp(slash - 5, ".data", 5) != 0)
		return rel;
	if (strncmp(slash + 1, "purelib/", 8) == 0 || strncmp(slash + 1, "platlib/", 8) == 0)
		return slash + 9;
	return NULL;
}

int unzip_wheel(const char *whl, const char *dir, struct merr *e)
{
	struct buf z = BUF_INIT, rel = BUF_INIT, full = BUF_INIT;
	unsigned char *out = NULL;
	uint64_t total = 0;
	int r = 0;
	char w[128];

	if (read_file(whl, &z, e) || mkdir_p(dir, 0755, e))
		return e->code;
	const unsigned char *p = (const unsigned char *)z.p;
	size_t n = z.len, eocd = (size_t)-1;
	for (size_t i = n >= 22 ? n - 22 : 0; n >= 22; i--) {
		if (le32(p + i) == 0x06054b50) {
			eocd = i;
			break;
		}
		if (i == 0 || n - i > 22 + 65535)
			break;
	}
	if (eocd == (size_t)-1) {
		buf_free(&z);
		return merr_set(e, EX_DATA, NULL, "not a zip archive (no end of central directory)");
	}
	size_t count = le16(p + eocd + 10), cd = le32(p + eocd + 16), cdsize = le32(p + eocd + 12);
	if (count == 0xffff || cd == 0xffffffff || cd > eocd || cdsize > eocd - cd) {
		buf_free(&z);
		return merr_set(e, EX_DATA, NULL, "zip64 or malformed central directory");
	}
	if (count > ARCHIVE_MAX_FILES) {
		buf_free(&z);
		return merr_set(e, EX_DATA, NULL, "more than %d entries", ARCHIVE_MAX_FILES);
	}
	size_t at = cd;
	for (size_t k = 0; k < count && r == 0; k++) {
		if (at + 46 > eocd || le32(p + at) != 0x02014b50) {
			r = merr_set(e, EX_DATA, NULL, "malformed central directory entry %zu", k);
			break;
		}
		uint32_t method = le16(p + at + 10), crc = le32(p + at + 16), csize = le32(p + at + 20),
			usize = le32(p + at + 24), nlen = le16(p + at + 28), xlen = le16(p + at + 30),
			clen = le16(p + at + 32), attr = le32(p + at + 38), lho = le32(p + at + 42);
		const char *name = (const char *)p + at + 46;
		if (at + 46 + nlen > eocd) {
			r = merr_set(e, EX_DATA, NULL, "malformed central directory entry %zu", k);
			break;
		}
		at += 46 + (size_t)nlen + xlen + clen;
		if ((r = archive_clean_name(name, nlen, 0, &rel, e)) != 0)
			break;
		unsigned type = (attr >> 16) & 0170000;
		if (rel.len == 0 || (type && type != 0100000 && type != 0040000))
			continue;   /* symlinks and the like: never on the volume */
		const char *place = wheel_place(rel.p);
		if (!place || !*place)
			continue;
		if (name[nlen - 1] == '/' || type == 0040000) {
			if ((r = archive_make_parents(dir, place, &full, 1, e)) != 0)
				break;
			continue;
		}
		if ((total += usize) > ARCHIVE_MAX_BYTES) {
			r = merr_set(e, EX_DATA, NULL, "the archive unpacks to more than %llu bytes",
				ARCHIVE_MAX_BYTES);
			break;
		}
		if ((size_t)lho + 30 > n || le32(p + lho) != 0x04034b50) {
			r = merr_set(e, EX_DATA, NULL, "entry \"%s\": malformed local header",
				archive_shown(w, sizeof w, name, nlen));
			break;
		}
		size_t off = (size_t)lho + 30 + le16(p + lho + 26) + le16(p + lho + 28);
		if (off > n || csize > n - off || (method != 0 && method != 8) ||
		    (method == 0 && csize != usize)) {
			r = merr_set(e, EX_DATA, NULL, "entry \"%s\": malformed or unsupported (method %u)",
				archive_shown(w, sizeof w, name, nlen), method);
			break;
		}
		if (method == 8 && usize > (uint64_t)csize * DEFLATE_MAX_RATIO + 1024) {
			/* refused before its buffer is allocated: a few bytes of
			 * central directory cannot claim a gigabyte of memory */
			r = merr_set(e, EX_DATA, NULL, "entry \"%s\": claims %lu bytes from %lu "
				"deflated bytes, more than deflate can expand to",
				archive_shown(w, sizeof w, name, nlen), (unsigned long)usize, (unsigned long)csize);
			break;
		}
		free(out);
		out = malloc(usize ? usize : 1);
		if (!out) {
			r = merr_set(e, EX_SYS, NULL, "out of memory");
			break;
		}
		if (method == 0)
			memcpy(out, p + off, usize);
		else if (inflate_raw(p + off, csize, out, usize) != 0) {
			r = merr_set(e, EX_DATA, NULL, "entry \"%s\": bad deflate data",
				archive_shown(w, sizeof w, name, nlen));
			break;
		}
		if ((uint32_t)crc32(0L, out, usize) != crc) {
			r = merr_set(e, EX_DATA, NULL, "entry \"%s\": CRC-32 mismatch",
				archive_shown(w, sizeof w, name, nlen));
			break;
		}
		int fd = archive_open_out(dir, place, (attr >> 16) & 0111, &full, e);
		if (fd < 0) {
			r = e->code;
			break;
		}
		if (write_all(fd, out, usize) != 0 || close(fd) != 0)
			r = merr_sys(e, full.p);
	}
	free(out);
	buf_free(&z);
	buf_free(&rel);
	buf_free(&full);
	return r;
}
