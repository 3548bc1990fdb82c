/* pyenv.h — the Python a deps volume is installed for (mvm-deps(1)):
 * which wheels fit it (their file name tags) and what a PEP 508
 * environment marker says for it.
 *
 * The target is CPython X.Y on linux x86_64 with glibc 2.36 (Debian 12,
 * the Debian backend's image).  X.Y is the image's Python: mvm-deps -p,
 * which mvm-build-rootfs derives from the Debian package map's [python]
 * line (libpython3.Y-stdlib); PY_DEFAULT when not given.
 */
#ifndef MVM_PYENV_H
#define MVM_PYENV_H

#include <stddef.h>
#include "err.h"

#define PY_DEFAULT "3.11"
#define PY_GLIBC_MAJOR 2
#define PY_GLIBC_MINOR 36
#define PY_MACHINE "x86_64"

struct py_target {
	int major, minor;     /* 3, 11 */
};

/* Parse "X.Y" (X = 3, Y in 0..99; also "cp3Y") into t.  0 or EX_NO. */
int py_target_parse(const char *s, struct py_target *t);

/* The target as the deps key names it: "cp3Y-manylinux_2_36_x86_64"
 * (into out, size >= 40). */
void py_target_name(const struct py_target *t, char *out, size_t n);

/*
 * Does a wheel file name (PEP 427: name-ver(-build)?-py-abi-plat.whl, each
 * tag field a '.'-separated set) fit t?  Python: py3, py3Y or lower,
 * cp3Y (and cp3Z below Y with abi3); abi: none, abi3, cp3Y; platform: any,
 * linux_x86_64, manylinux1/2010/2014_x86_64, manylinux_2_M_x86_64 with
 * M <= 36.  1 yes, 0 no, -1 not a wheel file name.
 */
int py_wheel_fits(const struct py_target *t, const char *fn);

/*
 * Evaluate PEP 508 environment marker s[0..n) (what follows ';') for t:
 * python_version, python_full_version (X.Y only: "X.Y" == "X.Y.*"
 * compares; a patch level cannot be known and is refused),
 * sys_platform "linux", platform_system "Linux", os_name "posix",
 * platform_machine "x86_64", implementation_name "cpython",
 * platform_python_implementation "CPython"; and, or, parentheses; the
 * version operators of PEP 440 on plain release numbers (N(.N)*, with
 * ".*" after == and !=), ==/!= and in/not in on strings.
 * Returns 0 with *val 0 or 1; EX_DATA (malformed) or EX_NO (cannot be
 * evaluated for the target: extra, platform_release, a pre-release
 * version, an ordering of strings), with *at the byte offset in s of the
 * problem and e->msg saying what.
 */
int py_marker(const struct py_target *t, const char *s, size_t n, int *val, size_t *at,
	struct merr *e);

#endif
