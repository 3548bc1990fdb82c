#!/usr/bin/env bats
# vsock-call against the real agent (mvm-agent --stdio) and the real Python
# runner, behind a fake Firecracker-style vsock socket: no VM needed here
# (t/e2e-hello.bats calls through a real one).

load helper

setup() {
	T=$BATS_TEST_TMPDIR
	[ -x "$MVM_ROOT/agent/mvm-agent" ] || fail "agent/mvm-agent is not built"
	# the runner runs as uid 1000: let it through the test's directories
	local d=$T
	while [ "$d" != / ] && [ "$d" != /tmp ]; do chmod o+x "$d"; d=$(dirname "$d"); done
	mkdir -m 1733 "$T/calls"   # as the guest's /tmp: the runner's uid makes its call directory
	R=$T/root
	mkroot json
	SOCK=$T/v.sock
}

teardown() {
	[ -z "${FAKE:-}" ] || kill "$FAKE" 2>/dev/null || true
}

# mkroot FORMAT: a guest root with the Python oneshot runner and ops.f
mkroot() {
	local w=$R/usr/lib/mvm/wrappers
	rm -rf "$R"
	mkdir -p "$R/etc/mvm" "$w" "$R/app"
	cp "$MVM_ROOT/agent/wrappers/python/oneshot.py" "$w/runner"
	cp "$MVM_ROOT/agent/wrappers/python/mvm_wrapper_common.py" "$MVM_ROOT/agent/wrappers/python/mvm_json.py" "$w/"
	cp "$MVM_ROOT/examples/hello/src/app.py" "$MVM_ROOT/t/data/agent/ops.py" "$R/app/"
	chmod 0555 "$w/runner"
	echo /usr/lib/mvm/wrappers/runner >"$R/etc/mvm/entrypoint"
	printf '{"module":"app","function":"greet","format":"%s","working_dir":"%s/app","mode":"prod"}' \
		"$1" "$R" >"$R/etc/mvm/wrapper.json"
	printf '{"language":"python","module":"app","function":"greet","format":"%s","source_path":"/app"}' \
		"$1" >"$R/etc/mvm/runtime.json"
	chmod -R a+rX "$R"
}

use_ops() { # call ops.f instead of app.greet
	sed -i 's/"module":"app","function":"greet"/"module":"ops","function":"f"/' \
		"$R/etc/mvm/wrapper.json" "$R/etc/mvm/runtime.json"
}

serve() {
	"$MVM_ROOT/t/data/fake-vsock.py" "$SOCK" -- "$MVM_ROOT/agent/mvm-agent" --stdio --root "$R" \
		--wrapper-config "$R/etc/mvm/wrapper.json" --tmp "$T/calls" 2>>"$T/agent.log" &
	FAKE=$!
	for _ in $(seq 100); do [ -S "$SOCK" ] && return; sleep 0.05; done
	fail "the fake vsock socket did not appear"
}

@test "greet --input name=Alice prints the JSON result" {
	serve
	run -0 vsock-call -s "$SOCK" greet --input name=Alice
	assert_output '"hello, Alice"'
}

@test "-r prints a string result without quotes" {
	serve
	run -0 vsock-call -s "$SOCK" -r greet --input name=Alice
	assert_output 'hello, Alice'
}

@test "--json gives [args, kwargs]; --input-json a typed keyword argument" {
	use_ops
	serve
	run -0 vsock-call -s "$SOCK" --json '[["len",[1,2,3]],{}]'
	assert_output 3
	run -0 vsock-call -s "$SOCK" --input-json op='"len"' --input-json arg='"abcd"'
	assert_output 4
}

@test "arguments on standard input" {
	printf '[["Bob"],{}]' >"$T/args.json"
	serve
	run -0 vsock-call -s "$SOCK" -r <"$T/args.json"
	assert_output 'hello, Bob'
}

@test "-f msgpack encodes the arguments and decodes the result" {
	mkroot msgpack
	serve
	run -0 vsock-call -s "$SOCK" -f msgpack -r greet --input name=Alice
	assert_output 'hello, Alice'
	# the raw result is MessagePack: a fixstr (0xa0 | 12) then the text
	vsock-call -s "$SOCK" -f msgpack -R greet --input name=Alice >"$T/raw"
	[ "$(od -An -tx1 -N1 "$T/raw" | tr -d ' ')" = ac ]
}

@test "a user exception: the runner's status (1) and its scrubbed envelope on stderr" {
	use_ops
	serve
	run -1 --separate-stderr vsock-call -s "$SOCK" --json '[["boom"],{}]'
	assert_output ''
	[[ "$stderr" == *'"kind":"user_exception"'* ]]
	[[ "$stderr" != *secret* ]]
}

@test "a call past its timeout exits 124 and names the agent's error kind" {
	use_ops
	serve
	run -124 vsock-call -s "$SOCK" -t 1 --json '[["slow",30],{}]'
	assert_output --partial 'agent: timeout'
}

@test "--ping and --status" {
	serve
	run -0 vsock-call -s "$SOCK" --ping
	assert_output '{"type":"pong","agent":"mvm-agent","version":1}'
	run -0 vsock-call -s "$SOCK" --status
	assert_output --partial '"entrypoint":"ok"'
}

@test "no socket, or a refused handshake: status 125" {
	run -125 vsock-call -s "$T/nope.sock" --ping
	assert_output --partial 'unable to connect'
	FAKE_VSOCK_REFUSE=1 serve
	run -125 vsock-call -s "$SOCK" --ping
	assert_output --partial 'handshake refused'
}

@test "usage errors exit 2" {
	run -2 vsock-call greet
	run -2 vsock-call -s x -f xml
	run -2 vsock-call -s x --input noequals
	run -2 vsock-call -s x --json '[1]'
	run -2 vsock-call -s x --json '[[],{}]' --input a=b
	run -0 vsock-call --help
	assert_output --partial 'usage: vsock-call'
}

@test "writing the result to a full device fails with status 4" {
	serve
	run -4 bash -c 'vsock-call -s "$1" greet --input name=A >/dev/full' _ "$SOCK"
}

@test "man page EXAMPLES" {
	serve
	run -0 vsock-call -s "$SOCK" greet --input name=Alice
	assert_output '"hello, Alice"'
	printf '[["Bob"],{}]' >"$T/args.json"
	run -0 vsock-call -s "$SOCK" -r <"$T/args.json"
	assert_output 'hello, Bob'
}
