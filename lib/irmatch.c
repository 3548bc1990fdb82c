/* irmatch.c — what the semantic rules recognise in strings: secret-shaped
 * names, commands that run a shell, wildcard egress hosts (ir_int.h). */
#include <string.h>
#include "ir_int.h"

/* ASCII lowercase, '-' as '_'. */
static char fold(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (char)(ch + 32) : ch == '-' ? '_' : ch;
}

static int folded_eq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fold(a[i]) != fold(b[i]))
			return 0;
	return 1;
}

/* Secret-shaped names (secret_field_tokens.txt): compared in ASCII
 * lowercase with '-' as '_', equal to a token or ending in _token. */
int ir_secret_name(const struct strlist *tok, const char *s, size_t n)
{
	for (size_t i = 0; tok && i < tok->n; i++) {
		size_t tn = strlen(tok->v[i]);
		if (tn == n && folded_eq(s, tok->v[i], n))
			return 1;
		if (n > tn && folded_eq(s + n - tn, tok->v[i], tn) && fold(s[n - tn - 1]) == '_')
			return 1;
	}
	return 0;
}

/* Shell launchers: argv[0]'s basename is a shell, or env/busybox runs one. */
static int shell_name(const char *s, size_t n)
{
	static const char *const shells[] = { "sh", "bash", "dash", "ash", "hush", "zsh", "ksh",
		"ksh93", "mksh", "pdksh", "oksh", "yash", "csh", "tcsh", "fish", "rbash", "posh",
		NULL };
	const char *b = s;

	for (size_t i = 0; i < n; i++)
		if (s[i] == '/')
			b = s + i + 1;
	n -= (size_t)(b - s);
	for (const char *const *p = shells; *p; p++)
		if (strlen(*p) == n && memcmp(*p, b, n) == 0)
			return 1;
	return 0;
}

static int base_is(const char *s, size_t n, const char *name)
{
	const char *b = s;

	for (size_t i = 0; i < n; i++)
		if (s[i] == '/')
			b = s + i + 1;
	n -= (size_t)(b - s);
	return strlen(name) == n && memcmp(name, b, n) == 0;
}

/* The first word of an env -S string. */
static int split_string_shell(const char *s, size_t n)
{
	size_t i = 0, j;

	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	for (j = i; j < n && s[j] != ' ' && s[j] != '\t'; j++)
		;
	return shell_name(s + i, j - i) || base_is(s + i, j - i, "busybox");
}

int ir_argv_shell(const struct jdoc *d, jref argv)
{
	const char *a[64];
	size_t an[64], n = 0, i = 0;

	for (jref x = json_first(d, argv); x != JREF_NONE && n < 64; x = json_next(d, x)) {
		a[n] = sget(d, x, &an[n]);
		if (!a[n])
			return 0;
		n++;
	}
	while (i < n) {
		if (base_is(a[i], an[i], "env")) {
			for (i++; i < n; i++) {
				const char *s = a[i];
				size_t sn = an[i];
				if (sn == 2 && memcmp(s, "--", 2) == 0) {
					i++;
					break;
				}
				if (sn >= 2 && s[0] == '-') {
					if ((sn == 2 && s[1] == 'S') || (sn == 14 && memcmp(s, "--split-string", 14) == 0))
						return i + 1 < n && split_string_shell(a[i + 1], an[i + 1]);
					if (s[1] == 'S')
						return split_string_shell(s + 2, sn - 2);
					if (sn > 15 && memcmp(s, "--split-string=", 15) == 0)
						return split_string_shell(s + 15, sn - 15);
					if ((sn == 2 && (s[1] == 'u' || s[1] == 'C')) ||
					    (sn == 7 && memcmp(s, "--unset", 7) == 0) ||
					    (sn == 7 && memcmp(s, "--chdir", 7) == 0))
						i++;
					continue;
				}
				if (memchr(s, '=', sn))
					continue;
				break;
			}
			continue;
		}
		if (base_is(a[i], an[i], "busybox")) {
			i++;
			continue;
		}
		return shell_name(a[i], an[i]);
	}
	return 0;
}

/* Wildcard egress hosts. */
int ir_wildcard_host(const char *s, size_t n)
{
	static const char *const any[] = { "*", "0.0.0.0", "::", "[::]", "0.0.0.0/0", "::/0", NULL };

	while (n && (s[0] == ' ' || s[0] == '\t')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n == 0)
		return 1;
	for (const char *const *p = any; *p; p++)
		if (strlen(*p) == n && memcmp(*p, s, n) == 0)
			return 1;
	if (n >= 2 && s[n - 2] == '/' && s[n - 1] == '0')
		return 1;   /* any /0 prefix */
	if (n >= 2 && s[0] == '*' && s[1] == '.') {
		if (!memchr(s + 2, '.', n - 2))
			return 1;   /* a single-label wildcard: *.com */
		if (memchr(s + 1, '*', n - 1))
			return 1;
		return 0;
	}
	return memchr(s, '*', n) != NULL;   /* only a leading "*." is a pattern */
}
