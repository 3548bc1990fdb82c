#!/usr/bin/env bats
# End to end, in one real QEMU microVM (TCG here): examples/web, a Python
# HTTP service as a command entrypoint with a declared port (issue #16),
# through mk/mvm.mk.  From the host: its answer on 127.0.0.1:<port> (uid
# 1000, its working_dir and env), restrict=on dropping what the guest starts
# towards the host, a restart by the supervisor, mvmctl ps, and nothing
# listening after mvm-down; the plan's seccomp tier (unrestricted here: a
# web server cannot run under minimal, and standard is the default) applied
# to the service.  One VM boots in this file.

load helper

setup_file() {
	[ -z "${MVM_SANITIZE:-}" ] || return 0   # setup() skips every test
	export MVM_HOME="$BATS_FILE_TMPDIR/home"
	W="$BATS_FILE_TMPDIR/web"
	mkdir -p "$W"
	cp -R "$MVM_ROOT/examples/web/." "$W/"
	rm -rf "$W/.mvm"
	# a port free now, instead of the example's 18080 (which may be taken)
	PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	sed -i "s/port(8000, 18080)/port(8000, $PORT)/" "$W/entry.py"
	echo "# the guest kernel: libexec/mvm-build-kernel (cached; minutes on a fresh machine)" >&3
	KERNEL=$("$MVM_ROOT/libexec/mvm-build-kernel")
	export W KERNEL PORT
	"$MVM_ROOT/bin/plan-keygen" >/dev/null
}

setup() {
	need_guest_agent
	export MVM_HOME="$BATS_FILE_TMPDIR/home"
}

teardown_file() {
	for p in "$BATS_FILE_TMPDIR"/*/.mvm/run/*/pid; do
		[ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null || true
	done
	[ -z "${PROBE_PID:-}" ] || kill "$PROBE_PID" 2>/dev/null || true
}

# the plan's tier is not the default standard: the service gets it (issue #16)
mk() { make --no-print-directory -C "$W" MVM="$MVM_ROOT" MVM_BUILD_OPTS="--kernel $KERNEL" \
	MVM_PLAN_OPTS="--valid-for 600 --seccomp unrestricted" "$@"; }
get() { curl -sS --max-time 10 "http://127.0.0.1:$PORT$1"; }
console() { tr -d '\r' <"$W/.mvm/run/web/console.log"; }

@test "make mvm-up boots the service; curl on the printed 127.0.0.1 port gets its answer" {
	run -0 mk mvm-up
	assert_line --partial "vm-boot: port tcp 127.0.0.1:$PORT -> guest 8000"
	run -0 get /
	# the declared env and working_dir, as uid 1000
	assert_output --regexp '^hello from web \(pid [0-9]+, uid 1000, cwd /app\)$'
	run -0 jq -c . "$W/.mvm/run/web/ports.json"
	assert_output "[{\"address\":\"127.0.0.1\",\"guest\":8000,\"host\":$PORT,\"proto\":\"tcp\"}]"
	# the image's mvm-meta.json (network, service, runner none): what
	# schemas/mvm-meta.schema.json says (an independent validator)
	m="$(cat "$W/.mvm/run/web/image")/mvm-meta.json"
	run -0 jq -c '[.network, .service, .runner]' "$m"
	assert_output "[{\"ports\":[{\"guest\":8000,\"host\":$PORT,\"proto\":\"tcp\"}]},true,\"none\"]"
	/usr/bin/python3 -c 'import json, sys, jsonschema
jsonschema.Draft202012Validator(json.load(open(sys.argv[1]))).validate(json.load(open(sys.argv[2])))' \
		"$MVM_ROOT/schemas/mvm-meta.schema.json" "$m"
	cd "$W"
	run -0 mvmctl ps
	assert_line --regexp "^web +[0-9]+ +\\.mvm/run/web/v\\.sock +127\\.0\\.0\\.1:$PORT->8000/tcp\$"
}

@test "the service runs under the plan's seccomp tier, started by the agent once provisioned; plan.launched records it" {
	# proc(5): 0 is no filter; the default tier standard would be 2
	run -0 get /seccomp
	assert_output $'Seccomp:\t0\nSeccomp_filters:\t0'
	run -0 console
	assert_line --regexp '^mvm-agent: provisioned at [0-9.]+ s \(asked at [0-9.]+ s\): seccomp tier unrestricted'
	assert_line --regexp '^mvm-agent: service supervisor started \(seccomp tier unrestricted\)'
	run -0 jq -r 'select(.event == "plan.launched") | .labels.seccomp_tier' "$MVM_HOME/audit/local.jsonl"
	assert_output unrestricted
}

@test "inside the guest: lo and eth0, configured by init; a connection it starts to the host is dropped (restrict=on)" {
	run -0 get /net
	assert_output "eth0 lo"
	run -0 console
	assert_line "mvm-init: network interfaces: eth0 lo"
	assert_line "mvm-init: eth0 10.0.2.15/24"
	# a listener on the host's loopback, which QEMU's 10.0.2.2 would reach without restrict=on
	python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(); print(s.getsockname()[1], flush=True)
time.sleep(60)' >"$BATS_TEST_TMPDIR/probe-port" &
	export PROBE_PID=$!
	for _ in $(seq 50); do [ -s "$BATS_TEST_TMPDIR/probe-port" ] && break; sleep 0.1; done
	run -0 get "/probe?port=$(cat "$BATS_TEST_TMPDIR/probe-port")"
	assert_output --regexp '^blocked: '
	kill "$PROBE_PID"
}

@test "the supervisor starts the service again after it exits" {
	run -0 get /
	first=$output
	run -0 get /exit
	assert_output exiting
	for _ in $(seq 100); do
		out=$(get / 2>/dev/null) && [ -n "$out" ] && [ "$out" != "$first" ] && break
		sleep 0.2
	done
	[[ "$out" =~ ^hello\ from\ web\ \(pid\ [0-9]+, ]] && [ "$out" != "$first" ]
	run -0 console
	assert_line --regexp '^mvm-service: python3 exited \(status 3\); restarting in 1 s$'
}

@test "make mvm-down: the VM stops and nothing listens on the port" {
	pid=$(cat "$W/.mvm/run/web/pid")
	run -0 mk mvm-down
	run -1 kill -0 "$pid"
	run -1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT"
	run -1 pgrep -f "qemu-system.*$W"
}
