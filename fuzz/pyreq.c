/* fuzz/pyreq.c — libFuzzer harness for the pip-compile requirements.txt
 * reader (lib/pyreq.c: pyreq_parse, the first pass of mvm-deps' pip
 * installer).  The file is the project's, hostile bytes; what it accepts
 * names the index page fetched (INDEX/NAME/), the fetch log's JSON lines,
 * the SBOM's purl and the site-packages entry.  The first input byte picks
 * the target Python 3.(b % 20); the rest is the file.  Checks (pyinst.h):
 * no crash, leak or sanitizer report; a refusal is EX_NO, EX_DATA or
 * EX_SYS with a message and a where "requirements.txt:LINE:COL" inside
 * the file (LINE one of its lines, COL at most one past that line's end);
 * an accepted file has no NUL, and gives at most one request per line,
 * each with a PEP 508 name (letters, digits and "._-", starting and ending
 * with a letter or digit) whose normalized form is PEP 503's, a version of
 * PEP 440's characters ([A-Za-z0-9._!+-]), 1..PY_HASHES_MAX hashes of 64
 * lowercase hex digits, each found in the file after "sha256:". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pyinst.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

static int alnum(char c)
{
	return c && strchr(ALNUM, c);
}

static void check_where(const char *p, size_t n, const char *where)
{
	unsigned long line, col;
	char tail;
	size_t at = 0, len;

	if (sscanf(where, "requirements.txt:%lu:%lu%c", &line, &col, &tail) != 2 || line < 1 ||
	    col < 1)
		abort();
	for (unsigned long i = 1; i < line; i++) {
		const char *nl = memchr(p + at, '\n', n - at);
		if (!nl)
			abort();   /* past the last line */
		at = (size_t)(nl - p) + 1;
	}
	const char *nl = memchr(p + at, '\n', n - at);
	len = nl ? (size_t)(nl - p) - at : n - at;
	if (col > len + 1)
		abort();   /* past the line's end */
}

static void check_req(const char *p, size_t n, const struct py_req *r)
{
	size_t nl = strlen(r->name), vl = strlen(r->ver), ml = strlen(r->nm);
	char norm[128];

	if (!nl || nl >= sizeof r->name || !alnum(r->name[0]) || !alnum(r->name[nl - 1]) ||
	    strspn(r->name, ALNUM "._-") != nl)
		abort();   /* not a PEP 508 name */
	/* PEP 503: lowercase, each run of "-_." one "-" */
	size_t k = 0;
	for (size_t i = 0; i < nl && k + 1 < sizeof norm; i++) {
		char c = r->name[i];
		if (c == '-' || c == '_' || c == '.') {
			if (!k || norm[k - 1] != '-')
				norm[k++] = '-';
		} else {
			norm[k++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
		}
	}
	norm[k] = 0;
	if (ml != k || strcmp(norm, r->nm))
		abort();
	if (!vl || vl >= sizeof r->ver || strspn(r->ver, ALNUM "._!+-") != vl)
		abort();   /* not PEP 440's characters */
	if (r->nh < 1 || r->nh > PY_HASHES_MAX)
		abort();
	for (int i = 0; i < r->nh; i++) {
		char pat[72];
		if (strlen(r->hashes[i]) != 64 || strspn(r->hashes[i], "0123456789abcdef") != 64)
			abort();
		snprintf(pat, sizeof pat, "sha256:%s", r->hashes[i]);
		if (!memmem(p, n, pat, 71))
			abort();   /* a hash the file does not hold */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct py_target t = { 3, 0 };
	struct merr e = { 0 };
	struct py_req *reqs = (struct py_req *)1;
	size_t nr = 99, lines = 1;
	const char *p;
	size_t n;
	int rc;

	if (size < 1 || size > 8192)
		return 0;
	t.minor = data[0] % 20;
	p = (const char *)data + 1;
	n = size - 1;
	rc = pyreq_parse(p, n, "requirements.txt", &t, &reqs, &nr, &e);
	if (rc != 0) {
		if ((rc != EX_NO && rc != EX_DATA && rc != EX_SYS) || e.code != rc || !e.msg[0] ||
		    reqs || nr)
			abort();
		if (rc != EX_SYS)
			check_where(p, n, e.where);
		return 0;
	}
	if (memchr(p, 0, n))
		abort();   /* bytes after a NUL were never read */
	for (size_t i = 0; i < n; i++)
		lines += p[i] == '\n';
	if (nr > lines || (nr && !reqs))
		abort();
	for (size_t i = 0; i < nr; i++)
		check_req(p, n, &reqs[i]);
	free(reqs);
	return 0;
}
