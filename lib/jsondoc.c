/* jsondoc.c — a document's life (json.h): the parser set up and run
 * (json.c's state machine, jsonp_parse) for json_parse and for the
 * streaming writers (json_canon_stream; json_canon_over, jsonover.c;
 * json_canon_stream_fd, jsonwin.c), and json_free.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "json_int.h"

/* json_parse, and json_canon_stream's parse when out is not NULL (and
 * json_canon_over's when ov is not NULL either) */
static struct jdoc *parse_doc(const char *buf, size_t len, const struct jopts *o,
	struct buf *out, struct jover *ov, struct jwin *win, struct merr *e)
{
	struct parser ps;
	struct jdoc *d;
	int r;

	if (len >= UINT32_MAX) {
		merr_set(e, EX_DATA, NULL, "input larger than 4 GiB");
		return NULL;
	}
	d = calloc(1, sizeof *d);
	if (!d) {
		merr_sys(e, "allocate memory for the document");
		return NULL;
	}
	d->in = buf;
	d->inlen = len;
	d->ov = ov;
	d->canon = out != NULL;   /* only ever written canonically (json_int.h) */
	if (jsonp_tape_alloc(d, len + 1) < 0) {
		free(d);
		merr_sys(e, "allocate memory for the document");
		return NULL;
	}
	memset(&ps, 0, sizeof ps);
	ps.d = d;
	ps.s = ps.p = (const unsigned char *)buf;
	ps.end = ps.s + len;
	ps.e = e;
	ps.maxdepth = o && o->max_depth ? o->max_depth : JSON_DEFAULT_MAX_DEPTH;
	if (out && json_streams(buf, len))
		ps.out = out;
	ps.win = win;
	while ((r = jsonp_parse(&ps)) != 0 && win && jsonp_win_retry(&ps))
		;
	free(ps.cstk);
	free(ps.stk);
	free(ps.keys);
	if (r != 0) {
		json_free(d);
		return NULL;
	}
	return d;
}

struct jdoc *json_parse(const char *buf, size_t len, const struct jopts *o, struct merr *e)
{
	return parse_doc(buf, len, o, NULL, NULL, NULL, e);
}

int jsonp_canon_stream(const char *in, size_t len, const struct jopts *o, struct buf *out,
	struct jover *ov, struct jwin *win, struct merr *e)
{
	struct jdoc *d = parse_doc(in, len, o, out, ov, win, e);
	int r = 0;

	if (!d)
		return e->code;
	if ((d->t[0].a & T_TYPE) != J_ARR) {
		r = json_canon(d, json_root(d), out);
	} else {
		if (d->t[0].a >> PAY_SHIFT)   /* its values are written: close it */
			buf_putc(out, ']');
		else
			buf_put(out, "[]", 2);
		if (ov) {                     /* none of the input is read again */
			jsonp_over_move(d, out, len);
			ov->kept = d->gone.from;
		}
	}
	json_free(d);
	if (r || out->err) {
		errno = out->err;
		return merr_sys(e, "write canonical output");
	}
	return 0;
}

int json_canon_stream(const char *in, size_t len, const struct jopts *o, struct buf *out,
	struct merr *e)
{
	return jsonp_canon_stream(in, len, o, out, NULL, NULL, e);
}

void json_free(struct jdoc *d)
{
	if (!d)
		return;
	jsonp_tape_free(d);
	free(d->dec);
	free(d->perm);
	free(d->ux);
	free(d->num);
	free(d);
}
