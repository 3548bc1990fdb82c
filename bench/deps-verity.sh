#!/usr/bin/env bash
# bench/deps-verity.sh — admission of an image with a deps volume: the
# volume's dm-verity tree (its top block checked) vs hashing the volume
# whole (issue 17).  No VM boots.
#
#   bench/deps-verity.sh [RUNS [BLOB_MB]]     (default 25 0; after `make`)
#
# examples/deps-python's image (built here through its Makefile, or reused
# from the cache; with BLOB_MB, its wheel also carries a BLOB_MB MiB file
# of random bytes, for a volume the size of real dependencies) and a copy
# whose admission hashes all of the volume, as before: admission refuses a
# deps member without deps.verity since session 9, so the copy's
# mvm-meta.json has no deps member and lists the same bytes, as
# deps_whole.ext4, among launch.drives with their sha256 (admission hashes
# such a drive whole, with the same file_digests call the deps fallback
# made); both keep the root's verity, so only the deps check differs.  Interleaved
# admissions (plan-verify --no-consume --image, a fresh plan each): wall
# and CPU medians, the ratio, the load average before and after.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
runs=${1:-25}
blob=${2:-0}
work="$here/work/deps-verity"
PATH="$root/bin:$PATH"
export MVM_HOME="$work/home" MVM_DEPS_CACHE="$work/deps"
rm -rf "$work"
mkdir -p "$MVM_HOME"
plan-keygen >/dev/null
kernel=$("$root/libexec/mvm-build-kernel")
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

cp -R "$root/examples/deps-python" "$work/app"
rm -rf "$work/app/.mvm" "$work/app/wheels"
make --no-print-directory -s -C "$work/app" MVM="$root" wheels >/dev/null
if [ "$blob" -gt 0 ]; then
	whl="$work/app/wheels/mvmdemo-1.0.0-py3-none-any.whl"
	python3 - "$whl" "$blob" <<'PY'
import base64, hashlib, os, sys, zipfile
whl, mb = sys.argv[1], int(sys.argv[2])
blob = os.urandom(mb << 20)
with zipfile.ZipFile(whl) as z:
    files = {n: z.read(n) for n in z.namelist()}
files["mvmdemo/blob.bin"] = blob
rec = [n for n in files if n.endswith("/RECORD")][0]
lines = []
for n, c in files.items():
    if n != rec:
        d = base64.urlsafe_b64encode(hashlib.sha256(c).digest()).rstrip(b"=").decode()
        lines.append(f"{n},sha256={d},{len(c)}")
files[rec] = ("\n".join(lines + [f"{rec},,"]) + "\n").encode()
with zipfile.ZipFile(whl, "w", zipfile.ZIP_STORED) as z:
    for n, c in files.items():
        zi = zipfile.ZipInfo(n, (1980, 1, 1, 0, 0, 0)); zi.external_attr = 0o644 << 16
        z.writestr(zi, c)
PY
	sed -i "s/--hash=sha256:[0-9a-f]*/--hash=sha256:$(sha256sum "$whl" | cut -c1-64)/" \
		"$work/app/src/requirements.txt"
fi
make --no-print-directory -s -C "$work/app" MVM="$root" MVM_BUILD_OPTS="--kernel $kernel -q" \
	mvm-image >/dev/null
ir="$work/app/.mvm/workload-ir.json"
img="$work/app/.mvm/image/$(cat "$work/app/.mvm/image.key")"
plain="$work/plain"
cp -R "$img" "$plain"
mv "$plain/deps.ext4" "$plain/deps_whole.ext4"
jq -c --arg h "$(sha256sum <"$plain/deps_whole.ext4" | cut -c1-64)" \
	'del(.deps) | .launch.drives += [{file: "deps_whole.ext4", sha256: $h}]' \
	"$img/mvm-meta.json" | ir-canon >"$plain/mvm-meta.json"
load0=$(cut -d' ' -f1-3 /proc/loadavg)

admit() { # image tag
	plan-new --image "$1" "$ir" | plan-sign >"$work/a.dsse.json"
	sync
	local t0 t1
	t0=$(date +%s%N)
	/usr/bin/time -o "$work/t" -f "%U %S" plan-verify --no-consume --image "$1" \
		"$work/a.dsse.json" >/dev/null
	t1=$(date +%s%N)
	echo "($t1 - $t0) / 1000000000" | bc -l >>"$work/admit-$2"   # (time's %e: 10 ms steps)
	awk '{ print $1 + $2 }' "$work/t" >>"$work/cpu-$2"
}
for ((i = 0; i < runs; i++)); do
	admit "$img" tree
	admit "$plain" full
done
m() { median <"$work/$1"; }
printf 'runs: %d each, interleaved; deps.ext4 %d KiB (%d KiB of it the hash tree), rootfs.ext4 %d KiB, vmlinux %d KiB; load average before: %s, after: %s\n' \
	"$runs" $(( $(stat -c %s "$img/deps.ext4") / 1024 )) \
	$(( ($(stat -c %s "$img/deps.ext4") - $(jq .deps.verity.data_blocks "$img/mvm-meta.json") * 4096) / 1024 )) \
	$(( $(stat -c %s "$img/rootfs.ext4") / 1024 )) $(( $(stat -c %s "$img/vmlinux") / 1024 )) \
	"$load0" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-56s %8.4f s\n' "admission, deps tree's top checked" "$(m admit-tree)" \
	"admission, deps.ext4 hashed whole" "$(m admit-full)" \
	"  CPU (user + sys), deps tree" "$(m cpu-tree)" \
	"  CPU (user + sys), deps hashed whole" "$(m cpu-full)"
awk -v t="$(m admit-tree)" -v f="$(m admit-full)" 'BEGIN {
	printf "ratio: admission deps tree / full hash = %.3fx (wall)\n", t / f }'
