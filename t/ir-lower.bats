#!/usr/bin/env bats
# ir-lower: validate an IR, then print its lowering (mvm-lower(5)) or refuse
# what no backend delivers yet.

load helper

IR="$MVM_ROOT/t/data/ir"
LOCKS="$MVM_ROOT/t/data/lockfiles"

# The seed's IR with a jq edit applied, in the test's directory.
edit() { # jq-filter -> $BATS_TEST_TMPDIR/ir.json
	jq "$1" "$SEED_IR" >"$BATS_TEST_TMPDIR/ir.json"
}

# An independent JSON Schema validator (python3-jsonschema).
schema_ok() { # schema file
	/usr/bin/python3 -c 'import json, sys, jsonschema
jsonschema.Draft202012Validator(json.load(open(sys.argv[1]))).validate(json.load(open(sys.argv[2])))' "$1" "$2"
}

@test "the seed's IR: the seed's guest files, canonical, valid against schemas/lower.schema.json" {
	ir-lower "$SEED_IR" >"$BATS_TEST_TMPDIR/l.json"
	ir-canon "$BATS_TEST_TMPDIR/l.json" | cmp - "$BATS_TEST_TMPDIR/l.json"
	schema_ok "$MVM_ROOT/schemas/lower.schema.json" "$BATS_TEST_TMPDIR/l.json"
	# the seed's worked example shows these files (independent text)
	run -0 jq -j '.files["/etc/mvm/runtime.json"].content' "$BATS_TEST_TMPDIR/l.json"
	assert_output '{"format":"json","function":"greet","language":"python","module":"app","source_path":"/app"}'
	run -0 jq -j '.files["/etc/mvm/wrapper.json"].content' "$BATS_TEST_TMPDIR/l.json"
	assert_output '{"format":"json","function":"greet","mode":"prod","module":"app","working_dir":"/app"}'
	jq -j '.files["/etc/mvm/entrypoint"].content' "$BATS_TEST_TMPDIR/l.json" |
		cmp - <(printf '/usr/lib/mvm/wrappers/runner\n')
	# and the guest files are valid against the schemas the agent and wrappers follow
	for f in runtime wrapper; do
		jq -j ".files[\"/etc/mvm/$f.json\"].content" "$BATS_TEST_TMPDIR/l.json" >"$BATS_TEST_TMPDIR/$f.json"
		schema_ok "$MVM_ROOT/schemas/$f.schema.json" "$BATS_TEST_TMPDIR/$f.json"
	done
	run -0 jq -c '[.lower_version, .id, .name, .language, .format, .runner, .entrypoint, .working_dir, .packages, .source, .resources, .drives]' "$BATS_TEST_TMPDIR/l.json"
	assert_output '[1,"hello","hello","python","json","oneshot","/usr/lib/mvm/wrappers/runner","/app",["python3"],{"exclude":[],"include":["**"],"kind":"local_path","path":"./src"},{"boot_timeout_secs":30,"memory_mb":256,"vcpus":1},[{"mode":"ro","name":"root","target":"/"}]]'
	# ir_hash is sha256 of the IR's canonical bytes (sha256sum, not ir-hash)
	[ "$(jq -r .ir_hash "$BATS_TEST_TMPDIR/l.json")" = "$(ir-canon "$SEED_IR" | sha256sum | cut -c1-64)" ]
	# no newline: canonical bytes
	[ "$(tail -c1 "$BATS_TEST_TMPDIR/l.json" | od -An -c | tr -d ' ')" = '}' ]
}

@test "standard input and - give the same bytes" {
	ir-lower "$SEED_IR" >"$BATS_TEST_TMPDIR/a"
	run -0 ir-lower -L <"$SEED_IR"
	[ "$output" = "$(cat "$BATS_TEST_TMPDIR/a")" ]
	run -0 ir-lower -L - <"$SEED_IR"
	[ "$output" = "$(cat "$BATS_TEST_TMPDIR/a")" ]
}

@test "concurrency: the longrunning runner, concurrency in runtime.json without its null members; working_dir, rootfs_size_mb" {
	edit '.apps[0].entrypoints[0].working_dir = "/srv/app" | .apps[0].resources.rootfs_size_mb = 300
		| .apps[0].entrypoints[0].concurrency = {"kind":"warm_process","max_calls_per_worker":1000,"max_rss_mb":128,"pool_size":2,"in_process":"serial","max_queue_depth":null}'
	run -0 ir-lower "$BATS_TEST_TMPDIR/ir.json"
	echo "$output" >"$BATS_TEST_TMPDIR/l.json"
	run -0 jq -c '[.runner, .working_dir, .resources.rootfs_size_mb]' "$BATS_TEST_TMPDIR/l.json"
	assert_output '["longrunning","/srv/app",300]'
	run -0 jq -j '.files["/etc/mvm/runtime.json"].content' "$BATS_TEST_TMPDIR/l.json"
	assert_output '{"concurrency":{"in_process":"serial","kind":"warm_process","max_calls_per_worker":1000,"max_rss_mb":128,"pool_size":2},"format":"json","function":"greet","language":"python","module":"app","source_path":"/srv/app"}'
	run -0 jq -j '.files["/etc/mvm/wrapper.json"].content' "$BATS_TEST_TMPDIR/l.json"
	assert_output '{"format":"json","function":"greet","mode":"prod","module":"app","working_dir":"/srv/app"}'
}

@test "a lone function is its own primary; two functions still need exactly one" {
	edit '.apps[0].entrypoints[0].primary = false'
	run -0 ir-lower "$BATS_TEST_TMPDIR/ir.json"
	run -0 jq -j '.files["/etc/mvm/runtime.json"].content' <<<"$output"
	assert_output '{"format":"json","function":"greet","language":"python","module":"app","source_path":"/app"}'
	edit 'del(.apps[0].entrypoints[0].primary)'
	run -0 ir-lower "$BATS_TEST_TMPDIR/ir.json"
	edit '.apps[0].entrypoints[0].primary = false | .apps[0].entrypoints += [.apps[0].entrypoints[0] | .function = "bye"]'
	run -1 ir-lower "$BATS_TEST_TMPDIR/ir.json"
	assert_output "ir-lower: $BATS_TEST_TMPDIR/ir.json: E_NO_PRIMARY_ENTRYPOINT at /apps/0/entrypoints: 2 function entrypoints and none is primary: mark exactly one \"primary\": true"
	# ir-validate says the same (one rule, lib/ir.c's ir_primary)
	run -1 ir-validate "$BATS_TEST_TMPDIR/ir.json"
	assert_output --partial 'E_NO_PRIMARY_ENTRYPOINT at /apps/0/entrypoints'
}

@test "an invalid IR: status 1 with ir-validate's errors, nothing on standard output" {
	run -1 --separate-stderr ir-lower "$IR/E_MULTIPLE_PRIMARY_ENTRYPOINTS.json"
	[ -z "$output" ]
	run -1 --separate-stderr ir-validate "$IR/E_MULTIPLE_PRIMARY_ENTRYPOINTS.json"
	want=${stderr//ir-validate: /ir-lower: }
	run -1 --separate-stderr ir-lower "$IR/E_MULTIPLE_PRIMARY_ENTRYPOINTS.json"
	[ "$stderr" = "$want" ]
}

@test "every field no backend delivers is refused with its JSON Pointer, never dropped" {
	check() { # jq-edit pointer detail
		edit "$1"
		run -1 --separate-stderr ir-lower -L "$BATS_TEST_TMPDIR/ir.json"
		[ -z "$output" ] || fail "$1: wrote $output"
		[ "$stderr" = "ir-lower: $BATS_TEST_TMPDIR/ir.json: E_NOT_SUPPORTED at $2: $3" ] ||
			fail "$1: $stderr"
	}
	local ns='is not supported by this backend yet'
	check '.apps[0].env = {"A": {"kind": "literal", "value": "1"}}' /apps/0/env "the app's \"env\" $ns"
	check '.apps[0].mounts = [{"target": "/mnt/data", "source": {"kind": "tmpfs", "size_mb": 8}, "mode": "rw"}]' \
		/apps/0/mounts "the app's \"mounts\" $ns"
	check '.volumes = [{"name": "data", "size_mb": 8, "persist": false}]' /volumes/0 "volumes are not supported by this backend yet"
	check '.apps[0].threat_tier = "trusted"' /apps/0/threat_tier "the app's \"threat_tier\" $ns"
	check '.apps[0].addons = [{"name": "pg", "tier": "separate", "ref": {"kind": "local", "path": "x"}, "sha256": "'"$(printf '%064d' 0)"'"}]' \
		/apps/0/addons "the app's \"addons\" $ns"
	check '.apps[0].network = {"mode": "bridge"}' /apps/0/network/mode "a network other than mode \"none\" $ns"
	check '.apps[0].image = {"kind": "oci_base", "reference": "docker.io/library/debian", "digest": "sha256:'"$(printf '%064d' 0)"'"}' \
		/apps/0/image/kind "image kind \"oci_base\" $ns"
	check '.apps[0].entrypoints[0].args_schema = {"type": "object"}' /apps/0/entrypoints/0/args_schema "the function's \"args_schema\" $ns"
	check '.apps[0].entrypoints[0].return_schema = {"type": "string"}' /apps/0/entrypoints/0/return_schema "the function's \"return_schema\" $ns"
	check '.apps[0].entrypoints[0].extra_imports = ["json"]' /apps/0/entrypoints/0/extra_imports "the function's \"extra_imports\" $ns"
	check '.apps[0].entrypoints += [.apps[0].entrypoints[0] | .function = "bye" | .primary = false]' \
		/apps/0/entrypoints/1 "a function entrypoint besides the primary $ns (only the primary is baked)"
	check '.apps[0].entrypoints += [{"kind": "command", "command": ["/usr/bin/python3", "-m", "w"]}]' \
		/apps/0/entrypoints/1 "a command entrypoint $ns"
	# defaults are not declarations: spelled out, they are accepted
	edit '.apps[0].env = {} | .apps[0].mounts = [] | .apps[0].addons = [] | .apps[0].threat_tier = "untrusted"
		| .apps[0].network = {"mode": "none"} | .apps[0].entrypoints[0].extra_imports = [] | .apps[0].entrypoints[0].args_schema = null'
	run -0 ir-lower -L "$BATS_TEST_TMPDIR/ir.json"
	[ "$(jq -c 'del(.ir_hash)' <<<"$output")" = "$(ir-lower "$SEED_IR" | jq -c 'del(.ir_hash)')" ]
}

@test "dependencies: pip_tools and npm are lowered with the deps drive; other tools are refused" {
	edit '.apps[0].source.path = "uv" | .apps[0].dependencies = {"kind": "python", "tool": "uv", "lockfile": "uv.lock"}'
	run -1 ir-lower -C "$LOCKS" "$BATS_TEST_TMPDIR/ir.json"
	assert_output "ir-lower: $BATS_TEST_TMPDIR/ir.json: E_NOT_SUPPORTED at /apps/0/dependencies/tool: dependencies tool is not supported by this backend yet (mvm-deps installs pip_tools and npm lockfiles)"
	# without -C the lockfile is looked for beside the IR
	run -1 ir-lower "$BATS_TEST_TMPDIR/ir.json"
	assert_output --partial 'E_LOCKFILE_NOT_FOUND at /apps/0/dependencies/lockfile'
	edit '.apps[0].source.path = "pip" | .apps[0].dependencies = {"kind": "python", "tool": "pip_tools", "lockfile": "requirements.txt"}'
	run -0 ir-lower -C "$LOCKS" "$BATS_TEST_TMPDIR/ir.json"
	[ "$(jq -c '[.dependencies, .drives]' <<<"$output")" = '[{"kind":"python","lockfile":"requirements.txt","tool":"pip_tools"},[{"mode":"ro","name":"root","target":"/"},{"mode":"ro","name":"deps","target":"/mnt/deps"}]]' ]
}

@test "ir-lower(1) EXAMPLES" {
	cd "$BATS_TEST_TMPDIR"
	mkdir -p t/data && cp "$SEED_IR" t/data/
	run -0 bash -c 'ir-lower t/data/seed-ir.json | jq -r .runner'
	assert_output oneshot
	run -0 bash -c "ir-lower t/data/seed-ir.json | jq -j '.files[\"/etc/mvm/runtime.json\"].content'"
	assert_output '{"format":"json","function":"greet","language":"python","module":"app","source_path":"/app"}'
	jq '.apps[0].env = {"MODE": {"kind": "literal", "value": "x"}}' \
		t/data/seed-ir.json > env-ir.json
	run -1 ir-lower -L env-ir.json
	assert_output 'ir-lower: env-ir.json: E_NOT_SUPPORTED at /apps/0/env: the app'"'"'s "env" is not supported by this backend yet'
}

@test "malformed or empty input exits 3; usage 2; an unwritable output 4" {
	printf '' >"$BATS_TEST_TMPDIR/empty"
	run -3 ir-lower "$BATS_TEST_TMPDIR/empty"
	printf '{"a":' >"$BATS_TEST_TMPDIR/bad"
	run -3 ir-lower "$BATS_TEST_TMPDIR/bad"
	run -4 ir-lower "$BATS_TEST_TMPDIR/nope.json"
	run -2 ir-lower -x "$SEED_IR"
	run -2 ir-lower a.json b.json
	run -0 ir-lower --help
	assert_output --partial 'usage: ir-lower [-L] [-C dir] [file]'
	run -4 bash -c 'ir-lower "$1" >/dev/full' _ "$SEED_IR"
}
