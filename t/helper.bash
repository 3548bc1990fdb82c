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
