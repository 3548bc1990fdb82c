/* io.h — reading whole inputs and writing files atomically */
#ifndef MVM_IO_H
#define MVM_IO_H

#include <stddef.h>
#include <sys/types.h>
#include "buf.h"
#include "err.h"

/* Read all of fd into b (appending).  0, or EX_SYS with e set. */
int read_fd(int fd, struct buf *b, struct merr *e);
/* Read a whole file; path "-" or NULL reads stdin.  0, or EX_SYS. */
int read_file(const char *path, struct buf *b, struct merr *e);
/* read_file, its message prefixed with "PATH: ". */
int read_file_named(const char *path, struct buf *b, struct merr *e);
/*
 * A whole input (path "-" or NULL: stdin), read into memory of its own:
 * never a mapping of the file, so what the caller checks is what it uses
 * however another process writes or truncates the file meanwhile (a
 * mapping would show those writes, and a truncation would end in
 * SIGBUS).  A regular file is read up to the size it had when opened
 * (less if it is truncated meanwhile), so what is appended to it during
 * the read (an audit log) is not.  Reading costs a copy, less here than faulting a mapping in
 * (bench/RESULTS.md, issue 18); large inputs get huge pages (buf.h).
 * in_open: 0 or EX_SYS with e set; in_close releases it.
 */
struct input {
	const char *p;
	size_t len;
	struct buf b;
};
int in_open(const char *path, struct input *in, struct merr *e);
/* The file in_open reads, open for reading: path, or stdin (0) when path
 * is NULL or "-"; -1 with e set (EX_SYS) if it cannot be opened. */
int in_fd(const char *path, struct merr *e);
void in_close(struct input *in);
/* write(2) until done, retrying on EINTR; 0 or -1 with errno. */
int write_all(int fd, const void *p, size_t n);
/*
 * Replace path with data: write a temporary file in the same directory,
 * fsync it, chmod mode, rename over path, fsync the directory.  On failure
 * nothing is left behind and path is untouched.  0, or EX_SYS.
 */
int write_atomic(const char *path, const void *data, size_t n, mode_t mode, struct merr *e);
/* fsync a directory, or the directory a path is in (its entry made durable);
 * 0 or -1 with errno. */
int fsync_dir(const char *dir);
int fsync_parent(const char *path);
/* mkdir -p with mode for the directories it creates.  0, or EX_SYS. */
int mkdir_p(const char *path, mode_t mode, struct merr *e);
/* Flush and close stdout, reporting a failed write: 0, or EX_SYS. */
int close_stdout(struct merr *e);

#endif
