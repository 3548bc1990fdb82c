#!/usr/bin/env bats
# mvmctl: the porcelain verbs over the tools.  One VM boots here (the man
# page's example).

load helper
load fake-vm

setup() {
	W=$BATS_TEST_TMPDIR/w
	mkdir -p "$W"
	cp -R "$MVM_ROOT/examples/hello/src" "$MVM_ROOT/examples/hello/entry.py" "$W/"
	cd "$W"
}

teardown() {
	for p in "$W"/.mvm/run/*/pid; do
		[ ! -f "$p" ] || kill "$(cat "$p")" 2>/dev/null || true
	done
}

@test "usage: no verb or an unknown one exits 2; help exits 0" {
	run -2 mvmctl
	run -2 mvmctl frobnicate
	assert_output --partial 'frobnicate: unknown verb'
	run -0 mvmctl help
	assert_output --partial 'usage: mvmctl <verb>'
	run -2 mvmctl down
	run -2 mvmctl invoke
	run -2 mvmctl build a b
}

@test "build is mvm-build on the project (-C . -o .mvm/image, the default IR): the backend is its choice" {
	mkdir lx
	printf '#!/bin/sh\necho "$*" >"%s/args"\necho /the/image/dir\n' "$W" >lx/mvm-build-rootfs
	chmod +x lx/mvm-build-rootfs
	MVM_LIBEXEC=$W/lx run -0 mvmctl build
	assert_output /the/image/dir
	run -0 cat args
	assert_output -- '-C . -o .mvm/image .mvm/workload-ir.json'
}

@test "emit, validate and hash run the tools on .mvm/workload-ir.json by default" {
	run -0 mvmctl emit entry.py -o .mvm/workload-ir.json
	ir-canon "$SDK_SEED_IR" | cmp - .mvm/workload-ir.json
	run -0 mvmctl validate
	run -0 mvmctl hash
	assert_output "$(ir-hash "$SDK_SEED_IR")"
	echo '{"id":"x"}' >bad.json
	run -1 mvmctl validate bad.json
}

@test "ps lists nothing; invoke, down and logs of a VM that is not running" {
	run -0 mvmctl ps
	assert_output --regexp '^ID +PID +SOCKET +PORTS$'
	run -1 mvmctl invoke hello --input name=Alice
	assert_output --partial 'hello is not running; mvmctl up first'
	run -1 mvmctl down hello
	assert_output --partial 'hello is not running'
	run -2 mvmctl down ../etc
}

@test "validate resolves lockfiles against the project directory, not .mvm/" {
	mkdir .mvm
	cp "$MVM_ROOT/t/data/lockfiles/pip/requirements.txt" src/
	jq '.apps[0].dependencies = {"kind":"python","tool":"pip_tools","lockfile":"requirements.txt"}' \
		"$SEED_IR" >.mvm/workload-ir.json
	run -0 mvmctl validate
	# from the IR file's own directory (.mvm/) there is no src/requirements.txt
	run -1 ir-validate .mvm/workload-ir.json
	assert_output --partial E_LOCKFILE_NOT_FOUND
}

@test "mvmctl(1) EXAMPLES: a VM started without mvmctl (vm-boot -S .mvm/run/ID) is listed, called in its IR's format (msgpack), logged, stopped" {
	T=$BATS_TEST_TMPDIR
	mkdir .mvm
	jq '.apps[0].entrypoints[0].format = "msgpack"' "$SEED_IR" >"$T/msgpack-ir.json"
	cp "$T/msgpack-ir.json" .mvm/workload-ir.json
	fake_root msgpack
	fake_qemu
	fake_image .mvm/workload-ir.json
	run -0 --separate-stderr vm-boot -d -b qemu -a tcg -S .mvm/run/hello -i "$IMG" "$T/plan.dsse.json"
	# a supervisor that died without cleaning up is not listed
	mkdir .mvm/run/stale
	sh -c 'echo $$' >.mvm/run/stale/pid
	run -0 mvmctl ps
	assert_line --index 0 --regexp '^ID +PID +SOCKET +PORTS$'
	assert_line --index 1 --regexp '^hello +[0-9]+ +\.mvm/run/hello/v\.sock +-$'
	assert_equal "${#lines[@]}" 2
	# the format from the project's IR (as for a VM make started) ...
	run -0 mvmctl invoke hello --input name=Alice
	assert_output 'hello, Alice'
	# ... or, first, from the IR recorded beside the VM (as mvmctl up does)
	cp "$T/msgpack-ir.json" .mvm/run/hello/workload-ir.json
	cp "$SEED_IR" .mvm/workload-ir.json
	run -0 mvmctl invoke hello --input name=Bob
	assert_output 'hello, Bob'
	run -0 mvmctl logs hello
	assert_output 'fake-qemu: the serial console'
	run -0 mvmctl down hello
	run -0 mvmctl ps
	assert_output --regexp '^ID +PID +SOCKET +PORTS$'
	run -1 mvmctl invoke hello --input name=Alice
	[ ! -e .mvm/run/hello/v.sock ]
}

@test "man page EXAMPLES: emit, up, invoke, down" {
	need_guest_agent
	echo "# boots one VM (TCG)" >&3
	KERNEL=$("$MVM_ROOT/libexec/mvm-build-kernel")
	mvmctl emit entry.py -o .mvm/workload-ir.json
	# build with the cached kernel, as mvmctl up would (the hello image, built
	# once per run by t/helper.bash, is found by its key)
	seed_image_cache .mvm/image
	"$MVM_ROOT/libexec/mvm-build-rootfs" -q --kernel "$KERNEL" -C . -o .mvm/image .mvm/workload-ir.json >/dev/null
	run -0 --separate-stderr mvmctl up
	assert_output "hello $W/.mvm/run/hello/v.sock"
	cmp .mvm/workload-ir.json .mvm/run/hello/workload-ir.json
	# up made the signing key first, its output discarded: /dev/null is still the device
	[ -f "$MVM_HOME/keys/host-signer.ed25519" ] && [ -c /dev/null ]
	run -0 mvmctl ps
	assert_line --regexp '^hello +[0-9]+ +\.mvm/run/hello/v\.sock +-$'
	run -0 mvmctl invoke hello --input name=Alice
	assert_output 'hello, Alice'
	run -1 --separate-stderr mvmctl up
	assert_output ''
	[[ "$stderr" == *"hello is already running"* ]]
	run -0 mvmctl logs hello
	assert_output --partial 'mvm-init: agent started at'
	run -0 mvmctl down hello
	run -1 mvmctl invoke hello --input name=Alice
	[ ! -e .mvm/plan.dsse.json ]
	run -0 mvmctl audit verify "$MVM_HOME/audit/local.jsonl"
	assert_output --regexp '^2 entries'
}

@test "invoke ID NAME calls that function, with its own format (no VM: the real agent behind a fake vsock socket)" {
	T=$BATS_TEST_TMPDIR
	d=$T
	while [ "$d" != / ] && [ "$d" != /tmp ]; do chmod o+x "$d"; d=$(dirname "$d"); done
	mkdir -m 1733 "$T/calls"   # the runner makes its call directory here (calldir.c)
	# a guest root: the app of t/data/deliver, its primary greet (json)
	# and env (msgpack), as ir-lower lowers the IR below
	jq '.apps[0].env = {"GREETING": {"kind": "literal", "value": "hi"}}
		| .apps[0].entrypoints += [.apps[0].entrypoints[0] | .function = "env" | .format = "msgpack" | .primary = false]' \
		"$SEED_IR" >ir.json
	R=$T/root w=$T/root/usr/lib/mvm/wrappers
	mkdir -p "$w" "$R/app" "$R/etc/mvm/fn"
	cp "$MVM_ROOT/agent/wrappers/python/oneshot.py" "$w/runner"
	cp "$MVM_ROOT/agent/wrappers/python/mvm_wrapper_common.py" "$MVM_ROOT/agent/wrappers/python/mvm_json.py" "$w/"
	cp "$MVM_ROOT/t/data/deliver/app.py" "$R/app/app.py"
	chmod 0555 "$w/runner"
	ir-lower -L ir.json >lowered.json
	for f in /etc/mvm/entrypoint /etc/mvm/runtime.json /etc/mvm/wrapper.json /etc/mvm/fn/0.json /etc/mvm/fn/1.json; do
		jq -j --arg f "$f" '.files[$f].content' lowered.json | sed "s|\"/app\"|\"$R/app\"|" >"$R$f"
	done
	chmod -R a+rX "$R"
	# the VM's run directory, as mvmctl up leaves it
	mkdir -p .mvm/run/hello
	cp ir.json .mvm/run/hello/workload-ir.json
	sleep 300 &
	echo $! >.mvm/run/hello/pid
	"$MVM_ROOT/t/data/fake-vsock.py" .mvm/run/hello/v.sock -- "$MVM_ROOT/agent/mvm-agent" --stdio \
		--root "$R" --tmp "$T/calls" 2>>"$T/agent.log" &
	FAKE=$!
	for _ in $(seq 100); do [ -S .mvm/run/hello/v.sock ] && break; sleep 0.05; done
	run -0 mvmctl invoke hello env --input name=GREETING
	assert_output hi
	kill "$FAKE" 2>/dev/null || true
	# up --prod takes at most the IR
	run -2 mvmctl up --prod a.json b.json
}
