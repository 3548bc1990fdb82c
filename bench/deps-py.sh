#!/usr/bin/env bash
# bench/deps-py.sh — mvm-deps on pip-tools requirements.txt and on uv.lock
# against `pip install --no-deps --require-hashes` of the same wheels.
#
#   bench/deps-py.sh         (after `make`; no network; RUNS=3 by default)
#
# 30 tiny wheels the script writes (t/data/deps/mkwheel.py) in a local
# wheelhouse, locked twice: a requirements.txt with --hash, and a uv.lock
# (version 1, as uv writes it: the project a virtual package depending on
# the 30, each a registry package with one wheel; written by this script,
# uv is not installed here).  Cold: mvm-deps into an empty deps cache, with
# PIP_NO_INDEX and PIP_FIND_LINKS naming the wheelhouse; pip installs the
# requirements.txt with --no-index --find-links --target.  Cached: mvm-deps
# again with the entry in the cache.  Best of RUNS wall times; the load
# average before and after is printed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
work="$here/work/deps-py"
RUNS=${RUNS:-3}
PATH="$root/bin:$PATH"
rm -rf "$work"
mkdir -p "$work/req/src" "$work/uv/src" "$work/wh"
now() { date +%s.%N; }
best() { # command...: the best wall time of RUNS, after "prep" (a function)
	local b= t0 t1 d
	for _ in $(seq "$RUNS"); do
		prep
		t0=$(now); "$@" >/dev/null 2>&1; t1=$(now)
		d=$(echo "$t1 - $t0" | bc)
		if [ -z "$b" ] || [ "$(echo "$d < $b" | bc)" = 1 ]; then b=$d; fi
	done
	printf '%.3f' "$b"
}
ir() { printf '{"apps":[{"source":{"kind":"local_path","path":"src"},"dependencies":{"kind":"python","tool":"%s","lockfile":"%s"}}]}' "$@"; }
load0=$(cut -d' ' -f1-3 /proc/loadavg)

req=$work/req/src/requirements.txt uv=$work/uv/src/uv.lock
: >"$req"
printf 'version = 1\nrevision = 2\nrequires-python = ">=3.8"\n\n[[package]]\nname = "bench"\nversion = "0.1.0"\nsource = { virtual = "." }\ndependencies = [\n' >"$uv"
for i in $(seq 0 29); do printf '    { name = "pkg%d" },\n' "$i" >>"$uv"; done
printf ']\n' >>"$uv"
for i in $(seq 0 29); do
	w=$work/wh/pkg$i-1.0.0-py3-none-any.whl
	python3 "$root/t/data/deps/mkwheel.py" "$w" "pkg$i" 1.0.0
	h=$(sha256sum "$w" | cut -c1-64)
	printf 'pkg%d==1.0.0 \\\n    --hash=sha256:%s\n' "$i" "$h" >>"$req"
	printf '\n[[package]]\nname = "pkg%d"\nversion = "1.0.0"\nsource = { registry = "https://pypi.org/simple" }\nwheels = [\n    { url = "https://files.example/pkg%d-1.0.0-py3-none-any.whl", hash = "sha256:%s", size = %d },\n]\n' \
		"$i" "$i" "$h" "$(stat -c %s "$w")" >>"$uv"
done
ir pip_tools requirements.txt >"$work/req/ir.json"
ir uv uv.lock >"$work/uv/ir.json"
export PIP_NO_INDEX=1 PIP_FIND_LINKS=$work/wh
unset PIP_INDEX_URL PIP_CONFIG_FILE

cd "$work/req"
prep() { rm -rf cache; }
req_cold=$(best mvm-deps -c cache ir.json)
prep() { :; }
req_cached=$(best mvm-deps -c cache ir.json)
prep() { rm -rf target; }
pip_inst=$(best python3 -m pip install --no-deps --require-hashes --no-index --find-links "$work/wh" --target target -r src/requirements.txt)
req_vol=$(jq .volume_bytes cache/*/deps-meta.json)
inst=$(du -sb --apparent-size target | cut -f1)

cd "$work/uv"
prep() { rm -rf cache; }
uv_cold=$(best mvm-deps -c cache ir.json)
prep() { :; }
uv_cached=$(best mvm-deps -c cache ir.json)
uv_vol=$(jq .volume_bytes cache/*/deps-meta.json)
load1=$(cut -d' ' -f1-3 /proc/loadavg)

echo "load average: $load0 before, $load1 after"
printf '| lockfile | packages | mvm-deps cold | plain installer | ratio | mvm-deps cached | deps.ext4 | installed tree |\n|---|---|---|---|---|---|---|---|\n'
printf '| pip-tools 30 wheels (wheelhouse) | 30 | %s s | %s s (pip install --no-deps --require-hashes --target) | %.2f | %s s | %s B | %s B |\n' \
	"$req_cold" "$pip_inst" "$(echo "$req_cold / $pip_inst" | bc -l)" "$req_cached" "$req_vol" "$inst"
printf '| uv.lock 30 wheels (wheelhouse) | 30 | %s s | %s s (the same pip install) | %.2f | %s s | %s B | %s B |\n' \
	"$uv_cold" "$pip_inst" "$(echo "$uv_cold / $pip_inst" | bc -l)" "$uv_cached" "$uv_vol" "$inst"
