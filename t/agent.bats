#!/usr/bin/env bats
# mvm-agent: the guest agent on the host, over --stdio and --serial-stdio,
# with the real runners of agent/wrappers and Debian's python3 / node.

load helper

AGENT="$MVM_ROOT/agent/mvm-agent"
CLIENT="$MVM_ROOT/t/data/agent_client.py"
WRAP="$MVM_ROOT/agent/wrappers"

setup_file() {
	if [ ! -d "$MVM_ROOT/agent/wrappers/node/node_modules/@msgpack" ]; then
		(cd "$MVM_ROOT/agent/wrappers/node" && npm ci --no-audit --no-fund >/dev/null 2>&1) ||
			echo "# npm ci failed: the Node tests will fail" >&3
	fi
}

setup() {
	[ -x "$AGENT" ] || fail "agent/mvm-agent is not built"
	/usr/bin/python3 -c 'import msgpack' || fail "Debian's python3-msgpack is missing"
	T=$BATS_TEST_TMPDIR
	# the runner runs as uid 1000: let it through the test's directories
	local d=$T
	while [ "$d" != / ] && [ "$d" != /tmp ]; do
		chmod o+x "$d"
		d=$(dirname "$d")
	done
	# as the guest's /tmp, sticky and writable: a call's directory is made as the runner's uid
	mkdir -m 1733 "$T/calls"
}

# mkroot DIR LANG TIER FORMAT MODULE FUNCTION [CONCURRENCY_JSON]
# A fake guest root: /etc/mvm/{entrypoint,wrapper.json,runtime.json},
# the runner under /usr/lib/mvm/wrappers/ (mode 0555) and the app in /app.
mkroot() {
	local R=$1 lang=$2 tier=$3 fmt=$4 mod=$5 fn=$6 conc=${7:-} w
	w=$R/usr/lib/mvm/wrappers
	mkdir -p "$R/etc/mvm" "$w" "$R/app"
	case $lang in
	python)
		cp "$WRAP/python/$tier.py" "$w/runner"
		cp "$WRAP/python/mvm_wrapper_common.py" "$WRAP/python/mvm_json.py" "$w/"
		cp "$MVM_ROOT/examples/hello/src/app.py" "$MVM_ROOT/t/data/agent/ops.py" "$R/app/"
		;;
	node)
		cp "$WRAP/node/$tier.mjs" "$w/runner"
		cp "$WRAP/node/mvm_wrapper_common.mjs" "$WRAP/node/package.json" "$w/"
		ln -s "$WRAP/node/node_modules" "$w/node_modules"
		# the image build compiles TypeScript to .mjs; here: strip the seed's annotations
		sed 's/: string//g' "$MVM_ROOT/examples/hello/src/app.ts" >"$R/app/app.mjs"
		cp "$MVM_ROOT/t/data/agent/ops.mjs" "$R/app/"
		;;
	esac
	chmod 0555 "$w/runner"
	echo /usr/lib/mvm/wrappers/runner >"$R/etc/mvm/entrypoint"
	printf '{"module":"%s","function":"%s","format":"%s","working_dir":"%s/app","mode":"prod"}' \
		"$mod" "$fn" "$fmt" "$R" >"$R/etc/mvm/wrapper.json"
	printf '{"language":"%s","module":"%s","function":"%s","format":"%s","source_path":"/app"%s}' \
		"$lang" "$mod" "$fn" "$fmt" "${conc:+,\"concurrency\":$conc}" >"$R/etc/mvm/runtime.json"
	chmod -R a+rX "$R"
}

# agent ROOT SCRIPT [--mux] [agent options...]: run the client against it.
agent() {
	local R=$1 script=$2 mode=--stdio mux=
	shift 2
	if [ "${1:-}" = --mux ]; then
		mode=--serial-stdio mux=--mux
		shift
	fi
	"$CLIENT" $mux --log "$T/agent.log" "$script" -- "$AGENT" "$mode" --root "$R" \
		--wrapper-config "$R/etc/mvm/wrapper.json" --tmp "$T/calls" "$@"
}

script() { printf '%s\n' "$@" >"$T/script"; }

pool() { # max_calls max_rss pool_size [max_queue_depth]
	printf '{"kind":"warm_process","max_calls_per_worker":%s,"max_rss_mb":%s,"pool_size":%s,"in_process":"serial"%s}' \
		"$1" "$2" "$3" "${4:+,\"max_queue_depth\":$4}"
}

@test "python, cold: the seed's greet returns \"hello, Alice\" in json; the call's directory is removed" {
	mkroot "$T/r" python oneshot json app greet
	script 'ping' 'run json [["Alice"],{}]'
	run -0 agent "$T/r" "$T/script"
	assert_output - <<-'EOF'
	pong
	stdout "hello, Alice"
	exit 0
	closed
	agent-exit 0
	EOF
	run -0 find "$T/calls" -mindepth 1
	assert_output ""
}

@test "python, cold: greet in msgpack" {
	mkroot "$T/r" python oneshot msgpack app greet
	script 'run msgpack [["Alice"],{}]'
	run -0 agent "$T/r" "$T/script"
	assert_line 'stdout "hello, Alice"'
	assert_line 'exit 0'
}

@test "node (TypeScript compiled): greet in json and msgpack, cold and warm" {
	mkroot "$T/j" node oneshot json app greet
	mkroot "$T/m" node oneshot msgpack app greet
	mkroot "$T/w" node longrunning msgpack app greet "$(pool 100 256 1)"
	script 'run json [["Alice"],{}]'
	run -0 agent "$T/j" "$T/script"
	assert_line 'stdout "hello, Alice"'
	assert_line 'exit 0'
	script 'run msgpack [["Alice"],{}]'
	run -0 agent "$T/m" "$T/script"
	assert_line 'stdout "hello, Alice"'
	run -0 agent "$T/w" "$T/script"
	assert_line 'stdout "hello, Alice"'
	assert_line 'exit 0'
}

@test "python, warm: greet in json and msgpack" {
	mkroot "$T/j" python longrunning json app greet "$(pool 100 256 1)"
	mkroot "$T/m" python longrunning msgpack app greet "$(pool 100 256 2)"
	script 'run json [["Alice"],{}]' 'run json [["Bob"],{}]'
	run -0 agent "$T/j" "$T/script"
	assert_output - <<-'EOF'
	stdout "hello, Alice"
	exit 0
	stdout "hello, Bob"
	exit 0
	closed
	agent-exit 0
	EOF
	script 'run msgpack [["Alice"],{}]'
	run -0 agent "$T/m" "$T/script"
	assert_line 'stdout "hello, Alice"'
}

@test "a user exception gives the scrubbed envelope and exit 1, cold and warm, python and node" {
	mkroot "$T/c" python oneshot json ops f
	mkroot "$T/w" python longrunning json ops f "$(pool 100 256 1)"
	mkroot "$T/n" node oneshot json ops f
	script 'run json [["boom"],{}]'
	for r in c w n; do
		run -0 agent "$T/$r" "$T/script"
		assert_line 'exit 1'
		assert_line --partial '"kind":"user_exception"'
		assert_line --partial '"message":"the function raised'
		refute_output --partial secret
		refute_output --partial /etc/passwd
	done
}

@test "the runner gets an empty environment plus the request's env; MVM_* names are refused" {
	mkroot "$T/r" python oneshot json ops f
	script 'run json [["env"],{}] env:A=1' 'run json [["env"],{}] env:A=1 env:MVM_WRAPPER_CONFIG=/x' \
		'run json [["env"],{}] env:MVM_OTHER=2'
	run -0 agent "$T/r" "$T/script"
	# (Python itself adds LC_CTYPE when it coerces the C locale)
	assert_line --regexp '^stdout \{"A":"1","PATH":"/usr/local/bin:/usr/bin:/bin","MVM_WRAPPER_CONFIG":"'"$T"'/r/etc/mvm/wrapper.json"(,"LC_CTYPE":"C.UTF-8")?\}$'
	assert_line --index 2 'error bad_request'
	assert_line --index 3 'error bad_request'
	refute_output --partial MVM_OTHER
}

# A hook for each way a caller's env could run code before the wrapper's
# checks; each one, if it ran, would create a marker file.
hooks() {
	mkdir -p "$T/hook" "$T/mark"
	chmod 0777 "$T/mark"
	printf 'open("%s/mark/python", "w").close()\n' "$T" >"$T/hook/json.py"
	printf 'require("fs").writeFileSync("%s/mark/node", "")\n' "$T" >"$T/hook/r.js"
	printf '#include <stdio.h>\n__attribute__((constructor)) static void m(void) { fclose(fopen("%s/mark/ld", "w")); }\n' \
		"$T" >"$T/hook/p.c"
	cc -shared -fPIC -o "$T/hook/p.so" "$T/hook/p.c"
	mkdir -p "$T/hook/bin"
	printf '#!/bin/sh\n: >"%s/mark/path"\nexec /usr/bin/python3 "$@"\n' "$T" >"$T/hook/bin/python3"
	chmod -R a+rX "$T/hook"
	chmod a+x "$T/hook/bin/python3"
}

@test "a request's env naming the loader or an interpreter's start-up hooks is refused: nothing runs" {
	mkroot "$T/p" python oneshot json ops f
	mkroot "$T/n" node oneshot json ops f
	hooks
	script "run json [[\"greet\",\"x\"],{}] env:PYTHONPATH=$T/hook" \
		"run json [[\"greet\",\"x\"],{}] env:LD_PRELOAD=$T/hook/p.so" \
		"run json [[\"greet\",\"x\"],{}] env:PATH=$T/hook/bin" 'ping'
	run -0 agent "$T/p" "$T/script"
	[ -z "$(ls -A "$T/mark")" ] || fail "a hook ran: $(ls "$T/mark")"
	assert_output - <<-'EOF'
	error bad_request
	error bad_request
	error bad_request
	pong
	closed
	agent-exit 0
	EOF
	script "run json [[\"greet\",\"x\"],{}] env:NODE_OPTIONS=--require=$T/hook/r.js" 'ping'
	run -0 agent "$T/n" "$T/script"
	[ -z "$(ls -A "$T/mark")" ] || fail "a hook ran: $(ls "$T/mark")"
	assert_line --index 0 'error bad_request'
	# the hooks themselves work: run directly, each leaves its marker
	PYTHONPATH=$T/hook /usr/bin/python3 -c 'import json'
	NODE_OPTIONS=--require=$T/hook/r.js node -e 0
	LD_PRELOAD=$T/hook/p.so /bin/true
	run -0 ls "$T/mark"
	assert_output - <<-'EOF'
	ld
	node
	python
	EOF
}

@test "cold runner: uid/gid 1000, only fds 0-3 from the agent, ptrace denied by seccomp" {
	[ "$(id -u)" = 0 ] || skip "needs root to change uid"
	mkroot "$T/r" python oneshot json ops f
	script 'run json [["ids"],{}]' 'run json [["ptrace"],{}]'
	run -0 agent "$T/r" "$T/script"
	# fd 3 is the validated runner (exec'd through /proc/self/fd/3); then
	# Python's private copy of stdout and listdir's own fd
	assert_line --regexp '^stdout \[1000,1000,"'"$T"'/r/app",\[0,1,2,3,4,5\]\]$'
	assert_line 'stdout [-1,1]'
	run -0 agent "$T/r" "$T/script" --seccomp unrestricted
	refute_line 'stdout [-1,1]'
}

@test "provisioning (--provision): no call before it; then the tier and the secrets (env, a 0400 file of the runner's uid), once" {
	[ "$(id -u)" = 0 ] || skip "needs root to change uid"
	mkroot "$T/r" python oneshot json ops f
	install -d -o 1000 -g 1000 -m 0700 "$T/r/mnt/secrets"   # as init mounts it
	script 'run json [["env"],{}]' \
		'frame {"type":"provision","seccomp":"minimal","secrets":[{"name":"k","env":"API_KEY","value":"v-1"},{"name":"t","file":"/mnt/secrets/tok","value":"v-2"}]}' \
		'run json [["env"],{}]' "run json [[\"read\",\"$T/r/mnt/secrets/tok\"],{}]" 'run json [["seccomp"],{}]' \
		'frame {"type":"provision","seccomp":"standard"}' 'run json [["env"],{}] env:API_KEY=caller'
	run -0 agent "$T/r" "$T/script" --provision
	assert_line --index 0 'error not_provisioned'
	# a caller cannot replace a provisioned secret's variable
	assert_line --index 9 'error bad_request'
	refute_line --partial caller
	assert_line --index 1 'unknown {"type": "provisioned", "seccomp": "minimal"}'
	assert_line --regexp '^stdout \{.*"API_KEY": ?"v-1"'
	assert_line 'stdout ["v-2","400",1000]'
	# 2: SECCOMP_MODE_FILTER (proc(5))
	assert_line 'stdout "2"'
	# once only
	assert_line --index 8 'error bad_request'
	# the value is not logged
	run -1 grep -e v-1 -e v-2 "$T/agent.log"
}

@test "provisioning: a tier the agent does not know is refused, and nothing runs; the minimal tier refuses what the runners do not need" {
	[ "$(id -u)" = 0 ] || skip "needs root to change uid"
	mkroot "$T/r" python oneshot json ops f
	script 'frame {"type":"provision","seccomp":"essential"}' 'run json [["pid"],{}]' \
		'frame {"type":"provision","seccomp":"minimal","extra":1}'
	run -0 agent "$T/r" "$T/script" --provision
	assert_output - <<-'EOF'
	error bad_request
	error not_provisioned
	error bad_request
	closed
	agent-exit 0
	EOF
	# minimal is an allowlist: a socket, which standard allows, fails with EPERM (1)
	script 'frame {"type":"provision","seccomp":"minimal"}' 'run json [["socket"],{}]'
	run -0 agent "$T/r" "$T/script" --provision
	assert_line 'stdout 1'
	script 'frame {"type":"provision","seccomp":"standard"}' 'run json [["socket"],{}]'
	run -0 agent "$T/r" "$T/script" --provision
	assert_line 'stdout "made"'
}

@test "provisioning: a refused secret is named in the log, never its value (its name is followed by its value in the request's canonical order)" {
	mkroot "$T/r" python oneshot json ops f
	script 'frame {"type":"provision","seccomp":"minimal","secrets":[{"env":"1BAD","name":"k","value":"hunter2-a"}]}' \
		'frame {"type":"provision","seccomp":"minimal","secrets":[{"env":"A","name":"k","value":"hunter2-b\u0000"}]}' \
		'frame {"type":"provision","seccomp":"minimal","secrets":[{"env":"A","name":"k!","value":"hunter2-c\u0000"}]}'
	run -0 agent "$T/r" "$T/script" --provision
	assert_output - <<-'EOF'
	error bad_request
	error bad_request
	error bad_request
	closed
	agent-exit 0
	EOF
	run -0 grep -c -e '^mvm-agent: provisioning refused: provision: secret k: env var name not allowed$' \
		-e '^mvm-agent: provisioning refused: provision: secret k: a NUL byte in its value$' \
		-e '^mvm-agent: provisioning refused: provision: secret ?: a NUL byte in its value$' "$T/agent.log"
	assert_output 3
	run -1 grep hunter2 "$T/agent.log"
}

@test "provisioning: a secret's env var that a call's env may not set either (PATH, PYTHONPATH), or a variable or file two secrets name, is refused before anything is applied" {
	mkroot "$T/r" python oneshot json ops f
	script 'frame {"type":"provision","seccomp":"minimal","secrets":[{"env":"PATH","name":"p","value":"/tmp/evil"}]}' \
		'frame {"type":"provision","seccomp":"minimal","secrets":[{"env":"PYTHONPATH","name":"p","value":"/tmp"}]}' \
		'frame {"type":"provision","seccomp":"minimal","secrets":[{"env":"K","name":"a","value":"1"},{"env":"K","name":"b","value":"2"}]}' \
		'frame {"type":"provision","seccomp":"minimal","secrets":[{"file":"/mnt/secrets/t","name":"a","value":"1"},{"file":"/mnt/secrets/t","name":"b","value":"2"}]}'
	run -0 agent "$T/r" "$T/script" --provision
	assert_output - <<-'EOF'
	error bad_request
	error bad_request
	error bad_request
	error bad_request
	closed
	agent-exit 0
	EOF
	run -0 grep -c -e '^mvm-agent: provisioning refused: provision: secret p: env var name not allowed$' \
		-e "^mvm-agent: provisioning refused: provision: secret b: its env var is another secret's\$" \
		-e "^mvm-agent: provisioning refused: provision: secret b: its file is another secret's\$" "$T/agent.log"
	assert_output 4
}

@test "provisioning is all or nothing: a secret file that cannot be placed leaves no variable, no file and the tier the agent had" {
	[ "$(id -u)" = 0 ] || skip "needs root to change uid"
	mkroot "$T/r" python oneshot json ops f
	install -d -o 1000 -g 1000 -m 0700 "$T/r/mnt/secrets"
	# the third secret's file exists already (a directory): it cannot be placed,
	# after a variable and another file were
	install -d -o 1000 -g 1000 "$T/r/mnt/secrets/b"
	script 'frame {"type":"provision","seccomp":"minimal","secrets":[{"name":"k","env":"API_KEY","value":"hunter2-k"},{"name":"a","file":"/mnt/secrets/a","value":"hunter2-a"},{"name":"b","file":"/mnt/secrets/b","value":"hunter2-b"}]}' \
		'run json [["getenv","API_KEY"],{}]' 'run json [["socket"],{}]'
	# without --provision: calls run with --seccomp's tier (standard) after the refusal
	run -0 agent "$T/r" "$T/script"
	assert_output - <<-'EOF'
	error bad_request
	stdout null
	exit 0
	stdout "made"
	exit 0
	closed
	agent-exit 0
	EOF
	run -0 ls -A "$T/r/mnt/secrets"
	assert_output b
	run -0 grep -c '^mvm-agent: provisioning refused: cannot create the secret file /mnt/secrets/b: File exists$' "$T/agent.log"
	assert_output 1
	run -1 grep hunter2 "$T/agent.log"
	# the same request once b is free: applied whole, and a retry is accepted
	rmdir "$T/r/mnt/secrets/b"
	script 'frame {"type":"provision","seccomp":"minimal","secrets":[{"name":"k","env":"API_KEY","value":"hunter2-k"},{"name":"a","file":"/mnt/secrets/a","value":"hunter2-a"},{"name":"b","file":"/mnt/secrets/b","value":"hunter2-b"}]}' \
		'run json [["getenv","API_KEY"],{}]' "run json [[\"read\",\"$T/r/mnt/secrets/b\"],{}]" 'run json [["socket"],{}]'
	run -0 agent "$T/r" "$T/script"
	assert_line --index 0 'unknown {"type": "provisioned", "seccomp": "minimal"}'
	assert_line 'stdout "hunter2-k"'
	assert_line 'stdout ["hunter2-b","400",1000]'
	assert_line 'stdout 1'
	run -0 ls -A "$T/r/mnt/secrets"
	assert_output - <<-'EOF'
	a
	b
	EOF
}

@test "timeout: the process group is killed (grandchildren too) and the agent goes on" {
	mkroot "$T/r" python oneshot json ops f
	script 'run json [["slow",60],{}] timeout=300' 'ping'
	run -0 agent "$T/r" "$T/script"
	assert_output - <<-'EOF'
	error timeout
	pong
	closed
	agent-exit 0
	EOF
	script 'run json [["sleeper"],{}]'
	run -0 agent "$T/r" "$T/script"
	assert_line 'exit 0'
	pid=$(sed -n 's/^stdout //p' <<<"$output")
	[ -n "$pid" ]
	# killed with its group and reaped by the agent (a subreaper): gone
	for _ in $(seq 50); do [ -e "/proc/$pid" ] || break; sleep 0.1; done
	[ ! -e "/proc/$pid" ]
}

@test "payload: exactly 16 MiB of stdin passes end to end, 16 MiB + 1 is payload_cap" {
	mkroot "$T/r" python oneshot json ops f
	script 'runsize 16777216 timeout=120000' 'runsize 16777217' 'ping'
	run -0 agent "$T/r" "$T/script"
	assert_output - <<-'EOF'
	stdout 16777201
	exit 0
	error payload_cap
	pong
	closed
	agent-exit 0
	EOF
}

@test "a 16 MiB result passes; stderr above 1 MiB is payload_cap" {
	mkroot "$T/r" python oneshot json ops f
	# "x" * n encodes as n + 2 bytes
	script 'run json [["big",16777214],{}] timeout=120000' 'run json [["spew",1048576],{}]' \
		'run json [["spew",1048577],{}]' 'ping'
	run -0 agent "$T/r" "$T/script"
	assert_line --index 1 'exit 0'
	[ "$(sed -n '1s/^stdout //p' <<<"$output" | wc -c)" -eq 16777217 ]
	assert_line --index 2 'stdout "spewed"'
	[ "${#lines[3]}" -eq $((7 + 1048576)) ]
	assert_line --index 4 'exit 0'
	# what was streamed before the breach stays sent; then the error
	[[ "${lines[5]}" == "stderr eeee"* ]]
	assert_line --index 6 'error payload_cap'
	assert_line --index 7 'pong'
}

@test "a shutdown request: no reply, the calls are dropped, the agent exits 80 (init then stops the guest)" {
	mkroot "$T/r" python oneshot json app greet
	# (every connection is dropped at once, as on SIGTERM: the ping after
	# the request is never answered)
	script 'frame {"type":"shutdown"}' 'ping'
	run -0 agent "$T/r" "$T/script"
	assert_output - <<-'EOF'
	closed
	agent-exit 80
	EOF
	run -0 grep -c "shutdown asked by the host" "$T/agent.log"
	# through the mux (the serial transport) as well
	script 'open' 'frame {"type":"shutdown"}' 'ping'
	run -0 agent "$T/r" "$T/script" --mux
	assert_line 'agent-exit 80'
	refute_line pong
}

@test "hostile frames get bad_request and the connection goes on" {
	mkroot "$T/r" python oneshot json app greet
	deep=$(printf '[%.0s' $(seq 64))$(printf ']%.0s' $(seq 64))
	script 'frame {"type":"ping"' 'frame ["ping"]' \
		"frame {\"type\":\"ping\",\"x\":$deep}" \
		'frame {"type":"ping","type":"ping"}' 'frame {"type":"run","stdin":"","timeout_ms":NaN}' \
		'frame {"type":"reboot"}' 'frame {"type":"ping","extra":1}' \
		'frame {"type":"run","stdin":"!!!!"}' 'frame {"type":"run","stdin":"","timeout_ms":0}' \
		'frame {"type":"run","stdin":"","env":{"A":1}}' 'rawlen 0' 'ping'
	run -0 agent "$T/r" "$T/script"
	assert_output - <<-'EOF'
	error bad_request
	error bad_request
	error bad_request
	error bad_request
	error bad_request
	error bad_request
	error bad_request
	error bad_request
	error bad_request
	error bad_request
	error bad_request
	pong
	closed
	agent-exit 0
	EOF
	# depth 64 is fine
	deep=$(printf '[%.0s' $(seq 63))$(printf ']%.0s' $(seq 63))
	script "frame {\"type\":\"ping\",\"x\":$deep}"
	run -0 agent "$T/r" "$T/script"
	assert_line 'error bad_request'
}

@test "a length of 0xFFFFFFFF is refused before buffering: payload_cap, then the connection closes" {
	mkroot "$T/r" python oneshot json app greet
	script 'ping' 'rawlen 4294967295' 'ping'
	run -0 agent "$T/r" "$T/script"
	assert_output - <<-'EOF'
	pong
	error payload_cap
	closed
	agent-exit 0
	EOF
	# just above FRAME_MAX (22,435,160) likewise
	script 'rawlen 22435161'
	run -0 agent "$T/r" "$T/script"
	assert_line 'error payload_cap'
}

@test "a truncated frame closes the connection without a reply" {
	mkroot "$T/r" python oneshot json app greet
	script 'ping' 'raw 000000647b2274797065223a' 'shut'
	run -0 agent "$T/r" "$T/script"
	assert_output - <<-'EOF'
	pong
	closed
	agent-exit 0
	EOF
}

@test "status reports the entrypoint, language, tier and pool" {
	mkroot "$T/r" python oneshot json app greet
	script 'status'
	run -0 agent "$T/r" "$T/script"
	assert_line 'status entrypoint=ok tier=cold language=python slots=4 busy=0 queued=0 calls=0 recycled=0 respawned=0 crashed=0'
}

@test "warm: workers are recycled after max_calls_per_worker calls" {
	mkroot "$T/r" python longrunning json ops f "$(pool 2 256 1)"
	script 'run json [["pid"],{}]' 'run json [["pid"],{}]' 'run json [["pid"],{}]' \
		'run json [["pid"],{}]' 'run json [["pid"],{}]' 'status'
	run -0 agent "$T/r" "$T/script"
	assert_line 'status entrypoint=ok tier=warm language=python slots=1 busy=0 queued=0 calls=5 recycled=2 respawned=0 crashed=0'
	mapfile -t pids < <(sed -n 's/^stdout //p' <<<"$output")
	[ "${#pids[@]}" -eq 5 ]
	[ "${pids[0]}" = "${pids[1]}" ] && [ "${pids[2]}" = "${pids[3]}" ]
	[ "${pids[1]}" != "${pids[2]}" ] && [ "${pids[3]}" != "${pids[4]}" ]
}

@test "warm: a worker above max_rss_mb is recycled" {
	mkroot "$T/r" python longrunning json ops f "$(pool 100 64 1)"
	script 'run json [["pid"],{}]' 'run json [["grow",100],{}]' 'run json [["pid"],{}]' 'status'
	run -0 agent "$T/r" "$T/script"
	assert_line 'status entrypoint=ok tier=warm language=python slots=1 busy=0 queued=0 calls=3 recycled=1 respawned=0 crashed=0'
	mapfile -t pids < <(sed -n 's/^stdout //p' <<<"$output")
	[ "${pids[0]}" != "${pids[2]}" ]
}

@test "warm: a worker killed while idle is respawned; a crash during a call is wrapper_crashed" {
	mkroot "$T/r" python longrunning json ops f "$(pool 100 256 1)"
	# the next call once the agent has seen the death (its status), not
	# after a guessed delay: a loaded machine may take longer than any
	script 'run json [["die_later"],{}]' 'wait' 'waitpool respawned 1' 'run json [["greet","A"],{}]' \
		'run json [["die"],{}]' 'run json [["greet","B"],{}]' 'status'
	run -0 agent "$T/r" "$T/script"
	assert_output - <<-'EOF'
	stdout "bye"
	exit 0
	stdout "hello, A"
	exit 0
	error wrapper_crashed
	stdout "hello, B"
	exit 0
	status entrypoint=ok tier=warm language=python slots=1 busy=0 queued=0 calls=4 recycled=0 respawned=2 crashed=1
	closed
	agent-exit 0
	EOF
}

@test "warm: a call sent to an idle worker that no longer reads (dead, not yet reaped) goes to a fresh worker, not wrapper_crashed" {
	mkroot "$T/r" python longrunning json ops f "$(pool 100 256 1)"
	w=$T/r/usr/lib/mvm/wrappers
	mkdir -m 0777 "$T/mark"
	# the first worker closes its stdin, says ready and stays: to the agent an
	# idle worker, to a write the dead one the race leaves (EPIPE, nothing
	# of the call sent); every later worker is the real runner
	cp "$WRAP/python/longrunning.py" "$w/longrunning.py"
	rm -f "$w/runner"
	cat >"$w/runner" <<-EOF
	#!/usr/bin/python3
	import os, sys, time
	if not os.path.exists("$T/mark/once"):
	    open("$T/mark/once", "w").close()
	    os.close(0)
	    os.write(1, b"\x00\x00\x00\x03\x02{}")
	    time.sleep(300)
	os.execv(sys.executable, [sys.executable, "$w/longrunning.py"] + sys.argv[1:])
	EOF
	chmod 0555 "$w/runner" "$w/longrunning.py"
	script 'waitready 1' 'run json [["greet","A"],{}]' 'status'
	run -0 agent "$T/r" "$T/script"
	assert_output - <<-'EOF'
	stdout "hello, A"
	exit 0
	status entrypoint=ok tier=warm language=python slots=1 busy=0 queued=0 calls=1 recycled=0 respawned=1 crashed=0
	closed
	agent-exit 0
	EOF
	[ -e "$T/mark/once" ]
	run -0 grep -c '^mvm-agent: warm worker [0-9]* stopped reading while idle: its call goes to another worker$' "$T/agent.log"
	assert_output 1
}

@test "warm: a timeout kills the worker, which is respawned" {
	mkroot "$T/r" python longrunning json ops f "$(pool 100 256 1)"
	script 'run json [["slow",60],{}] timeout=300' 'run json [["greet","A"],{}]'
	run -0 agent "$T/r" "$T/script"
	assert_output - <<-'EOF'
	error timeout
	stdout "hello, A"
	exit 0
	closed
	agent-exit 0
	EOF
}

@test "warm: user output goes to stderr chunks, the result to stdout" {
	mkroot "$T/r" python longrunning json ops f "$(pool 100 256 1)"
	script 'run json [["print"],{}]'
	run -0 agent "$T/r" "$T/script"
	assert_line 'stdout "printed"'
	assert_line 'stderr user output\n'
}

@test "warm: the queue holds max_queue_depth calls, then busy" {
	mkroot "$T/r" python longrunning json ops f "$(pool 100 256 1 1)"
	script '@9 open' '@9 waitready 1' '@1 open' '@1 run json [["slow",2],{}]' \
		'@2 open' '@2 run json [["slow",0],{}]' '@3 open' '@3 run json [["greet","C"],{}]'
	run -0 agent "$T/r" "$T/script" --mux
	assert_line '@1 stdout "slept"'
	assert_line '@2 stdout "slept"'
	assert_line '@3 error busy'
	assert_line --regexp '^order: @3:error @1:exit @2:exit$'
}

@test "mux: a slow call does not block a ping on another stream" {
	mkroot "$T/r" python oneshot json ops f
	script '@1 open' '@1 run json [["slow",3],{}]' '@2 open' '@2 ping'
	run -0 agent "$T/r" "$T/script" --mux
	assert_output - <<-'EOF'
	@1 stdout "slept"
	@1 exit 0
	@1 closed
	@2 pong
	@2 closed
	order: @2:pong @1:exit
	hello: 1
	agent-exit 0
	EOF
}

@test "mux: several streams interleaved, each answered in its own order" {
	mkroot "$T/r" python oneshot json app greet
	script '@1 open' '@2 open' '@3 open' '@1 run json [["one"],{}]' '@2 ping' \
		'@3 run json [["three"],{}]' '@2 run json [["two"],{}]' '@1 status' '@3 ping'
	run -0 agent "$T/r" "$T/script" --mux
	assert_output --regexp '@1 stdout "hello, one"
@1 exit 0
@1 status [^
]*
@1 closed
@2 pong
@2 stdout "hello, two"
@2 exit 0
@2 closed
@3 stdout "hello, three"
@3 exit 0
@3 pong
@3 closed
'
	assert_line 'hello: 1'
}

@test "mux: a frame split over many DATA records, and a 16 MiB call" {
	mkroot "$T/r" python oneshot json ops f
	# {"type":"ping"} one byte a record
	script '@5 open' '@5 raw 0000000f' '@5 raw 7b' '@5 raw 22' '@5 raw 747970' \
		'@5 raw 65223a2270696e67227d' '@6 open' '@6 runsize 16777216 timeout=120000'
	run -0 agent "$T/r" "$T/script" --mux
	assert_line '@5 pong'
	assert_line '@6 stdout 16777201'
}

@test "mux: a malformed record closes every stream and the agent says HELLO again" {
	mkroot "$T/r" python oneshot json app greet
	script '@1 open' '@1 ping' '@1 wait' 'muxraw 000000010900000000' 'waithello 2' '@2 open' '@2 ping'
	run -0 agent "$T/r" "$T/script" --mux
	assert_line '@1 pong'
	assert_line '@1 closed'
	assert_line '@2 pong'
	assert_line 'hello: 2'
}

@test "entrypoint checks: a bad runner is reported by status and every run is entrypoint_invalid" {
	mkroot "$T/r" python oneshot json app greet
	script 'status' 'run json [["Alice"],{}]' 'ping'
	chmod 0755 "$T/r/usr/lib/mvm/wrappers/runner"
	run -0 agent "$T/r" "$T/script"
	assert_output - <<-'EOF'
	status entrypoint=invalid tier=cold language=python slots=4 busy=0 queued=0 calls=0 recycled=0 respawned=0 crashed=0
	error entrypoint_invalid
	pong
	closed
	agent-exit 0
	EOF
	run -1 "$AGENT" --check --root "$T/r"
	assert_output --partial "mode is not 0555"
	chmod 0555 "$T/r/usr/lib/mvm/wrappers/runner"
	run -0 "$AGENT" --check --root "$T/r"
	# a shell script
	printf '#!/bin/sh\necho hi\n' >"$T/r/usr/lib/mvm/wrappers/sh"
	chmod 0555 "$T/r/usr/lib/mvm/wrappers/sh"
	echo /usr/lib/mvm/wrappers/sh >"$T/r/etc/mvm/entrypoint"
	run -1 "$AGENT" --check --root "$T/r"
	assert_output --partial "shell script"
	printf '#!/usr/bin/env  bash\n' >"$T/r/usr/lib/mvm/wrappers/runner2"
	chmod 0555 "$T/r/usr/lib/mvm/wrappers/runner2"
	echo /usr/lib/mvm/wrappers/runner2 >"$T/r/etc/mvm/entrypoint"
	run -1 "$AGENT" --check --root "$T/r"
	assert_output --partial "shell script"
	# outside the wrappers directory, through a symlink
	ln -s /bin/true "$T/r/usr/lib/mvm/wrappers/escape"
	echo /usr/lib/mvm/wrappers/escape >"$T/r/etc/mvm/entrypoint"
	run -1 "$AGENT" --check --root "$T/r"
	assert_output --partial "not under /usr/lib/mvm/wrappers/"
	echo usr/lib/mvm/wrappers/runner >"$T/r/etc/mvm/entrypoint"
	run -1 "$AGENT" --check --root "$T/r"
	assert_output --partial "absolute"
	chmod 4555 "$T/r/usr/lib/mvm/wrappers/runner"
	echo /usr/lib/mvm/wrappers/runner >"$T/r/etc/mvm/entrypoint"
	run -1 "$AGENT" --check --root "$T/r"
	assert_output --partial "setuid"
}

@test "warm: a worker that cannot start makes every run entrypoint_invalid" {
	mkroot "$T/r" python longrunning json nosuchmodule f "$(pool 100 256 1)"
	script 'run json [["x"],{}]' 'sleep 1' 'run json [["x"],{}]' 'status'
	run -0 agent "$T/r" "$T/script"
	assert_line --index 1 'error entrypoint_invalid'
	assert_line --partial 'status entrypoint=invalid tier=warm'
}

@test "a bad runtime.json refuses to start, loudly" {
	mkroot "$T/r" python oneshot json app greet
	for bad in '"extra":1' \
		'"concurrency":{"kind":"warm_process","max_calls_per_worker":1,"max_rss_mb":1,"pool_size":65,"in_process":"serial"}' \
		'"concurrency":{"kind":"warm_process","max_calls_per_worker":1,"max_rss_mb":1,"pool_size":1,"in_process":"concurrent"}' \
		'"concurrency":{"kind":"warm_process"}'; do
		printf '{"language":"python","module":"app","function":"greet","format":"json","source_path":"/app",%s}' "$bad" \
			>"$T/r/etc/mvm/runtime.json"
		run -1 "$AGENT" --stdio --root "$T/r" </dev/null
		assert_output --partial "mvm-agent: fatal: $T/r/etc/mvm/runtime.json: "
	done
	printf '{"language":"python","language":"python"}' >"$T/r/etc/mvm/runtime.json"
	run -1 "$AGENT" --stdio --root "$T/r" </dev/null
	assert_output --partial "duplicate"
	rm "$T/r/etc/mvm/runtime.json"
	run -0 "$AGENT" --check --root "$T/r"
	assert_output - <<-'EOF'
	entrypoint ok
	tier cold
	EOF
}

@test "usage errors exit 2" {
	run -2 "$AGENT"
	run -2 "$AGENT" --stdio --bogus
	run -2 "$AGENT" --stdio --seccomp nonsense --root "$T"
	run -2 "$AGENT" --stdio --max-calls 0
}

@test "cold calls run concurrently up to --max-calls, then queue, then busy" {
	mkroot "$T/r" python oneshot json ops f
	script '@1 open' '@1 run json [["slow",2],{}]' '@2 open' '@2 run json [["slow",2],{}]' \
		'@3 open' '@3 run json [["greet","x"],{}]' '@4 open' '@4 run json [["greet","y"],{}]'
	run -0 agent "$T/r" "$T/script" --mux --max-calls 1
	assert_line '@1 exit 0'
	assert_line '@2 exit 0'
	assert_line '@3 exit 0'
	assert_line '@4 error busy'
}

@test "--user: the agent drops to uid 990 after setup and still runs the function as uid 1000" {
	[ "$(id -u)" = 0 ] || skip "needs root to change uid"
	mkroot "$T/r" python oneshot json ops f
	script 'run json [["ids"],{}]' 'run json [["greet","Alice"],{}]' 'run json [["slow",60],{}] timeout=300' 'ping' \
		'run json [["caps"],{}]'
	run -0 agent "$T/r" "$T/script" --user 990:990 --run-uid 1000:1000
	assert_line --regexp '^stdout \[1000,1000,'
	# the runner holds no capability and can gain none; the agent keeps
	# CAP_SETGID, CAP_SETUID and CAP_KILL (0xe0) and nothing over files
	assert_line 'stdout ["0000000000000000","0000000000000000","00000000000000e0","0000000000000000"]'
	assert_line 'stdout "hello, Alice"'
	assert_line 'error timeout'
	assert_line 'pong'
	run -0 find "$T/calls" -mindepth 1
	assert_output ""
	run -2 "$AGENT" --stdio --user nobody
}

@test "mvm-agent(8) EXAMPLES: --check, and a ping on standard input and output" {
	mkroot "$T/rootfs" python oneshot json app greet
	cd "$T"
	run -0 "$AGENT" --check --root rootfs
	assert_output - <<-'EOF'
	entrypoint ok
	tier cold
	EOF
	printf '\0\0\0\17{"type":"ping"}' >"$T/ping"
	"$AGENT" --stdio --root rootfs <"$T/ping" >"$T/pong"
	run -0 tail -c +5 "$T/pong"
	assert_output '{"type":"pong","agent":"mvm-agent","version":1}'
	run -0 od -An -tx1 -N4 "$T/pong"
	assert_output ' 00 00 00 2f'
}

@test "garbage on the mux does not wedge the agent: it stays responsive to SIGTERM" {
	mkroot "$T/r" python oneshot json app greet
	head -c 1000000 /dev/zero >"$T/zeros"
	"$AGENT" --serial-stdio --root "$T/r" <"$T/zeros" >"$T/out" 2>"$T/err"
	# every bad record: CLOSE of nothing, then HELLO again; ends at EOF with status 0
	run -0 od -An -tx1 -N9 "$T/out"
	assert_output ' 00 00 00 00 04 00 00 00 21'
	run -0 grep -c 'mux protocol error: unknown mux record kind 0' "$T/err"
	# endless garbage: SIGTERM still ends it, with status 0
	timeout 60 "$AGENT" --serial-stdio --root "$T/r" </dev/zero >/dev/null 2>&1 &
	pid=$!
	sleep 0.5
	kill -TERM "$pid"
	status=0
	wait "$pid" || status=$?
	[ "$status" -eq 0 ]
}

@test "no descriptors leak in the agent across calls, timeouts, crashes and caps; no zombies" {
	[ "$(id -u)" = 0 ] || skip "needs root to read the agent's /proc/PID/fd"
	mkroot "$T/r" python oneshot json ops f
	script 'run json [["agentfds"],{}]' 'run json [["greet","x"],{}]' \
		'run json [["slow",60],{}] timeout=200' 'run json [["die"],{}]' \
		'run json [["spew",2000000],{}]' 'runsize 16777217' 'frame nonsense' \
		'run json [["sleeper"],{}]' 'run json [["boom"],{}]' 'run json [["agentfds"],{}]' \
		'run json [["zombies"],{}]'
	run -0 agent "$T/r" "$T/script" --run-uid 0
	assert_line 'stdout ["zombies",0]'
	mapfile -t n < <(grep -E '^stdout [0-9]+$' <<<"$output" | sed 's/^stdout //')
	[ "${#n[@]}" -eq 3 ]     # two fd counts and the sleeper's pid
	[ "${n[0]}" -eq "${n[2]}" ]
	assert_line 'error timeout'
	assert_line 'error wrapper_crashed'
	assert_line 'error payload_cap'
	assert_line 'error bad_request'
}

@test "--serial PATH: the mux over a character device (a raw pty here), warm tier; SIGTERM ends it" {
	mkroot "$T/r" python longrunning json app greet "$(pool 100 256 1)"
	script 'waithello 1' '@1 open' '@1 run json [["Alice"],{}]' '@2 open' '@2 ping' '@2 status'
	run -0 "$CLIENT" --pty --log "$T/agent.log" "$T/script" -- "$AGENT" --serial '{pty}' \
		--root "$T/r" --wrapper-config "$T/r/etc/mvm/wrapper.json" --tmp "$T/calls"
	assert_line '@1 stdout "hello, Alice"'
	assert_line '@1 exit 0'
	assert_line '@2 pong'
	assert_line --partial '@2 status entrypoint=ok tier=warm language=python'
	assert_line 'hello: 1'
	assert_line 'agent-exit 0'
	# no port named org.mvm.agent on a host
	if ! grep -qsx org.mvm.agent /sys/class/virtio-ports/*/name; then
		run -4 "$AGENT" --serial auto --root "$T/r"
		assert_output "mvm-agent: fatal: no virtio-serial port named org.mvm.agent"
	fi
}

@test "started with SIGCHLD ignored (as some supervisors do), the agent still sees its runners exit" {
	mkroot "$T/r" python oneshot json app greet
	script 'run json [["Alice"],{}]' 'run json [["Bob"],{}]'
	run -0 "$CLIENT" --log "$T/agent.log" "$T/script" -- /usr/bin/python3 -c \
		'import os, signal, sys; signal.signal(signal.SIGCHLD, signal.SIG_IGN); os.execv(sys.argv[1], sys.argv[1:])' \
		"$AGENT" --stdio --root "$T/r" --wrapper-config "$T/r/etc/mvm/wrapper.json" --tmp "$T/calls"
	assert_output - <<-'EOF'
	stdout "hello, Alice"
	exit 0
	stdout "hello, Bob"
	exit 0
	closed
	agent-exit 0
	EOF
}

# A peer that writes and never reads: the agent stops reading it once its
# unsent output passes CONN_OUT_MAX (1 MiB, mvm-agent-protocol(5)
# "Back-pressure"), so its resident set stays small; it answers every ping
# once the peer reads.  (Today's bound: VmHWM about 2.5 MiB; unbounded, a
# million pongs are 51 MB.)
@test "back-pressure: a million pings, nothing read: VmHWM under 16 MiB, then every ping is answered (stdio and mux)" {
	[ -z "${MVM_SANITIZE:-}" ] || skip "SANITIZE=$MVM_SANITIZE: the sanitizer's own memory hides the agent's"
	mkroot "$T/r" python oneshot json app greet
	run -0 "$MVM_ROOT/t/data/agent_flood.py" 1000000 -- "$AGENT" --stdio --root "$T/r"
	assert_line 'stalled yes'
	assert_line 'pongs 1000000'
	assert_line 'agent-exit 0'
	hwm=$(sed -n 's/^hwm_kib //p' <<<"$output")
	[ "$hwm" -lt 16384 ] || fail "VmHWM $hwm kB"
	run -0 "$MVM_ROOT/t/data/agent_flood.py" --mux 1000000 -- "$AGENT" --serial-stdio --root "$T/r"
	assert_line 'stalled yes'
	assert_line 'pongs 1000000'
	assert_line 'agent-exit 0'
	hwm=$(sed -n 's/^hwm_kib //p' <<<"$output")
	[ "$hwm" -lt 16384 ] || fail "VmHWM $hwm kB"
}

# gone PID: the process has ended (or is a zombie the agent has not reaped yet)
gone() {
	local st
	for _ in $(seq 50); do
		st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null) || true
		[ -z "$st" ] || [ "$st" = Z ] && return 0
		sleep 0.1
	done
	return 1
}

@test "contained calls: a setsid() child, a double-forked daemon and a detached Node child are gone after the call" {
	mkroot "$T/p" python oneshot json ops f
	mkroot "$T/n" node oneshot json ops f
	script 'run json [["setsid"],{}]' 'run json [["daemon"],{}]' 'ping'
	run -0 agent "$T/p" "$T/script"
	assert_line 'pong'
	mapfile -t pids < <(sed -n 's/^stdout //p' <<<"$output")
	[ "${#pids[@]}" -eq 2 ]
	for pid in "${pids[@]}"; do
		gone "$pid" || { kill -9 "$pid"; fail "process $pid outlived its call"; }
	done
	script 'run json [["detached"],{}]' 'ping'
	run -0 agent "$T/n" "$T/script"
	assert_line 'pong'
	pid=$(sed -n 's/^stdout //p' <<<"$output")
	[ -n "$pid" ]
	gone "$pid" || { kill -9 "$pid"; fail "process $pid outlived its call"; }
}

@test "contained calls: a warm call's setsid() child is gone after the call; the worker stays" {
	mkroot "$T/r" python longrunning json ops f "$(pool 100 256 1)"
	script 'run json [["setsid"],{}]' 'run json [["pid"],{}]' 'run json [["pid"],{}]'
	run -0 agent "$T/r" "$T/script"
	mapfile -t pids < <(sed -n 's/^stdout //p' <<<"$output")
	[ "${#pids[@]}" -eq 3 ]
	[ "${pids[1]}" = "${pids[2]}" ]
	gone "${pids[0]}" || { kill -9 "${pids[0]}"; fail "process ${pids[0]} outlived its call"; }
}

@test "contained calls: the runner's RLIMIT_NPROC is 1024, or the agent's lower hard limit (mvm-agent(8))" {
	[ "$(id -u)" = 0 ] || skip "needs root to change uid (the limit is set with the uid)"
	mkroot "$T/r" python oneshot json ops f
	script 'run json [["nproc"],{}]'
	run -0 agent "$T/r" "$T/script"
	assert_line 'stdout [1024,1024]'
	# a guest with little memory has a lower hard limit, which the agent
	# (uid 990 without CAP_SYS_RESOURCE) cannot raise: the runner gets it
	run -0 bash -c 'ulimit -u 300 && "$@"' - "$CLIENT" --log "$T/agent.log" "$T/script" -- \
		"$AGENT" --stdio --root "$T/r" --wrapper-config "$T/r/etc/mvm/wrapper.json" --tmp "$T/calls" \
		--user 990:990 --run-uid 1000:1000
	assert_line 'stdout [300,300]'
}

@test "contained calls: the call's directory goes, a symlink in it is removed, not followed" {
	mkroot "$T/r" python oneshot json ops f
	mkdir -p "$T/outside/d"
	echo keep >"$T/outside/d/file"
	chmod -R a+rwX "$T/outside"
	cat >"$T/r/app/mk.py" <<-EOF
	import glob, os
	def f():
	    # the call's directory (the wrapper has moved to working_dir)
	    os.chdir(glob.glob("$T/calls/mvm-call-*")[0])
	    os.makedirs("a/b/c")
	    os.symlink("$T/outside/d", "a/b/link")
	    os.symlink("$T/outside", "top")
	    open("a/b/c/x", "w").write("x")
	    return "made"
	EOF
	chmod a+r "$T/r/app/mk.py"
	chmod 1777 "$T/calls"    # (for the glob above)
	printf '{"module":"mk","function":"f","format":"json","working_dir":"%s/app","mode":"prod"}' "$T/r" \
		>"$T/r/etc/mvm/wrapper.json"
	script 'run json [[],{}]'
	run -0 agent "$T/r" "$T/script"
	assert_line 'stdout "made"'
	run -0 find "$T/calls" -mindepth 1
	assert_output ""
	run -0 cat "$T/outside/d/file"
	assert_output keep
}

# irfns ROOT ENV_JSON: runtime.json as ir-lower writes it for an app of two
# functions (ops.f, the primary, and app.greet) with the IR's env ENV_JSON,
# and a wrapper.json per function, /etc/mvm/fn/<index>.json
irfns() {
	local R=$1 lang fmt conc
	lang=$(jq -r .language "$R/etc/mvm/runtime.json")
	fmt=$(jq -r .format "$R/etc/mvm/runtime.json")
	conc=$(jq -c '.concurrency // empty' "$R/etc/mvm/runtime.json")
	mkdir -p "$R/etc/mvm/fn"
	i=0
	for f in ops:f app:greet; do
		printf '{"module":"%s","function":"%s","format":"%s","working_dir":"%s/app","mode":"prod"}' \
			"${f%%:*}" "${f#*:}" "$fmt" "$R" >"$R/etc/mvm/fn/$i.json"
		i=$((i + 1))
	done
	jq -c --argjson env "$2" --arg conc "$conc" '. + {"env": $env, "functions": ([
		{"name": "f", "module": "ops", "function": "f", "format": .format, "primary": true}]
		+ (if $conc == "" then [{"name": "greet", "module": "app", "function": "greet", "format": .format, "primary": false}] else [] end))}' \
		"$R/etc/mvm/runtime.json" >"$R/rt" && mv "$R/rt" "$R/etc/mvm/runtime.json"
	chmod -R a+rX "$R"
}

@test "issue 15: the IR's env reaches every call (cold and warm, python and node); a request cannot override it" {
	mkroot "$T/p" python oneshot json ops f
	irfns "$T/p" '{"GREETING":"hi there","EMPTY":""}'
	script 'run json [["getenv","GREETING"],{}]' 'run json [["getenv","EMPTY"],{}]' \
		'run json [["getenv","GREETING"],{}] fn:f' \
		'run json [["getenv","GREETING"],{}] env:GREETING=other +msg' \
		'run json [["getenv","OTHER"],{}] env:OTHER=1'
	run -0 agent "$T/p" "$T/script"
	assert_output - <<-'EOF'
	stdout "hi there"
	exit 0
	stdout ""
	exit 0
	stdout "hi there"
	exit 0
	error bad_request: env sets GREETING, which the image's IR declares
	stdout "1"
	exit 0
	closed
	agent-exit 0
	EOF
	mkroot "$T/w" python longrunning json ops f "$(pool 100 512 1)"
	irfns "$T/w" '{"GREETING":"warm"}'
	mkroot "$T/n" node oneshot json ops f
	irfns "$T/n" '{"GREETING":"node"}'
	mkroot "$T/nw" node longrunning json ops f "$(pool 100 512 1)"
	irfns "$T/nw" '{"GREETING":"node warm"}'
	for r in w:warm n:node nw:'node warm'; do
		script 'waitready 1' 'run json [["getenv","GREETING"],{}]'
		[ "${r%%:*}" = w ] || [ "${r%%:*}" = nw ] || script 'run json [["getenv","GREETING"],{}]'
		run -0 agent "$T/${r%%:*}" "$T/script"
		assert_line --index 0 "stdout \"${r#*:}\""
	done
}

@test "issue 15: a call names its function; an unknown name is unknown_function, listing the names" {
	mkroot "$T/p" python oneshot json ops f
	irfns "$T/p" '{}'
	script 'run json [["Alice"],{}] fn:greet' 'run json [["greet","Bob"],{}] fn:f' \
		'run json [["greet","Bob"],{}]' 'run json [["Alice"],{}] fn:nope +msg' \
		'run json [["Alice"],{}] fn:../wrapper +msg' 'ping'
	run -0 agent "$T/p" "$T/script"
	assert_output - <<-'EOF'
	stdout "hello, Alice"
	exit 0
	stdout "hello, Bob"
	exit 0
	stdout "hello, Bob"
	exit 0
	error unknown_function: no function of that name in this image; its functions: f greet
	error unknown_function: no function of that name in this image; its functions: f greet
	pong
	closed
	agent-exit 0
	EOF
	# a runtime.json whose functions list is wrong: the agent refuses to start
	mkdir -p "$T/r/etc/mvm"
	for bad in '.functions += [{"name": "f"}]' '.functions += [{"name": ""}]' \
		'.env += {"LD_PRELOAD": "/x.so"}' '.functions = []' \
		'.concurrency = {"kind":"warm_process","max_calls_per_worker":100,"max_rss_mb":64,"pool_size":1,"in_process":"serial"}'; do
		jq -c "$bad" "$T/p/etc/mvm/runtime.json" >"$T/r/etc/mvm/runtime.json"
		run -1 "$AGENT" --stdio --root "$T/r" </dev/null
		assert_output --partial "mvm-agent: fatal: $T/r/etc/mvm/runtime.json: /"
	done
}

@test "issue 15: the prod agent has no exec path (nm); the dev agent's exec runs a program as a cold call does" {
	DEV="$MVM_ROOT/agent/mvm-agent-dev"
	[ -x "$DEV" ] || fail "agent/mvm-agent-dev is not built"
	# the symbol check: dev.c's functions are in the dev agent only
	run -0 nm "$DEV"
	assert_output --partial ' T dev_exec_request'
	run -0 nm "$AGENT"
	refute_output --partial dev_exec
	mkroot "$T/r" python oneshot json ops f
	# the prod agent: exec is an unknown request type
	script 'frame {"type":"exec","argv":["/usr/bin/id","-u"]}' 'ping'
	run -0 agent "$T/r" "$T/script"
	assert_line --index 0 'error bad_request'
	# the dev agent runs it (under the root; the runner's environment, its
	# call directory)
	mkdir -p "$T/r/usr/bin" && cp /usr/bin/env /bin/sh "$T/r/usr/bin/"
	script 'frame {"type":"exec","argv":["/usr/bin/env"]}' \
		'frame {"type":"exec","argv":["/usr/bin/sh","-c","pwd; exit 3"]}' \
		'frame {"type":"exec","argv":["relative"]}' 'ping'
	AGENT=$DEV run -0 agent "$T/r" "$T/script"
	assert_line --index 0 --regexp '^stdout .*PATH=/usr/local/bin:/usr/bin:/bin'
	assert_line --index 1 'exit 0'
	assert_line --index 2 --regexp "^stdout $T/calls/mvm-call-"
	assert_line --index 3 'exit 3'
	assert_line --index 4 'error bad_request'
	assert_line --index 5 'pong'
}

@test "issue #17 --dm-verity: what is not a device, a block count and two SHA-256 hex digests is a usage error; nothing is mapped" {
	h=$(printf 'ab%.0s' $(seq 32))
	run -2 "$AGENT" --dm-verity mvm-m0 /dev/vdb 3 "$h"
	run -2 "$AGENT" --dm-verity mvm-m0 vdb 3 "$h" "$h"
	run -2 "$AGENT" --dm-verity mvm-m0 /dev/vdb 0 "$h" "$h"
	run -2 "$AGENT" --dm-verity mvm-m0 /dev/vdb 3x "$h" "$h"
	run -2 "$AGENT" --dm-verity a/b /dev/vdb 3 "$h" "$h"
	run -2 "$AGENT" --dm-verity mvm-m0 /dev/vdb 3 "${h^^}" "$h"
	run -2 "$AGENT" --dm-verity mvm-m0 "/dev/vdb 0 1" 3 "$h" "$h"
	assert_output --partial 'usage: mvm-agent --dm-verity NAME /dev/DEV DATA_BLOCKS ROOT_HASH SALT'
}

@test "the command service (--service, issue #16) starts once provisioned: the plan's tier, the provisioned secret, its env, uid 1000; it stops with the agent" {
	[ "$(id -u)" = 0 ] || skip "needs root to change uid"
	mkroot "$T/r" python oneshot json ops f
	install -d -o 1000 -g 1000 -m 0700 "$T/r/mnt/secrets"
	mkdir -m 0777 "$T/svc"
	# it writes what it got once (renamed into place), then runs until stopped
	jq -n --arg out "$T/svc/out" '{command: ["python3", "-c",
		"import os, sys, time\nst = [l.split()[1] for l in open(\"/proc/self/status\") if l.startswith(\"Seccomp:\")]\nopen(sys.argv[1] + \".t\", \"w\").write(\" \".join(st + [os.environ.get(k, \"-\") for k in (\"API_KEY\", \"GREETING\", \"HOME\")] + [str(os.getuid()), os.getcwd()]) + \"\\n\")\nos.rename(sys.argv[1] + \".t\", sys.argv[1])\ntime.sleep(300)\n",
		$out, "mvm-svc-marker"], env: {GREETING: "hi"}, working_dir: "/"}' >"$T/r/etc/mvm/service.json"
	script 'run json [["pid"],{}]' \
		'frame {"type":"provision","seccomp":"minimal","secrets":[{"name":"k","env":"API_KEY","value":"v-1"}]}' \
		"run json [[\"waitfile\",\"$T/svc/out\"],{}]"
	run -0 agent "$T/r" "$T/script" --provision --service "$T/r/etc/mvm/service.json"
	assert_line --index 0 'error not_provisioned'
	# 2: SECCOMP_MODE_FILTER (proc(5)): the provisioned minimal tier, not the
	# none an agent waiting for its provisioning has
	assert_line --index 2 'stdout "2 v-1 hi /tmp 1000 /\n"'
	run -0 grep -c 'service supervisor started (seccomp tier minimal)' "$T/agent.log"
	assert_output 1
	# stopped with the agent: no service process is left
	run -1 pgrep -f mvm-svc-marker
	# a service env that sets a provisioned variable (a secret): not started
	rm "$T/svc/out"
	jq '.env.API_KEY = "mine"' "$T/r/etc/mvm/service.json" >"$T/s2.json"
	script 'frame {"type":"provision","seccomp":"minimal","secrets":[{"name":"k","env":"API_KEY","value":"v-1"}]}'
	run -0 agent "$T/r" "$T/script" --provision --service "$T/s2.json"
	run -0 grep -cxF "mvm-service: $T/s2.json: /env/API_KEY: sets a variable the launch provisioned (a secret) or PATH/HOME" "$T/agent.log"
	assert_output 1
	[ ! -e "$T/svc/out" ]
}

# Write {command: ["true"], working_dir: "/"} | FILTER to $T/s.json, run
# the agent with it as --service and check that the one line it logs about
# it is "mvm-service: $T/s.json: LINE" and that the command did not start.
svc_refused() { # FILTER LINE
	jq -n "{command: [\"true\"], working_dir: \"/\"} | $1" >"$T/s.json"
	rm -f "$T/agent.log"
	run -0 agent "$T/r" "$T/script" --service "$T/s.json"
	assert_line --index 0 'pong'
	run -0 cat "$T/agent.log"
	assert_line "mvm-service: $T/s.json: $2"
	run -0 grep -c "^mvm-service: " "$T/agent.log"
	assert_output 1
}

@test "a service.json whose env or working_dir cannot be used as declared is refused with the value's JSON Pointer, not trimmed: 300 variables, an empty name, a working_dir that is a number or relative, an env that is a list (the command does not start)" {
	mkroot "$T/r" python oneshot json app greet
	script 'ping'
	# PATH, MVM_WRAPPER_CONFIG (--wrapper-config), HOME, then V0..V253 make
	# 257: V254 is the first one over
	svc_refused '.env = ([range(300)] | map({key: "V\(.)", value: "x"}) | from_entries)' \
		'/env/V254: more variables than a service'"'"'s environment holds (257 with PATH, HOME and the provisioned ones)'
	# RFC 6901: the empty name is the token after the last "/"
	svc_refused '.env = {"A": "1", "": "x"}' "/env/: a variable's name must be 1 or more bytes without '=' or NUL"
	svc_refused '.env = {"A=B": "x"}' "/env/A=B: a variable's name must be 1 or more bytes without '=' or NUL"
	svc_refused '.working_dir = 7' '/working_dir: must be an absolute path, not number'
	svc_refused '.working_dir = "srv"' '/working_dir: must be an absolute path'
	svc_refused '.env = ["A=1"]' '/env: must be an object, not array'
}

@test "a service.json command or env value that cannot be run as declared is refused with its JSON Pointer (RFC 6901: ~ as ~0, / as ~1, a control byte shown as ?)" {
	mkroot "$T/r" python oneshot json app greet
	script 'ping'
	svc_refused 'del(.command)' '/command: required member is missing'
	svc_refused '.command = "true"' '/command: must be an array of strings, not string'
	svc_refused '.command = []' '/command: must hold at least one word'
	svc_refused '.command = ["sh", "-c", 7]' '/command/2: must be a string, not number'
	svc_refused '.command = ["sh", "a\u0000b"]' '/command/1: holds a NUL byte'
	svc_refused '.command = [range(257) | "true"]' '/command/256: more than 256 words'
	svc_refused '.env = {"A": "1", "a/b~c": 2}' '/env/a~1b~0c: must be a string, not number'
	svc_refused '.env = {"FOO": "a\u0000b"}' '/env/FOO: holds a NUL byte'
	svc_refused '.env = {"X\nY": null}' '/env/X?Y: must be a string, not null'
	svc_refused '.working_dir = "/a\u0000b"' '/working_dir: holds a NUL byte'
	# no pointer for the root; not JSON: line:col
	svc_refused '[.]' 'must be an object, not array'
	printf '{"command": ["true"],\n  x}' >"$T/s.json"
	run -0 agent "$T/r" "$T/script" --service "$T/s.json"
	run -0 grep -c "^mvm-service: $T/s.json: 2:3: " "$T/agent.log"
	assert_output 1
}

@test "a service.json member the agent does not know is refused with its JSON Pointer, not ignored (the command does not start)" {
	mkroot "$T/r" python oneshot json app greet
	mkdir -m 0777 "$T/svc"
	script 'ping'
	# a member that would otherwise be ignored, named with the two bytes RFC 6901 escapes
	jq -n --arg out "$T/svc/ran" '{command: ["touch", $out], working_dir: "/", "user/~x": "root"}' >"$T/s.json"
	run -0 agent "$T/r" "$T/script" --service "$T/s.json"
	assert_line --index 0 'pong'
	run -0 grep -cxF "mvm-service: $T/s.json: /user~1~0x: unknown member" "$T/agent.log"
	assert_output 1
	run -1 grep 'mvm-service: started' "$T/agent.log"
	[ ! -e "$T/svc/ran" ]
	# a newline in the name does not reach the console as one
	jq -n '{command: ["true"], "a\nmvm-service: forged": 1}' >"$T/s.json"
	run -0 agent "$T/r" "$T/script" --service "$T/s.json"
	run -0 grep -cxF "mvm-service: $T/s.json: /a?mvm-service: forged: unknown member" "$T/agent.log"
	assert_output 1
	# at most 100 bytes of the pointer, then "..."
	jq -n '{command: ["true"], ("x" * 300): 1}' >"$T/s.json"
	run -0 agent "$T/r" "$T/script" --service "$T/s.json"
	run -0 grep -cxF "mvm-service: $T/s.json: /$(printf 'x%.0s' {1..99})...: unknown member" "$T/agent.log"
	assert_output 1
}

@test "the command service survives the calls (the contained-call sweep keeps its supervisor) and stops when the agent dies by SIGKILL (PR_SET_PDEATHSIG)" {
	[ "$(id -u)" = 0 ] || skip "needs root to change uid"
	mkroot "$T/r" python oneshot json ops f
	mkdir -m 0777 "$T/svc"
	# it writes its pid and its supervisor's (renamed into place), then runs until stopped
	jq -n --arg out "$T/svc/pid" '{command: ["python3", "-c",
		"import os, sys, time\nopen(sys.argv[1] + \".t\", \"w\").write(\"%d %d\" % (os.getpid(), os.getppid()))\nos.rename(sys.argv[1] + \".t\", sys.argv[1])\ntime.sleep(300)\n",
		$out], working_dir: "/"}' >"$T/r/etc/mvm/service.json"
	script 'frame {"type":"provision","seccomp":"unrestricted","secrets":[]}' \
		"run json [[\"waitfile\",\"$T/svc/pid\"],{}]" 'wait' \
		"run json [[\"alive\",\"$T/svc/pid\"],{}]" 'wait' 'kill 9'
	run -0 agent "$T/r" "$T/script" --provision --service "$T/r/etc/mvm/service.json"
	# after the first call ended (and its sweep ran), both still run
	assert_line 'stdout [true,true]'
	assert_line 'agent-exit -9'
	ids=$(cat "$T/svc/pid")
	svc=${ids% *} sup=${ids#* }
	# gone after the supervisor's SIGTERM, then SIGKILL 2 s later; bounded at 20 s
	for _ in $(seq 200); do kill -0 "$svc" 2>/dev/null || kill -0 "$sup" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$sup" 2>/dev/null; then
		kill "$sup"     # the orphaned supervisor: it stops the command
		fail "the supervisor (pid $sup) outlived the agent"
	fi
	run -1 kill -0 "$svc"
}

@test "status lists the TCP ports something listens on, not on loopback (what vm-boot waits for before a service's VM is ready)" {
	mkroot "$T/r" python oneshot json app greet
	# two listeners of the test's: one on every address, one on 127.0.0.1 only
	python3 -c 'import socket, sys, time
a = socket.socket(); a.bind(("0.0.0.0", 0)); a.listen()
b = socket.socket(); b.bind(("127.0.0.1", 0)); b.listen()
c = socket.socket(socket.AF_INET6); c.bind(("::", 0)); c.listen()
print(a.getsockname()[1], b.getsockname()[1], c.getsockname()[1], flush=True)
time.sleep(60)' >"$T/ports" &
	lpid=$!
	for _ in $(seq 100); do [ -s "$T/ports" ] && break; sleep 0.1; done
	read -r any lo six <"$T/ports"
	script "listening $any $lo $six"
	run -0 agent "$T/r" "$T/script"
	kill "$lpid"
	assert_line "listening $any=yes $lo=no $six=yes"
}
