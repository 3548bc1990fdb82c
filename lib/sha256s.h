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

/*
 * Hashing on a second thread what a struct buf (buf.h) drains, without
 * copying it: sha256bg_start makes out a sink buffer whose drained
 * buffers go to the hashing thread whole while out goes on in another
 * one of a small ring (out->p changes at each drain; realloc'd buffers
 * are followed).  After the last write and buf_flush(out), sha256bg_finish
 * waits for the thread, writes the digest and frees the ring and the
 * thread, leaving out empty (buf_free(out) is then a no-op).
 *
 *   sha256bg_start   a new hasher, or NULL (errno: ENOMEM, or from
 *                    pthread_create)
 *   sha256bg_finish  0, or -1 if libcrypto failed (bg is freed either way)
 */
struct sha256bg;
struct buf;
struct sha256bg *sha256bg_start(struct buf *out);
int sha256bg_finish(struct sha256bg *bg, struct buf *out, unsigned char digest[32]);

#endif
