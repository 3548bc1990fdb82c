#!/usr/bin/env bash
# bench/guest-costs.sh — what TCG charges inside the guest, measured by the
# guest itself: the profile behind issue 17's and issue 18's missed boot
# targets (bench/RESULTS.md "Where the guest's time goes under TCG").
#
#   bench/guest-costs.sh [RUNS]   (default 3; after `make`; boots 6*RUNS VMs)
#
# The hello image's root file system (built here, or reused from the cache)
# gets one more file, /x.sh, an init that times with the guest's own clock
# (/proc/uptime, 10 ms steps):
#   python     `python3.11 -S -c pass`, the first time and again: the
#              difference is TCG translating the interpreter's start-up
#              code once (both read the same cached pages the second time);
#   read       `cat /usr/bin/python3.11` (6.8 MB, never read before) to
#              /dev/null: on the plain root, and on a dm-verity root made of
#              the same bytes (libexec/mvm-verity-format) with each SHA-256
#              implementation the kernel has (named in the table, as
#              dm-verity allows): the difference is the hashing;
#   exec       ten fork+execs of busybox `true` after the first.
# QEMU runs as vm-boot runs it (microvm, TCG, one vCPU, VMM_CMDLINE_TCG),
# but directly, with this init.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
runs=${1:-3}
work="$here/work/guest-costs"
PATH="$root/bin:$PATH"
rm -rf "$work"
mkdir -p "$work/hello"
kernel=$("$root/libexec/mvm-build-kernel")
load0=$(cut -d' ' -f1-3 /proc/loadavg)
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

cp -R "$root/examples/hello/src" "$work/hello/"
ir-canon "$root/t/data/seed-ir.json" >"$work/hello/ir.json"
img=$("$root/libexec/mvm-build-rootfs" -q --kernel "$kernel" -o "$here/work/images" "$work/hello/ir.json")
blocks=$(jq .verity.data_blocks "$img/mvm-meta.json")

cat >"$work/x.sh" <<'EOF'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
t() { read -r u _ </proc/uptime; echo "T $1 $u"; }
t 0
/bin/busybox cat /usr/bin/python3.11 >/dev/null
t read
/usr/bin/python3.11 -S -c pass
t py1
/usr/bin/python3.11 -S -c pass
t py2
/bin/busybox true
t exec0
i=0
while [ $i -lt 10 ]; do /bin/busybox true; i=$((i + 1)); done
t exec10
/bin/busybox reboot -f
EOF
plain="$work/plain.ext4"
head -c $((blocks * 4096)) "$img/rootfs.ext4" >"$plain"
debugfs -w -R "write $work/x.sh x.sh" "$plain" >/dev/null 2>&1
debugfs -w -R "sif x.sh mode 0100755" "$plain" >/dev/null 2>&1
cp "$plain" "$work/verity.ext4"
read -r nb rh salt < <("$root/libexec/mvm-verity-format" "$work/verity.ext4")
tcg_args=$(sed -n 's/^#define VMM_CMDLINE_TCG "\(.*\)"$/\1/p' "$root/lib/vmm.h")

boot() { # tag disk root-args
	qemu-system-x86_64 -M microvm,acpi=off,rtc=on -accel tcg -cpu max -m 256 -smp 1 \
		-nodefaults -no-user-config -nographic -no-reboot -kernel "$img/vmlinux" \
		-append "console=ttyS0 reboot=t panic=-1 $3 ro rootfstype=ext4 init=/x.sh quiet$tcg_args" \
		-drive "id=root,file=$2,format=raw,if=none,readonly=on" \
		-device virtio-blk-device,drive=root -serial "file:$work/console-$1" </dev/null
	tr -d '\r' <"$work/console-$1" | awk -v tag="$1" -v w="$work" '
		$1 == "T" { t[$2] = $3 }
		END {
			if (!("exec10" in t)) { print "no timings from the " tag " boot" >"/dev/stderr"; exit 1 }
			print t["read"] - t["0"] >>(w "/read-" tag)
			print t["py1"] - t["read"] >>(w "/py1-" tag)
			print t["py2"] - t["py1"] >>(w "/py2-" tag)
			print (t["exec10"] - t["exec0"]) / 10 >>(w "/exec-" tag) }'
}

impls="sha256-generic sha256-ssse3 sha256-avx sha256-avx2"
for ((i = 0; i < runs; i++)); do
	boot plain "$plain" "root=/dev/vda"
	for h in $impls; do
		boot "$h" "$work/verity.ext4" "dm-mod.waitfor=/dev/vda dm-mod.create=\"mvm-root,,,ro,0 $((nb * 8)) verity 1 /dev/vda /dev/vda 4096 4096 $nb $nb $h $rh $salt\" root=/dev/dm-0"
	done
	boot plain2 "$plain" "root=/dev/vda"
done
cat "$work/py1-plain2" >>"$work/py1-plain"
cat "$work/py2-plain2" >>"$work/py2-plain"
cat "$work/read-plain2" >>"$work/read-plain"

m() { median <"$work/$1"; }
size=$(debugfs -R "stat /usr/bin/python3.11" "$plain" 2>/dev/null | sed -n 's/.*Size: \([0-9]*\)$/\1/p' | head -1)
printf 'runs: %d rounds of %d boots; QEMU %s, TCG, one vCPU; guest clock in 10 ms steps; load average before: %s, after: %s\n' \
	"$runs" 6 "$(qemu-system-x86_64 --version | head -1 | awk '{print $4}')" "$load0" \
	"$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-62s %7.3f s\n' \
	"python3.11 -S -c pass, first run (plain root)" "$(m py1-plain)" \
	"python3.11 -S -c pass, second run (plain root)" "$(m py2-plain)" \
	"fork+exec of busybox true, after the first" "$(m exec-plain)" \
	"read python3.11 ($size bytes), plain root" "$(m read-plain)"
for h in $impls; do
	awk -v h="$h" -v v="$(m "read-$h")" -v p="$(m read-plain)" -v s="$size" 'BEGIN {
		printf "%-62s %7.3f s  (+%.1f ns a byte)\n", "read python3.11, dm-verity root, " h, v, (v - p) * 1e9 / s }'
done
awk -v a="$(m py1-plain)" -v b="$(m py2-plain)" 'BEGIN {
	printf "ratio: python first start / second start = %.1fx (%.2f s of translation)\n", a / b, a - b }'
