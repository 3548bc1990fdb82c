#!/usr/bin/env bash
# bench/verity.sh — what dm-verity changes: admission and boot, with and
# without it, for the seed's hello image.
#
#   bench/verity.sh [RUNS]      (default 6; after `make`; boots 2*RUNS VMs;
#                                an even RUNS: each kind boots first as often)
#
# The image (built here, or reused from the cache) and a copy whose
# mvm-meta.json has no "verity" member (the same bytes otherwise; its root
# then boots as plain /dev/vda and admission hashes all of rootfs.ext4, as
# before issue 17), in interleaved rounds:
#   admit    plan-verify --no-consume --image: the meta and kernel hashed
#            and the top of the hash tree checked, vs every file hashed;
#   ready    vm-boot's own "agent ready after N s (host)" (VMM start to
#            the agent's pong; admission excluded), TCG;
#   serving  the guest's own clock when the agent served (its console
#            line "mvm-agent: serving at N s", CLOCK_BOOTTIME): the kernel's
#            dm-verity setup and the root's first reads included, vm-boot's
#            host side not;
#   cold     a cold call through vsock-call.
# Prints medians and the ratios (targets: ready with / without <= 1.1).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
runs=${1:-6}
work="$here/work/verity"
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
plain="$work/plain"
cp -R "$img" "$plain"
jq -c 'del(.verity)' "$img/mvm-meta.json" | ir-canon >"$plain/mvm-meta.json"

admit() { # image tag: time one admission of a fresh plan, wall and CPU (user + sys)
	plan-new --image "$1" "$work/hello/ir.json" | plan-sign >"$work/a.dsse.json"
	sync
	/usr/bin/time -o "$work/t" -f "%e %U %S" plan-verify --no-consume --image "$1" \
		"$work/a.dsse.json" >/dev/null
	awk '{ print $1 }' "$work/t" >>"$work/admit-$2"
	awk '{ print $2 + $3 }' "$work/t" >>"$work/admitcpu-$2"
}

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
	kill "$(cat "$st/pid")"
	while [ -e "$st/pid" ]; do sleep 0.05; done
}

# The admissions first, on their own: a boot right after them (hashing
# 67 MB five times, and sync) ran slower, and when the dm-verity boot
# always came first that was counted against it (session 12: 1.30x with
# that order, 1.02x alternating, the same tree and minute).
for ((i = 0; i < runs; i++)); do
	for _ in 1 2 3 4 5; do
		admit "$img" verity
		admit "$plain" plain
	done
done
for ((i = 0; i < runs; i++)); do
	# which boots first alternates: a boot right after the other kind is
	# not always the same kind
	if ((i % 2 == 0)); then
		boot "$img" verity
		boot "$plain" plain
	else
		boot "$plain" plain
		boot "$img" verity
	fi
done

m() { median <"$work/$1"; }
printf 'runs: %d each, interleaved; QEMU %s, TCG; rootfs.ext4 %d KiB (%d KiB of it the hash tree), vmlinux %d KiB; load average before: %s, after: %s\n' \
	"$runs" "$(qemu-system-x86_64 --version | head -1 | awk '{print $4}')" \
	$(( $(stat -c %s "$img/rootfs.ext4") / 1024 )) \
	$(( ($(stat -c %s "$img/rootfs.ext4") - $(jq .verity.data_blocks "$img/mvm-meta.json") * 4096) / 1024 )) \
	$(( $(stat -c %s "$img/vmlinux") / 1024 )) "$load0" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-58s %8.4f s\n' "admission, verity root (meta, kernel, top of the tree)" "$(m admit-verity)" \
	"admission, no verity (every file hashed)" "$(m admit-plain)" \
	"  CPU (user + sys), verity root" "$(m admitcpu-verity)" \
	"  CPU (user + sys), no verity" "$(m admitcpu-plain)" \
	"agent ready after VMM start, dm-verity root" "$(m ready-verity)" \
	"agent ready after VMM start, plain root" "$(m ready-plain)" \
	"guest clock: agent serving, dm-verity root" "$(m serving-verity)" \
	"guest clock: agent serving, plain root" "$(m serving-plain)" \
	"cold call, dm-verity root" "$(m cold-verity)" \
	"cold call, plain root" "$(m cold-plain)"
awk -v av="$(m admit-verity)" -v ap="$(m admit-plain)" -v rv="$(m ready-verity)" \
	-v rp="$(m ready-plain)" -v cv="$(m cold-verity)" -v cp="$(m cold-plain)" \
	-v sv="$(m serving-verity)" -v sp="$(m serving-plain)" 'BEGIN {
	printf "ratio: admission verity / full hash = %.3fx (wall)\n", av / ap
	printf "ratio: ready with dm-verity / without = %.2fx (target <= 1.1)\n", rv / rp
	printf "ratio: guest clock, serving with dm-verity / without = %.2fx\n", sv / sp
	printf "ratio: cold call with dm-verity / without = %.2fx\n", cv / cp }'
