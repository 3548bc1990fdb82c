#!/usr/bin/env bats
# Dependencies through the make flow (mk/mvm.mk), in real QEMU microVMs:
# examples/deps-python (a wheel from a wheelhouse the example writes) and
# examples/deps-node (ms 2.1.3 from an npm registry on 127.0.0.1) each answer
# with a result computed by the dependency.  Two images are built and two
# VMs boot in this file (one each).

load helper

setup_file() {
	[ -z "${MVM_SANITIZE:-}" ] || return 0   # setup() skips every test
	export MVM_HOME="$BATS_FILE_TMPDIR/home"
	export MVM_DEPS_CACHE="$BATS_FILE_TMPDIR/deps"   # the deps cache (mvm-deps(1))
	P="$BATS_FILE_TMPDIR/deps-python"
	N="$BATS_FILE_TMPDIR/deps-node"
	cp -R "$MVM_ROOT/examples/deps-python" "$P"
	cp -R "$MVM_ROOT/examples/deps-node" "$N"
	rm -rf "$P/.mvm" "$N/.mvm" "$P/wheels"
	cp -r "$MVM_ROOT/t/data/deps/registry" "$BATS_FILE_TMPDIR/reg"
	python3 "$MVM_ROOT/t/data/deps/serve.py" "$BATS_FILE_TMPDIR/reg" "$BATS_FILE_TMPDIR/port" 3>&- &
	echo $! >"$BATS_FILE_TMPDIR/server.pid"
	for _ in $(seq 50); do [ -s "$BATS_FILE_TMPDIR/port" ] && break; sleep 0.1; done
	echo "# the guest kernel: libexec/mvm-build-kernel (cached; minutes on a fresh machine)" >&3
	KERNEL=$("$MVM_ROOT/libexec/mvm-build-kernel")
	export P N KERNEL
	"$MVM_ROOT/bin/plan-keygen" >/dev/null
}

setup() {
	need_guest_agent
	export MVM_HOME="$BATS_FILE_TMPDIR/home"
	export npm_config_registry="http://127.0.0.1:$(cat "$BATS_FILE_TMPDIR/port")/"
}

teardown_file() {
	for p in "$BATS_FILE_TMPDIR"/*/.mvm/run/*/pid "$BATS_FILE_TMPDIR/server.pid"; do
		[ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null || true
	done
}

mk() { # DIR target...
	local d=$1
	shift
	make --no-print-directory -C "$d" MVM="$MVM_ROOT" MVM_BUILD_OPTS="--kernel $KERNEL" "$@"
}
last_line() { printf '%s\n' "${lines[${#lines[@]} - 1]}"; }

@test "deps-python: the wheel's result through make; admission checks the volume; plan.admitted names it" {
	run -0 mk "$P" wheels mvm-invoke MVM_INPUT=text=hi
	[ "$(last_line)" = 'HI!' ] || fail "$output"
	local img key sbom
	img=$P/.mvm/image/$(cat "$P/.mvm/image.key")
	key=$(jq -r .deps.key "$img/mvm-meta.json")
	sbom=$(jq -r .deps.sbom_digest "$img/mvm-meta.json")
	# the image's volume is the cache entry's (one volume per lockfile)
	[ "$(stat -c %i "$img/deps.ext4")" = "$(stat -c %i "$MVM_DEPS_CACHE/$key/deps.ext4")" ]
	[ "$(jq -r .deps.volume_digest "$img/mvm-meta.json")" = "sha256:$(sha256sum "$img/deps.ext4" | cut -c1-64)" ]
	# every admission of this volume names its SBOM (a retried boot may admit twice)
	run -0 jq -rs --arg k "$key" '[.[] | select(.event == "plan.admitted" and .labels.deps_key == $k) | .labels.deps_sbom] | unique | join(" ")' "$MVM_HOME/audit/local.jsonl"
	assert_output "$sbom"
	run -0 mk "$P" mvm-down
	# another volume than mvm-meta.json names: not admitted
	cp "$img/deps.ext4" "$BATS_TEST_TMPDIR/d" && printf 'x' | dd of="$BATS_TEST_TMPDIR/d" bs=1 seek=2048 conv=notrunc 2>/dev/null
	mv "$BATS_TEST_TMPDIR/d" "$img/deps.ext4"
	run -2 mk "$P" mvm-admit
	assert_output --partial "image_digest"
	assert_output --partial "/deps.ext4 is sha256:"
	assert_output --partial "mvm-meta.json says $(jq -r .deps.volume_digest "$img/mvm-meta.json")"
}

@test "deps-node: ms 2.1.3's result through make (TypeScript, npm lockfile)" {
	run -0 mk "$N" mvm-invoke MVM_INPUT=text=2d
	[ "$(last_line)" = '172800000' ] || fail "$output"
	run -0 mk "$N" mvm-down
}
