/* ir.c — the IR's data files (schemas/NAME.txt), loading an IR for the tools,
 * and the list of validation errors (ir.h).  The model, its checks and
 * normalization are in the other lib/ir*.c files (ir_int.h says which). */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "io.h"
#include "ir.h"
#include "ir_int.h"

/* ---- data files ---- */

static int is_blank(int ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

int strlist_load(const char *path, struct strlist *l, struct merr *e)
{
	struct buf b = BUF_INIT;
	size_t i = 0;
	char msg[sizeof e->msg];

	l->v = NULL;
	l->n = 0;
	if (read_file(path, &b, e) != 0) {
		snprintf(msg, sizeof msg, "%s", e->msg);
		buf_free(&b);
		return merr_set(e, EX_SYS, NULL, "%s: %s", path, msg);
	}
	while (i < b.len) {
		size_t s = i, end;
		while (i < b.len && b.p[i] != '\n')
			i++;
		end = i++;
		while (s < end && is_blank((unsigned char)b.p[s]))
			s++;
		while (end > s && is_blank((unsigned char)b.p[end - 1]))
			end--;
		if (s == end || b.p[s] == '#')
			continue;
		char **nv = realloc(l->v, (l->n + 1) * sizeof *nv);
		char *str = nv ? strndup(b.p + s, end - s) : NULL;
		if (nv)
			l->v = nv;
		if (!str) {
			buf_free(&b);
			strlist_free(l);
			return merr_sys(e, "allocate memory");
		}
		l->v[l->n++] = str;
	}
	buf_free(&b);
	return 0;
}

int strlist_has(const struct strlist *l, const char *s, size_t n)
{
	for (size_t i = 0; l && i < l->n; i++)
		if (strlen(l->v[i]) == n && memcmp(l->v[i], s, n) == 0)
			return 1;
	return 0;
}

void strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int ir_schemas_dir(char *out, size_t n, struct merr *e)
{
	const char *env = getenv("MVM_SCHEMAS");
	char exe[PATH_MAX], a[PATH_MAX + 32], b[PATH_MAX + 32];
	ssize_t k;
	char *slash;

	if (env && *env) {
		if ((size_t)snprintf(out, n, "%s", env) >= n)
			return merr_set(e, EX_SYS, NULL, "MVM_SCHEMAS is too long");
		return 0;
	}
	k = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (k < 0)
		return merr_sys(e, "find the running executable (/proc/self/exe)");
	exe[k] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	snprintf(a, sizeof a, "%s/../schemas", exe);
	snprintf(b, sizeof b, "%s/../share/mvm/schemas", exe);
	const char *pick = is_dir(a) ? a : is_dir(b) ? b : NULL;
	if (!pick)
		return merr_set(e, EX_SYS, NULL,
			"unable to find the data files: no %s or %s (set MVM_SCHEMAS)", a, b);
	if ((size_t)snprintf(out, n, "%s", pick) >= n)
		return merr_set(e, EX_SYS, NULL, "data directory path is too long");
	return 0;
}

static int load_list(const char *dir, const char *name, struct strlist *l, struct merr *e)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof path, "%s/%s", dir, name);
	return strlist_load(path, l, e);
}

void ir_input_free(struct ir_input *in)
{
	strlist_free(&in->languages);
	strlist_free(&in->secret_tokens);
	json_free(in->doc);
	free(in->base);
	buf_free(&in->text);
	memset(in, 0, sizeof *in);
}

static void put_text(struct buf *out, const char *p)
{
	for (; *p; p++)
		buf_putc(out, (unsigned char)*p < ' ' || *p == 0x7f ? '?' : *p);
}

void ir_errors_text(struct buf *out, const char *prog, const char *file,
	const struct ir_errors *l)
{
	for (size_t i = 0; i < l->n; i++) {
		buf_puts(out, prog);
		buf_puts(out, ": ");
		if (file) {
			buf_puts(out, file);
			buf_puts(out, ": ");
		}
		buf_puts(out, l->v[i].code);
		buf_puts(out, " at ");
		put_text(out, l->v[i].pointer[0] ? l->v[i].pointer : "(root)");
		buf_puts(out, ": ");
		put_text(out, l->v[i].detail);
		buf_putc(out, '\n');
	}
}

int ir_config_load(struct ir_input *in, const char *file, const char *dir, int lockfiles,
	struct merr *e)
{
	char data[PATH_MAX];
	const char *slash = file ? strrchr(file, '/') : NULL;

	memset(in, 0, sizeof *in);
	in->text = (struct buf)BUF_INIT;
	if (read_file(file, &in->text, e) != 0 ||
	    !(in->doc = json_parse(in->text.p ? in->text.p : "", in->text.len, NULL, e))) {
		ir_input_free(in);
		return 1;
	}
	if (ir_schemas_dir(data, sizeof data, e) != 0 ||
	    load_list(data, "supported_languages.txt", &in->languages, e) != 0 ||
	    load_list(data, "secret_field_tokens.txt", &in->secret_tokens, e) != 0) {
		ir_input_free(in);
		return 2;
	}
	if (lockfiles) {
		in->base = dir ? strdup(dir)
			: slash ? strndup(file, (size_t)(slash - file) + (slash == file))
			: strdup(".");
		if (!in->base) {
			ir_input_free(in);
			merr_sys(e, "allocate memory");
			return 2;
		}
	}
	in->cfg.languages = &in->languages;
	in->cfg.secret_tokens = &in->secret_tokens;
	in->cfg.base_dir = in->base;
	return 0;
}

/* ---- errors ---- */

void ir_add(struct vctx *c, const char *code, const char *fmt, ...)
{
	va_list ap;
	char msg[1024];
	struct ir_errors *l = c->out;

	if (c->oom)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		struct ir_error *v = realloc(l->v, cap * sizeof *v);
		if (!v) {
			c->oom = 1;
			return;
		}
		l->v = v;
		l->cap = cap;
	}
	char *p = strndup(c->ptr.p ? c->ptr.p : "", c->ptr.len);
	char *m = strdup(msg);
	if (!p || !m || c->ptr.err) {
		free(p);
		free(m);
		c->oom = 1;
		return;
	}
	l->v[l->n].code = code;
	l->v[l->n].pointer = p;
	l->v[l->n].detail = m;
	l->n++;
}

void ir_errors_free(struct ir_errors *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].pointer);
		free(l->v[i].detail);
	}
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

/* A string from the input as a JSON string literal for a message: escaped,
 * at most about 64 bytes of it. */
const char *ir_quote(char *dst, size_t dn, const char *s, size_t n)
{
	struct buf b = BUF_INIT;
	int cut = 0;

	if (n > 64) {
		n = 64;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
		cut = 1;
	}
	json_put_str(&b, s, n);
	if (b.err || !b.p) {
		snprintf(dst, dn, "\"?\"");
	} else {
		snprintf(dst, dn, "%.*s%s", (int)b.len, b.p, cut ? "..." : "");
	}
	buf_free(&b);
	return dst;
}

const char *ir_quote_val(const struct jdoc *d, jref v, char *dst, size_t dn)
{
	size_t n;
	const char *s = json_str(d, v, &n);

	return ir_quote(dst, dn, s ? s : "", n);
}
