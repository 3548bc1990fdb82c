/* verity.h — the dm-verity root an image's mvm-meta.json describes
 * (mvm-meta(5) "verity"): the hash tree appended to rootfs.ext4 after its
 * data blocks, no verity superblock, SHA-256, 4096-byte blocks, format
 * version 1 (each hash is SHA-256(salt || block)).  Admission checks the
 * top of the tree against the root hash; the guest's kernel checks every
 * block it reads (dm-mod.create= on its command line), so the file system
 * itself is never hashed on the host.  Nothing here prints or exits. */
#ifndef MVM_VERITY_H
#define MVM_VERITY_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "err.h"
#include "json.h"

#define VERITY_BLOCK 4096u
/* data_blocks at most 2^40 (4 PiB): the sector count (blocks * 8) and the
 * byte offsets stay far below 2^63. */
#define VERITY_BLOCKS_MAX (1ull << 40)

struct verity {
	char root_hash[65], salt[65];       /* lowercase hex, 64 digits each */
	uint64_t data_blocks;               /* of VERITY_BLOCK bytes */
	uint64_t hash_start_block;          /* == data_blocks (appended tree) */
};

/*
 * Read the "verity" member of mvm-meta.json's bytes into *v and set
 * *present (0: an image without verity, whose root is hashed whole).
 * Returns 0, or EX_NO when it is present but not the one layout above (e
 * says so, at /verity) or meta is not a JSON object (EX_NO, not EX_DATA:
 * the meta's digest was checked, so its bytes are what the plan names).
 */
int verity_from_meta(const char *meta, size_t len, struct verity *v, int *present,
	struct merr *e);

/* The verity object o of the parsed document d (the layout above: the
 * root's "verity", a config drive's /launch/drives/N/verity) into *v.
 * 0, or -1 when o is not that layout (or is JREF_NONE). */
int verity_parse(const struct jdoc *d, jref o, struct verity *v);

/* v as the object verity_parse reads (mvm-meta(5) "verity": root_hash,
 * salt, hash, the block sizes, data_blocks, hash_start_block), canonical
 * (RFC 8785 member order), no newline, appended to b. */
void verity_put(struct buf *b, const struct verity *v);

/* The file rootfs against v: large enough for its data and the top hash
 * block, and SHA-256(salt || the top hash block) is the root hash.  A
 * changed data block is not found here (the guest finds it on reading).
 * 0, EX_NO (e says what does not match), or EX_SYS (cannot read it). */
int verity_check(const char *rootfs, const struct verity *v, struct merr *e);

/* The kernel arguments that make dev (e.g. /dev/vda) the verified root,
 * /dev/dm-0, read-only: dm-mod.create="mvm-root,,,ro,0 SECTORS verity 1
 * DEV DEV 4096 4096 BLOCKS START sha256 ROOT SALT" root=/dev/dm-0.  The
 * length of what is written (truncated when it does not fit n bytes, as
 * snprintf; 512 bytes always suffice). */
int verity_cmdline(const struct verity *v, const char *dev, char *out, size_t n);

#endif
