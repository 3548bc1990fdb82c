#!/usr/bin/env bats
# plan-keygen: Ed25519 key pairs.

load helper
load plan-helper

mode() { stat -c %a "$1"; }

@test "default: host-signer key pair in \$MVM_HOME/keys, trusted, public key printed" {
	run -0 plan-keygen
	K="$MVM_HOME/keys"
	[ -f "$K/host-signer.ed25519" ] && [ -f "$K/host-signer.pub" ]
	[ "$(mode "$K/host-signer.ed25519")" = 600 ]
	[ "$(mode "$K/host-signer.pub")" = 644 ]
	[ "$(mode "$MVM_HOME")" = 700 ] && [ "$(mode "$K")" = 700 ]
	[ "$(mode "$MVM_HOME/trust")" = 700 ]
	assert_output "$(cat "$K/host-signer.pub")"
	cmp "$K/host-signer.pub" "$MVM_HOME/trust/host-signer.pub"
	# one base64 line each, 32 bytes
	[ "$(wc -l <"$K/host-signer.ed25519")" -eq 1 ]
	[ "$(head -c 44 "$K/host-signer.ed25519" | base64 -d | wc -c)" -eq 32 ]
	[ "$(base64 -d "$K/host-signer.pub" | wc -c)" -eq 32 ]
}

@test "two runs make different keys" {
	run -0 plan-keygen --no-trust -f "$BATS_TEST_TMPDIR/a.ed25519"
	a=$output
	run -0 plan-keygen --no-trust -f "$BATS_TEST_TMPDIR/b.ed25519"
	[ "$output" != "$a" ]
}

@test "refuses to overwrite: status 1, files unchanged" {
	plan-keygen >/dev/null
	cp -p "$MVM_HOME/keys/host-signer.ed25519" "$BATS_TEST_TMPDIR/before"
	run -1 plan-keygen
	assert_output --partial "already exists, not overwritten"
	cmp "$BATS_TEST_TMPDIR/before" "$MVM_HOME/keys/host-signer.ed25519"
	# a dangling symlink in place of the secret is refused too (O_NOFOLLOW|O_EXCL)
	ln -s "$BATS_TEST_TMPDIR/elsewhere" "$BATS_TEST_TMPDIR/link.ed25519"
	run -1 plan-keygen --no-trust -f "$BATS_TEST_TMPDIR/link.ed25519"
	[ ! -e "$BATS_TEST_TMPDIR/elsewhere" ]
}

@test "an existing trust anchor of that name is refused before anything is created" {
	mkdir -p "$MVM_HOME/trust"
	echo "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" >"$MVM_HOME/trust/host-signer.pub"
	run -1 plan-keygen
	assert_output --partial "trust/host-signer.pub: already exists"
	[ ! -e "$MVM_HOME/keys/host-signer.ed25519" ]
	run -0 plan-keygen --no-trust
	[ -f "$MVM_HOME/keys/host-signer.ed25519" ]
}

@test "-f and -p choose the files; the public key defaults to .pub beside" {
	run -0 plan-keygen --no-trust -f "$BATS_TEST_TMPDIR/k/ci.ed25519"
	[ -f "$BATS_TEST_TMPDIR/k/ci.pub" ]
	[ "$(mode "$BATS_TEST_TMPDIR/k/ci.ed25519")" = 600 ]
	[ ! -d "$MVM_HOME/trust" ]
	run -0 plan-keygen -f "$BATS_TEST_TMPDIR/s" -p "$BATS_TEST_TMPDIR/other.pub"
	assert_output "$(cat "$BATS_TEST_TMPDIR/other.pub")"
	cmp "$BATS_TEST_TMPDIR/other.pub" "$MVM_HOME/trust/other.pub"
	run -2 plan-keygen -f "$BATS_TEST_TMPDIR/x" -p "$BATS_TEST_TMPDIR/x"
	# a trusted key's file must be named *.pub
	run -2 plan-keygen -f "$BATS_TEST_TMPDIR/y" -p "$BATS_TEST_TMPDIR/y.key"
}

@test "MVM_HOME defaults to ~/.mvm" {
	HOME="$BATS_TEST_TMPDIR/home" MVM_HOME= run -0 plan-keygen
	[ -f "$BATS_TEST_TMPDIR/home/.mvm/keys/host-signer.ed25519" ]
	[ -f "$BATS_TEST_TMPDIR/home/.mvm/trust/host-signer.pub" ]
}

@test "the keys sign and verify (keyid = first 16 bytes of SHA-256 of the public key)" {
	mk_image
	mk_keys
	mk_plan >"$BATS_TEST_TMPDIR/plan.json"
	plan-sign "$BATS_TEST_TMPDIR/plan.json" >"$BATS_TEST_TMPDIR/plan.dsse.json"
	want=$(base64 -d "$MVM_HOME/keys/host-signer.pub" | sha256sum | cut -c1-32)
	[ "$(jq -r '.signatures[0].keyid' "$BATS_TEST_TMPDIR/plan.dsse.json")" = "$want" ]
	run -0 plan-verify --no-consume "$BATS_TEST_TMPDIR/plan.dsse.json"
}

@test "usage errors are status 2" {
	run -2 plan-keygen extra
	run -2 plan-keygen -x
	run -0 plan-keygen --help
	assert_output --partial "usage: plan-keygen"
}

@test "writing to a full device fails with status 4" {
	run -4 bash -c 'plan-keygen >/dev/full'
}

@test "man page EXAMPLES" {
	cd "$BATS_TEST_TMPDIR"
	run -0 plan-keygen
	run -0 bash -c 'plan-keygen --no-trust -f ci/ci-signer.ed25519 > ci-signer.pub && cmp ci-signer.pub ci/ci-signer.pub'
	run -0 bash -c 'ls "$MVM_HOME/trust"'
	assert_output "host-signer.pub"
}
