#!/usr/bin/env bash
# bench/egress.sh — the egress proxy's added latency per request (issue #16).
#
#   bench/egress.sh [N]     (default 2000 requests each way; after `make`)
#
# Builds bench/egress-bench.c against lib/libmvm.a and runs it: N plain
# HTTP/1.0 GETs to a server on 127.0.0.1, direct and through lib/proxy (as
# vm-boot serves a guest's connection: a socket pair handed to
# proxy_start), interleaved; prints medians, p90 and the ratio, and the
# load average (the machine is shared).  The guest's side of a request
# (agent, mux, virtio-serial under TCG) is not in this figure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
n=${1:-2000}
work="$here/work/egress"
mkdir -p "$work"
[ -f "$root/lib/libmvm.a" ] || { echo "bench/egress.sh: run make first" >&2; exit 4; }
${CC:-cc} -O2 -std=c11 -D_GNU_SOURCE -I"$root/lib" -o "$work/egress-bench" \
	"$here/egress-bench.c" "$root/lib/libmvm.a" $(pkg-config --libs libsodium 2>/dev/null || echo -lsodium) -pthread -lm
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
"$work/egress-bench" "$n"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
