#!/usr/bin/env bash
# bench/deps.sh — mvm-deps against the plain installers of the same lockfile.
#
#   bench/deps.sh            (after `make`; npm registry reachable; RUNS=3 by default)
#
# Node: express 4.21.2's package-lock.json (npm writes it here, from the
# registry npm is configured for).  Cold: `mvm-deps` into an empty deps cache
# against `npm ci --ignore-scripts --omit=dev` with an empty npm cache, both
# fetching from the registry, alternating run by run (the same load for both).
# The same project locked by pnpm 9 and yarn 1 (`npx pnpm@9`, `npx yarn@1`,
# skipped when npx cannot get them): mvm-deps cold and cached.  Python: 30 tiny wheels the script writes
# (t/data/deps/mkwheel.py) in a local wheelhouse; cold `mvm-deps` against
# `pip install --no-deps --require-hashes --no-index --find-links --target`.
# Cached: mvm-deps again with the entry in the cache.  Size: deps.ext4 against
# the installed tree (du --apparent-size).  Best of RUNS wall times.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
work="$here/work/deps"
RUNS=${RUNS:-3}
PATH="$root/bin:$PATH"
rm -rf "$work"
mkdir -p "$work/node/src" "$work/py/src" "$work/wh"
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
ir() { printf '{"apps":[{"source":{"kind":"local_path","path":"src"},"dependencies":{"kind":"%s","tool":"%s","lockfile":"%s"}}]}' "$@"; }

# ---- Node ----
cd "$work/node"
echo '{"name":"b","version":"1.0.0","private":true,"dependencies":{"express":"4.21.2"}}' >src/package.json
(cd src && npm install --package-lock-only --ignore-scripts --no-audit --no-fund >/dev/null 2>&1)
ir node npm package-lock.json >ir.json
npkgs=$(jq '[.packages | keys[] | select(startswith("node_modules/"))] | length' src/package-lock.json)
node_cold= npm_ci=
runs=$RUNS
for _ in $(seq "$runs"); do
	RUNS=1
	prep() { rm -rf cache; }
	t=$(best mvm-deps -c cache ir.json)
	if [ -z "$node_cold" ] || [ "$(echo "$t < $node_cold" | bc)" = 1 ]; then node_cold=$t; fi
	prep() { rm -rf npmci npmcache; cp -R src npmci; }
	t=$(best npm ci --prefix npmci --ignore-scripts --omit=dev --no-audit --no-fund --cache "$work/node/npmcache")
	if [ -z "$npm_ci" ] || [ "$(echo "$t < $npm_ci" | bc)" = 1 ]; then npm_ci=$t; fi
done
RUNS=$runs
prep() { :; }
node_cached=$(best mvm-deps -c cache ir.json)
node_vol=$(jq .volume_bytes cache/*/deps-meta.json)
node_inst=$(du -sb --apparent-size npmci/node_modules | cut -f1)
other=
for tool in pnpm yarn; do
	mkdir -p "$work/$tool/src"
	cp src/package.json "$work/$tool/src/"
	if [ $tool = pnpm ]; then
		(cd "$work/$tool/src" && npx --yes pnpm@9 install --lockfile-only --ignore-scripts >/dev/null 2>&1) || continue
		lf=pnpm-lock.yaml
	else
		(cd "$work/$tool/src" && npx --yes yarn@1 install --ignore-scripts --no-progress >/dev/null 2>&1 && rm -rf node_modules) || continue
		lf=yarn.lock
	fi
	ir node $tool $lf >"$work/$tool/ir.json"
	prep() { rm -rf "$work/$tool/cache"; }
	c=$(best mvm-deps -c "$work/$tool/cache" "$work/$tool/ir.json")
	prep() { :; }
	h=$(best mvm-deps -c "$work/$tool/cache" "$work/$tool/ir.json")
	n=$(jq '.packages | length' "$work/$tool"/cache/*/deps-meta.json)
	other="$other$(printf '| %s express 4.21.2 | %s | %s s | %s s (npm ci, the npm lockfile) | %.2f | %s s | %s B | %s B |' \
		"$tool" "$n" "$c" "$npm_ci" "$(echo "$c / $npm_ci" | bc -l)" "$h" "$(jq .volume_bytes "$work/$tool"/cache/*/deps-meta.json)" "$node_inst")
"
done

# ---- Python ----
cd "$work/py"
: >src/requirements.txt
for i in $(seq 0 29); do
	python3 "$root/t/data/deps/mkwheel.py" "$work/wh/pkg$i-1.0.0-py3-none-any.whl" "pkg$i" 1.0.0
	printf 'pkg%d==1.0.0 \\\n    --hash=sha256:%s\n' "$i" "$(sha256sum "$work/wh/pkg$i-1.0.0-py3-none-any.whl" | cut -c1-64)" >>src/requirements.txt
done
ir python pip_tools requirements.txt >ir.json
export PIP_NO_INDEX=1 PIP_FIND_LINKS=$work/wh
unset PIP_INDEX_URL PIP_CONFIG_FILE
prep() { rm -rf cache; }
py_cold=$(best mvm-deps -c cache ir.json)
prep() { :; }
py_cached=$(best mvm-deps -c cache ir.json)
prep() { rm -rf target; }
pip_inst=$(best python3 -m pip install --no-deps --require-hashes --no-index --find-links "$work/wh" --target target -r src/requirements.txt)
py_vol=$(jq .volume_bytes cache/*/deps-meta.json)
py_inst=$(du -sb --apparent-size target | cut -f1)

printf '| lockfile | packages | mvm-deps cold | plain installer | ratio | mvm-deps cached | deps.ext4 | installed tree |\n|---|---|---|---|---|---|---|---|\n'
printf '| npm express 4.21.2 | %s | %s s | %s s (npm ci --ignore-scripts) | %.2f | %s s | %s B | %s B |\n' \
	"$npkgs" "$node_cold" "$npm_ci" "$(echo "$node_cold / $npm_ci" | bc -l)" "$node_cached" "$node_vol" "$node_inst"
printf '%s' "$other"
printf '| pip 30 wheels (wheelhouse) | 30 | %s s | %s s (pip install --no-deps --require-hashes) | %.2f | %s s | %s B | %s B |\n' \
	"$py_cold" "$pip_inst" "$(echo "$py_cold / $pip_inst" | bc -l)" "$py_cached" "$py_vol" "$py_inst"
