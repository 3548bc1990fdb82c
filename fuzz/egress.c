/* fuzz/egress.c — libFuzzer harness for the egress proxy's parsers
 * (lib/egress.c).  The input is a request head from the guest (hostile).
 * Checks: no crash or sanitizer report; egress_head returns 0, 1 or
 * EX_DATA only; 1 only below EGRESS_HEAD_MAX bytes; an accepted head lies
 * within the input and ends in CRLF CRLF, its host is lowercase LDH and
 * at most EGRESS_HOST_MAX bytes, its port in 1..65535, an HTTP path
 * inside the request line; and the allowlist built from the parsed host
 * allows exactly that host and port. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "egress.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct egress_req r;
	struct egress_policy p = { 0 };
	struct merr e;
	int rc = egress_head((const char *)data, size, &r, &e);

	if (rc == 1) {
		if (size >= EGRESS_HEAD_MAX)
			abort();
		return 0;
	}
	if (rc == EX_DATA)
		return 0;
	if (rc != 0 || r.head_len > size || r.head_len < 4 ||
	    memcmp(data + r.head_len - 4, "\r\n\r\n", 4) != 0 || r.port < 1 || r.port > 65535 ||
	    strlen(r.host) > EGRESS_HOST_MAX || strlen(r.host) == 0)
		abort();
	for (const char *h = r.host; *h; h++)
		if (!((*h >= 'a' && *h <= 'z') || (*h >= '0' && *h <= '9') || *h == '-' || *h == '.'))
			abort();
	if (r.kind == EGRESS_HTTP && r.path_len && (r.path_off + r.path_len > r.head_len ||
	    data[r.path_off] != '/'))
		abort();
	if (egress_add(&p, r.host, strlen(r.host), r.port, &e) != 0 ||
	    !egress_allowed(&p, r.host, r.port) || egress_allowed(&p, r.host, r.port % 65535 + 1))
		abort();
	return 0;
}
