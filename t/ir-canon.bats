#!/usr/bin/env bats
# ir-canon: RFC 8785 canonical form, checked against the JCS vectors (t/data/vectors).

load helper

setup() {
	need_testdata
	J="$MVM_TESTDATA/jcs"
}

# Run ir-canon on each pair (input → expected bytes); print the failures.
check_pairs() { # dir-of-inputs dir-of-outputs
	local in out n=0 bad=0
	for in in "$1"/*.json; do
		out="$2/$(basename "$in")"
		n=$((n + 1))
		if ! ir-canon "$in" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" ||
			! cmp -s "$BATS_TEST_TMPDIR/out" "$out"; then
			echo "mismatch: $in: $(cat "$BATS_TEST_TMPDIR/err")"
			bad=$((bad + 1))
		fi
	done
	echo "$n pairs, $bad bad"
	[ "$n" -gt 0 ] && [ "$bad" -eq 0 ]
}

@test "upstream RFC 8785 pairs (input/ -> output/) are byte-exact" {
	run -0 check_pairs "$J/input" "$J/output"
	assert_output "6 pairs, 0 bad"
}

@test "curated pairs (extra/) are byte-exact" {
	run -0 check_pairs "$J/extra/input" "$J/extra/output"
}

@test "outhex/ agrees with output/ (the vectors are read as bytes)" {
	for f in "$J"/outhex/*.txt; do
		n=$(basename "$f" .txt)
		ir-canon "$J/input/$n.json" | od -An -tx1 -v | tr -d ' \n' >"$BATS_TEST_TMPDIR/hex"
		tr -d ' \n\r' <"$f" | tr 'A-F' 'a-f' >"$BATS_TEST_TMPDIR/want"
		cmp "$BATS_TEST_TMPDIR/hex" "$BATS_TEST_TMPDIR/want"
	done
}

@test "every document in errors/ is rejected with status 3 and no output" {
	local n=0
	for f in "$J"/errors/*.json; do
		run -3 --separate-stderr ir-canon "$f"
		[ -z "$output" ] || fail "output on error for $f"
		[[ "$stderr" == "ir-canon: $f: "* ]] || fail "bad message for $f: $stderr"
		n=$((n + 1))
	done
	[ "$n" -eq 59 ]
}

@test "generated/: 446 valid documents byte-exact, 54 invalid rejected" {
	local ok=0 rej=0 bad=0 f b
	for f in "$J"/generated/[0-9]*[0-9].json; do
		b=${f%.json}
		if [ -e "$b.expected.json" ]; then
			if ir-canon "$f" >"$BATS_TEST_TMPDIR/out" 2>/dev/null &&
				cmp -s "$BATS_TEST_TMPDIR/out" "$b.expected.json"; then
				ok=$((ok + 1))
			else
				echo "mismatch: $f"; bad=$((bad + 1))
			fi
		else
			if ir-canon "$f" >"$BATS_TEST_TMPDIR/out" 2>/dev/null; then
				echo "accepted: $f"; bad=$((bad + 1))
			elif [ -s "$BATS_TEST_TMPDIR/out" ]; then
				echo "output on error: $f"; bad=$((bad + 1))
			else
				rej=$((rej + 1))
			fi
		fi
	done
	echo "ok=$ok rejected=$rej bad=$bad"
	[ "$ok" -eq 446 ] && [ "$rej" -eq 54 ] && [ "$bad" -eq 0 ]
}

@test "numbers: the first 100,000 lines of the ES6 number file round-trip" {
	# The expected column is canonical; as a JSON array it must come out unchanged.
	cut -d, -f2 "$J/numbers/es6testfile-first100k.txt" | paste -sd, - |
		sed 's/^/[/; s/$/]/' | tr -d '\n' >"$BATS_TEST_TMPDIR/in.json"
	[ "$(wc -c <"$BATS_TEST_TMPDIR/in.json")" -gt 1000000 ]
	ir-canon "$BATS_TEST_TMPDIR/in.json" >"$BATS_TEST_TMPDIR/got"
	cmp "$BATS_TEST_TMPDIR/got" "$BATS_TEST_TMPDIR/in.json"
}

@test "numbers: edge-case literals become their expected form; overflow is rejected" {
	grep -v '^#' "$J/numbers/edge-cases.txt" | awk -F, '$1 != "-"' >"$BATS_TEST_TMPDIR/rows"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/rows")" -gt 2800 ]
	cut -d, -f2 "$BATS_TEST_TMPDIR/rows" | paste -sd, - | sed 's/^/[/; s/$/]/' >"$BATS_TEST_TMPDIR/in.json"
	cut -d, -f3 "$BATS_TEST_TMPDIR/rows" | paste -sd, - | sed 's/^/[/; s/$/]/' | tr -d '\n' >"$BATS_TEST_TMPDIR/want"
	ir-canon "$BATS_TEST_TMPDIR/in.json" >"$BATS_TEST_TMPDIR/got"
	cmp "$BATS_TEST_TMPDIR/got" "$BATS_TEST_TMPDIR/want"
	local n=0
	while IFS=, read -r bits lit want; do
		[ "$bits" = - ] || continue
		[ "$want" = ERROR ]
		echo "[$lit]" >"$BATS_TEST_TMPDIR/e.json"
		run -3 ir-canon "$BATS_TEST_TMPDIR/e.json"
		assert_output --partial "number out of range"
		n=$((n + 1))
	done < <(grep -v '^#' "$J/numbers/edge-cases.txt")
	[ "$n" -eq 6 ]
}

# Policy decisions (t/data/vectors/jcs/policy), documented in ir-canon(1).
@test "policy: a UTF-8 byte order mark is rejected (as the oracle does)" {
	run -3 ir-canon "$J/policy/bom-utf8.json"
	assert_output "ir-canon: $J/policy/bom-utf8.json: 1:1: byte order mark not allowed"
}

@test "policy: negative zero is written 0 (as the oracle does)" {
	run -0 ir-canon "$J/policy/negative-zero.json"
	cmp <(printf '%s' "$output") "$J/policy/negative-zero.oracle.json"
	printf '[-0,-0.0,-0e5]' >"$BATS_TEST_TMPDIR/z.json"
	run -0 ir-canon "$BATS_TEST_TMPDIR/z.json"
	assert_output "[0,0,0]"
}

@test "policy: noncharacters pass through; underflow becomes 0 (as the oracle does)" {
	for n in noncharacter-raw noncharacter-uffff-escaped number-underflow-to-zero; do
		ir-canon "$J/policy/$n.json" | cmp - "$J/policy/$n.oracle.json"
	done
}

@test "policy: 1000 levels pass; 100000 exceed the default limit of 4096 and pass with -d" {
	ir-canon "$J/policy/deep-nesting-1000.json" | cmp - "$J/policy/deep-nesting-1000.oracle.json"
	run -3 ir-canon "$J/policy/deep-nesting-100000.json"
	assert_output --partial "nesting deeper than 4096 levels"
	ir-canon -d 100000 "$J/policy/deep-nesting-100000.json" |
		cmp - "$J/policy/deep-nesting-100000.oracle.json"
}

@test "depth limit is exact: -d 3 takes 3 levels, not 4" {
	echo '[[[1]]]' >"$BATS_TEST_TMPDIR/d3.json"
	echo '[[[[1]]]]' >"$BATS_TEST_TMPDIR/d4.json"
	run -0 ir-canon -d 3 "$BATS_TEST_TMPDIR/d3.json"
	run -3 ir-canon -d 3 "$BATS_TEST_TMPDIR/d4.json"
	assert_output --partial "1:4: nesting deeper than 3 levels"
}

# A root array's values are written as they are read (json_canon_stream):
# the same bytes as the whole document's, and still nothing on stdout when a
# value after them is malformed.
@test "a root array of the RFC 8785 inputs gives their outputs joined; a bad last value prints nothing" {
	local a=$BATS_TEST_TMPDIR/a.json want=$BATS_TEST_TMPDIR/want f sep=
	{ printf '[\n'; for f in "$J"/input/*.json; do printf '%s' "$sep"; cat "$f"; sep=,; done; printf ']'; } >"$a"
	{ printf '['; sep=; for f in "$J"/output/*.json; do printf '%s' "$sep"; cat "$f"; sep=,; done; printf ']'; } >"$want"
	run -0 ir-canon "$a"
	[ "$output" = "$(cat "$want")" ]
	for f in "$J"/input/*.json; do cat "$f"; printf ',\n'; done | sed '$ s/,$/, {"x": 1, "x": 2}]/' | sed '1 s/^/[/' >"$a"
	run -3 --separate-stderr ir-canon "$a"
	[ -z "$output" ]
	assert_equal "$stderr" "ir-canon: $a: $(wc -l <"$a"):12: duplicate member name \"x\""
}

@test "reads stdin when no file or - is given" {
	echo '{"b":1,"a":[true,null]}' >"$BATS_TEST_TMPDIR/x.json"
	run -0 ir-canon <"$BATS_TEST_TMPDIR/x.json"
	assert_output '{"a":[true,null],"b":1}'
	run -0 ir-canon - <"$BATS_TEST_TMPDIR/x.json"
	assert_output '{"a":[true,null],"b":1}'
}

@test "no trailing newline unless -n" {
	echo '[1]' >"$BATS_TEST_TMPDIR/x.json"
	[ "$(ir-canon "$BATS_TEST_TMPDIR/x.json" | od -An -c | tr -d ' ')" = "[1]" ]
	[ "$(ir-canon -n "$BATS_TEST_TMPDIR/x.json" | od -An -c | tr -d ' ')" = '[1]\n' ]
}

@test "empty input is malformed (status 3), with line:col" {
	: >"$BATS_TEST_TMPDIR/empty"
	run -3 ir-canon <"$BATS_TEST_TMPDIR/empty"
	assert_output "ir-canon: 1:1: a value expected, found end of input"
}

@test "errors name line and column" {
	printf '{\n  "a": 1,\n  "a": 2\n}\n' >"$BATS_TEST_TMPDIR/dup.json"
	run -3 ir-canon "$BATS_TEST_TMPDIR/dup.json"
	assert_output "ir-canon: $BATS_TEST_TMPDIR/dup.json: 3:3: duplicate member name \"a\""
	printf '[1,\n 2,]' >"$BATS_TEST_TMPDIR/tc.json"
	run -3 ir-canon "$BATS_TEST_TMPDIR/tc.json"
	assert_output "ir-canon: $BATS_TEST_TMPDIR/tc.json: 2:4: trailing comma in array"
}

@test "duplicates are found after unescaping, also when not adjacent" {
	printf '{"b":0,"a":1,"c":2,"\\u0061":3}' >"$BATS_TEST_TMPDIR/d.json"
	run -3 ir-canon "$BATS_TEST_TMPDIR/d.json"
	assert_output --partial "1:20: duplicate member name \"a\""
}

@test "a missing file is a system error (status 4)" {
	run -4 ir-canon "$BATS_TEST_TMPDIR/nope.json"
	assert_output --partial "unable to open"
}

@test "usage errors exit 2; --help exits 0" {
	run -2 ir-canon -x
	run -2 ir-canon a b
	run -2 ir-canon -d 0 x
	run -0 ir-canon --help
	assert_output --partial "usage: ir-canon"
}

@test "writing to a full device fails with status 4" {
	echo '[1]' >"$BATS_TEST_TMPDIR/x.json"
	run -4 bash -c 'ir-canon "$1" >/dev/full' _ "$BATS_TEST_TMPDIR/x.json"
	assert_output "ir-canon: unable to write to standard output: No space left on device"
}

@test "canonical output is a fixed point, and equal to the Node reference on the seed IR" {
	ir-canon "$SEED_IR" >"$BATS_TEST_TMPDIR/c1"
	ir-canon "$BATS_TEST_TMPDIR/c1" >"$BATS_TEST_TMPDIR/c2"
	cmp "$BATS_TEST_TMPDIR/c1" "$BATS_TEST_TMPDIR/c2"
	# Independent check: JSON.stringify with sorted keys in Node (ASCII keys only here).
	node -e '
		const s = o => Array.isArray(o) ? "[" + o.map(s).join(",") + "]"
			: o && typeof o === "object" ? "{" + Object.keys(o).sort().map(k => JSON.stringify(k) + ":" + s(o[k])).join(",") + "}"
			: JSON.stringify(o);
		process.stdout.write(s(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))));
	' "$SEED_IR" >"$BATS_TEST_TMPDIR/node"
	cmp "$BATS_TEST_TMPDIR/c1" "$BATS_TEST_TMPDIR/node"
}

@test "man page EXAMPLES" {
	cd "$BATS_TEST_TMPDIR"
	printf '{"b": [1.0, 2e1, "\\u00e9"], "a": null}\n' >x.json
	run -0 ir-canon x.json
	assert_output '{"a":null,"b":[1,20,"é"]}'
	printf '{"a":1,"a":2}' >bad.json
	run -3 ir-canon bad.json
	assert_output 'ir-canon: bad.json: 1:8: duplicate member name "a"'
	run -0 bash -c 'ir-canon x.json | sha256sum'
	assert_output "$(ir-hash x.json)  -"
}
