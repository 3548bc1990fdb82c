#!/usr/bin/env bash
# bench/net.sh — what a NIC costs a boot (issue #16).
#
#   bench/net.sh [RUNS]        (default 5; after `make`; boots 2*RUNS VMs)
#
# The seed's hello IR twice: as is (no network: no NIC) and with
# network {"mode":"bridge"} (one virtio-net NIC, QEMU user-mode networking,
# restrict=on, no ports), each built into its image (cached).  RUNS rounds,
# each booting both in turn (TCG's speed drifts: interleaving compares like
# with like), timing vm-boot -d from start to its exit (the agent answered:
# boot-to-ready, admission included: the dm-verity root's tree top, not the
# whole file), with the guest's own clock for when init started the agent
# (the NIC adds a kernel driver probe and init's two `ip` commands).
# Prints medians and the ratio.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
runs=${1:-5}
work="$here/work/net"
PATH="$root/bin:$PATH"
export MVM_HOME="$work/home"
rm -rf "$work"
mkdir -p "$work/plain" "$work/nic" "$MVM_HOME"
plan-keygen >/dev/null
kernel=$("$root/libexec/mvm-build-kernel")
load0=$(cut -d' ' -f1-3 /proc/loadavg)
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

for d in plain nic; do cp -R "$root/examples/hello/src" "$work/$d/"; done
ir-canon "$root/t/data/seed-ir.json" >"$work/plain/ir.json"
jq -c '.apps[0].network = {mode: "bridge"}' "$work/plain/ir.json" | ir-canon >"$work/nic/ir.json"
echo "building the images (cached after the first run)" >&2
pimg=$("$root/libexec/mvm-build-rootfs" -q --kernel "$kernel" -o "$here/work/images" "$work/plain/ir.json")
nimg=$("$root/libexec/mvm-build-rootfs" -q --kernel "$kernel" -o "$here/work/images" "$work/nic/ir.json")
jq -e .network "$nimg/mvm-meta.json" >/dev/null || { echo "bench/net.sh: no network in $nimg" >&2; exit 4; }

boot() { # image ir tag
	local st="$work/run-$3" t0 t1
	plan-new --image "$1" "$2" | plan-sign >"$work/p.dsse.json"
	t0=$(now)
	vm-boot -d -b qemu -a tcg -S "$st" -i "$1" "$work/p.dsse.json" >/dev/null 2>"$work/vm-boot.err"
	t1=$(now)
	echo "$t1 - $t0" | bc -l >>"$work/ready-$3"
	sed -n 's/.*mvm-init: agent started at \([0-9.]*\) s.*/\1/p' "$st/console.log" | head -1 >>"$work/g-agent-$3"
	kill "$(cat "$st/pid")"
	while [ -e "$st/pid" ]; do sleep 0.05; done
}

for ((i = 0; i < runs; i++)); do
	boot "$pimg" "$work/plain/ir.json" plain
	boot "$nimg" "$work/nic/ir.json" nic
done
m() { median <"$work/$1"; }
printf 'runs: %d each, interleaved; QEMU %s, TCG; load average before: %s\n' "$runs" \
	"$(qemu-system-x86_64 --version | head -1 | awk '{print $4}')" "$load0"
printf '%-52s %8.3f s\n' "no NIC: vm-boot start -> agent ready (host)" "$(m ready-plain)" \
	"  guest clock: init started the agent" "$(m g-agent-plain)" \
	"NIC: vm-boot start -> agent ready (host)" "$(m ready-nic)" \
	"  guest clock: init started the agent" "$(m g-agent-nic)"
printf '%-52s %8.3f\n' "ratio NIC / no NIC (host, boot-to-ready)" \
	"$(echo "$(m ready-nic) / $(m ready-plain)" | bc -l)"
