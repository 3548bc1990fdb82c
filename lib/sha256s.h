/* sha256s.h — streaming SHA-256 for bulk data, on OpenSSL's libcrypto
 *
 * libsodium's SHA-256 is portable C; libcrypto's uses the CPU's SIMD
 * (SHA-NI, AVX2, SSSE3), about twice as fast on this project's machines.
 * Small hashes (plan ids, IR hashes of short texts) stay on libsodium via
 * enc.h; this is for image files and large canonical texts.
 */
#ifndef MVM_SHA256S_H
#define MVM_SHA256S_H

#include <stddef.h>

struct sha256s;

/* A new stream, or NULL (errno ENOMEM) if libcrypto could not make one. */
struct sha256s *sha256s_new(void);
/* Add n bytes: 0, or -1 if libcrypto failed (the stream is then unusable). */
int sha256s_update(struct sha256s *s, const void *p, size_t n);
/* The digest of everything added; 0 or -1.  The stream is freed either way. */
int sha256s_final(struct sha256s *s, unsigned char out[32]);
void sha256s_free(struct sha256s *s);

#endif
