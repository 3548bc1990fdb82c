/* provision.c — the one provisioning request (mvm-agent-protocol(5)
 * "Provisioning"): the seccomp tier the plan admitted and the secrets the
 * host released, sent by vm-boot once the agent answers, before any call.
 * Secrets never pass through a file on the host or a drive: they arrive
 * here, go into the runners' environment (base_env_add) or into a file on
 * the tmpfs /mnt/secrets (mode 0400, owned by the runner's uid), and are
 * never logged. */
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

/* Write the secret file path (PROV_SECRETS_DIR NAME, provision_parse
 * checked it) as the runner's, mode 0400.  0, or -1 with msg. */
static int put_file(const char *path, size_t pn, const char *v, size_t vn, char *msg, size_t ml)
{
	char full[PATH_MAX];
	const char *name = path + strlen(PROV_SECRETS_DIR);
	size_t nn = pn - strlen(PROV_SECRETS_DIR);
	int fd, err, saved[2];

	snprintf(full, sizeof full, "%s" PROV_SECRETS_DIR "%.*s", opt.root, (int)nn, name);
	/* made as the runner (init's tmpfs there is the runner's, 0700): the
	 * file is the runner's from the start; the agent has no CAP_CHOWN */
	fs_as_runner(saved);
	fd = open(full, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400);
	err = errno;
	if (fd >= 0 && (write(fd, v, vn) != (ssize_t)vn || fsync(fd) != 0)) {
		err = errno;
		close(fd);
		unlink(full);
		fd = -2;
	}
	fs_as_agent(saved);
	if (fd < 0) {
		snprintf(msg, ml, "cannot %s the secret file " PROV_SECRETS_DIR "%.*s: %s",
			fd == -1 ? "create" : "write", (int)nn, name, strerror(err));
		return -1;
	}
	close(fd);
	return 0;
}

/* Apply the request d, read whole first (provision_parse).  0, or -1 with
 * msg (a fixed text or a name: never a value). */
static int apply(const struct jdoc *d, char *msg, size_t ml)
{
	struct prov_req r;
	int rc = -1;

	if (provision_parse(d, &r, msg, ml) != 0)
		return -1;
	if (seccomp_prepare(r.tier, msg, ml) != 0)
		goto out;
	for (size_t i = 0; i < r.n; i++) {
		const struct prov_secret *x = &r.s[i];

		if (x->env) {
			char *kv = malloc(x->kl + x->vl + 2);
			if (!kv) {
				snprintf(msg, ml, "out of memory");
				goto out;
			}
			memcpy(kv, x->key, x->kl);
			kv[x->kl] = '=';
			memcpy(kv + x->kl + 1, x->value, x->vl);
			kv[x->kl + 1 + x->vl] = 0;
			if (base_env_add(kv) != 0) {
				snprintf(msg, ml, "out of memory");
				goto out;
			}
		} else if (put_file(x->key, x->kl, x->value, x->vl, msg, ml) != 0) {
			goto out;
		}
	}
	if (!(opt.seccomp = strdup(r.tier))) {
		snprintf(msg, ml, "out of memory");
		goto out;
	}
	rc = 0;
out:
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
