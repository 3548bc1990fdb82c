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

/* An entry's bytes reach its file ZIP_CHUNK at a time: the wheel itself
 * is read whole, but what an entry unpacks to (up to ARCHIVE_MAX_BYTES)
 * is never held whole.  Deflated bytes are fed to inflate at most
 * ZIP_CHUNK at once and inflated into one ZIP_CHUNK buffer; stored bytes
 * are written from the wheel in ZIP_CHUNK pieces. */
#define ZIP_CHUNK (64 * 1024)

/* The csize bytes at in of the entry named shown (method 0 or 8) into fd
 * (path, for a message) through chunk, checked as they go: exactly usize
 * bytes, not one more (refused before it is written), whose CRC-32 is crc.
 * 0, EX_DATA or EX_SYS; on an error fd may hold part of the entry. */
static int copy_entry(const unsigned char *in, size_t csize, unsigned method, uint32_t usize,
	uint32_t crc, int fd, const char *path, const char *shown, unsigned char *chunk,
	struct merr *e)
{
	uLong sum = crc32(0L, Z_NULL, 0);
	uint64_t got = 0;
	size_t used = 0;
	int zr = Z_OK, r = 0;
	z_stream z;

	memset(&z, 0, sizeof z);
	if (method == 8 && inflateInit2(&z, -15) != Z_OK)
		return merr_set(e, EX_SYS, NULL, "out of memory");
	while (r == 0 && zr != Z_STREAM_END) {
		const unsigned char *out = in + used;
		size_t k = csize - used > ZIP_CHUNK ? ZIP_CHUNK : csize - used;
		if (method == 0) {
			if (k == 0)
				break;
			used += k;
		} else {
			if (z.avail_in == 0) {
				z.next_in = (unsigned char *)in + used;
				z.avail_in = (uInt)k;
				used += k;
			}
			z.next_out = chunk;
			z.avail_out = ZIP_CHUNK;
			zr = inflate(&z, Z_NO_FLUSH);
			if (zr == Z_MEM_ERROR) {
				r = merr_set(e, EX_SYS, NULL, "out of memory");
				break;
			}
			if (zr != Z_OK && zr != Z_STREAM_END) {
				/* Z_DATA_ERROR; Z_BUF_ERROR: all csize bytes fed, no end */
				r = merr_set(e, EX_DATA, NULL, "entry \"%s\": bad deflate data", shown);
				break;
			}
			out = chunk;
			k = ZIP_CHUNK - z.avail_out;
		}
		if (got + k > usize)
			r = merr_set(e, EX_DATA, NULL, "entry \"%s\": unpacks to more than the %lu "
				"bytes it declares", shown, (unsigned long)usize);
		else if (write_all(fd, out, k) != 0)
			r = merr_sys(e, path);
		sum = crc32(sum, out, (uInt)k);
		got += k;
	}
	if (method == 8)
		inflateEnd(&z);
	if (r == 0 && got != usize)
		r = merr_set(e, EX_DATA, NULL, "entry \"%s\": unpacks to %llu bytes, not the %lu "
			"it declares", shown, (unsigned long long)got, (unsigned long)usize);
	if (r == 0 && (uint32_t)sum != crc)
		r = merr_set(e, EX_DATA, NULL, "entry \"%s\": CRC-32 mismatch", shown);
	return r;
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
	unsigned char *chunk = NULL;
	uint64_t total = 0;
	int r = 0;
	char w[128];

	if (read_file(whl, &z, e) || mkdir_p(dir, 0755, e)) {
		buf_free(&z);   /* read_file may have read part of it */
		return e->code;
	}
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
	if (!(chunk = malloc(ZIP_CHUNK))) {
		buf_free(&z);
		return merr_set(e, EX_SYS, NULL, "out of memory");
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
			/* refused before its file is made: a few bytes of central
			 * directory cannot claim the archive's whole byte budget */
			r = merr_set(e, EX_DATA, NULL, "entry \"%s\": claims %lu bytes from %lu "
				"deflated bytes, more than deflate can expand to",
				archive_shown(w, sizeof w, name, nlen), (unsigned long)usize, (unsigned long)csize);
			break;
		}
		int fd = archive_open_out(dir, place, (attr >> 16) & 0111, &full, e);
		if (fd < 0) {
			r = e->code;
			break;
		}
		r = copy_entry(p + off, csize, method, usize, crc, fd, full.p,
			archive_shown(w, sizeof w, name, nlen), chunk, e);
		if (close(fd) != 0 && r == 0)
			r = merr_sys(e, full.p);
	}
	free(chunk);
	buf_free(&z);
	buf_free(&rel);
	buf_free(&full);
	return r;
}
