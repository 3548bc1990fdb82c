#!/usr/bin/env bats
# audit-append: signed, hash-chained, locked, fsynced appends.

load helper
load plan-helper

setup() {
	mk_image
	mk_keys
	E="$BATS_TEST_TMPDIR/plan.dsse.json"
	mk_plan | plan-sign >"$E"
	L="$BATS_TEST_TMPDIR/audit.jsonl"
	PID=sha256:$(printf '%064d' 1)
	IRH=$(printf '%064d' 2)
}

line_hashes() {
	while IFS= read -r l; do printf '%s' "$l" | sha256sum | cut -c1-64; done <"$1"
}

@test "the first entry: seq 1, prev 64 zeros, labels from the plan, signed; prints seq and hash" {
	run -0 audit-append -f "$L" -e plan.admitted -p "$E" -l signer=host
	[ "$(wc -l <"$L")" -eq 1 ]
	assert_output "1 $(head -c -1 "$L" | sha256sum | cut -c1-64)"
	[ "$(ir-canon "$L")" = "$(head -c -1 "$L")" ]
	plan=$(payload_of "$E")
	[ "$(jq -r .seq "$L")" = 1 ]
	[ "$(jq -r .prev "$L")" = "$(printf '%064d' 0)" ]
	[ "$(jq -r .event "$L")" = plan.admitted ]
	[ "$(jq -r .plan_id "$L")" = "$(printf '%s' "$plan" | jq -r .plan_id)" ]
	[ "$(jq -r .ir_hash "$L")" = "$(ir-hash "$SEED_IR")" ]
	[ "$(jq -r .plan_version "$L")" = 1 ]
	[ "$(jq -c .labels "$L")" = '{"admission_profile":"vm:boot:standard","intent":"vm:boot","seccomp_tier":"standard","signer":"host"}' ]
	[ "$(jq -r .keyid "$L")" = "$(jq -r '.signatures[0].keyid' "$E")" ]
	jq -r .time "$L" | grep -qx '[0-9-]\{10\}T[0-9:]\{8\}Z'
	validate audit-entry.schema.json "$L"
	validate audit-checkpoint.schema.json "$L.checkpoint"
	run -0 audit-verify "$L"
}

@test "entries chain: prev is the SHA-256 of the previous line; the checkpoint follows" {
	for ev in plan.admitted plan.launched plan.failed plan.rejected.nonce_replay; do
		audit-append -f "$L" -e $ev -p "$E" >/dev/null
	done
	[ "$(wc -l <"$L")" -eq 4 ]
	mapfile -t h < <(line_hashes "$L")
	[ "$(sed -n 2p "$L" | jq -r .prev)" = "${h[0]}" ]
	[ "$(sed -n 4p "$L" | jq -r .prev)" = "${h[2]}" ]
	[ "$(jq -r .seq "$L.checkpoint")" = 4 ]
	[ "$(jq -r .head "$L.checkpoint")" = "${h[3]}" ]
	[ "$(jq -r .size "$L.checkpoint")" = "$(stat -c %s "$L")" ]
	run -0 audit-verify "$L"
	assert_output "4 entries, head ${h[3]}"
}

@test "entry fields from options; a plan from a plain plan file too" {
	run -0 audit-append -f "$L" -e plan.rejected.bad_signature --plan-id $PID --ir-hash $IRH --plan-version 3 -l reason=sig
	[ "$(jq -c '[.plan_id, .ir_hash, .plan_version, .labels]' "$L")" = "[\"$PID\",\"$IRH\",3,{\"reason\":\"sig\"}]" ]
	payload_of "$E" >"$BATS_TEST_TMPDIR/plan.json"
	run -0 audit-append -f "$L" -e plan.launched -p "$BATS_TEST_TMPDIR/plan.json"
	run -0 audit-verify "$L"
}

@test "the default log is \$MVM_HOME/audit/TENANT.jsonl (the plan's tenant, or --tenant)" {
	run -0 audit-append -e plan.admitted -p "$E"
	[ -f "$MVM_HOME/audit/local.jsonl" ] && [ -f "$MVM_HOME/audit/local.jsonl.checkpoint" ]
	[ "$(stat -c %a "$MVM_HOME/audit")" = 700 ]
	[ "$(stat -c %a "$MVM_HOME/audit/local.jsonl")" = 600 ]
	run -0 audit-append --tenant acme -e plan.failed --plan-id $PID --ir-hash $IRH
	[ -f "$MVM_HOME/audit/acme.jsonl" ]
	run -0 audit-verify "$MVM_HOME/audit/local.jsonl"
}

@test "events and labels are checked before the log is touched" {
	run -2 audit-append -f "$L" -e plan.started -p "$E"
	run -2 audit-append -f "$L" -e plan.rejected. -p "$E"
	run -2 audit-append -f "$L" -e Plan.admitted -p "$E"
	run -2 audit-append -f "$L" -e plan.admitted -p "$E" -l novalue
	run -2 audit-append -f "$L" -e plan.admitted -p "$E" -l "bad key=v"
	run -2 audit-append -f "$L" -e plan.admitted --plan-id nope --ir-hash $IRH
	run -2 audit-append -f "$L" -e plan.admitted --plan-id $PID
	run -2 audit-append -f "$L" -p "$E"
	[ ! -e "$L" ]
	# a label the plan requires must be given
	mk_plan --require-label team | plan-sign >"$BATS_TEST_TMPDIR/t.json"
	run -1 audit-append -f "$L" -e plan.admitted -p "$BATS_TEST_TMPDIR/t.json"
	assert_output --partial 'requires label "team"'
	run -0 audit-append -f "$L" -e plan.admitted -p "$BATS_TEST_TMPDIR/t.json" -l team=infra
}

@test "a torn last line is refused until --repair-torn-tail, which is audited" {
	audit-append -f "$L" -e plan.admitted -p "$E" >/dev/null
	audit-append -f "$L" -e plan.launched -p "$E" >/dev/null
	good=$(stat -c %s "$L")
	printf '{"event":"plan.fai' >>"$L"
	run -1 audit-append -f "$L" -e plan.failed -p "$E"
	assert_output --partial "torn last line"
	run -1 audit-verify "$L"
	assert_output --partial "line 3: torn last line"
	run -0 --separate-stderr audit-append -f "$L" --repair-torn-tail
	[[ $stderr == *"dropped 18 torn bytes"* ]]
	[ "$(wc -l <"$L")" -eq 3 ]
	[ "$(head -c "$good" "$L" | wc -l)" -eq 2 ]
	[ "$(tail -n 1 "$L" | jq -r .event)" = log.repaired ]
	[ "$(tail -n 1 "$L" | jq -c .labels)" = "{\"dropped_bytes\":\"18\",\"dropped_sha256\":\"$(printf '{"event":"plan.fai' | sha256sum | cut -c1-64)\",\"reason\":\"torn_tail\"}" ]
	validate audit-entry.schema.json "$L"
	run -0 audit-verify "$L"
	run -0 audit-append -f "$L" -e plan.failed -p "$E"
	run -0 audit-verify "$L"
	assert_output --partial "4 entries"
}

@test "--repair-torn-tail: nothing to do on a whole log; refuses damage the checkpoint covers" {
	audit-append -f "$L" -e plan.admitted -p "$E" >/dev/null
	cp "$L" "$BATS_TEST_TMPDIR/before"
	run -0 audit-append -f "$L" --repair-torn-tail
	assert_output --partial "nothing to repair"
	cmp "$L" "$BATS_TEST_TMPDIR/before"
	# a complete, checkpointed last line that no longer parses is
	# tampering, not an interrupted append
	sed -i 's/"seq":1/"seq":X/' "$L"
	run -1 audit-append -f "$L" -e plan.launched -p "$E"
	run -1 audit-append -f "$L" --repair-torn-tail
	assert_output --partial "rewritten or rolled back: the line ending at byte"
	run -2 audit-append -f "$L" --repair-torn-tail -e plan.admitted -p "$E"
}

@test "8 processes x 200 appends in parallel: 1,600 entries, chain intact" {
	for w in 1 2 3 4 5 6 7 8; do
		(
			for i in $(seq 200); do
				audit-append -f "$L" -e plan.launched --plan-id $PID --ir-hash $IRH -l w=$w >/dev/null
			done
		) &
	done
	wait
	[ "$(wc -l <"$L")" -eq 1600 ]
	run -0 audit-verify "$L"
	assert_output --partial "1600 entries"
	[ "$(jq -r .seq "$L" | sort -n | uniq | wc -l)" -eq 1600 ]
	for w in 1 2 3 4 5 6 7 8; do
		[ "$(grep -c "\"w\":\"$w\"" "$L")" -eq 200 ]
	done
	# the checkpoint covers the whole log: its size, last seq and head
	[ "$(jq -r .size "$L.checkpoint")" -eq "$(stat -c %s "$L")" ]
	[ "$(jq -r .seq "$L.checkpoint")" -eq 1600 ]
	[ "$(jq -r .head "$L.checkpoint")" = "$(tail -n 1 "$L" | tr -d '\n' | sha256sum | cut -c1-64)" ]
	[ -z "$(compgen -G "$L.checkpoint.tmp.*")" ]
}

@test "kill -9 of appenders at random moments: intact or only a torn tail; no acknowledged entry lost" {
	for w in 1 2 3 4; do
		(
			for i in $(seq 25); do
				audit-append -f "$L" -e plan.launched --plan-id $PID --ir-hash $IRH \
					-l w=$w -l i=$i >"$BATS_TEST_TMPDIR/out.$w.$i" 2>/dev/null &
				p=$!
				sleep "0.0$((RANDOM % 30))"
				kill -9 $p 2>/dev/null || true
				st=0
				wait $p || st=$?
				[ $st -ne 0 ] || cat "$BATS_TEST_TMPDIR/out.$w.$i" >>"$BATS_TEST_TMPDIR/acked.$w"
			done
		) &
	done
	wait
	cat "$BATS_TEST_TMPDIR"/acked.* >"$BATS_TEST_TMPDIR/acked" 2>/dev/null || :
	run audit-verify "$L"
	if [ "$status" -ne 0 ]; then
		[ "$status" -eq 1 ] || fail "audit-verify: status $status: $output"
		[[ $output == *"torn last line"* ]] || fail "not only a torn tail: $output"
		run -0 audit-append -f "$L" --repair-torn-tail
		run -0 audit-verify "$L"
	fi
	line_hashes "$L" >"$BATS_TEST_TMPDIR/in-log"
	while read -r seq hash; do
		grep -qx "$hash" "$BATS_TEST_TMPDIR/in-log" || fail "acknowledged entry $seq $hash lost"
	done <"$BATS_TEST_TMPDIR/acked"
	# and appending goes on, and the checkpoint is the log's
	run -0 audit-append -f "$L" -e plan.failed --plan-id $PID --ir-hash $IRH
	run -0 audit-verify "$L"
	[ "$(jq -r .size "$L.checkpoint")" -eq "$(stat -c %s "$L")" ]
	[ -z "$(compgen -G "$L.checkpoint.tmp.*")" ]
}

# Issue 12, reproduction 1: an ordinary append must not launder damage.
three_entries() {
	for ev in plan.admitted plan.launched plan.failed; do
		audit-append -f "$L" -e $ev -p "$E" >/dev/null
	done
}

@test "append-after-truncation: two lines cut off, the next append refuses (exit 1) and writes nothing" {
	three_entries
	head -n 1 "$L" >"$L.cut" && cat "$L.cut" >"$L"
	cp "$L" "$BATS_TEST_TMPDIR/before"
	run -1 audit-verify "$L"
	run -1 audit-append -f "$L" -e plan.admitted -p "$E"
	assert_output --partial "truncated or rolled back: the log is"
	assert_output --partial "its checkpoint records 3 entries"
	cmp "$L" "$BATS_TEST_TMPDIR/before"
	run -1 audit-verify "$L"
}

@test "append-after-rollback: the log replaced by an older copy is refused" {
	audit-append -f "$L" -e plan.admitted -p "$E" >/dev/null
	cp "$L" "$BATS_TEST_TMPDIR/old"
	audit-append -f "$L" -e plan.launched -p "$E" >/dev/null
	audit-append -f "$L" -e plan.failed -p "$E" >/dev/null
	cp "$BATS_TEST_TMPDIR/old" "$L"
	run -1 audit-append -f "$L" -e plan.admitted -p "$E"
	assert_output --partial "truncated or rolled back"
	run -1 audit-verify "$L"
	# an older copy padded to the checkpoint's size is rewritten, not extended
	cp "$BATS_TEST_TMPDIR/old" "$L"
	audit-append -f "$BATS_TEST_TMPDIR/other.jsonl" -e plan.launched -p "$E" >/dev/null
	# (one write: a byte at a time cost three processes a byte)
	pad=$(($(jq -r .size "$L.checkpoint") - $(stat -c %s "$L")))
	[ "$pad" -gt 0 ]
	yes "$(head -c 1 "$BATS_TEST_TMPDIR/other.jsonl")" | tr -d '\n' | head -c "$pad" >>"$L"
	[ "$(stat -c %s "$L")" -eq "$(jq -r .size "$L.checkpoint")" ]
	tail -c +2 "$BATS_TEST_TMPDIR/other.jsonl" >>"$L"
	run -1 audit-append -f "$L" -e plan.admitted -p "$E"
	assert_output --partial "rewritten or rolled back"
}

@test "append-after-deleted-checkpoint: a non-empty log without its checkpoint is refused" {
	three_entries
	head -n 1 "$L" >"$L.cut" && cat "$L.cut" >"$L"
	rm "$L.checkpoint"
	run -1 audit-append -f "$L" -e plan.admitted -p "$E"
	assert_output --partial "no checkpoint ($L.checkpoint) for a non-empty log"
	[ ! -e "$L.checkpoint" ]
	[ "$(wc -l <"$L")" -eq 1 ]
}

@test "append-after-garbage-checkpoint: a checkpoint that is not one is refused" {
	three_entries
	head -n 1 "$L" >"$L.cut" && cat "$L.cut" >"$L"
	printf 'garbage\n' >"$L.checkpoint"
	run -1 audit-append -f "$L" -e plan.admitted -p "$E"
	assert_output --partial "checkpoint $L.checkpoint is not a checkpoint"
	# a well-formed checkpoint with another signature is not one either
	audit-append -f "$BATS_TEST_TMPDIR/l2" -e plan.admitted -p "$E" >/dev/null
	jq -c '.sig = "'"$(head -c 64 /dev/zero | base64 -w0)"'"' "$BATS_TEST_TMPDIR/l2.checkpoint" \
		>"$L.checkpoint"
	run -1 audit-append -f "$L" -e plan.admitted -p "$E"
	assert_output --partial "bad signature"
	[ "$(wc -l <"$L")" -eq 1 ]
}

@test "a crash's checkpoint temp files are removed under the lock" {
	audit-append -f "$L" -e plan.admitted -p "$E" >/dev/null
	: >"$L.checkpoint.tmp.AbC123"
	: >"$L.checkpoint.tmp.zzzzzz"
	run -0 audit-append -f "$L" -e plan.launched -p "$E"
	[ ! -e "$L.checkpoint.tmp.AbC123" ]
	[ ! -e "$L.checkpoint.tmp.zzzzzz" ]
	run -0 audit-verify "$L"
}

@test "the signing key is checked: mode 0644 refused, naming the file and mode" {
	chmod 644 "$MVM_HOME/keys/host-signer.ed25519"
	run -1 audit-append -f "$L" -e plan.admitted -p "$E"
	assert_output --partial "host-signer.ed25519: secret key has mode 0644"
	[ ! -e "$L" ]
	chmod 600 "$MVM_HOME/keys/host-signer.ed25519"
	plan-keygen --no-trust -f "$BATS_TEST_TMPDIR/ci.ed25519" >/dev/null
	run -0 audit-append -s "$BATS_TEST_TMPDIR/ci.ed25519" -f "$L" -e plan.admitted -p "$E"
	[ "$(jq -r .keyid "$L")" = "$(base64 -d "$BATS_TEST_TMPDIR/ci.pub" | sha256sum | cut -c1-32)" ]
}

@test "a malformed plan is status 3; usage errors are status 2; I/O errors 4" {
	: >"$BATS_TEST_TMPDIR/empty"
	run -3 audit-append -f "$L" -e plan.admitted -p "$BATS_TEST_TMPDIR/empty"
	run -3 audit-append -f "$L" -e plan.admitted -p - <"$BATS_TEST_TMPDIR/empty"
	run -0 audit-append -f "$L" -e plan.admitted -p - <"$E"
	run -2 audit-append -f "$L" -e plan.admitted -p "$E" extra
	run -2 audit-append -f "$L" --tenant x -e plan.admitted -p "$E"
	run -0 audit-append --help
	run -4 audit-append -f "$BATS_TEST_TMPDIR/no/such/dir/log" -e plan.admitted -p "$E"
	run -4 audit-append -f "$L" -e plan.admitted -p "$BATS_TEST_TMPDIR/nope"
}

@test "writing to a full device fails with status 4 (the entry is appended first)" {
	run -4 bash -c 'audit-append -f "$1" -e plan.admitted -p "$2" >/dev/full' _ "$L" "$E"
	run -0 audit-verify "$L"
}

@test "man page EXAMPLES" {
	cd "$BATS_TEST_TMPDIR"
	run -0 bash -c 'plan-verify plan.dsse.json > /dev/null && audit-append -e plan.admitted -p plan.dsse.json'
	run -0 audit-append -e plan.launched -p plan.dsse.json -l backend=qemu
	run -0 audit-append -e plan.rejected.validity_window -p plan.dsse.json -l reason=expired
	run -0 audit-append -f audit.jsonl -e plan.failed --plan-id $PID --ir-hash $IRH -l error_class=backend-start
	run -0 audit-verify "$MVM_HOME/audit/local.jsonl"
	assert_output --partial "3 entries"
	printf '{"torn' >>audit.jsonl
	run -0 audit-append -f audit.jsonl --repair-torn-tail
	run -0 audit-verify audit.jsonl
}

@test "-p must be a plan: an envelope of another type or a non-plan is status 3" {
	jq -c '.payloadType = "text/plain"' "$E" >"$BATS_TEST_TMPDIR/x.json"
	run -3 audit-append -f "$L" -e plan.admitted -p "$BATS_TEST_TMPDIR/x.json"
	echo '{"schema_version":"0.1"}' >"$BATS_TEST_TMPDIR/x.json"
	run -3 audit-append -f "$L" -e plan.admitted -p "$BATS_TEST_TMPDIR/x.json"
	assert_output --partial "required field is missing"
	[ ! -e "$L" ]
}
