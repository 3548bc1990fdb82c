#!/usr/bin/env bats
# audit-verify: the tamper matrix on a 1,000-entry log.

load helper
load plan-helper

setup_file() {
	export K="$BATS_FILE_TMPDIR/k.ed25519" PUB="$BATS_FILE_TMPDIR/k.pub"
	export BIG="$BATS_FILE_TMPDIR/big.jsonl" OLD="$BATS_FILE_TMPDIR/old.jsonl"
	export PID=sha256:$(printf '%064d' 1) IRH=$(printf '%064d' 2)
	plan-keygen --no-trust -f "$K" >/dev/null
	# 4 appenders at a time (the lock orders them): 500 entries, a copy of
	# the log and its checkpoint as they were then, 500 more
	append_n() {
		local w i
		for w in 1 2 3 4; do
			for i in $(seq 125); do
				audit-append -s "$K" -f "$BIG" -e plan.launched --plan-id $PID --ir-hash $IRH -l w=$w >/dev/null
			done &
		done
		wait
	}
	append_n
	cp "$BIG" "$OLD"
	cp "$BIG.checkpoint" "$OLD.checkpoint"
	append_n
	[ "$(wc -l <"$BIG")" -eq 1000 ]
}

setup() {
	L="$BATS_TEST_TMPDIR/log.jsonl"
	cp "$BIG" "$L"
	cp "$BIG.checkpoint" "$L.checkpoint"
}

# flip LINE COLUMN: XOR one byte of a line (1-based line, 0-based column).
flip() {
	/usr/bin/python3 - "$L" "$1" "$2" <<'PY'
import sys
p, n, c = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
b = bytearray(open(p, "rb").read())
off = 0
for _ in range(n - 1):
    off = b.index(b"\n", off) + 1
b[off + c] ^= 0x01
open(p, "wb").write(b)
PY
}

@test "an intact 1,000-entry log: count and head; -q prints nothing" {
	run -0 audit-verify -k "$PUB" "$L"
	assert_output "1000 entries, head $(tail -n 1 "$L" | tr -d '\n' | sha256sum | cut -c1-64)"
	run -0 audit-verify -q -k "$PUB" "$L"
	assert_output ""
}

@test "trusted keys default to \$MVM_HOME/trust/*.pub" {
	mkdir -p "$MVM_HOME/trust"
	run -1 audit-verify "$L"
	assert_output --partial "no trusted keys"
	cp "$PUB" "$MVM_HOME/trust/ci.pub"
	run -0 audit-verify "$L"
}

@test "junk trust file: a malformed or unreadable file in trust/ is skipped with a warning, not fatal" {
	mkdir -p "$MVM_HOME/trust"
	cp "$PUB" "$MVM_HOME/trust/ci.pub"
	printf 'junk\n' >"$MVM_HOME/trust/junk.pub"
	mkdir "$MVM_HOME/trust/dir.pub"
	run -0 --separate-stderr audit-verify "$L"
	[ "$output" = "1000 entries, head $(tail -n 1 "$L" | tr -d '\n' | sha256sum | cut -c1-64)" ]
	[[ $stderr == *"audit-verify: warning: $MVM_HOME/trust/junk.pub: not a public key"*"(skipped)"* ]]
	[[ $stderr == *"dir.pub"*"(skipped)"* ]]
}

@test "writable trust dir or key file: refused with status 1, naming the file and its mode" {
	mkdir -p "$MVM_HOME/trust"
	cp "$PUB" "$MVM_HOME/trust/ci.pub"
	chmod 0757 "$MVM_HOME/trust"
	run -1 audit-verify "$L"
	assert_output --partial "$MVM_HOME/trust: trust directory has mode 0757"
	chmod 0700 "$MVM_HOME/trust"
	chmod 0646 "$MVM_HOME/trust/ci.pub"
	run -1 audit-verify "$L"
	assert_output --partial "$MVM_HOME/trust/ci.pub: trusted key has mode 0646"
}

@test "flip one byte in any line: that line is named" {
	for n in 1 2 137 500 999 1000; do
		len=$(sed -n "${n}p" "$BIG" | wc -c)
		for c in 0 $((RANDOM % (len - 1))) $((RANDOM % (len - 1))) $((len - 2)); do
			cp "$BIG" "$L"
			flip $n $c
			run -1 audit-verify -k "$PUB" "$L"
			[[ $output == *": line $n: "* ]] || fail "flip at line $n col $c: $output"
		done
	done
}

@test "flip the newline of a middle line: that line is named" {
	len=$(sed -n 500p "$BIG" | wc -c)
	flip 500 $((len - 1))
	run -1 audit-verify -k "$PUB" "$L"
	assert_output --partial ": line 500: "
}

@test "delete a middle line" {
	sed -i 500d "$L"
	run -1 audit-verify -k "$PUB" "$L"
	assert_output --partial "line 500: seq is 501, expected 500"
}

@test "swap two lines" {
	a=$(sed -n 300p "$L")
	b=$(sed -n 700p "$L")
	awk -v a="$a" -v b="$b" 'NR==300{print b; next} NR==700{print a; next} {print}' "$BIG" >"$L"
	[ "$(wc -l <"$L")" -eq 1000 ]
	run -1 audit-verify -k "$PUB" "$L"
	assert_output --partial "line 300: seq is 700, expected 300"
}

@test "truncate the last N lines: the checkpoint names the first missing line" {
	for n in 1 10 999; do
		head -n $((1000 - n)) "$BIG" >"$L"
		run -1 audit-verify -k "$PUB" "$L"
		assert_output --partial "line $((1001 - n)): missing: the log ends after line $((1000 - n))"
		assert_output --partial "records 1000 entries"
	done
	# truncating the checkpoint away too is refused
	rm "$L.checkpoint"
	run -1 audit-verify -k "$PUB" "$L"
	assert_output --partial "no checkpoint"
}

@test "roll back log and checkpoint to an older copy: caught by a newer checkpoint kept elsewhere" {
	cp "$BIG.checkpoint" "$BATS_TEST_TMPDIR/kept.checkpoint"
	cp "$OLD" "$L"
	cp "$OLD.checkpoint" "$L.checkpoint"
	# on its own the old pair is consistent
	run -0 audit-verify -k "$PUB" "$L"
	assert_output --partial "500 entries"
	run -1 audit-verify -k "$PUB" --checkpoint "$BATS_TEST_TMPDIR/kept.checkpoint" "$L"
	assert_output --partial "line 501: missing"
	assert_output --partial "truncated or rolled back"
}

@test "a rewritten history the checkpoint does not contain: rolled back" {
	cp "$BIG.checkpoint" "$BATS_TEST_TMPDIR/kept.checkpoint"
	head -n 999 "$BIG" >"$L"
	# (the 500-entry checkpoint, which the rewritten log still extends)
	cp "$OLD.checkpoint" "$L.checkpoint"
	audit-append -s "$K" -f "$L" -e plan.launched --plan-id $PID --ir-hash $IRH -l i=XXXX >/dev/null
	run -1 audit-verify -k "$PUB" --checkpoint "$BATS_TEST_TMPDIR/kept.checkpoint" "$L"
	assert_output --regexp "line 1000: .*rewritten or rolled back"
}

@test "an entry signed by an untrusted key is named" {
	plan-keygen --no-trust -f "$BATS_TEST_TMPDIR/evil.ed25519" >/dev/null
	# the appender checks the checkpoint's signature against the trusted keys
	mkdir -p "$MVM_HOME/trust"
	cp "$PUB" "$MVM_HOME/trust/k.pub"
	audit-append -s "$BATS_TEST_TMPDIR/evil.ed25519" -f "$L" -e plan.admitted --plan-id $PID --ir-hash $IRH >/dev/null
	run -1 audit-verify -k "$PUB" "$L"
	assert_output --partial "line 1001: signed by untrusted key $(base64 -d "$BATS_TEST_TMPDIR/evil.pub" | sha256sum | cut -c1-32)"
	# trusting it too, the log verifies
	run -0 audit-verify -k "$PUB" -k "$BATS_TEST_TMPDIR/evil.pub" "$L"
	assert_output --partial "1001 entries"
}

@test "a torn last line is reported as such" {
	printf '{"event":"plan.launched","ir' >>"$L"
	run -1 audit-verify -k "$PUB" "$L"
	assert_output --partial "line 1001: torn last line: 28 bytes without a newline"
}

@test "a tampered or untrusted checkpoint is refused" {
	sed -i 's/"size":[0-9]*/"size":1/' "$L.checkpoint"
	run -1 audit-verify -k "$PUB" "$L"
	assert_output --partial "checkpoint: bad signature"
	plan-keygen --no-trust -f "$BATS_TEST_TMPDIR/o.ed25519" >/dev/null
	audit-append -s "$BATS_TEST_TMPDIR/o.ed25519" -f "$BATS_TEST_TMPDIR/o.jsonl" -e plan.failed --plan-id $PID --ir-hash $IRH >/dev/null
	cp "$BATS_TEST_TMPDIR/o.jsonl.checkpoint" "$L.checkpoint"
	run -1 audit-verify -k "$PUB" "$L"
	assert_output --partial "log.jsonl.checkpoint: checkpoint: signed by untrusted key"
	echo '{}' >"$L.checkpoint"
	run -1 audit-verify -k "$PUB" "$L"
}

@test "entries appended after the checkpoint (a crash before it was replaced) still verify" {
	cp "$L.checkpoint" "$BATS_TEST_TMPDIR/cp.before"
	audit-append -s "$K" -f "$L" -e plan.failed --plan-id $PID --ir-hash $IRH >/dev/null
	cp "$BATS_TEST_TMPDIR/cp.before" "$L.checkpoint"
	run -0 audit-verify -k "$PUB" "$L"
	assert_output --partial "1001 entries"
}

@test "stdin and -: no checkpoint unless --checkpoint is given" {
	run -0 audit-verify -k "$PUB" <"$L"
	assert_output --partial "1000 entries"
	run -0 audit-verify -k "$PUB" - <"$L"
	head -n 10 "$L" >"$BATS_TEST_TMPDIR/short"
	run -1 audit-verify -k "$PUB" --checkpoint "$L.checkpoint" <"$BATS_TEST_TMPDIR/short"
	assert_output --partial "line 11: missing"
}

@test "an empty log has 0 entries; not a log: malformed line 1" {
	: >"$BATS_TEST_TMPDIR/empty"
	run -0 audit-verify -k "$PUB" "$BATS_TEST_TMPDIR/empty"
	assert_output "0 entries, head $(printf '%064d' 0)"
	echo 'hello' >"$BATS_TEST_TMPDIR/x"
	run -1 audit-verify -k "$PUB" <"$BATS_TEST_TMPDIR/x"
	assert_output --partial "line 1: not a JSON text"
	sed -n 1p "$BIG" | jq . >"$BATS_TEST_TMPDIR/x"
	run -1 audit-verify -k "$PUB" <"$BATS_TEST_TMPDIR/x"
	assert_output --partial "line 1: "
	sed -n 1p "$BIG" | jq -c '. + {"extra": 1}' | jq -cS . >"$BATS_TEST_TMPDIR/x"
	run -1 audit-verify -k "$PUB" <"$BATS_TEST_TMPDIR/x"
	assert_output --partial "line 1: malformed entry: /extra: unknown field"
}

@test "usage errors are status 2; missing files status 4" {
	run -2 audit-verify a b
	run -2 audit-verify -x
	run -0 audit-verify --help
	run -4 audit-verify -k "$PUB" "$BATS_TEST_TMPDIR/nope"
	run -4 audit-verify -k "$BATS_TEST_TMPDIR/nope.pub" "$L"
	run -4 audit-verify -k "$PUB" --checkpoint "$BATS_TEST_TMPDIR/nope" "$L"
}

@test "writing to a full device fails with status 4" {
	run -4 bash -c 'audit-verify -k "$1" "$2" >/dev/full' _ "$PUB" "$L"
}

@test "man page EXAMPLES" {
	cd "$BATS_TEST_TMPDIR"
	mkdir -p "$MVM_HOME/audit" "$MVM_HOME/trust"
	cp "$PUB" "$MVM_HOME/trust/ci.pub"
	cp "$L" "$MVM_HOME/audit/local.jsonl"
	cp "$L.checkpoint" "$MVM_HOME/audit/local.jsonl.checkpoint"
	run -0 audit-verify "$MVM_HOME/audit/local.jsonl"
	assert_output --partial "1000 entries, head "
	mkdir -p offsite && cp "$MVM_HOME/audit/local.jsonl.checkpoint" offsite/
	run -0 bash -c 'audit-verify --checkpoint offsite/local.jsonl.checkpoint "$MVM_HOME/audit/local.jsonl"'
	cp "$PUB" ci.pub
	run -0 bash -c 'audit-verify -q -k ci.pub log.jsonl || echo tampered'
	assert_output ""
	flip 3 10
	run -0 bash -c 'audit-verify -q -k ci.pub log.jsonl || echo tampered'
	assert_output tampered
}
