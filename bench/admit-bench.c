/* bench/admit-bench.c — helper for bench/admit.sh (compiled by it).
 *
 *   admit-bench gen N SECRETFILE LOG   write an N-entry audit log and its
 *                                      checkpoint with lib/'s own writer
 *   admit-bench loop LOG PUBFILE       the bare libsodium baseline: extract
 *                                      every line's signed bytes and
 *                                      signature first (untimed), then time
 *                                      crypto_sign_verify_detached over them
 *                                      alone; prints wall and CPU seconds
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#include "audit.h"
#include "enc.h"
#include "io.h"
#include "keys.h"
#include "plan.h"

static int gen(unsigned long n, const char *key, const char *log)
{
	struct mvm_key k;
	struct merr e;
	struct buf out = BUF_INIT, line = BUF_INIT, cp = BUF_INIT;
	struct audit_new a;
	char prev[65], pid[72], ih[65], cpath[4096];
	unsigned long i;
	int64_t t = 1893456000;   /* 2030-01-01T00:00:00Z */

	if (key_load_secret(key, &k, &e) != 0) {
		fprintf(stderr, "admit-bench: %s\n", e.msg);
		return 4;
	}
	strcpy(prev, AUDIT_ZERO_HASH);
	memset(&a, 0, sizeof a);
	for (i = 1; i <= n; i++) {
		unsigned char h[32];
		sha256(h, &i, sizeof i);
		hex_encode(ih, h, 32);
		snprintf(pid, sizeof pid, "sha256:%s", ih);
		a.seq = i;
		a.time = t + (int64_t)i;
		a.event = i % 2 ? "plan.admitted" : "plan.launched";
		a.plan_id = pid;
		a.plan_version = 1;
		a.ir_hash = ih;
		a.lkey[0] = "admission_profile"; a.lval[0] = "vm:boot:standard";
		a.lkey[1] = "intent"; a.lval[1] = "vm:boot";
		a.lkey[2] = "seccomp_tier"; a.lval[2] = "standard";
		a.nlabels = 3;
		a.prev = prev;
		line.len = 0;
		if (audit_entry_build(&a, &k, &line, &e) != 0) {
			fprintf(stderr, "admit-bench: %s\n", e.msg);
			return 4;
		}
		sha256_hex(prev, line.p, line.len);
		buf_put(&out, line.p, line.len);
		buf_putc(&out, '\n');
	}
	if (out.err || write_atomic(log, out.p, out.len, 0600, &e) != 0)
		return 4;
	if (audit_checkpoint_build(out.len, n, prev, t + (int64_t)n, &k, &cp, &e) != 0)
		return 4;
	buf_putc(&cp, '\n');
	snprintf(cpath, sizeof cpath, "%s.checkpoint", log);
	if (write_atomic(cpath, cp.p, cp.len, 0600, &e) != 0)
		return 4;
	key_wipe(&k);
	return 0;
}

static int loop(const char *log, const char *pub)
{
	struct buf in = BUF_INIT;
	struct merr e;
	unsigned char pk[32], (*sig)[64];
	unsigned char **msg;
	size_t *mlen, n = 0, cap = 1024, off = 0, i;
	struct audit_line a;
	struct timespec t0, t1, c0, c1;

	if (key_load_public(pub, pk, &e) != 0 || read_file(log, &in, &e) != 0) {
		fprintf(stderr, "admit-bench: %s\n", e.msg);
		return 4;
	}
	msg = malloc(cap * sizeof *msg);
	mlen = malloc(cap * sizeof *mlen);
	sig = malloc(cap * sizeof *sig);
	memset(&a, 0, sizeof a);
	while (off < in.len) {
		char *nl = memchr(in.p + off, '\n', in.len - off);
		if (!nl || audit_line_parse(in.p + off, (size_t)(nl - in.p) - off, &a, &e) != 0)
			return 3;
		if (n == cap) {
			cap *= 2;
			msg = realloc(msg, cap * sizeof *msg);
			mlen = realloc(mlen, cap * sizeof *mlen);
			sig = realloc(sig, cap * sizeof *sig);
		}
		msg[n] = malloc(a.msg.len);
		memcpy(msg[n], a.msg.p, a.msg.len);
		mlen[n] = a.msg.len;
		memcpy(sig[n], a.sig, 64);
		n++;
		off = (size_t)(nl - in.p) + 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	for (i = 0; i < n; i++)
		if (crypto_sign_verify_detached(sig[i], msg[i], mlen[i], pk) != 0) {
			fprintf(stderr, "admit-bench: line %zu does not verify\n", i + 1);
			return 1;
		}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%.6f %.6f\n", (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
		(double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9);
	return 0;
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0)
		return 4;
	if (argc == 5 && strcmp(argv[1], "gen") == 0)
		return gen(strtoul(argv[2], NULL, 10), argv[3], argv[4]);
	if (argc == 4 && strcmp(argv[1], "loop") == 0)
		return loop(argv[2], argv[3]);
	fprintf(stderr, "usage: admit-bench gen N SECRETFILE LOG | loop LOG PUBFILE\n");
	return 2;
}
