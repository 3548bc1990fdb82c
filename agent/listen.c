/* listen.c — the TCP ports something listens on in the guest, for the
 * status reply's "listening" (mvm-agent-protocol(5)): what vm-boot waits
 * for before it calls a command service's VM ready, instead of guessing
 * from how long a forwarded connection stays open.
 *
 * From /proc/net/tcp and /proc/net/tcp6 (proc(5)): each socket in state
 * 0A (TCP_LISTEN) whose local address is not a loopback one (127/8, ::1,
 * ::ffff:127/104: QEMU's forwarded connections arrive on eth0), sorted,
 * each port once, at most LISTEN_MAX. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agent.h"

#define LISTEN_MAX 64

/* Is the hex local address (proc prints each 32-bit word of it as the
 * host reads it from memory: 127.0.0.1 is 0100007F on little-endian) a
 * loopback one? */
static int loopback(const char *a, size_t n)
{
	unsigned char o[16];
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (n != 8 && n != 32)
		return 0;
	for (size_t i = 0; i < n / 8; i++) {
		char x[9];
		uint32_t w;

		memcpy(x, a + 8 * i, 8);
		x[8] = 0;
		w = (uint32_t)strtoul(x, NULL, 16);
		memcpy(o + 4 * i, &w, 4);   /* back to the address's bytes */
	}
	if (n == 8)
		return o[0] == 127;
	if (!memcmp(o, mapped, 12))
		return o[12] == 127;
	for (size_t i = 0; i < 15; i++)
		if (o[i])
			return 0;
	return o[15] == 1;
}

static size_t scan(const char *path, unsigned *ports, size_t n)
{
	FILE *f = fopen(path, "re");
	char line[512], addr[40];
	unsigned port, st;

	if (!f)
		return n;
	while (fgets(line, sizeof line, f) && n < LISTEN_MAX)
		if (sscanf(line, " %*u: %39[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x", addr, &port, &st) == 3 &&
		    st == 0x0A && port > 0 && port < 65536 && !loopback(addr, strlen(addr))) {
			size_t i = 0;
			while (i < n && ports[i] < port)
				i++;
			if (i < n && ports[i] == port)
				continue;
			memmove(ports + i + 1, ports + i, (n - i) * sizeof *ports);
			ports[i] = port;
			n++;
		}
	fclose(f);
	return n;
}

void put_listening(struct buf *b)
{
	unsigned ports[LISTEN_MAX];
	size_t n = scan("/proc/net/tcp6", ports, scan("/proc/net/tcp", ports, 0));

	buf_puts(b, ",\"listening\":[");
	for (size_t i = 0; i < n; i++)
		buf_printf(b, "%s%u", i ? "," : "", ports[i]);
	buf_putc(b, ']');
}
