/* depsfetch.c — many locked artifacts fetched at once (deps.h).
 *
 * Why curl(1) --parallel and not libcurl's multi interface linked in: the
 * fetches already go through curl(1) (deps_fetch), and its --parallel mode
 * is that same multi interface (connection reuse, HTTP/2 multiplexing)
 * behind a documented machine output (--write-out "%{exitcode}
 * %{response_code} %{filename_effective}"), with no new library to link
 * into every tool.  The URLs come from a lockfile and go to curl in a
 * config file (-K), so one that could break out of its quoted string (a
 * control byte) is refused before curl runs; quotes and backslashes are
 * escaped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "deps.h"
#include "io.h"
#include "json.h"

static int is_http(const char *u)
{
	return strncmp(u, "https://", 8) == 0 || strncmp(u, "http://", 7) == 0;
}

/* A quoted curl config string. */
static void quoted(struct buf *b, const char *s)
{
	buf_putc(b, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			buf_putc(b, '\\');
		buf_putc(b, *s);
	}
	buf_putc(b, '"');
}

static void log_line(struct buf *l, const char *what, const char *url, int ok)
{
	buf_puts(l, "{\"package\":");
	json_put_str(l, what, strlen(what));
	buf_puts(l, ",\"url\":");
	json_put_str(l, url, strlen(url));
	buf_printf(l, ",\"ok\":%s}\n", ok ? "true" : "false");
}

/* Run the http(s) transfers; st[i] = curl's exit status for item i
 * (-1: not reported), http[i] its HTTP status. */
static int batch(struct deps_run *x, const struct deps_get *g, size_t n, int *st, int *http,
	struct merr *e)
{
	char cfg[4200], wo[4200], errf[4200], jobs[16];
	struct buf c = BUF_INIT, out = BUF_INIT;
	size_t k = 0;
	int r = 0;

	for (size_t i = 0; i < n; i++) {
		st[i] = -1;
		http[i] = 0;
		if (!is_http(g[i].url))
			continue;
		for (const unsigned char *p = (const unsigned char *)g[i].url; *p; p++)
			if (*p < 0x20 || *p == 0x7f) {
				buf_free(&c);
				return merr_set(e, EX_NO, NULL, "%s: the URL has a control byte; not fetched",
					g[i].what);
			}
		buf_puts(&c, "url = ");
		quoted(&c, g[i].url);
		buf_puts(&c, "\noutput = ");
		quoted(&c, g[i].dest);
		buf_putc(&c, '\n');
		k++;
	}
	if (!k)
		return 0;
	snprintf(cfg, sizeof cfg, "%s/curl.cfg", x->scratch);
	snprintf(wo, sizeof wo, "%s/curl.out", x->scratch);
	snprintf(errf, sizeof errf, "%s/curl.err", x->scratch);
	snprintf(jobs, sizeof jobs, "%d", DEPS_FETCH_JOBS);
	if (write_atomic(cfg, c.p, c.len, 0600, e)) {
		buf_free(&c);
		return EX_SYS;
	}
	buf_free(&c);
	const char *argv[] = { "curl", "--parallel", "--parallel-max", jobs, "--fail",
		"--silent", "--no-progress-meter", "--location", "--proto", "=http,https",
		"--proto-redir", "=http,https", "--max-time", "300", "--max-filesize", "1073741824",
		"--write-out", "%{exitcode} %{response_code} %{filename_effective}\\n",
		"--config", cfg, NULL };
	int s = deps_cmd(argv, NULL, errf, wo);
	if (s < 0)
		r = merr_set(e, EX_SYS, NULL, "cannot run curl");
	else if (read_file(wo, &out, e))
		r = EX_SYS;
	/* one "EXIT HTTP PATH" line per transfer, in completion order */
	for (size_t i = 0; r == 0 && i < out.len;) {
		char *nl = memchr(out.p + i, '\n', out.len - i);
		size_t end = nl ? (size_t)(nl - out.p) : out.len;
		int ex, code, off = 0;
		char *line = strndup(out.p + i, end - i);
		if (line && sscanf(line, "%d %d %n", &ex, &code, &off) == 2 && off > 0)
			for (size_t j = 0; j < n; j++)
				if (is_http(g[j].url) && strcmp(line + off, g[j].dest) == 0) {
					st[j] = ex;
					http[j] = code;
				}
		free(line);
		i = end + 1;
	}
	unlink(cfg);
	unlink(wo);
	unlink(errf);
	buf_free(&out);
	return r;
}

int deps_fetch_all(struct deps_run *x, const struct deps_get *g, size_t n, struct merr *e)
{
	int *st = calloc(n ? n : 1, sizeof *st), *http = calloc(n ? n : 1, sizeof *http);
	int r = 0;

	if (!st || !http)
		r = merr_set(e, EX_SYS, NULL, "out of memory");
	else
		r = batch(x, g, n, st, http, e);
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (!is_http(g[i].url)) {
			r = deps_fetch(x, g[i].what, g[i].url, g[i].dest, e);
			continue;
		}
		int ok = st[i] == 0 && access(g[i].dest, F_OK) == 0;
		log_line(x->log, g[i].what, g[i].url, ok);
		if (!ok && http[i] > 0)
			r = merr_set(e, EX_SYS, NULL,
				"%s: fetching %s failed (curl exit status %d, HTTP status %d)", g[i].what,
				g[i].url, st[i], http[i]);
		else if (!ok)
			r = merr_set(e, EX_SYS, NULL, "%s: fetching %s failed (curl exit status %d)",
				g[i].what, g[i].url, st[i]);
	}
	free(st);
	free(http);
	return r;
}
