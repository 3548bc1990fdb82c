/* enc.h — hex and SHA-256 helpers (on libsodium); base64 is b64.h */
#ifndef MVM_ENC_H
#define MVM_ENC_H

#include <stddef.h>
#include <stdint.h>

/* Lowercase hex of n bytes into out (2n+1 bytes, NUL-terminated). */
void hex_encode(char *out, const unsigned char *in, size_t n);
/* Decode exactly n bytes from 2n hex digits (either case); 0 or -1. */
int hex_decode(unsigned char *out, size_t n, const char *in, size_t inlen);
/* SHA-256 of data; hex form is 65 bytes with NUL. */
void sha256(unsigned char out[32], const void *data, size_t n);
void sha256_hex(char out[65], const void *data, size_t n);

#endif
