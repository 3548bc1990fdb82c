/* irmodel.c — the Workload IR model as tables of shapes (ir_int.h): every
 * field, its type, whether it is required, and its default.  The
 * structural check (irshape.c) and the normalizer (irnorm.c) both walk
 * these tables.  man/man5/mvm-ir.5 documents the same model;
 * schemas/workload.schema.json is its JSON Schema. */
#include "ir_int.h"
#include "limit.h"

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
static const struct shape sh_netmode = { K_NETMODE, .f = f_netmode_obj, .e = en_netmode };
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
const struct shape ir_sh_workload = { K_STRUCT, .f = f_workload };
