#!/usr/bin/env bats
# End to end (issue 15, the call side): what the IR declares reaches the VM.
# One prod image and one dev image of the same app of five functions (an env
# literal, an args_schema), each booted once in a real QEMU microVM (TCG
# here): two builds, two boots, and one refused admission that boots
# nothing.

load helper

setup_file() {
	[ -z "${MVM_SANITIZE:-}" ] || return 0   # setup() skips every test
	export MVM_HOME="$BATS_FILE_TMPDIR/home"
	D="$BATS_FILE_TMPDIR/app"
	mkdir -p "$D/src"
	cp "$MVM_ROOT/t/data/deliver/app.py" "$D/src/"
	# the seed's IR with the app's functions, an env literal and a schema
	jq '.apps[0].env = {"GREETING": {"kind": "literal", "value": "hi from the IR"}}
		| .apps[0].entrypoints[0] as $f
		| .apps[0].entrypoints = [$f] + [("env", "mark", "marked", "boom") as $n
			| $f | .function = $n | .primary = false]
		| .apps[0].entrypoints[2].args_schema = {"type": "object", "required": ["name"],
			"additionalProperties": false, "properties": {"name": {"type": "string", "maxLength": 5}}}' \
		"$SEED_IR" >"$D/ir.json"
	echo "# the guest kernel: libexec/mvm-build-kernel (cached; minutes on a fresh machine)" >&3
	KERNEL=$("$MVM_ROOT/libexec/mvm-build-kernel")
	export D KERNEL
	"$MVM_ROOT/bin/plan-keygen" >/dev/null
	PROD=$(mvm-build --backend debian -q --kernel "$KERNEL" -o "$D/images" "$D/ir.json")
	DEV=$(mvm-build --backend debian --dev -q --kernel "$KERNEL" -o "$D/images" "$D/ir.json")
	export PROD DEV
	# the prod image, under a plan that requires a prod image
	plan-new --require-prod --image "$PROD" "$D/ir.json" >"$D/prod.json"
	plan-sign "$D/prod.json" >"$D/prod.dsse.json"
	vm-boot -d -S "$BATS_FILE_TMPDIR/run-prod" -i "$PROD" "$D/prod.dsse.json" >"$D/prod.sock"
	# the dev image: refused under --require-prod, admitted without
	plan-new --require-prod --image "$DEV" "$D/ir.json" >"$D/devp.json"
	plan-sign "$D/devp.json" >"$D/devp.dsse.json"
	vm-boot -S "$BATS_FILE_TMPDIR/run-devp" -i "$DEV" "$D/devp.dsse.json" >"$D/devp.out" 2>&1 &&
		echo 0 >"$D/devp.rc" || echo $? >"$D/devp.rc"
	plan-new --image "$DEV" "$D/ir.json" >"$D/dev.json"
	plan-sign "$D/dev.json" >"$D/dev.dsse.json"
	vm-boot -d -S "$BATS_FILE_TMPDIR/run-dev" -i "$DEV" "$D/dev.dsse.json" >"$D/dev.sock"
}

setup() {
	need_guest_agent
	export MVM_HOME="$BATS_FILE_TMPDIR/home"
	PS=$(cat "$D/prod.sock")
	DS=$(cat "$D/dev.sock")
}

teardown_file() {
	for p in "$BATS_FILE_TMPDIR"/run-*/pid; do
		[ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null || true
	done
}

audit_log() { echo "$MVM_HOME/audit/local.jsonl"; }

@test "an env literal of the IR reaches the function's environment" {
	run -0 vsock-call -s "$PS" -r env --input name=GREETING
	assert_output 'hi from the IR'
	# a request may not override it
	run -125 vsock-call -s "$PS" -e GREETING=other env --input name=GREETING
	assert_output --partial "agent: bad_request: env sets GREETING, which the image's IR declares"
}

@test "every function answers by name; an unknown name is unknown_function, listing the names" {
	run -0 vsock-call -s "$PS" -r greet --input name=Alice
	assert_output 'hello, Alice'
	run -0 vsock-call -s "$PS" -r --input name=Bob     # no name: the primary
	assert_output 'hello, Bob'
	run -125 vsock-call -s "$PS" nope
	assert_output --partial 'agent: unknown_function: no function of that name in this image; its functions: greet env mark marked boom'
}

@test "a call that breaks args_schema is refused before the function runs: no marker" {
	run -2 vsock-call -s "$PS" mark --input name=toolong
	assert_output --partial '"kind":"bad_input"'
	assert_output --partial 'at /name: longer than maxLength 5'
	run -0 vsock-call -s "$PS" marked --json '[[],{}]'
	assert_output false
	# the marker works: a call within the schema leaves it
	run -0 vsock-call -s "$PS" -r mark --input name=ok
	assert_output 'marked ok'
	run -0 vsock-call -s "$PS" marked --json '[[],{}]'
	assert_output true
}

@test "prod image: no traceback; sealed; admitted as image=prod" {
	run -1 vsock-call -s "$PS" boom --json '[[],{}]'
	assert_output --partial '"kind":"user_exception"'
	refute_output --partial traceback
	refute_output --partial 'boom from the function'
	[ "$(jq .sealed "$PROD/mvm-meta.json")" = true ]
	[ "$(jq -r 'select(.event == "plan.admitted") | .labels.image' "$(audit_log)" | head -1)" = prod ]
}

@test "dev image: a traceback; the exec request; sealed false; image=dev; refused under --require-prod" {
	run -1 vsock-call -s "$DS" boom --json '[[],{}]'
	assert_output --partial '"traceback":"Traceback'
	assert_output --partial 'boom from the function'
	run -0 "$MVM_ROOT/t/data/vsock_exec.py" "$DS" /bin/busybox id -u
	assert_output $'stdout 1000\nexit 0'
	# the prod agent has no exec: an unknown request type
	run -0 "$MVM_ROOT/t/data/vsock_exec.py" "$PS" /bin/busybox id -u
	assert_output --partial 'error bad_request'
	[ "$(jq .sealed "$DEV/mvm-meta.json")" = false ]
	[ "$(jq -r 'select(.event == "plan.admitted") | .labels.image' "$(audit_log)" | tail -1)" = dev ]
	# the plan that requires prod refused the dev image; nothing booted
	[ "$(cat "$D/devp.rc")" = 1 ]
	grep -q 'dev_image' "$D/devp.out"
	[ ! -e "$BATS_FILE_TMPDIR/run-devp/console.log" ]
	[ "$(jq -r .event "$(audit_log)" | grep -c '^plan.rejected.dev_image$')" = 1 ]
	audit-verify -q "$(audit_log)"
}
