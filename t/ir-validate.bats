#!/usr/bin/env bats
# ir-validate: the Workload IR model, its rules, lockfiles, normalization.

load helper

IR="$MVM_ROOT/t/data/ir"
LOCKS="$MVM_ROOT/t/data/lockfiles"

# Every code ir-validate can report (mvm-ir(5), DIAGNOSTICS).
CODES="E_UNKNOWN_FIELD E_MALFORMED_MANIFEST E_MALFORMED_VERSION E_UNSUPPORTED_MAJOR
E_MINOR_TOO_HIGH E_INVALID_ID E_EMPTY_APPS E_MULTI_APP_DEFERRED E_SOURCE_KIND_DEFERRED
E_SECRET_WITHOUT_BINDING E_DUPLICATE_ENTRYPOINT_FUNCTION E_NO_PRIMARY_ENTRYPOINT
E_MULTIPLE_PRIMARY_ENTRYPOINTS E_SHELL_ENTRYPOINT_FORBIDDEN E_UNSUPPORTED_LANGUAGE
E_SECRET_IN_SCHEMA E_INVALID_CONCURRENCY_POOL_SIZE E_INVALID_CONCURRENCY_MAX_CALLS_PER_WORKER
E_INVALID_CONCURRENCY_MAX_RSS_MB E_UNSUPPORTED_CONCURRENCY_IN_PROCESS_MODE
E_NETWORK_PORTS_WITH_NONE E_FUNCTION_NETWORK_HOST_FORBIDDEN E_NETWORK_WILDCARD
E_DEPS_REQUIRED_FOR_FUNCTION_WORKLOAD E_UNPINNED_DEPS E_LOCKFILE_NOT_FOUND
E_ADDON_ENV_COLLISION E_ADDON_TIER_NOT_IMPLEMENTED E_ADDON_SHA_MISMATCH E_ADDON_NOT_FOUND
E_ADDON_LOCAL_PATH_DRIFT E_PERSIST_DEFERRED"

# A one-app IR with a command entrypoint (argv as a JSON array).
cmd_ir() {
	printf '{"schema_version":"0.1","id":"t","apps":[{"name":"t","source":{"kind":"local_path","path":"."},"image":{"kind":"nix_packages","packages":["python3"]},"entrypoints":[{"kind":"command","command":%s}],"resources":{"vcpus":1,"memory_mb":64},"dependencies":{"kind":"none"}%s}],"volumes":[],"extensions":{}}' "$1" "${2:-}"
}

# A one-app IR with a function entrypoint (extra members of the entrypoint, of the app).
fn_ir() {
	local deps='{"kind":"none"}'
	[ -z "${4:-}" ] || deps=$4
	printf '{"schema_version":"0.1","id":"t","apps":[{"name":"t","source":{"kind":"local_path","path":"%s"},"image":{"kind":"nix_packages","packages":["python3"]},"entrypoints":[{"kind":"function","language":"python","module":"app","function":"f","format":"json"%s}],"resources":{"vcpus":1,"memory_mb":64},"dependencies":%s%s}],"volumes":[],"extensions":{}}' \
		"${3:-.}" "${1:-}" "$deps" "${2:-}"
}

# An IR whose dependencies are KIND/TOOL with LOCKFILE under source path DIR.
dep_ir() { # kind tool dir lockfile
	fn_ir "" "" "$3" "{\"kind\":\"$1\",\"tool\":\"$2\",\"lockfile\":\"$4\"}"
}

@test "the seed's worked example is valid: no output, status 0" {
	run -0 ir-validate "$SEED_IR"
	assert_output ""
}

@test "the valid fixtures are valid" {
	for f in "$IR"/valid-*.json; do
		run -0 ir-validate "$f"
		assert_output ""
	done
}

@test "every code has a fixture that triggers it and only it" {
	local n=0 f code line
	for code in $CODES; do
		ls "$IR/$code".json "$IR/$code"-*.json >/dev/null 2>&1 || ls "$IR/$code.json"
	done
	for f in "$IR"/E_*.json; do
		code=$(basename "$f" .json)
		code=${code%%-*}
		[[ " $(echo $CODES) " == *" $code "* ]] || fail "fixture for an unknown code: $f"
		run -1 --separate-stderr ir-validate "$f"
		[ -z "$output" ] || fail "stdout on error for $f"
		[ -n "$stderr" ] || fail "no error for $f"
		while IFS= read -r line; do
			[[ "$line" == "ir-validate: $f: $code at "* ]] || fail "$f: $line"
		done <<<"$stderr"
		n=$((n + 1))
	done
	[ "$n" -ge 32 ]
}

@test "every code is documented in mvm-ir(5) and ir-validate(1)" {
	for code in $CODES; do
		grep -q "$code" "$MVM_ROOT/man/man5/mvm-ir.5" || fail "$code not in mvm-ir.5"
		grep -q "$code" "$MVM_ROOT/man/man1/ir-validate.1" || fail "$code not in ir-validate.1"
	done
}

@test "structure: unknown fields, types, missing fields, unknown kinds, the root" {
	run -1 ir-validate "$IR/E_UNKNOWN_FIELD.json"
	assert_output "ir-validate: $IR/E_UNKNOWN_FIELD.json: E_UNKNOWN_FIELD at /apps/0/entrypoints/0/envv: unknown field \"envv\" (expected one of: kind, language, module, function, format, primary, working_dir, args_schema, return_schema, concurrency, extra_imports)"
	run -1 ir-validate "$IR/E_MALFORMED_MANIFEST.json"
	assert_output "ir-validate: $IR/E_MALFORMED_MANIFEST.json: E_MALFORMED_MANIFEST at /apps/0/resources/vcpus: expected integer, found string"
	run -1 ir-validate "$IR/E_MALFORMED_MANIFEST-missing.json"
	assert_output "ir-validate: $IR/E_MALFORMED_MANIFEST-missing.json: E_MALFORMED_MANIFEST at /apps/0: missing required field \"resources\""
	run -1 ir-validate "$IR/E_MALFORMED_MANIFEST-kind.json"
	assert_output "ir-validate: $IR/E_MALFORMED_MANIFEST-kind.json: E_MALFORMED_MANIFEST at /apps/0/source/kind: unknown kind \"git\" (expected one of: local_path, nix_derivation, oci_image)"
	run -1 ir-validate "$IR/E_MALFORMED_MANIFEST-root.json"
	assert_output "ir-validate: $IR/E_MALFORMED_MANIFEST-root.json: E_MALFORMED_MANIFEST at (root): expected object, found array"
}

@test "structure: integers, enums, paths, digests, image references, env names" {
	cd "$BATS_TEST_TMPDIR"
	fn_ir '' ',"resources":{"vcpus":1.5,"memory_mb":64}' >a.json
	sed 's/"resources":{"vcpus":1,"memory_mb":64},//' a.json >b.json
	run -1 ir-validate b.json
	assert_output "ir-validate: b.json: E_MALFORMED_MANIFEST at /apps/0/resources/vcpus: expected an integer from 1 to 64, found 1.5"
	fn_ir ',"format":"pickle"' >c.json
	sed 's/"format":"json",//' c.json >d.json
	run -1 ir-validate d.json
	assert_output "ir-validate: d.json: E_MALFORMED_MANIFEST at /apps/0/entrypoints/0/format: expected one of: json, msgpack; found \"pickle\""
	fn_ir ',"working_dir":"app"' >e.json
	run -1 ir-validate e.json
	assert_output "ir-validate: e.json: E_MALFORMED_MANIFEST at /apps/0/entrypoints/0/working_dir: must be an absolute path"
	fn_ir '' ',"env":{"1BAD":{"kind":"literal","value":"x"}}' >f.json
	run -1 ir-validate f.json
	assert_output "ir-validate: f.json: E_MALFORMED_MANIFEST at /apps/0/env/1BAD: \"1BAD\" is not an environment variable name ([A-Za-z_][A-Za-z0-9_]*)"
	fn_ir >g.json
	sed 's|"image":{[^}]*}|"image":{"kind":"oci_base","reference":"docker.io/library/python:3.12","digest":"sha256:abc"}|' g.json >h.json
	run -1 ir-validate h.json
	assert_line "ir-validate: h.json: E_MALFORMED_MANIFEST at /apps/0/image/reference: must name an image without a tag or digest; pin it with \"digest\""
	assert_line "ir-validate: h.json: E_MALFORMED_MANIFEST at /apps/0/image/digest: must be \"sha256:\" followed by 64 lowercase hex digits"
	sed 's|"image":{[^}]*}|"image":{"kind":"oci_base","reference":"registry.example.com:5000/python","digest":"sha256:b5bb9d8014a0f9b1d61e21e796d78dccdf1352f23cd32812f4850b878ae4944c"}|' g.json >i.json
	run -0 ir-validate i.json
}

@test "schema_version: malformed, unsupported major, minor too high; 0.0 and 0.1 pass" {
	run -1 ir-validate "$IR/E_MALFORMED_VERSION.json"
	assert_output "ir-validate: $IR/E_MALFORMED_VERSION.json: E_MALFORMED_VERSION at /schema_version: schema_version \"0.1.0\" is not MAJOR.MINOR (e.g. \"0.1\")"
	run -1 ir-validate "$IR/E_UNSUPPORTED_MAJOR.json"
	assert_output "ir-validate: $IR/E_UNSUPPORTED_MAJOR.json: E_UNSUPPORTED_MAJOR at /schema_version: major version 1 is not supported (this validator reads 0.x)"
	run -1 ir-validate "$IR/E_MINOR_TOO_HIGH.json"
	assert_output "ir-validate: $IR/E_MINOR_TOO_HIGH.json: E_MINOR_TOO_HIGH at /schema_version: minor version 2 is newer than this validator supports (0.1)"
	cd "$BATS_TEST_TMPDIR"
	for v in 0.0 0.1; do
		sed "s/\"0.1\"/\"$v\"/" "$SEED_IR" >v.json
		run -0 ir-validate v.json
	done
	for v in 00.1 0.01 +0.1 0. .1 0.1.0 0x0.1 ""; do
		sed "s/\"0.1\"/\"$v\"/" "$SEED_IR" >v.json
		run -1 ir-validate v.json
		assert_output --partial "E_MALFORMED_VERSION at /schema_version"
	done
}

@test "ids: workload id, app name, peers and addon names follow ^[a-z][a-z0-9-]{0,62}\$" {
	run -1 ir-validate "$IR/E_INVALID_ID.json"
	assert_output "ir-validate: $IR/E_INVALID_ID.json: E_INVALID_ID at /id: workload id \"Hello_World\" does not match ^[a-z][a-z0-9-]{0,62}\$"
	cd "$BATS_TEST_TMPDIR"
	local id63=$(printf 'a%.0s' {1..63})
	for ok in a a- "a-1" "$id63"; do
		sed "s/\"id\": \"hello\"/\"id\": \"$ok\"/" "$SEED_IR" >i.json
		run -0 ir-validate i.json
	done
	for bad in "" 1a -a A a_b a.b "a b" "${id63}a"; do
		sed "s/\"id\": \"hello\"/\"id\": \"$bad\"/" "$SEED_IR" >i.json
		run -1 ir-validate i.json
		assert_output --partial "E_INVALID_ID at /id"
	done
	fn_ir '' ',"network":{"mode":"bridge","peers":["db","Bad"]}' >p.json
	run -1 ir-validate p.json
	assert_output "ir-validate: p.json: E_INVALID_ID at /apps/0/network/peers/1: peer \"Bad\" does not match ^[a-z][a-z0-9-]{0,62}\$"
}

@test "apps: none, more than one, deferred source kinds" {
	run -1 ir-validate "$IR/E_EMPTY_APPS.json"
	assert_output "ir-validate: $IR/E_EMPTY_APPS.json: E_EMPTY_APPS at /apps: the workload has no apps"
	run -1 ir-validate "$IR/E_MULTI_APP_DEFERRED.json"
	assert_output "ir-validate: $IR/E_MULTI_APP_DEFERRED.json: E_MULTI_APP_DEFERRED at /apps: 2 apps: a workload has exactly one app for now"
	run -1 ir-validate "$IR/E_SOURCE_KIND_DEFERRED.json"
	assert_output "ir-validate: $IR/E_SOURCE_KIND_DEFERRED.json: E_SOURCE_KIND_DEFERRED at /apps/0/source/kind: source kind \"nix_derivation\" is not supported yet; use local_path"
}

@test "entrypoints: none, duplicate functions, primary rules" {
	cd "$BATS_TEST_TMPDIR"
	fn_ir >a.json
	sed 's/"entrypoints":\[.*\],"resources"/"entrypoints":[],"resources"/' a.json >e.json
	run -1 ir-validate e.json
	assert_output "ir-validate: e.json: E_EMPTY_APPS at /apps/0/entrypoints: the app has no entrypoints"
	run -1 ir-validate "$IR/E_DUPLICATE_ENTRYPOINT_FUNCTION.json"
	assert_output "ir-validate: $IR/E_DUPLICATE_ENTRYPOINT_FUNCTION.json: E_DUPLICATE_ENTRYPOINT_FUNCTION at /apps/0/entrypoints/1: module \"app\" function \"greet\" is declared twice"
	run -1 ir-validate "$IR/E_NO_PRIMARY_ENTRYPOINT.json"
	assert_output "ir-validate: $IR/E_NO_PRIMARY_ENTRYPOINT.json: E_NO_PRIMARY_ENTRYPOINT at /apps/0/entrypoints: 2 function entrypoints and none is primary: mark exactly one \"primary\": true"
	run -1 ir-validate "$IR/E_MULTIPLE_PRIMARY_ENTRYPOINTS.json"
	assert_output "ir-validate: $IR/E_MULTIPLE_PRIMARY_ENTRYPOINTS.json: E_MULTIPLE_PRIMARY_ENTRYPOINTS at /apps/0/entrypoints: 2 entrypoints are marked primary; exactly one may be"
	# one function entrypoint needs no primary flag
	run -0 ir-validate a.json
}

@test "shell launchers are refused, directly or through env and busybox" {
	cd "$BATS_TEST_TMPDIR"
	local argv
	for argv in '["sh","-c","x"]' '["/bin/bash","x.sh"]' '["/usr/bin/env","sh"]' \
		'["env","-i","FOO=1","dash"]' '["env","-u","HOME","--","zsh"]' '["env","-S","sh -c x"]' \
		'["env","-Sbash -c x"]' '["busybox","sh","-c","x"]' '["/bin/busybox","ash"]' \
		'["env","busybox","sh"]' '["fish"]' '["/usr/bin/ksh93"]'; do
		cmd_ir "$argv" >c.json
		run -1 ir-validate c.json
		assert_output "ir-validate: c.json: E_SHELL_ENTRYPOINT_FORBIDDEN at /apps/0/entrypoints/0/command: the command runs a shell; run the program directly"
	done
	for argv in '["/usr/bin/python3","-m","app"]' '["env","python3","app.py"]' '["busybox","httpd","-f"]' \
		'["shasum"]' '["/opt/sh/bin/node","x.js"]' '["env","-u","sh","node"]'; do
		cmd_ir "$argv" >c.json
		run -0 ir-validate c.json
	done
}

@test "languages come from schemas/supported_languages.txt" {
	run -1 ir-validate "$IR/E_UNSUPPORTED_LANGUAGE.json"
	assert_output "ir-validate: $IR/E_UNSUPPORTED_LANGUAGE.json: E_UNSUPPORTED_LANGUAGE at /apps/0/entrypoints/0/language: language \"ruby\" is not supported (supported: python, node, typescript)"
	cd "$BATS_TEST_TMPDIR"
	for lang in python node typescript; do
		fn_ir >a.json
		sed "s/\"language\":\"python\"/\"language\":\"$lang\"/" a.json >l.json
		run -0 ir-validate l.json
	done
	mkdir data
	cp "$MVM_ROOT"/schemas/*.txt data/
	echo ruby >>data/supported_languages.txt
	MVM_SCHEMAS=$PWD/data run -0 ir-validate "$IR/E_UNSUPPORTED_LANGUAGE.json"
}

@test "secret-shaped property names, in every place a schema can hide them" {
	run -1 ir-validate "$IR/E_SECRET_IN_SCHEMA.json"
	assert_output "ir-validate: $IR/E_SECRET_IN_SCHEMA.json: E_SECRET_IN_SCHEMA at /apps/0/entrypoints/0/args_schema/properties/password: property \"password\" looks like a secret; pass secrets with a secret_ref, not as an argument or result"
	run -1 --separate-stderr ir-validate "$IR/E_SECRET_IN_SCHEMA-nested.json"
	[ "${#stderr_lines[@]}" -eq 3 ]
	[[ "${stderr_lines[0]}" == *"E_SECRET_IN_SCHEMA at /apps/0/entrypoints/0/args_schema/allOf/0/properties/user/additionalProperties/properties/cc_number: "* ]]
	[[ "${stderr_lines[1]}" == *"E_SECRET_IN_SCHEMA at /apps/0/entrypoints/0/args_schema/\$defs/card/properties/billing-cvv: "* ]]
	[[ "${stderr_lines[2]}" == *"E_SECRET_IN_SCHEMA at /apps/0/entrypoints/0/return_schema/properties/authToken: "* ]]
	cd "$BATS_TEST_TMPDIR"
	local name where
	for name in token api_key x-api-key authToken customer_credit_card IBAN; do
		fn_ir ",\"args_schema\":{\"properties\":{\"$name\":{}}}" >s.json
		run -1 ir-validate s.json
		assert_output --partial "E_SECRET_IN_SCHEMA at /apps/0/entrypoints/0/args_schema/properties/$name: "
	done
	for name in name auth_strategy_name myApiKey tokens email api-keys; do
		fn_ir ",\"args_schema\":{\"properties\":{\"$name\":{}}}" >s.json
		run -0 ir-validate s.json
	done
	for where in items oneOf/0 anyOf/0 allOf/0 prefixItems/0 not if then else \
		additionalProperties patternProperties/x '$defs/d' definitions/d dependentSchemas/d; do
		local s='{"properties":{"secret":{}}}' part i parts
		IFS=/ read -ra parts <<<"$where"
		for ((i = ${#parts[@]} - 1; i >= 0; i--)); do
			part=${parts[i]}
			if [[ "$part" =~ ^[0-9]+$ ]]; then s="[$s]"; else s="{\"$part\":$s}"; fi
		done
		fn_ir ",\"return_schema\":$s" >s.json
		run -1 ir-validate s.json
		assert_output "ir-validate: s.json: E_SECRET_IN_SCHEMA at /apps/0/entrypoints/0/return_schema/$where/properties/secret: property \"secret\" looks like a secret; pass secrets with a secret_ref, not as an argument or result"
	done
	# a name with / and ~ is escaped in the pointer (RFC 6901)
	fn_ir ',"args_schema":{"properties":{"a/b~x_token":{}}}' >s.json
	run -1 ir-validate s.json
	assert_output --partial "args_schema/properties/a~1b~0x_token: "
}

@test "secrets need allowed_hosts, in the app env and in a command's env" {
	run -1 ir-validate "$IR/E_SECRET_WITHOUT_BINDING.json"
	assert_output "ir-validate: $IR/E_SECRET_WITHOUT_BINDING.json: E_SECRET_WITHOUT_BINDING at /apps/0/env/API_KEY: secret \"API_KEY\" has no allowed_hosts: name the hosts it may be sent to"
	cd "$BATS_TEST_TMPDIR"
	local s='{"TOKEN":{"kind":"secret_ref","ref":{"name":"t","mount":{"kind":"file","path":"/run/t"},"auth_type":"bearer","allowed_hosts":[]}}}'
	cmd_ir '["/usr/bin/app"]' >c.json
	sed "s|\"command\":\[\"/usr/bin/app\"\]|&,\"env\":$s|" c.json >d.json
	run -1 ir-validate d.json
	assert_output --partial "E_SECRET_WITHOUT_BINDING at /apps/0/entrypoints/0/env/TOKEN: "
}

@test "concurrency bounds" {
	run -1 ir-validate "$IR/E_INVALID_CONCURRENCY_POOL_SIZE.json"
	assert_output --partial "E_INVALID_CONCURRENCY_POOL_SIZE at /apps/0/entrypoints/0/concurrency/pool_size: pool_size 65 is not from 1 to 64"
	run -1 ir-validate "$IR/E_INVALID_CONCURRENCY_MAX_CALLS_PER_WORKER.json"
	assert_output --partial "E_INVALID_CONCURRENCY_MAX_CALLS_PER_WORKER at /apps/0/entrypoints/0/concurrency/max_calls_per_worker: max_calls_per_worker 99 is below 100"
	run -1 ir-validate "$IR/E_INVALID_CONCURRENCY_MAX_RSS_MB.json"
	assert_output --partial "E_INVALID_CONCURRENCY_MAX_RSS_MB at /apps/0/entrypoints/0/concurrency/max_rss_mb: max_rss_mb 257 exceeds the app's memory_mb 256"
	run -1 ir-validate "$IR/E_UNSUPPORTED_CONCURRENCY_IN_PROCESS_MODE.json"
	assert_output --partial "E_UNSUPPORTED_CONCURRENCY_IN_PROCESS_MODE at /apps/0/entrypoints/0/concurrency/in_process: "
	cd "$BATS_TEST_TMPDIR"
	fn_ir ',"concurrency":{"kind":"warm_process","max_calls_per_worker":100,"max_rss_mb":64,"pool_size":0,"in_process":"serial"}' >c.json
	run -1 ir-validate c.json
	assert_output --partial "pool_size 0 is not from 1 to 64"
	fn_ir ',"concurrency":{"kind":"warm_process","max_calls_per_worker":100,"max_rss_mb":64,"pool_size":64,"in_process":"serial"}' >c.json
	run -0 ir-validate c.json
}

@test "network rules: ports with none, host mode for functions, wildcards" {
	run -1 ir-validate "$IR/E_NETWORK_PORTS_WITH_NONE.json"
	assert_output --partial "E_NETWORK_PORTS_WITH_NONE at /apps/0/network/ports: "
	run -1 ir-validate "$IR/E_FUNCTION_NETWORK_HOST_FORBIDDEN.json"
	assert_output --partial "E_FUNCTION_NETWORK_HOST_FORBIDDEN at /apps/0/network/mode: "
	run -1 ir-validate "$IR/E_NETWORK_WILDCARD.json"
	assert_output "ir-validate: $IR/E_NETWORK_WILDCARD.json: E_NETWORK_WILDCARD at /apps/0/network/egress/allowlist/1/host: egress host \"0.0.0.0/0\" allows everything; name hosts (exact, or *.domain)"
	cd "$BATS_TEST_TMPDIR"
	local h
	for h in '*' ' * ' '' 0.0.0.0 :: '[::]' ::/0 10.0.0.0/0 '*.com' 'api.*.com' 'a*.example.com'; do
		fn_ir '' ",\"network\":{\"mode\":\"bridge\",\"egress\":{\"allowlist\":[{\"host\":\"$h\",\"port\":443}]}}" >w.json
		run -1 ir-validate w.json
		assert_output --partial "E_NETWORK_WILDCARD at /apps/0/network/egress/allowlist/0/host"
	done
	for h in api.example.com '*.example.com' 10.0.0.0/8 192.168.1.10; do
		fn_ir '' ",\"network\":{\"mode\":\"bridge\",\"egress\":{\"allowlist\":[{\"host\":\"$h\",\"port\":443}]}}" >w.json
		run -0 ir-validate w.json
	done
	# custom modes are objects
	fn_ir '' ',"network":{"mode":{"custom":{"provider":"cni","config":{"n":1}}}}' >w.json
	run -0 ir-validate w.json
}

@test "dependencies: a posture is required; null or absent is refused" {
	run -1 ir-validate "$IR/E_DEPS_REQUIRED_FOR_FUNCTION_WORKLOAD.json"
	assert_output "ir-validate: $IR/E_DEPS_REQUIRED_FOR_FUNCTION_WORKLOAD.json: E_DEPS_REQUIRED_FOR_FUNCTION_WORKLOAD at /apps/0/dependencies: a function app must declare its dependencies ({\"kind\":\"none\"} for none)"
	cd "$BATS_TEST_TMPDIR"
	cmd_ir '["/usr/bin/app"]' | sed 's/,"dependencies":{"kind":"none"}//' >c.json
	run -1 ir-validate c.json
	assert_output "ir-validate: c.json: E_MALFORMED_MANIFEST at /apps/0/dependencies: missing required field \"dependencies\" ({\"kind\":\"none\"} for none)"
}

@test "addons and volumes" {
	run -1 ir-validate "$IR/E_ADDON_ENV_COLLISION.json"
	assert_output --partial "E_ADDON_ENV_COLLISION at /apps/0/addons/1: addon \"redis\" is attached twice with the same alias"
	run -1 ir-validate "$IR/E_ADDON_TIER_NOT_IMPLEMENTED.json"
	assert_output --partial "E_ADDON_TIER_NOT_IMPLEMENTED at /apps/0/addons/0/tier: "
	run -1 ir-validate "$IR/E_ADDON_SHA_MISMATCH.json"
	assert_output --partial "E_ADDON_SHA_MISMATCH at /apps/0/addons/0/sha256: sha256 must be 64 lowercase hex digits"
	run -1 ir-validate "$IR/E_ADDON_NOT_FOUND.json"
	assert_output --partial "E_ADDON_NOT_FOUND at /apps/0/addons/0/ref/url: registry addon has an empty url"
	run -1 ir-validate "$IR/E_ADDON_LOCAL_PATH_DRIFT.json"
	assert_output --partial "E_ADDON_LOCAL_PATH_DRIFT at /apps/0/addons/0/ref/path: local addon has an empty path"
	run -1 ir-validate "$IR/E_PERSIST_DEFERRED.json"
	assert_output --partial "E_PERSIST_DEFERRED at /volumes/0/persist: persistent volumes are not supported yet"
}

@test "all errors are reported, structure first, then the rules in order" {
	cd "$BATS_TEST_TMPDIR"
	cat >many.json <<-'EOF'
	{"schema_version":"2.0","id":"Bad","apps":[{"name":"x","color":"red",
	 "source":{"kind":"oci_image","reference":"python","digest":"sha256:b5bb9d8014a0f9b1d61e21e796d78dccdf1352f23cd32812f4850b878ae4944c"},
	 "image":{"kind":"nix_packages","packages":["python3"]},
	 "entrypoints":[{"kind":"command","command":["sh","-c","x"]},
	  {"kind":"function","language":"ruby","module":"m","function":"f","format":"json","args_schema":{"properties":{"pin":{"properties":{"password":{}}}}}}],
	 "network":{"mode":"host"},
	 "resources":{"vcpus":1,"memory_mb":64}}],
	 "volumes":[{"name":"v","size_mb":1,"persist":true}],"extensions":{}}
	EOF
	run -1 ir-validate many.json
	assert_output - <<-'EOF'
	ir-validate: many.json: E_UNKNOWN_FIELD at /apps/0/color: unknown field "color" (expected one of: name, source, image, entrypoints, env, mounts, network, resources, dependencies, threat_tier, addons)
	ir-validate: many.json: E_UNSUPPORTED_MAJOR at /schema_version: major version 2 is not supported (this validator reads 0.x)
	ir-validate: many.json: E_INVALID_ID at /id: workload id "Bad" does not match ^[a-z][a-z0-9-]{0,62}$
	ir-validate: many.json: E_SOURCE_KIND_DEFERRED at /apps/0/source/kind: source kind "oci_image" is not supported yet; use local_path
	ir-validate: many.json: E_SHELL_ENTRYPOINT_FORBIDDEN at /apps/0/entrypoints/0/command: the command runs a shell; run the program directly
	ir-validate: many.json: E_UNSUPPORTED_LANGUAGE at /apps/0/entrypoints/1/language: language "ruby" is not supported (supported: python, node, typescript)
	ir-validate: many.json: E_SECRET_IN_SCHEMA at /apps/0/entrypoints/1/args_schema/properties/pin/properties/password: property "password" looks like a secret; pass secrets with a secret_ref, not as an argument or result
	ir-validate: many.json: E_FUNCTION_NETWORK_HOST_FORBIDDEN at /apps/0/network/mode: a function workload may not share the host's network
	ir-validate: many.json: E_DEPS_REQUIRED_FOR_FUNCTION_WORKLOAD at /apps/0/dependencies: a function app must declare its dependencies ({"kind":"none"} for none)
	ir-validate: many.json: E_PERSIST_DEFERRED at /volumes/0/persist: persistent volumes are not supported yet
	EOF
}

@test "-n: the seed normalizes to its own canonical bytes, with no trailing newline" {
	ir-validate -n "$SEED_IR" >"$BATS_TEST_TMPDIR/n"
	ir-canon "$SEED_IR" >"$BATS_TEST_TMPDIR/c"
	cmp "$BATS_TEST_TMPDIR/n" "$BATS_TEST_TMPDIR/c"
	[ "$(tail -c1 "$BATS_TEST_TMPDIR/n")" = "}" ]
}

@test "-n: spelled-out defaults, left-out defaults and reordered keys hash the same" {
	local want f
	want=$(ir-hash "$SEED_IR")
	for f in "$IR/valid-defaults-spelled.json" "$IR/valid-defaults-omitted.json"; do
		[ "$(ir-hash "$f")" != "$want" ]
		ir-validate -n "$f" >"$BATS_TEST_TMPDIR/n.json"
		run -0 ir-hash "$BATS_TEST_TMPDIR/n.json"
		assert_output "$want"
	done
}

@test "-n: normalization is a fixed point and keeps non-default values" {
	cd "$BATS_TEST_TMPDIR"
	for f in "$IR"/valid-*.json "$SEED_IR"; do
		ir-validate -n "$f" >n1.json
		ir-validate -L -n n1.json >n2.json
		cmp n1.json n2.json
	done
	ir-validate -n "$IR/valid-full.json" >full.json
	grep -q '"working_dir":"/srv/app"' full.json
	grep -q '"threat_tier":"trusted"' full.json
	grep -q '"boot_timeout_secs":60' full.json
	grep -q '"primary":false' full.json
	run -1 grep -q '"sigv4"' full.json
	# the function without "primary" gets "primary":false; a command has none
	fn_ir >f.json
	run -0 ir-validate -n f.json
	assert_output --partial '"primary":false'
	cmd_ir '["/usr/bin/app"]' >c.json
	run -0 ir-validate -n c.json
	refute_output --partial 'primary'
	refute_output --partial 'working_dir'
}

@test "-n prints nothing for an invalid IR" {
	run -1 --separate-stderr ir-validate -n "$IR/E_INVALID_ID.json"
	assert_output ""
	[[ "$stderr" == *"E_INVALID_ID"* ]]
}

@test "-j: a JSON report on stdout, status 0 or 1, nothing on stderr" {
	run -0 --separate-stderr ir-validate -j "$SEED_IR"
	local h
	h=$(ir-hash "$SEED_IR")
	assert_output "{\"errors\":[],\"ir_hash\":\"$h\",\"normalized_ir_hash\":\"$h\",\"valid\":true}"
	[ -z "$stderr" ]
	run -1 --separate-stderr ir-validate -j "$IR/E_NETWORK_WILDCARD.json"
	h=$(ir-hash "$IR/E_NETWORK_WILDCARD.json")
	assert_output "{\"errors\":[{\"code\":\"E_NETWORK_WILDCARD\",\"detail\":\"egress host \\\"0.0.0.0/0\\\" allows everything; name hosts (exact, or *.domain)\",\"pointer\":\"/apps/0/network/egress/allowlist/1/host\"}],\"ir_hash\":\"$h\",\"normalized_ir_hash\":null,\"valid\":false}"
	[ -z "$stderr" ]
	run -0 ir-validate -j "$IR/valid-defaults-spelled.json"
	assert_output --partial "\"normalized_ir_hash\":\"$(ir-hash "$SEED_IR")\""
	run -1 ir-validate -j "$IR/E_MALFORMED_MANIFEST-root.json"
	assert_output --partial '"pointer":""'
}

@test "lockfiles made by the real tools are pinned" {
	local c
	for c in "node npm npm package-lock.json" "node npm npm-resolved package-lock.json" \
		"node pnpm pnpm9 pnpm-lock.yaml" "node pnpm pnpm6 pnpm-lock.yaml" \
		"node yarn yarn yarn.lock" "python uv uv uv.lock" "python pip_tools pip requirements.txt"; do
		set -- $c
		dep_ir "$1" "$2" "$3" "$4" >"$BATS_TEST_TMPDIR/ir.json"
		run -0 ir-validate -C "$LOCKS" "$BATS_TEST_TMPDIR/ir.json"
		assert_output ""
	done
}

@test "unpinned lockfiles: E_UNPINNED_DEPS names what is missing" {
	cd "$BATS_TEST_TMPDIR"
	local c
	while IFS='|' read -r kind tool dir lock detail; do
		dep_ir "$kind" "$tool" "$dir" "$lock" >ir.json
		run -1 ir-validate -C "$LOCKS" ir.json
		assert_output "ir-validate: ir.json: E_UNPINNED_DEPS at /apps/0/dependencies/lockfile: lockfile $LOCKS/$dir/$lock is not hash-pinned: $detail"
	done <<-'EOF'
	node|npm|npm-unpinned|package-lock.json|1/2 npm packages not pinned (first: node_modules/left-pad, no integrity)
	node|pnpm|pnpm-unpinned|pnpm-lock.yaml|1/2 pnpm packages missing integrity (first: left-pad@1.3.0, no integrity)
	node|yarn|yarn-unpinned|yarn.lock|1/2 yarn entries not pinned (first: left-pad@1.3.0, no integrity)
	python|uv|uv-unpinned|uv.lock|1/3 packages missing a sha256 hash (first: six)
	python|pip_tools|pip-unpinned|requirements.txt|1/2 requirements missing --hash=sha256: (first: six==1.16.0)
	node|yarn|npm|package-lock.json|missing "# yarn lockfile v1" header — not recognized as a Yarn classic lockfile
	node|pnpm|yarn|yarn.lock|missing lockfileVersion — is this a pnpm-lock.yaml?
	node|npm|yarn|yarn.lock|not valid JSON: 1:1: a value expected, found '#'
	python|uv|pip|requirements.txt|no [[package]] blocks found — is this a uv.lock?
	EOF
}

@test "lockfile details: npm resolved and versions, pnpm blocks, yarn sha1, pip forms, uv sources" {
	cd "$BATS_TEST_TMPDIR"
	mkdir -p src
	check() { # tool kind lockfile-name expected-status [detail]
		dep_ir "$2" "$1" src "$3" >ir.json
		run "-$4" ir-validate ir.json
		[ -z "${5:-}" ] || assert_output --partial "$5"
	}
	sed 's|"version": "7.0.0",|&\n      "resolved": "http://registry.npmjs.org/is-number/-/is-number-7.0.0.tgz",|' \
		"$LOCKS/npm/package-lock.json" >src/package-lock.json
	check npm node package-lock.json 1 "(first: node_modules/is-number, resolved is not an https: or file: URL)"
	sed 's/"lockfileVersion": 3/"lockfileVersion": 2/' "$LOCKS/npm/package-lock.json" >src/package-lock.json
	check npm node package-lock.json 1 "package-lock.json must be lockfileVersion 3 (got 2)"
	printf '{"lockfileVersion":3,"packages":{"":{"name":"x"}}}' >src/package-lock.json
	check npm node package-lock.json 1 "no vendored packages found"
	printf '{"lockfileVersion":3,"packages":{"":{},"node_modules/a":{"link":true},"node_modules/b":{"version":"1.0.0","integrity":"sha512-%s"},"node_modules/b/node_modules/c":{"inBundle":true}}}' \
		"$(head -c 64 /dev/zero | base64 -w0)" >src/package-lock.json
	check npm node package-lock.json 0
	# workspaces and local directories are in the tree; what npm installs is not
	printf '{"lockfileVersion":3,"packages":{"":{},"packages/w":{"name":"w"},"node_modules/w":{"resolved":"packages/w","link":true},"node_modules/b":{"resolved":"https://r.example/b/-/b-1.0.0.tgz","integrity":"sha512-%s"}}}' \
		"$(head -c 64 /dev/zero | base64 -w0)" >src/package-lock.json
	check npm node package-lock.json 0
	printf '{"lockfileVersion":3,"packages":{"":{},"node_modules/a/node_modules/b":{"version":"1.0.0"}}}' >src/package-lock.json
	check npm node package-lock.json 1 "1/1 npm packages not pinned (first: node_modules/a/node_modules/b, no integrity)"
	# pnpm: block-style resolution, git commits, local directories
	printf "lockfileVersion: '9.0'\n\npackages:\n\n  a@1.0.0:\n    resolution:\n      integrity: sha512-%s\n\n  b@git+https://x/b.git#%s:\n    resolution: {commit: %s, repo: https://x/b.git, type: git}\n\n  c@file:../c:\n    resolution: {directory: ../c, type: directory}\n" \
		"$(head -c 64 /dev/zero | base64 -w0)" "$(printf 'a%.0s' {1..40})" "$(printf 'a%.0s' {1..40})" >src/pnpm-lock.yaml
	check pnpm node pnpm-lock.yaml 0
	sed 's/integrity: sha512-.*/integrity: sha1-AAAAAAAAAAAAAAAAAAAAAAAAAAA=/' src/pnpm-lock.yaml >src/p2.yaml
	check pnpm node p2.yaml 1 "1/3 pnpm packages missing integrity (first: a@1.0.0, weak sha1 integrity)"
	printf "lockfileVersion: '5.4'\n" >src/p3.yaml
	check pnpm node p3.yaml 1 "lockfileVersion 5.4 is not supported"
	# yarn: sha1 alone is weak; resolved must be https: or file:
	sed '/integrity sha512-XI5/s/.*/  integrity sha1-W4o6d2Xf4AEmHd6RVYnngvjJTR4=/' "$LOCKS/yarn/yarn.lock" >src/yarn.lock
	check yarn node yarn.lock 1 "(first: left-pad@1.3.0, weak sha1 integrity)"
	sed 's|resolved "https:|resolved "http:|' "$LOCKS/yarn/yarn.lock" >src/yarn.lock
	check yarn node yarn.lock 1 "resolved is not an https: or file: URL"
	# pip: editable installs cannot be pinned; == is required; comments and options are skipped
	printf -- '-e ./lib\n' >src/r1.txt
	check pip_tools python r1.txt 1 "an editable requirement (-e ./lib) cannot be hash-pinned"
	printf -- '--index-url https://pypi.org/simple\n\nidna>=3 --hash=sha256:%s  # via x\n' "$(printf 'a%.0s' {1..64})" >src/r2.txt
	check pip_tools python r2.txt 1 "1/1 requirements not pinned with == (first: idna>=3)"
	printf 'idna==3.10 \\\r\n    --hash=sha256:%s\r\n' "$(printf 'a%.0s' {1..64})" >src/r3.txt
	check pip_tools python r3.txt 0
	printf 'idna==3.10 --hash=sha256:%s\n' "$(printf 'a%.0s' {1..63})" >src/r4.txt
	check pip_tools python r4.txt 1 "1/1 requirements missing --hash=sha256:"
	: >src/r5.txt
	check pip_tools python r5.txt 1 "no requirements found in lockfile"
	# uv: a git source is pinned by its commit; a registry package without artifacts is not
	printf '[[package]]\nname = "a"\nversion = "1"\nsource = { git = "https://x/a.git?rev=main#%s" }\n' "$(printf 'a%.0s' {1..40})" >src/uv.lock
	check uv python uv.lock 0
	printf '[[package]]\nname = "a"\nversion = "1"\nsource = { registry = "https://pypi.org/simple" }\n' >src/uv.lock
	check uv python uv.lock 1 "1/1 packages missing a sha256 hash (first: a)"
	# npm: without resolved, the version says what to fetch from the registry
	printf '{"lockfileVersion":3,"packages":{"":{},"node_modules/b":{"integrity":"sha512-%s"}}}' \
		"$(head -c 64 /dev/zero | base64 -w0)" >src/package-lock.json
	check npm node package-lock.json 1 "(first: node_modules/b, no resolved URL and no version to fetch it by)"
	# uv: a direct-URL or path source's sdist carries only its hash
	printf '[[package]]\nname = "a"\nversion = "1"\nsource = { url = "https://x/a-1.tar.gz" }\nsdist = { hash = "sha256:%s" }\n' "$(printf 'a%.0s' {1..64})" >src/uv.lock
	check uv python uv.lock 0
	printf '[[package]]\nname = "a"\nversion = "1"\nsource = { url = "https://x/a-1.tar.gz" }\nsdist = { hash = "md5:%s" }\n' "$(printf 'a%.0s' {1..32})" >src/uv.lock
	check uv python uv.lock 1 "1/1 packages missing a sha256 hash (first: a)"
	# pip: -r and -c includes are checked through, relative to the including file
	mkdir -p src/req
	printf 'idna==3.10 --hash=sha256:%s\n' "$(printf 'a%.0s' {1..64})" >src/req/base.txt
	printf 'six==1.16.0\n' >src/req/unhashed.txt
	printf -- '-r req/base.txt\n--constraint=req/base.txt\n' >src/i1.txt
	check pip_tools python i1.txt 0
	printf -- '-r req/base.txt\n-c req/unhashed.txt\n' >src/i2.txt
	check pip_tools python i2.txt 1 "1/2 requirements missing --hash=sha256: (first: six==1.16.0)"
	printf -- '--requirement ../../outside.txt\n' >src/req/i3.txt
	printf 'SECRET=hunter2\n' >outside.txt
	check pip_tools python req/i3.txt 1 "the include (--requirement ../../outside.txt) is outside the source directory; it was not read"
	refute_output --partial hunter2
	printf -- '-r i4.txt\n' >src/i4.txt
	check pip_tools python i4.txt 1 "includes nest deeper than 8 (at -r i4.txt)"
	printf -- '-r https://x/r.txt\n' >src/i5.txt
	check pip_tools python i5.txt 1 "the include (-r https://x/r.txt) is not a file of the source tree"
	# not UTF-8
	printf '# yarn lockfile v1\n\xff\n' >src/yarn.lock
	check yarn node yarn.lock 1 "lockfile is not valid UTF-8"
}

@test "lockfile not found, or not a regular file: E_LOCKFILE_NOT_FOUND" {
	run -1 ir-validate "$IR/E_LOCKFILE_NOT_FOUND.json"
	assert_output "ir-validate: $IR/E_LOCKFILE_NOT_FOUND.json: E_LOCKFILE_NOT_FOUND at /apps/0/dependencies/lockfile: dependency lockfile not found: $IR/../lockfiles/uv/uv.lock.missing"
	cd "$BATS_TEST_TMPDIR"
	mkdir -p src/package-lock.json
	dep_ir node npm src package-lock.json >ir.json
	run -1 ir-validate ir.json
	assert_output "ir-validate: ir.json: E_LOCKFILE_NOT_FOUND at /apps/0/dependencies/lockfile: dependency lockfile not found: ./src/package-lock.json"
}

@test "a lockfile outside the source directory is refused and never read" {
	cd "$BATS_TEST_TMPDIR"
	mkdir -p proj/src
	printf 'SECRET=hunter2\n' >secret.txt
	ln -s ../../secret.txt proj/src/requirements.txt
	ln -s /etc proj/src/etc
	for lock in requirements.txt ../../secret.txt "$PWD/secret.txt" etc/passwd; do
		dep_ir python pip_tools src "$lock" >proj/ir.json
		run -1 ir-validate proj/ir.json
		assert_output "ir-validate: proj/ir.json: E_LOCKFILE_NOT_FOUND at /apps/0/dependencies/lockfile: dependency lockfile $lock is outside the source directory proj/src (absolute, \"..\", or a symlink leaving it); it was not read"
	done
	# a symlink that stays in the tree is followed
	cp "$LOCKS/pip/requirements.txt" proj/src/real.txt
	ln -s real.txt proj/src/link.txt
	dep_ir python pip_tools src link.txt >proj/ir.json
	run -0 ir-validate proj/ir.json
}

@test "lockfiles resolve against the IR file's directory, -C DIR, or . for stdin; -L skips them" {
	cd "$BATS_TEST_TMPDIR"
	mkdir -p proj/src out
	cp "$LOCKS/npm/package-lock.json" proj/src/
	dep_ir node npm src package-lock.json >proj/ir.json
	cp proj/ir.json out/ir.json
	run -0 ir-validate proj/ir.json
	run -1 ir-validate out/ir.json
	assert_output --partial "E_LOCKFILE_NOT_FOUND at /apps/0/dependencies/lockfile: dependency lockfile not found: out/src/package-lock.json"
	run -0 ir-validate -C proj out/ir.json
	run -0 ir-validate -L out/ir.json
	cd proj
	run -0 ir-validate <../out/ir.json
	run -0 ir-validate - <../out/ir.json
	cd ..
	run -1 ir-validate <out/ir.json
	assert_output "ir-validate: E_LOCKFILE_NOT_FOUND at /apps/0/dependencies/lockfile: dependency lockfile not found: ./src/package-lock.json"
	# an absolute source path is used as it is
	dep_ir node npm "$PWD/proj/src" package-lock.json >abs.json
	run -0 ir-validate -C /nonexistent abs.json
	# the IR in the seed's layout: the lockfile in a pnpm v9 project beside it
	run -0 ir-validate "$IR/valid-pnpm9.json"
	run -1 ir-validate "$IR/E_UNPINNED_DEPS.json"
	assert_output --partial "E_UNPINNED_DEPS at /apps/0/dependencies/lockfile: lockfile $IR/../lockfiles/npm-unpinned/package-lock.json is not hash-pinned"
}

@test "reads stdin when no file or - is given; messages then have no file name" {
	run -0 ir-validate <"$SEED_IR"
	run -0 ir-validate - <"$SEED_IR"
	run -1 ir-validate <"$IR/E_INVALID_ID.json"
	assert_output "ir-validate: E_INVALID_ID at /id: workload id \"Hello_World\" does not match ^[a-z][a-z0-9-]{0,62}\$"
	run -0 ir-validate -n - <"$SEED_IR"
	assert_output "$(ir-canon "$SEED_IR")"
}

@test "empty input and JSON that is not well-formed: status 3 with line:col" {
	: >"$BATS_TEST_TMPDIR/empty"
	run -3 ir-validate <"$BATS_TEST_TMPDIR/empty"
	assert_output "ir-validate: 1:1: a value expected, found end of input"
	printf '{\n  "id": "a",\n  "id": "b"\n}\n' >"$BATS_TEST_TMPDIR/dup.json"
	run -3 ir-validate "$BATS_TEST_TMPDIR/dup.json"
	assert_output "ir-validate: $BATS_TEST_TMPDIR/dup.json: 3:3: duplicate member name \"id\""
	run -3 ir-validate -j "$BATS_TEST_TMPDIR/dup.json"
	run -3 ir-validate -n "$BATS_TEST_TMPDIR/dup.json"
}

@test "system errors: missing input, missing data files, a full device: status 4" {
	run -4 ir-validate "$BATS_TEST_TMPDIR/nope.json"
	assert_output --partial "unable to open"
	mkdir "$BATS_TEST_TMPDIR/nodata"
	MVM_SCHEMAS="$BATS_TEST_TMPDIR/nodata" run -4 ir-validate "$SEED_IR"
	assert_output "ir-validate: $BATS_TEST_TMPDIR/nodata/supported_languages.txt: unable to open: No such file or directory"
	run -4 bash -c 'ir-validate -n "$1" >/dev/full' _ "$SEED_IR"
	assert_output "ir-validate: unable to write to standard output: No space left on device"
	run -4 bash -c 'ir-validate -j "$1" >/dev/full' _ "$SEED_IR"
	run -4 bash -c 'ir-validate -j "$1" >/dev/full' _ "$IR/E_INVALID_ID.json"
}

@test "data files are found beside an installed ir-validate (PREFIX/share/mvm/schemas)" {
	local p="$BATS_TEST_TMPDIR/prefix"
	mkdir -p "$p/bin" "$p/share/mvm"
	cp "$MVM_ROOT/bin/ir-validate" "$p/bin/"
	cp -R "$MVM_ROOT/schemas" "$p/share/mvm/"
	run -0 "$p/bin/ir-validate" "$SEED_IR"
	rm -r "$p/share/mvm/schemas"
	run -4 "$p/bin/ir-validate" "$SEED_IR"
	assert_output --partial "unable to find the data files"
}

@test "usage errors exit 2; --help exits 0" {
	run -2 ir-validate -x
	run -2 ir-validate a b
	run -2 ir-validate -j -n "$SEED_IR"
	run -2 ir-validate -C
	run -0 ir-validate --help
	assert_output --partial "usage: ir-validate"
}

@test "the schema and ir-validate agree (Debian python3-jsonschema, Draft 2020-12)" {
	/usr/bin/python3 -c 'import jsonschema' 2>/dev/null ||
		fail "python3-jsonschema is missing: apt-get install python3-jsonschema"
	cd "$MVM_ROOT"
	run -0 /usr/bin/python3 t/schema-agree.py
	assert_output --regexp '^[0-9]+ documents: [0-9]+ accepted by both, [0-9]+ structural rejections shared, [0-9]+ semantic \(schema not asked\), 0 disagreements$'
}

@test "man page EXAMPLES" {
	cd "$BATS_TEST_TMPDIR"
	cp "$SEED_IR" workload-ir.json
	run -0 ir-validate workload-ir.json
	assert_output ""
	echo '{"schema_version":"0.1","id":"Hello","apps":[]}' > bad.json
	run -1 ir-validate bad.json
	assert_output - <<-'EOF'
	ir-validate: bad.json: E_MALFORMED_MANIFEST at (root): missing required field "volumes"
	ir-validate: bad.json: E_MALFORMED_MANIFEST at (root): missing required field "extensions"
	ir-validate: bad.json: E_INVALID_ID at /id: workload id "Hello" does not match ^[a-z][a-z0-9-]{0,62}$
	ir-validate: bad.json: E_EMPTY_APPS at /apps: the workload has no apps
	EOF
	run -1 ir-validate -j bad.json
	assert_output '{"errors":[{"code":"E_MALFORMED_MANIFEST","detail":"missing required field \"volumes\"","pointer":""},{"code":"E_MALFORMED_MANIFEST","detail":"missing required field \"extensions\"","pointer":""},{"code":"E_INVALID_ID","detail":"workload id \"Hello\" does not match ^[a-z][a-z0-9-]{0,62}$","pointer":"/id"},{"code":"E_EMPTY_APPS","detail":"the workload has no apps","pointer":"/apps"}],"ir_hash":"cc999441b59347432be10b5d21c66eed9f44ca585f798638b9ea66af5d1d05d5","normalized_ir_hash":null,"valid":false}'
	run -0 bash -c 'ir-validate -n workload-ir.json | ir-hash'
	assert_output a092d69684c32f32d54f203d63ae8458f94f109be93c7c0a504c9987f58e16e3
	mkdir -p hello/src .mvm
	cp "$LOCKS/npm/package-lock.json" hello/src/
	dep_ir node npm ./src package-lock.json >.mvm/workload-ir.json
	run -0 ir-validate -C hello .mvm/workload-ir.json
	run -1 ir-validate .mvm/workload-ir.json
	assert_output "ir-validate: .mvm/workload-ir.json: E_LOCKFILE_NOT_FOUND at /apps/0/dependencies/lockfile: dependency lockfile not found: .mvm/./src/package-lock.json"
}

@test "mvm-ir(5) worked example is the seed IR and is valid" {
	cd "$BATS_TEST_TMPDIR"
	# the .Bd -literal block after "worked example" in mvm-ir.5
	awk '/^\.Ss Worked example/{f=1} f&&/^\.Bd -literal/{p=1;next} p&&/^\.Ed/{exit} p' \
		"$MVM_ROOT/man/man5/mvm-ir.5" | sed 's/\\e/\\/g' >ex.json
	run -0 ir-validate ex.json
	[ "$(ir-hash ex.json)" = "$(ir-hash "$SEED_IR")" ]
}

# Duplicate checks on 20,000 entries (bench/gen-ir-wide.py --dups: a third of
# the entries repeat an earlier one, some are near misses).  The expected
# reports, t/data/ir-wide/*.gz, are the output of ir-validate built from main
# at b076e56, before the checks used hash sets (pairwise, 10-20 s a file).
wide_case() { # functions|addons, sha256 of the generated input
	cd "$BATS_TEST_TMPDIR"
	python3 "$MVM_ROOT/bench/gen-ir-wide.py" "$1" 20000 --dups >"$1-20000-dups.json"
	[ "$(sha256sum <"$1-20000-dups.json" | cut -c1-64)" = "$2" ] ||
		fail "bench/gen-ir-wide.py $1 20000 --dups no longer writes the input the expected report was made from"
	run -1 --separate-stderr ir-validate "$1-20000-dups.json"
	[ -z "$output" ]
	printf '%s\n' "$stderr" >got
	zcat "$MVM_ROOT/t/data/ir-wide/$1-20000-dups.stderr.gz" | cmp - got
	run -1 ir-validate -j "$1-20000-dups.json"
	printf '%s\n' "$output" >got.json
	zcat "$MVM_ROOT/t/data/ir-wide/$1-20000-dups.report.json.gz" | cmp - got.json
}

@test "20,000 function entrypoints: duplicates reported exactly as the pairwise check did" {
	wide_case functions e5960867cdb2301bf3904723624d8d02c7822cd8a84d1f1a698ced6dd90944d5
	# 5,483 duplicates, the first of them
	[ "$(wc -l <got)" -eq 5483 ]
	run -0 head -n 1 got
	assert_output 'ir-validate: functions-20000-dups.json: E_DUPLICATE_ENTRYPOINT_FUNCTION at /apps/0/entrypoints/7: module "m6" function "f6" is declared twice'
}

@test "20,000 addons: collisions reported exactly as the pairwise check did" {
	wide_case addons 9fc0d5dd92a918bf32fd9eac9292ee47fd9b62a22e836ea7a2ce41d8f889f20d
	[ "$(wc -l <got)" -eq 4114 ]
}

@test "addon collisions: the same name and alias, or both without one (null is none)" {
	cd "$BATS_TEST_TMPDIR"
	# written by hand: 0 r; 1 r alias null = 0; 2 r "x"; 3 r "x" = 2; 4 r "y";
	# 5 s; 6 r = 0 again; 7 s "x" (another name)
	a() { printf '{"name":"%s",%s"tier":"separate","ref":{"kind":"local","path":"a"},"sha256":"b5bb9d8014a0f9b1d61e21e796d78dccdf1352f23cd32812f4850b878ae4944c"}' "$1" "${2:+\"alias\":$2,}"; }
	list="$(a r),$(a r null),$(a r '"x"'),$(a r '"x"'),$(a r '"y"'),$(a s),$(a r),$(a s '"x"')"
	jq -c --argjson l "[$list]" '.apps[0].addons = $l' "$SEED_IR" >ad.json
	run -1 ir-validate ad.json
	assert_output - <<-'EOF'
	ir-validate: ad.json: E_ADDON_ENV_COLLISION at /apps/0/addons/1: addon "r" is attached twice with the same alias; give each a distinct alias
	ir-validate: ad.json: E_ADDON_ENV_COLLISION at /apps/0/addons/3: addon "r" is attached twice with the same alias; give each a distinct alias
	ir-validate: ad.json: E_ADDON_ENV_COLLISION at /apps/0/addons/6: addon "r" is attached twice with the same alias; give each a distinct alias
	EOF
}
