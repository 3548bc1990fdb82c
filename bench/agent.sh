#!/usr/bin/env bash
# bench/agent.sh — per-call latency through mvm-agent: cold vs warm, Python and Node,
# and the agent's overhead against running the runner directly.
#
#   bench/agent.sh [COLD_CALLS] [WARM_CALLS]     (default 40 and 400; after `make`)
#
# Builds fake guest roots in bench/work/agent/ (the real runners of
# agent/wrappers, the seed's greet), then for each language:
#   cold   median latency of N calls, one at a time, over one --stdio
#          connection, timed by the client from request to terminal reply
#   warm   the same with runtime.json's concurrency (pool_size 1), after the
#          worker is ready
#   direct median time to exec the oneshot runner with the same environment,
#          stdin from a file (Python's subprocess, as the client)
# and prints cold/warm (target >= 10x) and cold/direct (the agent's overhead:
# fork, seccomp, uid change, temp dir, pipes, base64 frames).
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
mkdir -m 1733 "$work/calls"   # as the guest's /tmp: the runner's uid makes its call directory

mkroot() { # dir lang tier concurrency
	local r=$1 w=$1/usr/lib/mvm/wrappers
	mkdir -p "$r/etc/mvm" "$w" "$r/app"
	if [ "$2" = python ]; then
		cp "$wrap/python/$3.py" "$w/runner"
		cp "$wrap/python/mvm_wrapper_common.py" "$wrap/python/mvm_json.py" "$w/"
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

# median microseconds per call: N calls one at a time through the agent,
# each timed by the client from request to terminal reply
per_call_us() { # root prefix n
	{
		[ -n "$2" ] && echo "$2"
		echo "bench $3 run json [[\"Alice\"],{}]"
	} >"$work/script"
	"$client" "$work/script" -- "$agent" --stdio --root "$1" \
		--wrapper-config "$1/etc/mvm/wrapper.json" --tmp "$work/calls" >"$work/out" 2>"$work/err"
	[ "$(grep -c '^stdout "hello, Alice"$' "$work/out")" -eq "$3" ] ||
		{ echo "bench/agent.sh: calls failed:" >&2; head -5 "$work/out" >&2; exit 1; }
	sed -n 's/^bench: .*median_us=\([0-9]*\).*/\1/p' "$work/out"
}

# median microseconds to exec the oneshot runner directly, through its
# shebang as the agent does, same environment, stdin from a file
direct_us() { # root n
	printf '[["Alice"],{}]' >"$work/in.json"
	/usr/bin/python3 - "$1" "$2" "$work/in.json" <<'PY'
import os, subprocess, sys, time
root, n, inp = sys.argv[1], int(sys.argv[2]), sys.argv[3]
env = {"PATH": "/usr/local/bin:/usr/bin:/bin",
       "MVM_WRAPPER_CONFIG": root + "/etc/mvm/wrapper.json"}
ts = []
for _ in range(n):
    with open(inp, "rb") as f:
        t0 = time.perf_counter()
        out = subprocess.run([root + "/usr/lib/mvm/wrappers/runner"], stdin=f,
                             stdout=subprocess.PIPE, env=env, check=True).stdout
        ts.append(time.perf_counter() - t0)
    assert out == b'"hello, Alice"', out
ts.sort()
print(int(ts[n // 2] * 1e6))
PY
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
	direct=$(direct_us "$work/$lang-cold" "$cold_n")
	printf '| %s | %d us | %d us | **%sx** | %d us | %sx |\n' "$lang" "$cold" "$warm" \
		"$(ratio "$cold" "$warm")" "$direct" "$(ratio "$cold" "$direct")"
done
