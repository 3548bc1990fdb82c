/* sha256s.c — streaming SHA-256 on libcrypto's EVP interface */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <openssl/evp.h>
#include "sha256s.h"

struct sha256s *sha256s_new(void)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	if (!c) {
		errno = ENOMEM;
		return NULL;
	}
	if (EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(c);
		errno = ENOMEM;
		return NULL;
	}
	return (struct sha256s *)c;
}

int sha256s_update(struct sha256s *s, const void *p, size_t n)
{
	return n == 0 || EVP_DigestUpdate((EVP_MD_CTX *)s, p, n) == 1 ? 0 : -1;
}

int sha256s_final(struct sha256s *s, unsigned char out[32])
{
	unsigned len = 0;
	int ok = EVP_DigestFinal_ex((EVP_MD_CTX *)s, out, &len) == 1 && len == 32;

	EVP_MD_CTX_free((EVP_MD_CTX *)s);
	return ok ? 0 : -1;
}

void sha256s_free(struct sha256s *s)
{
	EVP_MD_CTX_free((EVP_MD_CTX *)s);
}
