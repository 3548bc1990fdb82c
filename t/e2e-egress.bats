#!/usr/bin/env bats
# End to end, in one real QEMU microVM (TCG here): a function whose IR has
# an egress allowlist and no ports (issue #16's egress "Done when").  Two
# HTTP servers on 127.0.0.1, started here; the allowlist names the first.
# Inside the guest the function fetches through HTTP_PROXY (the agent's
# 127.0.0.1:3128, carried over the agent port to vm-boot's proxy): the
# first answers, the second is refused by the proxy (403); the guest has
# no NIC; STATE/egress.log holds both decisions; plan.launched the
# policy's digest.  A meta whose policy was edited after signing is
# refused before any boot.  One image build, one VM boot.

load helper

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

setup_file() {
	[ -z "${MVM_SANITIZE:-}" ] || return 0   # setup() skips every test
	export MVM_HOME="$BATS_FILE_TMPDIR/home"
	A=$BATS_FILE_TMPDIR/app
	mkdir -p "$A" "$BATS_FILE_TMPDIR/www1" "$BATS_FILE_TMPDIR/www2"
	cp -R "$MVM_ROOT/t/data/egress/." "$A/"
	echo "allowed server" >"$BATS_FILE_TMPDIR/www1/hello.txt"
	echo "other server" >"$BATS_FILE_TMPDIR/www2/hello.txt"
	P1=$(free_port)
	P2=$(free_port)
	python3 -m http.server --bind 127.0.0.1 -d "$BATS_FILE_TMPDIR/www1" "$P1" >/dev/null 2>&1 &
	echo $! >"$BATS_FILE_TMPDIR/www1.pid"
	python3 -m http.server --bind 127.0.0.1 -d "$BATS_FILE_TMPDIR/www2" "$P2" >/dev/null 2>&1 &
	echo $! >"$BATS_FILE_TMPDIR/www2.pid"
	jq --argjson p1 "$P1" '.apps[0].entrypoints[0].function = "fetch"
		| .apps[0].network = {"mode": "none", "egress": {"allowlist": [{"host": "127.0.0.1", "port": $p1}]}}' \
		"$SEED_IR" >"$A/ir.json"
	echo "# the guest kernel: libexec/mvm-build-kernel (cached; minutes on a fresh machine)" >&3
	KERNEL=$("$MVM_ROOT/libexec/mvm-build-kernel")
	IMG=$("$MVM_ROOT/bin/mvm-build" --backend debian -q -C "$A" -o "$BATS_FILE_TMPDIR/images" \
		--kernel "$KERNEL" "$A/ir.json")
	"$MVM_ROOT/bin/plan-keygen" >/dev/null
	export A IMG P1 P2
}

setup() {
	need_guest_agent
	export MVM_HOME="$BATS_FILE_TMPDIR/home"
	P=$BATS_FILE_TMPDIR
}

teardown_file() {
	for p in "$BATS_FILE_TMPDIR"/run-*/pid "$BATS_FILE_TMPDIR"/www*.pid; do
		[ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null || true
	done
}

plan() {
	plan-new --image "$1" "$A/ir.json" >"$P/$2.json"
	plan-sign "$P/$2.json" >"$P/$2.dsse.json"
}

@test "the image: mvm-meta.json carries the allowlist (bound by the plan), no network member (no NIC)" {
	run -0 jq -c '[.egress, .network]' "$IMG/mvm-meta.json"
	assert_output "[{\"allowlist\":[{\"host\":\"127.0.0.1\",\"port\":$P1}]},null]"
	# what schemas/mvm-meta.schema.json says (an independent validator)
	/usr/bin/python3 -c 'import json, sys, jsonschema
jsonschema.Draft202012Validator(json.load(open(sys.argv[1]))).validate(json.load(open(sys.argv[2])))' \
		"$MVM_ROOT/schemas/mvm-meta.schema.json" "$IMG/mvm-meta.json"
}

@test "one boot: the allowed server answers through the proxy, the other is refused with 403; egress.log has both; plan.launched the policy digest" {
	# the servers answer on the host
	run -0 curl -sS --max-time 5 "http://127.0.0.1:$P1/hello.txt"
	assert_output "allowed server"
	plan "$IMG" p1
	run -0 --separate-stderr vm-boot -d -S "$P/run-1" -i "$IMG" "$P/p1.dsse.json"
	run -0 vsock-call -s "$P/run-1/v.sock" -r fetch --input "url=http://127.0.0.1:$P1/hello.txt"
	echo "$output" >"$P/ok.json"
	run -0 vsock-call -s "$P/run-1/v.sock" -r fetch --input "url=http://127.0.0.1:$P2/hello.txt"
	echo "$output" >"$P/no.json"
	kill "$(cat "$P/run-1/pid")"
	for _ in $(seq 100); do [ -e "$P/run-1/pid" ] || break; sleep 0.2; done
	# no NIC besides lo, no resolver: names are the proxy's to resolve
	run -0 jq -c '[.status, .body, .proxy, .interfaces, .nameservers]' "$P/ok.json"
	assert_output '[200,"allowed server\n","http://127.0.0.1:3128",["lo"],[]]'
	run -0 jq -c '[.status, .body]' "$P/no.json"
	assert_output "[403,\"mvm egress proxy: no rule allows 127.0.0.1:$P2 (network.egress.allowlist)\\n\"]"
	# the proxy's log: the allowed request and its close, the refused one
	run -0 jq -c -s 'sort_by(.decision)[] | [.decision, .kind, .host, .port, .status // .address]' "$P/run-1/egress.log"
	assert_output - <<-EOF
	["allow","http","127.0.0.1",$P1,"127.0.0.1"]
	["close","http","127.0.0.1",$P1,null]
	["deny","http","127.0.0.1",$P2,403]
	EOF
	jq -e -s 'map(select(.decision == "close"))[0] | .up > 0 and .down > 0' "$P/run-1/egress.log"
	# plan.launched: the digest of the canonical policy (RFC 8785; here computed by jq -cS)
	want=sha256:$(jq -cjS .egress "$IMG/mvm-meta.json" | sha256sum | cut -c1-64)
	run -0 jq -r 'select(.event == "plan.launched") | .labels.egress_policy' "$MVM_HOME/audit/local.jsonl"
	assert_output "$want"
	grep -q -a "mvm-init: network interfaces: lo" "$P/run-1/console.log"
	audit-verify -q "$MVM_HOME/audit/local.jsonl"
}

@test "a meta whose policy was edited after signing is refused before boot" {
	cp -R "$IMG" "$P/edited"
	jq -c --argjson p2 "$P2" '.egress.allowlist += [{"host": "127.0.0.1", "port": $p2}]' "$IMG/mvm-meta.json" |
		ir-canon >"$P/edited/mvm-meta.json"
	plan "$IMG" p-edit
	run -1 vm-boot -d -S "$P/run-edit" -i "$P/edited" "$P/p-edit.dsse.json"
	assert_output --partial "mvm-meta.json"
	[ ! -e "$P/run-edit/console.log" ]
	run -0 jq -r '.event' <(tail -n 1 "$MVM_HOME/audit/local.jsonl")
	assert_output --regexp '^plan\.rejected\.'
}
