/* runstate.h — the run state directories of VMs (vm-boot(1) FILES): what
 * vm-boot writes there and a porcelain reads, and the facts of a Workload
 * IR a porcelain acts on.
 *
 * Every VM, however started (mvmctl up, mk/mvm.mk, vm-boot -S by hand),
 * has one directory RUN_ROOT/<id>/; it is running if and only if its pid
 * file names a live process.  Nothing here prints or exits.
 */
#ifndef MVM_RUNSTATE_H
#define MVM_RUNSTATE_H

#include <dirent.h>
#include <stddef.h>
#include <sys/types.h>
#include "err.h"
#include "json.h"

/* Generated state of a project, relative to its directory. */
#define MVM_DIR ".mvm"
#define RUN_ROOT MVM_DIR "/run"
/* The IR a porcelain records beside a VM it started (vm-boot(1) FILES). */
#define RUN_IR "workload-ir.json"
/* The project's IR (mvm-emit's default output). */
#define MVM_IR MVM_DIR "/workload-ir.json"

/* A VM id is usable as one directory name: 1 to RUN_ID_MAX bytes, no '/'
 * or NUL, not starting with '.'.  1 if s[0..n) is one. */
#define RUN_ID_MAX 64u
int run_id_ok(const char *s, size_t n);

/* "RUN_ROOT/<id>" into out (size n).  0, or EX_USAGE when id is not a VM
 * id (e says so). */
int run_dir(const char *id, char *out, size_t n, struct merr *e);

/*
 * vm-boot's side.  Make the state directory statedir (NULL:
 * RUN_ROOT/<the first 16 hex digits of plan_id>, plan_id being
 * "sha256:<hex>"; mode 0700), set vm's paths from its absolute name
 * (vmm_paths), and record what runs there with run_file: plan.json
 * (planjs[0..planlen), the admitted plan), image (vm->image and a
 * newline), vmm (vmm_name and a newline) and, for Firecracker,
 * firecracker.json (vmm_firecracker_config).  Returns 0, or
 *   EX_USAGE  the absolute path is too long for the VM's sockets;
 *   EX_SYS    the directory or a file could not be made (e names it).
 */
struct vmm;
int run_state_open(struct vmm *vm, const char *statedir, const char *plan_id,
	const void *planjs, size_t planlen, struct merr *e);

/* Write dir/name holding text[0..n), mode 0600 (write_atomic: temp file,
 * fsync, rename).  0, or EX_SYS with e->msg starting "dir/name: ". */
int run_file(const char *dir, const char *name, const void *text, size_t n, struct merr *e);

/* Stop the supervisor pid: SIGTERM, then up to RUN_STOP_SECS for it to
 * end (vm-boot stops its guest first), then SIGKILL.  0 it stopped, 1 it
 * was killed. */
#define RUN_STOP_SECS 10
int run_stop(pid_t pid);

/* The supervisor's pid from dir/pid if that process is alive, else 0 (no
 * file, not a number, or a process that is gone). */
pid_t run_pid(const char *dir);

/* The running VMs, from d (RUN_ROOT, opened): the next entry whose name is
 * a VM id and whose pid file names a live process, in readdir order, with
 * RUN_ROOT/<name> into dir (size n) and its name through *id (valid until
 * the next call).  Its pid, or 0 when there is none left. */
pid_t run_next(DIR *d, char *dir, size_t n, const char **id);

/*
 * The wire format of a call to the VM in dir whose vsock-call(1) arguments
 * are argv[0..argc): from the IR recorded beside it (dir/RUN_IR), else the
 * project's (MVM_IR), whose path goes into ir (size n): ir_format's, or,
 * when the arguments name a function, that function's when it has one
 * (ir_function_format).  The function is the first word that is neither
 * an option nor the argument of one of vsock-call's -s -f -t -e --input
 * --input-json --json, or the word after "--".  Returns
 *   0        fmt holds "json" or "msgpack";
 *   1        neither IR is there (fmt untouched: vsock-call's default);
 *   EX_DATA  the IR is not JSON, or has no such format (e says where);
 *   EX_SYS   the IR could not be read.
 */
int run_call_format(const char *dir, int argc, char *const *argv, char fmt[8], char *ir,
	size_t n, struct merr *e);

/* The IR's "id" into out (size n): 0, or EX_DATA when it has none usable
 * as a VM id (where = "/id"). */
int ir_id(const struct jdoc *d, char *out, size_t n, struct merr *e);

/* The wire format of the workload's function, "json" or "msgpack", into
 * out: the format of apps[0]'s primary function entrypoint (ir_primary in
 * ir.h: the one marked, or a lone function).  0, or EX_DATA when there is
 * no such entrypoint or its format is neither (where = the JSON Pointer). */
int ir_format(const struct jdoc *d, char out[8], struct merr *e);

/* The format ("json" or "msgpack") of apps[0]'s function entrypoint named
 * name into out, when it has one with either format; else out is left as
 * it is (a call by a name the image does not have is the agent's to
 * refuse: unknown_function).  The last such entrypoint wins. */
void ir_function_format(const struct jdoc *d, const char *name, char out[8]);

#endif
