#!/usr/bin/env bash
# bench/canon.sh — ir-canon and ir-hash against their peers, on one input, in one run.
#
#   bench/canon.sh [MB [SHAPE]]  (default 25; run from anywhere after `make`)
#
# SHAPE: a document dominated by one shape instead (bench/gen-shapes.py: small,
# nonascii, floats, strings, deep); `for s in small nonascii floats strings
# deep; do bench/canon.sh 10 $s; done` makes the per-shape table.
#
# Generates a deterministic IR-like document (bench/gen-ir-doc.py), checks that
# ir-canon, the Node reference implementation (npm `canonicalize`, installed
# into bench/work/) and `jq -cS .` produce the same bytes, then prints the wall
# time, the CPU time (user + system) and peak RSS of each (best of RUNS runs,
# wall and CPU each their own best) and the ratios, of wall and of CPU times:
#   ir-canon vs canonicalize (Node) and vs jq -cS .   — target >= 10x faster
#   ir-canon peak RSS / input size                    — target <= 3x
#   ir-hash vs sha256sum of the canonical bytes       — target <= 2x the time
# On a machine shared with other work the CPU times are the steadier figure
# (wall times there include waiting for a core); the load average at the
# start is printed with them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
mb=${1:-25}
shape=${2:-}
runs=${RUNS:-5}
work="$here/work"
mkdir -p "$work"
PATH="$root/bin:$PATH"

[ -x "$root/bin/ir-canon" ] || { echo "bench/canon.sh: run make first" >&2; exit 4; }
if [ ! -d "$work/node_modules/canonicalize" ]; then
	echo "installing canonicalize from the npm registry into $work" >&2
	(cd "$work" && npm install --no-audit --no-fund --silent canonicalize@5 >&2)
fi
cat >"$work/canon-node.mjs" <<'EOF'
import canonicalize from "canonicalize";
import { readFileSync } from "node:fs";
process.stdout.write(canonicalize(JSON.parse(readFileSync(process.argv[2], "utf8"))));
EOF

# cJSON, the peer the design card names (bench/cjson-canon.c: parse +
# cJSON_PrintUnformatted; it does not sort members, so its bytes differ and
# only its time is compared).  libcjson-dev is this bench's own dependency.
cjson=
if ! echo '#include <cjson/cJSON.h>' | cc -E - >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ] &&
	command -v apt-get >/dev/null; then
	echo "installing libcjson-dev (Debian) for the cJSON row" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libcjson-dev >&2 || true
fi
if cc -O2 -o "$work/cjson-canon" "$here/cjson-canon.c" -lcjson 2>/dev/null; then
	cjson=$work/cjson-canon
else
	echo "no cJSON row: libcjson-dev is not installed (apt-get install libcjson-dev)" >&2
fi

if [ -n "$shape" ]; then
	doc="$work/shape-$shape-$mb.json"
	[ -s "$doc" ] || python3 "$here/gen-shapes.py" "$shape" "$mb" >"$doc"
else
	doc="$work/doc-$mb.json"
	[ -s "$doc" ] || python3 "$here/gen-ir-doc.py" "$mb" >"$doc"
fi
size=$(stat -c %s "$doc")

# best wall time (s), best CPU time (user + system, s) and the largest peak
# RSS (KiB) over $runs runs of a command: times from bench/cputime.py (wait4,
# to the microsecond: /usr/bin/time's 10 ms steps decided the ratios of
# 0.05-0.1 s programs), peak RSS from /usr/bin/time
measure() {
	local best= cpu= rss=0 t m c i
	for ((i = 0; i < runs; i++)); do
		read -r t c < <(python3 "$here/cputime.py" "$@")
		/usr/bin/time -f '%M' -o "$work/time" "$@" >/dev/null
		read -r m <"$work/time"
		if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN{exit !(a<b)}'; then
			best=$t
		fi
		if [ -z "$cpu" ] || awk -v a="$c" -v b="$cpu" 'BEGIN{exit !(a<b)}'; then
			cpu=$c
		fi
		[ "$m" -le "$rss" ] || rss=$m
	done
	echo "$best $cpu $rss"
}

ir-canon "$doc" >"$work/out.ir-canon"
node "$work/canon-node.mjs" "$doc" >"$work/out.node"
jq -cS . "$doc" | head -c -1 >"$work/out.jq"
cmp "$work/out.ir-canon" "$work/out.node" || { echo "ir-canon and canonicalize differ" >&2; exit 1; }
# jq writes doubles with 17 digits, not ECMAScript's shortest form: on the
# shapes with floats its bytes differ, and only its time is compared.
if ! cmp -s "$work/out.ir-canon" "$work/out.jq"; then
	[ -n "$shape" ] || { echo "ir-canon and jq -cS differ" >&2; exit 1; }
	echo "jq -cS . differs from RFC 8785 on this input (its number form): time only"
fi
[ "$(ir-hash "$doc")" = "$(sha256sum <"$work/out.ir-canon" | cut -c1-64)" ]
echo "input: $doc, $size bytes; outputs identical; ir-hash = sha256sum of them"
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"

read -r t_ir c_ir m_ir < <(measure ir-canon "$doc")
read -r t_node c_node m_node < <(measure node "$work/canon-node.mjs" "$doc")
read -r t_jq c_jq m_jq < <(measure jq -cS . "$doc")
read -r t_hash c_hash m_hash < <(measure ir-hash "$doc")
read -r t_sha c_sha m_sha < <(measure sha256sum "$work/out.ir-canon")
t_cj=0 c_cj=0 m_cj=0
[ -z "$cjson" ] || read -r t_cj c_cj m_cj < <(measure "$cjson" "$doc")

awk -v s="$size" -v ti="$t_ir" -v ci="$c_ir" -v mi="$m_ir" -v tn="$t_node" -v cn="$c_node" \
	-v mn="$m_node" -v tj="$t_jq" -v cj="$c_jq" -v mj="$m_jq" -v th="$t_hash" -v ch="$c_hash" \
	-v mh="$m_hash" -v ts="$t_sha" -v cs="$c_sha" -v ms="$m_sha" \
	-v tc="$t_cj" -v cc="$c_cj" -v mc="$m_cj" -v runs="$runs" '
function ok(r, lo, hi) { return (lo != "" && r >= lo) || (hi != "" && r <= hi) ? "met" : "NOT met" }
function cpu(x) { return x > 0 ? x : 0.0001 }
BEGIN {
	printf "%-28s %9s %9s %10s\n", "command (best of " runs ")", "wall s", "CPU s", "peak RSS"
	printf "%-28s %9.3f %9.3f %7.1f MiB\n", "ir-canon", ti, ci, mi/1024
	printf "%-28s %9.3f %9.3f %7.1f MiB\n", "canonicalize (Node)", tn, cn, mn/1024
	printf "%-28s %9.3f %9.3f %7.1f MiB\n", "jq -cS .", tj, cj, mj/1024
	if (tc > 0) printf "%-28s %9.3f %9.3f %7.1f MiB\n", "cJSON parse+print (unsorted)", tc, cc, mc/1024
	printf "%-28s %9.3f %9.3f %7.1f MiB\n", "ir-hash", th, ch, mh/1024
	printf "%-28s %9.3f %9.3f %7.1f MiB\n", "sha256sum (canonical bytes)", ts, cs, ms/1024
	printf "ratio: canonicalize / ir-canon = %5.1fx wall, %5.1fx CPU (target >= 10: %s)\n", tn/ti, cn/cpu(ci), ok(cn/cpu(ci), 10, "")
	printf "ratio: jq -cS / ir-canon       = %5.1fx wall, %5.1fx CPU (target >= 10: %s)\n", tj/ti, cj/cpu(ci), ok(cj/cpu(ci), 10, "")
	if (tc > 0) printf "ratio: cJSON / ir-canon        = %5.1fx wall, %5.1fx CPU (a peer: no target)\n", tc/ti, cc/cpu(ci)
	printf "ratio: ir-canon peak RSS / input = %.2fx (target <= 3: %s)\n", mi*1024/s, ok(mi*1024/s, "", 3)
	printf "ratio: ir-hash / sha256sum     = %5.2fx wall, %5.2fx CPU (target <= 2: %s)\n", th/ts, ch/cpu(cs), ok(ch/cpu(cs), "", 2)
}'
