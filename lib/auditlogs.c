/* auditlogs.c — the logs audit-verify -m reads: paths and collected
 * directories expanded (lib/auditlogs.h) */
#include <errno.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "auditlogs.h"

/* Append "a" or "a/b" (b not NULL) to l.  0, EX_SYS. */
static int push(struct paths *l, const char *a, const char *b, struct merr *e)
{
	size_t k = strlen(a) + (b ? strlen(b) + 1 : 0) + 1;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		char **p = realloc(l->v, cap * sizeof *p);
		if (!p)
			return merr_sys(e, "allocate");
		l->v = p;
		l->cap = cap;
	}
	if (!(l->v[l->n] = malloc(k)))
		return merr_sys(e, "allocate");
	snprintf(l->v[l->n++], k, "%s%s%s", a, b ? "/" : "", b ? b : "");
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entries of dir (names not starting with '.') that are directories
 * (want_dir) or regular files named *.jsonl, as "dir/name", sorted,
 * appended to l.  0, EX_SYS. */
static int list(const char *dir, int want_dir, struct paths *l, struct merr *e)
{
	struct paths names = { 0 };
	struct dirent *de;
	struct stat st;
	size_t i;
	int rc = 0;
	DIR *d = opendir(dir);

	if (!d)
		return merr_set(e, EX_SYS, NULL, "%s: unable to list: %s", dir, strerror(errno));
	while (rc == 0 && (de = readdir(d))) {
		size_t k = strlen(de->d_name);
		if (de->d_name[0] == '.' || (!want_dir && (k < 7 ||
		    strcmp(de->d_name + k - 6, ".jsonl") != 0)))
			continue;
		rc = push(&names, dir, de->d_name, e);
		if (rc == 0 && (stat(names.v[names.n - 1], &st) != 0 ||
		    (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))))
			free(names.v[--names.n]);
	}
	closedir(d);
	if (names.n)
		qsort(names.v, names.n, sizeof *names.v, by_name);
	for (i = 0; i < names.n; i++) {
		if (rc == 0)
			rc = push(l, names.v[i], NULL, e);
		free(names.v[i]);
	}
	free(names.v);
	return rc;
}

int auditset_logs(const char *const *paths, size_t n, struct paths *l, struct merr *e)
{
	struct paths nodes = { 0 };
	struct stat st;
	size_t i, j, before;
	int rc = 0;

	for (i = 0; rc == 0 && i < n; i++) {
		if (stat(paths[i], &st) != 0 || !S_ISDIR(st.st_mode)) {
			rc = push(l, paths[i], NULL, e);
			continue;
		}
		before = l->n;
		if ((rc = list(paths[i], 1, &nodes, e)) == 0)
			for (j = 0; rc == 0 && j < nodes.n; j++)
				rc = list(nodes.v[j], 0, l, e);
		for (j = 0; j < nodes.n; j++)
			free(nodes.v[j]);
		nodes.n = 0;
		if (rc == 0 && l->n == before)
			rc = merr_set(e, EX_NO, NULL, "%s: no logs (NODE/NAME.jsonl) in it", paths[i]);
	}
	free(nodes.v);
	return rc;
}
