/* fcjail.c — Firecracker's configuration and its jailer for a plan (fcjail.h) */
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fcjail.h"
#include "io.h"
#include "json.h"

int fcjail_load(struct vmm *vm, const char *plan_path, const char *state, struct plan *p,
	struct verity *ver, struct merr *e)
{
	struct buf b = BUF_INIT;
	char meta[PATH_MAX + 16];
	int rc, present = 0;

	if ((rc = read_file(plan_path, &b, e)) != 0 ||
	    (rc = plan_parse(b.p ? b.p : "", b.len, 0, p, e)) != 0 || (rc = plan_limits(p, e)) != 0 ||
	    (rc = vmm_paths(vm, state ? state : ".mvm/run/vm", e)) != 0)
		goto out;
	vm->vcpus = (unsigned)p->vcpus;
	vm->memory_mb = (unsigned)p->memory_mb;
	buf_free(&b);
	snprintf(meta, sizeof meta, "%s/mvm-meta.json", vm->image);
	/* (an image without a meta: no verity root to show) */
	if (access(meta, F_OK) == 0 && ((rc = read_file(meta, &b, e)) != 0 ||
	    (rc = verity_from_meta(b.p ? b.p : "", b.len, ver, &present, e)) != 0))
		goto out;
	vm->verity = present ? ver : NULL;
out:
	buf_free(&b);
	return rc;
}

/* PATH's NAME, else /usr/bin/NAME. */
static void which(const char *name, char out[PATH_MAX])
{
	const char *p = getenv("PATH");

	while (p && *p) {
		size_t n = strcspn(p, ":");

		snprintf(out, PATH_MAX, "%.*s/%s", (int)n, p, name);
		if (n && p[0] == '/' && access(out, X_OK) == 0)
			return;
		p += n + (p[n] == ':');
	}
	snprintf(out, PATH_MAX, "/usr/bin/%s", name);
}

static void str(struct buf *b, const char *s)
{
	json_put_str(b, s, strlen(s));
}

static void link_to(struct buf *b, const char *from, const char *to, int *first)
{
	buf_puts(b, *first ? "{\"from\":" : ",{\"from\":");
	*first = 0;
	str(b, from);
	buf_puts(b, ",\"to\":");
	str(b, to);
	buf_putc(b, '}');
}

int fcjail_json(const struct vmm *vm, const struct plan *p, struct buf *out, struct merr *e)
{
	struct passwd *pw = getpwnam(VMM_USER);
	struct vmm *in;
	struct buf j = BUF_INIT, conf = BUF_INIT;
	char jailer[PATH_MAX], fc[PATH_MAX], path[PATH_MAX + 32];
	const char *id = strncmp(p->plan_id, "sha256:", 7) == 0 ? p->plan_id + 7 : p->plan_id;
	int first = 1, rc;

	if (!pw || pw->pw_uid == 0)
		return merr_set(e, EX_SYS, NULL, "no user %s to run Firecracker as "
			"(tools/install-deps.sh creates it)", VMM_USER);
	if (!(in = malloc(sizeof *in)))
		return merr_set(e, EX_SYS, NULL, "out of memory");
	/* the same VM, seen from inside the chroot */
	*in = *vm;
	in->image[0] = 0;
	for (unsigned i = 0; i < in->ndrives; i++)
		snprintf(in->drive[i].path, sizeof in->drive[i].path, "/%s.ext4", vm->drive[i].role);
	snprintf(in->vsock, sizeof in->vsock, "/v.sock");
	snprintf(in->console, sizeof in->console, "/console.log");
	vmm_firecracker_config(in, &conf);
	which("jailer", jailer);
	which("firecracker", fc);
	buf_puts(&j, "{\"argv\":[");
	str(&j, jailer);
	buf_puts(&j, ",\"--id\",");
	str(&j, id);
	buf_puts(&j, ",\"--exec-file\",");
	str(&j, fc);
	buf_printf(&j, ",\"--uid\",\"%u\",\"--gid\",\"%u\",\"--chroot-base-dir\",",
		(unsigned)pw->pw_uid, (unsigned)pw->pw_gid);
	str(&j, FCJAIL_BASE);
	buf_printf(&j, ",\"--cgroup-version\",\"2\",\"--cgroup\",\"memory.max=%llu\","
		"\"--cgroup\",\"pids.max=%u\",\"--new-pid-ns\",\"--\",\"--config-file\","
		"\"/firecracker.json\",\"--no-api\"],\"chroot\":",
		((unsigned long long)vm->memory_mb + FCJAIL_MEM_EXTRA_MB) << 20,
		vm->vcpus + FCJAIL_PIDS_EXTRA);
	snprintf(path, sizeof path, "%s/firecracker/%s/root", FCJAIL_BASE, id);
	str(&j, path);
	buf_puts(&j, ",\"links\":[");
	snprintf(path, sizeof path, "%s/vmlinux", vm->image);
	link_to(&j, path, "vmlinux", &first);
	snprintf(path, sizeof path, "%s/rootfs.ext4", vm->image);
	link_to(&j, path, "rootfs.ext4", &first);
	for (unsigned i = 0; i < vm->ndrives; i++) {
		snprintf(path, sizeof path, "%s.ext4", vm->drive[i].role);
		link_to(&j, vm->drive[i].path, path, &first);
	}
	buf_puts(&j, "],\"config\":");
	buf_put(&j, conf.p ? conf.p : "{}", conf.p ? conf.len : 2);
	buf_putc(&j, '}');
	rc = j.err ? merr_set(e, EX_SYS, NULL, "out of memory") :
		json_canonicalize(j.p, j.len, NULL, out, e);
	buf_free(&j);
	buf_free(&conf);
	free(in);
	return rc;
}
