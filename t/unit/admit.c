/* t/unit/admit.c — known answers for the admission and audit library:
 * RFC 3339 UTC times (against timegm/gmtime_r for every day 1900-2100,
 * and edge cases), DSSE's PAE (the example in the DSSE spec), key files
 * and key ids (RFC 8032 test 1), and the half-open validity window. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include "admit.h"
#include "dsse.h"
#include "enc.h"
#include "keys.h"
#include "plan.h"

#define UNIT_NAME "admit"
#include "check.h"

static void times(void)
{
	static const struct { const char *s; long long t; } ka[] = {
		{ "1970-01-01T00:00:00Z", 0 },
		{ "2000-02-29T00:00:00Z", 951782400 },
		{ "2038-01-19T03:14:08Z", 2147483648LL },
		{ "0001-01-01T00:00:00Z", -62135596800LL },
		{ "9999-12-31T23:59:59Z", 253402300799LL },
		{ "1969-12-31T23:59:59Z", -1 },
	};
	static const char *const bad[] = {
		"2021-02-29T00:00:00Z", "2100-02-29T00:00:00Z", "2024-13-01T00:00:00Z",
		"2024-00-01T00:00:00Z", "2024-01-32T00:00:00Z", "2024-01-01T24:00:00Z",
		"2024-01-01T00:60:00Z", "2024-01-01T00:00:60Z", "2024-01-01t00:00:00Z",
		"2024-01-01T00:00:00z", "2024-01-01T00:00:00+00:00", "2024-01-01T00:00:00.5Z",
		"2024-01-01 00:00:00Z", "0000-01-01T00:00:00Z", "+024-01-01T00:00:00Z",
		"2024-1-01T00:00:00Z", "",
	};
	char out[21];
	int64_t t;
	size_t i;
	time_t d;

	for (i = 0; i < sizeof ka / sizeof ka[0]; i++) {
		check(rfc3339_parse(ka[i].s, strlen(ka[i].s), &t) == 0 && t == ka[i].t,
			"parse %s", ka[i].s);
		check(rfc3339_format(ka[i].t, out) == 0 && strcmp(out, ka[i].s) == 0,
			"format %lld: %s", ka[i].t, out);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		check(rfc3339_parse(bad[i], strlen(bad[i]), &t) != 0, "accepted %s", bad[i]);
	check(rfc3339_format(253402300800LL, out) != 0, "formatted year 10000");
	/* Every day from 1900 to 2100, at a varying second, against libc. */
	for (d = -2208988800LL; d < 4102444800LL; d += 86400) {
		struct tm tm;
		char want[32];
		time_t x = d + (d / 86400 % 86400 + 86400) % 86400;
		gmtime_r(&x, &tm);
		strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%SZ", &tm);
		rfc3339_format(x, out);
		check(strcmp(out, want) == 0, "format %lld: %s, libc %s", (long long)x, out, want);
		check(rfc3339_parse(want, 20, &t) == 0 && t == (int64_t)x, "parse %s", want);
	}
}

static void pae(void)
{
	struct buf b = BUF_INIT;
	const char *want = "DSSEv1 29 http://example.com/HelloWorld 11 hello world";

	dsse_pae(&b, "http://example.com/HelloWorld", 29, "hello world", 11);
	check(b.len == strlen(want) && memcmp(b.p, want, b.len) == 0, "PAE of the DSSE example");
	b.len = 0;
	dsse_pae(&b, "", 0, "", 0);
	check(b.len == 12 && memcmp(b.p, "DSSEv1 0  0 ", 12) == 0, "PAE of empty strings");
	buf_free(&b);
}

static void keys(void)
{
	/* RFC 8032, 7.1, TEST 1. */
	static const char *seed64 = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=\n";
	static const char *pkhex = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
	static const char *sighex = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
	char dir[] = "/tmp/admit-unit.XXXXXX", path[64], pub[64], hex[129];
	unsigned char pk[32], sig[64];
	struct mvm_key k;
	struct merr e;
	FILE *f;

	if (!mkdtemp(dir)) {
		check(0, "mkdtemp");
		return;
	}
	snprintf(path, sizeof path, "%s/t.ed25519", dir);
	f = fopen(path, "w");
	fputs(seed64, f);
	fclose(f);
	chmod(path, 0644);
	check(key_load_secret(path, &k, &e) == EX_NO && strstr(e.msg, "mode 0644"),
		"a 0644 key is refused: %s", e.msg);
	chmod(path, 0600);
	check(key_load_secret(path, &k, &e) == 0, "load: %s", e.msg);
	hex_encode(hex, k.pk, 32);
	check(strcmp(hex, pkhex) == 0, "public key %s", hex);
	check(strcmp(k.keyid, "21fe31dfa154a261626bf854046fd227") == 0, "keyid %s", k.keyid);
	crypto_sign_detached(sig, NULL, (const unsigned char *)"", 0, k.sk);
	hex_encode(hex, sig, 64);
	check(strcmp(hex, sighex) == 0, "RFC 8032 test 1 signature");
	key_pub_path(path, pub, sizeof pub);
	check(strcmp(pub + strlen(pub) - 6, "/t.pub") == 0, "pub path %s", pub);
	f = fopen(pub, "w");
	fputs("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", f);
	fclose(f);
	check(key_load_secret(path, &k, &e) == EX_NO, "a mismatching .pub is refused");
	check(key_load_public(pub, pk, &e) == 0 && pk[0] == 0, "public key file");
	unlink(pub);
	unlink(path);
	rmdir(dir);
	key_wipe(&k);
}

static void window(void)
{
	struct plan p;
	struct merr e;

	memset(&p, 0, sizeof p);
	p.valid_from = 1000;
	p.valid_until = 2000;
	check(plan_window(&p, 999, 0, &e) == EX_NO, "before");
	check(plan_window(&p, 1000, 0, &e) == 0, "at valid_from");
	check(plan_window(&p, 1999, 0, &e) == 0, "last second");
	check(plan_window(&p, 2000, 0, &e) == EX_NO, "at valid_until");
	check(plan_window(&p, 2009, 10, &e) == 0, "skew after");
	check(plan_window(&p, 990, 10, &e) == 0, "skew before");
	p.valid_until = 1000;
	check(plan_window(&p, 1000, 0, &e) == EX_NO && strstr(e.msg, "inverted"), "empty window");
}

/* The verdict's reason names: the closed list of mvm-audit(5), in order. */
static void reasons(void)
{
	static const char *const doc[] = { "admitted", "envelope", "untrusted_key", "signature",
		"plan", "window", "limits", "replay", "ir_digest", "image_digest", "dev_image" };
	size_t i;

	check(ADMIT_NREASONS == sizeof doc / sizeof doc[0], "%d reasons, %zu documented",
		ADMIT_NREASONS, sizeof doc / sizeof doc[0]);
	for (i = 0; i < sizeof doc / sizeof doc[0] && i < ADMIT_NREASONS; i++) {
		const char *n = admit_reason_name((enum admit_reason)i);
		check(n && strcmp(n, doc[i]) == 0, "reason %zu is %s, not %s", i, n ? n : "NULL",
			doc[i]);
	}
	check(admit_reason_name(ADMIT_NREASONS) == NULL, "no name past the last reason");
}

/* DSSE's base64: RFC 4648 section 10's vectors, and section 5's URL-safe
 * alphabet ("+/8=" is "-_8=" there), padded or not, never mixed. */
static void b64(void)
{
	static const struct { const char *in; const char *out; size_t n; } ok[] = {
		{ "Zm9vYmFy", "foobar", 6 }, { "Zm9vYmE=", "fooba", 5 }, { "Zm9vYmE", "fooba", 5 },
		{ "Zm9vYg==", "foob", 4 }, { "Zm9vYg", "foob", 4 }, { "+/8=", "\xfb\xff", 2 },
		{ "-_8=", "\xfb\xff", 2 }, { "-_8", "\xfb\xff", 2 },
	};
	static const char *const bad[] = { "+_8=", "-/8=", "Zm9vYmE==", "Zm9v YmFy", "Z" };
	char sig[89], env[256];
	struct dsse_env d;
	struct merr e;
	size_t i;

	memset(sig, 'A', 86);
	strcpy(sig + 86, "==");
	for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		snprintf(env, sizeof env, "{\"payload\":\"%s\",\"payloadType\":\"t\",\"signatures\":"
			"[{\"sig\":\"%s\"}]}", ok[i].in, sig);
		int r = dsse_parse(env, strlen(env), &d, &e);
		check(r == 0 && d.plen == ok[i].n && memcmp(d.payload, ok[i].out, ok[i].n) == 0,
			"payload %s", ok[i].in);
		if (r == 0)
			dsse_free(&d);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(env, sizeof env, "{\"payload\":\"%s\",\"payloadType\":\"t\",\"signatures\":"
			"[{\"sig\":\"%s\"}]}", bad[i], sig);
		check(dsse_parse(env, strlen(env), &d, &e) == EX_NO, "payload %s refused", bad[i]);
	}
}

int main(void)
{
	if (sodium_init() < 0)
		return 4;
	times();
	pae();
	keys();
	window();
	reasons();
	b64();
	return check_report();
}
