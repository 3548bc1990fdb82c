/* sha256s.c — streaming SHA-256 on libcrypto's SHA256_* functions
 *
 * Not EVP: OpenSSL 3's EVP_sha256() fetches the digest from a provider,
 * which loads the library context and its configuration on first use;
 * with libcrypto linked statically (Makefile: CRYPTO_LIBS) that is 3 ms
 * of CPU and 4.4 MB of code in every tool that hashes, where these
 * functions bring 38 KB and the same assembler (SHA-NI, AVX2, SSSE3,
 * chosen at start by OPENSSL_cpuid_setup).  They are deprecated in
 * OpenSSL 3 but kept, and their contract is stable. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <errno.h>
#include <stdlib.h>
#include <openssl/sha.h>
#include "sha256s.h"

struct sha256s {
	SHA256_CTX c;
};

struct sha256s *sha256s_new(void)
{
	struct sha256s *s = malloc(sizeof *s);

	if (!s || SHA256_Init(&s->c) != 1) {
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	return s;
}

int sha256s_update(struct sha256s *s, const void *p, size_t n)
{
	return n == 0 || SHA256_Update(&s->c, p, n) == 1 ? 0 : -1;
}

int sha256s_final(struct sha256s *s, unsigned char out[32])
{
	int ok = SHA256_Final(out, &s->c) == 1;

	free(s);
	return ok ? 0 : -1;
}

void sha256s_free(struct sha256s *s)
{
	free(s);
}
