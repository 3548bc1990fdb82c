/* depsrun.c — what the per-language installers call (deps.h "between
 * deps.c and the per-language installers"): digests, Subresource
 * Integrity, processes, fetches and the package list */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <sodium.h>
#include "deps.h"
#include "io.h"
#include "json.h"
#include "lockfile.h"

extern char **environ;

void deps_hexify(const unsigned char *d, size_t n, char *hex)
{
	for (size_t i = 0; i < n; i++)
		sprintf(hex + 2 * i, "%02x", d[i]);
	hex[2 * n] = '\0';
}

int deps_sha256_file(const char *file, char *hex, struct merr *e)
{
	struct buf b = BUF_INIT;
	unsigned char d[32];

	if (read_file(file, &b, e))
		return EX_SYS;
	crypto_hash_sha256(d, (const unsigned char *)(b.p ? b.p : ""), b.len);
	buf_free(&b);
	deps_hexify(d, 32, hex);
	return 0;
}

/* ---- Subresource Integrity ---- */

int deps_sri_verify(const char *file, const char *sri, const char *what, char *alg, char *hex,
	struct merr *e)
{
	static const struct { const char *pre, *md, *cdx; int rank; } algs[] = {
		{ "sha512-", "SHA512", "SHA-512", 4 }, { "sha384-", "SHA384", "SHA-384", 3 },
		{ "sha256-", "SHA256", "SHA-256", 2 }, { "sha1-", "SHA1", "SHA-1", 1 },
	};
	struct buf b = BUF_INIT;
	int best = -1, r = EX_NO;

	/* the strongest algorithm listed decides (as in the SRI spec) */
	for (const char *p = sri; *p;) {
		size_t len = strcspn(p, " ");
		for (int i = 0; i < 4; i++)
			if (len > strlen(algs[i].pre) && strncmp(p, algs[i].pre, strlen(algs[i].pre)) == 0 &&
			    (best < 0 || algs[i].rank > algs[best].rank))
				best = i;
		p += len;
		while (*p == ' ')
			p++;
	}
	if (best < 0)
		return merr_set(e, EX_NO, NULL, "%s: integrity: no sha512/384/256/1 value in the lockfile",
			what);
	if (read_file(file, &b, e))
		return EX_SYS;
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned dl = 0;
	const EVP_MD *md = EVP_get_digestbyname(algs[best].md);
	if (!md || !EVP_Digest(b.p ? b.p : "", b.len, d, &dl, md, NULL)) {
		buf_free(&b);
		return merr_set(e, EX_SYS, NULL, "%s: cannot compute %s", what, algs[best].md);
	}
	buf_free(&b);
	char b64[EVP_MAX_MD_SIZE * 2];
	EVP_EncodeBlock((unsigned char *)b64, d, (int)dl);
	size_t bl = strlen(b64), pl = strlen(algs[best].pre);
	for (const char *p = sri; *p;) {
		size_t len = strcspn(p, " ");
		size_t vl = len;
		const char *q = memchr(p, '?', len);
		if (q)
			vl = (size_t)(q - p);
		if (vl == pl + bl && strncmp(p, algs[best].pre, pl) == 0 && memcmp(p + pl, b64, bl) == 0)
			r = 0;
		p += len;
		while (*p == ' ')
			p++;
	}
	if (r)
		return merr_set(e, EX_NO, NULL,
			"%s: integrity check failed: the fetched artifact's %s is not the lockfile's; nothing installed",
			what, algs[best].md);
	snprintf(alg, 16, "%s", algs[best].cdx);
	deps_hexify(d, dl, hex);
	return 0;
}

/* ---- processes ---- */

int deps_cmd(const char *const argv[], const char *env1, const char *errfile, const char *outfile)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st, r;
	size_t ne = 0;

	while (environ[ne])
		ne++;
	char **env = calloc(ne + 2, sizeof *env);
	if (!env)
		return -1;
	memcpy(env, environ, ne * sizeof *env);
	if (env1)
		env[ne++] = (char *)env1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, outfile ? outfile : "/dev/null",
		O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_addopen(&fa, 2, errfile ? errfile : "/dev/null",
		O_WRONLY | O_CREAT | O_TRUNC, 0600);
	r = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, env);
	posix_spawn_file_actions_destroy(&fa);
	free(env);
	if (r != 0)
		return -1;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- fetch ---- */

int deps_fetch(struct deps_run *x, const char *what, const char *url, const char *dest,
	struct merr *e)
{
	struct buf *l = x->log;
	int r = 0;

	if (strncmp(url, "file:", 5) == 0) {
		struct buf path = BUF_INIT, real = BUF_INIT, b = BUF_INIT;
		const char *f = url + 5;
		if (strncmp(f, "//", 2) == 0)
			f += 2;
		if (f[0] != '/') {
			buf_puts(&path, x->srcdir);
			buf_putc(&path, '/');
		}
		buf_puts(&path, f);
		if (!buf_cstr(&path))
			return merr_set(e, EX_SYS, NULL, "out of memory");
		r = lockfile_inside(x->srcdir, path.p, &real, e);
		if (r == LOCK_OUTSIDE || r == LOCK_NOT_FOUND)
			r = merr_set(e, EX_NO, NULL, "%s: %s is %s; it was not read", what, url,
				r == LOCK_OUTSIDE ? "outside the source directory" : "not a regular file");
		else if (r == 0 && (read_file(real.p, &b, e) || write_atomic(dest, b.p ? b.p : "", b.len, 0600, e)))
			r = EX_SYS;
		buf_free(&path);
		buf_free(&real);
		buf_free(&b);
	} else if (strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0) {
		char errf[4096];
		snprintf(errf, sizeof errf, "%s.err", dest);
		const char *argv[] = { "curl", "--fail", "--silent", "--show-error", "--location",
			"--proto", "=http,https", "--proto-redir", "=http,https", "--max-time", "300",
			"--max-filesize", "1073741824", "--output", dest, "--", url, NULL };
		int st = deps_cmd(argv, NULL, errf, NULL);
		unlink(errf);
		if (st != 0)
			r = merr_set(e, EX_SYS, NULL, "%s: fetching %s failed (curl exit status %d)", what, url,
				st);
	} else {
		r = merr_set(e, EX_NO, NULL, "%s: %s is not an http:, https: or file: URL", what, url);
	}
	buf_puts(l, "{\"package\":");
	json_put_str(l, what, strlen(what));
	buf_puts(l, ",\"url\":");
	json_put_str(l, url, strlen(url));
	buf_printf(l, ",\"ok\":%s}\n", r ? "false" : "true");
	return r;
}

int deps_add_pkg(struct deps_run *x, const char *name, size_t nn, const char *version,
	const char *path, const char *purl, const char *alg, const char *hex, struct merr *e)
{
	if (x->npkgs == x->cap) {
		size_t c = x->cap ? x->cap * 2 : 16;
		struct deps_pkg *p = realloc(x->pkgs, c * sizeof *p);
		if (!p)
			return merr_set(e, EX_SYS, NULL, "out of memory");
		x->pkgs = p;
		x->cap = c;
	}
	struct deps_pkg *p = &x->pkgs[x->npkgs++];
	p->name = strndup(name, nn);
	p->version = strdup(version);
	p->path = strdup(path);
	p->purl = strdup(purl);
	p->alg = strdup(alg);
	p->hex = strdup(hex);
	if (!p->name || !p->version || !p->path || !p->purl || !p->alg || !p->hex)
		return merr_set(e, EX_SYS, NULL, "out of memory");
	return 0;
}

