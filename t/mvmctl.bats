#!/usr/bin/env bats
# mvmctl: the porcelain verbs over the tools.  One VM boots here (the man
# page's example).

load helper

setup() {
	W=$BATS_TEST_TMPDIR/w
	mkdir -p "$W"
	cp -R "$MVM_ROOT/examples/hello/src" "$MVM_ROOT/examples/hello/entry.py" "$W/"
	cd "$W"
}

@test "usage: no verb or an unknown one exits 2; help exits 0" {
	run -2 mvmctl
	run -2 mvmctl frobnicate
	assert_output --partial 'frobnicate: unknown verb'
	run -0 mvmctl help
	assert_output --partial 'usage: mvmctl <verb>'
	run -2 mvmctl down
	run -2 mvmctl invoke
	MVM_BUILDER=bogus run -2 mvmctl build
	assert_output --partial 'MVM_BUILDER: nix, debian or auto'
}

@test "emit, validate and hash run the tools on .mvm/workload-ir.json by default" {
	run -0 mvmctl emit entry.py -o .mvm/workload-ir.json
	ir-canon "$SEED_IR" | cmp - .mvm/workload-ir.json
	run -0 mvmctl validate
	run -0 mvmctl hash
	assert_output "$(ir-hash "$SEED_IR")"
	echo '{"id":"x"}' >bad.json
	run -1 mvmctl validate bad.json
}

@test "ps lists nothing; invoke, down and logs of a VM that is not running" {
	run -0 mvmctl ps
	assert_output --regexp '^ID +PID +SOCKET$'
	run -1 mvmctl invoke hello --input name=Alice
	assert_output --partial 'hello is not running; mvmctl up first'
	run -1 mvmctl down hello
	assert_output --partial 'hello is not running'
	run -2 mvmctl down ../etc
}

@test "man page EXAMPLES: emit, up, invoke, down" {
	need_guest_agent
	echo "# boots one VM (TCG)" >&3
	KERNEL=$("$MVM_ROOT/libexec/mvm-build-kernel")
	mvmctl emit entry.py -o .mvm/workload-ir.json
	# build with the cached kernel, as mvmctl up would
	"$MVM_ROOT/libexec/mvm-build-rootfs" -q --kernel "$KERNEL" -C . -o .mvm/image .mvm/workload-ir.json >/dev/null
	run -0 --separate-stderr mvmctl up
	assert_output "hello $W/.mvm/run/hello/v.sock"
	# up made the signing key first, its output discarded: /dev/null is still the device
	[ -f "$MVM_HOME/keys/host-signer.ed25519" ] && [ -c /dev/null ]
	run -0 mvmctl ps
	assert_line --regexp '^hello +[0-9]+ +\.mvm/run/hello/v\.sock$'
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
