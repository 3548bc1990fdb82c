#!/usr/bin/env bash
# bench/slurm.sh — a 20-call batch through a real Slurm, against the same
# batch run locally, in one run.
#
#   bench/slurm.sh [RUNS]     (default 3; after `make`; as root; boots 4*RUNS VMs)
#
# Each round, interleaved (TCG's speed here drifts from minute to minute):
#   slurm   mvm-submit of the seed's hello image with 20 calls and two signed
#           plans: a 2-task array on tools/slurm-test-cluster's two nodes
#           (--exclusive: a node a task), until results.jsonl is written;
#   local   the same: two plans booted with vm-boot -d side by side on this
#           host, 10 calls each through vsock-call, the VMs stopped.
# From the tasks' own stamps (libexec/mvm-slurm-task) it splits the Slurm
# time: submit (mvm-submit: checks, staging by hard links, two sbatch),
# scheduling (submit returned -> the first task started), boot (task start
# -> VM ready, admission included), calls (ready -> last call answered),
# stop (VM stopped, results written) and merge (the last task's end ->
# results.jsonl, the dependent job).  Prints medians, the time to the first
# result, calls per second, and the ratios slurm/local.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
runs=${1:-3}
work="$here/work/slurm"
PATH="$root/bin:$PATH"
export MVM_HOME="$work/home" MVM_NODE_HOME="$work/nodes/%n" MVM_SLURM_SHARED="$work/shared" \
	MVM_CLUSTER_DIR="$work/cluster"
"$root/tools/slurm-test-cluster" down "$work/slurm" 2>/dev/null || true
rm -rf "$work"
mkdir -p "$work"
plan-keygen >/dev/null
for n in n1 n2; do
	MVM_HOME="$work/nodes/$n" plan-keygen >/dev/null
	cp "$MVM_HOME/keys/host-signer.pub" "$work/nodes/$n/trust/submitter.pub"
done
kernel=$("$root/libexec/mvm-build-kernel")
img=$(mvm-build --backend debian -q --kernel "$kernel" -C "$root/examples/hello" \
	-o "$work/images" "$root/t/data/seed-ir.json")
SLURM_CONF=$("$root/tools/slurm-test-cluster" up "$work/slurm")
export SLURM_CONF
trap '"$root/tools/slurm-test-cluster" down "$work/slurm"' EXIT
for i in $(seq 1 20); do printf '[["u%d"],{}]\n' "$i"; done >"$work/calls.jsonl"
load0=$(cut -d' ' -f1-3 /proc/loadavg)
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
sign() { plan-new --image "$img" --valid-for 600 "$root/t/data/seed-ir.json" | plan-sign >"$1"; }
# stamp FILE STEP: the task's stamp
stamp() { awk -v s="$2" '$1 == "mvm-slurm-task:" && $2 == s { print $3 }' "$1"; }
: >"$work/rows"

for r in $(seq 1 "$runs"); do
	# --- slurm
	sign "$work/a$r.dsse.json"
	sign "$work/b$r.dsse.json"
	o="$work/sub$r"
	t0=$(now)
	mvm-submit -i "$img" -o "$o" "$work/calls.jsonl" "$work/a$r.dsse.json" "$work/b$r.dsse.json" \
		-- --exclusive >/dev/null
	t1=$(now)
	while [ ! -f "$o/results.jsonl" ]; do sleep 0.05; done
	t2=$(now)
	[ "$(grep -c '"result":"hello, ' "$o/results.jsonl")" = 20 ] || { echo "slurm: not 20 results" >&2; exit 1; }
	s0=$(stamp "$o/task/0/slurm.out" start) s1=$(stamp "$o/task/1/slurm.out" start)
	start=$(printf '%s\n%s\n' "$s0" "$s1" | sort -g | head -1)
	ready=$(printf '%s\n%s\n' "$(stamp "$o/task/0/slurm.out" ready)" "$(stamp "$o/task/1/slurm.out" ready)" | sort -g | tail -1)
	first=$(printf '%s\n%s\n' "$(stamp "$o/task/0/slurm.out" first)" "$(stamp "$o/task/1/slurm.out" first)" | sort -g | head -1)
	calls=$(printf '%s\n%s\n' "$(stamp "$o/task/0/slurm.out" calls)" "$(stamp "$o/task/1/slurm.out" calls)" | sort -g | tail -1)
	end=$(printf '%s\n%s\n' "$(stamp "$o/task/0/slurm.out" end)" "$(stamp "$o/task/1/slurm.out" end)" | sort -g | tail -1)
	while [ -n "$(squeue -h)" ]; do sleep 0.1; done

	# --- local: the same two plans' worth, side by side on this host
	sign "$work/la$r.dsse.json"
	sign "$work/lb$r.dsse.json"
	l0=$(now)
	for x in a b; do
		(
			st=$(mktemp -d /tmp/mvm-bench.XXXXXX)
			MVM_HOME="$work/nodes/n1" vm-boot -d -S "$st" -i "$img" "$work/l$x$r.dsse.json" >/dev/null 2>&1
			k=0
			sed -n "$([ $x = a ] && echo 1,10p || echo 11,20p)" "$work/calls.jsonl" | while IFS= read -r line; do
				printf '%s' "$line" | vsock-call -s "$st/v.sock" >>"$work/local$r.$x"
				[ $k -gt 0 ] || now >"$work/lfirst$r.$x"
				k=$((k + 1))
			done
			kill "$(cat "$st/pid")"
			while [ -f "$st/pid" ]; do sleep 0.05; done
			rm -rf "$st"
		) &
	done
	wait
	l1=$(now)
	[ "$(cat "$work/local$r.a" "$work/local$r.b" | grep -c '"hello, ')" = 20 ] || { echo "local: not 20 results" >&2; exit 1; }
	lfirst=$(cat "$work/lfirst$r.a" "$work/lfirst$r.b" | sort -g | head -1)

	echo "$t0 $t1 $start $ready $first $calls $end $t2 $l0 $lfirst $l1" >>"$work/rows"
done

# columns: 1 t0, 2 submitted, 3 first task start, 4 both ready, 5 first result,
# 6 last call, 7 last task end, 8 results.jsonl, 9 local t0, 10 local first, 11 local end
m() { awk "{ print $1 }" "$work/rows" | median; }
submit=$(m '$2 - $1') sched=$(m '$3 - $2') boot=$(m '$4 - $3') callt=$(m '$6 - $4')
stop=$(m '$7 - $6') merge=$(m '$8 - $7') total=$(m '$8 - $1') first=$(m '$5 - $1')
ltotal=$(m '$11 - $9') lfirst=$(m '$10 - $9')
echo "bench/slurm.sh $runs: medians of $runs rounds; load average at start $load0, at end $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-44s %8.2f s\n' "slurm: submit (checks, staging, 2 sbatch)" "$submit" \
	"slurm: scheduling (-> first task started)" "$sched" \
	"slurm: boot (-> both VMs ready)" "$boot" \
	"slurm: calls (-> last call answered)" "$callt" \
	"slurm: stop (VM stopped, results written)" "$stop" \
	"slurm: merge (dependent job)" "$merge" \
	"slurm: total, submit -> results.jsonl" "$total" \
	"slurm: submit -> first result" "$first" \
	"local: total" "$ltotal" \
	"local: start -> first result" "$lfirst"
awk -v a="$total" -v b="$ltotal" -v c="$first" -v d="$lfirst" 'BEGIN {
	printf "calls/s: slurm %.2f, local %.2f; total slurm/local %.2fx; first result slurm/local %.2fx\n",
		20 / a, 20 / b, a / b, c / d }'
