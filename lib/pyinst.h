/* pyinst.h — between the Python lockfile readers (pyreq.c: pip-tools
 * requirements.txt; depsuv.c: uv.lock) and the wheel installer
 * (depspy.c): what is to be installed, as name==version and the SHA-256s
 * any of which its wheel may have. */
#ifndef MVM_PYINST_H
#define MVM_PYINST_H

#include "buf.h"
#include "deps.h"
#include "pyenv.h"

enum { PY_HASHES_MAX = 16 };

struct py_req {
	char name[128], nm[128], ver[64];  /* nm: PEP 503 normalized */
	char hashes[PY_HASHES_MAX][65];    /* lowercase hex */
	int nh;
	char *urls;        /* uv.lock: its own URLs of the wheels that fit, "\n"-separated, or NULL */
	char misfit[200];  /* uv.lock: a locked wheel that does not fit the target, or "" */
	int sdist;         /* uv.lock: an sdist is locked */
};

/* PEP 503 normalized name: lowercase, runs of -_. as one '-'. */
void py_norm(const char *s, size_t n, char *out, size_t on);

/* The target of x (x->python, else PY_DEFAULT).  0 or EX_NO. */
int py_target_of(const struct deps_run *x, struct py_target *t, struct merr *e);

/*
 * Fetch (through the pip configuration: find-links, index, no-index; for
 * uv.lock, when no index is configured, the lock's own URLs), verify
 * against the hashes, and unpack into x->tree/site-packages every request,
 * in order; nothing is fetched for a request before the one before it is
 * installed.  Returns 0, EX_NO (integrity: naming the package; only an
 * sdist; no wheel for the target, naming what did not fit), EX_DATA
 * (a malformed wheel), EX_SYS.
 */
int py_install(struct deps_run *x, struct py_req *reqs, size_t nr, struct merr *e);

/*
 * A pip-compile requirements.txt's bytes b[0..n) (pyreq.c), named file in
 * messages, read for target t: every line understood, a line whose
 * marker is false for t skipped, before anything is fetched.  0 with
 * *reqs (malloc'd, *nreqs of them, in the file's order), or EX_NO (not
 * installable as written: an editable, an include, a direct reference,
 * not pinned with ==, no --hash=sha256:, a marker that cannot be
 * evaluated for t) / EX_DATA (a malformed marker, a name that is not
 * PEP 508's, a version of other characters than PEP 440's, a NUL byte) /
 * EX_SYS, with e's
 * where "FILE:LINE:COL" (1-based, of the physical line) and *reqs NULL.
 */
int pyreq_parse(const char *b, size_t n, const char *file, const struct py_target *t,
	struct py_req **reqs, size_t *nreqs, struct merr *e);

/* uv.lock (depsuv.c). */
int deps_uv(struct deps_run *x, const char *lockpath, struct merr *e);

#endif
