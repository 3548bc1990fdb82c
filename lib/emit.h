/* emit.h — what mvm-emit(1) runs a workload declaration with: which SDK
 * a declaration is for, where that SDK, its interpreter and ir-validate
 * are, and a child process run under the emit contract.
 *
 * The contract itself (MVM_EMITTING=1, MVM_IR_OUT, the SDKs' exit
 * statuses) is mvm-emit(1)'s; this file only finds and runs.  Nothing
 * here prints or exits; paths returned are malloc'd (free them).
 */
#ifndef MVM_EMIT_H
#define MVM_EMIT_H

enum emit_sdk { EMIT_PYTHON, EMIT_NODE, EMIT_RUST };
/* By enum emit_sdk: "python", "typescript", "rust". */
extern const char *const emit_sdk_name[];

#define EMIT_UNKNOWN -1   /* entry's name names no SDK */
#define EMIT_BADLANG -2   /* lang is none of the names below */

/*
 * The SDK of a declaration.  lang, when not NULL, decides: python|py,
 * typescript|ts|node|javascript|js, rust|rs, else EMIT_BADLANG.  Else
 * entry's name: NULL (standard input) and *.py are Python; *.ts, *.mts,
 * *.js, *.mjs TypeScript; Cargo.toml, a path ending in /Cargo.toml or
 * a directory Rust; anything else EMIT_UNKNOWN.
 */
int emit_sdk_of(const char *entry, const char *lang);
/* How to install sdk's interpreter (one line, no newline). */
const char *emit_install_hint(int sdk);

/* stat(2) tests: a directory; a regular file; a regular file we may
 * execute.  0 when the path cannot be stat'ed. */
int emit_is_dir(const char *p);
int emit_is_file(const char *p);
int emit_is_exe(const char *p);
/* prog itself when it has a slash, else the first executable on $PATH
 * (default /usr/bin:/bin; an empty element is "."); NULL if none. */
char *emit_which(const char *prog);

/* bindir: the directory of the running tool (tool_bindir), or NULL when
 * it is not known. */
/* The SDK directory: $MVM_SDK_DIR, else bindir/../sdk (a checkout), else
 * bindir/../share/mvm/sdk (installed), as a real path; NULL if none. */
char *emit_sdk_dir(const char *bindir);
/* ir-validate: $MVM_IR_VALIDATE ("" = none: NULL) looked up as
 * emit_which does, else bindir/ir-validate, else on $PATH. */
char *emit_validator(const char *bindir);

/* A child: argv (argv[0] a path, NULL-terminated), working directory
 * (NULL: ours), and up to 12 NAME=VALUE set in its environment. */
struct emit_child {
	const char *argv[8];
	const char *cwd;
	char *env[12];
	int nenv;
};
/* Add NAME=VALUE to c's environment: 0, or -1 when out of memory. */
int emit_setenv(struct emit_child *c, const char *name, const char *val);
/*
 * Run c with standard input from in_fd (-1: /dev/null) and standard
 * output to out_fd (-1: our standard error, so that what the declaration
 * prints does not mix with the IR), and wait for it.  Returns its exit
 * status, 128+signal when a signal ended it, or -1 with errno set when it
 * could not be started (pipe, fork, the file descriptors, chdir, execv).
 */
int emit_run(const struct emit_child *c, int in_fd, int out_fd);

#endif
