/* ir.c — the Workload IR model: structure, semantic rules, lockfiles,
 * normalization.  The model is described once, as tables of shapes; the
 * structural check and the normalizer both walk those tables, so they
 * cannot disagree about which fields exist or what their defaults are.
 * man/man5/mvm-ir.5 documents the same model; schemas/workload.schema.json
 * is its JSON Schema. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "io.h"
#include "ir.h"
#include "limit.h"
#include "lockfile.h"

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

/* ---- the model ---- */

enum sk {
	K_STR,      /* a string, with S_ checks */
	K_BOOL,
	K_INT,      /* an integral number in [min, max] */
	K_ANY,      /* any JSON value, not looked into */
	K_OBJ,      /* any JSON object, not looked into */
	K_ARR,      /* an array of elem */
	K_MAP,      /* an object whose member values are elem */
	K_STRUCT,   /* an object with exactly the fields f */
	K_TAGGED,   /* an object with "kind" naming one of v */
	K_ENUM,     /* one of the strings e */
	K_NETMODE,  /* network mode: an enum string or {"custom":{...}} */
};

#define S_NONEMPTY 0x01u   /* K_STR: not "" */
#define S_ABS      0x02u   /* K_STR: an absolute path */
#define S_DIGEST   0x04u   /* K_STR: sha256:<64 lowercase hex> */
#define S_OCIREF   0x08u   /* K_STR: an image reference without tag or digest */
#define S_ENVKEY   0x10u   /* K_MAP: keys are environment variable names */
#define S_MIN1     0x20u   /* K_ARR: at least one element */

struct field;
struct variant;

struct shape {
	enum sk k;
	unsigned fl;
	const struct shape *elem;
	const struct field *f;
	const struct variant *v;
	const char *const *e;
	double min, max;
};

/* Field flags.  A field that is neither F_REQ nor F_ALWAYS is omitted
 * from the normalized IR when absent or equal to def. */
#define F_REQ    0x01u   /* must be present */
#define F_NULL   0x02u   /* null means absent */
#define F_ALWAYS 0x04u   /* always written: def when absent */
#define F_DEPS   0x08u   /* app dependencies: presence checked by rule 24 */

struct field {
	const char *name;
	const struct shape *s;
	unsigned fl;
	const char *def;    /* the default, as canonical JSON */
};

struct variant {
	const char *tag;
	const struct field *f;
};

#define U16 65535.0
#define U32 4294967295.0
#define U53 9007199254740991.0

static const struct shape sh_str = { K_STR };
static const struct shape sh_str1 = { K_STR, S_NONEMPTY };
static const struct shape sh_abs = { K_STR, S_ABS };
static const struct shape sh_bool = { K_BOOL };
static const struct shape sh_any = { K_ANY };
static const struct shape sh_obj = { K_OBJ };
static const struct shape sh_digest = { K_STR, S_DIGEST };
static const struct shape sh_ociref = { K_STR, S_OCIREF };
static const struct shape sh_port = { K_INT, .min = 1, .max = U16 };
/* Resources: what the launcher can run (lib/limit.h). */
static const struct shape sh_vcpus = { K_INT, .min = LIMIT_VCPUS_MIN, .max = LIMIT_VCPUS_MAX };
static const struct shape sh_mem = { K_INT, .min = LIMIT_MEMORY_MB_MIN,
	.max = LIMIT_MEMORY_MB_MAX };
static const struct shape sh_boot = { K_INT, .min = LIMIT_BOOT_TIMEOUT_MIN,
	.max = LIMIT_BOOT_TIMEOUT_MAX };
static const struct shape sh_rootfs = { K_INT, .min = LIMIT_ROOTFS_MB_MIN,
	.max = LIMIT_ROOTFS_MB_MAX };
static const struct shape sh_pos32 = { K_INT, .min = 1, .max = U32 };
static const struct shape sh_u53 = { K_INT, .min = 0, .max = U53 };
static const struct shape sh_pos53 = { K_INT, .min = 1, .max = U53 };
static const struct shape sh_strs = { K_ARR, 0, &sh_str };
static const struct shape sh_strs1 = { K_ARR, 0, &sh_str1 };
static const struct shape sh_argv = { K_ARR, S_MIN1, &sh_str };

static const char *const en_format[] = { "json", "msgpack", NULL };
static const char *const en_tier[] = { "untrusted", "trusted", NULL };
static const char *const en_rw[] = { "ro", "rw", NULL };
static const char *const en_proto[] = { "tcp", "udp", NULL };
static const char *const en_inproc[] = { "serial", "concurrent", NULL };
static const char *const en_auth[] = { "sigv4", "hmac", "bearer", "basic", NULL };
static const char *const en_addon_tier[] = { "separate", "in_vm", NULL };
static const char *const en_pytool[] = { "uv", "pip_tools", NULL };
static const char *const en_nodetool[] = { "pnpm", "npm", "yarn", NULL };
static const char *const en_netmode[] = { "none", "bridge", "host", NULL };

static const struct shape sh_format = { K_ENUM, .e = en_format };
static const struct shape sh_tier = { K_ENUM, .e = en_tier };
static const struct shape sh_rw = { K_ENUM, .e = en_rw };
static const struct shape sh_proto = { K_ENUM, .e = en_proto };
static const struct shape sh_inproc = { K_ENUM, .e = en_inproc };
static const struct shape sh_auth = { K_ENUM, .e = en_auth };
static const struct shape sh_addon_tier = { K_ENUM, .e = en_addon_tier };
static const struct shape sh_pytool = { K_ENUM, .e = en_pytool };
static const struct shape sh_nodetool = { K_ENUM, .e = en_nodetool };
static const struct shape sh_netmode = { K_NETMODE, .e = en_netmode };

/* Environment values and secrets */
static const struct field f_env_var[] = { { "var", &sh_str1, F_REQ }, { NULL } };
static const struct field f_file_path[] = { { "path", &sh_abs, F_REQ }, { NULL } };
static const struct variant v_secret_mount[] = {
	{ "env", f_env_var }, { "file", f_file_path }, { NULL } };
static const struct shape sh_secret_mount = { K_TAGGED, .v = v_secret_mount };
static const struct field f_sigv4[] = {
	{ "access_key_id", &sh_str1, F_REQ },
	{ "region", &sh_str1, F_REQ },
	{ "service", &sh_str1, F_REQ },
	{ NULL } };
static const struct shape sh_sigv4 = { K_STRUCT, .f = f_sigv4 };
static const struct field f_secret_ref[] = {
	{ "name", &sh_str1, F_REQ },
	{ "mount", &sh_secret_mount, F_REQ },
	{ "auth_type", &sh_auth, F_REQ },
	{ "allowed_hosts", &sh_strs1, F_REQ },
	{ "sigv4", &sh_sigv4, F_NULL },
	{ NULL } };
static const struct shape sh_secret_ref = { K_STRUCT, .f = f_secret_ref };
static const struct field f_literal[] = { { "value", &sh_str, F_REQ }, { NULL } };
static const struct field f_secret[] = { { "ref", &sh_secret_ref, F_REQ }, { NULL } };
static const struct variant v_env[] = {
	{ "literal", f_literal }, { "secret_ref", f_secret }, { NULL } };
static const struct shape sh_envval = { K_TAGGED, .v = v_env };
static const struct shape sh_env = { K_MAP, S_ENVKEY, &sh_envval };

/* Entrypoints */
static const struct field f_conc[] = {
	{ "max_calls_per_worker", &sh_u53, F_REQ },
	{ "max_rss_mb", &sh_u53, F_REQ },
	{ "pool_size", &sh_u53, F_REQ },
	{ "in_process", &sh_inproc, F_REQ },
	{ "max_queue_depth", &sh_pos53, F_NULL },
	{ NULL } };
static const struct variant v_conc[] = { { "warm_process", f_conc }, { NULL } };
static const struct shape sh_conc = { K_TAGGED, .v = v_conc };
static const struct field f_command[] = {
	{ "command", &sh_argv, F_REQ },
	{ "working_dir", &sh_abs, 0, "\"/app\"" },
	{ "env", &sh_env, 0, "{}" },
	{ NULL } };
static const struct field f_function[] = {
	{ "language", &sh_str, F_REQ },
	{ "module", &sh_str1, F_REQ },
	{ "function", &sh_str1, F_REQ },
	{ "format", &sh_format, F_REQ },
	{ "primary", &sh_bool, F_ALWAYS, "false" },
	{ "working_dir", &sh_abs, 0, "\"/app\"" },
	{ "args_schema", &sh_obj, F_NULL },
	{ "return_schema", &sh_obj, F_NULL },
	{ "concurrency", &sh_conc, F_NULL },
	{ "extra_imports", &sh_strs1, 0, "[]" },
	{ NULL } };
static const struct variant v_entry[] = {
	{ "command", f_command }, { "function", f_function }, { NULL } };
static const struct shape sh_entry = { K_TAGGED, .v = v_entry };
static const struct shape sh_entries = { K_ARR, 0, &sh_entry };

/* Source and image */
static const struct field f_local[] = {
	{ "path", &sh_str1, F_REQ },
	{ "include", &sh_strs1, F_ALWAYS, "[\"**\"]" },
	{ "exclude", &sh_strs1, F_ALWAYS, "[]" },
	{ NULL } };
static const struct field f_nixdrv[] = { { "expr", &sh_str1, F_REQ }, { NULL } };
static const struct field f_oci[] = {
	{ "reference", &sh_ociref, F_REQ },
	{ "digest", &sh_digest, F_REQ },
	{ NULL } };
static const struct variant v_source[] = {
	{ "local_path", f_local }, { "nix_derivation", f_nixdrv }, { "oci_image", f_oci },
	{ NULL } };
static const struct shape sh_source = { K_TAGGED, .v = v_source };
static const struct field f_nixpkgs[] = { { "packages", &sh_strs1, F_REQ }, { NULL } };
static const struct variant v_image[] = {
	{ "nix_packages", f_nixpkgs }, { "oci_base", f_oci }, { NULL } };
static const struct shape sh_image = { K_TAGGED, .v = v_image };

/* Resources and dependencies */
static const struct field f_resources[] = {
	{ "vcpus", &sh_vcpus, F_REQ },
	{ "memory_mb", &sh_mem, F_REQ },
	{ "boot_timeout_secs", &sh_boot, F_ALWAYS, "30" },
	{ "rootfs_size_mb", &sh_rootfs, F_NULL },
	{ NULL } };
static const struct shape sh_resources = { K_STRUCT, .f = f_resources };
static const struct field f_dep_py[] = {
	{ "lockfile", &sh_str1, F_REQ }, { "tool", &sh_pytool, F_REQ }, { NULL } };
static const struct field f_dep_node[] = {
	{ "lockfile", &sh_str1, F_REQ }, { "tool", &sh_nodetool, F_REQ }, { NULL } };
static const struct field f_none[] = { { NULL } };
static const struct variant v_deps[] = {
	{ "python", f_dep_py }, { "node", f_dep_node }, { "none", f_none }, { NULL } };
static const struct shape sh_deps = { K_TAGGED, .v = v_deps };

/* Mounts and volumes */
static const struct field f_ms_volume[] = { { "name", &sh_str1, F_REQ }, { NULL } };
static const struct field f_ms_host[] = { { "path", &sh_abs, F_REQ }, { NULL } };
static const struct field f_ms_tmpfs[] = { { "size_mb", &sh_pos32, F_REQ }, { NULL } };
static const struct field f_ms_ext[] = {
	{ "provider", &sh_str1, F_REQ }, { "config", &sh_any, F_REQ }, { NULL } };
static const struct variant v_mount_src[] = {
	{ "volume", f_ms_volume }, { "host_path", f_ms_host }, { "tmpfs", f_ms_tmpfs },
	{ "external", f_ms_ext }, { NULL } };
static const struct shape sh_mount_src = { K_TAGGED, .v = v_mount_src };
static const struct field f_mount[] = {
	{ "target", &sh_abs, F_REQ },
	{ "source", &sh_mount_src, F_REQ },
	{ "mode", &sh_rw, F_REQ },
	{ NULL } };
static const struct shape sh_mount = { K_STRUCT, .f = f_mount };
static const struct shape sh_mounts = { K_ARR, 0, &sh_mount };
static const struct field f_volume[] = {
	{ "name", &sh_str1, F_REQ },
	{ "size_mb", &sh_pos32, F_REQ },
	{ "persist", &sh_bool, F_REQ },
	{ NULL } };
static const struct shape sh_volume = { K_STRUCT, .f = f_volume };
static const struct shape sh_volumes = { K_ARR, 0, &sh_volume };

/* Network */
static const struct field f_custom[] = {
	{ "provider", &sh_str1, F_REQ }, { "config", &sh_any, F_REQ }, { NULL } };
static const struct shape sh_custom = { K_STRUCT, .f = f_custom };
static const struct field f_netmode_obj[] = { { "custom", &sh_custom, F_REQ }, { NULL } };
static const struct field f_port[] = {
	{ "guest", &sh_port, F_REQ },
	{ "host", &sh_port, F_REQ },
	{ "proto", &sh_proto, F_REQ },
	{ NULL } };
static const struct shape sh_portfwd = { K_STRUCT, .f = f_port };
static const struct shape sh_ports = { K_ARR, 0, &sh_portfwd };
static const struct field f_allow[] = {
	{ "host", &sh_str, F_REQ }, { "port", &sh_port, F_REQ }, { NULL } };
static const struct shape sh_allow = { K_STRUCT, .f = f_allow };
static const struct shape sh_allows = { K_ARR, 0, &sh_allow };
static const struct field f_egress[] = { { "allowlist", &sh_allows, F_REQ }, { NULL } };
static const struct shape sh_egress = { K_STRUCT, .f = f_egress };
static const struct field f_resolver[] = {
	{ "host", &sh_str1, F_REQ }, { "port", &sh_port, F_REQ }, { NULL } };
static const struct variant v_dns[] = {
	{ "none", f_none }, { "system", f_none }, { "resolver", f_resolver }, { NULL } };
static const struct shape sh_dns = { K_TAGGED, .v = v_dns };
static const struct field f_network[] = {
	{ "mode", &sh_netmode, F_REQ },
	{ "ports", &sh_ports, 0, "[]" },
	{ "egress", &sh_egress, F_NULL },
	{ "peers", &sh_strs, 0, "[]" },
	{ "dns", &sh_dns, F_NULL },
	{ NULL } };
static const struct shape sh_network = { K_STRUCT, .f = f_network };

/* Addons */
static const struct field f_ref_reg[] = {
	{ "url", &sh_str, F_REQ }, { "version", &sh_str, F_REQ }, { NULL } };
static const struct field f_ref_local[] = { { "path", &sh_str, F_REQ }, { NULL } };
static const struct variant v_addon_ref[] = {
	{ "registry", f_ref_reg }, { "local", f_ref_local }, { NULL } };
static const struct shape sh_addon_ref = { K_TAGGED, .v = v_addon_ref };
static const struct field f_addon[] = {
	{ "name", &sh_str, F_REQ },
	{ "alias", &sh_str, F_NULL },
	{ "tier", &sh_addon_tier, F_REQ },
	{ "ref", &sh_addon_ref, F_REQ },
	{ "sha256", &sh_str, F_REQ },
	{ "params", &sh_obj, 0, "{}" },
	{ NULL } };
static const struct shape sh_addon = { K_STRUCT, .f = f_addon };
static const struct shape sh_addons = { K_ARR, 0, &sh_addon };

/* App and workload */
static const struct field f_app[] = {
	{ "name", &sh_str, F_REQ },
	{ "source", &sh_source, F_REQ },
	{ "image", &sh_image, F_REQ },
	{ "entrypoints", &sh_entries, F_REQ },
	{ "env", &sh_env, 0, "{}" },
	{ "mounts", &sh_mounts, 0, "[]" },
	{ "network", &sh_network, F_NULL },
	{ "resources", &sh_resources, F_REQ },
	{ "dependencies", &sh_deps, F_DEPS },
	{ "threat_tier", &sh_tier, 0, "\"untrusted\"" },
	{ "addons", &sh_addons, 0, "[]" },
	{ NULL } };
static const struct shape sh_app = { K_STRUCT, .f = f_app };
static const struct shape sh_apps = { K_ARR, 0, &sh_app };
static const struct field f_workload[] = {
	{ "schema_version", &sh_str, F_REQ },
	{ "id", &sh_str, F_REQ },
	{ "apps", &sh_apps, F_REQ },
	{ "volumes", &sh_volumes, F_REQ },
	{ "extensions", &sh_obj, F_REQ },
	{ NULL } };
static const struct shape sh_workload = { K_STRUCT, .f = f_workload };

/* ---- errors ---- */

#define E_UNKNOWN_FIELD "E_UNKNOWN_FIELD"
#define E_MALFORMED "E_MALFORMED_MANIFEST"

struct vctx {
	const struct jdoc *d;
	const struct ir_config *cfg;
	struct ir_errors *out;
	struct buf ptr;
	int oom;
};

static void add(struct vctx *c, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void add(struct vctx *c, const char *code, const char *fmt, ...)
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

static size_t push_key(struct vctx *c, const char *k, size_t n)
{
	size_t old = c->ptr.len;

	json_ptr_push(&c->ptr, k, n);
	return old;
}

static size_t push_name(struct vctx *c, const char *k)
{
	return push_key(c, k, strlen(k));
}

static size_t push_idx(struct vctx *c, size_t i)
{
	size_t old = c->ptr.len;

	json_ptr_push_index(&c->ptr, i);
	return old;
}

static void pop(struct vctx *c, size_t old)
{
	c->ptr.len = old;
}

/* A string from the input as a JSON string literal for a message: escaped,
 * at most about 64 bytes of it. */
static const char *q(char *dst, size_t dn, const char *s, size_t n)
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

static const char *qv(const struct jdoc *d, jref v, char *dst, size_t dn)
{
	size_t n;
	const char *s = json_str(d, v, &n);

	return q(dst, dn, s ? s : "", n);
}

/* "a, b, c" of a NULL-terminated list. */
static void join(char *dst, size_t dn, const char *const *e)
{
	size_t k = 0;

	dst[0] = '\0';
	for (; *e && k < dn; e++)
		k += (size_t)snprintf(dst + k, dn - k, "%s%s", k ? ", " : "", *e);
}

static void join_fields(char *dst, size_t dn, const struct field *f, int tagged)
{
	size_t k = 0;

	dst[0] = '\0';
	if (tagged)
		k += (size_t)snprintf(dst, dn, "kind");
	for (; f->name && k < dn; f++)
		k += (size_t)snprintf(dst + k, dn - k, "%s%s", k ? ", " : "", f->name);
}

static void join_variants(char *dst, size_t dn, const struct variant *v)
{
	size_t k = 0;

	dst[0] = '\0';
	for (; v->tag && k < dn; v++)
		k += (size_t)snprintf(dst + k, dn - k, "%s%s", k ? ", " : "", v->tag);
}

static const char *typename_of(const struct jdoc *d, jref v)
{
	return json_typename(json_type(d, v));
}

static void bad_type(struct vctx *c, const char *want, jref v)
{
	add(c, E_MALFORMED, "expected %s, found %s", want, typename_of(c->d, v));
}

/* ---- structural checks ---- */

static int is_hex64(const char *s, size_t n)
{
	if (n != 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int is_envname(const char *s, size_t n)
{
	if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '_'))
			return 0;
	}
	return 1;
}

static void check_str(struct vctx *c, jref v, unsigned fl)
{
	size_t n;
	const char *s = json_str(c->d, v, &n);

	if (memchr(s, '\0', n)) {
		add(c, E_MALFORMED, "a NUL character is not allowed here");
		return;
	}
	if ((fl & (S_NONEMPTY | S_OCIREF)) && n == 0) {
		add(c, E_MALFORMED, "must not be empty");
		return;
	}
	if ((fl & S_ABS) && (n == 0 || s[0] != '/'))
		add(c, E_MALFORMED, "must be an absolute path");
	if ((fl & S_DIGEST) && !(n == 71 && memcmp(s, "sha256:", 7) == 0 && is_hex64(s + 7, 64)))
		add(c, E_MALFORMED, "must be \"sha256:\" followed by 64 lowercase hex digits");
	if (fl & S_OCIREF) {
		const char *last = s;
		for (size_t i = 0; i < n; i++)
			if (s[i] == '/')
				last = s + i + 1;
		if (memchr(s, '@', n) || memchr(last, ':', n - (size_t)(last - s)))
			add(c, E_MALFORMED, "must name an image without a tag or digest; pin it with \"digest\"");
		else
			for (size_t i = 0; i < n; i++)
				if ((unsigned char)s[i] <= ' ') {
					add(c, E_MALFORMED, "must not contain spaces or control characters");
					break;
				}
	}
}

static int in_list(const struct jdoc *d, jref v, const char *const *e)
{
	for (; *e; e++)
		if (json_str_eq(d, v, *e))
			return 1;
	return 0;
}

static void check(struct vctx *c, jref v, const struct shape *s, unsigned depth);

static const struct field *find_field(const struct field *f, const char *name, size_t n)
{
	for (; f->name; f++)
		if (strlen(f->name) == n && memcmp(f->name, name, n) == 0)
			return f;
	return NULL;
}

static void check_fields(struct vctx *c, jref obj, const struct field *fields, int tagged,
	unsigned depth)
{
	const struct jdoc *d = c->d;
	char qb[400], list[512];

	for (jref k = json_first_key(d, obj); k != JREF_NONE; k = json_next_key(d, k)) {
		size_t n;
		const char *name = json_str(d, k, &n);
		if (tagged && n == 4 && memcmp(name, "kind", 4) == 0)
			continue;
		const struct field *f = find_field(fields, name, n);
		size_t old = push_key(c, name, n);
		jref val = json_value(k);
		if (!f) {
			join_fields(list, sizeof list, fields, tagged);
			add(c, E_UNKNOWN_FIELD, "unknown field %s (expected one of: %s)",
				q(qb, sizeof qb, name, n), list);
		} else if (!(json_type(d, val) == J_NULL && (f->fl & (F_NULL | F_DEPS)))) {
			check(c, val, f->s, depth + 1);
		}
		pop(c, old);
	}
	for (const struct field *f = fields; f->name; f++)
		if ((f->fl & F_REQ) && json_get(d, obj, f->name) == JREF_NONE)
			add(c, E_MALFORMED, "missing required field \"%s\"", f->name);
}

static void check(struct vctx *c, jref v, const struct shape *s, unsigned depth)
{
	const struct jdoc *d = c->d;
	enum jtype t = json_type(d, v);
	char qb[400], list[512];
	size_t old, i;
	jref x;

	if (c->oom)
		return;
	switch (s->k) {
	case K_ANY:
		return;
	case K_OBJ:
		if (t != J_OBJ)
			bad_type(c, "object", v);
		return;
	case K_STR:
		if (t != J_STR)
			bad_type(c, "string", v);
		else
			check_str(c, v, s->fl);
		return;
	case K_BOOL:
		if (t != J_TRUE && t != J_FALSE)
			bad_type(c, "boolean", v);
		return;
	case K_INT: {
		if (t != J_NUM) {
			bad_type(c, "integer", v);
			return;
		}
		double n = json_num(d, v);
		if (n != floor(n) || n < s->min || n > s->max) {
			struct buf b = BUF_INIT;
			json_put_num(&b, n);
			add(c, E_MALFORMED, "expected an integer from %.0f to %.0f, found %s",
				s->min, s->max, buf_cstr(&b) ? b.p : "?");
			buf_free(&b);
		}
		return;
	}
	case K_ENUM:
		if (t != J_STR) {
			bad_type(c, "string", v);
		} else if (!in_list(d, v, s->e)) {
			join(list, sizeof list, s->e);
			add(c, E_MALFORMED, "expected one of: %s; found %s", list,
				qv(d, v, qb, sizeof qb));
		}
		return;
	case K_ARR:
		if (t != J_ARR) {
			bad_type(c, "array", v);
			return;
		}
		if ((s->fl & S_MIN1) && json_len(d, v) == 0)
			add(c, E_MALFORMED, "must not be empty");
		for (i = 0, x = json_first(d, v); x != JREF_NONE; x = json_next(d, x), i++) {
			old = push_idx(c, i);
			check(c, x, s->elem, depth + 1);
			pop(c, old);
		}
		return;
	case K_MAP:
		if (t != J_OBJ) {
			bad_type(c, "object", v);
			return;
		}
		for (x = json_first_key(d, v); x != JREF_NONE; x = json_next_key(d, x)) {
			size_t n;
			const char *k = json_str(d, x, &n);
			old = push_key(c, k, n);
			if ((s->fl & S_ENVKEY) && !is_envname(k, n))
				add(c, E_MALFORMED,
					"%s is not an environment variable name ([A-Za-z_][A-Za-z0-9_]*)",
					q(qb, sizeof qb, k, n));
			check(c, json_value(x), s->elem, depth + 1);
			pop(c, old);
		}
		return;
	case K_STRUCT:
		if (t != J_OBJ)
			bad_type(c, "object", v);
		else
			check_fields(c, v, s->f, 0, depth);
		return;
	case K_TAGGED: {
		if (t != J_OBJ) {
			bad_type(c, "object", v);
			return;
		}
		jref kind = json_get(d, v, "kind");
		const struct variant *var = NULL;
		join_variants(list, sizeof list, s->v);
		if (kind == JREF_NONE) {
			add(c, E_MALFORMED, "missing required field \"kind\" (one of: %s)", list);
			return;
		}
		old = push_name(c, "kind");
		if (json_type(d, kind) != J_STR) {
			bad_type(c, "string", kind);
		} else {
			for (var = s->v; var->tag && !json_str_eq(d, kind, var->tag); var++)
				;
			if (!var->tag) {
				add(c, E_MALFORMED, "unknown kind %s (expected one of: %s)",
					qv(d, kind, qb, sizeof qb), list);
				var = NULL;
			}
		}
		pop(c, old);
		if (var)
			check_fields(c, v, var->f, 1, depth);
		return;
	}
	case K_NETMODE:
		if (t == J_STR) {
			static const struct shape en = { K_ENUM, .e = en_netmode };
			check(c, v, &en, depth);
		} else if (t == J_OBJ) {
			check_fields(c, v, f_netmode_obj, 0, depth);
		} else {
			bad_type(c, "string or object", v);
		}
		return;
	}
}

/* ---- semantic rules ---- */

static jref get(const struct jdoc *d, jref o, const char *k)
{
	return o != JREF_NONE && json_type(d, o) == J_OBJ ? json_get(d, o, k) : JREF_NONE;
}

static int is_type(const struct jdoc *d, jref v, enum jtype t)
{
	return v != JREF_NONE && json_type(d, v) == t;
}

static int str_is(const struct jdoc *d, jref v, const char *s)
{
	return v != JREF_NONE && json_str_eq(d, v, s);
}

static const char *sget(const struct jdoc *d, jref v, size_t *n)
{
	if (v == JREF_NONE || json_type(d, v) != J_STR) {
		*n = 0;
		return NULL;
	}
	return json_str(d, v, n);
}

/* The id rule: 1 to 63 bytes of [a-z0-9-], starting with [a-z]. */
static int valid_id(const char *s, size_t n)
{
	if (n < 1 || n > 63 || s[0] < 'a' || s[0] > 'z')
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

static void check_id(struct vctx *c, jref v, const char *what)
{
	size_t n;
	const char *s = sget(c->d, v, &n);
	char qb[400];

	if (s && !valid_id(s, n))
		add(c, "E_INVALID_ID", "%s %s does not match ^[a-z][a-z0-9-]{0,62}$", what,
			q(qb, sizeof qb, s, n));
}

/* A decimal u32 without sign or leading zeros; -1 if not. */
static long long parse_u32(const char *s, size_t n)
{
	long long v = 0;

	if (n == 0 || n > 10 || (n > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v > 4294967295LL ? -1 : v;
}

static void rule_version(struct vctx *c, jref v)
{
	size_t n, old;
	const char *s = sget(c->d, v, &n);
	const char *dot;
	char qb[400];
	long long major, minor;

	if (!s)
		return;
	old = push_name(c, "schema_version");
	dot = memchr(s, '.', n);
	if (!dot || (major = parse_u32(s, (size_t)(dot - s))) < 0 ||
	    (minor = parse_u32(dot + 1, n - (size_t)(dot - s) - 1)) < 0) {
		add(c, "E_MALFORMED_VERSION", "schema_version %s is not MAJOR.MINOR (e.g. \"0.1\")",
			q(qb, sizeof qb, s, n));
	} else if (major != IR_MAJOR) {
		add(c, "E_UNSUPPORTED_MAJOR", "major version %lld is not supported (this validator reads %d.x)",
			major, IR_MAJOR);
	} else if (minor > IR_MINOR) {
		add(c, "E_MINOR_TOO_HIGH",
			"minor version %lld is newer than this validator supports (%d.%d)",
			minor, IR_MAJOR, IR_MINOR);
	}
	pop(c, old);
}

/* ASCII lowercase, '-' as '_'. */
static char fold(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (char)(ch + 32) : ch == '-' ? '_' : ch;
}

static int folded_eq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fold(a[i]) != fold(b[i]))
			return 0;
	return 1;
}

/* Secret-shaped names (secret_field_tokens.txt): compared in ASCII
 * lowercase with '-' as '_', equal to a token or ending in _token. */
static int secret_name(const struct strlist *tok, const char *s, size_t n)
{
	for (size_t i = 0; tok && i < tok->n; i++) {
		size_t tn = strlen(tok->v[i]);
		if (tn == n && folded_eq(s, tok->v[i], n))
			return 1;
		if (n > tn && folded_eq(s + n - tn, tok->v[i], tn) && fold(s[n - tn - 1]) == '_')
			return 1;
	}
	return 0;
}

/* Walk a JSON Schema: names under properties are checked; properties,
 * items, prefixItems, oneOf, anyOf, allOf, not, if/then/else, contains,
 * additionalProperties, patternProperties, dependentSchemas, $defs and
 * definitions are descended into. */
static void walk_schema(struct vctx *c, jref s, unsigned depth)
{
	const struct jdoc *d = c->d;
	static const char *const subs[] = { "items", "additionalProperties", "not", "if", "then",
		"else", "contains", "unevaluatedItems", "unevaluatedProperties", NULL };
	static const char *const arrs[] = { "prefixItems", "oneOf", "anyOf", "allOf", NULL };
	static const char *const maps[] = { "$defs", "definitions", "patternProperties",
		"dependentSchemas", NULL };
	char qb[400];
	size_t old, old2, i;
	jref p, k, x;

	if (!is_type(d, s, J_OBJ) || c->oom || depth > 10000)
		return;
	p = json_get(d, s, "properties");
	if (is_type(d, p, J_OBJ)) {
		old = push_name(c, "properties");
		for (k = json_first_key(d, p); k != JREF_NONE; k = json_next_key(d, k)) {
			size_t n;
			const char *name = json_str(d, k, &n);
			old2 = push_key(c, name, n);
			if (secret_name(c->cfg->secret_tokens, name, n))
				add(c, "E_SECRET_IN_SCHEMA",
					"property %s looks like a secret; pass secrets with a secret_ref, not as an argument or result",
					q(qb, sizeof qb, name, n));
			walk_schema(c, json_value(k), depth + 1);
			pop(c, old2);
		}
		pop(c, old);
	}
	for (const char *const *a = subs; *a; a++) {
		x = json_get(d, s, *a);
		if (is_type(d, x, J_OBJ)) {
			old = push_name(c, *a);
			walk_schema(c, x, depth + 1);
			pop(c, old);
		} else if (is_type(d, x, J_ARR) && strcmp(*a, "items") == 0) {
			old = push_name(c, *a);
			for (i = 0, k = json_first(d, x); k != JREF_NONE; k = json_next(d, k), i++) {
				old2 = push_idx(c, i);
				walk_schema(c, k, depth + 1);
				pop(c, old2);
			}
			pop(c, old);
		}
	}
	for (const char *const *a = arrs; *a; a++) {
		x = json_get(d, s, *a);
		if (!is_type(d, x, J_ARR))
			continue;
		old = push_name(c, *a);
		for (i = 0, k = json_first(d, x); k != JREF_NONE; k = json_next(d, k), i++) {
			old2 = push_idx(c, i);
			walk_schema(c, k, depth + 1);
			pop(c, old2);
		}
		pop(c, old);
	}
	for (const char *const *a = maps; *a; a++) {
		x = json_get(d, s, *a);
		if (!is_type(d, x, J_OBJ))
			continue;
		old = push_name(c, *a);
		for (k = json_first_key(d, x); k != JREF_NONE; k = json_next_key(d, k)) {
			size_t n;
			const char *name = json_str(d, k, &n);
			old2 = push_key(c, name, n);
			walk_schema(c, json_value(k), depth + 1);
			pop(c, old2);
		}
		pop(c, old);
	}
}

/* Shell launchers: argv[0]'s basename is a shell, or env/busybox runs one. */
static int shell_name(const char *s, size_t n)
{
	static const char *const shells[] = { "sh", "bash", "dash", "ash", "hush", "zsh", "ksh",
		"ksh93", "mksh", "pdksh", "oksh", "yash", "csh", "tcsh", "fish", "rbash", "posh",
		NULL };
	const char *b = s;

	for (size_t i = 0; i < n; i++)
		if (s[i] == '/')
			b = s + i + 1;
	n -= (size_t)(b - s);
	for (const char *const *p = shells; *p; p++)
		if (strlen(*p) == n && memcmp(*p, b, n) == 0)
			return 1;
	return 0;
}

static int base_is(const char *s, size_t n, const char *name)
{
	const char *b = s;

	for (size_t i = 0; i < n; i++)
		if (s[i] == '/')
			b = s + i + 1;
	n -= (size_t)(b - s);
	return strlen(name) == n && memcmp(name, b, n) == 0;
}

/* The first word of an env -S string. */
static int split_string_shell(const char *s, size_t n)
{
	size_t i = 0, j;

	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	for (j = i; j < n && s[j] != ' ' && s[j] != '\t'; j++)
		;
	return shell_name(s + i, j - i) || base_is(s + i, j - i, "busybox");
}

static int argv_shell(const struct jdoc *d, jref argv)
{
	const char *a[64];
	size_t an[64], n = 0, i = 0;

	for (jref x = json_first(d, argv); x != JREF_NONE && n < 64; x = json_next(d, x)) {
		a[n] = sget(d, x, &an[n]);
		if (!a[n])
			return 0;
		n++;
	}
	while (i < n) {
		if (base_is(a[i], an[i], "env")) {
			for (i++; i < n; i++) {
				const char *s = a[i];
				size_t sn = an[i];
				if (sn == 2 && memcmp(s, "--", 2) == 0) {
					i++;
					break;
				}
				if (sn >= 2 && s[0] == '-') {
					if ((sn == 2 && s[1] == 'S') || (sn == 14 && memcmp(s, "--split-string", 14) == 0))
						return i + 1 < n && split_string_shell(a[i + 1], an[i + 1]);
					if (s[1] == 'S')
						return split_string_shell(s + 2, sn - 2);
					if (sn > 15 && memcmp(s, "--split-string=", 15) == 0)
						return split_string_shell(s + 15, sn - 15);
					if ((sn == 2 && (s[1] == 'u' || s[1] == 'C')) ||
					    (sn == 7 && memcmp(s, "--unset", 7) == 0) ||
					    (sn == 7 && memcmp(s, "--chdir", 7) == 0))
						i++;
					continue;
				}
				if (memchr(s, '=', sn))
					continue;
				break;
			}
			continue;
		}
		if (base_is(a[i], an[i], "busybox")) {
			i++;
			continue;
		}
		return shell_name(a[i], an[i]);
	}
	return 0;
}

/* Wildcard egress hosts. */
static int wildcard_host(const char *s, size_t n)
{
	static const char *const any[] = { "*", "0.0.0.0", "::", "[::]", "0.0.0.0/0", "::/0", NULL };

	while (n && (s[0] == ' ' || s[0] == '\t')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n == 0)
		return 1;
	for (const char *const *p = any; *p; p++)
		if (strlen(*p) == n && memcmp(*p, s, n) == 0)
			return 1;
	if (n >= 2 && s[n - 2] == '/' && s[n - 1] == '0')
		return 1;   /* any /0 prefix */
	if (n >= 2 && s[0] == '*' && s[1] == '.') {
		if (!memchr(s + 2, '.', n - 2))
			return 1;   /* a single-label wildcard: *.com */
		if (memchr(s + 1, '*', n - 1))
			return 1;
		return 0;
	}
	return memchr(s, '*', n) != NULL;   /* only a leading "*." is a pattern */
}

static void rule_env_secrets(struct vctx *c, jref env)
{
	const struct jdoc *d = c->d;

	if (!is_type(d, env, J_OBJ))
		return;
	size_t old = push_name(c, "env");
	for (jref k = json_first_key(d, env); k != JREF_NONE; k = json_next_key(d, k)) {
		jref v = json_value(k);
		jref hosts = get(d, get(d, v, "ref"), "allowed_hosts");
		if (str_is(d, get(d, v, "kind"), "secret_ref") && is_type(d, hosts, J_ARR) &&
		    json_len(d, hosts) == 0) {
			size_t n, old2;
			const char *name = json_str(d, k, &n);
			char qb[400];
			old2 = push_key(c, name, n);
			add(c, "E_SECRET_WITHOUT_BINDING",
				"secret %s has no allowed_hosts: name the hosts it may be sent to",
				q(qb, sizeof qb, name, n));
			pop(c, old2);
		}
	}
	pop(c, old);
}

static void rule_concurrency(struct vctx *c, jref conc, jref app)
{
	const struct jdoc *d = c->d;
	jref x;
	size_t old;

	if (!str_is(d, get(d, conc, "kind"), "warm_process"))
		return;
	old = push_name(c, "concurrency");
	x = get(d, conc, "pool_size");
	if (is_type(d, x, J_NUM) && (json_num(d, x) < 1 || json_num(d, x) > 64)) {
		size_t o2 = push_name(c, "pool_size");
		add(c, "E_INVALID_CONCURRENCY_POOL_SIZE", "pool_size %.0f is not from 1 to 64",
			json_num(d, x));
		pop(c, o2);
	}
	x = get(d, conc, "max_calls_per_worker");
	if (is_type(d, x, J_NUM) && json_num(d, x) < 100) {
		size_t o2 = push_name(c, "max_calls_per_worker");
		add(c, "E_INVALID_CONCURRENCY_MAX_CALLS_PER_WORKER",
			"max_calls_per_worker %.0f is below 100", json_num(d, x));
		pop(c, o2);
	}
	x = get(d, conc, "max_rss_mb");
	jref mem = get(d, get(d, app, "resources"), "memory_mb");
	if (is_type(d, x, J_NUM) && is_type(d, mem, J_NUM) && json_num(d, x) > json_num(d, mem)) {
		size_t o2 = push_name(c, "max_rss_mb");
		add(c, "E_INVALID_CONCURRENCY_MAX_RSS_MB",
			"max_rss_mb %.0f exceeds the app's memory_mb %.0f", json_num(d, x),
			json_num(d, mem));
		pop(c, o2);
	}
	x = get(d, conc, "in_process");
	if (str_is(d, x, "concurrent")) {
		size_t o2 = push_name(c, "in_process");
		add(c, "E_UNSUPPORTED_CONCURRENCY_IN_PROCESS_MODE",
			"in_process \"concurrent\" is not supported; use \"serial\"");
		pop(c, o2);
	}
	pop(c, old);
}

static void rule_entrypoint(struct vctx *c, jref ep, jref app)
{
	const struct jdoc *d = c->d;
	jref kind = get(d, ep, "kind");
	size_t old, n;
	char qb[400], list[512];

	if (str_is(d, kind, "command")) {
		jref argv = get(d, ep, "command");
		if (is_type(d, argv, J_ARR) && argv_shell(d, argv)) {
			old = push_name(c, "command");
			add(c, "E_SHELL_ENTRYPOINT_FORBIDDEN",
				"the command runs a shell; run the program directly");
			pop(c, old);
		}
		rule_env_secrets(c, get(d, ep, "env"));
		return;
	}
	if (!str_is(d, kind, "function"))
		return;
	const char *lang = sget(d, get(d, ep, "language"), &n);
	if (lang && !strlist_has(c->cfg->languages, lang, n)) {
		size_t k = 0;
		old = push_name(c, "language");
		list[0] = '\0';
		for (size_t i = 0; c->cfg->languages && i < c->cfg->languages->n && k < sizeof list; i++)
			k += (size_t)snprintf(list + k, sizeof list - k, "%s%s", i ? ", " : "",
				c->cfg->languages->v[i]);
		add(c, "E_UNSUPPORTED_LANGUAGE", "language %s is not supported (supported: %s)",
			q(qb, sizeof qb, lang, n), list);
		pop(c, old);
	}
	static const char *const schemas[] = { "args_schema", "return_schema", NULL };
	for (const char *const *s = schemas; *s; s++) {
		jref sc = get(d, ep, *s);
		if (is_type(d, sc, J_OBJ)) {
			old = push_name(c, *s);
			walk_schema(c, sc, 0);
			pop(c, old);
		}
	}
	rule_concurrency(c, get(d, ep, "concurrency"), app);
}

static int has_function(const struct jdoc *d, jref app)
{
	jref eps = get(d, app, "entrypoints");

	if (!is_type(d, eps, J_ARR))
		return 0;
	for (jref x = json_first(d, eps); x != JREF_NONE; x = json_next(d, x))
		if (str_is(d, get(d, x, "kind"), "function"))
			return 1;
	return 0;
}

/* ---- duplicate checks: a set of string pairs ----
 * rule_entrypoints and rule_addons ask, for each entry, "did an earlier
 * entry have the same (module, function) / (name, alias)?".  Asked
 * pairwise that was quadratic (20,000 functions: 10 s); here each pair seen
 * goes into an open-addressing table with at least twice as many slots as
 * entries, so a look-up is expected O(1) and each rule linear.  The slot
 * comes from SipHash-2-4 (libsodium's crypto_shorthash) under a key drawn
 * once per process: a hostile document cannot be built to make its keys
 * collide.  The second string may be absent (an addon without an alias),
 * which equals only another absent one. */
struct strpair {
	const char *a, *b;              /* b NULL: absent; a NULL: free slot */
	size_t an, bn;
};
struct pairset {
	struct strpair *slot;
	size_t mask;                    /* slots - 1, slots a power of two */
};

static unsigned char pair_key[crypto_shorthash_KEYBYTES];
static pthread_once_t pair_once = PTHREAD_ONCE_INIT;

static void pair_keygen(void)
{
	/* without libsodium's generator the key stays zero: still correct */
	if (sodium_init() >= 0)
		randombytes_buf(pair_key, sizeof pair_key);
}

static uint64_t pair_hash(const struct strpair *p)
{
	unsigned char ha[crypto_shorthash_BYTES], hb[crypto_shorthash_BYTES];
	uint64_t x = 0, y = 0;

	crypto_shorthash(ha, (const unsigned char *)p->a, p->an, pair_key);
	if (p->b)
		crypto_shorthash(hb, (const unsigned char *)p->b, p->bn, pair_key);
	for (int i = 0; i < 8; i++) {
		x = x << 8 | ha[i];
		y = y << 8 | (p->b ? hb[i] : 0xff);
	}
	return x ^ (y * 0x9e3779b97f4a7c15u + (p->b != NULL));
}

/* 0, or -1 when memory runs out (the caller sets c->oom). */
static int pairset_init(struct pairset *s, size_t n)
{
	size_t cap = 16;

	if (pthread_once(&pair_once, pair_keygen) != 0)
		return -1;
	while (cap / 2 < n) {
		if (cap > SIZE_MAX / 2 / sizeof *s->slot)
			return -1;
		cap *= 2;
	}
	s->slot = calloc(cap, sizeof *s->slot);
	s->mask = cap - 1;
	return s->slot ? 0 : -1;
}

/* 1 if the pair was already in the set; else adds it and returns 0.  At
 * most n pairs go into a set made for n (half full at most). */
static int pairset_seen(struct pairset *s, const struct strpair *p)
{
	size_t i = (size_t)pair_hash(p) & s->mask;

	for (; s->slot[i].a; i = (i + 1) & s->mask) {
		const struct strpair *q = &s->slot[i];
		if (q->an == p->an && memcmp(q->a, p->a, p->an) == 0 && !q->b == !p->b &&
		    (!p->b || (q->bn == p->bn && memcmp(q->b, p->b, p->bn) == 0)))
			return 1;
	}
	s->slot[i] = *p;
	return 0;
}

jref ir_primary(const struct jdoc *d, jref app)
{
	jref eps = get(d, app, "entrypoints"), x, lone = JREF_NONE, prim = JREF_NONE;
	size_t nfunc = 0, nprim = 0;

	if (!is_type(d, eps, J_ARR))
		return JREF_NONE;
	for (x = json_first(d, eps); x != JREF_NONE; x = json_next(d, x)) {
		if (!str_is(d, get(d, x, "kind"), "function"))
			continue;
		nfunc++;
		lone = x;
		if (is_type(d, get(d, x, "primary"), J_TRUE)) {
			nprim++;
			prim = x;
		}
	}
	if (nprim == 1)
		return prim;
	/* A lone function is its own primary, marked or not. */
	return nprim == 0 && nfunc == 1 ? lone : JREF_NONE;
}

static void rule_entrypoints(struct vctx *c, jref app)
{
	const struct jdoc *d = c->d;
	jref eps = get(d, app, "entrypoints");
	size_t nfunc = 0, nprim = 0, i, old, old2;
	jref x;
	char qb[400], qb2[160];

	if (!is_type(d, eps, J_ARR))
		return;
	old = push_name(c, "entrypoints");
	if (json_len(d, eps) == 0)
		add(c, "E_EMPTY_APPS", "the app has no entrypoints");
	for (x = json_first(d, eps); x != JREF_NONE; x = json_next(d, x)) {
		if (!str_is(d, get(d, x, "kind"), "function"))
			continue;
		nfunc++;
		if (is_type(d, get(d, x, "primary"), J_TRUE))
			nprim++;
	}
	if (nfunc > 1) {
		/* a function entrypoint whose (module, function), both strings,
		 * an earlier function entrypoint already had */
		struct pairset seen = { NULL, 0 };
		if (pairset_init(&seen, nfunc) != 0)
			c->oom = 1;
		for (i = 0, x = json_first(d, eps); seen.slot && x != JREF_NONE; x = json_next(d, x), i++) {
			if (!str_is(d, get(d, x, "kind"), "function"))
				continue;
			struct strpair p = { NULL, NULL, 0, 0 };
			p.a = sget(d, get(d, x, "module"), &p.an);
			p.b = sget(d, get(d, x, "function"), &p.bn);
			if (!p.a || !p.b || !pairset_seen(&seen, &p))
				continue;
			old2 = push_idx(c, i);
			add(c, "E_DUPLICATE_ENTRYPOINT_FUNCTION", "module %s function %s is declared twice",
				q(qb, sizeof qb, p.a, p.an), q(qb2, sizeof qb2, p.b, p.bn));
			pop(c, old2);
		}
		free(seen.slot);
		if (nprim == 0 && ir_primary(d, app) == JREF_NONE)
			add(c, "E_NO_PRIMARY_ENTRYPOINT",
				"%zu function entrypoints and none is primary: mark exactly one \"primary\": true",
				nfunc);
	}
	if (nprim > 1)
		add(c, "E_MULTIPLE_PRIMARY_ENTRYPOINTS",
			"%zu entrypoints are marked primary; exactly one may be", nprim);
	for (i = 0, x = json_first(d, eps); x != JREF_NONE; x = json_next(d, x), i++) {
		old2 = push_idx(c, i);
		rule_entrypoint(c, x, app);
		pop(c, old2);
	}
	pop(c, old);
}

static void rule_network(struct vctx *c, jref app)
{
	const struct jdoc *d = c->d;
	jref net = get(d, app, "network"), x, hosts, ports;
	size_t old, old2, old3, i;
	char qb[400];

	if (!is_type(d, net, J_OBJ))
		return;
	old = push_name(c, "network");
	jref mode = get(d, net, "mode");
	ports = get(d, net, "ports");
	if (str_is(d, mode, "none") && is_type(d, ports, J_ARR) && json_len(d, ports) > 0) {
		old2 = push_name(c, "ports");
		add(c, "E_NETWORK_PORTS_WITH_NONE", "mode \"none\" has no network to forward ports from");
		pop(c, old2);
	}
	if (str_is(d, mode, "host") && has_function(d, app)) {
		old2 = push_name(c, "mode");
		add(c, "E_FUNCTION_NETWORK_HOST_FORBIDDEN",
			"a function workload may not share the host's network");
		pop(c, old2);
	}
	hosts = get(d, get(d, net, "egress"), "allowlist");
	if (is_type(d, hosts, J_ARR)) {
		old2 = push_name(c, "egress");
		push_name(c, "allowlist");
		for (i = 0, x = json_first(d, hosts); x != JREF_NONE; x = json_next(d, x), i++) {
			size_t n;
			const char *h = sget(d, get(d, x, "host"), &n);
			if (!h || !wildcard_host(h, n))
				continue;
			old3 = push_idx(c, i);
			push_name(c, "host");
			add(c, "E_NETWORK_WILDCARD",
				"egress host %s allows everything; name hosts (exact, or *.domain)",
				q(qb, sizeof qb, h, n));
			pop(c, old3);
		}
		pop(c, old2);
	}
	x = get(d, net, "peers");
	if (is_type(d, x, J_ARR)) {
		old2 = push_name(c, "peers");
		for (i = 0, x = json_first(d, x); x != JREF_NONE; x = json_next(d, x), i++) {
			old3 = push_idx(c, i);
			check_id(c, x, "peer");
			pop(c, old3);
		}
		pop(c, old2);
	}
	pop(c, old);
}

static void rule_addons(struct vctx *c, jref app)
{
	const struct jdoc *d = c->d;
	jref addons = get(d, app, "addons"), a;
	size_t old, old2, old3, i;
	char qb[400];
	struct pairset seen;

	if (!is_type(d, addons, J_ARR))
		return;
	if (pairset_init(&seen, json_len(d, addons)) != 0) {
		c->oom = 1;
		return;
	}
	old = push_name(c, "addons");
	for (i = 0, a = json_first(d, addons); a != JREF_NONE; a = json_next(d, a), i++) {
		old2 = push_idx(c, i);
		old3 = push_name(c, "name");
		check_id(c, get(d, a, "name"), "addon name");
		pop(c, old3);
		jref alias = get(d, a, "alias");
		if (is_type(d, alias, J_STR)) {
			old3 = push_name(c, "alias");
			check_id(c, alias, "addon alias");
			pop(c, old3);
		}
		/* an earlier addon had the same name (a string) and the same
		 * alias, or like this one no alias (a non-string counts as none) */
		struct strpair p = { NULL, NULL, 0, 0 };
		p.a = sget(d, get(d, a, "name"), &p.an);
		p.b = sget(d, alias, &p.bn);
		if (p.a && (is_type(d, alias, J_STR) ? p.b != NULL : 1) && pairset_seen(&seen, &p))
			add(c, "E_ADDON_ENV_COLLISION",
				"addon %s is attached twice with the same alias; give each a distinct alias",
				q(qb, sizeof qb, p.a, p.an));
		if (str_is(d, get(d, a, "tier"), "in_vm")) {
			old3 = push_name(c, "tier");
			add(c, "E_ADDON_TIER_NOT_IMPLEMENTED", "tier \"in_vm\" is not implemented; use \"separate\"");
			pop(c, old3);
		}
		size_t n;
		const char *sha = sget(d, get(d, a, "sha256"), &n);
		if (sha && !is_hex64(sha, n)) {
			old3 = push_name(c, "sha256");
			add(c, "E_ADDON_SHA_MISMATCH", "sha256 must be 64 lowercase hex digits");
			pop(c, old3);
		}
		jref ref = get(d, a, "ref");
		jref rk = get(d, ref, "kind");
		if (str_is(d, rk, "registry")) {
			static const char *const keys[] = { "url", "version", NULL };
			for (const char *const *k = keys; *k; k++) {
				jref x = get(d, ref, *k);
				if (is_type(d, x, J_STR) && json_len(d, x) == 0) {
					old3 = push_name(c, "ref");
					push_name(c, *k);
					add(c, "E_ADDON_NOT_FOUND", "registry addon has an empty %s", *k);
					pop(c, old3);
				}
			}
		} else if (str_is(d, rk, "local")) {
			jref x = get(d, ref, "path");
			if (is_type(d, x, J_STR) && json_len(d, x) == 0) {
				old3 = push_name(c, "ref");
				push_name(c, "path");
				add(c, "E_ADDON_LOCAL_PATH_DRIFT", "local addon has an empty path");
				pop(c, old3);
			}
		}
		pop(c, old2);
	}
	pop(c, old);
	free(seen.slot);
}

static int rule_lockfile(struct vctx *c, jref app, struct merr *e)
{
	const struct jdoc *d = c->d;
	jref deps = get(d, app, "dependencies"), src = get(d, app, "source");
	size_t tn, ln, pn, old;
	const char *tool = sget(d, get(d, deps, "tool"), &tn);
	const char *lock = sget(d, get(d, deps, "lockfile"), &ln);
	const char *path = sget(d, get(d, src, "path"), &pn);
	char detail[512];
	struct buf p = BUF_INIT;
	int t, r;

	if (!c->cfg->base_dir || !tool || !lock || !str_is(d, get(d, src, "kind"), "local_path") ||
	    !path || (t = lockfile_tool(tool, tn)) < 0 || ln == 0 || memchr(lock, '\0', ln) ||
	    memchr(path, '\0', pn))
		return 0;
	if (path[0] != '/') {
		buf_puts(&p, c->cfg->base_dir);
		buf_putc(&p, '/');
	}
	buf_put(&p, path, pn);
	if (!buf_cstr(&p)) {
		buf_free(&p);
		return merr_set(e, EX_SYS, NULL, "out of memory");
	}
	char *lk = strndup(lock, ln);
	if (!lk) {
		buf_free(&p);
		return merr_set(e, EX_SYS, NULL, "out of memory");
	}
	r = lockfile_check(t, p.p, lk, detail, sizeof detail, e);
	free(lk);
	if (r == EX_SYS) {
		buf_free(&p);
		return EX_SYS;
	}
	old = push_name(c, "dependencies");
	push_name(c, "lockfile");
	if (r == LOCK_NOT_FOUND)
		add(c, "E_LOCKFILE_NOT_FOUND", "dependency lockfile not found: %s/%.*s", p.p, (int)ln, lock);
	else if (r == LOCK_OUTSIDE)
		add(c, "E_LOCKFILE_NOT_FOUND",
			"dependency lockfile %.*s is outside the source directory %s (absolute, \"..\", or a symlink leaving it); it was not read",
			(int)ln, lock, p.p);
	else if (r == LOCK_UNPINNED)
		add(c, "E_UNPINNED_DEPS", "lockfile %s/%.*s is not hash-pinned: %s", p.p, (int)ln, lock, detail);
	pop(c, old);
	buf_free(&p);
	return 0;
}

static int rule_app(struct vctx *c, jref app, struct merr *e)
{
	const struct jdoc *d = c->d;
	size_t old;
	jref x;

	if (!is_type(d, app, J_OBJ))
		return 0;
	/* 4: name */
	old = push_name(c, "name");
	check_id(c, get(d, app, "name"), "app name");
	pop(c, old);
	/* 5: deferred source kinds */
	x = get(d, get(d, app, "source"), "kind");
	if (str_is(d, x, "nix_derivation") || str_is(d, x, "oci_image")) {
		size_t n;
		const char *k = sget(d, x, &n);
		old = push_name(c, "source");
		push_name(c, "kind");
		add(c, "E_SOURCE_KIND_DEFERRED", "source kind \"%.*s\" is not supported yet; use local_path",
			(int)n, k);
		pop(c, old);
	}
	/* 6: app env secrets */
	rule_env_secrets(c, get(d, app, "env"));
	/* 7-19: entrypoints */
	rule_entrypoints(c, app);
	/* 20-23: network */
	rule_network(c, app);
	/* 24: a dependency posture */
	x = get(d, app, "dependencies");
	if (x == JREF_NONE || json_type(d, x) == J_NULL) {
		old = push_name(c, "dependencies");
		if (has_function(d, app))
			add(c, "E_DEPS_REQUIRED_FOR_FUNCTION_WORKLOAD",
				"a function app must declare its dependencies ({\"kind\":\"none\"} for none)");
		else
			add(c, E_MALFORMED, "missing required field \"dependencies\" ({\"kind\":\"none\"} for none)");
		pop(c, old);
	} else if (rule_lockfile(c, app, e) != 0) {
		return EX_SYS;
	}
	/* 25-31: addons */
	rule_addons(c, app);
	return 0;
}

int ir_validate(const struct jdoc *d, const struct ir_config *cfg, struct ir_errors *out,
	struct merr *e)
{
	struct vctx c = { d, cfg, out, BUF_INIT, 0 };
	jref root = json_root(d), x;
	size_t i, old;

	check(&c, root, &sh_workload, 0);
	if (is_type(d, root, J_OBJ)) {
		/* 1: schema_version */
		rule_version(&c, get(d, root, "schema_version"));
		/* 2: id */
		old = push_name(&c, "id");
		check_id(&c, get(d, root, "id"), "workload id");
		pop(&c, old);
		/* 3: apps */
		jref apps = get(d, root, "apps");
		if (is_type(d, apps, J_ARR)) {
			old = push_name(&c, "apps");
			if (json_len(d, apps) == 0)
				add(&c, "E_EMPTY_APPS", "the workload has no apps");
			else if (json_len(d, apps) > 1)
				add(&c, "E_MULTI_APP_DEFERRED",
					"%zu apps: a workload has exactly one app for now",
					json_len(d, apps));
			for (i = 0, x = json_first(d, apps); x != JREF_NONE; x = json_next(d, x), i++) {
				size_t o2 = push_idx(&c, i);
				if (rule_app(&c, x, e) != 0) {
					buf_free(&c.ptr);
					return EX_SYS;
				}
				pop(&c, o2);
			}
			pop(&c, old);
		}
		/* 32: volumes */
		jref vols = get(d, root, "volumes");
		if (is_type(d, vols, J_ARR)) {
			old = push_name(&c, "volumes");
			for (i = 0, x = json_first(d, vols); x != JREF_NONE; x = json_next(d, x), i++) {
				if (!is_type(d, get(d, x, "persist"), J_TRUE))
					continue;
				size_t o2 = push_idx(&c, i);
				push_name(&c, "persist");
				add(&c, "E_PERSIST_DEFERRED", "persistent volumes are not supported yet");
				pop(&c, o2);
			}
			pop(&c, old);
		}
	}
	buf_free(&c.ptr);
	if (c.oom)
		return merr_set(e, EX_SYS, NULL, "out of memory");
	return 0;
}

/* ---- normalization ---- */

static int canon_is(const struct jdoc *d, jref v, const char *def)
{
	struct buf b = BUF_INIT;
	int r;

	json_canon(d, v, &b);
	r = !b.err && b.len == strlen(def) && memcmp(b.p, def, b.len) == 0;
	buf_free(&b);
	return r;
}

static void norm(const struct jdoc *d, jref v, const struct shape *s, struct buf *out);

static void norm_fields(const struct jdoc *d, jref v, const struct field *f, const char *kind,
	struct buf *out)
{
	int first = 1;

	buf_putc(out, '{');
	if (kind) {
		buf_puts(out, "\"kind\":");
		json_put_str(out, kind, strlen(kind));
		first = 0;
	}
	for (; f->name; f++) {
		jref x = json_get(d, v, f->name);
		int absent = x == JREF_NONE ||
			(json_type(d, x) == J_NULL && (f->fl & (F_NULL | F_DEPS)));
		if (absent && !(f->fl & F_ALWAYS))
			continue;
		if (!absent && f->def && !(f->fl & F_ALWAYS) && canon_is(d, x, f->def))
			continue;
		if (!first)
			buf_putc(out, ',');
		first = 0;
		json_put_str(out, f->name, strlen(f->name));
		buf_putc(out, ':');
		if (absent)
			buf_puts(out, f->def);
		else
			norm(d, x, f->s, out);
	}
	buf_putc(out, '}');
}

static void norm(const struct jdoc *d, jref v, const struct shape *s, struct buf *out)
{
	jref x;

	switch (s->k) {
	case K_ARR:
		buf_putc(out, '[');
		for (x = json_first(d, v); x != JREF_NONE; x = json_next(d, x)) {
			if (x != json_first(d, v))
				buf_putc(out, ',');
			norm(d, x, s->elem, out);
		}
		buf_putc(out, ']');
		return;
	case K_MAP:
		buf_putc(out, '{');
		for (x = json_first_key(d, v); x != JREF_NONE; x = json_next_key(d, x)) {
			size_t n;
			const char *k = json_str(d, x, &n);
			if (x != json_first_key(d, v))
				buf_putc(out, ',');
			json_put_str(out, k, n);
			buf_putc(out, ':');
			norm(d, json_value(x), s->elem, out);
		}
		buf_putc(out, '}');
		return;
	case K_STRUCT:
		norm_fields(d, v, s->f, NULL, out);
		return;
	case K_TAGGED: {
		const struct variant *var = s->v;
		jref kind = json_get(d, v, "kind");
		while (var->tag && kind != JREF_NONE && !json_str_eq(d, kind, var->tag))
			var++;
		if (var->tag) {
			norm_fields(d, v, var->f, var->tag, out);
			return;
		}
		break;
	}
	default:
		break;
	}
	json_canon(d, v, out);
}

int ir_normalize(const struct jdoc *d, struct buf *out, struct merr *e)
{
	struct buf tmp = BUF_INIT;
	struct jopts o = { .max_depth = 1000000 };
	int r;

	norm(d, json_root(d), &sh_workload, &tmp);
	if (tmp.err) {
		errno = tmp.err;
		buf_free(&tmp);
		return merr_sys(e, "normalize");
	}
	r = json_canonicalize(tmp.p, tmp.len, &o, out, e);
	buf_free(&tmp);
	return r;
}
