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
	assert_output '{"format":"json","function":"greet","functions":[{"format":"json","function":"greet","module":"app","name":"greet","primary":true}],"language":"python","module":"app","source_path":"/app"}'
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
	assert_output '{"concurrency":{"in_process":"serial","kind":"warm_process","max_calls_per_worker":1000,"max_rss_mb":128,"pool_size":2},"format":"json","function":"greet","functions":[{"format":"json","function":"greet","module":"app","name":"greet","primary":true}],"language":"python","module":"app","source_path":"/srv/app"}'
	run -0 jq -j '.files["/etc/mvm/wrapper.json"].content' "$BATS_TEST_TMPDIR/l.json"
	assert_output '{"format":"json","function":"greet","mode":"prod","module":"app","working_dir":"/srv/app"}'
}

@test "a lone function is its own primary; two functions still need exactly one" {
	edit '.apps[0].entrypoints[0].primary = false'
	run -0 ir-lower "$BATS_TEST_TMPDIR/ir.json"
	run -0 jq -j '.files["/etc/mvm/runtime.json"].content' <<<"$output"
	assert_output '{"format":"json","function":"greet","functions":[{"format":"json","function":"greet","module":"app","name":"greet","primary":true}],"language":"python","module":"app","source_path":"/app"}'
	edit 'del(.apps[0].entrypoints[0].primary)'
	run -0 ir-lower "$BATS_TEST_TMPDIR/ir.json"
	edit '.apps[0].entrypoints[0].primary = false | .apps[0].entrypoints += [.apps[0].entrypoints[0] | .function = "bye"]'
	run -1 ir-lower "$BATS_TEST_TMPDIR/ir.json"
	assert_output "ir-lower: $BATS_TEST_TMPDIR/ir.json: E_NO_PRIMARY_ENTRYPOINT at /apps/0/entrypoints: 2 function entrypoints and none is primary: mark exactly one \"primary\": true"
	# ir-validate says the same (one rule, lib/irentry.c's ir_primary)
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
	check '.apps[0].env = {"LD_PRELOAD": {"kind": "literal", "value": "/x.so"}}' /apps/0/env/LD_PRELOAD \
		"an env name the agent reserves (LD_*, PYTHON*, NODE_OPTIONS, PATH, HOME, MVM_*, ...: mvm-agent-protocol(5)) $ns"
	check '.apps[0].mounts = [{"target": "/mnt/c", "source": {"kind": "host_path", "path": "/srv/c"}, "mode": "rw"}]' \
		/apps/0/mounts/0/mode "a host_path mount other than \"ro\" (it is copied into a read-only config drive at build time) $ns"
	check '.apps[0].mounts = [{"target": "/mnt/x", "source": {"kind": "external", "provider": "s3", "config": {}}, "mode": "ro"}]' \
		/apps/0/mounts/0/source/kind "a mount source other than host_path, volume or tmpfs $ns"
	check '.apps[0].mounts = [{"target": "/etc/x", "source": {"kind": "tmpfs", "size_mb": 8}, "mode": "rw"}]' \
		/apps/0/mounts/0/target "a mount target other than a plain absolute path ([A-Za-z0-9._-] components) outside /proc, /sys, /dev, /etc, /usr, /bin, /sbin, /lib*, /boot, /run, /tmp, /root and /mnt/secrets $ns"
	check '.apps[0].env = {"K": {"kind": "secret_ref", "ref": {"name": "k", "mount": {"kind": "env", "var": "LD_PRELOAD"}, "auth_type": "bearer", "allowed_hosts": ["a.example"]}}}' \
		/apps/0/env/K/ref/mount/var "a secret env var named other than [A-Za-z_][A-Za-z0-9_]* or named PATH, HOME, LD_*, MVM_*, PYTHON*, NODE_*, GCONV_* $ns"
	check '.apps[0].env = {"K": {"kind": "secret_ref", "ref": {"name": "k", "mount": {"kind": "file", "path": "/etc/k"}, "auth_type": "bearer", "allowed_hosts": ["a.example"]}}}' \
		/apps/0/env/K/ref/mount/path "a secret file other than /mnt/secrets/NAME (NAME 1 to 128 of [A-Za-z0-9._-]) $ns"
	check '.apps[0].threat_tier = "trusted"' /apps/0/threat_tier "the app's \"threat_tier\" $ns"
	check '.apps[0].addons = [{"name": "pg", "tier": "separate", "ref": {"kind": "local", "path": "x"}, "sha256": "'"$(printf '%064d' 0)"'"}]' \
		/apps/0/addons "the app's \"addons\" $ns"
	check '.apps[0].network = {"mode": {"custom": {"provider": "x", "config": {}}}}' /apps/0/network/mode "a network mode other than \"none\" or \"bridge\" $ns"
	# (an egress allowlist is delivered, issue #16: what its proxy cannot match is refused)
	check '.apps[0].network = {"mode": "none", "egress": {"allowlist": [{"host": "::1", "port": 443}]}}' \
		/apps/0/network/egress/allowlist/0/host "egress host is not a DNS name or IPv4 address: not supported by this backend"
	check '.apps[0].network = {"mode": "none", "egress": {"allowlist": []}} | .apps[0].env = {"https_proxy": {"kind": "literal", "value": "x"}}' \
		/apps/0/env/https_proxy "the egress proxy sets this variable (network.egress)"
	check '.apps[0].network = {"mode": "bridge", "peers": ["db"]}' /apps/0/network/peers "peers are not supported by this backend yet"
	check '.apps[0].network = {"mode": "bridge", "ports": [{"guest": 53, "host": 15353, "proto": "udp"}]}' \
		/apps/0/network/ports/0/proto "a UDP port $ns (only TCP ports are forwarded)"
	check '.apps[0].network = {"mode": "bridge", "dns": {"kind": "system"}}' /apps/0/network/dns \
		"a guest resolver is not supported by this backend (only the egress proxy resolves)"
	check '.apps[0].image = {"kind": "oci_base", "reference": "docker.io/library/debian", "digest": "sha256:'"$(printf '%064d' 0)"'"}' \
		/apps/0/image/kind "image kind \"oci_base\" $ns"
	check '.apps[0].entrypoints[0].args_schema = {"type": "object", "properties": {"a": {"pattern": "x"}}}' \
		/apps/0/entrypoints/0/args_schema/properties/a/pattern \
		"the schema keyword \"pattern\" $ns (the wrappers check type, enum, const, properties, required, additionalProperties, items, minimum, maximum, minLength, maxLength)"
	check '.apps[0].entrypoints[0].return_schema = {"items": [{"type": "string"}]}' /apps/0/entrypoints/0/return_schema/items \
		"a schema that is not an object or a boolean $ns"
	check '.apps[0].entrypoints[0].return_schema = {"type": "str"}' /apps/0/entrypoints/0/return_schema/type \
		"this value of the schema keyword \"type\" $ns"
	check '.apps[0].entrypoints[0].extra_imports = ["json"]' /apps/0/entrypoints/0/extra_imports "the function's \"extra_imports\" $ns"
	check '.apps[0].entrypoints += [.apps[0].entrypoints[0] | .module = "other" | .primary = false]' \
		/apps/0/entrypoints/1/function "a second function entrypoint named like entrypoint 0 $ns (a call names a function by its \"function\")"
	check '.apps[0].entrypoints += [.apps[0].entrypoints[0] | .function = "bye" | .primary = false | .language = "node"]' \
		/apps/0/entrypoints/1/language "functions of another language than the primary's are not supported by this backend yet (an image has one runner)"
	check '.apps[0].entrypoints += [.apps[0].entrypoints[0] | .function = "bye" | .primary = false
		| .concurrency = {"kind":"warm_process","max_calls_per_worker":1000,"max_rss_mb":128,"pool_size":2,"in_process":"serial"}]' \
		/apps/0/entrypoints/1/concurrency "a warm pool in an app of more than one function $ns (a pool serves one function)"
	check '.apps[0].entrypoints += [{"kind": "command", "command": ["a"]}, {"kind": "command", "command": ["b"]}]' \
		/apps/0/entrypoints/2 "a second command entrypoint $ns"
	check '.apps[0].entrypoints += [{"kind": "command", "command": ["a"], "env": {"T": {"kind": "secret_ref", "ref": {"name": "t", "mount": {"kind": "env", "var": "T"}, "auth_type": "bearer", "allowed_hosts": ["a.example"]}}}}]' \
		/apps/0/entrypoints/1/env/T/kind "a secret_ref env entry of a command $ns"
	# defaults are not declarations: spelled out, they are accepted
	edit '.apps[0].env = {} | .apps[0].mounts = [] | .apps[0].addons = [] | .apps[0].threat_tier = "untrusted"
		| .apps[0].network = {"mode": "none"} | .apps[0].entrypoints[0].extra_imports = [] | .apps[0].entrypoints[0].args_schema = null'
	run -0 ir-lower -L "$BATS_TEST_TMPDIR/ir.json"
	[ "$(jq -c 'del(.ir_hash)' <<<"$output")" = "$(ir-lower "$SEED_IR" | jq -c 'del(.ir_hash)')" ]
}

@test "issue 15: env literals, every function, schemas and --dev are lowered into the guest files" {
	edit '.apps[0].env = {"GREETING": {"kind": "literal", "value": "hi"}, "EMPTY": {"kind": "literal", "value": ""}}
		| .apps[0].entrypoints[0].args_schema = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string", "maxLength": 8}}, "additionalProperties": false, "title": "t"}
		| .apps[0].entrypoints += [.apps[0].entrypoints[0] | .function = "bye" | .format = "msgpack" | .primary = false
			| del(.args_schema) | .return_schema = {"enum": ["bye", null]}]'
	run -0 ir-lower -L "$BATS_TEST_TMPDIR/ir.json"
	echo "$output" >"$BATS_TEST_TMPDIR/l.json"
	run -0 jq -j '.files["/etc/mvm/runtime.json"].content' "$BATS_TEST_TMPDIR/l.json"
	assert_output '{"env":{"EMPTY":"","GREETING":"hi"},"format":"json","function":"greet","functions":[{"format":"json","function":"greet","module":"app","name":"greet","primary":true},{"format":"msgpack","function":"bye","module":"app","name":"bye","primary":false}],"language":"python","module":"app","source_path":"/app"}'
	run -0 jq -j '.files["/etc/mvm/fn/0.json"].content' "$BATS_TEST_TMPDIR/l.json"
	assert_output '{"args_schema":{"additionalProperties":false,"properties":{"name":{"maxLength":8,"type":"string"}},"required":["name"],"title":"t","type":"object"},"format":"json","function":"greet","mode":"prod","module":"app","working_dir":"/app"}'
	[ "$(jq -j '.files["/etc/mvm/wrapper.json"].content' "$BATS_TEST_TMPDIR/l.json")" = "$output" ]
	run -0 jq -j '.files["/etc/mvm/fn/1.json"].content' "$BATS_TEST_TMPDIR/l.json"
	assert_output '{"format":"msgpack","function":"bye","mode":"prod","module":"app","return_schema":{"enum":["bye",null]},"working_dir":"/app"}'
	# the guest files follow the schemas the agent and the wrappers follow
	for f in runtime:runtime fn/0:wrapper fn/1:wrapper; do
		jq -j ".files[\"/etc/mvm/${f%%:*}.json\"].content" "$BATS_TEST_TMPDIR/l.json" >"$BATS_TEST_TMPDIR/f.json"
		schema_ok "$MVM_ROOT/schemas/${f#*:}.schema.json" "$BATS_TEST_TMPDIR/f.json"
	done
	schema_ok "$MVM_ROOT/schemas/lower.schema.json" "$BATS_TEST_TMPDIR/l.json"
	# --dev: the same files with mode "dev"
	run -0 ir-lower -L --dev "$BATS_TEST_TMPDIR/ir.json"
	run -0 jq -j '.files | [.["/etc/mvm/wrapper.json"], .["/etc/mvm/fn/1.json"]] | map(.content | fromjson | .mode) | join(" ")' <<<"$output"
	assert_output 'dev dev'
}

@test "issue #16: a bridge network's ports and a command entrypoint are lowered (network, service, /etc/mvm/service.json); a command alone has no runner" {
	edit '.apps[0].network = {"mode": "bridge", "ports": [{"guest": 8000, "host": 18080, "proto": "tcp"}]}
		| .apps[0].entrypoints += [{"kind": "command", "command": ["python3", "/app/s.py"], "working_dir": "/srv",
			"env": {"B": {"kind": "literal", "value": "2"}, "A": {"kind": "literal", "value": "1"}}}]'
	run -0 ir-lower "$BATS_TEST_TMPDIR/ir.json"
	[ "$(jq -c .network <<<"$output")" = '{"ports":[{"guest":8000,"host":18080,"proto":"tcp"}]}' ]
	[ "$(jq -c .service <<<"$output")" = '{"command":["python3","/app/s.py"],"env":{"A":"1","B":"2"},"working_dir":"/srv"}' ]
	[ "$(jq -j '.files["/etc/mvm/service.json"].content' <<<"$output")" = \
		'{"command":["python3","/app/s.py"],"env":{"A":"1","B":"2"},"working_dir":"/srv"}' ]
	[ "$(jq -r .runner <<<"$output")" = oneshot ]
	printf '%s' "$output" >"$BATS_TEST_TMPDIR/l.json"
	schema_ok "$MVM_ROOT/schemas/lower.schema.json" "$BATS_TEST_TMPDIR/l.json"
	# without the function: no runner, only the service
	edit '.apps[0].entrypoints = [{"kind": "command", "command": ["true"]}]'
	run -0 ir-lower "$BATS_TEST_TMPDIR/ir.json"
	[ "$(jq -c '[.language, .runner, .entrypoint, .working_dir, (.files | keys)]' <<<"$output")" = \
		'["none","none",null,"/app",["/etc/mvm/service.json"]]' ]
	[ "$(jq -c .network <<<"$output")" = null ]
	printf '%s' "$output" >"$BATS_TEST_TMPDIR/l.json"
	schema_ok "$MVM_ROOT/schemas/lower.schema.json" "$BATS_TEST_TMPDIR/l.json"
}

@test "the examples' declarations (mvm-emit) lower to what schemas/lower.schema.json says" {
	for e in hello web greet deps-python; do
		mvm-emit -o "$BATS_TEST_TMPDIR/$e.ir.json" "$MVM_ROOT/examples/$e/entry.py"
		ir-lower -C "$MVM_ROOT/examples/$e" "$BATS_TEST_TMPDIR/$e.ir.json" >"$BATS_TEST_TMPDIR/$e.json"
		schema_ok "$MVM_ROOT/schemas/lower.schema.json" "$BATS_TEST_TMPDIR/$e.json"
	done
	# (web: a command alone, a network; deps-python: dependencies)
	[ "$(jq -c '[.runner, .network.ports[0].guest, .service.working_dir]' "$BATS_TEST_TMPDIR/web.json")" = '["none",8000,"/app"]' ]
	[ "$(jq -r .dependencies.kind "$BATS_TEST_TMPDIR/deps-python.json")" = python ]
}

@test "issue #16: the app's env literals reach the command service as they reach functions; the command's own env wins; a secret_ref is not written (the provisioning delivers it)" {
	edit '.apps[0].env = {"A": {"kind": "literal", "value": "app"}, "C": {"kind": "literal", "value": "app"},
			"K": {"kind": "secret_ref", "ref": {"name": "k", "mount": {"kind": "env", "var": "API_KEY"}, "auth_type": "bearer", "allowed_hosts": ["a.example"]}}}
		| .apps[0].entrypoints = [{"kind": "command", "command": ["true"],
			"env": {"B": {"kind": "literal", "value": "cmd"}, "C": {"kind": "literal", "value": "cmd"}}}]'
	run -0 ir-lower "$BATS_TEST_TMPDIR/ir.json"
	[ "$(jq -c .service.env <<<"$output")" = '{"A":"app","B":"cmd","C":"cmd"}' ] || fail "$output"
	[ "$(jq -j '.files["/etc/mvm/service.json"].content | fromjson | .env | tojson' <<<"$output")" = '{"A":"app","B":"cmd","C":"cmd"}' ]
}

@test "issue #16: an egress allowlist is lowered: the egress member (mvm-meta.json binds it), /etc/mvm/egress.json, the proxy's variables in the function's and the service's env; no NIC" {
	edit '.apps[0].network = {"mode": "none", "egress": {"allowlist": [{"port": 8443, "host": "*.Example.com"}]}}
		| .apps[0].env = {"A": {"kind": "literal", "value": "1"}}
		| .apps[0].entrypoints += [{"kind": "command", "command": ["true"]}]'
	run -0 ir-lower "$BATS_TEST_TMPDIR/ir.json"
	[ "$(jq -c '[.egress, .network]' <<<"$output")" = '[{"allowlist":[{"host":"*.Example.com","port":8443}]},null]' ]
	[ "$(jq -j '.files["/etc/mvm/egress.json"] | .mode + " " + .content' <<<"$output")" = \
		'0444 {"allowlist":[{"host":"*.Example.com","port":8443}]}' ]
	u=http://127.0.0.1:3128
	[ "$(jq -c '.files["/etc/mvm/runtime.json"].content | fromjson | .env' <<<"$output")" = \
		"{\"A\":\"1\",\"HTTPS_PROXY\":\"$u\",\"HTTP_PROXY\":\"$u\",\"http_proxy\":\"$u\",\"https_proxy\":\"$u\"}" ]
	[ "$(jq -c '.service.env' <<<"$output")" = \
		"{\"A\":\"1\",\"HTTPS_PROXY\":\"$u\",\"HTTP_PROXY\":\"$u\",\"http_proxy\":\"$u\",\"https_proxy\":\"$u\"}" ]
	printf '%s' "$output" >"$BATS_TEST_TMPDIR/l.json"
	schema_ok "$MVM_ROOT/schemas/lower.schema.json" "$BATS_TEST_TMPDIR/l.json"
	# a function alone: what schemas/lower.schema.json says
	edit '.apps[0].network = {"mode": "none", "egress": {"allowlist": [{"port": 8443, "host": "*.Example.com"}]}}'
	ir-lower "$BATS_TEST_TMPDIR/ir.json" >"$BATS_TEST_TMPDIR/l.json"
	schema_ok "$MVM_ROOT/schemas/lower.schema.json" "$BATS_TEST_TMPDIR/l.json"
	# without an allowlist: none of it
	edit '.apps[0].network = {"mode": "none", "egress": null}'
	run -0 ir-lower "$BATS_TEST_TMPDIR/ir.json"
	[ "$(jq -c '[.egress, .files["/etc/mvm/egress.json"], (.files["/etc/mvm/runtime.json"].content | fromjson | .env)]' <<<"$output")" = '[null,null,null]' ]
}

@test "mounts, volumes and secret_refs are lowered: drives (role m<index>), tmpfs, secrets by name, /etc/mvm/mounts for init (mvm-lower(5))" {
	edit '.apps[0].mounts = [{"target":"/mnt/config","source":{"kind":"host_path","path":"/srv/cfg"},"mode":"ro"},
		{"target":"/mnt/data","source":{"kind":"volume","name":"data"},"mode":"rw"},
		{"target":"/scratch","source":{"kind":"tmpfs","size_mb":8},"mode":"rw"}]
		| .volumes = [{"name":"data","size_mb":16,"persist":false}]
		| .apps[0].env = {"A":{"kind":"secret_ref","ref":{"name":"api_key","mount":{"kind":"env","var":"API_KEY"},"auth_type":"bearer","allowed_hosts":["api.example"]}},
			"B":{"kind":"secret_ref","ref":{"name":"tok","mount":{"kind":"file","path":"/mnt/secrets/tok"},"auth_type":"bearer","allowed_hosts":["api.example"]}}}'
	run -0 ir-lower "$BATS_TEST_TMPDIR/ir.json"
	echo "$output" >"$BATS_TEST_TMPDIR/l.json"
	schema_ok "$MVM_ROOT/schemas/lower.schema.json" "$BATS_TEST_TMPDIR/l.json"
	run -0 jq -c .drives "$BATS_TEST_TMPDIR/l.json"
	assert_output '[{"mode":"ro","name":"root","target":"/"},{"kind":"config","mode":"ro","name":"m0","source":"/srv/cfg","target":"/mnt/config"},{"kind":"volume","mode":"rw","name":"m1","size_mb":16,"target":"/mnt/data","volume":"data"}]'
	run -0 jq -c '[.tmpfs, .secrets]' "$BATS_TEST_TMPDIR/l.json"
	assert_output '[[{"mode":"rw","size_mb":8,"target":"/scratch"}],[{"env":"API_KEY","name":"api_key"},{"file":"/mnt/secrets/tok","name":"tok"}]]'
	run -0 jq -j '.files["/etc/mvm/mounts"] | .mode + "\n" + .content' "$BATS_TEST_TMPDIR/l.json"
	assert_output $'0444\nm0 /mnt/config ro drive\nm1 /mnt/data rw drive\n- /scratch rw tmpfs 8'
}

@test "dependencies: pip_tools, uv, npm, pnpm and yarn are lowered with the deps drive" {
	edit '.apps[0].source.path = "uv" | .apps[0].dependencies = {"kind": "python", "tool": "uv", "lockfile": "uv.lock"}'
	run -0 ir-lower -C "$LOCKS" "$BATS_TEST_TMPDIR/ir.json"
	[ "$(jq -c '[.dependencies, .drives]' <<<"$output")" = '[{"kind":"python","lockfile":"uv.lock","tool":"uv"},[{"mode":"ro","name":"root","target":"/"},{"mode":"ro","name":"deps","target":"/mnt/deps"}]]' ]
	# without -C the lockfile is looked for beside the IR
	run -1 ir-lower "$BATS_TEST_TMPDIR/ir.json"
	assert_output --partial 'E_LOCKFILE_NOT_FOUND at /apps/0/dependencies/lockfile'
	edit '.apps[0].source.path = "pip" | .apps[0].dependencies = {"kind": "python", "tool": "pip_tools", "lockfile": "requirements.txt"}'
	run -0 ir-lower -C "$LOCKS" "$BATS_TEST_TMPDIR/ir.json"
	[ "$(jq -c '[.dependencies, .drives]' <<<"$output")" = '[{"kind":"python","lockfile":"requirements.txt","tool":"pip_tools"},[{"mode":"ro","name":"root","target":"/"},{"mode":"ro","name":"deps","target":"/mnt/deps"}]]' ]
	# pnpm and yarn lockfiles land on the same deps drive as npm's
	edit '.apps[0].source.path = "pnpm9" | .apps[0].dependencies = {"kind": "node", "tool": "pnpm", "lockfile": "pnpm-lock.yaml"}'
	run -0 ir-lower -C "$LOCKS" "$BATS_TEST_TMPDIR/ir.json"
	[ "$(jq -c '.drives[1]' <<<"$output")" = '{"mode":"ro","name":"deps","target":"/mnt/deps"}' ]
	edit '.apps[0].source.path = "yarn" | .apps[0].dependencies = {"kind": "node", "tool": "yarn", "lockfile": "yarn.lock"}'
	run -0 ir-lower -C "$LOCKS" "$BATS_TEST_TMPDIR/ir.json"
	[ "$(jq -c '.drives[1]' <<<"$output")" = '{"mode":"ro","name":"deps","target":"/mnt/deps"}' ]
}

@test "ir-lower(1) EXAMPLES" {
	cd "$BATS_TEST_TMPDIR"
	mkdir -p t/data && cp "$SEED_IR" t/data/
	run -0 bash -c 'ir-lower t/data/seed-ir.json | jq -r .runner'
	assert_output oneshot
	run -0 bash -c "ir-lower t/data/seed-ir.json | jq -j '.files[\"/etc/mvm/runtime.json\"].content'"
	assert_output '{"format":"json","function":"greet","functions":[{"format":"json","function":"greet","module":"app","name":"greet","primary":true}],"language":"python","module":"app","source_path":"/app"}'
	jq '.apps[0].entrypoints[0].extra_imports = ["json"]' \
		t/data/seed-ir.json > x-ir.json
	run -1 ir-lower -L x-ir.json
	assert_output 'ir-lower: x-ir.json: E_NOT_SUPPORTED at /apps/0/entrypoints/0/extra_imports: the function'"'"'s "extra_imports" is not supported by this backend yet'
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
	assert_output --partial 'usage: ir-lower [-L] [--dev] [-C dir] [file]'
	run -4 bash -c 'ir-lower "$1" >/dev/full' _ "$SEED_IR"
}
