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

#define SECRETS_DIR "/mnt/secrets/"

static int tame(const char *s, size_t n, const char *extra)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || strchr(extra, s[i])) || !s[i])
			return 0;
	return 1;
}

/* Write the secret file path (under SECRETS_DIR, one name) as the runner's,
 * mode 0400.  0, or -1 with msg. */
static int put_file(const char *path, size_t pn, const char *v, size_t vn, char *msg, size_t ml)
{
	char full[PATH_MAX];
	const char *name = path + strlen(SECRETS_DIR);
	size_t nn = pn - strlen(SECRETS_DIR);
	int fd, err, saved[2];

	if (pn <= strlen(SECRETS_DIR) || strncmp(path, SECRETS_DIR, strlen(SECRETS_DIR)) ||
	    !tame(name, nn, "._-") || name[0] == '.') {
		snprintf(msg, ml, "a secret file must be " SECRETS_DIR "NAME ([A-Za-z0-9._-])");
		return -1;
	}
	snprintf(full, sizeof full, "%s" SECRETS_DIR "%.*s", opt.root, (int)nn, name);
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
		snprintf(msg, ml, "cannot %s the secret file " SECRETS_DIR "%.*s: %s",
			fd == -1 ? "create" : "write", (int)nn, name, strerror(err));
		return -1;
	}
	close(fd);
	return 0;
}

/* Apply the request d.  0, or -1 with msg (a fixed text or a name: never
 * a value). */
static int apply(const struct jdoc *d, char *msg, size_t ml)
{
	jref root = json_root(d), tier = json_get(d, root, "seccomp");
	jref secrets = json_get(d, root, "secrets");
	size_t n, members = 2;
	const char *t;

	if (tier == JREF_NONE || json_type(d, tier) != J_STR || !(t = json_str(d, tier, &n)) ||
	    !tame(t, n, "_-") || n > 32) {
		snprintf(msg, ml, "provision: /seccomp: a tier name");
		return -1;
	}
	if (secrets == JREF_NONE)
		members = 1, secrets = JREF_NONE;
	else if (json_type(d, secrets) != J_ARR) {
		snprintf(msg, ml, "provision: /secrets: an array");
		return -1;
	}
	if (json_len(d, root) != members + 1) {
		snprintf(msg, ml, "provision: unknown member in request");
		return -1;
	}
	char name[33];
	snprintf(name, sizeof name, "%.*s", (int)n, t);
	if (seccomp_prepare(name, msg, ml) != 0)
		return -1;
	for (jref s = secrets != JREF_NONE ? json_first(d, secrets) : JREF_NONE; s != JREF_NONE;
	     s = json_next(d, s)) {
		jref nm = json_get(d, s, "name"), v = json_get(d, s, "value");
		jref env = json_get(d, s, "env"), file = json_get(d, s, "file");
		size_t nl, vl, kl;
		const char *sn, *sv, *k;

		if (json_type(d, s) != J_OBJ || nm == JREF_NONE || json_type(d, nm) != J_STR ||
		    v == JREF_NONE || json_type(d, v) != J_STR || json_len(d, s) != 3 ||
		    (env == JREF_NONE) == (file == JREF_NONE) ||
		    json_type(d, env != JREF_NONE ? env : file) != J_STR) {
			snprintf(msg, ml, "provision: /secrets: {name, value, env or file}");
			return -1;
		}
		sn = json_str(d, nm, &nl);
		sv = json_str(d, v, &vl);
		k = json_str(d, env != JREF_NONE ? env : file, &kl);
		if (memchr(sv, 0, vl)) {
			snprintf(msg, ml, "provision: secret %.64s: a NUL byte in its value",
				tame(sn, nl, "._-") ? sn : "?");
			return -1;
		}
		if (env != JREF_NONE) {
			char *kv;
			if (!tame(k, kl, "_") || (k[0] >= '0' && k[0] <= '9') ||
			    !strncmp(k, "MVM_", 4) || !strncmp(k, "LD_", 3)) {
				snprintf(msg, ml, "provision: secret %.64s: env var name not allowed",
					tame(sn, nl, "._-") ? sn : "?");
				return -1;
			}
			if (!(kv = malloc(kl + vl + 2)))
				return snprintf(msg, ml, "out of memory"), -1;
			memcpy(kv, k, kl);
			kv[kl] = '=';
			memcpy(kv + kl + 1, sv, vl);
			kv[kl + 1 + vl] = 0;
			if (base_env_add(kv) != 0)
				return snprintf(msg, ml, "out of memory"), -1;
		} else if (put_file(k, kl, sv, vl, msg, ml) != 0) {
			return -1;
		}
	}
	if (!(opt.seccomp = strdup(name)))
		return snprintf(msg, ml, "out of memory"), -1;
	return 0;
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
