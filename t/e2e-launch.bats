#!/usr/bin/env bats
# End to end, in real QEMU microVMs (TCG here): what an IR declares besides
# its code reaches the function (issue 15, the first "Done when"): a secret
# at its env var and at its file (and nowhere on the host outside the
# store), a config file on the config drive, a data volume keeping a
# counter across two boots of the same image, a tmpfs, the seccomp mode of
# the plan's tier, and that tier in plan.launched.  Issue 17 in the same
# boots: each call in a cgroup of its own with a memory limit, and the
# config drive read through dm-verity.  One image build, two VM boots; the
# refusals before a boot cost none.

load helper

setup_file() {
	[ -z "${MVM_SANITIZE:-}" ] || return 0   # setup() skips every test
	export MVM_HOME="$BATS_FILE_TMPDIR/home"
	A=$BATS_FILE_TMPDIR/app
	mkdir -p "$A"
	cp -R "$MVM_ROOT/t/data/launch/." "$A/"
	jq --arg cfg "$A/config" '.apps[0].entrypoints[0].function = "probe"
		| .apps[0].mounts = [
			{"target": "/mnt/config", "source": {"kind": "host_path", "path": $cfg}, "mode": "ro"},
			{"target": "/mnt/data", "source": {"kind": "volume", "name": "data"}, "mode": "rw"},
			{"target": "/scratch", "source": {"kind": "tmpfs", "size_mb": 8}, "mode": "rw"}]
		| .volumes = [{"name": "data", "size_mb": 16, "persist": false}]
		| .apps[0].env = {
			"GREETING": {"kind": "literal", "value": "hello from the IR"},
			"API_KEY": {"kind": "secret_ref", "ref": {"name": "api_key", "mount": {"kind": "env", "var": "API_KEY"},
				"auth_type": "bearer", "allowed_hosts": ["api.example.com"]}},
			"TOKEN": {"kind": "secret_ref", "ref": {"name": "tok", "mount": {"kind": "file", "path": "/mnt/secrets/tok"},
				"auth_type": "bearer", "allowed_hosts": ["api.example.com"]}}}' \
		"$SEED_IR" >"$A/ir.json"
	echo "# the guest kernel: libexec/mvm-build-kernel (cached; minutes on a fresh machine)" >&3
	KERNEL=$("$MVM_ROOT/libexec/mvm-build-kernel")
	IMG=$("$MVM_ROOT/bin/mvm-build" --backend debian -q -C "$A" -o "$BATS_FILE_TMPDIR/images" \
		--kernel "$KERNEL" "$A/ir.json")
	"$MVM_ROOT/bin/plan-keygen" >/dev/null
	# the secrets: random values, in the store with mode 0600
	mkdir -p -m 0700 "$MVM_HOME/secrets"
	S1=key-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
	S2=tok-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
	(umask 077 && printf '%s\n' "$S1" >"$MVM_HOME/secrets/api_key" && printf '%s' "$S2" >"$MVM_HOME/secrets/tok")
	export A IMG S1 S2
}

setup() {
	need_guest_agent
	export MVM_HOME="$BATS_FILE_TMPDIR/home"
	P=$BATS_FILE_TMPDIR
}

teardown_file() {
	for p in "$BATS_FILE_TMPDIR"/run-*/pid; do
		[ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null || true
	done
}

# plan NAME [plan-new options]: a fresh signed plan for the image
plan() {
	local n=$1
	shift
	plan-new --image "$IMG" --seccomp minimal --secret-release plan_bound "$@" "$A/ir.json" >"$P/$n.json"
	plan-sign "$P/$n.json" >"$P/$n.dsse.json"
}

# stop RUNDIR: SIGTERM to its vm-boot, wait until it has exited
stop() {
	local pid
	pid=$(cat "$1/pid")
	kill "$pid"
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
	fail "vm-boot $pid did not stop"
}

last_event() { tail -n 1 "$MVM_HOME/audit/local.jsonl" | jq -r '.event + " " + (.labels.reason // "")'; }

@test "the image: the config drive and the launch member in mvm-meta.json, bound through the plan" {
	run -0 jq -c '.launch | {workload, drives: [.drives[] | del(.verity)], secrets}' "$IMG/mvm-meta.json"
	assert_output '{"workload":"hello","drives":[{"file":"m0.ext4","kind":"config","role":"m0"},{"kind":"volume","mode":"rw","role":"m1","size_mb":16,"volume":"data"}],"secrets":[{"env":"API_KEY","name":"api_key"},{"file":"/mnt/secrets/tok","name":"tok"}]}'
	# what schemas/mvm-meta.schema.json says (an independent validator)
	/usr/bin/python3 -c 'import json, sys, jsonschema
jsonschema.Draft202012Validator(json.load(open(sys.argv[1]))).validate(json.load(open(sys.argv[2])))' \
		"$MVM_ROOT/schemas/mvm-meta.schema.json" "$IMG/mvm-meta.json"
	# issue 17: the config drive's dm-verity tree, appended; veritysetup
	# (cryptsetup's implementation, not ours) verifies the whole drive
	# against the meta's root hash, and the root carries the same line
	# for init
	read -r blocks root salt < <(jq -r '.launch.drives[0].verity | "\(.data_blocks) \(.root_hash) \(.salt)"' "$IMG/mvm-meta.json")
	[ "$(stat -c %s "$IMG/m0.ext4")" -gt $((blocks * 4096)) ]
	veritysetup verify --no-superblock --hash=sha256 --data-blocks="$blocks" \
		--hash-offset=$((blocks * 4096)) --salt="$salt" "$IMG/m0.ext4" "$IMG/m0.ext4" "$root"
	run -0 --separate-stderr debugfs -R "cat /etc/mvm/verity" "$IMG/rootfs.ext4"
	assert_output "m0 $blocks $root $salt"
	run -0 blkid -o value -s LABEL "$IMG/m0.ext4"
	assert_output mvm-m0
}

@test "a missing secret, or one readable by others, refuses the launch before boot, recorded as plan.failed" {
	mv "$MVM_HOME/secrets/tok" "$P/tok.away"
	plan p-miss
	run -1 vm-boot -d -S "$P/run-miss" -i "$IMG" "$P/p-miss.dsse.json"
	assert_output --partial "secret tok: no such secret in the store ($MVM_HOME/secrets/tok; or set MVM_SECRET_CMD)"
	assert_output --partial 'nothing booted'
	[ ! -e "$P/run-miss/console.log" ]
	run -0 last_event
	assert_output "plan.failed secret tok: no such secret in the store ($MVM_HOME/secrets/tok; or set MVM_SECRET_CMD)"
	mv "$P/tok.away" "$MVM_HOME/secrets/tok"
	chmod 0644 "$MVM_HOME/secrets/tok"
	plan p-mode
	run -1 vm-boot -d -S "$P/run-mode" -i "$IMG" "$P/p-mode.dsse.json"
	assert_output --partial "has mode 0644; a secret may be read by its owner only: chmod 600 $MVM_HOME/secrets/tok"
	chmod 0600 "$MVM_HOME/secrets/tok"
	# a plan that releases no secret
	plan-new --image "$IMG" --seccomp minimal "$A/ir.json" | plan-sign >"$P/p-none.dsse.json"
	run -1 vm-boot -d -S "$P/run-none" -i "$IMG" "$P/p-none.dsse.json"
	assert_output --partial "secret_release is none: only plan_bound releases them"
	audit-verify -q "$MVM_HOME/audit/local.jsonl"
}

@test "one boot: an env literal, secrets at their env var and file, the config file, the volume's counter, the tmpfs, seccomp of the minimal tier; a second boot counts on" {
	plan p1
	run -0 --separate-stderr vm-boot -d -S "$P/run-1" -i "$IMG" "$P/p1.dsse.json"
	run -0 vsock-call -s "$P/run-1/v.sock" -r probe --input step=one
	echo "$output" >"$P/out1.json"
	jq -e --arg s1 "$S1" --arg s2 "$S2" '.env == $s1 and .file == $s2' "$P/out1.json"
	jq -e '.file_mode == "400" and .file_uid == 1000 and .config == "colour=blue"' "$P/out1.json"
	jq -e '.counter == 1 and .step == "one"' "$P/out1.json"
	# issue 17: the call ran in a cgroup of its own; one that touches more
	# than its limit (memory_mb 256 less 48 MiB) ends with memory_limit,
	# and the agent serves on: one under it gets its answer
	jq -e '.cgroup | test("^0::/mvm/c[0-9]+$")' "$P/out1.json"
	run -125 vsock-call -s "$P/run-1/v.sock" -r probe --input step=m --input alloc_mb=400
	assert_output --partial 'agent: memory_limit: the call exceeded its memory limit ('
	run -0 vsock-call -s "$P/run-1/v.sock" -r probe --input step=m --input alloc_mb=16
	assert_output 'held 16 MiB'
	# the IR's env literal, beside the secrets (issue 15's single boot)
	jq -e '.literal == "hello from the IR"' "$P/out1.json"
	# /proc/self/status: 2 is SECCOMP_MODE_FILTER (proc(5)); minimal refuses a socket with EPERM (1)
	jq -e '.seccomp == "2" and .socket == 1' "$P/out1.json"
	# mounted where declared, nodev,nosuid,noexec, ro/rw as declared
	run -0 jq -r '.mounts[]' "$P/out1.json"
	assert_line --regexp '^/mnt/config ro,nosuid,nodev,noexec'
	assert_line --regexp '^/mnt/data rw,nosuid,nodev,noexec'
	assert_line --regexp '^/scratch rw,nosuid,nodev,noexec'
	assert_line --regexp '^/mnt/secrets rw,nosuid,nodev,noexec'
	# the agent's status and plan.launched: the tier applied, the secrets by name
	run -0 vsock-call -s "$P/run-1/v.sock" --status
	assert_output --partial '"seccomp":"minimal"'
	run -0 jq -c 'select(.event == "plan.launched") | [.labels.seccomp_tier, .labels.secrets]' "$MVM_HOME/audit/local.jsonl"
	assert_output '["minimal","api_key,tok"]'
	# while it runs, the volume is locked: another VM of the workload cannot attach it
	plan p-busy
	run -1 vm-boot -d -S "$P/run-busy" -i "$IMG" "$P/p-busy.dsse.json"
	assert_output --partial "volume data of workload hello ($MVM_HOME/volumes/hello/data) is in use by another VM"
	stop "$P/run-1"

	# the same image again: the volume kept its data.  And (issue 17) one
	# byte of app.conf on the config drive changed after signing: admitted
	# (admission checks the drive's top hash block only), and the guest's
	# dm-verity refuses the block: the read fails with EIO (5)
	cp "$IMG/m0.ext4" "$P/m0.ext4.good"
	b=$(debugfs -R "bmap /app.conf 0" "$IMG/m0.ext4" 2>/dev/null)
	[ -n "$b" ] || fail "no block for /app.conf"
	flip_byte "$IMG/m0.ext4" $((b * 4096 + 2))
	plan p2
	run -0 --separate-stderr vm-boot -d -S "$P/run-2" -i "$IMG" "$P/p2.dsse.json"
	run -0 vsock-call -s "$P/run-2/v.sock" -r probe --input step=two
	echo "$output" >"$P/out2.json"
	jq -e '.counter == 2 and .step == "two" and .config == "errno 5"' "$P/out2.json"
	stop "$P/run-2"
	mv "$P/m0.ext4.good" "$IMG/m0.ext4"
	run -0 tr -d '\r' <"$P/run-2/console.log"
	assert_line --regexp '^device-mapper: verity: [0-9:]+: data block [0-9]+ is corrupted$'
	assert_line --regexp '^mvm-init: drive /dev/dm-[0-9]+ \(mvm-m0\) on /mnt/config \(ro\)$'

	rm "$P/out1.json" "$P/out2.json"   # (they hold what the function returned)

	# no secret value anywhere but in the store: the image, the plans, the
	# state directories (console log, plan.json), the audit log, the volume
	run -1 grep -r -l -a -e "$S1" -e "$S2" --exclude-dir=secrets "$BATS_FILE_TMPDIR"
	[ -z "$output" ]
	grep -q -a "mvm-init: drive /dev/vd. (mvm-m1) on /mnt/data (rw)" "$P/run-2/console.log"
	audit-verify -q "$MVM_HOME/audit/local.jsonl"
}
