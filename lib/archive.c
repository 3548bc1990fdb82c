/* archive.c — npm tarballs and wheels onto the deps volume (archive.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "archive.h"
#include "buf.h"
#include "io.h"

/* A printable form of an entry name for a message. */
static const char *shown(char *dst, size_t dn, const char *s, size_t n)
{
	size_t k = n > 100 ? 100 : n;

	snprintf(dst, dn, "%.*s%s", (int)k, s, n > k ? "..." : "");
	for (char *p = dst; *p; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			*p = '?';
	return dst;
}

/* Check a relative name (n bytes) and drop the first skip components;
 * the rest in out (a C string, possibly empty).  0 or EX_DATA. */
static int clean_name(const char *s, size_t n, int skip, struct buf *out, struct merr *e)
{
	char w[128];
	size_t i = 0;

	out->len = 0;
	if (n == 0 || n > 4095 || s[0] == '/' || memchr(s, '\\', n))
		return merr_set(e, EX_DATA, NULL, "entry \"%s\": not a relative name",
			shown(w, sizeof w, s, n));
	while (i < n) {
		size_t j = i;
		while (j < n && s[j] != '/')
			j++;
		size_t cn = j - i;
		for (size_t k = i; k < j; k++)
			if ((unsigned char)s[k] < 0x20 || s[k] == 0x7f)
				return merr_set(e, EX_DATA, NULL, "entry \"%s\": a control byte in the name",
					shown(w, sizeof w, s, n));
		if (cn == 2 && s[i] == '.' && s[i + 1] == '.')
			return merr_set(e, EX_DATA, NULL, "entry \"%s\": a \"..\" component",
				shown(w, sizeof w, s, n));
		if (!(cn == 0 || (cn == 1 && s[i] == '.'))) {
			if (skip > 0) {
				skip--;
			} else {
				if (out->len)
					buf_putc(out, '/');
				buf_put(out, s + i, cn);
			}
		}
		i = j + 1;
	}
	if (!buf_cstr(out))
		return merr_set(e, EX_SYS, NULL, "out of memory");
	return 0;
}

/* dir/rel's parent directories, created as needed (never through a
 * symlink: lstat says what is there). */
static int make_parents(const char *dir, const char *rel, struct buf *full, int last,
	struct merr *e)
{
	struct stat st;

	full->len = 0;
	buf_puts(full, dir);
	for (const char *p = rel;;) {
		const char *q = strchr(p, '/');
		if (!q && !last)
			break;
		buf_putc(full, '/');
		buf_put(full, p, q ? (size_t)(q - p) : strlen(p));
		if (!buf_cstr(full))
			return merr_set(e, EX_SYS, NULL, "out of memory");
		if (mkdir(full->p, 0755) != 0) {
			if (errno != EEXIST)
				return merr_sys(e, full->p);
			if (lstat(full->p, &st) != 0 || !S_ISDIR(st.st_mode))
				return merr_set(e, EX_DATA, NULL, "entry \"%s\": a file and a directory of the same name", rel);
		}
		if (!q)
			break;
		p = q + 1;
	}
	full->len = 0;
	buf_puts(full, dir);
	buf_putc(full, '/');
	buf_puts(full, rel);
	if (!buf_cstr(full))
		return merr_set(e, EX_SYS, NULL, "out of memory");
	return 0;
}

static int open_out(const char *dir, const char *rel, int exec, struct buf *full, struct merr *e)
{
	struct stat st;
	int fd;

	if (make_parents(dir, rel, full, 0, e))
		return -1;
	if (lstat(full->p, &st) == 0 && !S_ISREG(st.st_mode)) {
		merr_set(e, EX_DATA, NULL, "entry \"%s\": a directory and a file of the same name", rel);
		return -1;
	}
	fd = open(full->p, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, exec ? 0755 : 0644);
	if (fd < 0) {
		merr_sys(e, full->p);
		return -1;
	}
	if (fchmod(fd, exec ? 0755 : 0644) != 0) {
		merr_sys(e, full->p);
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- tar.gz ---- */

static int oct(const unsigned char *p, size_t n, uint64_t *v)
{
	uint64_t x = 0;
	size_t i = 0;

	if (n && (p[0] & 0x80))
		return -1;      /* base-256: far beyond the limits anyway */
	while (i < n && p[i] == ' ')
		i++;
	for (; i < n && p[i] >= '0' && p[i] <= '7'; i++) {
		if (x >> 60)
			return -1;
		x = x * 8 + (uint64_t)(p[i] - '0');
	}
	*v = x;
	return 0;
}

static int gz_exact(gzFile g, void *p, size_t n)
{
	int r = gzread(g, p, (unsigned)n);

	return r >= 0 && (size_t)r == n ? 0 : -1;
}

/* pax records "len key=value\n": the path, if any, into name. */
static void pax_path(const char *p, size_t n, struct buf *name)
{
	size_t i = 0;

	while (i < n) {
		size_t len = 0, j = i;
		while (j < n && p[j] >= '0' && p[j] <= '9' && len < n)
			len = len * 10 + (size_t)(p[j++] - '0');
		if (len == 0 || i + len > n || j >= n || p[j] != ' ')
			return;
		const char *kv = p + j + 1, *end = p + i + len - 1;
		if (end > kv && (size_t)(end - kv) > 5 && memcmp(kv, "path=", 5) == 0) {
			name->len = 0;
			buf_put(name, kv + 5, (size_t)(end - kv - 5));
		}
		i += len;
	}
}

int untar_npm(const char *tgz, const char *dir, struct merr *e)
{
	gzFile g = gzopen(tgz, "rb");
	unsigned char h[512];
	struct buf name = BUF_INIT, longname = BUF_INIT, rel = BUF_INIT, full = BUF_INIT;
	char *data = NULL;
	uint64_t total = 0;
	size_t files = 0;
	int r = 0, have_long = 0;

	if (!g)
		return merr_sys(e, tgz);
	if (mkdir_p(dir, 0755, e)) {
		gzclose(g);
		return EX_SYS;
	}
	for (;;) {
		if (gz_exact(g, h, 512)) {
			r = merr_set(e, EX_DATA, NULL, "truncated tar archive");
			break;
		}
		int zero = 1;
		for (int i = 0; i < 512; i++)
			if (h[i]) {
				zero = 0;
				break;
			}
		if (zero)
			break;
		uint64_t size, sum = 0, want;
		for (int i = 0; i < 512; i++)
			sum += (i >= 148 && i < 156) ? ' ' : h[i];
		if (oct(h + 124, 12, &size) || oct(h + 148, 8, &want) || sum != want) {
			r = merr_set(e, EX_DATA, NULL, "malformed tar header");
			break;
		}
		if (++files > ARCHIVE_MAX_FILES || (total += size) > ARCHIVE_MAX_BYTES) {
			r = merr_set(e, EX_DATA, NULL, "the archive unpacks to more than %d entries or %llu bytes",
				ARCHIVE_MAX_FILES, ARCHIVE_MAX_BYTES);
			break;
		}
		char type = (char)h[156];
		size_t padded = (size_t)((size + 511) / 512 * 512);
		free(data);
		data = malloc(padded ? padded : 1);
		if (!data) {
			r = merr_set(e, EX_SYS, NULL, "out of memory");
			break;
		}
		if (gz_exact(g, data, padded)) {
			r = merr_set(e, EX_DATA, NULL, "truncated tar archive");
			break;
		}
		if (type == 'x' || type == 'L') {
			longname.len = 0;
			if (type == 'x')
				pax_path(data, (size_t)size, &longname);
			else
				buf_put(&longname, data, strnlen(data, (size_t)size));
			have_long = longname.len > 0;
			continue;
		}
		if (type == 'g')
			continue;
		name.len = 0;
		if (have_long) {
			buf_put(&name, longname.p, longname.len);
		} else {
			if (memcmp(h + 257, "ustar", 5) == 0 && h[345]) {
				buf_put(&name, h + 345, strnlen((char *)h + 345, 155));
				buf_putc(&name, '/');
			}
			buf_put(&name, h, strnlen((char *)h, 100));
		}
		have_long = 0;
		if (type != '0' && type != '\0' && type != '7' && type != '5')
			continue;   /* links, devices, FIFOs: never on the volume */
		if ((r = clean_name(name.p ? name.p : "", name.len, 1, &rel, e)) != 0)
			break;
		if (rel.len == 0)
			continue;
		if (type == '5') {
			if ((r = make_parents(dir, rel.p, &full, 1, e)) != 0)
				break;
			continue;
		}
		uint64_t mode = 0644;
		oct(h + 100, 8, &mode);
		int fd = open_out(dir, rel.p, (mode & 0111) != 0, &full, e);
		if (fd < 0) {
			r = e->code;
			break;
		}
		if (write_all(fd, data, (size_t)size) != 0 || close(fd) != 0) {
			r = merr_sys(e, full.p);
			break;
		}
	}
	gzclose(g);
	free(data);
	buf_free(&name);
	buf_free(&longname);
	buf_free(&rel);
	buf_free(&full);
	return r;
}

/* ---- zip ---- */

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
		if ((r = clean_name(name, nlen, 0, &rel, e)) != 0)
			break;
		unsigned type = (attr >> 16) & 0170000;
		if (rel.len == 0 || (type && type != 0100000 && type != 0040000))
			continue;   /* symlinks and the like: never on the volume */
		const char *place = wheel_place(rel.p);
		if (!place || !*place)
			continue;
		if (name[nlen - 1] == '/' || type == 0040000) {
			if ((r = make_parents(dir, place, &full, 1, e)) != 0)
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
				shown(w, sizeof w, name, nlen));
			break;
		}
		size_t off = (size_t)lho + 30 + le16(p + lho + 26) + le16(p + lho + 28);
		if (off > n || csize > n - off || (method != 0 && method != 8) ||
		    (method == 0 && csize != usize)) {
			r = merr_set(e, EX_DATA, NULL, "entry \"%s\": malformed or unsupported (method %u)",
				shown(w, sizeof w, name, nlen), method);
			break;
		}
		if (method == 8 && usize > (uint64_t)csize * DEFLATE_MAX_RATIO + 1024) {
			/* refused before its buffer is allocated: a few bytes of
			 * central directory cannot claim a gigabyte of memory */
			r = merr_set(e, EX_DATA, NULL, "entry \"%s\": claims %lu bytes from %lu "
				"deflated bytes, more than deflate can expand to",
				shown(w, sizeof w, name, nlen), (unsigned long)usize, (unsigned long)csize);
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
				shown(w, sizeof w, name, nlen));
			break;
		}
		if ((uint32_t)crc32(0L, out, usize) != crc) {
			r = merr_set(e, EX_DATA, NULL, "entry \"%s\": CRC-32 mismatch",
				shown(w, sizeof w, name, nlen));
			break;
		}
		int fd = open_out(dir, place, (attr >> 16) & 0111, &full, e);
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
