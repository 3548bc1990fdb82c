/* fuzz/verity.c — libFuzzer harness for the dm-verity member of
 * mvm-meta.json (lib/verity.c: verity_from_meta, verity_parse).  The meta
 * comes with the image: its digest binds it to the plan, but whoever
 * built the image chose its bytes, and vm-boot writes what is accepted
 * into the guest kernel's command line (verity_cmdline), so an accepted
 * value must not be able to add a word or a table to it.  The input is
 * the meta's bytes; verity_parse also gets the root object itself (so
 * the fuzzer need not find the "verity" wrapper).  Checks (verity.h's
 * contract): no crash or sanitizer report; verity_from_meta gives 0 or
 * EX_NO, a refusal with a message and *present 0; an accepted verity has
 * 64 lowercase hex digits of root hash and salt, 1..VERITY_BLOCKS_MAX
 * data blocks and the tree right after them; verity_put writes it as
 * canonical JSON that verity_parse reads back to the same struct; and
 * verity_cmdline's line fits 512 bytes and is exactly
 *   dm-mod.create="mvm-root,,,ro,0 S verity 1 D D 4096 4096 B H sha256 R T" root=/dev/dm-0
 * with S = 8 B, H = B, decimal numbers and R, T the hex above: two
 * quotes, four commas, single spaces, nothing else. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "verity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DEV "/dev/vda"

static int is_hex64(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/* A decimal number without sign or leading zero, the whole of w. */
static int dec(const char *w, uint64_t *out)
{
	char *end;

	if (!*w || strspn(w, "0123456789") != strlen(w) || (w[0] == '0' && w[1]))
		return 0;
	*out = strtoull(w, &end, 10);
	return *end == 0;
}

static void check_cmdline(const struct verity *v)
{
	static const char head[] = "dm-mod.create=\"mvm-root,,,ro,", tail[] = "\" root=/dev/dm-0";
	char line[512], table[512], *words[16], *save = NULL;
	uint64_t sectors, blocks, start;
	int n = verity_cmdline(v, DEV, line, sizeof line), nw = 0;
	size_t hl = sizeof head - 1, tl = sizeof tail - 1, len;

	if (n < 0 || (size_t)n >= sizeof line || strlen(line) != (size_t)n)
		abort();   /* does not fit the 512 bytes verity.h promises */
	len = (size_t)n;
	if (len < hl + tl || memcmp(line, head, hl) || memcmp(line + len - tl, tail, tl))
		abort();
	/* the table between: no quote, comma, tab or newline; single spaces */
	memcpy(table, line + hl, len - hl - tl);
	table[len - hl - tl] = 0;
	if (strpbrk(table, "\",\t\n\r\\") || strstr(table, "  ") || table[0] == ' ' ||
	    table[strlen(table) - 1] == ' ')
		abort();
	for (char *w = strtok_r(table, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		if (nw == 16)
			abort();
		words[nw++] = w;
	}
	if (nw != 13 || strcmp(words[0], "0") || !dec(words[1], &sectors) ||
	    strcmp(words[2], "verity") || strcmp(words[3], "1") || strcmp(words[4], DEV) ||
	    strcmp(words[5], DEV) || strcmp(words[6], "4096") || strcmp(words[7], "4096") ||
	    !dec(words[8], &blocks) || !dec(words[9], &start) || strcmp(words[10], "sha256") ||
	    strcmp(words[11], v->root_hash) || strcmp(words[12], v->salt))
		abort();
	if (blocks != v->data_blocks || start != v->hash_start_block || sectors != blocks * 8)
		abort();
	/* exactly two quotes and four commas in the whole line */
	int q = 0, c = 0;
	for (size_t i = 0; i < len; i++)
		q += line[i] == '"', c += line[i] == ',';
	if (q != 2 || c != 4)
		abort();
}

/* Every property of an accepted verity v. */
static void check(const struct verity *v)
{
	struct buf b = BUF_INIT, canon = BUF_INIT;
	struct merr e = { 0 };
	struct jdoc *d;
	struct verity back;

	if (!is_hex64(v->root_hash) || !is_hex64(v->salt) || v->data_blocks < 1 ||
	    v->data_blocks > VERITY_BLOCKS_MAX || v->hash_start_block != v->data_blocks)
		abort();
	check_cmdline(v);
	verity_put(&b, v);
	if (b.err || json_canonicalize(b.p, b.len, NULL, &canon, &e) != 0 || canon.len != b.len ||
	    memcmp(canon.p, b.p, b.len))
		abort();   /* not its own canonical form */
	if (!(d = json_parse(b.p, b.len, NULL, &e)) || verity_parse(d, json_root(d), &back) != 0 ||
	    memcmp(&back, v, sizeof back))
		abort();   /* does not read back the same */
	json_free(d);
	buf_free(&b);
	buf_free(&canon);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct merr e = { 0 };
	struct verity v;
	struct jdoc *d;
	int present = -1;
	int rc = verity_from_meta((const char *)data, size, &v, &present, &e);

	if (rc != 0 && rc != EX_NO)
		abort();
	if (rc != 0 && (e.code != rc || !e.msg[0] || present != 0))
		abort();   /* a refusal says why, and names no verity */
	if (rc == 0 && present != 0 && present != 1)
		abort();
	if (rc == 0 && present)
		check(&v);

	/* verity_parse on the root itself (a config drive's verity object) */
	if ((d = json_parse((const char *)data, size, NULL, &e))) {
		if (verity_parse(d, json_root(d), &v) == 0)
			check(&v);
		json_free(d);
	}
	return 0;
}
