#!/usr/bin/env bash
# tools/seccomp-measure.sh — the system calls the runners make, for the
# "minimal" seccomp tier's allowlist (agent/spawn.c).  Runs mvm-agent on
# the host under strace -ff with each runner (Python and Node, oneshot and
# longrunning) answering calls of examples/hello's greet, and prints the
# sorted names each runner process made from its execve on (what the
# filter, loaded just before that execve, sees).  Run as root, after make;
# needs strace (not in tools/install-deps.sh: no test runs this).
set -euo pipefail
command -v strace >/dev/null || { echo "seccomp-measure: strace is not installed (apt-get install strace)" >&2; exit 4; }
here=$(cd "$(dirname "$0")/.." && pwd)
W=$here/agent/wrappers
T=$(mktemp -d /tmp/mvm-sc.XXXXXX)
chmod 0755 "$T"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$T"' EXIT
mkroot() { # DIR LANG TIER CONC
	local R=$1 w=$1/usr/lib/mvm/wrappers
	mkdir -p "$R/etc/mvm" "$w" "$R/app"
	case $2 in
	python) cp "$W/python/$3.py" "$w/runner"; cp "$W/python/mvm_wrapper_common.py" "$W/python/mvm_json.py" "$w/"
		cp "$here/examples/hello/src/app.py" "$R/app/" ;;
	node) cp "$W/node/$3.mjs" "$w/runner"; cp "$W/node/mvm_wrapper_common.mjs" "$W/node/package.json" "$w/"
		ln -s "$W/node/node_modules" "$w/node_modules"
		sed 's/: string//g' "$here/examples/hello/src/app.ts" >"$R/app/app.mjs" ;;
	esac
	chmod 0555 "$w/runner"
	echo /usr/lib/mvm/wrappers/runner >"$R/etc/mvm/entrypoint"
	printf '{"module":"app","function":"greet","format":"json","working_dir":"%s/app","mode":"prod"}' "$R" >"$R/etc/mvm/wrapper.json"
	printf '{"language":"%s","module":"app","function":"greet","format":"json","source_path":"/app"%s}' "$2" "${4:+,\"concurrency\":$4}" >"$R/etc/mvm/runtime.json"
	chmod -R a+rX "$R"
}
conc='{"kind":"warm_process","max_calls_per_worker":100,"max_rss_mb":512,"pool_size":1,"in_process":"serial"}'
for lang in python node; do
	for tier in oneshot longrunning; do
		R=$T/$lang-$tier; mkdir -m 0711 "$R.calls"
		mkroot "$R" "$lang" "$tier" "$([ $tier = longrunning ] && echo "$conc" || true)"
		printf '%s\n' 'run json [["Alice"],{}]' 'run json [["Bob"],{}]' >"$T/script"
		mkdir "$T/st-$lang-$tier"
		"$here/t/data/agent_client.py" "$T/script" -- strace -ff -qq -o "$T/st-$lang-$tier/t" \
			"$here/agent/mvm-agent" --stdio --root "$R" --wrapper-config "$R/etc/mvm/wrapper.json" \
			--tmp "$R.calls" --seccomp unrestricted >/dev/null
	done
done
# each process that executed the runner, from that execve on; the files
# without an execve are threads (of the runners: the agent has none)
for f in "$T"/st-*/t.*; do
	if grep -q 'execve(".*runner"' "$f"; then sed -n '/execve(".*runner"/,$p' "$f"
	elif ! grep -q 'execve(' "$f"; then cat "$f"; fi
done | sed -n 's/^\([a-z0-9_]*\)(.*/\1/p' | sort -u
