#!/usr/bin/env bash
# bench/agent.sh — per-call latency through mvm-agent: cold vs warm, Python and Node,
# and the agent's overhead against running the runner directly.
#
#   bench/agent.sh [COLD_CALLS] [WARM_CALLS]     (default 40 and 400; after `make`)
#
# Builds fake guest roots in bench/work/agent/ (the real runners of
# agent/wrappers, the seed's greet), then for each language:
#   cold   per call = (T(N runs) - T(0 runs)) / N over one --stdio connection
#   warm   the same with runtime.json's concurrency (pool_size 1), after the
#          worker is ready
#   direct the oneshot runner exec'd N times from a shell loop, stdin from a file
# and prints cold/warm (target >= 10x) and cold/direct (the agent's overhead:
# fork, seccomp, uid change, temp dir, pipes, base64 frames).
# Calls run one at a time (the client pipelines requests on one connection;
# the agent serves them in order).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
cold_n=${1:-40}
warm_n=${2:-400}
work="$here/work/agent"
agent="$root/agent/mvm-agent"
client="$root/t/data/agent_client.py"
wrap="$root/agent/wrappers"

[ -x "$agent" ] || { echo "bench/agent.sh: run make first" >&2; exit 4; }
if [ ! -d "$wrap/node/node_modules/@msgpack" ]; then
	(cd "$wrap/node" && npm ci --no-audit --no-fund --silent >&2)
fi
rm -rf "$work"
mkdir -p "$work"
chmod 0755 "$here/work" "$work"

mkroot() { # dir lang tier concurrency
	local r=$1 w=$1/usr/lib/mvm/wrappers
	mkdir -p "$r/etc/mvm" "$w" "$r/app"
	if [ "$2" = python ]; then
		cp "$wrap/python/$3.py" "$w/runner"
		cp "$wrap/python/mvm_wrapper_common.py" "$w/"
		cp "$root/examples/hello/src/app.py" "$r/app/"
	else
		cp "$wrap/node/$3.mjs" "$w/runner"
		cp "$wrap/node/mvm_wrapper_common.mjs" "$wrap/node/package.json" "$w/"
		ln -s "$wrap/node/node_modules" "$w/node_modules"
		sed 's/: string//g' "$root/examples/hello/src/app.ts" >"$r/app/app.mjs"
	fi
	chmod 0555 "$w/runner"
	echo /usr/lib/mvm/wrappers/runner >"$r/etc/mvm/entrypoint"
	printf '{"module":"app","function":"greet","format":"json","working_dir":"%s/app","mode":"prod"}' \
		"$r" >"$r/etc/mvm/wrapper.json"
	printf '{"language":"%s","module":"app","function":"greet","format":"json","source_path":"/app"%s}' \
		"$2" "${4:+,\"concurrency\":$4}" >"$r/etc/mvm/runtime.json"
	chmod -R a+rX "$r"
}

now() { date +%s%N; }

# seconds for the client to run a script against the agent on root $1
timed() { # root script
	local t0 t1
	t0=$(now)
	"$client" "$2" -- "$agent" --stdio --root "$1" --wrapper-config "$1/etc/mvm/wrapper.json" \
		--tmp "$work" >"$work/out" 2>"$work/err"
	t1=$(now)
	grep -q '^exit 0$' "$work/out" || [ ! -s "$work/expect-ok" ] || true
	echo $(((t1 - t0) / 1000))
}

script() { # file prefix n
	{
		[ -n "$2" ] && echo "$2"
		for ((i = 0; i < $3; i++)); do echo 'run json [["Alice"],{}]'; done
	} >"$1"
}

per_call_us() { # root prefix n  -> microseconds per call
	local a b
	script "$work/s0" "$2" 0
	script "$work/sn" "$2" "$3"
	a=$(timed "$1" "$work/s0")
	b=$(timed "$1" "$work/sn")
	[ "$(grep -c '^stdout "hello, Alice"$' "$work/out")" -eq "$3" ] ||
		{ echo "bench/agent.sh: calls failed:" >&2; head -5 "$work/out" >&2; exit 1; }
	echo $(((b - a) / $3))
}

direct_us() { # root lang n
	local t0 t1 interp=/usr/bin/python3 i
	[ "$2" = node ] && interp=node
	printf '[["Alice"],{}]' >"$work/in.json"
	t0=$(now)
	for ((i = 0; i < $3; i++)); do
		MVM_WRAPPER_CONFIG="$1/etc/mvm/wrapper.json" "$interp" "$1/usr/lib/mvm/wrappers/runner" \
			<"$work/in.json" >"$work/direct.out"
	done
	t1=$(now)
	[ "$(cat "$work/direct.out")" = '"hello, Alice"' ] || { echo "bench/agent.sh: direct run failed" >&2; exit 1; }
	echo $(((t1 - t0) / 1000 / $3))
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }

printf '| language | cold call (agent) | warm call (agent) | cold / warm | runner direct | cold / direct |\n'
printf '|---|---|---|---|---|---|\n'
for lang in python node; do
	mkroot "$work/$lang-cold" "$lang" oneshot
	mkroot "$work/$lang-warm" "$lang" longrunning \
		'{"kind":"warm_process","max_calls_per_worker":100000,"max_rss_mb":1024,"pool_size":1,"in_process":"serial"}'
	cold=$(per_call_us "$work/$lang-cold" "" "$cold_n")
	warm=$(per_call_us "$work/$lang-warm" "waitready 1" "$warm_n")
	direct=$(direct_us "$work/$lang-cold" "$lang" "$cold_n")
	printf '| %s | %d us | %d us | **%sx** | %d us | %sx |\n' "$lang" "$cold" "$warm" \
		"$(ratio "$cold" "$warm")" "$direct" "$(ratio "$cold" "$direct")"
done
