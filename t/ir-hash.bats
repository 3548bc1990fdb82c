#!/usr/bin/env bats
# ir-hash: SHA-256 of the canonical bytes.

load helper

setup() {
	need_testdata
	J="$MVM_TESTDATA/jcs"
}

@test "generated/: every valid document hashes to its .sha256" {
	local n=0 f b
	for f in "$J"/generated/[0-9]*[0-9].json; do
		b=${f%.json}
		[ -e "$b.sha256" ] || continue
		run -0 ir-hash "$f"
		[ "$output" = "$(cut -c1-64 "$b.sha256")" ] || fail "$f: $output"
		n=$((n + 1))
	done
	[ "$n" -eq 446 ]
}

@test "the hash is sha256sum of ir-canon's bytes (RFC 8785 pairs)" {
	for f in "$J"/input/*.json; do
		want=$(sha256sum <"$J/output/$(basename "$f")" | cut -c1-64)
		run -0 ir-hash "$f"
		assert_output "$want"
	done
}

@test "the seed's worked-example IR hashes as ir-canon | sha256sum does" {
	want=$(ir-canon "$SEED_IR" | sha256sum | cut -c1-64)
	run -0 ir-hash "$SEED_IR"
	assert_output "$want"
	# and field order or whitespace do not change it
	jq -S . "$SEED_IR" >"$BATS_TEST_TMPDIR/reordered.json"
	run -0 ir-hash "$BATS_TEST_TMPDIR/reordered.json"
	assert_output "$want"
}

@test "output is 64 lowercase hex digits and a newline" {
	echo '{}' >"$BATS_TEST_TMPDIR/x.json"
	ir-hash "$BATS_TEST_TMPDIR/x.json" >"$BATS_TEST_TMPDIR/out"
	[ "$(wc -c <"$BATS_TEST_TMPDIR/out")" -eq 65 ]
	grep -qx '[0-9a-f]\{64\}' "$BATS_TEST_TMPDIR/out"
	# SHA-256 of the two bytes "{}" (FIPS 180-4 via coreutils)
	[ "$(cat "$BATS_TEST_TMPDIR/out")" = "$(printf '{}' | sha256sum | cut -c1-64)" ]
}

@test "-c: 0 when the hash matches, 1 when it does not, silent" {
	h=$(ir-hash "$SEED_IR")
	run -0 ir-hash -c "$h" "$SEED_IR"
	assert_output ""
	other=$(printf '%s' "$h" | tr '0-9a-f' '1-9a-f0')
	run -1 ir-hash -c "$other" "$SEED_IR"
	assert_output ""
}

@test "-c with something that is not a hash is a usage error" {
	run -2 ir-hash -c ABC "$SEED_IR"
	run -2 ir-hash -c "$(printf 'A%.0s' {1..64})" "$SEED_IR"
}

# A root array's values are hashed as they are read (json_canon_stream).
@test "a root array of the RFC 8785 inputs hashes as their outputs joined; a bad last value prints no hash" {
	local a=$BATS_TEST_TMPDIR/a.json want f sep=
	{ printf '[\n'; for f in "$J"/input/*.json; do printf '%s' "$sep"; cat "$f"; sep=,; done; printf ']'; } >"$a"
	want=$({ printf '['; sep=; for f in "$J"/output/*.json; do printf '%s' "$sep"; cat "$f"; sep=,; done; printf ']'; } | sha256sum | cut -c1-64)
	run -0 ir-hash "$a"
	assert_output "$want"
	run -0 ir-hash -c "$want" "$a"
	sed -i '$ s/]$/,[1,]]/' "$a"
	run -3 --separate-stderr ir-hash "$a"
	[ -z "$output" ]
	[[ $stderr == *": trailing comma in array" ]]
	run -3 ir-hash -c "$want" "$a"
}

@test "reads stdin when no file or - is given" {
	want=$(ir-hash "$SEED_IR")
	run -0 ir-hash <"$SEED_IR"
	assert_output "$want"
	run -0 ir-hash - <"$SEED_IR"
	assert_output "$want"
}

@test "malformed input: status 3, no hash printed" {
	for f in "$J"/errors/*.json; do
		run -3 --separate-stderr ir-hash "$f"
		[ -z "$output" ] || fail "printed a hash for $f"
	done
	: >"$BATS_TEST_TMPDIR/empty"
	run -3 ir-hash <"$BATS_TEST_TMPDIR/empty"
}

@test "a missing file is status 4; usage errors are status 2" {
	run -4 ir-hash "$BATS_TEST_TMPDIR/nope"
	run -2 ir-hash -q
	run -2 ir-hash a b
	run -0 ir-hash --help
	assert_output --partial "usage: ir-hash"
}

@test "writing to a full device fails with status 4" {
	run -4 bash -c 'ir-hash "$1" >/dev/full' _ "$SEED_IR"
	assert_output --partial "No space left on device"
}

@test "man page EXAMPLES" {
	cd "$BATS_TEST_TMPDIR"
	cp "$SEED_IR" workload-ir.json
	h=$(ir-hash workload-ir.json)
	run -0 ir-hash -c "$h" workload-ir.json
	run -0 bash -c 'ir-canon workload-ir.json | sha256sum'
	assert_output "$h  -"
	run -0 bash -c 'ir-hash workload-ir.json > ir.hash && ir-hash -c "$(cat ir.hash)" workload-ir.json && echo same'
	assert_output same
}
