/* loweregress.c — network.egress in the lowering (loweregress.h) */
#include <string.h>
#include "loweregress.h"

static const char *const proxy_vars[] = { "HTTP_PROXY", "HTTPS_PROXY", "http_proxy",
	"https_proxy", NULL };

jref lower_egress_of(const struct jdoc *d, jref app)
{
	jref net = json_get(d, app, "network"), eg;

	if (net == JREF_NONE || json_type(d, net) != J_OBJ)
		return JREF_NONE;
	eg = json_get(d, net, "egress");
	return eg != JREF_NONE && json_type(d, eg) == J_OBJ ? eg : JREF_NONE;
}

int lower_proxy_var(const char *k, size_t n)
{
	for (size_t i = 0; proxy_vars[i]; i++)
		if (strlen(proxy_vars[i]) == n && memcmp(k, proxy_vars[i], n) == 0)
			return 1;
	return 0;
}

int lower_egress_rule(struct egress_policy *p, const struct jdoc *d, jref r, struct merr *e)
{
	jref h = json_type(d, r) == J_OBJ ? json_get(d, r, "host") : JREF_NONE;
	jref pt = json_type(d, r) == J_OBJ ? json_get(d, r, "port") : JREF_NONE;
	double port = pt != JREF_NONE ? json_num(d, pt) : 0;
	size_t hl;
	const char *hs = h != JREF_NONE ? json_str(d, h, &hl) : NULL;

	if (!hs || !(port >= 1 && port <= 65535))
		return merr_set(e, EX_DATA, NULL, "not an egress rule {host, port}");
	return egress_add(p, hs, hl, (unsigned)port, e);
}

void lower_proxy_env(const struct jdoc *d, jref app, struct buf *o)
{
	for (size_t i = 0; lower_egress_of(d, app) != JREF_NONE && proxy_vars[i]; i++)
		buf_printf(o, "%s\"%s\":\"" EGRESS_GUEST_URL "\"", o->len && o->p[o->len - 1] == '{' ?
			"" : ",", proxy_vars[i]);
}

void lower_egress_emit(const struct jdoc *d, jref app, int file, struct buf *o)
{
	jref eg = lower_egress_of(d, app);
	struct buf t = BUF_INIT;

	if (eg == JREF_NONE)
		return;
	if (!file) {
		buf_puts(o, ",\"egress\":");
		json_canon(d, eg, o);
		return;
	}
	json_canon(d, eg, &t);
	buf_putc(&t, '\n');
	buf_puts(o, "\"/etc/mvm/egress.json\":{\"mode\":\"0444\",\"content\":");
	json_put_str(o, t.p, t.len);
	buf_puts(o, "},");
	o->err |= t.err;
	buf_free(&t);
}
