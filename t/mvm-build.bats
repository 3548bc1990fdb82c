#!/usr/bin/env bats
# mvm-build(1) and its Debian backend, libexec/mvm-build-rootfs.

load helper

BUILD="$MVM_ROOT/libexec/mvm-build-rootfs"

dbg() { debugfs -R "$1" "$2" 2>/dev/null; }   # without debugfs's banner on stderr

setup_file() {
	[ -z "${MVM_SANITIZE:-}" ] || return 0   # setup() skips every test
	echo "# the guest kernel: libexec/mvm-build-kernel (cached; minutes on a fresh machine)" >&3
	KERNEL=$("$MVM_ROOT/libexec/mvm-build-kernel")
	export KERNEL
	# One build shared by the tests that only read it.
	S="$BATS_FILE_TMPDIR/hello"
	mkdir -p "$S"
	cp -R "$MVM_ROOT/examples/hello/src" "$S/"
	# the seed's IR as it is: mvm-build(1)'s EXAMPLES build the same image
	cp "$MVM_ROOT/t/data/seed-ir.json" "$S/ir.json"
	IMG=$(mvm-build --backend debian -q --kernel "$KERNEL" -o "$S/images" "$S/ir.json")
	export S IMG
}

setup() {
	need_guest_agent
}

@test "the hello example builds: rootfs.ext4, vmlinux, mvm-meta.json" {
	[ -s "$IMG/rootfs.ext4" ] && [ -s "$IMG/vmlinux" ] && [ -s "$IMG/mvm-meta.json" ]
	e2fsck -fn "$IMG/rootfs.ext4" >/dev/null 2>&1
	cmp "$KERNEL" "$IMG/vmlinux"
}

@test "/etc/mvm in the image is what the seed's worked example shows, and what ir-lower wrote" {
	# The seed's runtime.json and wrapper.json, as canonical JSON (what Nix's
	# builtins.toJSON writes too): independent text, not the builder's output.
	run -0 dbg 'cat /etc/mvm/runtime.json' "$IMG/rootfs.ext4"
	assert_output '{"format":"json","function":"greet","functions":[{"format":"json","function":"greet","module":"app","name":"greet","primary":true}],"language":"python","module":"app","source_path":"/app"}'
	run -0 dbg 'cat /etc/mvm/wrapper.json' "$IMG/rootfs.ext4"
	assert_output '{"format":"json","function":"greet","mode":"prod","module":"app","working_dir":"/app"}'
	run -0 dbg 'cat /etc/mvm/entrypoint' "$IMG/rootfs.ext4"
	assert_output '/usr/lib/mvm/wrappers/runner'
	ir-lower "$S/ir.json" >"$BATS_TEST_TMPDIR/lowered.json"
	for p in /etc/mvm/runtime.json /etc/mvm/wrapper.json /etc/mvm/fn/0.json /etc/mvm/entrypoint; do
		jq -j --arg p "$p" '.files[$p].content' "$BATS_TEST_TMPDIR/lowered.json" |
			cmp - <(dbg "cat $p" "$IMG/rootfs.ext4") || fail "$p is not ir-lower's"
	done
}

@test "the runner, the agent, init and the app are in place with their modes" {
	stat_of() { debugfs -R "stat $1" "$IMG/rootfs.ext4" 2>/dev/null | sed -n 's/.*Mode: *\([0-7]*\).*/\1/p'; }
	[ "$(stat_of /usr/lib/mvm/wrappers/runner)" = 0555 ]
	[ "$(stat_of /usr/bin/mvm-agent)" = 0755 ]
	# /sbin/init is a link to the agent, which is PID 1 when called as init
	run -0 debugfs -R 'stat /sbin/init' "$IMG/rootfs.ext4"
	assert_output --partial 'Type: symlink'
	assert_output --partial 'Fast link dest: "../usr/bin/mvm-agent"'
	run -0 jq -r .init_system "$IMG/mvm-meta.json"
	assert_output mvm-agent
	run -0 dbg 'cat /app/app.py' "$IMG/rootfs.ext4"
	assert_output "$(cat "$MVM_ROOT/examples/hello/src/app.py")"
	debugfs -R 'cat /usr/lib/mvm/wrappers/runner' "$IMG/rootfs.ext4" 2>/dev/null |
		cmp - "$MVM_ROOT/agent/wrappers/python/oneshot.py"
	run -0 dbg 'cat /etc/passwd' "$IMG/rootfs.ext4"
	assert_line 'mvm-agent:x:990:990:mvm agent:/nonexistent:/bin/false'
	assert_line 'mvm-worker:x:1000:1000:mvm worker:/nonexistent:/bin/false'
	# docs and locales are stripped
	run -0 debugfs -R 'ls /usr/share/doc' "$IMG/rootfs.ext4"
	assert_output --partial 'File not found'
	run -0 debugfs -R 'ls /usr/share/locale' "$IMG/rootfs.ext4"
	assert_output --partial 'File not found'
}

@test "Python bytecode is in the image: hash-based, unchecked, with the image's paths" {
	# (the root is read-only: without it every cold call compiles every import)
	for f in /usr/lib/python3.11/__pycache__/os.cpython-311.pyc \
		/usr/lib/python3.11/json/__pycache__/decoder.cpython-311.pyc \
		/app/__pycache__/app.cpython-311.pyc; do
		dbg "cat $f" "$IMG/rootfs.ext4" >"$BATS_TEST_TMPDIR/x.pyc"
		[ -s "$BATS_TEST_TMPDIR/x.pyc" ] || fail "$f is missing"
		# PEP 552: flags 1 = hash-based, source not checked; then the code's file name
		run -0 /usr/bin/python3 -c '
import importlib.util, marshal, sys
b = open(sys.argv[1], "rb").read()
assert b[:4] == importlib.util.MAGIC_NUMBER, "magic"
print(int.from_bytes(b[4:8], "little"), marshal.loads(b[16:]).co_filename)' "$BATS_TEST_TMPDIR/x.pyc"
		assert_output "1 ${f%/__pycache__/*}/$(basename "${f%%.cpython-311.pyc}").py"
	done
}

@test "mvm-meta.json: the seed's fields, the IR hash, the artifacts' SHA-256, the dm-verity root" {
	m="$IMG/mvm-meta.json"
	ir-canon "$m" | cmp - "$m"
	for k in name accessible sealed entrypointKind init_system expected_boot_ms agent_binary \
		rootless_entrypoint vmlinux_present initrd_present ir_hash backend; do
		jq -e "has(\"$k\")" "$m" >/dev/null || fail "no $k"
	done
	[ "$(jq -r .ir_hash "$m")" = "$(ir-hash "$S/ir.json")" ]
	[ "$(jq -r '.artifacts["rootfs.ext4"]' "$m")" = "$(sha256sum <"$IMG/rootfs.ext4" | cut -c1-64)" ]
	[ "$(jq -r .artifacts.vmlinux "$m")" = "$(sha256sum <"$IMG/vmlinux" | cut -c1-64)" ]
	[ "$(jq -r .backend "$m")" = debian ]
	# the dm-verity root (mvm-meta(5)): the salt is the file system's own
	# SHA-256, and cryptsetup's veritysetup, reading every block, agrees
	# with the root hash; the file system alone checks clean
	n=$(jq .verity.data_blocks "$m")
	[ "$(jq .verity.hash_start_block "$m")" = "$n" ]
	[ "$(jq -r .verity.salt "$m")" = "$(head -c $((n * 4096)) "$IMG/rootfs.ext4" | sha256sum | cut -c1-64)" ]
	run -0 veritysetup verify --no-superblock --hash-offset=$((n * 4096)) --data-blocks="$n" \
		--salt="$(jq -r .verity.salt "$m")" "$IMG/rootfs.ext4" "$IMG/rootfs.ext4" \
		"$(jq -r .verity.root_hash "$m")"
	head -c $((n * 4096)) "$IMG/rootfs.ext4" >"$BATS_TEST_TMPDIR/fs.ext4"
	e2fsck -fn "$BATS_TEST_TMPDIR/fs.ext4" >/dev/null 2>&1
	# and it is what schemas/mvm-meta.schema.json says (an independent validator)
	/usr/bin/python3 -c 'import json, sys, jsonschema
jsonschema.Draft202012Validator(json.load(open(sys.argv[1]))).validate(json.load(open(sys.argv[2])))' \
		"$MVM_ROOT/schemas/mvm-meta.schema.json" "$m"
}

@test "the same inputs: the cached image is reused, not rebuilt" {
	before=$(stat -c %Y "$IMG/rootfs.ext4")
	run -0 --separate-stderr "$BUILD" --kernel "$KERNEL" -o "$S/images" "$S/ir.json"
	assert_output "$IMG"
	[[ "$stderr" == *"cached: "* ]]
	[ "$(stat -c %Y "$IMG/rootfs.ext4")" = "$before" ]
	[ "$(readlink "$S/images/current")" = "$(basename "$IMG")" ]
}

@test "any input change gives another key: the IR, and the app's source" {
	k1=$("$BUILD" --print-key --kernel "$KERNEL" "$S/ir.json")
	[ "$k1" = "$(basename "$IMG")" ]
	jq '.apps[0].resources.memory_mb = 512' "$S/ir.json" >"$S/ir2.json"
	k2=$("$BUILD" --print-key --kernel "$KERNEL" "$S/ir2.json")
	[ "$k1" != "$k2" ]
	cp -R "$S" "$BATS_TEST_TMPDIR/s"
	echo '# changed' >>"$BATS_TEST_TMPDIR/s/src/app.py"
	k3=$("$BUILD" --print-key --kernel "$KERNEL" "$BATS_TEST_TMPDIR/s/ir.json")
	[ "$k1" != "$k3" ]
}

@test "two clean builds of the same inputs are bit-identical" {
	d=$BATS_TEST_TMPDIR/again
	img2=$("$BUILD" -q --kernel "$KERNEL" -C "$S" -o "$d" "$S/ir.json")
	[ "$(basename "$img2")" = "$(basename "$IMG")" ]
	cmp "$IMG/rootfs.ext4" "$img2/rootfs.ext4"
	cmp "$IMG/mvm-meta.json" "$img2/mvm-meta.json"
}

@test "include/exclude globs select the source" {
	d=$BATS_TEST_TMPDIR/g
	mkdir -p "$d/src/pkg" "$d/src/tests"
	echo 'x = 1' >"$d/src/app.py"
	echo 'y = 2' >"$d/src/pkg/mod.py"
	echo 'junk' >"$d/src/pkg/mod.pyc"
	echo 't' >"$d/src/tests/test_app.py"
	jq '.apps[0].source.include = ["**/*.py"] | .apps[0].source.exclude = ["tests/**", "**/*.pyc"]' \
		"$S/ir.json" >"$d/ir.json"
	img=$("$BUILD" -q --kernel "$KERNEL" -o "$d/images" "$d/ir.json")
	run -0 dbg 'cat /app/pkg/mod.py' "$img/rootfs.ext4"
	assert_output 'y = 2'
	run -0 dbg 'ls -p /app/pkg' "$img/rootfs.ext4"
	refute_output --partial 'mod.pyc'
	run -0 dbg 'ls -p /app' "$img/rootfs.ext4"
	refute_output --partial 'tests'
}

@test "what the SDK's default excludes name stays out of the image (.git, .mvm, node_modules, __pycache__, .env*)" {
	d=$BATS_TEST_TMPDIR/h
	mkdir -p "$d/src/pkg" "$d/src/.git/refs" "$d/src/.mvm/image" "$d/src/node_modules/m" \
		"$d/src/__pycache__" "$d/src/pkg/__pycache__"
	echo 'x = 1' >"$d/src/app.py"
	echo 'y = 2' >"$d/src/pkg/mod.py"
	echo 'SECRET=hunter2' >"$d/src/.env"
	echo 'SECRET=hunter3' >"$d/src/pkg/.env.local"
	echo '[core]' >"$d/src/.git/config"
	echo 'ref' >"$d/src/.git/refs/main"
	echo 'old image' >"$d/src/.mvm/image/rootfs.ext4"
	echo 'module.exports = 1' >"$d/src/node_modules/m/index.js"
	echo 'junk' >"$d/src/__pycache__/app.cpython-311.pyc"
	echo 'junk' >"$d/src/pkg/__pycache__/mod.cpython-311.pyc"
	cat >"$d/entry.py" <<-'PY'
	import mvm
	@mvm.app(name="hello", source=mvm.source.local("./src"), image=mvm.image.nix_packages(["python3"]),
	         resources=mvm.resources(vcpus=1, memory_mb=256), dependencies=mvm.deps.none())
	@mvm.function(language="python", module="app", function="greet", format="json", primary=True)
	def greet(name): ...
	PY
	mvm-emit -o "$d/ir.json" "$d/entry.py"
	img=$("$BUILD" -q --kernel "$KERNEL" -o "$d/images" "$d/ir.json")
	# every file under /app, from the image (rdump copies the tree out)
	mkdir "$d/out"
	debugfs -R "rdump /app $d/out" "$img/rootfs.ext4" 2>/dev/null
	run -0 bash -c 'cd "$1/out/app" && find . -type f ! -name "*.pyc" | LC_ALL=C sort' _ "$d"
	assert_output $'./app.py\n./pkg/mod.py'
	# (the builder's own bytecode is compiled into /app/__pycache__, not copied)
	run -1 grep -rl -e hunter -e '\[core\]' -e 'old image' -e junk "$d/out"
}

@test "a symbolic link to /etc/passwd in src/: status 1, E_SOURCE_OUT_OF_TREE_SYMLINK with the path, nothing quoted, nothing behind" {
	d=$BATS_TEST_TMPDIR/l
	mkdir -p "$d/src/conf"
	cp "$S/src/app.py" "$d/src/"
	ln -s /etc/passwd "$d/src/conf/users"
	ln -s ../app.py "$d/src/conf/inside"   # a link inside the tree is fine
	cp "$S/ir.json" "$d/ir.json"
	run -1 "$BUILD" --kernel "$KERNEL" -o "$d/images" "$d/ir.json"
	assert_output --partial "E_SOURCE_OUT_OF_TREE_SYMLINK: conf/users"
	refute_output --partial "root:"
	[ -z "$(ls -A "$d/images" 2>/dev/null)" ]
	# a directory link leaving the tree, and a source path leaving the declaration's directory
	rm "$d/src/conf/users"
	ln -s /etc "$d/src/etc"
	run -1 "$BUILD" --kernel "$KERNEL" -o "$d/images" "$d/ir.json"
	assert_output --partial "E_SOURCE_OUT_OF_TREE_SYMLINK: etc"
	rm "$d/src/etc"
	jq '.apps[0].source.path = "../src"' "$S/ir.json" >"$d/ir2.json"
	mkdir "$d/decl"
	mv "$d/ir2.json" "$d/decl/ir.json"
	run -1 "$BUILD" --kernel "$KERNEL" -o "$d/images" "$d/decl/ir.json"
	assert_output --partial "/apps/0/source/path: E_SOURCE_OUT_OF_TREE"
	[ -z "$(ls -A "$d/images" 2>/dev/null)" ]
}

@test "an unknown package: status 1, names the file to edit, leaves nothing behind" {
	d=$BATS_TEST_TMPDIR/u
	mkdir -p "$d"
	cp -R "$S/src" "$d/"
	jq '.apps[0].image.packages = ["python3", "no-such-pkg"]' "$S/ir.json" >"$d/ir.json"
	run -1 "$BUILD" --kernel "$KERNEL" -o "$d/images" "$d/ir.json"
	assert_output --partial 'no Debian mapping for "no-such-pkg"'
	assert_output --partial 'mk/debian-packages.txt'
	[ -z "$(ls -A "$d/images" 2>/dev/null)" ]
}

@test "mk/debian-packages.txt: at least 50 names, and every Debian package it names is in the archive" {
	local map=$MVM_ROOT/mk/debian-packages.txt p missing=
	[ "$(grep -cE '^[A-Za-z0-9_.+-]+:' "$map")" -ge 50 ]
	apt-cache show coreutils >/dev/null 2>&1 ||
		skip "no apt package lists on this host (apt-get update); the Debian backend needs them too"
	for p in $(sed -n 's/^[^#[][^:]*: *//p' "$map" | tr -d '~' | tr ' ' '\n' | sort -u); do
		apt-cache show "$p" >/dev/null 2>&1 || missing="$missing $p"
	done
	[ -z "$missing" ] || fail "not in the archive:$missing"
}

@test "a missing source directory: status 1, nothing behind" {
	d=$BATS_TEST_TMPDIR/m
	mkdir -p "$d"
	cp "$S/ir.json" "$d/"
	run -1 "$BUILD" --kernel "$KERNEL" -o "$d/images" "$d/ir.json"
	assert_output --partial "/apps/0/source"
	[ -z "$(ls -A "$d/images" 2>/dev/null)" ]
}

@test "what no backend delivers: status 1 with ir-lower's pointer, nothing behind" {
	d=$BATS_TEST_TMPDIR/env
	mkdir -p "$d"
	cp -R "$S/src" "$d/"
	jq '.apps[0].entrypoints[0].extra_imports = ["json"]' "$S/ir.json" >"$d/ir.json"
	run -1 mvm-build --backend debian --kernel "$KERNEL" -o "$d/images" "$d/ir.json"
	assert_line "ir-lower: $d/ir.json: E_NOT_SUPPORTED at /apps/0/entrypoints/0/extra_imports: the function's \"extra_imports\" is not supported by this backend yet"
	[ -z "$(ls -A "$d/images" 2>/dev/null)" ]
}

@test "the seed's short Python declaration (a lone function, no primary=) emits, lowers and builds" {
	d=$BATS_TEST_TMPDIR/short
	mkdir -p "$d"
	# the seed's Layer 2 example, as it is there
	cat >"$d/entry.py" <<-'EOF'
	import mvm
	@mvm.app( name="hello", image=mvm.image.nix_packages(["python3"]), resources=mvm.resources(vcpus=1, memory_mb=256), dependencies=mvm.deps.none(),)
	@mvm.function(language="python", module="app", function="greet", format="json")
	def greet(name: str) -> str: return f"hello, {name}"
	EOF
	cp "$MVM_ROOT/examples/hello/src/app.py" "$d/"
	mvm-emit -o "$d/workload-ir.json" "$d/entry.py"
	run -0 jq -c '.apps[0].entrypoints' "$d/workload-ir.json"
	assert_output '[{"format":"json","function":"greet","kind":"function","language":"python","module":"app","primary":false}]'
	run -0 ir-lower "$d/workload-ir.json"
	run -0 jq -j '.files["/etc/mvm/runtime.json"].content' <<<"$output"
	assert_output '{"format":"json","function":"greet","functions":[{"format":"json","function":"greet","module":"app","name":"greet","primary":true}],"language":"python","module":"app","source_path":"/app"}'
	img=$(mvm-build --backend debian -q --kernel "$KERNEL" -C "$d" -o "$d/images" "$d/workload-ir.json")
	run -0 dbg 'cat /etc/mvm/wrapper.json' "$img/rootfs.ext4"
	assert_output '{"format":"json","function":"greet","mode":"prod","module":"app","working_dir":"/app"}'
	run -0 dbg 'cat /app/app.py' "$img/rootfs.ext4"
	assert_output "$(cat "$MVM_ROOT/examples/hello/src/app.py")"
}

@test "mvm-build(1) EXAMPLES: the seed's example with the Debian backend, and its key" {
	cd "$BATS_TEST_TMPDIR"
	ln -s "$S/images" images   # the image setup_file built: the same inputs
	run -0 --separate-stderr mvm-build --backend debian -q -C "$MVM_ROOT/examples/hello" -o images "$MVM_ROOT/t/data/seed-ir.json"
	assert_output "images/$(basename "$IMG")"
	run -0 debugfs -R 'cat /etc/mvm/runtime.json' images/current/rootfs.ext4
	assert_line '{"format":"json","function":"greet","functions":[{"format":"json","function":"greet","module":"app","name":"greet","primary":true}],"language":"python","module":"app","source_path":"/app"}'
	run -0 mvm-build --backend debian --print-key -C "$MVM_ROOT/examples/hello" "$MVM_ROOT/t/data/seed-ir.json"
	assert_output "$(basename "$IMG")"
}

@test "mvm-build: --backend picks the backend (auto: nix only when mvm-build-nix --probe succeeds), options pass through" {
	L=$BATS_TEST_TMPDIR/libexec
	mkdir -p "$L"
	printf '#!/bin/sh\necho "debian $*"\n' >"$L/mvm-build-rootfs"
	printf '#!/bin/sh\n[ "$1" = --probe ] && exit "${PROBE:-0}"\necho "nix $*"\n' >"$L/mvm-build-nix"
	chmod +x "$L"/*
	export MVM_LIBEXEC=$L
	run -0 mvm-build --backend debian -q -C src -o out --kernel k --agent a --init i --size-mb 9 --print-key ir.json
	assert_output 'debian -q -C src -o out --kernel k --agent a --init i --size-mb 9 --print-key ir.json'
	run -0 mvm-build --backend nix -q -o out ir.json
	assert_output 'nix -q -o out ir.json'
	run -0 mvm-build ir.json
	assert_output 'nix ir.json'
	PROBE=4 run -0 mvm-build ir.json
	assert_output 'debian ir.json'
	PROBE=4 run -0 mvm-build --backend auto --size-mb 9 ir.json
	assert_output 'debian --size-mb 9 ir.json'
	run -2 mvm-build --backend nix --agent a ir.json
	assert_output 'mvm-build: --agent: only the debian backend takes it (--backend debian)'
	# --dev (issue 15): a dev image, the Debian backend's
	run -0 mvm-build --backend debian --dev ir.json
	assert_output 'debian --dev ir.json'
	run -2 mvm-build --backend nix --dev ir.json
	assert_output 'mvm-build: --dev: only the debian backend takes it (--backend debian)'
	run -2 mvm-build --backend podman ir.json
	assert_output 'mvm-build: --backend: debian, nix or auto, not podman'
	run -2 mvm-build
	run -2 mvm-build a.json b.json
	run -0 mvm-build --help
	assert_output --partial 'usage: mvm-build [--backend debian|nix|auto]'
	# the backend's status is mvm-build's
	printf '#!/bin/sh\nexit 1\n' >"$L/mvm-build-rootfs"
	run -1 mvm-build --backend debian ir.json
	rm "$L/mvm-build-rootfs"
	run -4 mvm-build --backend debian ir.json
	assert_output --partial "mvm-build: unable to run $L/mvm-build-rootfs"
}

@test "mk/build.mk: nothing runs while make reads it; mvm-image runs mvm-build with --backend" {
	d=$BATS_TEST_TMPDIR/mk
	mkdir -p "$d/.mvm"
	printf '#!/bin/sh\necho "$*" >>"%s/ran"\necho .mvm/image/k1\n' "$d" >"$d/fake-build"
	chmod +x "$d/fake-build"
	printf 'MVM := %s\ninclude $(MVM)/mk/build.mk\ninclude $(MVM)/mk/build.mk\nnothing:\n\t@:\n' "$MVM_ROOT" >"$d/Makefile"
	echo '{}' >"$d/.mvm/workload-ir.json"
	# an unusable libexec: a probe at include time would run it
	run -0 make -C "$d" -s nothing MVM_BUILD="$d/fake-build"
	[ ! -e "$d/ran" ]
	run -0 make -C "$d" -s mvm-image MVM_BUILD="$d/fake-build" MVM_BACKEND=debian
	run -0 cat "$d/ran"
	assert_output '--backend debian -C . -o .mvm/image .mvm/workload-ir.json'
	run -0 cat "$d/.mvm/image.key"
	assert_output k1
	# MVM_DEV=1: a dev image (issue 15)
	run -0 make -C "$d" -s mvm-image MVM_BUILD="$d/fake-build" MVM_BACKEND=debian MVM_DEV=1
	run -0 tail -n 1 "$d/ran"
	assert_output '--backend debian --dev -C . -o .mvm/image .mvm/workload-ir.json'
	# the default: auto, and mvm-build from the checkout
	run -0 make -C "$d" -s -n mvm-image
	assert_output --partial "$MVM_ROOT/bin/mvm-build --backend auto  -C . -o .mvm/image .mvm/workload-ir.json"
}

@test "usage errors exit 2; a missing IR exits 4" {
	run -2 "$BUILD"
	run -2 "$BUILD" --bogus x.json
	run -2 "$BUILD" --size-mb lots "$S/ir.json"
	run -4 "$BUILD" "$BATS_TEST_TMPDIR/nope.json"
	run -0 "$BUILD" --help
	assert_output --partial 'usage: mvm-build-rootfs'
}
