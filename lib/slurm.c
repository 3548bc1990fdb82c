/* slurm.c — a Slurm job's resources from a plan (slurm.h) */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "buf.h"
#include "enc.h"
#include "io.h"
#include "json.h"
#include "slurm.h"

int slurm_job_of_plan(const struct plan *p, int64_t now, struct slurm_job *j, struct merr *e)
{
	int64_t from = p->valid_from > now ? p->valid_from : now;

	if (p->valid_until <= from)
		return merr_set(e, EX_NO, "/valid_until", "the plan's window has closed (valid until %lld, now %lld)",
			(long long)p->valid_until, (long long)now);
	j->cpus = p->vcpus;
	j->mem_mb = p->memory_mb + SLURM_VMM_OVERHEAD_MB;
	j->time_min = (long)((p->valid_until - from + 59) / 60);
	j->begin = p->valid_from > now ? p->valid_from : 0;
	return 0;
}

void slurm_split(size_t ncalls, size_t ntasks, size_t i, size_t *first, size_t *count)
{
	size_t per = (ncalls + ntasks - 1) / ntasks;

	*first = i * per < ncalls ? i * per : ncalls;
	*count = ncalls - *first < per ? ncalls - *first : per;
}

/* The directory part of path into b (n bytes); returns b. */
static char *parent_of(const char *path, char *b, size_t n)
{
	const char *s = strrchr(path, '/');

	snprintf(b, n, "%.*s", s ? (int)(s - path) : 1, s ? path : ".");
	return b;
}

/* Is d's root [array, object]? */
static int is_call(const struct jdoc *d)
{
	jref r = json_root(d);

	return json_type(d, r) == J_ARR && json_len(d, r) == 2 &&
		json_type(d, json_first(d, r)) == J_ARR &&
		json_type(d, json_next(d, json_first(d, r))) == J_OBJ;
}

int slurm_calls_parse(const char *buf, size_t len, struct slurm_calls *c, struct merr *e)
{
	size_t cap = 0;

	*c = (struct slurm_calls){ 0 };
	for (size_t off = 0, ln = 1; off < len; ln++) {
		const char *s = buf + off, *nl = memchr(s, '\n', len - off);
		size_t n = nl ? (size_t)(nl - s) : len - off;
		struct jdoc *d = json_parse(s, n, NULL, e);
		int ok = d && is_call(d);
		char where[32];

		json_free(d);
		if (!ok) {
			const char *colon = d ? NULL : strchr(e->where, ':');
			if (colon)
				snprintf(where, sizeof where, "%zu:%lu", ln, strtoul(colon + 1, NULL, 10));
			else
				snprintf(where, sizeof where, "%zu", ln);
			return merr_set(e, EX_DATA, where, "%s", d ? "not a call: [args, kwargs], an array and an object" : e->msg);
		}
		if (c->n == cap) {
			const char **l = realloc(c->line, (cap = cap ? 2 * cap : 64) * sizeof *l);
			size_t *ls = l ? realloc(c->len, cap * sizeof *ls) : NULL;
			if (l)
				c->line = l;
			if (!ls)
				return merr_set(e, EX_SYS, NULL, "out of memory");
			c->len = ls;
		}
		c->line[c->n] = s;
		c->len[c->n++] = n;
		off += n + 1;
	}
	return c->n ? 0 : merr_set(e, EX_DATA, NULL, "no calls");
}

void slurm_calls_free(struct slurm_calls *c)
{
	free(c->line);
	free(c->len);
	*c = (struct slurm_calls){ 0 };
}

/* Remove the flat directory dir and its files. */
static void rm_flat(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[PATH_MAX + 256];

	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
			unlink(p);
		}
	if (d)
		closedir(d);
	rmdir(dir);
}

/* Link (or copy) image's regular files into the new directory tmp. */
static int fill(const char *image, const char *tmp, struct merr *e)
{
	struct buf b = BUF_INIT;
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (mkdir(tmp, 0755) < 0)
		return merr_sys(e, "create the staging directory");
	if (!(d = opendir(image)))
		return merr_sys(e, "read the image directory");
	while (r == 0 && (de = readdir(d))) {
		char from[PATH_MAX + 256], to[PATH_MAX + 256];
		struct stat st;

		snprintf(from, sizeof from, "%s/%s", image, de->d_name);
		snprintf(to, sizeof to, "%s/%s", tmp, de->d_name);
		if (de->d_name[0] == '.' || stat(from, &st) != 0 || !S_ISREG(st.st_mode) || link(from, to) == 0)
			continue;
		b.len = 0;
		r = read_file(from, &b, e);
		if (r == 0)
			r = write_atomic(to, b.p ? b.p : "", b.len, st.st_mode & 0755, e);
	}
	closedir(d);
	buf_free(&b);
	return r;
}

int slurm_stage(const char *image, const char *shared, const char *meta, char out[PATH_MAX],
	struct merr *e)
{
	char p[PATH_MAX + 16], tmp[PATH_MAX], dst[PATH_MAX], hex[65];
	struct buf b = BUF_INIT;

	snprintf(p, sizeof p, "%s/mvm-meta.json", image);
	if (read_file(p, &b, e) != 0)
		return e->code;
	sha256_hex(hex, b.p ? b.p : "", b.len);
	buf_free(&b);
	if (strncmp(meta, "sha256:", 7) != 0 || strcmp(meta + 7, hex) != 0)
		return merr_set(e, EX_NO, NULL, "not the plans' image (its mvm-meta.json is sha256:%s, the plans' %s)",
			hex, meta);
	if (shared) {
		snprintf(dst, sizeof dst, "%s/images/%s", shared, hex);
		if (access(dst, F_OK) != 0) {
			snprintf(tmp, sizeof tmp, "%s/images/.tmp.%ld", shared, (long)getpid());
			rm_flat(tmp);
			if (mkdir_p(parent_of(tmp, p, sizeof p), 0755, e) != 0 || fill(image, tmp, e) != 0) {
				rm_flat(tmp);
				return e->code;
			}
			/* another submitter may have staged it meanwhile: the same bytes */
			if (rename(tmp, dst) != 0) {
				int err = errno;
				rm_flat(tmp);
				if (err != EEXIST && err != ENOTEMPTY) {
					errno = err;
					return merr_sys(e, "move the staged image into place");
				}
			}
			fsync_parent(dst);
		}
		image = dst;
	}
	if (!realpath(image, out))
		return merr_sys(e, "resolve the image directory");
	return 0;
}
