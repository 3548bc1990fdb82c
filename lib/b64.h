/* b64.h — base64 (RFC 4648 section 4: the standard alphabet, '=' padding)
 *
 * Ours, not libsodium's: the guest agent is linked statically with musl
 * (agent/agent.mk), for which Debian ships no libsodium, and it needs
 * base64 for the frames' binary members.  One implementation serves the
 * host tools too; t/unit/b64 checks it against RFC 4648's vectors and
 * against libsodium's sodium_bin2base64 / sodium_base642bin.
 * Nothing here prints or exits.
 */
#ifndef MVM_B64_H
#define MVM_B64_H

#include <stddef.h>

/* The base64 of in[0..n), NUL-terminated, in malloc'd memory (4 *
 * ceil(n / 3) + 1 bytes), or NULL when out of memory. */
char *b64_encode(const unsigned char *in, size_t n);

/* Decode in[0..inlen): only the 64 letters of the alphabet, '=' padding
 * present (inlen a multiple of 4), no whitespace, and canonical (the bits
 * the padding leaves over are zero: "Zg==" and never "Zh==").  A malloc'd
 * buffer with the bytes (its length in *outlen; at least 1 byte is
 * allocated), or NULL for input that is not all of that, or out of memory. */
unsigned char *b64_decode(const char *in, size_t inlen, size_t *outlen);

#endif
