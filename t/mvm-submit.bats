#!/usr/bin/env bats
# mvm-submit / mvmctl submit (the tool's tests) on a real Slurm (issue 19): Debian's slurmctld
# and two slurmd compute nodes, n1 and n2, on this machine
# (tools/slurm-test-cluster), each node with a home of its own (MVM_NODE_HOME:
# keys, trust, nonces, audit log), the image staged in a shared directory.
# Three VMs boot in this file: two for the 2-task array, one cancelled.
# Without slurm (not installed, not root, or it does not come up) the tests
# that need it skip, saying why; the ones with a stand-in sbatch still run.

load helper

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	# the cluster's shared directory (lib/cluster.h): its nonce store makes
	# admission cluster-wide
	export MVM_HOME="$D/home" MVM_NODE_HOME="$D/nodes/%n" MVM_SLURM_SHARED="$D/shared" \
		MVM_CLUSTER_DIR="$D/cluster"
	"$MVM_ROOT/bin/plan-keygen" >/dev/null
	for n in n1 n2; do
		MVM_HOME="$D/nodes/$n" "$MVM_ROOT/bin/plan-keygen" >/dev/null
		cp "$MVM_HOME/keys/host-signer.pub" "$D/nodes/$n/trust/submitter.pub"
	done
	for i in $(seq 1 20); do printf '[["u%d"],{}]\n' "$i"; done >"$D/calls.jsonl"
	# stand-in images (what mvm-submit checks before sbatch reads only the
	# meta): two, another meta each
	for f in fake-image fake-image2; do
		mkdir -p "$D/$f"
		: >"$D/$f/rootfs.ext4"
		: >"$D/$f/vmlinux"
		echo "{\"name\":\"$f\"}" >"$D/$f/mvm-meta.json"
	done
	if [ -n "${MVM_SANITIZE:-}" ]; then
		echo "a SANITIZE=$MVM_SANITIZE build boots no VM (the plain build's pass runs slurm)" >"$D/no-slurm"
	elif [ "$(id -u)" != 0 ]; then
		echo "not root: slurmd runs jobs as their users" >"$D/no-slurm"
	elif ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
		echo "slurm-wlm or munge not installed (tools/install-deps.sh)" >"$D/no-slurm"
	elif ! SLURM_CONF=$("$MVM_ROOT/tools/slurm-test-cluster" up "$D/slurm" 2>"$D/slurm-up.err"); then
		echo "slurm did not come up: $(head -c 2000 "$D/slurm-up.err")" >"$D/no-slurm"
	fi
	[ -f "$D/no-slurm" ] && return 0
	export SLURM_CONF
	echo "# the hello image and the guest kernel (cached)" >&3
	shared_image "$SEED_IR" "$MVM_ROOT/examples/hello" >"$D/image"
}

teardown_file() {
	"$MVM_ROOT/tools/slurm-test-cluster" down "$D/slurm"
}

setup() {
	export MVM_HOME="$D/home"
	[ -f "$D/image" ] && IMG=$(cat "$D/image")
	[ -f "$D/slurm/slurm.conf" ] && export SLURM_CONF="$D/slurm/slurm.conf"
	return 0
}

need_slurm() {
	need_guest_agent
	[ ! -f "$D/no-slurm" ] || skip "$(cat "$D/no-slurm")"
}

# sign NAME: a fresh signed plan for the hello image, valid 10 minutes
sign() {
	plan-new --image "$IMG" --valid-for 600 "$SEED_IR" >"$D/$1.json"
	plan-sign "$D/$1.json" >"$D/$1.dsse.json"
}

# wait (at most 300 s) until nothing is queued or running
wait_idle() {
	for _ in $(seq 1 1500); do
		[ -z "$(squeue -h)" ] && return 0
		sleep 0.2
	done
	squeue >&2
	return 1
}

# every line of a results file against schemas/submit-result.schema.json
# (python3-jsonschema: a validator of its own)
results_valid() {
	/usr/bin/python3 -c 'import json, sys, jsonschema
v = jsonschema.Draft202012Validator(json.load(open(sys.argv[1])))
for line in open(sys.argv[2]):
    v.validate(json.loads(line))' "$MVM_ROOT/schemas/submit-result.schema.json" "$1"
}

# a node's audit log
log_of() { echo "$D/nodes/$1/audit/local.jsonl"; }

# a stand-in sbatch: records its arguments, answers job id 7 (no Slurm)
fake_sbatch() {
	cat >"$D/sbatch" <<-EOF
	#!/bin/sh
	printf '%s\n' "\$@" >>"$D/sbatch.args"
	echo "---" >>"$D/sbatch.args"
	echo 7
	EOF
	chmod +x "$D/sbatch"
	rm -f "$D/sbatch.args"
	export MVM_SBATCH="$D/sbatch"
}

# fsign NAME [plan-new options]: a signed plan for the stand-in image
fsign() {
	plan-new --image "$D/fake-image" --valid-for 600 "${@:2}" "$SEED_IR" | plan-sign >"$D/$1.dsse.json"
}

@test "mvmctl submit: 20 calls of the hello plan as a 2-task array through slurmctld: 20 hello lines in input order, nothing left" {
	need_slurm
	sign p0
	sign p1
	# --exclusive: a node a task, so that each node runs one
	run -0 mvmctl submit -w -i "$IMG" -o "$D/sub" "$D/calls.jsonl" "$D/p0.dsse.json" "$D/p1.dsse.json" -- --exclusive
	assert_output --regexp "^[0-9]+ $D/sub/results.jsonl\$"
	job=${output%% *}
	for i in $(seq 1 20); do
		printf '{"call":%d,"result":"hello, u%d"}\n' $((i - 1)) "$i"
	done >"$D/want"
	run -0 cmp "$D/want" "$D/sub/results.jsonl"
	results_valid "$D/sub/results.jsonl"
	wait_idle
	run -0 squeue -h
	assert_output ''
	# each node admitted and launched one plan; no VM, supervisor or state left
	for n in n1 n2; do
		run -0 jq -r .event "$(log_of $n)"
		assert_output $'plan.admitted\nplan.launched'
		run -0 audit-verify -k "$D/nodes/$n/keys/host-signer.pub" "$(log_of $n)"
	done
	run -1 pgrep -f "$D/sub/"
	# the tasks' state directories (the array's job ids and the merge's)
	for j in "$job" $((job + 1)) $((job + 2)); do
		run -1 compgen -G "/tmp/mvm-slurm.$j.*"
	done
	# the image was staged by its meta's digest
	[ -f "$D/shared/images/$(sha256sum <"$IMG/mvm-meta.json" | cut -c1-64)/rootfs.ext4" ]
}

@test "the same signed plan submitted again, to the same node and to the other: refused by admission on each, in its log; the collected trail verifies with one admission a plan" {
	need_slurm
	[ -f "$D/p0.dsse.json" ] || skip "needs the array test's plans"
	pid=$(jq -r .plan_id "$D/p0.json")
	# the node that admitted p0, and the other
	if grep -q "$pid" "$(log_of n1)"; then same=n1 other=n2; else same=n2 other=n1; fi
	for n in $same $other; do
		run -0 mvmctl submit -w -i "$IMG" -o "$D/replay-$n" "$D/calls.jsonl" "$D/p0.dsse.json" -- -w $n
		run -0 jq -r '[.call, .error, .status] | @tsv' "$D/replay-$n/results.jsonl"
		assert_line --index 0 $'0\tboot\t1'
		assert_equal "${#lines[@]}" 20
		results_valid "$D/replay-$n/results.jsonl"
		run -0 jq -r '[.event, .plan_id, .labels.node] | @tsv' "$(log_of $n)"
		assert_line --index $((${#lines[@]} - 1)) "plan.rejected.replay	$pid	$n"
	done
	wait_idle
	# one trail: each log verifies, and no plan is admitted twice (two plans,
	# each admitted once on one node, both launched, p0 refused twice)
	run -0 mvmctl audit collect "$D/trail" "$(log_of n1)" "$(log_of n2)"
	run -0 audit-verify -m -k "$D/nodes/n1/keys/host-signer.pub" -k "$D/nodes/n2/keys/host-signer.pub" "$D/trail"
	assert_output '{"admitted":2,"entries":6,"failed":0,"launched":2,"logs":2,"nodes":2,"refused":2}'
	run -0 jq -r 'select(.event == "plan.admitted") | .plan_id' "$(log_of n1)" "$(log_of n2)"
	assert_equal "$(printf '%s\n' "${lines[@]}" | grep -c "$pid")" 1
}

@test "scancel mid-call: no VM, no socket, plan.failed reason=cancelled in the node's log, unanswered calls cancelled" {
	need_slurm
	sign pc
	for i in $(seq 1 500); do printf '[["c%d"],{}]\n' "$i"; done >"$D/calls500.jsonl"
	run -0 mvmctl submit -i "$IMG" -o "$D/cancel" "$D/calls500.jsonl" "$D/pc.dsse.json" -- -w n2
	job=${output%% *}
	n=$(wc -l <"$(log_of n2)")
	# launched: the VM is answering the 500 calls
	for _ in $(seq 1 600); do
		[ "$(tail -n +$((n + 1)) "$(log_of n2)" | jq -r .event | grep -c launched)" = 1 ] && break
		sleep 0.2
	done
	run -0 scancel "$job"
	wait_idle
	run -0 jq -r '[.event, .labels.reason] | @tsv' "$(log_of n2)"
	assert_line --index $((${#lines[@]} - 2)) $'plan.launched\t'
	assert_line --index $((${#lines[@]} - 1)) $'plan.failed\tcancelled'
	run -0 audit-verify -k "$D/nodes/n2/keys/host-signer.pub" "$(log_of n2)"
	# every call has its line: answered, or cancelled
	run -0 jq -r 'if .result then "ok" else .error end' "$D/cancel/results.jsonl"
	assert_equal "${#lines[@]}" 500
	assert_line cancelled
	refute_line not_run
	results_valid "$D/cancel/results.jsonl"
	run -1 pgrep -f "$D/cancel/"
	run -1 compgen -G "/tmp/mvm-slurm.$job.*"
}

@test "mvm-submit: the job's resources from the plan, --array a plan a task, sbatch options after --" {
	fake_sbatch
	fsign f0
	fsign f1
	fsign f2
	run -0 mvm-submit -i "$D/fake-image" -o "$D/fake" -p mvm "$D/calls.jsonl" "$D/f0.dsse.json" "$D/f1.dsse.json" "$D/f2.dsse.json" -- --exclusive
	assert_output "7 $D/fake/results.jsonl"
	run -0 cat "$D/sbatch.args"
	# the seed's resources: 1 vCPU, 256 MiB (+ 256 for the VMM); 600 s: 10 min
	for o in --parsable --array=0-2 --cpus-per-task=1 --mem=512 --time=10 --partition=mvm \
		--exclusive --nodes=1 --ntasks=1 --dependency=afterany:7 "$D/fake/job.sh" "$D/fake/merge.sh"; do
		assert_line "$o"
	done
	# the options after -- go to both jobs (an --account, a --qos)
	[ "$(grep -c -- '^--exclusive$' "$D/sbatch.args")" = 2 ]
	# 20 calls over 3 tasks: 7, 7, 6, from calls 0, 7, 14
	run -0 wc -l "$D/fake/task/0/calls.jsonl" "$D/fake/task/2/calls.jsonl"
	assert_line --regexp '^ *7 .*/0/calls.jsonl$'
	assert_line --regexp '^ *6 .*/2/calls.jsonl$'
	run -0 cat "$D/fake/task/2/first"
	assert_output 14
	cmp "$D/f1.dsse.json" "$D/fake/task/1/plan.dsse.json"
}

@test "mvm-submit refuses: not the plans' image (1), the same plan twice (1), a closed window (1), a bad call (3), usage (2), an existing directory (1)" {
	fake_sbatch
	fsign r
	run -1 mvm-submit -i "$D/fake-image2" -o "$D/r1" "$D/calls.jsonl" "$D/r.dsse.json"
	assert_output --partial "not the plans' image"
	run -1 mvm-submit -i "$D/fake-image" -o "$D/r2" "$D/calls.jsonl" "$D/r.dsse.json" "$D/r.dsse.json"
	assert_output --partial 'one plan, one launch'
	fsign old --valid-for 60 --not-before 2020-01-01T00:00:00Z
	run -1 mvm-submit -i "$D/fake-image" -o "$D/r3" "$D/calls.jsonl" "$D/old.dsse.json"
	assert_output --partial 'window has closed'
	printf '[["a"],{}]\n["b"]\n' >"$D/bad.jsonl"
	run -3 mvm-submit -i "$D/fake-image" -o "$D/r4" "$D/bad.jsonl" "$D/r.dsse.json"
	assert_output --partial 'bad.jsonl: 2: not a call'
	printf '[["a"],{}]\n[x\n' >"$D/bad2.jsonl"
	run -3 mvm-submit -i "$D/fake-image" -o "$D/r4" "$D/bad2.jsonl" "$D/r.dsse.json"
	assert_output --regexp 'bad2.jsonl: 2:[0-9]+: '
	run -2 mvm-submit "$D/calls.jsonl" "$D/r.dsse.json"
	run -2 mvm-submit -i "$D/fake-image" -f yaml "$D/calls.jsonl" "$D/r.dsse.json"
	run -0 mvm-submit -i "$D/fake-image" -o "$D/r5" "$D/calls.jsonl" "$D/r.dsse.json"
	run -1 mvm-submit -i "$D/fake-image" -o "$D/r5" "$D/calls.jsonl" "$D/r.dsse.json"
	assert_output --partial 'one directory per submission'
	# nothing was submitted for the refused ones
	[ "$(grep -c -- '--array' "$D/sbatch.args")" = 1 ]
}

@test "make mvm-submit: MVM_TASKS fresh signed plans for the current image, one mvm-submit (stand-in sbatch)" {
	[ -n "${IMG:-}" ] || skip "needs the hello image, built when slurm is up: $(cat "$D/no-slurm")"
	fake_sbatch
	W="$D/proj"
	mkdir -p "$W"
	cp -R "$MVM_ROOT/examples/hello/." "$W/"
	rm -rf "$W/.mvm"
	seed_image_cache "$W/.mvm/image"
	cp "$D/calls.jsonl" "$W/calls.jsonl"
	run -0 make --no-print-directory -C "$W" MVM="$MVM_ROOT" MVM_BUILD_OPTS="--kernel $("$MVM_ROOT/libexec/mvm-build-kernel")" \
		MVM_TASKS=2 MVM_SBATCH_OPTS=--exclusive mvm-submit
	assert_line --index $((${#lines[@]} - 1)) "$W/.mvm/submit/0/results.jsonl"
	run -0 cat "$D/sbatch.args"
	assert_line --array=0-1
	assert_line --exclusive
	# two plans, two nonces, for the image the build made
	run -0 jq -r .nonce "$W/.mvm/submit/plans.0/0.json" "$W/.mvm/submit/plans.0/1.json"
	[ "${lines[0]}" != "${lines[1]}" ]
	cmp "$W/.mvm/submit/plans.0/1.dsse.json" "$W/.mvm/submit/0/task/1/plan.dsse.json"
}

@test "installed (make install's layout): job.sh names PREFIX/libexec's task and PREFIX/bin as MVM_BIN" {
	fake_sbatch
	fsign i0
	# as the Makefile installs: tools in PREFIX/bin, libexec programs in
	# PREFIX/share/mvm/libexec, linked from PREFIX/libexec
	P="$D/prefix"
	mkdir -p "$P/bin" "$P/share/mvm/libexec" "$P/libexec"
	cp "$MVM_ROOT/bin/mvm-submit" "$P/bin/"
	cp "$MVM_ROOT/libexec/mvm-slurm-task" "$P/share/mvm/libexec/"
	ln -s ../share/mvm/libexec/mvm-slurm-task "$P/libexec/mvm-slurm-task"
	run -0 "$P/bin/mvm-submit" -i "$D/fake-image" -o "$D/inst" "$D/calls.jsonl" "$D/i0.dsse.json"
	run -0 tail -n 1 "$D/inst/job.sh"
	assert_output "MVM_BIN='$P/bin' exec '$P/bin/../libexec/mvm-slurm-task' run '$D/inst' '$D/shared/images/$(sha256sum <"$D/fake-image/mvm-meta.json" | cut -c1-64)' json 30"
}

@test "a task killed by SIGKILL leaves its node-local state directory; the node's next task removes it (no Slurm: mvm-slurm-task with a stand-in vm-boot)" {
	t=$BATS_TEST_TMPDIR
	mkdir -p "$t/bin" "$t/sub/task/0"
	echo 0 >"$t/sub/task/0/first"
	echo plan >"$t/sub/task/0/event-prefix"
	echo '[["a"],{}]' >"$t/sub/task/0/calls.jsonl"
	: >"$t/sub/task/0/plan.dsse.json"
	# stand-ins: vm-boot --ready-fd 3 -S ST ... (ready at once, or never with
	# STUB_FAIL) and a vsock-call that does not answer; their pids in $t/pids
	printf '#!/bin/sh\necho $$ >>"%s/pids"\n[ -z "${STUB_FAIL:-}" ] || exit 1\necho "$4/v.sock" >&3\nexec sleep 300\n' \
		"$t" >"$t/bin/vm-boot"
	printf '#!/bin/sh\necho $$ >>"%s/pids"\nexec sleep 300\n' "$t" >"$t/bin/vsock-call"
	chmod +x "$t/bin/vm-boot" "$t/bin/vsock-call"
	j1=tidy-$$-a$RANDOM j2=tidy-$$-b$RANDOM   # (distinct even when $RANDOM repeats)
	SLURM_JOB_ID=$j1 MVM_BIN=$t/bin "$MVM_ROOT/libexec/mvm-slurm-task" run "$t/sub" "$t/img" json 30 \
		>/dev/null 2>&1 &
	task=$!
	# in its call (both stand-ins started), bounded at 30 s
	for _ in $(seq 300); do [ "$(wc -l <"$t/pids" 2>/dev/null)" = 2 ] && break; sleep 0.1; done
	run -0 wc -l <"$t/pids"
	assert_output 2
	# SIGKILL: no trap runs; Slurm kills the step's other processes too
	kill -KILL "$task"
	while read -r p; do kill -KILL "$p"; done <"$t/pids"
	wait "$task" || true
	run -0 compgen -G "/tmp/mvm-slurm.$j1.*"
	# the next task on the node (its VM does not boot: it ends at once)
	STUB_FAIL=1 SLURM_JOB_ID=$j2 MVM_BIN=$t/bin run -1 "$MVM_ROOT/libexec/mvm-slurm-task" run "$t/sub" "$t/img" json 30
	run -0 jq -c . "$t/sub/task/0/results.jsonl"
	assert_output '{"call":0,"error":"boot","status":1}'
	run -1 compgen -G "/tmp/mvm-slurm.$j1.*"
	run -1 compgen -G "/tmp/mvm-slurm.$j2.*"
}
