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
		if ((r = archive_clean_name(name.p ? name.p : "", name.len, 1, &rel, e)) != 0)
			break;
		if (rel.len == 0)
			continue;
		if (type == '5') {
			if ((r = archive_make_parents(dir, rel.p, &full, 1, e)) != 0)
				break;
			continue;
		}
		uint64_t mode = 0644;
		oct(h + 100, 8, &mode);
		int fd = archive_open_out(dir, rel.p, (mode & 0111) != 0, &full, e);
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
