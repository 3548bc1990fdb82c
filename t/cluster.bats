#!/usr/bin/env bats
# Two nodes of a cluster, simulated as two MVM_HOMEs (a, b) sharing one
# directory: a plan is admitted at most once in the cluster (lib/cluster.h),
# and the nodes' logs verify as one trail (mvmctl audit collect,
# audit-verify -m; lib/auditset.h).  Nothing boots: admission refuses
# before vm-boot starts a VMM.

load helper
load plan-helper
load fake-vm

setup() {
	T=$BATS_TEST_TMPDIR
	mk_image
	mk_keys                        # the signer: the test's own MVM_HOME
	E="$T/plan.dsse.json"
	mk_plan | plan-sign >"$E"
	PID=$(payload_of "$E" | jq -r .plan_id)
	TENANT=$(payload_of "$E" | jq -r .tenant)
	for n in a b; do               # each node: its own audit key, trusts the signer
		MVM_HOME="$T/$n" plan-keygen >/dev/null
		cp "$MVM_HOME/keys/host-signer.pub" "$T/$n/trust/signer.pub"
	done
	unset MVM_CLUSTER_DIR MVM_NODE SLURMD_NODENAME
}

teardown() {
	[ ! -f "$T/run/pid" ] || kill "$(cat "$T/run/pid")" 2>/dev/null || true
}

# on NODE CMD...: run CMD as node NODE of the cluster sharing $T/shared.
on() {
	MVM_HOME="$T/$1" MVM_NODE=$1 MVM_CLUSTER_DIR="$T/shared" "${@:2}"
}

# admit NODE: admission as the make flow does it: plan-verify, then the
# verdict in the node's log (the tenant's).
admit() {
	on "$1" plan-verify --image "$IMG" "$E" >/dev/null &&
		on "$1" audit-append -p "$E" -e plan.admitted >/dev/null
}

verify_trail() {
	audit-verify -m -k "$T/a/keys/host-signer.pub" -k "$T/b/keys/host-signer.pub" "$@"
}

@test "admitted on node a, then refused on a and on b (replay); b's log says so; the trail counts one admission" {
	admit a
	[ -f "$T/shared/nonces/$(payload_of "$E" | jq -r .nonce)" ]
	run -1 --separate-stderr on a vm-boot -i "$IMG" "$E"
	[[ $stderr == *": replay: nonce "*" was already admitted (plan $PID)"* ]]
	run -1 --separate-stderr on b vm-boot -i "$IMG" "$E"
	[[ $stderr == *": replay: nonce "*" was already admitted (plan $PID)"* ]]
	# b's own store never saw the nonce: the cluster's refused it
	[ ! -e "$T/b/nonces/$(payload_of "$E" | jq -r .nonce)" ]
	run -0 jq -r '[.seq, .event, .plan_id, .labels.node] | join(" ")' "$T/b/audit/$TENANT.jsonl"
	[ "$output" = "1 plan.rejected.replay $PID b" ]
	validate audit-entry.schema.json "$T/b/audit/$TENANT.jsonl"
	run -0 jq -r '[.seq, .event, .labels.node] | join(" ")' "$T/a/audit/$TENANT.jsonl"
	[ "$output" = "1 plan.admitted a
2 plan.rejected.replay a" ]

	run -0 mvmctl audit collect "$T/trail" "$T/a/audit/$TENANT.jsonl" "$T/b/audit/$TENANT.jsonl"
	[ "$output" = "{\"action\":\"new\",\"log\":\"$T/trail/a/$TENANT.jsonl\",\"node\":\"a\"}
{\"action\":\"new\",\"log\":\"$T/trail/b/$TENANT.jsonl\",\"node\":\"b\"}" ]
	cmp "$T/a/audit/$TENANT.jsonl" "$T/trail/a/$TENANT.jsonl"
	cmp "$T/b/audit/$TENANT.jsonl.checkpoint" "$T/trail/b/$TENANT.jsonl.checkpoint"
	run -0 verify_trail "$T/trail"
	[ "$output" = '{"admitted":1,"entries":3,"failed":0,"launched":0,"logs":2,"nodes":2,"refused":2}' ]
	# the logs named one by one: the same
	run -0 verify_trail "$T/trail/a/$TENANT.jsonl" "$T/trail/b/$TENANT.jsonl"
	[ "$output" = '{"admitted":1,"entries":3,"failed":0,"launched":0,"logs":2,"nodes":2,"refused":2}' ]
}

@test "a second admission (b without the shared store) is a correctly signed log, and the trail names it" {
	admit a
	# b forgets the cluster: its own store admits the plan again
	MVM_HOME="$T/b" MVM_NODE=b plan-verify --image "$IMG" "$E" >/dev/null
	MVM_HOME="$T/b" MVM_NODE=b audit-append -p "$E" -e plan.admitted >/dev/null
	run -0 audit-verify -k "$T/b/keys/host-signer.pub" "$T/b/audit/$TENANT.jsonl"
	mvmctl audit collect "$T/trail" "$T"/?/audit/"$TENANT.jsonl" >/dev/null
	run -1 --separate-stderr verify_trail "$T/trail"
	[ "$output" = "{\"log\":\"$T/trail/b/$TENANT.jsonl\",\"node\":\"b\",\"plan_id\":\"$PID\",\"seq\":1,\"violation\":\"admitted_twice\"}" ]
	[ "$stderr" = "audit-verify: $T/trail/b/$TENANT.jsonl: node b: seq 1: plan $PID admitted twice (first: node a, $T/trail/a/$TENANT.jsonl seq 1)" ]
	run -1 verify_trail -q "$T/trail"
	[ -z "$output" ]
}

@test "a launch without its admission in the same node's log fails the trail" {
	on a audit-append -p "$E" -e plan.launched >/dev/null
	mvmctl audit collect "$T/trail" "$T/a/audit/$TENANT.jsonl" >/dev/null
	run -1 --separate-stderr verify_trail "$T/trail"
	[ "$(jq -r .violation <<<"$output")" = launched_unadmitted ]
	[[ $stderr == *"/trail/a/$TENANT.jsonl: node a: seq 1: plan $PID launched without its admission before it in this log" ]]
	# admitted on a, launched on b: b's log has no admission before it
	rm -r "$T/a/audit" "$T/trail"
	admit a
	on b audit-append -p "$E" -e plan.launched >/dev/null
	on a audit-append -p "$E" -e plan.launched >/dev/null
	mvmctl audit collect "$T/trail" "$T"/?/audit/"$TENANT.jsonl" >/dev/null
	run -1 verify_trail "$T/trail"
	[ "$(jq -r '[.node, .seq, .violation] | join(" ")' <<<"$output")" = "b 1 launched_unadmitted" ]
	# without b's log, a's admission then launch verify
	run -0 verify_trail "$T/trail/a/$TENANT.jsonl"
	[ "$output" = '{"admitted":1,"entries":2,"failed":0,"launched":1,"logs":1,"nodes":1,"refused":0}' ]
}

@test "two nodes racing to admit one plan: exactly one admits" {
	for round in 1 2 3; do
		mk_plan | plan-sign >"$T/r$round.json"
		for i in 1 2 3 4 5 6; do
			n=$([ $((i % 2)) = 0 ] && echo a || echo b)
			( st=0
			  on $n plan-verify "$T/r$round.json" >/dev/null 2>&1 || st=$?
			  echo $st >"$T/st.$round.$i" ) &
		done
		wait
		[ "$(cat "$T"/st.$round.* | grep -c '^0$')" -eq 1 ]
		[ "$(cat "$T"/st.$round.* | grep -c '^1$')" -eq 5 ]
	done
}

@test "the cluster from \$MVM_HOME/cluster.conf; a malformed one, a bad node id: status 3" {
	admit a
	printf '# the cluster\ndir=%s\nnode=b\n' "$T/shared" >"$T/b/cluster.conf"
	run -1 --separate-stderr env MVM_HOME="$T/b" plan-verify "$E"
	[[ $stderr == *": replay: "* ]]
	MVM_HOME="$T/b" audit-append -p "$E" -e plan.rejected.replay >/dev/null
	[ "$(jq -r .labels.node "$T/b/audit/$TENANT.jsonl")" = b ]
	printf 'dir=shared\n' >"$T/b/cluster.conf"
	run -3 --separate-stderr env MVM_HOME="$T/b" plan-verify "$E"
	[ "$stderr" = "plan-verify: cluster.conf:1: the cluster directory must be an absolute path" ]
	printf 'nodes=b\n' >"$T/b/cluster.conf"
	run -3 env MVM_HOME="$T/b" plan-verify "$E"
	run -3 --separate-stderr env MVM_HOME="$T/a" MVM_NODE=../x plan-verify "$E"
	[[ $stderr == "plan-verify: MVM_NODE: a node id is 1 to 64 of "* ]]
	# the node's label is its own: another node's is refused
	run -1 on a audit-append -p "$E" -e plan.launched -l node=b
	# no MVM_HOME nor HOME: no cluster.conf to read, every path given
	run -0 env -u HOME -u MVM_HOME audit-append -s "$T/a/keys/host-signer.ed25519" -f "$T/x.jsonl" -p "$E" -e plan.admitted
	# no cluster, no node: entries as before, without the label
	audit-append -p "$E" -e plan.admitted >/dev/null
	[ "$(jq -c .labels.node "$MVM_HOME/audit/$TENANT.jsonl")" = null ]
}

@test "collect: a grown log replaces its copy; a different one is refused; a log without a node is refused" {
	admit a
	L="$T/a/audit/$TENANT.jsonl"
	run -0 mvmctl audit collect "$T/trail" "$L"
	run -0 mvmctl audit collect "$T/trail" "$L"
	[ "$(jq -r .action <<<"$output")" = unchanged ]
	on a audit-append -p "$E" -e plan.launched >/dev/null
	run -0 mvmctl audit collect "$T/trail" "$L"
	[ "$(jq -r .action <<<"$output")" = extended ]
	cmp "$L" "$T/trail/a/$TENANT.jsonl"
	cmp "$L.checkpoint" "$T/trail/a/$TENANT.jsonl.checkpoint"
	# another log of node a under the same name: not overwritten
	mkdir "$T/other"
	on a audit-append -f "$T/other/$TENANT.jsonl" -p "$E" -e plan.failed >/dev/null
	cp "$T/trail/a/$TENANT.jsonl" "$T/before"
	run -1 --separate-stderr mvmctl audit collect "$T/trail" "$T/other/$TENANT.jsonl"
	[[ $stderr == *"$T/trail/a/$TENANT.jsonl holds a different log than $T/other/$TENANT.jsonl (not a prefix of it): not overwritten" ]]
	cmp "$T/before" "$T/trail/a/$TENANT.jsonl"
	# a log no node wrote
	audit-append -f "$T/c.jsonl" -p "$E" -e plan.admitted >/dev/null
	run -1 --separate-stderr mvmctl audit collect "$T/trail" "$T/c.jsonl"
	[[ $stderr == *"no entry names its node (label node): not the log of a cluster's node" ]]
	run -2 mvmctl audit collect "$T/trail"
}

@test "audit-verify -m: a node's log that fails alone fails the trail; usage" {
	admit a
	mvmctl audit collect "$T/trail" "$T/a/audit/$TENANT.jsonl" >/dev/null
	# a copy of b's key is not a's: a's signatures do not verify
	run -1 --separate-stderr audit-verify -m -k "$T/b/keys/host-signer.pub" "$T/trail"
	[ "$(jq -r '[.node, .violation] | join(" ")' <<<"$output")" = "a log" ]
	[[ $stderr == "audit-verify: $T/trail/a/$TENANT.jsonl: checkpoint $T/trail/a/$TENANT.jsonl.checkpoint: "* ]]
	rm "$T/trail/a/$TENANT.jsonl.checkpoint"
	run -1 --separate-stderr verify_trail "$T/trail"
	[[ $stderr == *"$TENANT.jsonl: no checkpoint ("* ]]
	run -4 verify_trail "$T/not-there"
	mkdir "$T/empty"
	run -1 --separate-stderr verify_trail "$T/empty"
	[ "$stderr" = "audit-verify: $T/empty: no logs (NODE/NAME.jsonl) in it" ]
	run -2 audit-verify -m
	run -2 audit-verify -m --checkpoint "$T/x" "$T/trail"
}

@test "man page EXAMPLES: plan-verify(1) on another node; mvmctl(1) and audit-verify(1), a two-node trail" {
	cd "$T"
	mk_plan --tenant t | plan-sign >plan.dsse.json
	E="$T/plan.dsse.json"
	admit a
	# plan-verify(1): on another node of the same cluster (/shared/mvm is $T/shared)
	run -1 --separate-stderr env MVM_HOME="$T/b" MVM_CLUSTER_DIR="$T/shared" plan-verify plan.dsse.json
	[[ $stderr == "plan-verify: plan.dsse.json: replay: nonce "*" was already admitted (plan sha256:"*")" ]]
	run -1 on a vm-boot -i "$IMG" plan.dsse.json
	run -1 on b vm-boot -i "$IMG" plan.dsse.json
	cp a/keys/host-signer.pub a.pub
	cp b/keys/host-signer.pub b.pub
	# mvmctl(1)
	run -0 mvmctl audit collect trail a/audit/t.jsonl b/audit/t.jsonl
	[ "$output" = '{"action":"new","log":"trail/a/t.jsonl","node":"a"}
{"action":"new","log":"trail/b/t.jsonl","node":"b"}' ]
	run -0 audit-verify -m -k a.pub -k b.pub trail
	[ "$output" = '{"admitted":1,"entries":3,"failed":0,"launched":0,"logs":2,"nodes":2,"refused":2}' ]
	# audit-verify(1): the same, collect's output thrown away
	rm -r trail
	run -0 bash -c 'mvmctl audit collect trail a/audit/t.jsonl b/audit/t.jsonl >/dev/null'
	run -0 audit-verify -m -k a.pub -k b.pub trail
	[ "$output" = '{"admitted":1,"entries":3,"failed":0,"launched":0,"logs":2,"nodes":2,"refused":2}' ]
}

@test "the cluster's store forgets a nonce a day later than a node's own; an unreachable one admits nothing (4)" {
	entry() {   # entry DIR NONCE SECONDS_AGO: an entry whose valid_until is that long past
		mkdir -p "$1"
		printf '%s sha256:%064d\n' "$(date -u -d "@$(($(date +%s) - $3))" +%Y-%m-%dT%H:%M:%SZ)" 0 >"$1/$2"
	}
	entry "$T/shared/nonces" "$(printf '%032d' 1)" $((36 * 3600))   # 1.5 days
	entry "$T/shared/nonces" "$(printf '%032d' 2)" $((50 * 3600))   # over 2 days
	entry "$T/a/nonces" "$(printf '%032d' 3)" $((36 * 3600))
	on a plan-verify "$E" >/dev/null
	[ -f "$T/shared/nonces/$(printf '%032d' 1)" ]
	[ ! -e "$T/shared/nonces/$(printf '%032d' 2)" ]
	[ ! -e "$T/a/nonces/$(printf '%032d' 3)" ]
	# the shared directory is not a directory: nothing admitted, nothing spent
	mk_plan | plan-sign >"$T/p2.json"
	touch "$T/file"
	run -4 env MVM_HOME="$T/b" MVM_CLUSTER_DIR="$T/file" plan-verify "$T/p2.json"
	[ -z "$(ls "$T/b/nonces" 2>/dev/null)" ]
	run -0 on b plan-verify "$T/p2.json"
}

@test "audit-verify -m DIR takes DIR/NODE/NAME.jsonl, sorted, whatever the names hold; collect takes NAME.jsonl only" {
	admit a
	on b audit-append -p "$E" -e plan.rejected.replay >/dev/null
	mkdir -p "$T/tr[a]il*"
	mvmctl audit collect "$T/tr[a]il*" "$T/b/audit/$TENANT.jsonl" "$T/a/audit/$TENANT.jsonl" >/dev/null
	# not logs: a dot file, a name without .jsonl, a directory named .jsonl
	touch "$T/tr[a]il*/a/.x.jsonl" "$T/tr[a]il*/a/notes" "$T/tr[a]il*/.hidden.jsonl"
	mkdir "$T/tr[a]il*/b/d.jsonl"
	run -0 verify_trail "$T/tr[a]il*"
	[ "$output" = '{"admitted":1,"entries":2,"failed":0,"launched":0,"logs":2,"nodes":2,"refused":1}' ]
	cp "$T/a/audit/$TENANT.jsonl" "$T/x.log"
	run -1 --separate-stderr mvmctl audit collect "$T/trail" "$T/x.log"
	[ "$stderr" = "mvmctl: $T/x.log: not a log's name (NAME.jsonl)" ]
}

@test "vm-boot on two nodes against a stand-in QEMU: a boots and serves the plan, b refuses it; the trail has one admission, one launch" {
	fake_root
	fake_qemu
	run -0 on a vm-boot -d -b qemu -a tcg -S "$T/run" -i "$IMG" "$E"
	[ "$output" = "$T/run/v.sock" ]
	run -0 vsock-call -s "$T/run/v.sock" -r greet --input name=A
	[ "$output" = "hello, A" ]
	run -1 --separate-stderr on b vm-boot -b qemu -a tcg -S "$T/run2" -i "$IMG" "$E"
	[[ $stderr == *": replay: nonce "*" was already admitted (plan $PID)"* ]]
	[ ! -e "$T/run2/pid" ]
	pid=$(cat "$T/run/pid")
	kill "$pid"
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	run -1 kill -0 "$pid"
	run -0 mvmctl audit collect "$T/trail" "$T/a/audit/$TENANT.jsonl" "$T/b/audit/$TENANT.jsonl"
	run -0 jq -r '[.event, .labels.node] | join(" ")' "$T/trail/a/$TENANT.jsonl" "$T/trail/b/$TENANT.jsonl"
	[ "$output" = "plan.admitted a
plan.launched a
plan.rejected.replay b" ]
	run -0 verify_trail "$T/trail"
	[ "$output" = '{"admitted":1,"entries":3,"failed":0,"launched":1,"logs":2,"nodes":2,"refused":1}' ]
}
