#!/usr/bin/env bats
# mvm-emit: run an SDK declaration under MVM_EMITTING=1, write its IR.

load helper

HELLO="$MVM_ROOT/examples/hello"
GREET="$MVM_ROOT/examples/greet"
LOCKS="$MVM_ROOT/t/data/lockfiles"
SEED_HASH=a62b5e999e18e4a51c740d5e3bb6d67f85aabd713241a80150d583db16eff65b

setup() {
	cd "$BATS_TEST_TMPDIR"
	unset MVM_IR_OUT MVM_IR_VALIDATE MVM_SDK_DIR MVM_PYTHON MVM_NODE MVM_CARGO
}

need_ts() {
	[ -f "$MVM_ROOT/sdk/typescript/node_modules/esbuild/package.json" ] ||
		fail "sdk/typescript/node_modules missing: run make (it runs npm ci)"
}

need_cargo() {
	command -v cargo >/dev/null || skip "cargo not installed: the Rust SDK cannot run here"
}

# A Python declaration with one thing to vary: decl SRC DEPS LANG SCHEMA
decl() {
	cat <<PY
import mvm
@mvm.app(name="hello", source=mvm.source.local("$1"),
         image=mvm.image.nix_packages(["python3"]),
         resources=mvm.resources(vcpus=1, memory_mb=256), dependencies=$2)
@mvm.function(language="$3", module="app", function="greet", format="json", args_schema=$4)
def greet(name):
    raise SystemExit("the workload function ran on the host")
PY
}

@test "examples/hello/entry.py emits the seed's IR with the SDKs' default excludes, byte for byte, with a stable hash" {
	ir-canon "$SDK_SEED_IR" >want.json
	run -0 --separate-stderr mvm-emit "$HELLO/entry.py"
	[ -z "$stderr" ] || fail "stderr: $stderr"
	printf %s "$output" >got.json
	cmp want.json got.json
	run -0 ir-hash got.json
	assert_output "$SEED_HASH"
	mvm-emit "$HELLO/entry.py" >again.json
	cmp got.json again.json
}

@test "-o and MVM_IR_OUT write the file atomically; standard output stays empty" {
	ir-canon "$SDK_SEED_IR" >want.json
	mkdir out
	run -0 mvm-emit -o out/a.json "$HELLO/entry.py"
	assert_output ""
	cmp want.json out/a.json
	MVM_IR_OUT=out/b.json run -0 mvm-emit "$HELLO/entry.py"
	assert_output ""
	cmp want.json out/b.json
	run -0 ls -A out
	assert_output $'a.json\nb.json'
}

@test "a declaration on standard input, with and without -" {
	ir-canon "$SDK_SEED_IR" >want.json
	cd "$HELLO"
	mvm-emit <entry.py >"$BATS_TEST_TMPDIR/a.json"
	mvm-emit - <entry.py >"$BATS_TEST_TMPDIR/b.json"
	mvm-emit -l python - <entry.py >"$BATS_TEST_TMPDIR/c.json"
	cd "$BATS_TEST_TMPDIR"
	cmp want.json a.json
	cmp want.json b.json
	cmp want.json c.json
}

@test "examples/hello/entry.ts emits language typescript and validates" {
	need_ts
	run -0 --separate-stderr mvm-emit "$HELLO/entry.ts"
	assert_output --partial '"language":"typescript"'
	printf %s "$output" >ts.json
	run -0 ir-validate ts.json
	run -0 bash -c 'ir-canon ts.json | cmp - ts.json'
}

@test "the seed's short Python example validates; Python and Rust declarations give the same bytes" {
	mvm-emit "$GREET/entry.py" >py.json
	run -0 ir-validate py.json
	need_cargo
	mvm-emit "$GREET/rust" >rs.json
	cmp py.json rs.json
	mvm-emit "$GREET/rust/Cargo.toml" >rs2.json
	cmp py.json rs2.json
}

@test "SDK-level errors fail with the validator's code and write nothing" {
	mkdir out
	decl "$LOCKS/npm-unpinned" 'mvm.deps.node("package-lock.json", tool="npm")' python None >unpinned.py
	decl . 'mvm.deps.none()' python '{"type": "object", "properties": {"api_key": {"type": "string"}}}' >secret.py
	decl . 'mvm.deps.none()' cobol None >lang.py
	run -1 --separate-stderr mvm-emit -o out/ir.json unpinned.py
	assert_output ""
	[[ "$stderr" == *"unpinned.py: E_UNPINNED_DEPS at /apps/0/dependencies/lockfile: "* ]] || fail "$stderr"
	run -1 --separate-stderr mvm-emit -o out/ir.json secret.py
	[[ "$stderr" == *"E_SECRET_IN_SCHEMA at /apps/0/entrypoints/0/args_schema/properties/api_key: "* ]] || fail "$stderr"
	MVM_IR_OUT=out/ir.json run -1 --separate-stderr mvm-emit lang.py
	[[ "$stderr" == *"E_UNSUPPORTED_LANGUAGE at /apps/0/entrypoints/0/language: "* ]] || fail "$stderr"
	[[ "$stderr" != *"ran on the host"* ]] || fail "the workload function ran"
	run -0 ls -A out
	assert_output ""
}

@test "SDK-level errors from a TypeScript declaration, too" {
	need_ts
	mkdir out
	cat >bad.ts <<'TS'
import * as mvm from "mvm-sdk";
export const f = mvm.app({
  name: "hello", image: mvm.nixPackages(["nodejs_22"]), resources: mvm.resources({ vcpus: 1, memory_mb: 256 }),
  dependencies: mvm.deps.none(),
  entrypoint: mvm.entrypointFunction({ language: "typescript", module: "app", function: "login",
    args_schema: { type: "object", properties: { password: { type: "string" } } } }),
})((password: string): string => password);
TS
	run -1 --separate-stderr mvm-emit -o out/ir.json bad.ts
	[[ "$stderr" == *"bad.ts: E_SECRET_IN_SCHEMA at /apps/0/entrypoints/0/args_schema/properties/password: "* ]] || fail "$stderr"
	run -0 ls -A out
	assert_output ""
}

@test "a failing or empty declaration exits 3" {
	printf 'raise RuntimeError("boom")\n' >boom.py
	run -3 --separate-stderr mvm-emit boom.py
	assert_output ""
	[[ "$stderr" == *"boom"* ]] || fail "$stderr"
	printf 'import mvm\n' >empty.py
	run -3 --separate-stderr mvm-emit empty.py
	[[ "$stderr" == *"no app is declared"* ]] || fail "$stderr"
	run -3 mvm-emit </dev/null
}

@test "a TypeScript declaration that does not transpile exits 3" {
	need_ts
	printf 'const x: number = ;\n' >broken.ts
	run -3 --separate-stderr mvm-emit broken.ts
	[[ "$stderr" == *"broken.ts:1:"* ]] || fail "$stderr"
}

@test "a missing entry file is a system error (4)" {
	run -4 mvm-emit no-such.py
	assert_output "mvm-emit: no-such.py: unable to open: No such file or directory"
	run -4 mvm-emit no-such-dir/Cargo.toml
}

@test "an entry whose name names no SDK is a usage error (2)" {
	printf '{}' >x.json
	run -2 mvm-emit x.json
	assert_output --partial "unknown kind of declaration"
	run -2 mvm-emit -l cobol x.json
	run -2 mvm-emit -q
	run -2 mvm-emit a.py b.py
	run -0 mvm-emit --help
	assert_output --partial "usage: mvm-emit"
}

@test "-o into a read-only directory fails with 4 and leaves nothing" {
	mkdir ro
	chmod 0555 ro
	dest=ro/ir.json
	# root writes anywhere: use a directory nobody can create files in
	touch ro/probe 2>/dev/null && { rm -f ro/probe; dest=/proc/self/ir.json; }
	run -4 --separate-stderr mvm-emit -o "$dest" "$HELLO/entry.py"
	assert_output ""
	[[ "$stderr" == "mvm-emit: $dest: "* ]] || fail "$stderr"
	run -0 ls -A ro
	assert_output ""
	[ ! -e "$dest" ]
}

@test "writing to a full device fails with status 4" {
	run -4 bash -c 'mvm-emit "$1" >/dev/full' _ "$HELLO/entry.py"
	assert_output --partial "No space left on device"
}

@test "a missing interpreter or SDK is named, with how to install it (4)" {
	MVM_PYTHON=/nonexistent/python3 run -4 mvm-emit "$HELLO/entry.py"
	assert_output --partial "python interpreter /nonexistent/python3 not found"
	assert_output --partial "apt-get install python3"
	MVM_NODE=/nonexistent/node run -4 mvm-emit "$HELLO/entry.ts"
	assert_output --partial "node not found"
	MVM_CARGO=/nonexistent/cargo run -4 mvm-emit "$GREET/rust"
	assert_output --partial "cargo not found"
	MVM_SDK_DIR=/nonexistent run -4 mvm-emit "$HELLO/entry.py"
	assert_output --partial "the python SDK is not installed"
}

@test "no temporary files are left behind" {
	mkdir tmp
	TMPDIR=$PWD/tmp run -0 mvm-emit -o ir.json "$HELLO/entry.py"
	decl . 'mvm.deps.none()' cobol None >lang.py
	TMPDIR=$PWD/tmp run -1 mvm-emit -o ir2.json lang.py
	run -0 ls -A tmp
	assert_output ""
	[ ! -e ir2.json ]
}

@test "man page EXAMPLES" {
	cp -R "$HELLO" hello
	cd hello
	mvm-emit entry.py >workload-ir.json
	run -0 ir-hash workload-ir.json
	assert_output "$SEED_HASH"
	if [ -f "$MVM_ROOT/sdk/typescript/node_modules/esbuild/package.json" ]; then
		run -0 mvm-emit -o workload-ir.json entry.ts
		run -0 ir-validate workload-ir.json
	fi
	run -0 bash -c 'mvm-emit < entry.py | ir-validate -'
	cd "$BATS_TEST_TMPDIR"
	cat >bad.py <<'PY'
import mvm
@mvm.app(name="hello", image=mvm.image.nix_packages(["python3"]),
         resources=mvm.resources(vcpus=1, memory_mb=256),
         dependencies=mvm.deps.none())
@mvm.function(language="python", module="app", function="login",
              args_schema={"type": "object",
                           "properties": {"api_key": {"type": "string"}}})
def login(api_key): ...
PY
	run -1 mvm-emit -o ir.json bad.py
	assert_output --partial "mvm-emit: bad.py: E_SECRET_IN_SCHEMA at /apps/0/entrypoints/0/args_schema/properties/api_key: "
	[ ! -e ir.json ]
	command -v cargo >/dev/null || skip "cargo not installed: the Rust example cannot run"
	cd "$GREET"
	run -0 bash -c 'mvm-emit entry.py > "$1/py.json" && mvm-emit rust > "$1/rs.json" && cmp "$1/py.json" "$1/rs.json" && echo same' _ "$BATS_TEST_TMPDIR"
	assert_output same
}

@test "installed: mvm-emit finds the SDKs in ../share/mvm/sdk" {
	need_ts
	root=$BATS_TEST_TMPDIR/root
	run -0 make -s -C "$MVM_ROOT" install-sdk DESTDIR="$root" PREFIX=/usr
	mkdir -p "$root/usr/bin"
	cp "$MVM_ROOT/bin/mvm-emit" "$MVM_ROOT/bin/ir-validate" "$root/usr/bin/"
	cp -R "$MVM_ROOT/schemas" "$root/usr/share/mvm/"
	ir-canon "$SDK_SEED_IR" >want.json
	PATH=/usr/bin:/bin run -0 --separate-stderr "$root/usr/bin/mvm-emit" "$HELLO/entry.py"
	printf %s "$output" >got.json
	cmp want.json got.json
	PATH=/usr/bin:/bin run -0 --separate-stderr "$root/usr/bin/mvm-emit" "$HELLO/entry.ts"
	assert_output --partial '"language":"typescript"'
}

@test "a Rust declaration: an SDK-level error exits 1 and writes nothing; a compile error exits 3" {
	need_cargo
	mkdir -p crate/src out
	cat >crate/Cargo.toml <<TOML
[package]
name = "bad-workload"
version = "0.1.0"
edition = "2021"

[dependencies]
mvm-sdk = { path = "$MVM_ROOT/sdk/rust" }
TOML
	sed 's/"python", "app"/"cobol", "app"/' "$GREET/rust/src/main.rs" >crate/src/main.rs
	run -1 --separate-stderr mvm-emit -o out/ir.json crate
	[[ "$stderr" == *"E_UNSUPPORTED_LANGUAGE at /apps/0/entrypoints/0/language: "* ]] || fail "$stderr"
	printf 'fn main() { let x: u32 = "a"; }\n' >crate/src/main.rs
	run -3 --separate-stderr mvm-emit -o out/ir.json crate/Cargo.toml
	[[ "$stderr" == *"the declaration failed"* ]] || fail "$stderr"
	run -0 ls -A out
	assert_output ""
}
