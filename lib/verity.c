/* verity.c — the dm-verity root of an image (verity.h) */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "enc.h"
#include "json.h"
#include "verity.h"

/* The type of member key of o, J_NULL when there is none. */
static enum jtype type_of(const struct jdoc *d, jref o, const char *key, jref *x)
{
	*x = json_get(d, o, key);
	return *x == JREF_NONE ? J_NULL : json_type(d, *x);
}

static int hex64(const struct jdoc *d, jref o, const char *key, char out[65])
{
	size_t n = 0;
	jref x;
	const char *s = type_of(d, o, key, &x) == J_STR ? json_str(d, x, &n) : NULL;

	if (!s || n != 64 || strspn(s, "0123456789abcdef") < 64)
		return -1;
	memcpy(out, s, 64);
	out[64] = 0;
	return 0;
}

static int num_eq(const struct jdoc *d, jref o, const char *key, double want)
{
	jref x;

	return type_of(d, o, key, &x) == J_NUM && json_num(d, x) == want;
}

int verity_parse(const struct jdoc *d, jref o, struct verity *v)
{
	jref x;
	double blocks;

	memset(v, 0, sizeof *v);
	if (o == JREF_NONE || json_type(d, o) != J_OBJ)
		return -1;
	blocks = type_of(d, o, "data_blocks", &x) == J_NUM ? json_num(d, x) : -1;
	if (hex64(d, o, "root_hash", v->root_hash) ||
	    hex64(d, o, "salt", v->salt) || !json_str_eq(d, json_get(d, o, "hash"), "sha256") ||
	    !num_eq(d, o, "data_block_size", VERITY_BLOCK) ||
	    !num_eq(d, o, "hash_block_size", VERITY_BLOCK) ||
	    !(blocks >= 1 && blocks <= (double)VERITY_BLOCKS_MAX && blocks == (double)(uint64_t)blocks) ||
	    !num_eq(d, o, "hash_start_block", blocks))
		return -1;
	v->data_blocks = v->hash_start_block = (uint64_t)blocks;
	return 0;
}

int verity_from_meta(const char *meta, size_t len, struct verity *v, int *present,
	struct merr *e)
{
	struct jdoc *d = json_parse(meta, len, NULL, e);
	jref o;
	int rc = EX_NO;

	memset(v, 0, sizeof *v);
	*present = 0;
	if (!d)
		return merr_set(e, EX_NO, NULL, "mvm-meta.json is not JSON");
	if (json_type(d, json_root(d)) != J_OBJ) {
		merr_set(e, EX_NO, NULL, "mvm-meta.json is not an object");
		goto out;
	}
	if (type_of(d, json_root(d), "verity", &o) == J_NULL) {
		rc = 0;
		goto out;
	}
	if (verity_parse(d, o, v) != 0) {
		merr_set(e, EX_NO, "/verity", "mvm-meta.json: verity is not a SHA-256 tree of 4096-byte "
			"blocks appended to the data (mvm-meta(5))");
		goto out;
	}
	*present = 1;
	rc = 0;
out:
	json_free(d);
	return rc;
}

int verity_check(const char *rootfs, const struct verity *v, struct merr *e)
{
	unsigned char blk[VERITY_BLOCK + 32], salt[32];
	char got[65];
	struct stat st;
	ssize_t n;
	int fd = open(rootfs, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return merr_sys(e, rootfs);
	if (fstat(fd, &st) != 0) {
		close(fd);
		return merr_sys(e, rootfs);
	}
	if ((uint64_t)st.st_size < (v->hash_start_block + 1) * VERITY_BLOCK) {
		close(fd);
		return merr_set(e, EX_NO, NULL, "%s: %jd bytes, too short for %" PRIu64
			" data blocks and their hash tree", rootfs, (intmax_t)st.st_size,
			v->data_blocks);
	}
	hex_decode(salt, sizeof salt, v->salt, 64);
	memcpy(blk, salt, 32);
	n = pread(fd, blk + 32, VERITY_BLOCK, (off_t)(v->hash_start_block * VERITY_BLOCK));
	close(fd);
	if (n != (ssize_t)VERITY_BLOCK)
		return n < 0 ? merr_sys(e, rootfs) :
			merr_set(e, EX_SYS, NULL, "%s: short read", rootfs);
	sha256_hex(got, blk, sizeof blk);
	if (strcmp(got, v->root_hash) != 0)
		return merr_set(e, EX_NO, NULL, "%s: the top of its hash tree hashes to %s, the "
			"image's mvm-meta.json names verity root %s", rootfs, got, v->root_hash);
	return 0;
}

int verity_cmdline(const struct verity *v, const char *dev, char *out, size_t n)
{
	return snprintf(out, n, "dm-mod.create=\"mvm-root,,,ro,0 %" PRIu64 " verity 1 %s %s %u %u %"
		PRIu64 " %" PRIu64 " sha256 %s %s\" root=/dev/dm-0", v->data_blocks * 8, dev, dev,
		VERITY_BLOCK, VERITY_BLOCK, v->data_blocks, v->hash_start_block, v->root_hash,
		v->salt);
}

void verity_put(struct buf *b, const struct verity *v)
{
	buf_printf(b, "{\"data_block_size\":%u,\"data_blocks\":%" PRIu64 ",\"hash\":\"sha256\","
		"\"hash_block_size\":%u,\"hash_start_block\":%" PRIu64 ",\"root_hash\":\"%s\","
		"\"salt\":\"%s\"}", VERITY_BLOCK, v->data_blocks, VERITY_BLOCK, v->hash_start_block,
		v->root_hash, v->salt);
}
