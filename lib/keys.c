/* keys.c — Ed25519 key files, key ids, trusted keys, $MVM_HOME */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>
#include "buf.h"
#include "b64.h"
#include "enc.h"
#include "io.h"
#include "keys.h"

int mvm_home(char *out, size_t n, struct merr *e)
{
	const char *h = getenv("MVM_HOME");
	int r;

	if (h && *h) {
		r = snprintf(out, n, "%s", h);
	} else {
		const char *home = getenv("HOME");
		if (!home || !*home) {
			struct passwd *pw = getpwuid(getuid());
			home = pw ? pw->pw_dir : NULL;
		}
		if (!home)
			return merr_set(e, EX_SYS, NULL, "neither MVM_HOME nor HOME is set");
		r = snprintf(out, n, "%s/.mvm", home);
	}
	if (r < 0 || (size_t)r >= n)
		return merr_set(e, EX_SYS, NULL, "MVM_HOME path too long");
	return 0;
}

int mvm_path(char *out, size_t n, const char *sub, struct merr *e)
{
	char home[PATH_MAX];
	int r;

	if (mvm_home(home, sizeof home, e) != 0)
		return EX_SYS;
	r = snprintf(out, n, "%s/%s", home, sub);
	if (r < 0 || (size_t)r >= n)
		return merr_set(e, EX_SYS, NULL, "path too long");
	return 0;
}

int key_default_secret(char *out, size_t n, struct merr *e)
{
	return mvm_path(out, n, "keys/host-signer.ed25519", e);
}

int key_pub_path(const char *secret, char *out, size_t n)
{
	size_t len = strlen(secret), sl = strlen(".ed25519");
	int r;

	if (len > sl && strcmp(secret + len - sl, ".ed25519") == 0)
		r = snprintf(out, n, "%.*s.pub", (int)(len - sl), secret);
	else
		r = snprintf(out, n, "%s.pub", secret);
	return r < 0 || (size_t)r >= n ? -1 : 0;
}

void key_id(char out[KEYID_LEN + 1], const unsigned char pk[32])
{
	unsigned char h[32];

	sha256(h, pk, 32);
	hex_encode(out, h, 16);
}

void key_pub_line(char *out, size_t n, const unsigned char pk[32])
{
	char *b = b64_encode(pk, 32);

	snprintf(out, n, "%s\n", b ? b : "");
	free(b);
}

/* One base64 line of exactly 32 bytes; 0 or -1.  The line may end in
 * "\n" (or "\r\n"); nothing else may follow. */
static int decode32(const char *p, size_t n, unsigned char out[32])
{
	unsigned char *d;
	size_t got = 0;
	int r = -1;

	if (n && p[n - 1] == '\n')
		n--;
	if (n && p[n - 1] == '\r')
		n--;
	if (n != 44)
		return -1;
	d = b64_decode(p, n, &got);
	if (d && got == 32) {
		memcpy(out, d, 32);
		r = 0;
	}
	if (d) {
		sodium_memzero(d, got);
		free(d);
	}
	return r;
}

static void wipe_buf(struct buf *b)
{
	if (b->p)
		sodium_memzero(b->p, b->cap);
	buf_free(b);
}

/* Read a small file through fd into b (at most 4 KiB is meaningful). */
static int read_small(int fd, struct buf *b, const char *path, struct merr *e)
{
	if (read_fd(fd, b, e) != 0) {
		char msg[sizeof e->msg];
		snprintf(msg, sizeof msg, "%s", e->msg);
		merr_set(e, EX_SYS, NULL, "%s: %s", path, msg);
		/* a failed read (a directory: EISDIR) may have grown b */
		wipe_buf(b);
		return EX_SYS;
	}
	return 0;
}

int key_load_secret(const char *path, struct mvm_key *k, struct merr *e)
{
	struct buf b = BUF_INIT;
	struct stat st;
	unsigned char seed[32], pk[32];
	char pub[PATH_MAX];
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return merr_set(e, EX_SYS, NULL, "%s: unable to open secret key: %s", path,
			strerror(errno));
	if (fstat(fd, &st) < 0) {
		r = merr_set(e, EX_SYS, NULL, "%s: unable to stat: %s", path, strerror(errno));
		close(fd);
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return merr_set(e, EX_DATA, NULL, "%s: secret key is not a regular file", path);
	}
	if (st.st_mode & 077) {
		close(fd);
		return merr_set(e, EX_NO, NULL,
			"%s: secret key has mode %04o, must not be accessible by group or others "
			"(chmod 600 %s)", path, (unsigned)(st.st_mode & 07777), path);
	}
	if (st.st_size > 4096) {
		close(fd);
		return merr_set(e, EX_DATA, NULL, "%s: is %lld bytes, not a secret key file", path,
			(long long)st.st_size);
	}
	r = read_small(fd, &b, path, e);
	close(fd);
	if (r)
		return r;
	if (decode32(b.p ? b.p : "", b.len, seed) != 0) {
		wipe_buf(&b);
		return merr_set(e, EX_DATA, NULL,
			"%s: not a secret key (want one line: base64 of a 32-byte Ed25519 seed)", path);
	}
	wipe_buf(&b);
	crypto_sign_seed_keypair(k->pk, k->sk, seed);
	sodium_memzero(seed, sizeof seed);
	key_id(k->keyid, k->pk);

	if (key_pub_path(path, pub, sizeof pub) == 0 && access(pub, F_OK) == 0) {
		if ((r = key_load_public(pub, pk, e)) != 0) {
			key_wipe(k);
			return r;
		}
		if (sodium_memcmp(pk, k->pk, 32) != 0) {
			key_wipe(k);
			return merr_set(e, EX_NO, NULL,
				"%s: public key beside it (%s) does not belong to this secret key", path, pub);
		}
	}
	return 0;
}

int key_load_public(const char *path, unsigned char pk[32], struct merr *e)
{
	struct buf b = BUF_INIT;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return merr_set(e, EX_SYS, NULL, "%s: unable to open public key: %s", path,
			strerror(errno));
	r = read_small(fd, &b, path, e);
	close(fd);
	if (r)
		return r;
	if (b.len > 4096 || decode32(b.p ? b.p : "", b.len, pk) != 0)
		r = merr_set(e, EX_DATA, NULL,
			"%s: not a public key (want one line: base64 of a 32-byte Ed25519 key)", path);
	buf_free(&b);
	return r;
}

int file_create_excl(const char *path, const void *data, size_t n, unsigned mode,
	struct merr *e)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);

	if (fd < 0) {
		if (errno == EEXIST)
			return merr_set(e, EX_NO, NULL, "%s: already exists, not overwritten", path);
		return merr_set(e, EX_SYS, NULL, "%s: unable to create: %s", path, strerror(errno));
	}
	if (fchmod(fd, (mode_t)mode) < 0 || write_all(fd, data, n) < 0 || fsync(fd) < 0) {
		merr_set(e, EX_SYS, NULL, "%s: unable to write: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return EX_SYS;
	}
	if (close(fd) < 0) {
		merr_set(e, EX_SYS, NULL, "%s: unable to write: %s", path, strerror(errno));
		unlink(path);
		return EX_SYS;
	}
	if (fsync_parent(path) < 0) {
		merr_set(e, EX_SYS, NULL, "%s: unable to fsync directory: %s", path, strerror(errno));
		unlink(path);
		return EX_SYS;
	}
	return 0;
}

int key_generate(const char *spath, const char *ppath, struct mvm_key *k, struct merr *e)
{
	unsigned char seed[32];
	char *b, line[64];
	struct stat st;
	int r;

	if (lstat(spath, &st) == 0)
		return merr_set(e, EX_NO, NULL, "%s: already exists, not overwritten", spath);
	if (lstat(ppath, &st) == 0)
		return merr_set(e, EX_NO, NULL, "%s: already exists, not overwritten", ppath);
	randombytes_buf(seed, sizeof seed);
	crypto_sign_seed_keypair(k->pk, k->sk, seed);
	key_id(k->keyid, k->pk);
	b = b64_encode(seed, sizeof seed);
	sodium_memzero(seed, sizeof seed);
	if (!b)
		return merr_set(e, EX_SYS, NULL, "out of memory");
	snprintf(line, sizeof line, "%s\n", b);
	sodium_memzero(b, strlen(b));
	free(b);
	r = file_create_excl(spath, line, strlen(line), 0600, e);
	sodium_memzero(line, sizeof line);
	if (r)
		return r;
	key_pub_line(line, sizeof line, k->pk);
	if ((r = file_create_excl(ppath, line, strlen(line), 0644, e)) != 0) {
		unlink(spath);
		return r;
	}
	return 0;
}

static int trust_add(struct trustset *t, const char *path, struct merr *e)
{
	struct stat st;
	unsigned char pk[32];
	struct trusted *k;
	size_t i;
	int r;

	if (stat(path, &st) == 0 && (st.st_mode & 022))
		return merr_set(e, EX_NO, NULL, "%s: trusted key has mode %04o: group or others "
			"can write it (chmod go-w %s)", path, (unsigned)(st.st_mode & 07777), path);
	if ((r = key_load_public(path, pk, e)) != 0)
		return r;
	for (i = 0; i < t->n; i++)
		if (memcmp(t->k[i].pk, pk, 32) == 0)
			return 0;
	k = realloc(t->k, (t->n + 1) * sizeof *k);
	if (!k)
		return merr_set(e, EX_SYS, NULL, "out of memory");
	t->k = k;
	k = &t->k[t->n];
	memcpy(k->pk, pk, 32);
	key_id(k->keyid, pk);
	if (!(k->path = strdup(path)))
		return merr_set(e, EX_SYS, NULL, "out of memory");
	t->n++;
	return 0;
}

int trust_load(struct trustset *t, char *const *files, size_t nfiles, struct merr *e)
{
	struct stat st;
	char pat[PATH_MAX];
	glob_t g;
	size_t i;
	int r;

	t->k = NULL;
	t->n = 0;
	t->nwarn = 0;
	if (nfiles) {
		for (i = 0; i < nfiles; i++)
			if ((r = trust_add(t, files[i], e)) != 0)
				return r;
		return 0;
	}
	if (mvm_path(pat, sizeof pat, "trust", e) != 0)
		return EX_SYS;
	if (stat(pat, &st) == 0 && (st.st_mode & 022))
		return merr_set(e, EX_NO, NULL, "%s: trust directory has mode %04o: group or "
			"others can write it (chmod go-w %s)", pat, (unsigned)(st.st_mode & 07777), pat);
	if (mvm_path(pat, sizeof pat, "trust/*.pub", e) != 0)
		return EX_SYS;
	r = glob(pat, 0, NULL, &g);
	if (r == GLOB_NOMATCH)
		return 0;
	if (r != 0)
		return merr_set(e, EX_SYS, NULL, "unable to list %s", pat);
	for (i = 0, r = 0; i < g.gl_pathc && r != EX_NO; i++) {
		struct merr we;
		if ((r = trust_add(t, g.gl_pathv[i], &we)) == 0 || r == EX_NO) {
			if (r)
				*e = we;
			continue;
		}
		/* unreadable or not a key: skipped, said */
		if (t->nwarn < TRUST_MAX_WARN) {
			t->warn[t->nwarn++] = we;
		}
		r = 0;
	}
	globfree(&g);
	return r;
}

const struct trusted *trust_find(const struct trustset *t, const char *keyid, size_t len)
{
	size_t i;

	if (len != KEYID_LEN)
		return NULL;
	for (i = 0; i < t->n; i++)
		if (memcmp(t->k[i].keyid, keyid, KEYID_LEN) == 0)
			return &t->k[i];
	return NULL;
}

void trust_free(struct trustset *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->k[i].path);
	free(t->k);
	t->k = NULL;
	t->n = 0;
}

void key_wipe(struct mvm_key *k)
{
	sodium_memzero(k, sizeof *k);
}
