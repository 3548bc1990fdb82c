/* locknode.c — the Node lockfiles (lockfile_int.h): pnpm-lock.yaml v6/v9,
 * package-lock.json v3, yarn.lock v1. */
#include <stdio.h>
#include <string.h>
#include "buf.h"
#include "json.h"
#include "lockfile.h"
#include "lockfile_int.h"

/* ---- pnpm-lock.yaml (v6, v9) ---- */

/* The value of "key:" inside a YAML flow or block mapping text, unquoted. */
static const char *yaml_val(const char *s, size_t n, const char *key, size_t *vn)
{
	const char *p = s, *end = s + n;
	size_t k = strlen(key);

	while ((p = find(p, (size_t)(end - p), key)) != NULL) {
		/* a key starts the text, or follows '{', ',', ' ' or a newline */
		if ((p == s || strchr("{, \n", p[-1])) && (size_t)(end - p) > k && p[k] == ':') {
			const char *v = p + k + 1;
			while (v < end && *v == ' ')
				v++;
			char qch = (v < end && (*v == '\'' || *v == '"')) ? *v : 0;
			if (qch)
				v++;
			const char *e = v;
			while (e < end && *e != '\n' && (qch ? *e != qch : (*e != ',' && *e != '}')))
				e++;
			while (!qch && e > v && e[-1] == ' ')
				e--;
			*vn = (size_t)(e - v);
			return v;
		}
		p += k;
	}
	return NULL;
}

int lock_check_pnpm(const char *p, size_t n, char *detail, size_t dn)
{
	struct lines l = { p, p + n };
	const char *s, *ver = NULL;
	size_t sn, vern = 0, total = 0, bad = 0;
	char first[128] = "", why[64] = "";
	int in_pkgs = 0;
	struct buf res = BUF_INIT;
	const char *entry = NULL;
	size_t entryn = 0;

	while (next_line(&l, &s, &sn)) {
		if (starts(s, sn, "lockfileVersion:")) {
			ver = s + 16;
			vern = sn - 16;
			trim(&ver, &vern);
		}
	}
	if (!ver)
		return lock_say(detail, dn, "missing lockfileVersion — is this a pnpm-lock.yaml?");
	if (vern >= 2 && (ver[0] == '\'' || ver[0] == '"')) {
		ver++;
		vern -= 2;
	}
	if (!(vern >= 1 && ver[0] >= '6' && ver[0] <= '9' && (vern == 1 || ver[1] == '.')))
		return lock_say(detail, dn, "lockfileVersion %s is not supported (pnpm v6 to v9 lockfiles are)",
			lock_nm(why, sizeof why, ver, vern));

	/* Each entry under packages: is a key at indent 2; its resolution is
	 * inline ({integrity: ...}) or a block below it. */
	l.p = p;
	int in_res = 0;
	size_t res_indent = 0;

#define PNPM_END() do { \
	if (entry) { \
		size_t in_, cn, tn_; \
		const char *integ = yaml_val(res.p ? res.p : "", res.len, "integrity", &in_); \
		const char *commit = yaml_val(res.p ? res.p : "", res.len, "commit", &cn); \
		const char *type = yaml_val(res.p ? res.p : "", res.len, "type", &tn_); \
		int ok = (integ && lock_sri_check(integ, in_) == SRI_OK) || \
			(type && tn_ == 3 && memcmp(type, "git", 3) == 0 && commit && cn == 40 && all_hex(commit, 40)) || \
			(type && tn_ == 9 && memcmp(type, "directory", 9) == 0); \
		total++; \
		if (!ok && bad++ == 0) { \
			lock_nm(first, sizeof first, entry, entryn); \
			snprintf(why, sizeof why, "%s", integ && lock_sri_check(integ, in_) == SRI_WEAK ? \
				"weak sha1 integrity" : res.len ? "no integrity" : "no resolution"); \
		} \
		entry = NULL; \
	} \
} while (0)

	while (next_line(&l, &s, &sn)) {
		size_t ind = indent(s, sn);
		const char *t = s;
		size_t tn = sn;
		trim(&t, &tn);
		if (tn == 0 || t[0] == '#')
			continue;
		if (ind == 0) {
			PNPM_END();
			in_pkgs = starts(s, sn, "packages:");
			continue;
		}
		if (!in_pkgs)
			continue;
		if (ind == 2) {
			PNPM_END();
			const char *colon = t + tn;
			/* the key ends at its last ":" followed by space or end */
			for (size_t i = 0; i < tn; i++)
				if (t[i] == ':' && (i + 1 == tn || t[i + 1] == ' ')) {
					colon = t + i;
					if (t[0] != '\'' && t[0] != '"')
						break;
				}
			entry = t;
			entryn = (size_t)(colon - t);
			if (entryn >= 2 && (t[0] == '\'' || t[0] == '"')) {
				entry++;
				entryn -= 2;
			}
			res.len = 0;
			in_res = 0;
			/* flow style on the header line: key: {resolution: {...}} */
			const char *r = find(t, tn, "resolution:");
			if (r) {
				buf_put(&res, r + 11, tn - (size_t)(r + 11 - t));
			}
			continue;
		}
		if (!entry)
			continue;
		if (in_res && ind > res_indent) {
			buf_put(&res, t, tn);
			buf_putc(&res, '\n');
			continue;
		}
		in_res = 0;
		if (starts(t, tn, "resolution:")) {
			const char *v = t + 11;
			size_t vn = tn - 11;
			trim(&v, &vn);
			if (vn) {
				buf_put(&res, v, vn);
			} else {
				in_res = 1;
				res_indent = ind;
			}
		}
	}
	PNPM_END();
#undef PNPM_END
	buf_free(&res);
	if (total == 0)
		return lock_say(detail, dn, "no packages found in pnpm-lock.yaml");
	if (bad)
		return lock_say(detail, dn, "%zu/%zu pnpm packages missing integrity (first: %s, %s)", bad,
			total, first, why);
	return LOCK_PINNED;
}

/* ---- package-lock.json v3 ---- */

static int jt(const struct jdoc *d, jref v)
{
	return v == JREF_NONE ? -1 : (int)json_type(d, v);
}

int lock_check_npm(const char *p, size_t n, char *detail, size_t dn)
{
	struct merr e;
	struct jdoc *d = json_parse(p, n, NULL, &e);
	jref root, v, pk, k;
	size_t total = 0, bad = 0;
	char first[128] = "", why[96] = "";
	int r;

	if (!d)
		return lock_say(detail, dn, "not valid JSON: %s: %s", e.where, e.msg);
	root = json_root(d);
	v = json_get(d, root, "lockfileVersion");
	if (v == JREF_NONE || json_type(d, v) != J_NUM || json_num(d, v) != 3) {
		struct buf b = BUF_INIT;
		if (v != JREF_NONE)
			json_canon(d, v, &b);
		r = lock_say(detail, dn,
			"package-lock.json must be lockfileVersion 3 (got %.*s); regenerate with `npm install`",
			b.p ? (int)(b.len > 40 ? 40 : b.len) : 4, b.p ? b.p : "none");
		buf_free(&b);
		json_free(d);
		return r;
	}
	pk = json_get(d, root, "packages");
	if (jt(d, pk) != J_OBJ) {
		json_free(d);
		return lock_say(detail, dn, "missing or non-object `packages` field");
	}
	for (k = json_first_key(d, pk); k != JREF_NONE; k = json_next_key(d, k)) {
		size_t kn;
		const char *key = json_str(d, k, &kn);
		jref e2 = json_value(k), x;
		const char *bad_why = NULL;
		if (kn == 0 || !(starts(key, kn, "node_modules/") || find(key, kn, "/node_modules/")))
			continue;   /* the project, a workspace or a local directory: in the tree */
		total++;
		if (json_type(d, e2) != J_OBJ) {
			bad_why = "not an object";
		} else if (jt(d, json_get(d, e2, "link")) == J_TRUE ||
			   jt(d, json_get(d, e2, "inBundle")) == J_TRUE) {
			continue;   /* a symlink into the tree, or inside its parent's tarball */
		} else {
			size_t in_;
			jref iv = json_get(d, e2, "integrity");
			const char *integ = jt(d, iv) == J_STR ? json_str(d, iv, &in_) : NULL;
			x = json_get(d, e2, "resolved");
			int sc = integ ? lock_sri_check(integ, in_) : SRI_BAD;
			if (!integ)
				bad_why = "no integrity";
			else if (sc == SRI_WEAK)
				bad_why = "weak sha1 integrity";
			else if (sc != SRI_OK)
				bad_why = "malformed integrity";
			else if (x == JREF_NONE && jt(d, json_get(d, e2, "version")) != J_STR)
				bad_why = "no resolved URL and no version to fetch it by";
			else if (x != JREF_NONE) {
				size_t rn;
				const char *res = jt(d, x) == J_STR ? json_str(d, x, &rn) : NULL;
				if (!res || !(starts(res, rn, "https://") || starts(res, rn, "file:")))
					bad_why = "resolved is not an https: or file: URL";
			}
		}
		if (bad_why && bad++ == 0) {
			lock_nm(first, sizeof first, key, kn);
			snprintf(why, sizeof why, "%s", bad_why);
		}
	}
	json_free(d);
	if (total == 0)
		return lock_say(detail, dn, "no vendored packages found");
	if (bad)
		return lock_say(detail, dn, "%zu/%zu npm packages not pinned (first: %s, %s)", bad, total,
			first, why);
	return LOCK_PINNED;
}

/* ---- yarn.lock (classic v1) ---- */

int lock_check_yarn(const char *p, size_t n, char *detail, size_t dn)
{
	struct lines l = { p, p + n };
	const char *s;
	size_t sn, total = 0, bad = 0;
	int header = 0, in_entry = 0, integ = 0, weak = 0, resolved_bad = 0;
	char first[128] = "", cur[128] = "", why[64] = "";

#define YARN_END() do { \
	if (in_entry) { \
		total++; \
		if ((!integ || resolved_bad) && bad++ == 0) { \
			snprintf(first, sizeof first, "%s", cur); \
			snprintf(why, sizeof why, "%s", resolved_bad ? "resolved is not an https: or file: URL" \
				: weak ? "weak sha1 integrity" : "no integrity"); \
		} \
	} \
} while (0)

	while (next_line(&l, &s, &sn)) {
		const char *t = s;
		size_t tn = sn;
		if (starts(s, sn, "# yarn lockfile v1"))
			header = 1;
		trim(&t, &tn);
		if (tn == 0 || t[0] == '#')
			continue;
		if (indent(s, sn) == 0) {
			YARN_END();
			in_entry = 1;
			integ = weak = resolved_bad = 0;
			lock_nm(cur, sizeof cur, t, tn && t[tn - 1] == ':' ? tn - 1 : tn);
			continue;
		}
		if (!in_entry)
			continue;
		if (starts(t, tn, "integrity ")) {
			const char *v = t + 10;
			size_t vn = tn - 10;
			trim(&v, &vn);
			if (vn >= 2 && v[0] == '"' && v[vn - 1] == '"') {
				v++;
				vn -= 2;
			}
			int sc = lock_sri_check(v, vn);
			if (sc == SRI_OK)
				integ = 1;
			else if (sc == SRI_WEAK)
				weak = 1;
		} else if (starts(t, tn, "resolved ")) {
			const char *v = t + 9;
			size_t vn = tn - 9;
			trim(&v, &vn);
			if (vn && v[0] == '"') {
				v++;
				vn--;
			}
			if (!(starts(v, vn, "https://") || starts(v, vn, "file:")))
				resolved_bad = 1;
		}
	}
	YARN_END();
#undef YARN_END
	if (!header)
		return lock_say(detail, dn,
			"missing \"# yarn lockfile v1\" header — not recognized as a Yarn classic lockfile");
	if (total == 0)
		return lock_say(detail, dn, "no entries found in yarn.lock");
	if (bad)
		return lock_say(detail, dn, "%zu/%zu yarn entries not pinned (first: %s, %s)", bad, total,
			first, why);
	return LOCK_PINNED;
}
