/* keys.h — Ed25519 key files, key ids, trusted keys, $MVM_HOME */
#ifndef MVM_KEYS_H
#define MVM_KEYS_H

#include <stddef.h>
#include "err.h"

/*
 * A secret key file holds the standard base64 of the 32-byte Ed25519
 * seed on one line; a public key file the base64 of the 32-byte public
 * key.  A key id is the lowercase hex of the first 16 bytes of the
 * SHA-256 of the raw public key (32 hex digits).
 */
#define KEYID_LEN 32

struct mvm_key {
	unsigned char sk[64];     /* libsodium's seed || public key */
	unsigned char pk[32];
	char keyid[KEYID_LEN + 1];
};

struct trusted {
	unsigned char pk[32];
	char keyid[KEYID_LEN + 1];
	char *path;
};

#define TRUST_MAX_WARN 16
struct trustset {
	struct trusted *k;
	size_t n;
	struct merr warn[TRUST_MAX_WARN];   /* files of trust/ skipped, why */
	size_t nwarn;                       /* (at most TRUST_MAX_WARN kept) */
};

/* $MVM_HOME, else $HOME/.mvm, into out.  0, or EX_SYS. */
int mvm_home(char *out, size_t n, struct merr *e);
/* "$MVM_HOME/<sub>" into out; 0 or EX_SYS. */
int mvm_path(char *out, size_t n, const char *sub, struct merr *e);
/* The default signing key: $MVM_HOME/keys/host-signer.ed25519. */
int key_default_secret(char *out, size_t n, struct merr *e);
/* The public key file beside a secret key file: a final ".ed25519"
 * replaced by ".pub", otherwise ".pub" appended. */
int key_pub_path(const char *secret, char *out, size_t n);

void key_id(char out[KEYID_LEN + 1], const unsigned char pk[32]);
/* Public key line: base64 + "\n", into out (at least 46 bytes). */
void key_pub_line(char *out, size_t n, const unsigned char pk[32]);

/*
 * Load a secret key.  Refused: a file group or others can access
 * (EX_NO, message names the file's mode), not one base64 line of 32
 * bytes (EX_DATA), a .pub beside it that does not hold its public key
 * (EX_NO).  Unreadable: EX_SYS.  All secret bytes read are wiped.
 */
int key_load_secret(const char *path, struct mvm_key *k, struct merr *e);
/* Load a public key file (EX_DATA if malformed, EX_SYS if unreadable). */
int key_load_public(const char *path, unsigned char pk[32], struct merr *e);
/*
 * Generate a key pair: write the secret to spath (O_CREAT|O_EXCL|
 * O_NOFOLLOW, mode 0600) and the public key to ppath (mode 0644), both
 * fsynced.  An existing file is refused with EX_NO and nothing is
 * written.  On failure nothing is left behind.
 */
int key_generate(const char *spath, const char *ppath, struct mvm_key *k, struct merr *e);
/* Create path exclusively (O_EXCL|O_NOFOLLOW) with data, fsync it and its
 * directory.  EEXIST is EX_NO; other failures EX_SYS (file removed). */
int file_create_excl(const char *path, const void *data, size_t n, unsigned mode,
	struct merr *e);

/*
 * Trusted keys: the given files, or when nfiles is 0 every
 * $MVM_HOME/trust/NAME.pub.  An empty set is not an error here.
 * Refused (EX_NO, the message names the path and its mode): a trust
 * directory or a key file that group or others can write (as ssh's
 * StrictModes).  A given file that is unreadable (EX_SYS) or not a
 * public key (EX_DATA) is an error; a file of trust/ that is either is
 * skipped, and said in t->warn (the tool prints these as warnings).
 */
int trust_load(struct trustset *t, char *const *files, size_t nfiles, struct merr *e);
const struct trusted *trust_find(const struct trustset *t, const char *keyid, size_t len);
void trust_free(struct trustset *t);

void key_wipe(struct mvm_key *k);

#endif
