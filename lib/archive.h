/* archive.h — unpack an npm tarball or a Python wheel into a directory,
 * regular files and directories only.
 *
 * Why ours and not tar(1)/unzip(1)/python's zipfile: the archives are
 * hostile bytes, and what they may put on the deps volume is narrower than
 * what those tools do by default.  Only regular files and directories are
 * created (npm's own extractor, pacote, also keeps only those); symlinks,
 * hard links, devices and FIFOs are skipped; a name that is absolute, has a
 * ".." or empty component, or a byte < 0x20 is refused; modes are 0644, or
 * 0755 when any execute bit is set; owners and times are not taken from
 * the archive.  Nothing of the archive is run.
 *
 * Limits (refused beyond, so a small archive cannot fill the disk): at
 * most ARCHIVE_MAX_FILES entries and ARCHIVE_MAX_BYTES unpacked bytes per
 * archive; a name at most 4095 bytes; a deflated wheel entry that claims
 * more than 1032 times its compressed size plus 1 KiB (more than deflate
 * can expand to) is refused before anything is made for it; a tar's
 * pax 'x' or GNU 'L' entry (read whole: the name is in it) of more than
 * 1 MiB is refused.  A tar's other entries, and a wheel's (the wheel
 * itself is read whole), are written out 64 KiB at a time, never held
 * whole in memory; a wheel entry's size and CRC-32 are checked as it is
 * written (one byte beyond its declared size is refused unwritten).
 *
 * Return codes: 0; EX_DATA with e set (malformed or refused archive, the
 * message names the entry); EX_SYS with e set (I/O).  On an error dir may
 * hold part of the archive, a file cut short included: the caller unpacks
 * into a directory of its own and removes it (mvm-deps: its stage's tree).
 */
#ifndef MVM_ARCHIVE_H
#define MVM_ARCHIVE_H

#include "err.h"

#define ARCHIVE_MAX_FILES 100000
#define ARCHIVE_MAX_BYTES (1024ull * 1024 * 1024)

/*
 * A gzip-compressed tar (ustar, with pax 'x' and GNU 'L' long names) into
 * dir, without the first component of each name (npm's "package/").
 */
int untar_npm(const char *tgz, const char *dir, struct merr *e);

/*
 * A wheel (zip, stored or deflated; each entry's CRC-32 checked) into dir;
 * entries under NAME.data/purelib/ and NAME.data/platlib/ go to dir itself,
 * other NAME.data/ entries (scripts, headers, data) are skipped.
 */
int unzip_wheel(const char *whl, const char *dir, struct merr *e);

#endif
