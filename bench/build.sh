#!/usr/bin/env bash
# bench/build.sh — image build time and size, in one run.
#
#   bench/build.sh            (after `make`; the kernel is built or taken from its cache first)
#
# For the seed's hello IR:
#   cold     a build into an empty image cache (the .deb cache warm: fetching
#            from the mirror is not what is measured; the first ever run is slower);
#   cached   the same build again: the key matches and the image is reused;
#   size     rootfs.ext4 against the Installed-Size of the Debian packages it
#            holds (their own measure of what they take once unpacked).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
work="$here/work/build"
PATH="$root/bin:$PATH"
rm -rf "$work"
mkdir -p "$work/src"
kernel=$("$root/libexec/mvm-build-kernel")
cp -R "$root/examples/hello/src/." "$work/src/"
ir-canon "$root/t/data/seed-ir.json" >"$work/ir.json"
now() { date +%s.%N; }

# warm the .deb cache (not timed)
"$root/libexec/mvm-build-rootfs" -q --kernel "$kernel" -o "$work/warmup" "$work/ir.json" >/dev/null
t0=$(now)
img=$("$root/libexec/mvm-build-rootfs" -q --kernel "$kernel" -o "$work/images" "$work/ir.json")
t1=$(now)
"$root/libexec/mvm-build-rootfs" -q --kernel "$kernel" -o "$work/images" "$work/ir.json" >/dev/null
t2=$(now)

# the packages in the image, as the build lists them
pkgs=$(cut -d' ' -f1 "$img/packages.txt")
# shellcheck disable=SC2086
inst_kb=$(apt-cache show --no-all-versions $pkgs 2>/dev/null |
	awk '/^Installed-Size:/ { s += $2 } END { print s }')
img_b=$(stat -c %s "$img/rootfs.ext4")
used_kb=$(dumpe2fs -h "$img/rootfs.ext4" 2>/dev/null | awk -F: '
	/^Block count/ { n = $2 } /^Free blocks/ { f = $2 } /^Block size/ { b = $2 }
	END { print (n - f) * b / 1024 }')
printf 'load average before: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-52s %9.2f s\n' "cold build (empty image cache, .deb cache warm)" "$(echo "$t1 - $t0" | bc -l)" \
	"cached rebuild (same key, reused)" "$(echo "$t2 - $t1" | bc -l)"
printf '%-52s %9.1f MiB\n' "rootfs.ext4 file" "$(echo "$img_b / 1048576" | bc -l)" \
	"  of which used blocks" "$(echo "$used_kb / 1024" | bc -l)" \
	"Debian packages' Installed-Size ($(echo $pkgs | wc -w) packages)" "$(echo "$inst_kb / 1024" | bc -l)"
awk -v i="$img_b" -v u="$used_kb" -v p="$inst_kb" 'BEGIN {
	printf "ratio: rootfs.ext4 / packages installed size = %.2fx\n", i / 1024 / p
	printf "ratio: used blocks / packages installed size  = %.2fx\n", u / p }'
