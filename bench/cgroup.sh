#!/usr/bin/env bash
# bench/cgroup.sh — what the cgroup v2 kernel and a cgroup per call cost
# (issue 17): the seed's hello image booted with the current guest kernel
# (CGROUPS, MEMCG, CGROUP_PIDS; the agent makes a cgroup per cold call)
# and with a baseline kernel without them (init's cgroup2 mount fails
# there, the agent gets no --cgroup and calls run without a cgroup).
#
#   bench/cgroup.sh BASELINE_VMLINUX [RUNS]   (default 5; after `make`)
#
# e.g. the kernel of main's config before the change:
#   git show main~N:mk/kernel/mvm.config >/tmp/old.config
#   bench/cgroup.sh "$(MVM_KERNEL_CONFIG=/tmp/old.config libexec/mvm-build-kernel)/vmlinux"
#
# The same image (a copy with the baseline vmlinux; the plan binds each
# kernel's digest), interleaved rounds:
#   ready    vm-boot's "agent ready after N s (host)" (VMM start to pong);
#   serving  the guest's own clock (CLOCK_BOOTTIME) when the agent served,
#            from the console: less sensitive to the host's load than the
#            host's clock, though TCG's guest clock still follows the host;
#   cold     a cold call through vsock-call (a cgroup made and removed in
#            the current kernel).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
base=${1:?usage: bench/cgroup.sh BASELINE_VMLINUX [RUNS]}
runs=${2:-5}
work="$here/work/cgroup"
PATH="$root/bin:$PATH"
export MVM_HOME="$work/home"
rm -rf "$work"
mkdir -p "$work/hello" "$MVM_HOME"
plan-keygen >/dev/null
kernel=$("$root/libexec/mvm-build-kernel")
load0=$(cut -d' ' -f1-3 /proc/loadavg)
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

cp -R "$root/examples/hello/src" "$work/hello/"
ir-canon "$root/t/data/seed-ir.json" >"$work/hello/ir.json"
img=$("$root/libexec/mvm-build-rootfs" -q --kernel "$kernel" -o "$root/bench/work/images" "$work/hello/ir.json")
old="$work/old"
cp -R "$img" "$old"
cp "$base" "$old/vmlinux"

boot() { # image tag
	local st="$work/run-$2" t0
	plan-new --image "$1" "$work/hello/ir.json" | plan-sign >"$work/p.dsse.json"
	vm-boot -d -S "$st" -i "$1" "$work/p.dsse.json" >/dev/null 2>"$work/vm-boot.err"
	sed -n 's/.*agent ready after \([0-9.]*\) s (host).*/\1/p' "$st/vm-boot.log" >>"$work/ready-$2"
	vsock-call -s "$st/v.sock" -r greet --input name=Alice >/dev/null   # the first: imports
	t0=$(now)
	vsock-call -s "$st/v.sock" -r greet --input name=Bob >/dev/null
	echo "$(now) - $t0" | bc -l >>"$work/cold-$2"
	sed -n 's/.*mvm-agent: serving at \([0-9.]*\) s.*/\1/p' "$st/console.log" | head -1 >>"$work/serving-$2"
	grep -q 'mvm/agent\|no cgroups' "$st/console.log" && grep 'no cgroups' "$st/console.log" >&2 || true
	kill "$(cat "$st/pid")"
	while [ -e "$st/pid" ]; do sleep 0.05; done
}

for ((i = 0; i < runs; i++)); do
	boot "$img" new
	boot "$old" old
done

m() { median <"$work/$1"; }
printf 'runs: %d each, interleaved; QEMU %s, TCG; vmlinux %d KiB (cgroups) vs %d KiB (baseline); load average before: %s, after: %s\n' \
	"$runs" "$(qemu-system-x86_64 --version | head -1 | awk '{print $4}')" \
	$(( $(stat -c %s "$img/vmlinux") / 1024 )) $(( $(stat -c %s "$old/vmlinux") / 1024 )) \
	"$load0" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-50s %8.3f s\n' "agent ready after VMM start, cgroup kernel" "$(m ready-new)" \
	"agent ready after VMM start, baseline kernel" "$(m ready-old)" \
	"guest clock: agent serving, cgroup kernel" "$(m serving-new)" \
	"guest clock: agent serving, baseline kernel" "$(m serving-old)" \
	"cold call, cgroup per call" "$(m cold-new)" \
	"cold call, baseline (no cgroup)" "$(m cold-old)"
awk -v rn="$(m ready-new)" -v ro="$(m ready-old)" -v sn="$(m serving-new)" -v so="$(m serving-old)" \
	-v cn="$(m cold-new)" -v co="$(m cold-old)" 'BEGIN {
	printf "ratio: ready cgroup / baseline = %.2fx; guest serving %.2fx; cold call %.2fx\n",
		rn / ro, sn / so, cn / co }'
