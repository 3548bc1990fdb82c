#!/usr/bin/env bats
# End to end, in real QEMU microVMs (TCG here): the seed's hello example from
# entry.py to "hello, Alice" through mk/mvm.mk, admission and audit around the
# boot, the same as mvm(7)'s shell pipeline (emit, validate, mvm-build, plan, sign,
# vm-boot, vsock-call: each a tool on PATH), a warm pool (each worker in a
# cgroup of its own, issue 17) under 8 parallel
# calls, a guest that never gets ready, a guest whose file system was
# changed (dm-verity), and nothing left behind.  Five VMs boot in this file.

load helper

setup_file() {
	[ -z "${MVM_SANITIZE:-}" ] || return 0   # setup() skips every test
	export MVM_HOME="$BATS_FILE_TMPDIR/home"
	W="$BATS_FILE_TMPDIR/hello"
	mkdir -p "$W"
	cp -R "$MVM_ROOT/examples/hello/." "$W/"
	rm -rf "$W/.mvm"
	# the hello image, built once per run (t/helper.bash): the make flow's
	# build below finds it by its key; t/mvm-build.bats builds it for real
	seed_image_cache "$W/.mvm/image"
	echo "# the guest kernel: libexec/mvm-build-kernel (cached; minutes on a fresh machine)" >&3
	KERNEL=$("$MVM_ROOT/libexec/mvm-build-kernel")
	export W KERNEL
	"$MVM_ROOT/bin/plan-keygen" >/dev/null
}

setup() {
	need_guest_agent
	export MVM_HOME="$BATS_FILE_TMPDIR/home"   # one home for the whole file
}

teardown_file() {
	# whatever a failed test left running
	for p in "$BATS_FILE_TMPDIR"/*/.mvm/run/*/pid "$BATS_FILE_TMPDIR"/*/.mvm/run/pid "$BATS_FILE_TMPDIR"/run-*/pid; do
		[ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null || true
	done
}

mk() { make --no-print-directory -C "$W" MVM="$MVM_ROOT" MVM_BUILD_OPTS="--kernel $KERNEL" "$@"; }
audit_log() { echo "$MVM_HOME/audit/local.jsonl"; }
events() { jq -r .event <"$(audit_log)"; }

@test "make mvm-invoke: entry.py -> emit -> build -> plan -> admit -> boot -> greet = hello, Alice" {
	run -0 mk mvm-invoke MVM_INPUT=name=Alice
	assert_line --index $((${#lines[@]} - 1)) 'hello, Alice'
	# the IR is the seed's with the SDKs' default excludes, byte for byte
	ir-canon "$SDK_SEED_IR" | cmp - "$W/.mvm/workload-ir.json"
	[ -S "$W/.mvm/run/hello/v.sock" ]
}

@test "the audit log holds plan.admitted then plan.launched, and verifies" {
	run -0 events
	assert_output $'plan.admitted\nplan.launched'
	run -0 audit-verify "$(audit_log)"
	assert_output --regexp '^2 entries, head [0-9a-f]{64}$'
	# the image's root is dm-verity: admission hashed only its kernel and meta
	run -0 jq -r 'select(.event == "plan.admitted") | .labels.digests' "$(audit_log)"
	assert_output verity
	# both entries name the plan and the IR
	[ "$(jq -r .ir_hash <"$(audit_log)" | sort -u)" = "$(ir-hash "$SDK_SEED_IR")" ]
}

@test "the VM answers a second call and its agent's status" {
	run -0 vsock-call -s "$W/.mvm/run/hello/v.sock" -r greet --input name=Bob
	assert_output 'hello, Bob'
	run -0 vsock-call -s "$W/.mvm/run/hello/v.sock" --status
	assert_output --partial '"entrypoint":"ok","language":"python","tier":"cold"'
	# QEMU is confined (issue 17): a seccomp filter, no_new_privs, under
	# root another user with no supplementary groups
	qpid=$(pgrep -P "$(cat "$W/.mvm/run/hello/pid")")
	echo "$qpid" >"$BATS_FILE_TMPDIR/qemu.pid"
	run -0 awk '$1 == "Seccomp:" || $1 == "NoNewPrivs:" { print $1, $2 }' "/proc/$qpid/status"
	assert_output $'NoNewPrivs: 1\nSeccomp: 2'
	if [ "$(id -u)" = 0 ]; then
		run -0 awk '$1 == "Uid:" { print ($2 == $3 && $3 == $4 && $4 == $5) ? $2 : "mixed" }' "/proc/$qpid/status"
		assert_output "$(id -u mvm-vmm)"
		run -0 awk '$1 == "Groups:" { print NF - 1 }' "/proc/$qpid/status"
		assert_output 0
	fi
}

@test "the same signed plan a second time is refused, recorded as rejected, nothing booted" {
	img="$W/.mvm/image/$(cat "$W/.mvm/image.key")"
	# a signed plan, admitted once (its nonce spent) by plan-verify
	mk mvm-plan >/dev/null
	cp "$W/.mvm/plan.dsse.json" "$BATS_FILE_TMPDIR/spent.dsse.json"
	plan-verify --ir "$W/.mvm/workload-ir.json" --image "$img" "$BATS_FILE_TMPDIR/spent.dsse.json" >/dev/null
	run -1 vm-boot -S "$BATS_FILE_TMPDIR/run-replay" -i "$img" "$BATS_FILE_TMPDIR/spent.dsse.json"
	assert_output --partial 'not admitted; nothing booted'
	[ ! -e "$BATS_FILE_TMPDIR/run-replay/console.log" ]
	[ "$(events | tail -n 1)" = plan.rejected.replay ]
	audit-verify -q "$(audit_log)"
}

@test "a changed image: its kernel, meta or hash tree is refused before boot; a changed file system block fails the call, never runs" {
	img="$W/.mvm/image/$(cat "$W/.mvm/image.key")"
	bad="$BATS_FILE_TMPDIR/bad-image"
	cp -R "$img" "$bad"
	plan-new --image "$img" "$W/.mvm/workload-ir.json" >"$BATS_FILE_TMPDIR/p.json"
	plan-sign "$BATS_FILE_TMPDIR/p.json" >"$BATS_FILE_TMPDIR/p.dsse.json"
	# the top of the dm-verity hash tree (mvm-meta(5)), then the kernel,
	# each changed after the plan was signed: refused by admission
	top=$(( $(jq .verity.hash_start_block "$img/mvm-meta.json") * 4096 + 7 ))
	for f in rootfs.ext4:$top vmlinux:4000; do
		cp "$img/${f%%:*}" "$bad/"
		flip_byte "$bad/${f%%:*}" "${f#*:}"
		run -1 vm-boot -S "$BATS_FILE_TMPDIR/run-bad" -i "$bad" "$BATS_FILE_TMPDIR/p.dsse.json"
		assert_output --partial 'image_digest'
		assert_output --partial 'not admitted; nothing booted'
		[ ! -e "$BATS_FILE_TMPDIR/run-bad/console.log" ]
		[ "$(events | tail -n 1)" = plan.rejected.image_digest ]
		cp "$img/${f%%:*}" "$bad/"
	done
	# the function's module and its bytecode, changed in the file system:
	# admitted (admission does not hash the file system), booted, and the
	# guest's dm-verity refuses the blocks: the call fails, the changed
	# code never runs
	for f in /app/app.py /app/__pycache__/app.cpython-311.pyc; do
		b=$(debugfs -R "bmap $f 0" "$bad/rootfs.ext4" 2>/dev/null)
		[ -n "$b" ] || fail "no block for $f"
		flip_byte "$bad/rootfs.ext4" $((b * 4096 + 20))
	done
	run -0 vm-boot -d -S "$BATS_FILE_TMPDIR/run-bad" -i "$bad" "$BATS_FILE_TMPDIR/p.dsse.json"
	run -3 vsock-call -s "$BATS_FILE_TMPDIR/run-bad/v.sock" -r greet --input name=Mallory
	assert_output --partial '"kind":"import_error"'
	refute_output --partial 'Mallory'
	kill "$(cat "$BATS_FILE_TMPDIR/run-bad/pid")"
	run -0 tr -d '\r' <"$BATS_FILE_TMPDIR/run-bad/console.log"
	assert_line --regexp '^device-mapper: verity: [0-9:]+: data block [0-9]+ is corrupted$'
}

@test "make mvm-down: the guest shuts itself down, the VM stops, no QEMU process or socket is left" {
	pid=$(cat "$W/.mvm/run/hello/pid")
	run -0 mk mvm-down
	run -1 kill -0 "$pid"
	# a clean guest shutdown: the agent was asked, init stopped the guest
	run -0 tr -d '\r' <"$W/.mvm/run/hello/console.log"   # a serial console's CRLF
	assert_line "mvm-agent: shutdown asked by the host"
	# no network in the IR: no NIC, seen from inside (init's glob of /sys/class/net)
	assert_line "mvm-init: network interfaces: lo"
	assert_line --regexp '^mvm-init: shutting down at [0-9.]+ s$'
	[ ! -e "$W/.mvm/run/hello/v.sock" ] && [ ! -e "$W/.mvm/run/hello/agent.serial" ]
	run -1 kill -0 "$(cat "$BATS_FILE_TMPDIR/qemu.pid")"
}

@test "mvm(7)'s shell pipeline, run as printed, prints what it shows" {
	# the "$ " lines of the block are the commands, the others their output
	# ("..." stands for anything); a fresh HOME, as a new user's (the kernel
	# and package caches kept)
	d="$BATS_FILE_TMPDIR/shell"
	mkdir -p "$d/home"
	cp -R "$MVM_ROOT/examples/hello/entry.py" "$MVM_ROOT/examples/hello/src" "$d/"
	sed -n '/^The whole pipeline, as shell/,/^\.Ed/p' "$MVM_ROOT/man/man7/mvm.7" |
		sed -n '/^\.Bd/,/^\.Ed/p' | sed '1d;$d; s/^\\&//' >"$d/block"
	sed -n 's/^\$ //p' "$d/block" >"$d/script"
	grep -v '^\$ ' "$d/block" >"$d/expected"
	[ "$(wc -l <"$d/script")" -ge 8 ]
	seed_image_cache "$d/.mvm/image"   # mvm-build's default -o: reused by key
	run -0 env -u MVM_HOME HOME="$d/home" MVM_CACHE="${MVM_CACHE:-$HOME/.cache/mvm}" \
		bash -c 'cd "$1" && set -e && . ./script' _ "$d"
	# each expected line, in order, matches one line of the output
	i=0
	while IFS= read -r want; do
		while [ $i -lt ${#lines[@]} ] && [[ ${lines[$i]} != ${want//.../*} ]]; do i=$((i + 1)); done
		[ $i -lt ${#lines[@]} ] || fail "no line of the output matches \"$want\""
		i=$((i + 1))
	done <"$d/expected"
	# the kill stopped it: nothing is left
	for _ in $(seq 100); do [ -e "$d/.mvm/run/pid" ] || break; sleep 0.1; done
	[ ! -e "$d/.mvm/run/pid" ] && [ ! -e "$d/.mvm/run/v.sock" ]
}

@test "a warm pool answers 8 parallel calls to one VM; each worker is contained in a cgroup of its own" {
	# the hello IR with a warm pool of 2 workers, queue 8; its greet is
	# t/data/warm's (hello's, and a few names that report from inside)
	d="$BATS_FILE_TMPDIR/warm"
	mkdir -p "$d"
	cp -R "$MVM_ROOT/t/data/warm/src" "$d/"
	jq '.apps[0].entrypoints[0].concurrency = {kind: "warm_process", pool_size: 2,
		max_calls_per_worker: 100, max_rss_mb: 128, in_process: "serial", max_queue_depth: 8}' \
		"$SEED_IR" >"$d/ir.json"
	ir-validate -C "$d" "$d/ir.json"
	img=$(mvm-build --backend debian -q --kernel "$KERNEL" -o "$d/images" "$d/ir.json")
	debugfs -R 'cat /etc/mvm/runtime.json' "$img/rootfs.ext4" 2>/dev/null | grep -q '"warm_process"'
	plan-new --image "$img" "$d/ir.json" >"$d/p.json"
	plan-sign "$d/p.json" >"$d/p.dsse.json"
	run -0 --separate-stderr vm-boot -d -S "$BATS_FILE_TMPDIR/run-warm" -i "$img" "$d/p.dsse.json"
	sock=$output
	for i in 1 2 3 4 5 6 7 8; do
		vsock-call -s "$sock" -t 120 -r greet --input "name=n$i" >"$d/out.$i" 2>"$d/err.$i" &
	done
	wait
	for i in 1 2 3 4 5 6 7 8; do
		[ "$(cat "$d/out.$i")" = "hello, n$i" ] || fail "call $i: $(cat "$d/out.$i" "$d/err.$i")"
	done
	run -0 vsock-call -s "$sock" --status
	assert_output --partial '"tier":"warm"'
	assert_output --partial '"calls":8'
	# issue 17: the worker runs in a cgroup of its own (mvm-agent(8)) with
	# a cold call's limits: memory.max MemTotal less 48 MiB, pids.max 1024
	run -0 vsock-call -s "$sock" -t 120 -r greet --input name=spawn
	echo "$output" >"$d/spawn.json"
	jq -e '(.self | test("^0::/mvm/w[0-9]+$")) and .child_cgroup == .self' "$d/spawn.json"
	jq -e '.memory_max == ((.mem_total_kb * 1024 - 48 * 1048576) | tostring) and .pids_max == "1024"' "$d/spawn.json"
	# the detached child (setsid, double fork) died at the call's end:
	# nothing is left in the worker's cgroup but the worker
	run -0 vsock-call -s "$sock" -t 120 -r greet --input "name=check:$(jq -r .child "$d/spawn.json"):$(jq -r .dir "$d/spawn.json")"
	assert_output "{\"alive\": false, \"procs\": [\"$(jq -r .worker "$d/spawn.json")\"]}"
	# a call touching more than the limit: the worker's cgroup is OOM-killed,
	# the call answered memory_limit, that cgroup removed; the pool serves on
	run -125 vsock-call -s "$sock" -t 120 -r greet --input "name=hog:$(( $(jq -r .mem_total_kb "$d/spawn.json") / 1024 + 64 ))"
	assert_output --partial 'agent: memory_limit: the call exceeded its memory limit ('
	local cg
	cg=$(sed -n 's/^cgroup 0::\(\/mvm\/w[0-9]*\)$/\1/p' <<<"$output")
	[ -n "$cg" ] || fail "no cgroup line: $output"
	run -0 vsock-call -s "$sock" -t 120 -r greet --input "name=exists:/sys/fs/cgroup$cg"
	assert_output "no"
	run -0 vsock-call -s "$sock" -t 120 -r greet --input name=again
	assert_output "hello, again"
	kill "$(cat "$BATS_FILE_TMPDIR/run-warm/pid")"
}

@test "a guest that never gets ready is killed at boot_timeout_secs; plan.failed is recorded" {
	# the hello image with an init that hangs, and an IR with a 5 s boot timeout
	d="$BATS_FILE_TMPDIR/hang"
	img="$W/.mvm/image/$(cat "$W/.mvm/image.key")"
	cp -R "$img" "$d"
	printf '#!/bin/sh\nwhile :; do sleep 100; done\n' >"$BATS_FILE_TMPDIR/hang-init"
	debugfs -w -R "write $BATS_FILE_TMPDIR/hang-init /sbin/init.hang" "$d/rootfs.ext4" >/dev/null 2>&1
	printf '%s\n' 'rm /sbin/init' 'ln /sbin/init.hang /sbin/init' 'sif /sbin/init mode 0100755' >"$BATS_FILE_TMPDIR/cmds"
	debugfs -w -f "$BATS_FILE_TMPDIR/cmds" "$d/rootfs.ext4" >/dev/null 2>&1
	debugfs -R 'cat /sbin/init' "$d/rootfs.ext4" 2>/dev/null | grep -q 'sleep 100'
	jq '.apps[0].resources.boot_timeout_secs = 5' "$W/.mvm/workload-ir.json" >"$d/ir.json"
	# (the init changed: its image is no longer the one its dm-verity root
	# describes, so its meta names none and its root is hashed whole)
	jq -c --arg h "$(ir-hash "$d/ir.json")" '.ir_hash = $h | del(.verity)' "$d/mvm-meta.json" | ir-canon >"$d/meta"
	mv "$d/meta" "$d/mvm-meta.json"
	plan-new --image "$d" "$d/ir.json" >"$d/p.json"
	plan-sign "$d/p.json" >"$d/p.dsse.json"
	# in the background, to learn its QEMU: the child of the supervisor whose
	# pid the run state records (other suites' QEMUs are none of its business)
	run_dir="$BATS_FILE_TMPDIR/run-hang"
	vm-boot -S "$run_dir" -i "$d" "$d/p.dsse.json" >"$d/out" 2>&1 &
	boot=$!
	qemu=
	for _ in $(seq 300); do
		if [ -f "$run_dir/pid" ]; then
			[ "$(cat "$run_dir/pid")" = "$boot" ] || fail "run state pid $(cat "$run_dir/pid"), not $boot"
			qemu=$(pgrep -P "$boot" -f qemu-system) && break
		fi
		kill -0 "$boot" 2>/dev/null || break
		sleep 0.1
	done
	[ -n "$qemu" ] || fail "no QEMU under vm-boot $boot: $(cat "$d/out")"
	st=0
	wait "$boot" || st=$?
	[ "$st" -eq 124 ] || fail "vm-boot: status $st, not 124: $(cat "$d/out")"
	run -0 cat "$d/out"
	assert_output --partial 'the agent did not answer within boot_timeout_secs'
	[ "$(events | tail -n 1)" = plan.failed ]
	[ ! -e "$run_dir/v.sock" ] && [ ! -e "$run_dir/pid" ]
	run -1 kill -0 "$qemu"   # its QEMU was killed with it
	# no QEMU left: nothing holds the console open
	run -0 bash -c 'find /proc/[0-9]*/fd -lname "$1" 2>/dev/null || :' _ "$run_dir/console.log"
	assert_output ""
	audit-verify -q "$(audit_log)"
}
