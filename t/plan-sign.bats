#!/usr/bin/env bats
# plan-sign: DSSE envelopes over canonical plans.

load helper
load plan-helper

setup() {
	mk_image
	mk_keys
	P="$BATS_TEST_TMPDIR/plan.json"
	E="$BATS_TEST_TMPDIR/plan.dsse.json"
	mk_plan >"$P"
	SK="$MVM_HOME/keys/host-signer.ed25519"
}

@test "the envelope: DSSE shape, payload = the plan's bytes, keyid of the signer" {
	run -0 plan-sign "$P"
	printf '%s' "$output" >"$E"
	[ "$(ir-canon "$E")" = "$(cat "$E")" ]
	[ "$(jq -r 'keys | join(",")' "$E")" = payload,payloadType,signatures ]
	[ "$(jq -r .payloadType "$E")" = application/vnd.mvm.execution-plan+json ]
	payload_of "$E" | cmp - "$P"
	[ "$(jq -r '.signatures | length' "$E")" = 1 ]
	want=$(base64 -d "$MVM_HOME/keys/host-signer.pub" | sha256sum | cut -c1-32)
	[ "$(jq -r '.signatures[0].keyid' "$E")" = "$want" ]
	[ "$(jq -r '.signatures[0].sig' "$E" | base64 -d | wc -c)" -eq 64 ]
	validate dsse-envelope.schema.json "$E"
}

@test "Ed25519 is deterministic: the same plan and key give the same envelope" {
	a=$(plan-sign "$P")
	b=$(plan-sign "$P")
	[ "$a" = "$b" ]
}

@test "reads stdin or -; -n adds a newline" {
	want=$(plan-sign "$P")
	run -0 plan-sign <"$P"
	assert_output "$want"
	run -0 plan-sign - <"$P"
	assert_output "$want"
	plan-sign -n "$P" >"$E"
	[ "$(tail -c 1 "$E" | od -An -c | tr -d ' ')" = '\n' ]
}

@test "-s chooses the key" {
	plan-keygen --no-trust -f "$BATS_TEST_TMPDIR/ci.ed25519" >/dev/null
	run -0 plan-sign -s "$BATS_TEST_TMPDIR/ci.ed25519" "$P"
	want=$(base64 -d "$BATS_TEST_TMPDIR/ci.pub" | sha256sum | cut -c1-32)
	[ "$(printf '%s' "$output" | jq -r '.signatures[0].keyid')" = "$want" ]
}

@test "a plan that is not canonical is refused (status 1), nothing written" {
	jq . "$P" >"$BATS_TEST_TMPDIR/pretty.json"
	run -1 --separate-stderr plan-sign "$BATS_TEST_TMPDIR/pretty.json"
	[ -z "$output" ]
	[[ $stderr == *"not in RFC 8785 canonical form"* ]]
	# a trailing newline is not canonical either
	{ cat "$P"; echo; } >"$BATS_TEST_TMPDIR/nl.json"
	run -1 plan-sign "$BATS_TEST_TMPDIR/nl.json"
}

@test "a plan that is not schema-valid is refused (status 1) with a JSON Pointer" {
	replan '. + {extra: 1}' <"$P" >"$BATS_TEST_TMPDIR/x.json"
	run -1 plan-sign "$BATS_TEST_TMPDIR/x.json"
	assert_output --partial "/extra: unknown field"
	replan '.admission_profile.seccomp_tier = "lax"' <"$P" >"$BATS_TEST_TMPDIR/x.json"
	run -1 plan-sign "$BATS_TEST_TMPDIR/x.json"
	assert_output --partial "/admission_profile/seccomp_tier"
	replan '.nonce = "ABCDEF0123456789ABCDEF0123456789"' <"$P" >"$BATS_TEST_TMPDIR/x.json"
	run -1 plan-sign "$BATS_TEST_TMPDIR/x.json"
	assert_output --partial "/nonce"
	replan '.valid_from = "2030-02-30T00:00:00Z"' <"$P" >"$BATS_TEST_TMPDIR/x.json"
	run -1 plan-sign "$BATS_TEST_TMPDIR/x.json"
	assert_output --partial "/valid_from"
	for v in 1e300 -1e300 1.5 0 1025; do
		replan ".resources.vcpus = $v" <"$P" >"$BATS_TEST_TMPDIR/x.json"
		run -1 plan-sign "$BATS_TEST_TMPDIR/x.json"
		assert_output --partial "/resources/vcpus: must be an integer from 1 to 1024"
	done
	replan 'del(.resources.vcpus)' <"$P" >"$BATS_TEST_TMPDIR/x.json"
	run -1 plan-sign "$BATS_TEST_TMPDIR/x.json"
	assert_output --partial "/resources/vcpus: required field is missing"
	replan '.schema_version = "0.2"' <"$P" >"$BATS_TEST_TMPDIR/x.json"
	run -1 plan-sign "$BATS_TEST_TMPDIR/x.json"
	assert_output --partial 'unsupported schema_version "0.2"'
	# a plan_id that does not name the plan
	jq -c '.workload = "other"' "$P" | ir-canon >"$BATS_TEST_TMPDIR/x.json"
	run -1 plan-sign "$BATS_TEST_TMPDIR/x.json"
	assert_output --partial "/plan_id: does not match the plan"
}

@test "an inverted window is signable (plan-verify refuses it)" {
	replan '.valid_until = .valid_from' <"$P" >"$BATS_TEST_TMPDIR/x.json"
	run -0 plan-sign "$BATS_TEST_TMPDIR/x.json"
}

@test "malformed or empty input: status 3" {
	printf '{"a":1,"a":2}' >"$BATS_TEST_TMPDIR/x.json"
	run -3 plan-sign "$BATS_TEST_TMPDIR/x.json"
	: >"$BATS_TEST_TMPDIR/empty"
	run -3 plan-sign <"$BATS_TEST_TMPDIR/empty"
}

@test "a secret key readable by group or others is refused, naming the file and mode" {
	chmod 644 "$SK"
	run -1 --separate-stderr plan-sign "$P"
	[ -z "$output" ]
	[[ $stderr == *"$SK: secret key has mode 0644, must not be accessible by group or others (chmod 600 $SK)"* ]]
	chmod 640 "$SK"
	run -1 plan-sign "$P"
	assert_output --partial "mode 0640"
	chmod 600 "$SK"
	run -0 plan-sign "$P"
}

@test "a secret key of the wrong length or not matching its .pub is refused" {
	head -c 31 /dev/urandom | base64 >"$BATS_TEST_TMPDIR/short.ed25519"
	chmod 600 "$BATS_TEST_TMPDIR/short.ed25519"
	run -3 plan-sign -s "$BATS_TEST_TMPDIR/short.ed25519" "$P"
	assert_output --partial "not a secret key"
	plan-keygen --no-trust -f "$BATS_TEST_TMPDIR/b.ed25519" >/dev/null
	cp "$MVM_HOME/keys/host-signer.pub" "$BATS_TEST_TMPDIR/b.pub"
	run -1 plan-sign -s "$BATS_TEST_TMPDIR/b.ed25519" "$P"
	assert_output --partial "does not belong to this secret key"
	run -4 plan-sign -s "$BATS_TEST_TMPDIR/missing.ed25519" "$P"
}

@test "usage errors are status 2; a missing plan is status 4" {
	run -2 plan-sign a b
	run -2 plan-sign -x
	run -0 plan-sign --help
	run -4 plan-sign "$BATS_TEST_TMPDIR/nope"
}

@test "writing to a full device fails with status 4" {
	run -4 bash -c 'plan-sign "$1" >/dev/full' _ "$P"
}

@test "man page EXAMPLES" {
	cd "$BATS_TEST_TMPDIR"
	cp "$SEED_IR" workload-ir.json
	run -0 bash -c 'plan-new --image img workload-ir.json | plan-sign > plan.dsse.json'
	run -0 plan-verify --no-consume plan.dsse.json
	run -0 bash -c 'jq -r .payload plan.dsse.json | base64 -d | jq -r .workload'
	assert_output hello
	plan-keygen --no-trust -f ci.ed25519 >/dev/null
	run -0 bash -c "plan-sign -s ci.ed25519 plan.json > plan.ci.dsse.json"
}
