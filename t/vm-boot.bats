#!/usr/bin/env bats
# vm-boot without booting a kernel: usage, refusals before boot, the generated
# Firecracker configuration, and the Firecracker path end to end against a
# stand-in VMM.  Real QEMU boots are in t/e2e-hello.bats.

load helper

setup() {
	T=$BATS_TEST_TMPDIR
	plan-keygen >/dev/null
	# an image directory: the plan binds these bytes, nothing boots them here
	IMG=$T/image
	mkdir -p "$IMG"
	head -c 65536 /dev/urandom >"$IMG/rootfs.ext4"
	head -c 4096 /dev/urandom >"$IMG/vmlinux"
	printf '{"backend":"test","ir_hash":"%s"}' "$(ir-hash "$SEED_IR")" >"$IMG/mvm-meta.json"
	plan-new --image "$IMG" "$SEED_IR" >"$T/plan.json"
	plan-sign "$T/plan.json" >"$T/plan.dsse.json"
}

teardown() {
	[ ! -f "$T/run/pid" ] || kill "$(cat "$T/run/pid")" 2>/dev/null || true
}

@test "usage errors exit 2; --help exits 0" {
	run -2 vm-boot
	run -2 vm-boot -b bochs "$T/plan.dsse.json"
	run -2 vm-boot -a hvf "$T/plan.dsse.json"
	run -2 vm-boot a b
	run -0 vm-boot --help
	assert_output --partial 'usage: vm-boot'
}

@test "a missing image directory is a system error (4)" {
	run -4 vm-boot -i "$T/nope" "$T/plan.dsse.json"
	assert_output --partial 'no image directory'
}

@test "a plan signed by an untrusted key boots nothing and is recorded as rejected" {
	mkdir "$T/other"
	plan-keygen -f "$T/other/k.ed25519" -p "$T/other/k.pub" --no-trust >/dev/null
	plan-sign -s "$T/other/k.ed25519" "$T/plan.json" >"$T/other.dsse.json"
	run -1 vm-boot -S "$T/run" -i "$IMG" "$T/other.dsse.json"
	assert_output --partial 'not admitted; nothing booted'
	[ ! -e "$T/run" ]
	run -0 jq -r .event "$MVM_HOME/audit/local.jsonl"
	assert_output 'plan.rejected.signature'
	audit-verify -q "$MVM_HOME/audit/local.jsonl"
}

@test "an image changed after signing is refused before boot" {
	printf 'x' >>"$IMG/vmlinux"
	run -1 vm-boot -S "$T/run" -i "$IMG" "$T/plan.dsse.json"
	assert_output --partial 'not admitted'
	[ ! -e "$T/run" ]
}

@test "--print-config: Firecracker's documented fields, from the plan and the image" {
	run -0 vm-boot --print-config -S "$T/st" -i "$IMG" "$T/plan.json"
	echo "$output" >"$T/fc.json"
	# Field names from Firecracker's docs (getting-started, api_requests): the
	# top-level sections and the members each needs.
	jq -e 'keys == ["boot-source","drives","logger","machine-config","vsock"]' "$T/fc.json"
	jq -e '.["boot-source"] | keys == ["boot_args","kernel_image_path"]' "$T/fc.json"
	jq -e '.drives[0] | keys == ["drive_id","is_read_only","is_root_device","path_on_host"]' "$T/fc.json"
	jq -e '.drives[0].is_root_device == true and .drives[0].is_read_only == true' "$T/fc.json"
	jq -e '.["machine-config"] == {"vcpu_count":1,"mem_size_mib":256,"smt":false}' "$T/fc.json"
	jq -e '.vsock.guest_cid == 3 and (.vsock.uds_path | endswith("/st/v.sock"))' "$T/fc.json"
	jq -e --arg k "$IMG/vmlinux" '.["boot-source"].kernel_image_path == $k' "$T/fc.json"
	jq -e '.["boot-source"].boot_args | test("root=/dev/vda ro") and test("init=/sbin/init")' "$T/fc.json"
}

@test "Firecracker itself: a real boot cannot run here" {
	command -v firecracker >/dev/null ||
		skip "firecracker is not installed (not packaged for Debian 12) and KVM does not work on this host"
	fail "a real Firecracker boot test is not written yet"
}

# fake_root: a guest root with the Python oneshot runner and the seed's app.
# fake_firecracker: a stand-in firecracker in $T/bin that reads --config-file
# like the real one and serves the agent (mvm-agent --stdio, real runner) on
# the config's vsock uds_path.
fake_root() {
	[ -x "$MVM_ROOT/agent/mvm-agent" ] || fail "agent/mvm-agent is not built"
	local d=$T; while [ "$d" != / ] && [ "$d" != /tmp ]; do chmod o+x "$d"; d=$(dirname "$d"); done
	R=$T/root; w=$R/usr/lib/mvm/wrappers
	mkdir -p "$R/etc/mvm" "$w" "$R/app" "$T/bin"
	mkdir -m 0711 "$T/calls"
	cp "$MVM_ROOT/agent/wrappers/python/oneshot.py" "$w/runner"
	cp "$MVM_ROOT/agent/wrappers/python/mvm_wrapper_common.py" "$w/"
	cp "$MVM_ROOT/examples/hello/src/app.py" "$R/app/"
	chmod 0555 "$w/runner"
	echo /usr/lib/mvm/wrappers/runner >"$R/etc/mvm/entrypoint"
	printf '{"module":"app","function":"greet","format":"json","working_dir":"%s/app","mode":"prod"}' "$R" >"$R/etc/mvm/wrapper.json"
	printf '{"language":"python","module":"app","function":"greet","format":"json","source_path":"/app"}' >"$R/etc/mvm/runtime.json"
	chmod -R a+rX "$R"
}

fake_firecracker() {
	fake_root
	cat >"$T/bin/firecracker" <<-EOF
	#!/bin/sh
	# stand-in: firecracker --api-sock PATH --config-file FILE
	[ "\$1" = --api-sock ] && [ "\$3" = --config-file ] || exit 2
	cp "\$4" "$T/seen-config.json"
	sock=\$(jq -r .vsock.uds_path "\$4")
	exec "$MVM_ROOT/t/data/fake-vsock.py" "\$sock" -- "$MVM_ROOT/agent/mvm-agent" --stdio \
		--root "$R" --wrapper-config "$R/etc/mvm/wrapper.json" --tmp "$T/calls"
	EOF
	chmod +x "$T/bin/firecracker"
}

@test "the Firecracker path: config, readiness through its vsock socket, a call, SIGTERM asks for a shutdown" {
	fake_firecracker
	PATH=$T/bin:$PATH run -0 --separate-stderr vm-boot -d -b firecracker -S "$T/run" -i "$IMG" "$T/plan.dsse.json"
	assert_output "$T/run/v.sock"
	jq -e '.vsock.uds_path == $p' --arg p "$T/run/v.sock" "$T/seen-config.json"
	run -0 vsock-call -s "$T/run/v.sock" -r greet --input name=Alice
	assert_output 'hello, Alice'
	run -0 jq -r .event "$MVM_HOME/audit/local.jsonl"
	assert_output $'plan.admitted\nplan.launched'
	# a fresh image: every file was hashed, and the admission says so
	run -0 jq -r 'select(.event == "plan.admitted") | .labels.digests' "$MVM_HOME/audit/local.jsonl"
	assert_output hashed
	pid=$(cat "$T/run/pid")
	kill "$pid"
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	! kill -0 "$pid" 2>/dev/null
	[ ! -e "$T/run/pid" ]
	# SIGTERM asked the agent for a shutdown through the vsock socket; the
	# stand-in, like Firecracker on the guest's reboot, then exited
	run -0 grep -c "shutdown asked by the host" "$T/run/vmm.log"
	# the same image again, once remembered (2 s on): its digests come from
	# the cache, and the admission says so; --rehash hashes them all the same
	sleep 2.1
	plan-new --image "$IMG" "$SEED_IR" | plan-sign |
		plan-verify --no-consume --digest-cache --image "$IMG" >/dev/null
	for how in cached hashed; do
		plan-new --image "$IMG" "$SEED_IR" | plan-sign >"$T/again.dsse.json"
		PATH=$T/bin:$PATH run -0 vm-boot -d -b firecracker -S "$T/run" -i "$IMG" \
			$([ $how = hashed ] && echo --rehash) "$T/again.dsse.json"
		kill "$(cat "$T/run/pid")"
		for _ in $(seq 100); do [ -e "$T/run/pid" ] || break; sleep 0.1; done
		run -0 jq -r 'select(.event == "plan.admitted") | .labels.digests' "$MVM_HOME/audit/local.jsonl"
		assert_line --index $([ $how = cached ] && echo 1 || echo 2) $how
	done
}

@test "--ready-fd: in the foreground, the socket path arrives on the fd once the agent answers" {
	fake_firecracker
	mkfifo "$T/ready"
	PATH=$T/bin:$PATH vm-boot --ready-fd 3 -b firecracker -S "$T/run" -i "$IMG" \
		"$T/plan.dsse.json" 3>"$T/ready" >"$T/out" 2>"$T/err" &
	vmboot=$!
	read -r line <"$T/ready"
	[ "$line" = "$T/run/v.sock" ]
	# ready means ready: the first call answers, and the supervisor is still here
	run -0 vsock-call -s "$T/run/v.sock" -r greet --input name=Alice
	assert_output 'hello, Alice'
	kill -0 "$vmboot"
	[ "$(cat "$T/run/pid")" = "$vmboot" ]
	kill "$vmboot"
	wait "$vmboot"   # status 0: stopped by a signal, cleanly
	[ ! -e "$T/run/pid" ] && [ ! -e "$T/run/v.sock" ]
	run -0 cat "$T/out"
	assert_output "$T/run/v.sock"
}

@test "--ready-fd: a VMM that fails closes the fd with nothing written; exit 125" {
	mkdir -p "$T/bin"
	printf '#!/bin/sh\nexit 1\n' >"$T/bin/firecracker"
	chmod +x "$T/bin/firecracker"
	PATH=$T/bin:$PATH run -125 vm-boot --ready-fd 3 -b firecracker -S "$T/run" -i "$IMG" \
		"$T/plan.dsse.json" 3>"$T/ready"
	assert_output --partial 'the VMM exited before the agent was ready'
	[ ! -s "$T/ready" ]
	[ ! -e "$T/run/pid" ]
	run -0 jq -r .event "$MVM_HOME/audit/local.jsonl"
	assert_output $'plan.admitted\nplan.failed'
}

@test "--ready-fd: not an open descriptor is a usage error" {
	run -2 vm-boot --ready-fd 9 -S "$T/run" -i "$IMG" "$T/plan.dsse.json"
	run -2 vm-boot --ready-fd x -S "$T/run" -i "$IMG" "$T/plan.dsse.json"
	[ ! -e "$T/run" ]
}

@test "the state directory records the plan, the image and the VMM while it runs" {
	fake_firecracker
	PATH=$T/bin:$PATH run -0 --separate-stderr vm-boot -d -b firecracker -S "$T/run" -i "$IMG" "$T/plan.dsse.json"
	cmp "$T/run/plan.json" "$T/plan.json"
	run -0 cat "$T/run/image"
	assert_output "$(cd "$IMG" && pwd -P)"
	run -0 cat "$T/run/vmm"
	assert_output firecracker
	[ -S "$T/run/v.sock" ]
	kill -0 "$(cat "$T/run/pid")"
}

@test "the QEMU path against a stand-in QEMU: its command line, the serial mux, two clients at once, SIGTERM asks for a shutdown" {
	fake_root
	export FAKE_QEMU_ARGS=$T/qemu-args
	export FAKE_QEMU_AGENT="$MVM_ROOT/agent/mvm-agent --serial-stdio --root $R --wrapper-config $R/etc/mvm/wrapper.json --tmp $T/calls"
	MVM_QEMU=$MVM_ROOT/t/data/fake-qemu.py run -0 --separate-stderr \
		vm-boot -d -b qemu -a tcg -S "$T/run" -i "$IMG" "$T/plan.dsse.json"
	assert_output "$T/run/v.sock"
	# QEMU's microvm command line, as vm-boot(1) describes it
	run -0 cat "$T/qemu-args"
	assert_line --index 0 -M
	assert_line --index 1 microvm,acpi=off,rtc=on
	assert_line "-accel"
	assert_line tcg
	assert_line "$IMG/vmlinux"
	assert_line "id=root,file=$IMG/rootfs.ext4,format=raw,if=none,readonly=on"
	assert_line "socket,id=agent,path=$T/run/agent.serial,server=on,wait=off"
	assert_line virtserialport,chardev=agent,name=org.mvm.agent
	run -0 cat "$T/run/vmm"
	assert_output qemu/tcg
	# two clients on their own mux streams at once
	vsock-call -s "$T/run/v.sock" -r greet --input name=A >"$T/a" &
	vsock-call -s "$T/run/v.sock" -r greet --input name=B >"$T/b"
	wait $!
	run -0 cat "$T/a" "$T/b"
	assert_output $'hello, A\nhello, B'
	run -0 jq -r .event "$MVM_HOME/audit/local.jsonl"
	assert_output $'plan.admitted\nplan.launched'
	pid=$(cat "$T/run/pid")
	kill "$pid"
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	run -1 kill -0 "$pid"
	[ ! -e "$T/run/pid" ] && [ ! -e "$T/run/v.sock" ] && [ ! -e "$T/run/agent.serial" ]
	# the agent got the shutdown request through the mux (and exited 80, on
	# which the stand-in, like QEMU on the guest's reboot, exited 0)
	run -0 grep -c "shutdown asked by the host" "$T/run/vmm.log"
	run -0 grep -c "stopped by signal 15" "$T/run/vm-boot.log"
}
