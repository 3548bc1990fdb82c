#!/usr/bin/env bats
# nix/: the Nix backend (mkFunctionWorkload, mkFunctionService, the language
# registry, mkGuest) over ir-lower's output (mvm-lower(5)), tested by
# evaluation against t/data/nix/stub-pkgs.nix (nixpkgs cannot be fetched
# here), and compared byte for byte with what the Debian backend
# (libexec/mvm-build-rootfs) bakes into a real image from the same lowering.  Nix runs with `--store dummy://`: nothing is written to /nix or to
# any store (see nix/README.md "Evaluating here").

load helper

dbg() { debugfs -R "$1" "$2" 2>/dev/null; }   # without debugfs's banner on stderr
mode_of() { debugfs -R "stat $1" "$2" 2>/dev/null | sed -n 's/.*Mode: *\([0-7]*\).*/\1/p'; }

# Fixtures whose /etc/mvm the Debian backend bakes in setup_file.
FIXTURES="seed concurrency concurrency-null escapes node typescript"

setup_file() {
	export NONIX=
	if [ -n "${MVM_SANITIZE:-}" ]; then
		# The Debian builds below need the static agent, and what this file
		# tests is Nix code, which the sanitizers do not see.
		NONIX="SANITIZE=$MVM_SANITIZE: this file tests Nix expressions against Debian images made with the static agent; it runs in the plain pass"
		return 0
	fi
	if ! command -v nix-instantiate >/dev/null 2>&1 || ! command -v nix >/dev/null 2>&1; then
		NONIX="nix is not installed (tools/install-deps.sh installs Debian's nix-bin)"
		echo "# skipping t/nix.bats: $NONIX" >&3
		return 0
	fi
	W="$BATS_FILE_TMPDIR/w"
	mkdir -p "$W"
	# Whether /nix existed before: the tests must not create it (last test).
	[ -e /nix ] && echo yes >"$W/had-nix" || echo no >"$W/had-nix"
	cp -R "$MVM_ROOT/examples/hello/src" "$W/"
	cp "$MVM_ROOT/t/data/seed-ir.json" "$W/seed-ir.json"
	for f in $FIXTURES; do
		[ "$f" = seed ] || cp "$MVM_ROOT/t/data/nix/$f-ir.json" "$W/"
	done
	cp "$MVM_ROOT/t/data/nix/no-primary-ir.json" "$W/"
	# The one lowering both backends read (the Debian one runs ir-lower itself).
	for f in $FIXTURES no-primary; do
		ir-lower "$W/$f-ir.json" >"$W/$f-lowered.json"
	done
	# The run's shared image cache (t/helper.bash; MVM_TEST_IMAGES keeps the
	# images between runs): the seed fixture is the other files' hello image.
	IMAGES=$MVM_TEST_IMAGES
	export W IMAGES
	echo "# the guest kernel: libexec/mvm-build-kernel (cached; minutes on a fresh machine)" >&3
	KERNEL=$("$MVM_ROOT/libexec/mvm-build-kernel")
	for f in $FIXTURES; do
		echo "# the Debian backend builds the $f fixture" >&3
		img=$(shared_image "$W/$f-ir.json")
		echo "$img" >"$W/$f.img"
	done
}

setup() {
	[ -z "$NONIX" ] || skip "$NONIX"
	export HOME="$BATS_TEST_TMPDIR/home" XDG_CACHE_HOME="$BATS_TEST_TMPDIR/cache"
	export NIX_CONFIG='build-users-group =
experimental-features = nix-command'
	mkdir -p "$HOME"
}

img() { echo "$(cat "$W/$1.img")/rootfs.ext4"; }
meta() { echo "$(cat "$W/$1.img")/mvm-meta.json"; }

# A Nix expression with `mvm` (nix/lib over the stub pkgs) and `w IR` in scope.
nixexpr() {
	printf 'let mvm = import (/. + "%s/nix/lib") { pkgs = import (/. + "%s/t/data/nix/stub-pkgs.nix"); };
	  w = f: mvm.mkFunctionWorkload { loweredFile = /. + "%s/${f}-lowered.json"; };
	  lib = /. + "%s/nix/lib";
	in %s' "$MVM_ROOT" "$MVM_ROOT" "$W" "$MVM_ROOT" "$1"
}
nixev() { nix-instantiate --store dummy:// --eval --strict --json -E "$(nixexpr "$1")"; }
nixraw() { nix eval --store dummy:// --raw --impure --expr "$(nixexpr "$1")"; }
# The content of one of the factory's extraFiles, as raw bytes, by both routes.
nixfile() { # FIXTURE PATH OUT
	nixraw "(w \"$1\").mvmFactory.extraFiles.\"$2\".content" >"$3"
	nixev "(w \"$1\").mvmFactory.extraFiles.\"$2\".content" | jq -j . | cmp - "$3"
}

@test "nix evaluates offline with a dummy store; the registry is schemas/supported_languages.txt" {
	run -0 nixev 'mvm.languages.names'
	want=$(grep -v '^[[:space:]]*#' "$MVM_ROOT/schemas/supported_languages.txt" | grep -v '^[[:space:]]*$' | jq -R . | jq -cs .)
	assert_output "$want"
	run -0 nixev '{ a = mvm.languages.missingFiles; b = mvm.languages.unlisted; }'
	assert_output '{"a":[],"b":[]}'
}

@test "runtime.json, wrapper.json and /etc/mvm/entrypoint are byte-identical to the Debian image's" {
	for f in $FIXTURES; do
		# nix/lib writes ir-lower's content strings as they are
		for p in /etc/mvm/runtime.json /etc/mvm/wrapper.json /etc/mvm/entrypoint; do
			nixfile "$f" "$p" "$BATS_TEST_TMPDIR/nix.out"
			jq -j --arg p "$p" '.files[$p].content' "$W/$f-lowered.json" | cmp - "$BATS_TEST_TMPDIR/nix.out" ||
				fail "$f: $p is not ir-lower's"
		done
		for p in /etc/mvm/runtime.json /etc/mvm/wrapper.json /etc/mvm/entrypoint; do
			nixfile "$f" "$p" "$BATS_TEST_TMPDIR/nix.out"
			dbg "cat $p" "$(img "$f")" >"$BATS_TEST_TMPDIR/deb.out"
			[ -s "$BATS_TEST_TMPDIR/deb.out" ] || fail "$f: $p missing from the Debian image"
			cmp "$BATS_TEST_TMPDIR/nix.out" "$BATS_TEST_TMPDIR/deb.out" ||
				fail "$f: $p differs: nix $(od -c "$BATS_TEST_TMPDIR/nix.out" | head -3) debian $(od -c "$BATS_TEST_TMPDIR/deb.out" | head -3)"
		done
	done
}

@test "the seed's IR gives the seed's files; without primary: true, the same (a lone function is its own primary)" {
	nixfile seed /etc/mvm/runtime.json "$BATS_TEST_TMPDIR/rt"
	run -0 cat "$BATS_TEST_TMPDIR/rt"
	assert_output '{"format":"json","function":"greet","functions":[{"format":"json","function":"greet","module":"app","name":"greet","primary":true}],"language":"python","module":"app","source_path":"/app"}'
	nixfile seed /etc/mvm/wrapper.json "$BATS_TEST_TMPDIR/wr"
	run -0 cat "$BATS_TEST_TMPDIR/wr"
	assert_output '{"format":"json","function":"greet","mode":"prod","module":"app","working_dir":"/app"}'
	nixfile seed /etc/mvm/entrypoint "$BATS_TEST_TMPDIR/ep"
	printf '/usr/lib/mvm/wrappers/runner\n' | cmp - "$BATS_TEST_TMPDIR/ep"
	nixfile no-primary /etc/mvm/runtime.json "$BATS_TEST_TMPDIR/rt-np"
	cmp "$BATS_TEST_TMPDIR/rt" "$BATS_TEST_TMPDIR/rt-np"
	nixfile no-primary /etc/mvm/wrapper.json "$BATS_TEST_TMPDIR/wr-np"
	cmp "$BATS_TEST_TMPDIR/wr" "$BATS_TEST_TMPDIR/wr-np"
}

@test "concurrency is passed through into runtime.json and picks the longrunning runner" {
	nixfile concurrency /etc/mvm/runtime.json "$BATS_TEST_TMPDIR/rt"
	run -0 jq -c .concurrency "$BATS_TEST_TMPDIR/rt"
	assert_output '{"in_process":"serial","kind":"warm_process","max_calls_per_worker":1000,"max_queue_depth":8,"max_rss_mb":128,"pool_size":2}'
	run -0 jq -r .source_path "$BATS_TEST_TMPDIR/rt"
	assert_output /srv/app
	run -0 nixev '{ c = (w "concurrency").mvmFactory.tier; s = (w "seed").mvmFactory.tier; n = (w "concurrency-null").mvmFactory.tier; }'
	assert_output '{"c":"longrunning","n":"longrunning","s":"oneshot"}'
	# null members are absent and 1e3 / 64.0 are written as integers, as ir-canon does
	nixfile concurrency-null /etc/mvm/runtime.json "$BATS_TEST_TMPDIR/rt2"
	run -0 jq -c .concurrency "$BATS_TEST_TMPDIR/rt2"
	assert_output '{"in_process":"serial","kind":"warm_process","max_calls_per_worker":1000,"max_rss_mb":64,"pool_size":1}'
	grep -q '"max_calls_per_worker":1000,' "$BATS_TEST_TMPDIR/rt2"
}

@test "the runner and the files beside it are the Debian image's, with the same modes" {
	for f in $FIXTURES; do
		run -0 nixev "let ef = (w \"$f\").mvmFactory.extraFiles; in map (p: { path = p; mode = ef.\${p}.mode; src = if ef.\${p} ? source then toString ef.\${p}.source else null; }) (builtins.attrNames ef)"
		echo "$output" >"$BATS_TEST_TMPDIR/files.json"
		n=$(jq length "$BATS_TEST_TMPDIR/files.json")
		[ "$n" -ge 5 ] || fail "$f: only $n files"
		for i in $(seq 0 $((n - 1))); do
			p=$(jq -r ".[$i].path" "$BATS_TEST_TMPDIR/files.json")
			m=$(jq -r ".[$i].mode" "$BATS_TEST_TMPDIR/files.json")
			s=$(jq -r ".[$i].src" "$BATS_TEST_TMPDIR/files.json")
			[ "$(mode_of "$p" "$(img "$f")")" = "$m" ] ||
				fail "$f: $p: mode $m here, $(mode_of "$p" "$(img "$f")") in the Debian image"
			case $p in
			*/node_modules) [[ $s == /nix/store/*-node-modules-node/node_modules ]] || fail "$f: node_modules from $s" ;;
			*) [ "$s" = null ] || dbg "cat $p" "$(img "$f")" | cmp - "$s" || fail "$f: $p differs from $s" ;;
			esac
		done
	done
	run -0 nixev '{ p = toString (w "concurrency").mvmFactory.extraFiles."/usr/lib/mvm/wrappers/runner".source;
		n = toString (w "node").mvmFactory.extraFiles."/usr/lib/mvm/wrappers/runner".source; }'
	assert_output "{\"n\":\"$MVM_ROOT/agent/wrappers/node/oneshot.mjs\",\"p\":\"$MVM_ROOT/agent/wrappers/python/longrunning.py\"}"
}

@test "servicePackages and the IR's image.packages go into mkGuest" {
	run -0 nixev '{ py = map (p: p.name) (w "seed").mvmFactory.servicePackages;
		msgpack = map (p: p.name) (builtins.head (w "seed").mvmFactory.servicePackages).stubPackages;
		node = map (p: p.name) (w "typescript").mvmFactory.servicePackages;
		npmRoot = (import (/. + "'"$MVM_ROOT"'/t/data/nix/stub-pkgs.nix")).importNpmLock.buildNodeModules { npmRoot = /. + "'"$MVM_ROOT"'/agent/wrappers/node"; nodejs = null; }; }'
	run -0 jq -c '{py, msgpack, node}' <<<"$output"
	assert_output '{"py":["python3-3.12-env"],"msgpack":["python3-msgpack"],"node":["nodejs-22"]}'
	# the rootfs script: python env (service) + python3 (image.packages) on PATH
	run -0 nixev '(w "seed").buildCommand'
	script=$(jq -r . <<<"$output")
	[[ $script == *"for p in /nix/store/00000000000000000000000000000000-python3-3.12-env /nix/store/00000000000000000000000000000000-python3-3.12; do"* ]]
	# TypeScript compiles the app's modules with libexec/mvm-strip-types; Python does not
	run -0 nixev '(w "typescript").buildCommand'
	[[ $output == *mvm-strip-types* ]]
	run -0 nixev '(w "seed").buildCommand'
	[[ $output != *mvm-strip-types* ]]
}

@test "passthru.mvm carries mvm-meta.json's fields (less what only a build knows)" {
	for f in seed concurrency node; do
		run -0 nixev "(w \"$f\").passthru.mvm"
		jq -S . <<<"$output" >"$BATS_TEST_TMPDIR/nix.json"
		# (verity: the Debian backend's dm-verity root; the Nix backend has none
		# yet, and admission hashes its images whole)
		jq -S 'del(.artifacts, .build_key, .rootfs_size_mb, .verity) | .backend = "nix"' "$(meta "$f")" \
			>"$BATS_TEST_TMPDIR/deb.json"
		diff -u "$BATS_TEST_TMPDIR/deb.json" "$BATS_TEST_TMPDIR/nix.json"
	done
	# ir_hash comes from the lowering: ir-hash of the IR as given, canonical or not
	run -0 nixev '(w "seed").passthru.mvm.ir_hash'
	assert_output "\"$(ir-hash "$W/seed-ir.json")\""
}

@test "what no backend builds is refused once, by ir-lower; nix/lib's own throws fire with their messages" {
	cp "$MVM_ROOT"/t/data/nix/{two-apps,oci,two-primary,cobol}-ir.json "$W/"
	run -1 ir-lower "$W/two-apps-ir.json"
	assert_output --partial 'E_MULTI_APP_DEFERRED at /apps'
	run -1 ir-lower "$W/oci-ir.json"
	assert_output "ir-lower: $W/oci-ir.json: E_NOT_SUPPORTED at /apps/0/image/kind: image kind \"oci_base\" is not supported by this backend yet"
	run -1 ir-lower "$W/two-primary-ir.json"
	assert_output --partial 'E_MULTIPLE_PRIMARY_ENTRYPOINTS at /apps/0/entrypoints'
	run -1 ir-lower "$W/cobol-ir.json"
	assert_output --partial 'E_UNSUPPORTED_LANGUAGE at /apps/0/entrypoints/0/language'
	# the Debian backend refuses them with ir-lower's words (one IR, one verdict)
	for f in oci two-primary; do
		run -1 "$MVM_ROOT/libexec/mvm-build-rootfs" -q --kernel /dev/null -o "$W/images" "$W/$f-ir.json"
		assert_output --partial "ir-lower: $W/$f-ir.json: E_"
	done
	# nix/lib reads only a lowering: an IR is pointed at ir-lower
	run -1 nixev "(mvm.mkFunctionWorkload { irFile = /. + \"$W/seed-ir.json\"; }).passthru.mvm"
	assert_output --partial 'error: mkFunctionWorkload: irFile is no longer read here: lower the IR first (ir-lower workload-ir.json > workload-lowered.json'
	# a lowering of another version
	jq -c '.lower_version = 2' "$W/seed-lowered.json" >"$W/v2-lowered.json"
	run -1 nixev '(w "v2").mvmFactory.extraFiles'
	assert_output --partial 'error: mkFunctionService: lowered has lower_version 2; this nix/lib reads version 1 (mvm-lower(5))'
	# a package nixpkgs does not have
	jq -c '.packages = ["python3", "no-such-pkg"]' "$W/seed-lowered.json" >"$W/pkg-lowered.json"
	run -1 nixev '(w "pkg").buildCommand'
	assert_output --partial 'error: mkFunctionWorkload: app.image.packages: nixpkgs has no attribute "no-such-pkg".'
	# a language without a registry file
	jq -c '.language = "cobol"' "$W/seed-lowered.json" >"$W/cobol-lowered.json"
	run -1 nixev '(w "cobol").mvmFactory.extraFiles'
	assert_output --partial 'error: mkFunctionService: language "cobol" has no entry in the language registry (available: python, node, typescript).'
	assert_output --partial 'nix/lib/factories/languages/cobol.nix'
}

@test "builtins.toJSON alone is not RFC 8785: \\b, \\f, floats, big integers; the writer fixes or refuses" {
	# toJSON writes \u0008 and \u000c where RFC 8785 (ir-canon) writes \b and \f
	run -0 nixraw 'builtins.toJSON (builtins.fromJSON "\"a\\b\\f\"")'
	assert_output '"a\u0008\u000c"'
	printf '"a\\b\\f"' | ir-canon | cmp - <(printf '"a\\b\\f"')
	# the writer: \b and \f, and a literal backslash before "u0008" stays one
	run -0 nixraw '(import (lib + "/canonical-json.nix")).toCanonicalJSON (builtins.fromJSON "\"a\\b\\f\\\\u0008\"")'
	assert_output '"a\b\f\\u0008"'
	printf '"a\\b\\f\\\\u0008"' | ir-canon | cmp - <(printf '%s' "$output")
	# floats: toJSON keeps 6 significant digits; the writer refuses non-integers
	run -0 nixraw 'builtins.toJSON 0.30000000000000004'
	assert_output '0.3'
	run -1 nixraw '(import (lib + "/canonical-json.nix")).toCanonicalJSON { a = 0.5; }'
	assert_output --partial 'canonical JSON: /a: the number 0.5 is not an integer'
	run -0 nixraw '(import (lib + "/canonical-json.nix")).toCanonicalJSON [ 2.0 1000000.0 0.0 (-3) ]'
	assert_output '[2,1000000,0,-3]'
	# integers beyond 2^53-1: RFC 8785 rounds them to doubles, Nix does not
	run -1 nixraw '(import (lib + "/canonical-json.nix")).toCanonicalJSON { n = 9007199254740993; }'
	assert_output --partial 'outside +-(2^53-1)'
	# keys: UTF-8 byte order is not UTF-16 order outside ASCII: refused
	run -1 nixraw '(import (lib + "/canonical-json.nix")).toCanonicalJSON { "é" = 1; }'
	assert_output --partial 'is not printable ASCII'
}

@test "an IR with a \\u0000 escape is refused by ir-lower (fromJSON would cut the string)" {
	jq '.apps[0].entrypoints[0].module = "ap\u0000p"' "$MVM_ROOT/t/data/seed-ir.json" >"$W/nul-ir.json"
	run -1 ir-lower "$W/nul-ir.json"
	assert_output --partial '/apps/0/entrypoints/0/module'
}

@test "mkGuest keeps PID 1 apart from the per-call runner (upstream bug #537)" {
	run -0 nixev '(w "seed").buildCommand'
	script=$(jq -r . <<<"$output")
	[[ $script == *'ln -sf ../usr/bin/mvm-agent "$tree/sbin/init"'* ]]
	[[ $script == *'/bin/mvm-agent "$tree/usr/bin/mvm-agent"'* ]]
	# /etc/mvm/entrypoint is installed as a file and never run at boot
	[ "$(grep -c 'etc/mvm/entrypoint' <<<"$script")" = 1 ]
	run -1 nixev 'mvm.mkGuest { name = "x"; extraFiles."/sbin/init" = { content = "#!/bin/sh\n"; }; }'
	assert_output --partial "mkGuest: extraFiles may not provide /sbin/init"
	run -1 nixev 'mvm.mkGuest { name = "x"; extraFiles."/etc/mvm/entrypoint" = { content = "ln -s /x /app; exec sleep infinity\n"; }; }'
	assert_output --partial "mkGuest: /etc/mvm/entrypoint must hold the runner's absolute path"
	# init is the agent called as init (agent/init*.c), which never reads /etc/mvm/entrypoint
	run -1 grep -c 'etc/mvm/entrypoint' <(cat "$MVM_ROOT/agent/init.c" "$MVM_ROOT/agent/initdev.c")
	assert_output 0
}

@test "the app source defaults to source.path beside the IR, selected by include/exclude as the Debian backend does" {
	mkdir -p "$W/g/src/sub" "$W/g/src/tests"
	echo a >"$W/g/src/app.py"; echo b >"$W/g/src/sub/m.py"; echo c >"$W/g/src/tests/t.py"; echo d >"$W/g/src/notes.txt"
	echo e >"$W/g/src/x.pyc"
	jq '.apps[0].source.include = ["**/*.py", "notes.???"] | .apps[0].source.exclude = ["tests/**"]' \
		"$MVM_ROOT/t/data/seed-ir.json" >"$W/g/glob-ir.json"
	ir-lower "$W/g/glob-ir.json" >"$W/g/glob-lowered.json"
	run -0 nixev "let x = mvm.mkFunctionWorkload { loweredFile = /. + \"$W/g/glob-lowered.json\"; }; in
		{ app = builtins.match \".*-(hello-src)\" (baseNameOf (toString x.mvmFactory.service.app));
		  sel = builtins.filter x.mvmSelectsSource [ \"app.py\" \"sub/m.py\" \"tests/t.py\" \"notes.txt\" \"x.pyc\" ]; }"
	assert_output '{"app":["hello-src"],"sel":["app.py","sub/m.py","notes.txt"]}'
	# the same selection in the Debian image
	img=$("$MVM_ROOT/libexec/mvm-build-rootfs" -q --kernel "$(cat "$W/seed.img")/vmlinux" -o "$IMAGES" "$W/g/glob-ir.json")
	run -0 dbg 'ls -p /app' "$img/rootfs.ext4"
	files=$(tr '/' '\n' <<<"$output" | grep -E '^[a-z].*\.' | sort | tr '\n' ' ')
	[ "$files" = "app.py notes.txt " ] || fail "Debian's /app: $files"
	run -0 dbg 'ls -p /app/sub' "$img/rootfs.ext4"
	[[ $output == */m.py/* ]]
	run -0 dbg 'ls -p /app/tests' "$img/rootfs.ext4"
	[[ $output != */t.py/* ]]
}

@test "the flake exposes lib.<system>.{mkFunctionWorkload, mkFunctionService, mkGuest}" {
	run -0 nix-instantiate --store dummy:// --parse "$MVM_ROOT/nix/flake.nix"
	run -0 nixev 'let f = import (lib + "/../flake.nix");
		o = f.outputs { self = o; nixpkgs.legacyPackages.x86_64-linux = import (/. + "'"$MVM_ROOT"'/t/data/nix/stub-pkgs.nix"); };
		l = o.lib.x86_64-linux;
	in { names = builtins.attrNames l; rt = (l.mkFunctionWorkload { loweredFile = /. + "'"$W"'/seed-lowered.json"; }).mvmFactory.runtimeConfig.language;
		inputs = f.inputs.nixpkgs.url; hello = o.packages.x86_64-linux.hello.passthru.mvm.ir_hash; }'
	assert_output "{\"hello\":\"$(ir-hash "$MVM_ROOT/t/data/seed-ir.json")\",\"inputs\":\"github:NixOS/nixpkgs/nixos-25.11\",\"names\":[\"mkFunctionService\",\"mkFunctionWorkload\",\"mkGuest\"],\"rt\":\"python\"}"
	# the flake's hello package reads a committed lowering: it is ir-lower's
	ir-lower "$MVM_ROOT/t/data/seed-ir.json" | cmp - "$MVM_ROOT/t/data/nix/seed-lowered.json"
}

@test "mvm-build-nix: without a nixpkgs it exits 4 and says what to do" {
	# looking nixpkgs up must not create a store: a NIX_STATE_DIR that would be made shows it
	export NIX_STATE_DIR="$BATS_TEST_TMPDIR/state"
	run -4 env -u NIX_PATH MVM_NIXPKGS= "$MVM_ROOT/libexec/mvm-build-nix" "$W/seed-ir.json"
	assert_output "mvm-build-nix: no nixpkgs: set MVM_NIXPKGS to a nixpkgs source tree (or NIX_PATH=nixpkgs=DIR); it is not fetched. Build with the Debian backend instead (mvm-build --backend debian)"
	run -4 env -u NIX_PATH MVM_NIXPKGS= "$MVM_ROOT/libexec/mvm-build-nix" --probe
	run -4 env MVM_NIXPKGS="$BATS_TEST_TMPDIR/nowhere" "$MVM_ROOT/libexec/mvm-build-nix" --probe
	run -2 "$MVM_ROOT/libexec/mvm-build-nix"
	assert_output --partial 'usage: mvm-build-nix'
	# no nix at all
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	for t in bash env dirname jq; do ln -s "$(command -v $t)" "$BATS_TEST_TMPDIR/bin/$t"; done
	run -4 env PATH="$BATS_TEST_TMPDIR/bin" "$MVM_ROOT/libexec/mvm-build-nix" "$W/seed-ir.json"
	assert_output --partial 'mvm-build-nix: nix is not installed (Debian: apt-get install nix-bin)'
	[ ! -e "$NIX_STATE_DIR" ]
}

@test "the long form (mkFunctionService + mkGuest by hand) of nix/README.md evaluates" {
	run -0 nixev 'let g = import (/. + "'"$MVM_ROOT"'/t/data/nix/long-form.nix") {
			inherit mvm; pkgs = import (/. + "'"$MVM_ROOT"'/t/data/nix/stub-pkgs.nix");
			loweredFile = /. + "'"$W"'/concurrency-lowered.json"; appPkg = /. + "'"$MVM_ROOT"'/examples/hello/src"; };
		in { meta = g.passthru.mvm; script = builtins.stringLength g.buildCommand > 0;
		     curl = builtins.any (p: p.name or "" == "curl") g.mvmPackages; motd = g.mvmFiles."/etc/motd".content; }'
	assert_output "{\"curl\":true,\"meta\":{\"accessible\":false,\"agent_binary\":\"/usr/bin/mvm-agent\",\"backend\":\"nix\",\"entrypointKind\":\"function\",\"expected_boot_ms\":1000,\"init_system\":\"mvm-agent\",\"initrd_present\":false,\"ir_hash\":\"$(ir-hash "$W/concurrency-ir.json")\",\"name\":\"hello\",\"rootless_entrypoint\":true,\"runner\":\"longrunning\",\"sealed\":true,\"vmlinux_present\":true},\"motd\":\"hello\\n\",\"script\":true}"
	run -0 nixraw 'let svc = mvm.mkFunctionService { lowered = builtins.fromJSON (builtins.readFile (/. + "'"$W"'/concurrency-lowered.json")); };
		in svc.extraFiles."/etc/mvm/runtime.json".content'
	assert_output "$(jq -j '.files["/etc/mvm/runtime.json"].content' "$W/concurrency-lowered.json")"
}

@test "passthru.mvm plus what the build adds is a valid mvm-meta.json (schemas/mvm-meta.schema.json)" {
	[ -r "$MVM_ROOT/schemas/mvm-meta.schema.json" ] || skip "no schemas/mvm-meta.schema.json yet"
	run -0 nixev '(w "concurrency").passthru.mvm'
	# what mk-guest.nix's builder and libexec/mvm-build-nix add
	jq -c --arg k "$(printf x | sha256sum | cut -c1-64)" \
		'. + {build_key: $k, rootfs_size_mb: 40, artifacts: {"rootfs.ext4": $k, vmlinux: $k}}' \
		<<<"$output" >"$BATS_TEST_TMPDIR/meta.json"
	/usr/bin/python3 -c '
import json, sys, jsonschema
s = json.load(open(sys.argv[1])); m = json.load(open(sys.argv[2]))
jsonschema.Draft202012Validator(s).validate(m)' "$MVM_ROOT/schemas/mvm-meta.schema.json" "$BATS_TEST_TMPDIR/meta.json"
	# and the Debian image's, for the same IR, has the same keys (but its
	# dm-verity root, which the Nix backend does not make yet)
	run -0 jq -c 'keys' "$BATS_TEST_TMPDIR/meta.json"
	assert_output "$(jq -c 'del(.verity) | keys' "$(meta concurrency)")"
}

@test "mkGuest's builder script, run on the host with stand-ins for the store, makes the Debian image's /etc/mvm" {
	# nixpkgs cannot be had, so the script is run here by bash with host tools:
	# the stub's outputs live in $S (MVM_STUB_OUT) and nix copies the repo's
	# files into a private store (read-write mode, NIX_STORE_DIR in the test dir).
	S="$BATS_TEST_TMPDIR/stub"
	mkdir -p "$S"
	for f in seed node typescript; do
		rm -rf "$S" "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/b"
		mkdir -p "$S" "$BATS_TEST_TMPDIR/b"
		run -0 env MVM_STUB_OUT="$S" NIX_STORE_DIR="$BATS_TEST_TMPDIR/store" NIX_STATE_DIR="$BATS_TEST_TMPDIR/state" \
			NIX_LOG_DIR="$BATS_TEST_TMPDIR/log" nix-instantiate --read-write-mode --eval --strict --json -E "$(nixexpr "
			let g = w \"$f\"; ef = g.mvmFactory.extraFiles; in {
			  script = g.buildCommand; meta = g.metaJson;
			  files = map (p: { name = \"mvm-\" + baseNameOf p; inherit (ef.\${p}) content; })
			    (builtins.filter (p: ef.\${p} ? content) (builtins.attrNames ef)); }")"
		echo "$output" >"$BATS_TEST_TMPDIR/eval.json"
		jq -r .script "$BATS_TEST_TMPDIR/eval.json" >"$BATS_TEST_TMPDIR/build.sh"
		jq -j .meta "$BATS_TEST_TMPDIR/eval.json" >"$BATS_TEST_TMPDIR/meta.in"
		n=$(jq '.files | length' "$BATS_TEST_TMPDIR/eval.json")
		for i in $(seq 0 $((n - 1))); do
			jq -j ".files[$i].content" "$BATS_TEST_TMPDIR/eval.json" >"$S/$(jq -r ".files[$i].name" "$BATS_TEST_TMPDIR/eval.json")"
		done
		mkdir -p "$S"/{busybox-static,mvm-agent-0.1,python3-3.12-env,nodejs-22,mvm-vmlinux,closure-info,node-modules-node,node-modules-typescript}/bin "$S/some-store-path"
		ln -s /bin/busybox "$S/busybox-static/bin/busybox"
		ln -s "$MVM_ROOT/agent/mvm-agent" "$S/mvm-agent-0.1/bin/mvm-agent"
		ln -s /usr/bin/python3 "$S/python3-3.12-env/bin/python3"
		ln -s "$(command -v node)" "$S/nodejs-22/bin/node"
		cp "$(cat "$W/seed.img")/vmlinux" "$S/mvm-vmlinux/vmlinux"
		echo "$S/some-store-path" >"$S/closure-info/store-paths"
		ln -s "$MVM_ROOT/agent/wrappers/node/node_modules" "$S/node-modules-node/node_modules"
		ln -s "$MVM_ROOT/sdk/typescript/node_modules" "$S/node-modules-typescript/node_modules"
		(cd "$BATS_TEST_TMPDIR/b" && out="$BATS_TEST_TMPDIR/out" metaJsonPath="$BATS_TEST_TMPDIR/meta.in" \
			bash -euo pipefail "$BATS_TEST_TMPDIR/build.sh") || fail "$f: the builder script failed"
		R="$BATS_TEST_TMPDIR/out/rootfs.ext4"
		e2fsck -fn "$R" >/dev/null 2>&1 || fail "$f: e2fsck"
		d=$f
		for p in /etc/mvm/runtime.json /etc/mvm/wrapper.json /etc/mvm/entrypoint /usr/lib/mvm/wrappers/runner \
			/sbin/init /usr/bin/mvm-agent /etc/passwd /etc/group /etc/hostname /app/app.py /app/app.ts; do
			cmp <(dbg "cat $p" "$R") <(dbg "cat $p" "$(img "$d")") || fail "$f: $p differs from the Debian image's"
			# (the Debian image's /etc/hostname is 0755: mmdebstrap's, not a contract)
			[ "$p" = /etc/hostname ] || [ "$(mode_of "$p" "$R")" = "$(mode_of "$p" "$(img "$d")")" ] ||
				fail "$f: $p: mode $(mode_of "$p" "$R"), $(mode_of "$p" "$(img "$d")") in the Debian image"
			run -0 debugfs -R "stat $p" "$R"
			[[ $output == *"User:     0   Group:     0"* ]] || fail "$f: $p is not root's: $(grep User <<<"$output")"
		done
		run -0 dbg 'stat /usr/local/bin' "$R"
		if [ "$f" = typescript ]; then
			# the app's .ts compiled to .mjs by libexec/mvm-strip-types, as in the Debian image
			run -0 dbg 'cat /app/app.mjs' "$R"
			[ -n "$output" ] || fail "typescript: no /app/app.mjs"
			cmp <(dbg 'cat /app/app.mjs' "$R") <(dbg 'cat /app/app.mjs' "$(img typescript)")
		fi
		# mvm-meta.json: the Debian image's keys less build_key, which mvm-build-nix
		# adds, and verity, which the Nix backend does not make yet
		jq -e . "$BATS_TEST_TMPDIR/out/mvm-meta.json" >/dev/null
		[ "$(jq -c 'keys' "$BATS_TEST_TMPDIR/out/mvm-meta.json")" = "$(jq -c "del(.build_key, .verity) | keys" "$(meta "$d")")" ] ||
			fail "$f: mvm-meta.json keys: $(jq -c keys "$BATS_TEST_TMPDIR/out/mvm-meta.json")"
		[ "$(jq -r '.artifacts["rootfs.ext4"]' "$BATS_TEST_TMPDIR/out/mvm-meta.json")" = "$(sha256sum <"$R" | cut -c1-64)" ]
		# reproducible: a second run of the script gives the same image
		if [ "$f" = seed ]; then
			sha=$(sha256sum <"$R")
			rm -rf "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/b"
			mkdir -p "$BATS_TEST_TMPDIR/b"
			sleep 1
			(cd "$BATS_TEST_TMPDIR/b" && out="$BATS_TEST_TMPDIR/out" metaJsonPath="$BATS_TEST_TMPDIR/meta.in" \
				bash -euo pipefail "$BATS_TEST_TMPDIR/build.sh") || fail "the second run failed"
			[ "$(sha256sum <"$R")" = "$sha" ] || fail "two runs of the builder script gave different images"
		fi
	done
}

@test "mvm-build-nix: with a nixpkgs (the stub), --probe succeeds and ir-lower's refusal is exit 1" {
	mkdir -p "$BATS_TEST_TMPDIR/nixpkgs"
	printf '{ ... }: import (/. + "%s/t/data/nix/stub-pkgs.nix")\n' "$MVM_ROOT" >"$BATS_TEST_TMPDIR/nixpkgs/default.nix"
	export MVM_NIXPKGS="$BATS_TEST_TMPDIR/nixpkgs" NIX_STORE_DIR="$BATS_TEST_TMPDIR/store" \
		NIX_STATE_DIR="$BATS_TEST_TMPDIR/state" NIX_LOG_DIR="$BATS_TEST_TMPDIR/log"
	run -0 "$MVM_ROOT/libexec/mvm-build-nix" --probe
	assert_output ''
	cp "$MVM_ROOT/t/data/nix/oci-ir.json" "$W/"
	run -1 "$MVM_ROOT/libexec/mvm-build-nix" -q -o "$BATS_TEST_TMPDIR/images" "$W/oci-ir.json"
	assert_output --partial "ir-lower: $W/oci-ir.json: E_NOT_SUPPORTED at /apps/0/image/kind: image kind \"oci_base\" is not supported by this backend yet"
	assert_output --partial "mvm-build-nix: $W/oci-ir.json: the IR cannot be built (see above)"
	# an egress allowlist (issue #16): lowered, but not built by nix/lib: refused
	jq '.apps[0].network = {"mode": "none", "egress": {"allowlist": [{"host": "127.0.0.1", "port": 8080}]}}' \
		"$W/seed-ir.json" >"$W/egress-ir.json"
	run -1 "$MVM_ROOT/libexec/mvm-build-nix" -q -o "$BATS_TEST_TMPDIR/images" "$W/egress-ir.json"
	assert_output "mvm-build-nix: $W/egress-ir.json: /apps/0/network/egress is not supported by the nix backend yet (use --backend debian)"
	# mvm-build: --backend nix runs it, and so does auto, whose probe now succeeds
	run -1 mvm-build --backend nix -q -o "$BATS_TEST_TMPDIR/images" "$W/oci-ir.json"
	assert_line "mvm-build-nix: $W/oci-ir.json: the IR cannot be built (see above)"
	run -1 mvm-build -q -o "$BATS_TEST_TMPDIR/images" "$W/oci-ir.json"
	assert_line "mvm-build-nix: $W/oci-ir.json: the IR cannot be built (see above)"
	MVM_NIXPKGS= run -1 env -u NIX_PATH "$MVM_ROOT/bin/mvm-build" -q --kernel /dev/null -o "$BATS_TEST_TMPDIR/images" "$W/oci-ir.json"
	assert_line "mvm-build-rootfs: $W/oci-ir.json: the IR cannot be built (see above)"
	[ ! -e "$BATS_TEST_TMPDIR/images" ] || [ -z "$(ls -A "$BATS_TEST_TMPDIR/images")" ]
}

@test "no test created /nix (every evaluation used a dummy or private store)" {
	[ "$(cat "$W/had-nix")" = yes ] || [ ! -e /nix ] || fail "/nix was created by a test"
}
