/* archivetar.c — an npm tarball (gzip'd ustar) onto the deps volume (archive.h) */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include "archive_int.h"
#include "io.h"

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

/* A pax 'x' or GNU 'L' entry's bytes are read whole (the name is
 * somewhere in them), so they are bounded: names are at most 4095 bytes
 * (archive_clean_name), and 1 MiB leaves room for any other pax records
 * (comments, xattrs) an honest packer adds.  Every other entry's bytes go
 * through one TAR_CHUNK buffer. */
#define TAR_MAX_HEADER (1024 * 1024)
#define TAR_CHUNK (64 * 1024)

/* n bytes of g written to fd (path, for a message), or dropped when fd is
 * -1, TAR_CHUNK at a time through chunk.  0, EX_DATA or EX_SYS. */
static int copy_out(gzFile g, uint64_t n, int fd, const char *path, char *chunk, struct merr *e)
{
	while (n > 0) {
		size_t k = n > TAR_CHUNK ? TAR_CHUNK : (size_t)n;
		if (gz_exact(g, chunk, k))
			return merr_set(e, EX_DATA, NULL, "truncated tar archive");
		if (fd >= 0 && write_all(fd, chunk, k) != 0)
			return merr_sys(e, path);
		n -= k;
	}
	return 0;
}

/* A pax 'x' or GNU 'L' entry (type) of size bytes and pad bytes of
 * padding, read into hdr: the name it gives into name (empty: none).
 * 0, EX_DATA (over TAR_MAX_HEADER, or truncated) or EX_SYS. */
static int long_name(gzFile g, char type, uint64_t size, uint64_t pad, struct buf *hdr,
	struct buf *name, struct merr *e)
{
	if (size > TAR_MAX_HEADER)
		return merr_set(e, EX_DATA, NULL, "a %s header of %llu bytes: more than %d",
			type == 'x' ? "pax" : "long-name", (unsigned long long)size, TAR_MAX_HEADER);
	hdr->len = name->len = 0;
	if (buf_reserve(hdr, (size_t)(size + pad)) != 0)
		return merr_set(e, EX_SYS, NULL, "out of memory");
	if (gz_exact(g, hdr->p, (size_t)(size + pad)))
		return merr_set(e, EX_DATA, NULL, "truncated tar archive");
	if (size > 0 && type == 'x')
		pax_path(hdr->p, (size_t)size, name);
	else if (size > 0)
		buf_put(name, hdr->p, strnlen(hdr->p, (size_t)size));
	return name->err ? merr_set(e, EX_SYS, NULL, "out of memory") : 0;
}

int untar_npm(const char *tgz, const char *dir, struct merr *e)
{
	gzFile g = gzopen(tgz, "rb");
	unsigned char h[512];
	struct buf name = BUF_INIT, longname = BUF_INIT, rel = BUF_INIT, full = BUF_INIT,
		hdr = BUF_INIT;
	char *chunk = NULL;
	uint64_t total = 0;
	size_t files = 0;
	int r = 0, have_long = 0;

	if (!g)
		return merr_sys(e, tgz);
	if (!(chunk = malloc(TAR_CHUNK))) {
		r = merr_set(e, EX_SYS, NULL, "out of memory");
		goto out;
	}
	if (mkdir_p(dir, 0755, e)) {
		r = EX_SYS;
		goto out;
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
		uint64_t pad = (512 - size % 512) % 512;
		int fd = -1;
		if (type == 'x' || type == 'L') {
			if ((r = long_name(g, type, size, pad, &hdr, &longname, e)) != 0)
				break;
			have_long = longname.len > 0;
			continue;
		}
		/* 'g' (pax global), links, devices, FIFOs: dropped, never on the volume */
		if (type != 'g') {
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
		}
		if (type == '0' || type == '\0' || type == '7' || type == '5') {
			if ((r = archive_clean_name(name.p ? name.p : "", name.len, 1, &rel, e)) != 0)
				break;
			if (rel.len > 0 && type == '5' &&
			    (r = archive_make_parents(dir, rel.p, &full, 1, e)) != 0)
				break;
			uint64_t mode = 0644;
			oct(h + 100, 8, &mode);
			if (rel.len > 0 && type != '5' &&
			    (fd = archive_open_out(dir, rel.p, (mode & 0111) != 0, &full, e)) < 0) {
				r = e->code;
				break;
			}
		}
		/* the entry's bytes into its file (or dropped), then the padding */
		r = copy_out(g, size, fd, full.p, chunk, e);
		if (r == 0)
			r = copy_out(g, pad, -1, NULL, chunk, e);
		if (fd >= 0 && close(fd) != 0 && r == 0)
			r = merr_sys(e, full.p);
		if (r != 0)
			break;
	}
out:
	gzclose(g);
	free(chunk);
	buf_free(&name);
	buf_free(&longname);
	buf_free(&rel);
	buf_free(&full);
	buf_free(&hdr);
	return r;
}
