#!/usr/bin/env bash
# bench/egress-path.sh — the whole host-side egress path, without a VM
# (issue #16).
#
#   bench/egress-path.sh [N]     (default 300 requests each way; after `make`)
#   bench/egress-path.sh N phases   where the time goes: N raw-socket GETs
#                                through the path only, split at the proxy's
#                                "allow" line in egress.log (its clock, 1 ms
#                                resolution: medians of many)
#
# The real agent (mvm-agent --serial-stdio --egress-proxy) behind the
# stand-in QEMU of the tests (t/data/fake-qemu.py: the mux over vm-boot's
# chardev socket), vm-boot serving its egress streams with lib/proxy, and a
# python3 -m http.server on 127.0.0.1.  N GETs each way from one Python
# client, interleaved: direct to the server, and through the agent's proxy
# port (client -> agent -> mux -> vm-boot's muxhost -> proxy thread ->
# server).  What a guest adds on top (virtio-serial under TCG) is not in
# it.  Prints the medians, the added time and the ratio, and the load.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
n=${1:-300}
mode=${2:-}
[ -x "$root/agent/mvm-agent" ] && [ -x "$root/bin/vm-boot" ] ||
	{ echo "bench/egress-path.sh: run make first" >&2; exit 4; }
T=$(mktemp -d /tmp/mvm-egress-path.XXXXXX)
chmod 0755 "$T"
PATH="$root/bin:$PATH"
export MVM_HOME="$T/home"
port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
EP=$(port) P1=$(port)
cleanup() {
	[ ! -f "$T/run/pid" ] || kill "$(cat "$T/run/pid")" 2>/dev/null || true
	[ -z "${SRV:-}" ] || kill "$SRV" 2>/dev/null || true
	sleep 1
	rm -rf "$T"
}
trap cleanup EXIT
# a guest root the agent accepts (its function is never called)
R=$T/root
mkdir -p "$R/etc/mvm" "$T/www"
mkdir -m 1733 "$T/calls"
[ "$(id -u)" != 0 ] || chown mvm-vmm "$T/calls"
printf '{"language":"python","module":"app","function":"greet","format":"json","source_path":"/app"}' >"$R/etc/mvm/runtime.json"
chmod -R a+rX "$R"
echo ok >"$T/www/x"
python3 -m http.server --bind 127.0.0.1 -d "$T/www" "$P1" >/dev/null 2>&1 &
SRV=$!
# an image nothing boots, its meta with the allowlist; a signed plan
IMG=$T/image
mkdir -p "$IMG"
head -c 65536 /dev/urandom >"$IMG/rootfs.ext4"
head -c 4096 /dev/urandom >"$IMG/vmlinux"
ir="$root/t/data/seed-ir.json"
jq -cn --arg h "$(ir-hash "$ir")" --argjson p "$P1" \
	'{backend: "test", ir_hash: $h, egress: {allowlist: [{host: "127.0.0.1", port: $p}]}}' >"$IMG/mvm-meta.json"
plan-keygen >/dev/null
plan-new --image "$IMG" "$ir" | plan-sign >"$T/plan.dsse.json"
export MVM_QEMU=$root/t/data/fake-qemu.py
export FAKE_QEMU_AGENT="$root/agent/mvm-agent --serial-stdio --root $R --tmp $T/calls --egress-proxy --egress-port $EP"
vm-boot -d -b qemu -a tcg -S "$T/run" -i "$IMG" "$T/plan.dsse.json" >/dev/null 2>"$T/vm-boot.err" ||
	{ cat "$T/vm-boot.err" >&2; exit 4; }
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$mode" = phases ]; then
python3 - "$n" "$P1" "$EP" "$T/run/egress.log" <<'PY'
import socket, statistics, sys, time, json, datetime
n, p1, ep, log = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
def one(port, path):
    t0 = time.time()
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n" % (path, p1)).encode())
    d = s.recv(65536); t1 = time.time()
    while d: d = s.recv(65536)
    s.close()
    return t0, t1
for _ in range(20): one(ep, "http://127.0.0.1:%d/x" % p1)
skip = sum(1 for _ in open(log))
Q = [one(ep, "http://127.0.0.1:%d/x" % p1) for _ in range(n)]
al = [json.loads(l) for l in list(open(log))[skip:]]
al = [datetime.datetime.strptime(x["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp() for x in al if x["decision"] == "allow"]
assert len(al) == n, (len(al), n)
print("client connect -> proxy's decision  median %.2f ms" % (statistics.median(a - q[0] for a, q in zip(al, Q)) * 1e3))
print("proxy's decision -> client's first byte  median %.2f ms" % (statistics.median(q[1] - a for a, q in zip(al, Q)) * 1e3))
print("total to first byte  median %.2f ms" % (statistics.median(q[1] - q[0] for q in Q) * 1e3))
D = [one(p1, "/x") for _ in range(n)]
print("direct, to first byte  median %.2f ms" % (statistics.median(q[1] - q[0] for q in D) * 1e3))
PY
else
python3 - "$n" "$P1" "$EP" <<'PY'
import statistics, sys, time, urllib.request
n, p1, ep = int(sys.argv[1]), sys.argv[2], sys.argv[3]
url = "http://127.0.0.1:%s/x" % p1
direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
proxied = urllib.request.build_opener(urllib.request.ProxyHandler({"http": "http://127.0.0.1:%s" % ep}))
for _ in range(20):   # warm up
    direct.open(url).read(); proxied.open(url).read()
d, q = [], []
for _ in range(n):
    t = time.perf_counter(); assert direct.open(url).read() == b"ok\n"; d.append(time.perf_counter() - t)
    t = time.perf_counter(); assert proxied.open(url).read() == b"ok\n"; q.append(time.perf_counter() - t)
md, mq = statistics.median(d), statistics.median(q)
print("requests: %d each, interleaved" % n)
print("direct               median %.3f ms" % (md * 1e3))
print("agent+mux+proxy      median %.3f ms" % (mq * 1e3))
print("added                median %.3f ms; ratio %.2fx" % ((mq - md) * 1e3, mq / md))
PY
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "egress.log lines: $(wc -l <"$T/run/egress.log")"
