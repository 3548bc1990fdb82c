# t/helper.bash — loaded by every test file (`load helper`).
bats_require_minimum_version 1.5.0
# Puts the freshly built bin/ first on PATH, points MVM_HOME at the test's
# own directory, and finds the test vectors (t/data/vectors, see its README.md).
MVM_ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
PATH="$MVM_ROOT/bin:$PATH"
: "${MVM_TESTDATA:=$MVM_ROOT/t/data/vectors}"
LC_ALL=C
export MVM_ROOT PATH MVM_TESTDATA LC_ALL
export BATS_LIB_PATH="${BATS_LIB_PATH:-/usr/lib/bats}"
bats_load_library bats-support
bats_load_library bats-assert

# Every test gets a private MVM_HOME.
export MVM_HOME="$BATS_TEST_TMPDIR/mvm-home"

# The vectors are part of the test suite: missing means failure.
need_testdata() {
	[ -n "$MVM_TESTDATA" ] && [ -d "$MVM_TESTDATA/jcs" ] ||
		fail "test vectors not found in $MVM_TESTDATA (t/data/vectors, or MVM_TESTDATA=DIR holding jcs/)"
}

# The seed's worked-example IR, whitespace re-added as in the seed.
SEED_IR="$MVM_ROOT/t/data/seed-ir.json"
# What the SDKs emit for it (examples/hello): the seed with the default source
# excludes that mvm-ir(5) lists (issue 17), written by hand with jq.
SDK_SEED_IR="$MVM_ROOT/t/data/seed-ir-sdk.json"

# Tests that put agent/mvm-agent into a guest image: a SANITIZE build's agent
# is dynamically linked against the sanitizer runtimes the guest lacks.
need_guest_agent() {
	[ -z "${MVM_SANITIZE:-}" ] ||
		skip "the SANITIZE=$MVM_SANITIZE agent is dynamically linked and cannot run in a guest (the plain build's pass boots VMs)"
}

# Images built once per run and shared by the test files that only read them
# (the builder is content-addressed: the same inputs give the same key, and
# a file that asks for an image another already built finds it).  Run-wide,
# also when bats runs files in parallel (--jobs): one build at a time, under
# a lock.  MVM_TEST_IMAGES=DIR keeps them between runs.
: "${MVM_TEST_IMAGES:=${BATS_SUITE_TMPDIR:-$BATS_RUN_TMPDIR/suite}/images}"
export MVM_TEST_IMAGES

# shared_image IR [SRCDIR]: build (or reuse) IR's image with the Debian
# backend and the cached kernel; print its directory.  SRCDIR: where the
# IR's source path resolves (default: the IR's directory).
shared_image() {
	local kernel
	kernel=$("$MVM_ROOT/libexec/mvm-build-kernel") || return
	mkdir -p "$MVM_TEST_IMAGES"
	set -- "$MVM_ROOT/bin/mvm-build" --backend debian -q --kernel "$kernel" \
		-C "${2:-$(dirname "$1")}" -o "$MVM_TEST_IMAGES" "$1"
	# The build gets no descriptor above 2 (flock -o: not the lock's either):
	# mmdebstrap's own then stay below 10.  One above 9 and its apt hook
	# `cat >&NN` fails under dash (one digit only): "apt download failed".
	flock -o "$MVM_TEST_IMAGES/.lock" "$@" 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-
}

# seed_image_cache DIR: put the seed's hello image (examples/hello with
# t/data/seed-ir.json: what the make flow builds there) into DIR, an image
# cache as mvm-build -o takes it, as hard links: the builder then answers
# from it ("cached") instead of building again.  Images are read-only to the
# VMs (readonly=on); a test that edits one copies it first.
seed_image_cache() {
	local img
	img=$(shared_image "$SEED_IR" "$MVM_ROOT/examples/hello") || return
	mkdir -p "$1"
	cp -al "$img" "$1/" 2>/dev/null || cp -a "$img" "$1/"   # another file system: a copy
}

# flip_byte FILE OFFSET: invert every bit of one byte in place (twice: as
# it was).  Writing a constant instead is a no-op when the byte already
# holds it: 1 time in 256 on random data such as a hash tree.
flip_byte() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	[ -n "$b" ] || fail "flip_byte: $1 has no byte at offset $2"
	printf "\\$(printf '%03o' $((b ^ 255)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
