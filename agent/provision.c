/* provision.c — the one provisioning request (mvm-agent-protocol(5)
 * "Provisioning"): the seccomp tier the plan admitted and the secrets the
 * host released, sent by vm-boot once the agent answers, before any call.
 * Secrets never pass through a file on the host or a drive: they arrive
 * here, go into the runners' environment (base_env_add) or into a file on
 * the tmpfs /mnt/secrets (mode 0400, owned by the runner's uid), and are
 * never logged.  A request is applied whole or not at all (apply). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "agent.h"
#include "json.h"

int provisioned;

/* A secret file, staged: written whole to its temp PROV_SECRETS_DIR ".I"
 * (I its index in the request: a name no secret has, as NAME never starts
 * with '.', and short whatever NAME's length), then renamed to
 * PROV_SECRETS_DIR NAME once every file of the request is written. */
struct staged {
	char tmp[PATH_MAX], dst[PATH_MAX];
	int state;              /* 0 nothing, 1 the temp written, 2 renamed */
};

static void file_fail(const struct staged *f, const char *verb, int err, char *msg, size_t ml)
{
	size_t rl = strlen(opt.root);

	snprintf(msg, ml, "cannot %s the secret file %s: %s", verb, f->dst + rl, strerror(err));
}

/* Write x (the request's i-th secret) to f's temp as the runner's, mode
 * 0400.  0, or -1 with msg. */
static int stage_file(const struct prov_secret *x, size_t i, struct staged *f, char *msg,
	size_t ml)
{
	const char *name = x->key + strlen(PROV_SECRETS_DIR);
	int nn = (int)(x->kl - strlen(PROV_SECRETS_DIR)), fd, err, saved[2];

	snprintf(f->dst, sizeof f->dst, "%s" PROV_SECRETS_DIR "%.*s", opt.root, nn, name);
	snprintf(f->tmp, sizeof f->tmp, "%s" PROV_SECRETS_DIR ".%zu", opt.root, i);
	/* made as the runner (init's tmpfs there is the runner's, 0700): the
	 * file is the runner's from the start; the agent has no CAP_CHOWN */
	fs_as_runner(saved);
	fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400);
	err = errno;
	if (fd >= 0) {
		f->state = 1;
		errno = 0;      /* a short write sets none */
		if (write(fd, x->value, x->vl) != (ssize_t)x->vl || fsync(fd) != 0) {
			err = errno ? errno : EIO;
			close(fd);
			fd = -2;
		} else {
			close(fd);
		}
	}
	fs_as_agent(saved);
	if (fd < 0) {
		file_fail(f, fd == -1 ? "create" : "write", err, msg, ml);
		return -1;
	}
	return 0;
}

/* Rename every written temp to its name (none replaced: the name must
 * not exist, as a file or anything else).  0, or -1 with msg. */
static int commit_files(struct staged *f, size_t n, char *msg, size_t ml)
{
	int saved[2], rc = 0, err = 0;
	size_t i;

	fs_as_runner(saved);
	for (i = 0; i < n && rc == 0; i++)
		if (f[i].state == 1) {
			if (sys_renameat2(AT_FDCWD, f[i].tmp, AT_FDCWD, f[i].dst, RENAME_NOREPLACE) == 0)
				f[i].state = 2;
			else
				rc = -1, err = errno;
		}
	fs_as_agent(saved);
	if (rc != 0)
		file_fail(&f[i - 1], "create", err, msg, ml);
	return rc;
}

/* Undo the files: remove each temp or renamed file this request made. */
static void remove_files(struct staged *f, size_t n)
{
	int saved[2];

	fs_as_runner(saved);
	for (size_t i = 0; i < n; i++) {
		const char *p = f[i].state == 2 ? f[i].dst : f[i].tmp;

		if (f[i].state && unlink(p) != 0)
			logmsg("provisioning: cannot remove %s: %s", p + strlen(opt.root),
				strerror(errno));
		f[i].state = 0;
	}
	fs_as_agent(saved);
}

/* "K=V" of the env secret x, malloc'd; NULL out of memory. */
static char *env_kv(const struct prov_secret *x)
{
	char *kv = malloc(x->kl + x->vl + 2);

	if (kv) {
		memcpy(kv, x->key, x->kl);
		kv[x->kl] = '=';
		memcpy(kv + x->kl + 1, x->value, x->vl);
		kv[x->kl + 1 + x->vl] = 0;
	}
	return kv;
}

/* Apply the request d, read whole first (provision_parse), all or
 * nothing: the tier, the env secrets and the files are staged (the tier
 * compiled aside, the variables built, each file written to its temp),
 * then the files renamed, then the rest committed; on any failure what
 * was staged or renamed is undone.  0, or -1 with msg (a fixed text or
 * a name: never a value). */
static int apply(const struct jdoc *d, char *msg, size_t ml)
{
	struct prov_req r;
	struct staged *f = NULL;
	char **kv = NULL, *tier = NULL;
	size_t nkv = 0;
	int rc = -1;

	if (provision_parse(d, &r, msg, ml) != 0)
		return -1;
	if (seccomp_stage(r.tier, msg, ml) != 0)
		goto out;
	if (!(tier = strdup(r.tier)) || (r.n && (!(f = calloc(r.n, sizeof *f)) ||
	    !(kv = calloc(r.n, sizeof *kv))))) {
		snprintf(msg, ml, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < r.n; i++) {
		if (!r.s[i].env) {
			if (stage_file(&r.s[i], i, &f[i], msg, ml) != 0)
				goto out;
		} else if (!(kv[nkv++] = env_kv(&r.s[i]))) {
			snprintf(msg, ml, "out of memory");
			goto out;
		}
	}
	if (commit_files(f, r.n, msg, ml) != 0)
		goto out;
	if (base_env_add(kv, nkv) != 0) {
		snprintf(msg, ml, "out of memory");
		goto out;
	}
	nkv = 0;                /* base_env's now */
	seccomp_commit(1);
	opt.seccomp = tier;
	tier = NULL;
	rc = 0;
out:
	if (rc != 0) {
		seccomp_commit(0);
		remove_files(f, f ? r.n : 0);
	}
	for (size_t i = 0; i < nkv; i++) {
		if (kv[i])
			explicit_bzero(kv[i], strlen(kv[i]));
		free(kv[i]);
	}
	free(kv);
	free(f);
	free(tier);
	prov_req_free(&r);
	return rc;
}

void provision(struct conn *c, struct req *q)
{
	char msg[256];
	struct buf b = BUF_INIT;
	struct merr e;
	struct jdoc *d;
	struct timespec t0, t1;

	clock_gettime(CLOCK_BOOTTIME, &t0);
	if (provisioned || stats.calls > 0) {
		send_error(c, ERRK_BAD_REQUEST, provisioned ? "already provisioned" :
			"provisioning comes before any call");
	} else if (!(d = json_parse((const char *)q->in, q->inlen, NULL, &e))) {
		send_error(c, ERRK_BAD_REQUEST, "provision: not a JSON object");
	} else {
		int r = apply(d, msg, sizeof msg);
		json_free(d);
		if (r != 0) {
			logmsg("provisioning refused: %s", msg);
			send_error(c, ERRK_BAD_REQUEST, msg);
		} else {
			clock_gettime(CLOCK_BOOTTIME, &t1);
			provisioned = 1;
			logmsg("provisioned at %ld.%03ld s (asked at %ld.%03ld s): seccomp tier %s",
				(long)t1.tv_sec, t1.tv_nsec / 1000000, (long)t0.tv_sec,
				t0.tv_nsec / 1000000, opt.seccomp);
			if (rt.warm && entry.ok)
				pool_start();
			service_start();   /* the command service, if any */
			size_t off = frame_begin(&b);
			buf_puts(&b, "{\"type\":\"provisioned\",\"seccomp\":");
			json_put_str(&b, opt.seccomp, strlen(opt.seccomp));
			buf_putc(&b, '}');
			frame_end(&b, off);
			send_buf(c, &b);
			buf_free(&b);
		}
	}
	if (q->in)
		explicit_bzero(q->in, q->inlen);
}
