#!/usr/bin/env bats
# mvm-deps, Node: pnpm-lock.yaml v9 and yarn.lock v1 beside npm's lockfile.
# No network and no VM: tarballs are served from t/data/deps/registry (and
# ones the tests pack) on 127.0.0.1; the volume is read back with debugfs(8)
# and Node's own resolver runs against the copy.

load helper

DEPS="$MVM_ROOT/t/data/deps"
TGZ="$DEPS/registry/ms/-/ms-2.1.3.tgz"

setup_file() {
	cp -r "$DEPS/registry" "$BATS_FILE_TMPDIR/reg"
	python3 "$DEPS/serve.py" "$BATS_FILE_TMPDIR/reg" "$BATS_FILE_TMPDIR/port" 3>&- &
	echo $! >"$BATS_FILE_TMPDIR/pid"
	for _ in $(seq 50); do [ -s "$BATS_FILE_TMPDIR/port" ] && break; sleep 0.1; done
}

teardown_file() {
	kill "$(cat "$BATS_FILE_TMPDIR/pid")" 2>/dev/null || true
}

setup() {
	REG="http://127.0.0.1:$(cat "$BATS_FILE_TMPDIR/port")/"
	export npm_config_registry=$REG
	cd "$BATS_TEST_TMPDIR"
}

# proj DIR TOOL LOCKFILE: an IR in DIR whose source is DIR/src.
proj() {
	mkdir -p "$1/src"
	printf '{"schema_version":"0.1","id":"t","apps":[{"name":"t","source":{"kind":"local_path","path":"src"},"dependencies":{"kind":"node","tool":"%s","lockfile":"%s"}}]}' \
		"$2" "$3" >"$1/ir.json"
}

# lock TOOL DIR: the committed real lockfile of `ms` for TOOL in DIR.
lock() {
	case $1 in
	npm) proj "$2" npm package-lock.json; cp "$DEPS/package.json" "$DEPS/package-lock.json" "$2/src/" ;;
	pnpm) proj "$2" pnpm pnpm-lock.yaml; cp "$DEPS/pnpm/package.json" "$DEPS/pnpm/pnpm-lock.yaml" "$2/src/" ;;
	yarn) proj "$2" yarn yarn.lock; cp "$DEPS/yarn/package.json" "$DEPS/yarn/yarn.lock" "$2/src/" ;;
	esac
}

# unpack DIR OUT: the volume's node_modules, read with debugfs, into OUT.
unpack() {
	mkdir -p "$2"
	debugfs -R "rdump /node_modules $2" "$(ls "$1"/*/deps.ext4)" 2>/dev/null
}

@test "ms locked by npm, pnpm and yarn: each volume's node_modules answers require('ms')" {
	for t in npm pnpm yarn; do
		lock $t $t
		run -0 mvm-deps -c cache-$t $t/ir.json
		unpack cache-$t $t/vol
		# ms's README: ms('2h') is 7200000, ms(60000) is "1m"
		(cd $t/vol && node -e 'const ms = require("ms"); console.log(ms("2h"), ms(60000))') >$t/answer
		[ "$(cat $t/answer)" = "7200000 1m" ]
		tar -xzOf "$TGZ" package/index.js | cmp - $t/vol/node_modules/ms/index.js
		run -0 jq -c '[.components[0].purl,.components[0].hashes[0].content]' cache-$t/*/sbom.cdx.json
		assert_output "[\"pkg:npm/ms@2.1.3\",\"$(sha512sum "$TGZ" | cut -c1-128)\"]"
		run -0 jq -c '[.tool,.packages]' cache-$t/*/deps-meta.json
		assert_output "[\"$t\",[{\"name\":\"ms\",\"path\":\"node_modules/ms\",\"version\":\"2.1.3\"}]]"
		# yarn's registry.yarnpkg.com and pnpm's name@version both go to the configured registry
		run -0 cat cache-$t/*/fetch.log
		assert_output "{\"package\":\"ms@2.1.3\",\"url\":\"${REG}ms/-/ms-2.1.3.tgz\",\"ok\":true}"
	done
	# the same node_modules tree, file for file
	diff -r npm/vol pnpm/vol
	diff -r npm/vol yarn/vol
}

# pkg NAME VER [DEP@VER]...: a package in the served registry whose index.js
# reports its id and requires its dependencies; its yarn.lock entry, pnpm
# packages and snapshots entries appended to y.txt, pk.txt and sn.txt.
pkg() {
	local n=$1 v=$2 d deps='' req='' yd='' pd=''
	shift 2
	for d in "$@"; do
		deps="$deps${deps:+,}\"${d%@*}\":\"${d#*@}\""
		req="$req${req:+,}\"${d%@*}\":require(\"${d%@*}\")"
		yd="$yd    ${d%@*} \"${d#*@}\"\n"
		pd="$pd      ${d%@*}: ${d#*@}\n"
	done
	mkdir -p "src-$n-$v/package" "$BATS_FILE_TMPDIR/reg/$n/-"
	printf '{"name":"%s","version":"%s","dependencies":{%s}}' "$n" "$v" "$deps" >"src-$n-$v/package/package.json"
	printf 'exports.id = "%s@%s"; exports.deps = () => ({%s});\n' "$n" "$v" "$req" >"src-$n-$v/package/index.js"
	tar -czf "$BATS_FILE_TMPDIR/reg/$n/-/$n-$v.tgz" -C "src-$n-$v" package
	local sri
	sri="sha512-$(openssl dgst -sha512 -binary "$BATS_FILE_TMPDIR/reg/$n/-/$n-$v.tgz" | base64 -w0)"
	printf '\n%s@%s:\n  version "%s"\n  resolved "https://registry.yarnpkg.com/%s/-/%s-%s.tgz"\n  integrity %s\n' \
		"$n" "$v" "$v" "$n" "$n" "$v" "$sri" >>y.txt
	[ -z "$yd" ] || printf '  dependencies:\n%b' "$yd" >>y.txt
	printf '  %s@%s:\n    resolution: {integrity: %s}\n\n' "$n" "$v" "$sri" >>pk.txt
	if [ -z "$pd" ]; then printf '  %s@%s: {}\n\n' "$n" "$v" >>sn.txt; else printf '  %s@%s:\n    dependencies:\n%b\n' "$n" "$v" "$pd" >>sn.txt; fi
}

@test "a tree npm would nest: one layout from yarn and pnpm, and Node resolves every locked version" {
	printf '# yarn lockfile v1\n' >y.txt
	: >pk.txt
	: >sn.txt
	pkg a 1.0.0 c@1.0.0
	pkg b 1.0.0 c@2.0.0
	pkg c 1.0.0
	pkg c 2.0.0
	pkg w 1.0.0
	pkg w 2.0.0
	pkg x 1.0.0 y@1.0.0 z@1.0.0
	pkg y 1.0.0 w@1.0.0
	pkg y 2.0.0
	pkg z 1.0.0 w@2.0.0
	pkg z 2.0.0
	local pj='{"name":"t","version":"1.0.0","dependencies":{"a":"1.0.0","b":"1.0.0","x":"1.0.0","y":"2.0.0","z":"2.0.0"}}'
	proj yp yarn yarn.lock
	echo "$pj" >yp/src/package.json
	cp y.txt yp/src/yarn.lock
	proj pp pnpm pnpm-lock.yaml
	echo "$pj" >pp/src/package.json
	{
		printf "lockfileVersion: '9.0'\n\nimporters:\n\n  .:\n    dependencies:\n"
		for d in a@1.0.0 b@1.0.0 x@1.0.0 y@2.0.0 z@2.0.0; do
			printf '      %s:\n        specifier: %s\n        version: %s\n' "${d%@*}" "${d#*@}" "${d#*@}"
		done
		printf '\npackages:\n\n'
		cat pk.txt
		printf 'snapshots:\n\n'
		cat sn.txt
	} >pp/src/pnpm-lock.yaml
	local want='[a@1.0.0[c@1.0.0[]],b@1.0.0[c@2.0.0[]],x@1.0.0[y@1.0.0[w@1.0.0[]],z@1.0.0[w@2.0.0[]]],y@2.0.0[],z@2.0.0[]]'
	local show='const s = m => m.id + "[" + Object.values(m.deps()).map(s).join(",") + "]";
		console.log("[" + ["a", "b", "x", "y", "z"].map(n => s(require(n))).join(",") + "]")'
	for t in yp pp; do
		run -0 mvm-deps -c cache-$t $t/ir.json
		unpack cache-$t $t/vol
		(cd $t/vol && node -e "$show") >$t/answer
		[ "$(cat $t/answer)" = "$want" ]
		# w@2 under z, not beside y: there it would shadow y's w@1
		run -0 jq -r '[.packages[].path] | join(" ")' cache-$t/*/deps-meta.json
		assert_output "node_modules/a node_modules/b node_modules/b/node_modules/c node_modules/c node_modules/w node_modules/x node_modules/x/node_modules/y node_modules/x/node_modules/z node_modules/x/node_modules/z/node_modules/w node_modules/y node_modules/z"
	done
}

@test "pnpm, yarn: one byte changed in the tarball is an integrity error naming the package; nothing installed" {
	mkdir -p "$BATS_FILE_TMPDIR/reg/bad/ms/-"
	python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[100]^=1; open(sys.argv[2],"wb").write(b)' \
		"$TGZ" "$BATS_FILE_TMPDIR/reg/bad/ms/-/ms-2.1.3.tgz"
	for t in pnpm yarn; do
		lock $t $t
		npm_config_registry=${REG}bad/ run -1 mvm-deps -c cache $t/ir.json
		assert_output "mvm-deps: $t/ir.json: ms@2.1.3: integrity check failed: the fetched artifact's SHA512 is not the lockfile's; nothing installed"
		[ -z "$(ls -A cache)" ]
	done
	# a lockfile integrity changed instead of the tarball: the same refusal
	lock pnpm q
	sed -i 's/integrity: sha512-6F/integrity: sha512-7F/' q/src/pnpm-lock.yaml
	run -1 mvm-deps -c cache q/ir.json
	assert_output "mvm-deps: q/ir.json: ms@2.1.3: integrity check failed: the fetched artifact's SHA512 is not the lockfile's; nothing installed"
}

@test "pnpm, yarn: a package with an install script is refused after it is verified; no package code runs" {
	mkdir -p e/package "$BATS_FILE_TMPDIR/reg/evil/-"
	printf '{"name":"evil","version":"1.0.0","scripts":{"postinstall":"touch %s/ran"}}' "$PWD" >e/package/package.json
	echo 'require("fs").writeFileSync(process.env.HOME + "/ran2", "")' >e/package/index.js
	tar -czf "$BATS_FILE_TMPDIR/reg/evil/-/evil-1.0.0.tgz" -C e package
	local sri
	sri="sha512-$(openssl dgst -sha512 -binary "$BATS_FILE_TMPDIR/reg/evil/-/evil-1.0.0.tgz" | base64 -w0)"
	proj y yarn yarn.lock
	echo '{"dependencies":{"evil":"^1.0.0"}}' >y/src/package.json
	printf '# yarn lockfile v1\n\n\nevil@^1.0.0:\n  version "1.0.0"\n  resolved "https://registry.yarnpkg.com/evil/-/evil-1.0.0.tgz"\n  integrity %s\n' "$sri" >y/src/yarn.lock
	HOME=$PWD run -1 mvm-deps -c cache y/ir.json
	assert_output "mvm-deps: y/ir.json: evil@1.0.0: has an install script (scripts.postinstall in its package.json); mvm-deps never runs package code on the host and refuses it"
	proj p pnpm pnpm-lock.yaml
	echo '{"dependencies":{"evil":"1.0.0"}}' >p/src/package.json
	printf "lockfileVersion: '9.0'\nimporters:\n  .:\n    dependencies:\n      evil:\n        specifier: 1.0.0\n        version: 1.0.0\npackages:\n  evil@1.0.0:\n    resolution: {integrity: %s}\nsnapshots:\n  evil@1.0.0: {}\n" "$sri" >p/src/pnpm-lock.yaml
	HOME=$PWD run -1 mvm-deps -c cache p/ir.json
	assert_output "mvm-deps: p/ir.json: evil@1.0.0: has an install script (scripts.postinstall in its package.json); mvm-deps never runs package code on the host and refuses it"
	[ ! -e ran ] && [ ! -e ran2 ]
	[ -z "$(ls -A cache)" ]
}

@test "malformed yarn.lock and pnpm-lock.yaml: exit 3 with lockfile:line:col" {
	lock yarn y
	# a field indented by three spaces (line 7)
	sed -i 's/^  resolved/   resolved/' y/src/yarn.lock
	run -3 mvm-deps -c cache y/ir.json
	assert_output "mvm-deps: y/ir.json: yarn.lock:7:4: indented by other than 2 or 4 spaces"
	lock yarn y
	sed -i 's/^  version "2.1.3"/  version "2.1.3/' y/src/yarn.lock
	run -3 mvm-deps -c cache y/ir.json
	assert_output "mvm-deps: y/ir.json: yarn.lock:6:11: a string with no closing quote"
	# a dependency that is no entry of the lockfile (line 9)
	lock yarn y
	printf '  dependencies:\n    left-pad "^1.3.0"\n' >>y/src/yarn.lock
	run -3 mvm-deps -c cache y/ir.json
	assert_output "mvm-deps: y/ir.json: yarn.lock:10:5: left-pad@^1.3.0 is not an entry of the lockfile"
	# package.json asks for what yarn.lock does not lock
	lock yarn y
	echo '{"dependencies":{"ms":"^3.0.0"}}' >y/src/package.json
	run -1 mvm-deps -c cache y/ir.json
	assert_output "mvm-deps: y/ir.json: package.json requires ms@^3.0.0, which yarn.lock does not lock (run yarn install)"
	# pnpm: a YAML syntax error, and a dependency with no snapshot
	lock pnpm p
	sed -i 's/^  ms@2.1.3: {}/  ms@2.1.3: {/' p/src/pnpm-lock.yaml
	run -3 mvm-deps -c cache p/ir.json
	assert_output --regexp '^mvm-deps: p/ir\.json: pnpm-lock\.yaml:2[0-9]:[0-9]+: YAML: '
	lock pnpm p
	sed -i 's/^        version: 2.1.3/        version: 2.1.4/' p/src/pnpm-lock.yaml
	run -3 mvm-deps -c cache p/ir.json
	assert_output "mvm-deps: p/ir.json: pnpm-lock.yaml:13:18: ms@2.1.4 is not a key of /snapshots"
	[ -z "$(ls -A cache 2>/dev/null)" ]
}

@test "the key: yarn's covers the package.json beside yarn.lock, pnpm's the lockfile alone (mvm-deps(1))" {
	key_of() { # language tool file...
		python3 -c 'import hashlib,struct,sys
h = hashlib.sha256()
for p in [b"mvm-deps/2", sys.argv[1].encode(), sys.argv[2].encode(), b"cp311-manylinux_2_36_x86_64/node"] + [open(f,"rb").read() for f in sys.argv[3:]]:
    h.update(struct.pack("<Q", len(p)) + p)
print(h.hexdigest())' "$@"
	}
	lock yarn y
	lock pnpm p
	run -0 mvm-deps -c cache y/ir.json
	assert_output --partial "\"key\":\"$(key_of node yarn y/src/yarn.lock y/src/package.json)\""
	run -0 mvm-deps -c cache p/ir.json
	assert_output --partial "\"key\":\"$(key_of node pnpm p/src/pnpm-lock.yaml)\""
	# the same package.json and yarn.lock elsewhere: the same entry
	lock yarn y2
	run -0 mvm-deps -c cache y2/ir.json
	assert_output --partial '"cached":true'
	[ "$(ls cache | wc -l)" -eq 2 ]
}

@test "mvm-deps(1) EXAMPLES: a pnpm-locked volume's node_modules works, without booting anything" {
	lock pnpm p
	cd p
	d=$(mvm-deps ir.json | jq -r .dir)
	mkdir vol && debugfs -R 'rdump /node_modules vol' $d/deps.ext4
	run -0 bash -c "cd vol && node -e 'console.log(require(\"ms\")(\"2h\"))'"
	assert_output 7200000
}

@test "yarn: an optional package for another OS is left out, install script and all; a required one is not" {
	mkdir -p m/package "$BATS_FILE_TMPDIR/reg/mac/-"
	printf '{"name":"mac","version":"1.0.0","os":["darwin"],"scripts":{"postinstall":"touch %s/ran"}}' "$PWD" >m/package/package.json
	tar -czf "$BATS_FILE_TMPDIR/reg/mac/-/mac-1.0.0.tgz" -C m package
	local sri
	sri="sha512-$(openssl dgst -sha512 -binary "$BATS_FILE_TMPDIR/reg/mac/-/mac-1.0.0.tgz" | base64 -w0)"
	lock yarn y
	echo '{"dependencies":{"ms":"2.1.3"},"optionalDependencies":{"mac":"1.0.0"}}' >y/src/package.json
	printf '\nmac@1.0.0:\n  version "1.0.0"\n  resolved "https://registry.yarnpkg.com/mac/-/mac-1.0.0.tgz"\n  integrity %s\n' "$sri" >>y/src/yarn.lock
	run -0 mvm-deps -c cache y/ir.json
	run -0 jq -c '[.packages[].name]' cache/*/deps-meta.json
	assert_output '["ms"]'
	run -0 debugfs -R 'ls -p /node_modules' cache/*/deps.ext4
	assert_output --partial '/ms/'
	refute_output --partial '/mac/'
	[ ! -e ran ]
	# required, the same package is installed only if it has no install script
	echo '{"dependencies":{"ms":"2.1.3","mac":"1.0.0"}}' >y/src/package.json
	run -1 mvm-deps -c cache2 y/ir.json
	assert_output "mvm-deps: y/ir.json: mac@1.0.0: has an install script (scripts.postinstall in its package.json); mvm-deps never runs package code on the host and refuses it"
}
