/* pyenv.c — the target Python: wheel tags and PEP 508 markers (pyenv.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pyenv.h"

int py_target_parse(const char *s, struct py_target *t)
{
	const char *d = !strncmp(s, "cp3", 3) ? s + 3 : !strncmp(s, "3.", 2) ? s + 2 : NULL;
	size_t k = d ? strspn(d, "0123456789") : 0;

	if (!d || k == 0 || k > 2 || d[k] != '\0' || (k == 2 && d[0] == '0'))
		return EX_NO;
	t->major = 3;
	t->minor = atoi(d);
	return 0;
}

void py_target_name(const struct py_target *t, char *out, size_t n)
{
	snprintf(out, n, "cp%d%d-manylinux_%d_%d_%s", t->major, t->minor, PY_GLIBC_MAJOR,
		PY_GLIBC_MINOR, PY_MACHINE);
}

/* "py3", "py3N", "cp3N" into kind ('p', 'c') and N (-1: no N). */
static int pytag(const char *s, size_t n, char *kind, int *minor)
{
	if (n < 3 || (memcmp(s, "py", 2) && memcmp(s, "cp", 2)) || s[2] != '3')
		return 0;
	*kind = s[0] == 'p' ? 'p' : 'c';
	*minor = -1;
	if (n == 3)
		return *kind == 'p';
	if (n > 5 || s[3] < '0' || s[3] > '9' || (n == 5 && (s[4] < '0' || s[4] > '9')) ||
	    (n == 5 && s[3] == '0'))
		return 0;
	*minor = atoi((char[3]){ s[3], n == 5 ? s[4] : '\0', '\0' });
	return 1;
}

static int plat_fits(const char *t, size_t n)
{
	static const char *const ok[] = { "any", "linux_x86_64", "manylinux1_x86_64",
		"manylinux2010_x86_64", "manylinux2014_x86_64", NULL };
	char b[64], tail[64];
	int maj, min;

	for (const char *const *o = ok; *o; o++)
		if (n == strlen(*o) && !memcmp(t, *o, n))
			return 1;
	if (n >= sizeof b || n < 10 || memcmp(t, "manylinux_", 10))
		return 0;
	memcpy(b, t, n);
	b[n] = '\0';
	if (sscanf(b, "manylinux_%d_%d_%63s", &maj, &min, tail) != 3 || strcmp(tail, PY_MACHINE))
		return 0;
	return maj < PY_GLIBC_MAJOR || (maj == PY_GLIBC_MAJOR && min <= PY_GLIBC_MINOR);
}

/* Does one (python, abi, platform) triple fit? */
static int triple_fits(const struct py_target *t, const char *py, size_t pn, const char *abi,
	size_t an, const char *pl, size_t ln)
{
	char k, ka;
	int m, ma;

	if (!plat_fits(pl, ln) || !pytag(py, pn, &k, &m))
		return 0;
	if (an == 4 && !memcmp(abi, "none", 4))
		return (k == 'p' && m <= t->minor) || (k == 'c' && m == t->minor);
	if (an == 4 && !memcmp(abi, "abi3", 4))
		return k == 'c' && m >= 2 && m <= t->minor;
	return pytag(abi, an, &ka, &ma) && ka == 'c' && k == 'c' && ma == t->minor &&
	       m == t->minor;
}

int py_wheel_fits(const struct py_target *t, const char *fn)
{
	size_t n = strlen(fn);
	const char *f[3], *end = fn + n - 4, *p;
	size_t fl[3];
	int dashes = 0;

	if (n < 5 || strcmp(fn + n - 4, ".whl"))
		return -1;
	for (p = fn; p < end; p++)
		dashes += *p == '-';
	if (dashes != 4 && dashes != 5)
		return -1;
	p = end;
	for (int i = 2; i >= 0; i--) {
		const char *q = p;
		while (q > fn && q[-1] != '-')
			q--;
		f[i] = q;
		fl[i] = (size_t)(p - q);
		p = q - 1;
	}
	/* every member of the cartesian product of the three tag sets */
	for (const char *a = f[0]; a < f[0] + fl[0];) {
		size_t an = strcspn(a, ".-");
		for (const char *b = f[1]; b < f[1] + fl[1];) {
			size_t bn = strcspn(b, ".-");
			for (const char *c = f[2]; c < f[2] + fl[2];) {
				size_t cn = strcspn(c, ".");
				if (c + cn > f[2] + fl[2])
					cn = (size_t)(f[2] + fl[2] - c);
				if (triple_fits(t, a, an, b, bn, c, cn))
					return 1;
				c += cn + 1;
			}
			b += bn + 1;
		}
		a += an + 1;
	}
	return 0;
}
