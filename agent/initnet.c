/* initnet.c — init's network (issue #16): lo up for the egress proxy's
 * guest end, and eth0's address from mvm.ip= when vm-boot attached a NIC,
 * with the ioctls `ip link set up` and `ip addr add` make (a dry run shows
 * those commands). */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include "init.h"

/* ---- 5b. network (issue #16): only when vm-boot attached a NIC ---- */
static void link_up(const char *ifname)
{
	struct ifreq r;
	int s;

	if (ini.dry) {
		ishow("ip link set %s up", ifname);
		return;
	}
	memset(&r, 0, sizeof r);
	snprintf(r.ifr_name, sizeof r.ifr_name, "%s", ifname);
	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0 || ioctl(s, SIOCGIFFLAGS, &r) < 0 ||
	    (r.ifr_flags |= IFF_UP, ioctl(s, SIOCSIFFLAGS, &r)) < 0)
		ilog("failed: ip link set %s up: %s", ifname, strerror(errno));
	if (s >= 0)
		close(s);
}

/* A.B.C.D/N on eth0, as `ip addr add` does it (the subnet's route comes
 * with it). */
static void addr_add(const char *cidr)
{
	struct sockaddr_in *in;
	struct ifreq r;
	char a[32];
	unsigned bits;
	int s = -1, ok = 0;

	if (ini.dry) {
		ishow("ip addr add %s dev eth0", cidr);
		return;
	}
	memset(&r, 0, sizeof r);
	snprintf(r.ifr_name, sizeof r.ifr_name, "eth0");
	in = (struct sockaddr_in *)&r.ifr_addr;
	in->sin_family = AF_INET;
	if (sscanf(cidr, "%31[0-9.]/%u", a, &bits) == 2 && bits <= 32 &&
	    inet_pton(AF_INET, a, &in->sin_addr) == 1 &&
	    (s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) >= 0 && ioctl(s, SIOCSIFADDR, &r) == 0) {
		in->sin_addr.s_addr = htonl(bits ? ~0u << (32 - bits) : 0);
		ok = ioctl(s, SIOCSIFNETMASK, &r) == 0;
	}
	if (!ok)
		ilog("failed: ip addr add %s dev eth0: %s", cidr, strerror(errno));
	if (s >= 0)
		close(s);
}

void network(void)
{
	char ifs[512] = "", p[PATH_MAX], val[128];
	struct dirent **l;
	int k = init_names("/sys/class/net", &l);

	/* what the guest has, on the console */
	for (int i = 0; i < k; i++) {
		size_t n = strlen(ifs);
		if (l[i]->d_name[0] != '.')
			snprintf(ifs + n, sizeof ifs - n, " %s", l[i]->d_name);
	}
	init_names_free(l, k);
	ilog("network interfaces:%s", ifs[0] ? ifs : " none");
	/* the egress proxy's guest end listens on lo (issue #16) */
	if (access(rpath(p, sizeof p, "/etc/mvm/egress.json"), R_OK) == 0)
		link_up("lo");
	if (!init_cmdline("ip", val, sizeof val)[0])
		return;
	const char *slash = strchr(val, '/');
	if (strspn(val, "0123456789./") != strlen(val) || !slash || strchr(slash + 1, '/') ||
	    val[0] < '0' || val[0] > '9') {
		ilog("ignoring mvm.ip=%s (not A.B.C.D/N)", val);
		return;
	}
	link_up("lo");
	addr_add(val);
	link_up("eth0");
	ilog("eth0 %s", val);
}
