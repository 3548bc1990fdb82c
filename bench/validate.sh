#!/usr/bin/env bash
# bench/validate.sh — ir-validate on wide IRs: growth from 1k to 100k entries.
#
#   bench/validate.sh [OLD]   (run from anywhere after `make`)
#
# For each shape (N function entrypoints; N addons: bench/gen-ir-wide.py) and
# N in 1,000 10,000 20,000 100,000: the best wall time of RUNS runs (default
# 5) of `ir-validate FILE` (exit 0: no duplicates), with user+system CPU time,
# the growth against the 1k row (linear: 10x, 20x, 100x the entries), and
# ir-canon on the same file as the floor (reading and parsing it).  Target:
# 20,000 of each in < 0.1 s.  OLD, an ir-validate built from an older commit,
# is timed too, once, up to 20,000 entries (it was quadratic: ~10 s at 20k).
# Prints a Markdown table.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
runs=${RUNS:-5}
old=${1:-}
work="$here/work/validate"
mkdir -p "$work"
[ -x "$root/bin/ir-validate" ] || { echo "bench/validate.sh: run make first" >&2; exit 4; }

# best "wall cpu" (s) over n runs of a command
measure() { # n cmd...
	local n=$1 best= cpu= i w u s
	shift
	for ((i = 0; i < n; i++)); do
		TIMEFORMAT='%R %U %S'
		{ time "$@" >/dev/null 2>&1; } 2>"$work/t"
		read -r w u s <"$work/t"
		if [ -z "$best" ] || awk "BEGIN { exit !($w < $best) }"; then
			best=$w cpu=$(awk "BEGIN { printf \"%.3f\", $u + $s }")
		fi
	done
	echo "$best $cpu"
}

echo "| shape | entries | bytes | ir-validate wall | cpu | growth vs 1k | ir-canon wall | old ir-validate |"
echo "|---|---|---|---|---|---|---|---|"
for shape in functions addons; do
	base=
	for n in 1000 10000 20000 100000; do
		f="$work/$shape-$n.json"
		[ -s "$f" ] || python3 "$here/gen-ir-wide.py" "$shape" "$n" >"$f"
		"$root/bin/ir-validate" "$f"      # valid: no duplicates to print
		read -r w c < <(measure "$runs" "$root/bin/ir-validate" "$f")
		read -r cw _ < <(measure "$runs" "$root/bin/ir-canon" "$f")
		[ -n "$base" ] || base=$w
		growth=$(awk "BEGIN { printf \"%.1fx\", $w / ($base > 0 ? $base : 0.001) }")
		o="-"
		if [ -n "$old" ] && [ "$n" -le 20000 ]; then
			read -r o _ < <(measure 1 "$old" "$f")
			o="$o s"
		fi
		echo "| $shape | $n | $(stat -c %s "$f") | $w s | $c s | $growth | $cw s | $o |"
	done
done
