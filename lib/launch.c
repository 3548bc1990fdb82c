/* launch.c — drives, secrets and the provisioning request of a launch
 * (launch.h; launchprov.c sends it) */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "frame.h"
#include "io.h"
#include "json.h"
#include "keys.h"
#include "launch.h"
#include "launch_int.h"
#include "secret.h"

static int plain(const char *s, size_t n, const char *extra)
{
	if (n == 0 || s[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || (s[i] && strchr(extra, s[i]))))
			return 0;
	return 1;
}

/* A member string copied into out (launch_int.h). */
const char *launch_mstr(const struct jdoc *d, jref o, const char *k, char *out, size_t cap)
{
	jref v = json_get(d, o, k);
	size_t n;
	const char *s;

	if (v == JREF_NONE || json_type(d, v) != J_STR || !(s = json_str(d, v, &n)) ||
	    n >= cap || memchr(s, 0, n))
		return NULL;
	memcpy(out, s, n);
	out[n] = 0;
	return out;
}

/* Run mke2fs on a new volume. */
static int mkfs(const char *path, const char *role, struct merr *e)
{
	char label[32];
	int st;
	pid_t pid;

	snprintf(label, sizeof label, "mvm-%s", role);
	if ((pid = fork()) < 0)
		return merr_sys(e, "fork");
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);
		if (nul >= 0)
			dup2(nul, 0), dup2(nul, 1), dup2(nul, 2);
		execlp("mke2fs", "mke2fs", "-q", "-F", "-t", "ext4", "-L", label, "-m", "0",
			"-E", "root_owner=1000:1000", path, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return merr_set(e, EX_SYS, NULL, "%s: mke2fs failed (status %d)", path,
			WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return 0;
}

static int volume(struct launch *L, struct vmm *vm, const char *workload, const char *role,
	const char *name, long size_mb, int rw, struct merr *e)
{
	char sub[PATH_MAX], dir[PATH_MAX], path[PATH_MAX];
	struct stat st;
	int fd, rc;

	snprintf(sub, sizeof sub, "volumes/%s", workload);
	if ((rc = mvm_path(dir, sizeof dir, sub, e)) != 0 || (rc = mkdir_p(dir, 0700, e)) != 0)
		return rc;
	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
		return merr_set(e, EX_SYS, NULL, "%s: path too long", dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
		return merr_sys(e, path);
	L->lock_fd[L->nlocks++] = fd;
	if (flock(fd, (rw ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK)
			return merr_set(e, EX_NO, NULL, "volume %s of workload %s (%s) is in use by "
				"another VM", name, workload, path);
		return merr_sys(e, path);
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return merr_set(e, EX_NO, NULL, "%s: not a regular file", path);
	if (st.st_size == 0) {
		/* first use: made here, under the lock */
		if (ftruncate(fd, (off_t)size_mb << 20) != 0)
			return merr_sys(e, path);
		if ((rc = mkfs(path, role, e)) != 0) {
			if (ftruncate(fd, 0) != 0)
				{ /* made again next time all the same: size 0 */ }
			return rc;
		}
	} else if (st.st_size != (off_t)size_mb << 20) {
		return merr_set(e, EX_NO, NULL, "volume %s of workload %s (%s) is %lld MiB, the IR "
			"declares %ld MiB (move it away to start afresh)", name, workload, path,
			(long long)(st.st_size >> 20), size_mb);
	}
	return vmm_add_drive(vm, path, role, !rw, e);
}

static int drives(struct launch *L, struct vmm *vm, const struct jdoc *d, jref arr,
	const char *workload, struct merr *e)
{
	char role[VMM_ROLE_MAX + 1], kind[16], file[80], path[PATH_MAX], name[130], mode[4];
	int rc;

	for (jref x = json_first(d, arr); x != JREF_NONE; x = json_next(d, x)) {
		if (!launch_mstr(d, x, "role", role, sizeof role) || !launch_mstr(d, x, "kind", kind, sizeof kind))
			return merr_set(e, EX_NO, "/launch/drives", "a drive without a role or kind");
		if (!strcmp(kind, "config")) {
			if (!launch_mstr(d, x, "file", file, sizeof file) ||
			    !plain(file, strlen(file), "._"))
				return merr_set(e, EX_NO, "/launch/drives", "config drive %s: no plain "
					"file name", role);
			if ((size_t)snprintf(path, sizeof path, "%s/%s", vm->image, file) >= sizeof path)
				return merr_set(e, EX_SYS, NULL, "%s: path too long", vm->image);
			if ((rc = vmm_add_drive(vm, path, role, 1, e)) != 0)
				return rc == EX_USAGE ? EX_NO : rc;
		} else if (!strcmp(kind, "volume")) {
			jref sz = json_get(d, x, "size_mb");
			double mb = sz != JREF_NONE && json_type(d, sz) == J_NUM ? json_num(d, sz) : 0;
			if (!launch_mstr(d, x, "volume", name, sizeof name) || !plain(name, strlen(name), "._-") ||
			    !launch_mstr(d, x, "mode", mode, sizeof mode) || (strcmp(mode, "ro") && strcmp(mode, "rw")) ||
			    mb < 1 || mb > 1048576 || mb != (double)(long)mb)
				return merr_set(e, EX_NO, "/launch/drives", "volume drive %s: volume, "
					"mode or size_mb (1 to 1048576) missing or not usable", role);
			if (L->nlocks == VMM_DRIVES_MAX)
				return merr_set(e, EX_NO, "/launch/drives", "too many volumes");
			if ((rc = volume(L, vm, workload, role, name, (long)mb, !strcmp(mode, "rw"), e)) != 0)
				return rc == EX_USAGE ? EX_NO : rc;
		} else {
			return merr_set(e, EX_NO, "/launch/drives", "drive %s: unknown kind %s", role, kind);
		}
	}
	return 0;
}

/* Append the secrets of arr, resolved, to the request. */
static int secrets(struct launch *L, const struct jdoc *d, jref arr, struct merr *e)
{
	char name[SECRET_NAME_MAX + 2], where[PATH_MAX];
	unsigned n = 0;
	int rc;

	buf_puts(&L->req, ",\"secrets\":[");
	for (jref x = json_first(d, arr); x != JREF_NONE; x = json_next(d, x), n++) {
		struct secret s;
		int env = json_get(d, x, "env") != JREF_NONE;

		if (n == LAUNCH_SECRETS_MAX)
			return merr_set(e, EX_NO, "/launch/secrets", "more than %u secrets",
				LAUNCH_SECRETS_MAX);
		if (!launch_mstr(d, x, "name", name, sizeof name) ||
		    !launch_mstr(d, x, env ? "env" : "file", where, sizeof where))
			return merr_set(e, EX_NO, "/launch/secrets", "a secret without a name, env "
				"or file");
		if ((rc = secret_get(name, &s, e)) != 0)
			return rc;
		/* room first: the value must not be left behind by a realloc */
		if (buf_reserve(&L->req, s.len * 6 + strlen(where) + strlen(name) + 64) < 0) {
			secret_free(&s);
			return merr_set(e, EX_SYS, NULL, "out of memory");
		}
		buf_puts(&L->req, n ? ",{\"name\":" : "{\"name\":");
		json_put_str(&L->req, name, strlen(name));
		buf_puts(&L->req, env ? ",\"env\":" : ",\"file\":");
		json_put_str(&L->req, where, strlen(where));
		buf_puts(&L->req, ",\"value\":");
		json_put_str(&L->req, s.value, s.len);
		buf_putc(&L->req, '}');
		secret_free(&s);
		snprintf(L->names + strlen(L->names), sizeof L->names - strlen(L->names), "%s%s",
			n ? "," : "", name);
	}
	buf_putc(&L->req, ']');
	return 0;
}

int launch_prepare(struct launch *L, struct vmm *vm, const char *workload, const char *tier,
	const char *release, struct merr *e)
{
	char path[PATH_MAX];
	struct buf b = BUF_INIT;
	struct jdoc *d = NULL;
	jref launch, x;
	size_t off;
	int rc = 0;

	memset(L, 0, sizeof *L);
	L->req = (struct buf)BUF_INIT;
	if (strlen(tier) > LAUNCH_TIER_MAX || !plain(tier, strlen(tier), "_-"))
		return merr_set(e, EX_NO, NULL, "seccomp tier \"%.40s\": not a tier name", tier);
	snprintf(L->tier, sizeof L->tier, "%s", tier);
	/* 1 MiB is room for the biggest values */
	if (buf_reserve(&L->req, 1u << 20) < 0)
		return merr_set(e, EX_SYS, NULL, "out of memory");
	off = frame_begin(&L->req);
	buf_puts(&L->req, "{\"type\":\"provision\",\"seccomp\":");
	json_put_str(&L->req, tier, strlen(tier));
	if ((size_t)snprintf(path, sizeof path, "%s/mvm-meta.json", vm->image) >= sizeof path) {
		rc = merr_set(e, EX_SYS, NULL, "%s: path too long", vm->image);
		goto out;
	}
	if ((rc = read_file(path, &b, e)) != 0)
		goto out;
	if (!(d = json_parse(b.p ? b.p : "", b.len, NULL, e))) {
		rc = merr_set(e, EX_NO, NULL, "%s: not JSON", path);
		goto out;
	}
	launch = json_get(d, json_root(d), "launch");
	if (launch != JREF_NONE) {
		if (json_type(d, launch) != J_OBJ) {
			rc = merr_set(e, EX_NO, "/launch", "%s: launch is not an object", path);
			goto out;
		}
		if (strlen(workload) > 128 || !plain(workload, strlen(workload), "._-")) {
			rc = merr_set(e, EX_NO, NULL, "workload \"%.64s\": not usable as a volume "
				"directory name", workload);
			goto out;
		}
		if ((x = json_get(d, launch, "drives")) != JREF_NONE && json_type(d, x) == J_ARR &&
		    (rc = drives(L, vm, d, x, workload, e)) != 0)
			goto out;
		if ((x = json_get(d, launch, "secrets")) != JREF_NONE && json_type(d, x) == J_ARR &&
		    json_len(d, x) > 0) {
			if (strcmp(release, "plan_bound") != 0) {
				rc = merr_set(e, EX_NO, NULL, "the image needs secrets, and the plan's "
					"secret_release is %s: only plan_bound releases them (plan-new "
					"--secret-release plan_bound)", release);
				goto out;
			}
			if ((rc = secrets(L, d, x, e)) != 0)
				goto out;
		}
	}
	buf_putc(&L->req, '}');
	frame_end(&L->req, off);
	if (L->req.err)
		rc = merr_set(e, EX_SYS, NULL, "out of memory");
out:
	json_free(d);
	buf_free(&b);
	return rc;
}

void launch_free(struct launch *L)
{
	if (L->started)
		pthread_join(L->thread, NULL);
	L->started = 0;
	if (L->req.p)
		explicit_bzero(L->req.p, L->req.len);
	buf_free(&L->req);
	for (unsigned i = 0; i < L->nlocks; i++)
		close(L->lock_fd[i]);
	L->nlocks = 0;
}
