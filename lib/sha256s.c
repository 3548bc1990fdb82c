/* sha256s.c — streaming SHA-256 on libcrypto's EVP interface */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <openssl/evp.h>
#include "buf.h"
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

/* ---- hashing a struct buf's drained buffers on a second thread ---- */

#define BG_RING 4    /* buffers: one being written, up to three queued */

struct bgbuf {
	char *p;
	size_t n, cap;
};

struct sha256bg {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct buf *out;
	struct sha256s *s;
	struct bgbuf queue[BG_RING];   /* drained, to hash, in order */
	size_t qhead, qlen;
	struct bgbuf free[BG_RING];    /* hashed, to write into */
	size_t nfree;
	int done, failed;
};

static void *bg_main(void *arg)
{
	struct sha256bg *bg = arg;

	pthread_mutex_lock(&bg->mu);
	for (;;) {
		while (bg->qlen == 0 && !bg->done)
			pthread_cond_wait(&bg->cv, &bg->mu);
		if (bg->qlen == 0)
			break;
		struct bgbuf b = bg->queue[bg->qhead];
		pthread_mutex_unlock(&bg->mu);
		int r = bg->failed ? -1 : sha256s_update(bg->s, b.p, b.n);
		pthread_mutex_lock(&bg->mu);
		if (r < 0)
			bg->failed = 1;
		bg->qhead = (bg->qhead + 1) % BG_RING;
		bg->qlen--;
		bg->free[bg->nfree++] = b;
		pthread_cond_broadcast(&bg->cv);
	}
	pthread_mutex_unlock(&bg->mu);
	return NULL;
}

/* buf's sink: queue out's buffer (p is out->p) and give out a free one */
static int bg_sink(void *ctx, const void *p, size_t n)
{
	struct sha256bg *bg = ctx;
	struct buf *out = bg->out;
	int failed;

	pthread_mutex_lock(&bg->mu);
	while (bg->nfree == 0)
		pthread_cond_wait(&bg->cv, &bg->mu);
	bg->queue[(bg->qhead + bg->qlen) % BG_RING] =
		(struct bgbuf){ (char *)(uintptr_t)p, n, out->cap };
	bg->qlen++;
	struct bgbuf f = bg->free[--bg->nfree];
	out->p = f.p;
	out->cap = f.cap;
	failed = bg->failed;
	pthread_cond_broadcast(&bg->cv);
	pthread_mutex_unlock(&bg->mu);
	return failed ? EIO : 0;
}

static void bg_free(struct sha256bg *bg)
{
	for (size_t i = 0; i < bg->nfree; i++)
		free(bg->free[i].p);
	pthread_mutex_destroy(&bg->mu);
	pthread_cond_destroy(&bg->cv);
	if (bg->s)
		sha256s_free(bg->s);
	free(bg);
}

struct sha256bg *sha256bg_start(struct buf *out)
{
	struct sha256bg *bg = calloc(1, sizeof *bg);
	int r;

	if (!bg)
		return NULL;
	pthread_mutex_init(&bg->mu, NULL);
	pthread_cond_init(&bg->cv, NULL);
	bg->out = out;
	for (size_t i = 0; i < BG_RING - 1; i++) {
		if (!(bg->free[i].p = malloc(2 * BUF_DRAIN)))
			goto fail;
		bg->free[i].cap = 2 * BUF_DRAIN;
		bg->nfree++;
	}
	if (!(bg->s = sha256s_new()))
		goto fail;
	if ((r = pthread_create(&bg->thread, NULL, bg_main, bg)) != 0) {
		errno = r;
		goto fail;
	}
	buf_init_sink(out, bg_sink, bg);   /* out's own buffer is the ring's 4th */
	return bg;
fail:
	r = errno;
	bg_free(bg);
	errno = r ? r : ENOMEM;
	return NULL;
}

int sha256bg_finish(struct sha256bg *bg, struct buf *out, unsigned char digest[32])
{
	int ok;

	pthread_mutex_lock(&bg->mu);
	bg->done = 1;
	pthread_cond_broadcast(&bg->cv);
	pthread_mutex_unlock(&bg->mu);
	pthread_join(bg->thread, NULL);
	if (!bg->failed) {
		ok = sha256s_final(bg->s, digest) == 0;
		bg->s = NULL;    /* final freed it */
	} else {
		ok = 0;
	}
	buf_free(out);
	bg_free(bg);
	return ok ? 0 : -1;
}
