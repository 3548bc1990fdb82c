#!/usr/bin/env bats
# Dependencies through the make flow (mk/mvm.mk), in real QEMU microVMs:
# examples/deps-python (a wheel from a wheelhouse the example writes) and
# examples/deps-node (ms 2.1.3 from an npm registry on 127.0.0.1) each answer
# with a result computed by the dependency, each deps volume read through
# dm-verity (issue #17; a changed block of the Python one fails the call
# that reads it, in the same boot).  Two images are built and two VMs boot
# in this file (one each).

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

@test "deps-python: the wheel's result through make; the volume read through dm-verity (admission checks its tree's top, a changed block fails the call that reads it); plan.admitted names it" {
	run -0 mk "$P" wheels mvm-image
	local img key sbom run f blk blocks
	img=$P/.mvm/image/$(cat "$P/.mvm/image.key")
	key=$(jq -r .deps.key "$img/mvm-meta.json")
	sbom=$(jq -r .deps.sbom_digest "$img/mvm-meta.json")
	# the image's volume is the cache entry's (one volume per lockfile),
	# with the entry's dm-verity tree (issue #17)
	[ "$(stat -c %i "$img/deps.ext4")" = "$(stat -c %i "$MVM_DEPS_CACHE/$key/deps.ext4")" ]
	[ "$(jq -r .deps.volume_digest "$img/mvm-meta.json")" = "sha256:$(sha256sum "$img/deps.ext4" | cut -c1-64)" ]
	[ "$(jq -c .deps.verity "$img/mvm-meta.json")" = "$(jq -c .verity "$MVM_DEPS_CACHE/$key/deps-meta.json")" ]
	blocks=$(jq -r .deps.verity.data_blocks "$img/mvm-meta.json")
	# and it is what schemas/mvm-meta.schema.json says (an independent validator)
	/usr/bin/python3 -c 'import json, sys, jsonschema
jsonschema.Draft202012Validator(json.load(open(sys.argv[1]))).validate(json.load(open(sys.argv[2])))' \
		"$MVM_ROOT/schemas/mvm-meta.schema.json" "$img/mvm-meta.json"
	# The image gets a copy of its own (the cache's volume is never
	# changed), with one byte flipped in each block of the files importing
	# mvmdemo reads: admission checks only the top of the tree, so the
	# plan is admitted; the guest's read of those blocks fails.
	cp "$img/deps.ext4" "$BATS_TEST_TMPDIR/d" && mv "$BATS_TEST_TMPDIR/d" "$img/deps.ext4"
	local flipped=()
	for f in $(debugfs -R 'ls -p /site-packages/mvmdemo' "$img/deps.ext4" 2>/dev/null | awk -F/ '$3 ~ /^100/ { print $6 }') \
		$(debugfs -R 'ls -p /site-packages/mvmdemo/__pycache__' "$img/deps.ext4" 2>/dev/null | awk -F/ '$3 ~ /^100/ { print "__pycache__/" $6 }'); do
		blk=$(debugfs -R "bmap /site-packages/mvmdemo/$f 0" "$img/deps.ext4" 2>/dev/null)
		[[ $blk =~ ^[1-9][0-9]*$ ]] && [ "$blk" -lt "$blocks" ] || fail "no data block for mvmdemo/$f: $blk"
		flipped+=("$blk")
	done
	[ "${#flipped[@]}" -ge 1 ] || fail "no file of mvmdemo on the volume"
	for blk in "${flipped[@]}"; do flip_byte "$img/deps.ext4" $((blk * 4096)); done
	run -0 mk "$P" mvm-admit
	run -2 mk "$P" mvm-invoke MVM_INPUT=text=hi
	refute_output --partial 'HI!'
	run=$P/.mvm/run/$(cat "$P/.mvm/ir.id")
	# /mnt/deps is the dm-verity mapping, and the kernel refused the block
	run -0 cat "$run/console.log"
	assert_output --regexp "mvm-init: deps volume /dev/dm-[0-9]+ on /mnt/deps"
	assert_output --regexp "device-mapper: verity: [0-9:]+: data block [0-9]+ is corrupted"
	# the same bytes back: the same VM reads the blocks again and answers
	for blk in "${flipped[@]}"; do flip_byte "$img/deps.ext4" $((blk * 4096)); done
	run -0 mk "$P" mvm-invoke MVM_INPUT=text=hi
	[ "$(last_line)" = 'HI!' ] || fail "$output"
	# every admission of this volume names its SBOM (a retried boot may admit twice)
	run -0 jq -rs --arg k "$key" '[.[] | select(.event == "plan.admitted" and .labels.deps_key == $k) | .labels.deps_sbom] | unique | join(" ")' "$MVM_HOME/audit/local.jsonl"
	assert_output "$sbom"
	run -0 mk "$P" mvm-down
	# a changed top of the tree: not admitted
	cp "$img/deps.ext4" "$BATS_TEST_TMPDIR/d" && flip_byte "$BATS_TEST_TMPDIR/d" $((blocks * 4096 + 7))
	mv "$BATS_TEST_TMPDIR/d" "$img/deps.ext4"
	run -2 mk "$P" mvm-admit
	assert_output --partial "image_digest"
	assert_output --partial "/deps.ext4: the top of its hash tree hashes to "
	assert_output --partial "names verity root $(jq -r .deps.verity.root_hash "$img/mvm-meta.json")"
}

@test "deps-node: ms 2.1.3's result through make (TypeScript, npm lockfile)" {
	run -0 mk "$N" mvm-invoke MVM_INPUT=text=2d
	[ "$(last_line)" = '172800000' ] || fail "$output"
	# node_modules is read through the volume's dm-verity mapping too
	run -0 cat "$N/.mvm/run/$(cat "$N/.mvm/ir.id")/console.log"
	assert_output --regexp "mvm-init: deps volume /dev/dm-[0-9]+ on /mnt/deps"
	run -0 mk "$N" mvm-down
}
