/* depsverity.c — the deps volume's dm-verity tree (deps.h deps_verity):
 * libexec/mvm-verity-format appends it, as it does the root's and the
 * config drives' (one tree builder); this reads back its one line. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "deps.h"
#include "io.h"

int deps_verity(const char *prog, const char *img, const char *work, struct verity *v,
	struct merr *e)
{
	char outf[4200], errf[4200], root[65], salt[65], end;
	const char *argv[] = { prog, img, NULL };
	unsigned long long blocks;
	struct buf b = BUF_INIT;
	int st, ok;

	memset(v, 0, sizeof *v);
	snprintf(outf, sizeof outf, "%s/verity.out", work);
	snprintf(errf, sizeof errf, "%s/verity.err", work);
	if ((st = deps_cmd(argv, NULL, errf, outf)) != 0)
		return merr_set(e, EX_SYS, NULL, "%s %s failed (status %d; see %s)", prog, img, st,
			errf);
	if (read_file(outf, &b, e) != 0)
		return EX_SYS;
	ok = b.len > 0 && b.len < 200 && b.p[b.len - 1] == '\n';
	if (ok) {
		b.p[b.len - 1] = '\0';
		ok = sscanf(b.p, "%llu %64s %64s%c", &blocks, root, salt, &end) == 3 &&
			strlen(root) == 64 && strspn(root, "0123456789abcdef") == 64 &&
			strlen(salt) == 64 && strspn(salt, "0123456789abcdef") == 64 &&
			blocks >= 1 && blocks <= VERITY_BLOCKS_MAX;
	}
	buf_free(&b);
	if (!ok)
		return merr_set(e, EX_SYS, NULL, "%s %s: not \"DATA_BLOCKS ROOT_HASH SALT\" (see %s)",
			prog, img, outf);
	memcpy(v->root_hash, root, 65);
	memcpy(v->salt, salt, 65);
	v->data_blocks = v->hash_start_block = blocks;
	return 0;
}
