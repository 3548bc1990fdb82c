/* ir.h — the Workload IR: validation, normalization, data files */
#ifndef MVM_IR_H
#define MVM_IR_H

#include <stddef.h>
#include "buf.h"
#include "err.h"
#include "json.h"

/* The schema_version this library implements: major 0, minor up to 1. */
#define IR_MAJOR 0
#define IR_MINOR 1

/* A list of strings read from a data file (schemas/NAME.txt). */
struct strlist {
	char **v;
	size_t n;
};

/*
 * Read a list file: one entry a line, surrounding blanks trimmed, blank
 * lines and lines starting with '#' ignored.  0, or EX_SYS with e set
 * (e->msg names the path).
 */
int strlist_load(const char *path, struct strlist *l, struct merr *e);
int strlist_has(const struct strlist *l, const char *s, size_t n);
void strlist_free(struct strlist *l);

/*
 * Find the directory holding the data files: $MVM_SCHEMAS if set, else
 * <dir of the running executable>/../schemas (a checkout), else
 * <dir of the running executable>/../share/mvm/schemas (installed).
 * Writes it to out (size n).  0, or EX_SYS when none exists.
 */
int ir_schemas_dir(char *out, size_t n, struct merr *e);

/* One validation error: an E_... code, a JSON Pointer into the IR ("" is
 * the whole document) and a sentence. */
struct ir_error {
	const char *code;
	char *pointer;
	char *detail;
};

struct ir_errors {
	struct ir_error *v;
	size_t n, cap;
};

void ir_errors_free(struct ir_errors *l);

struct ir_config {
	const struct strlist *languages;      /* supported_languages.txt */
	const struct strlist *secret_tokens;  /* secret_field_tokens.txt */
	/* Lockfiles are looked up at base_dir/<source.path>/<lockfile>;
	 * NULL skips the lockfile checks. */
	const char *base_dir;
};

/*
 * Validate a parsed IR.  Every error found is appended to out, in rule
 * order (structure first, then the semantic rules, then lockfiles).
 * Returns 0 (valid when out->n == 0), or EX_SYS with e set when a
 * lockfile could not be read for a reason other than its absence, or
 * memory ran out.
 */
int ir_validate(const struct jdoc *d, const struct ir_config *c, struct ir_errors *out,
	struct merr *e);

/*
 * The primary function entrypoint of app (an App object of the IR): the
 * one marked "primary": true; or, when the app has exactly one function
 * entrypoint, that one, marked or not (a lone function is its own
 * primary).  JREF_NONE when there is no function entrypoint, several and
 * none marked, or several marked (ir_validate reports the last two as
 * E_NO_PRIMARY_ENTRYPOINT and E_MULTIPLE_PRIMARY_ENTRYPOINTS).
 */
jref ir_primary(const struct jdoc *d, jref app);

/*
 * The normalized IR of a valid document (ir_validate found nothing), as
 * RFC 8785 canonical bytes: defaults omitted where the model omits them,
 * written where it always writes them.  Appends to out.  0, or EX_SYS.
 */
int ir_normalize(const struct jdoc *d, struct buf *out, struct merr *e);

/* What ir-validate and ir-lower start from: the IR's bytes, parsed; the
 * data files loaded; the directory lockfiles resolve against. */
struct ir_input {
	struct buf text;                    /* the file's bytes */
	struct jdoc *doc;                   /* text, parsed */
	struct strlist languages, secret_tokens;
	struct ir_config cfg;               /* points into this struct */
	char *base;                         /* cfg.base_dir's storage */
};

/*
 * Read and parse the IR in file (NULL: standard input), load the data
 * files from ir_schemas_dir(), and fill in->cfg: base_dir is dir when not
 * NULL, else file's directory ("." for standard input); NULL (no lockfile
 * checks) when lockfiles is 0.  in need not be initialized.
 *
 *   returns  meaning                                   e->code
 *   0        loaded: free with ir_input_free           -
 *   1        the IR: unreadable or malformed JSON      EX_SYS, EX_DATA
 *            (name file in the message)
 *   2        the data files: not found or unreadable   EX_SYS
 * On 1 and 2 nothing is left to free.
 */
int ir_config_load(struct ir_input *in, const char *file, const char *dir, int lockfiles,
	struct merr *e);
void ir_input_free(struct ir_input *in);

/*
 * The errors as the tools print them, one a line:
 *   prog: file: CODE at /json/pointer: detail
 * ("file: " left out when file is NULL, "(root)" for the empty pointer,
 * control bytes in the pointer and the detail shown as '?').  Appends to
 * out; out->err on allocation failure.
 */
void ir_errors_text(struct buf *out, const char *prog, const char *file,
	const struct ir_errors *l);

#endif
