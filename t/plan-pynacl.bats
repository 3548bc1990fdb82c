#!/usr/bin/env bats
# The independent check: Debian's python3-nacl (libsodium through PyNaCl,
# none of our C code) rebuilds DSSE's PAE and the audit log's signed bytes
# and verifies what plan-sign and audit-append wrote.

load helper
load plan-helper

setup() {
	[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import nacl.signing' ||
		skip "Debian's python3-nacl is not installed"
	mk_image
	mk_keys
	PUB="$MVM_HOME/keys/host-signer.pub"
}

@test "PyNaCl verifies a plan envelope over DSSE's PAE" {
	mk_plan | plan-sign >"$BATS_TEST_TMPDIR/plan.dsse.json"
	run -0 /usr/bin/python3 - "$PUB" "$BATS_TEST_TMPDIR/plan.dsse.json" <<'PY'
import base64, hashlib, json, sys
from nacl.signing import VerifyKey
pk = base64.b64decode(open(sys.argv[1]).read().strip(), validate=True)
env = json.load(open(sys.argv[2]))
body = base64.b64decode(env["payload"], validate=True)
ptype = env["payloadType"].encode()
assert ptype == b"application/vnd.mvm.execution-plan+json"
pae = b"DSSEv1 " + str(len(ptype)).encode() + b" " + ptype + b" " + str(len(body)).encode() + b" " + body
sig = env["signatures"][0]
assert sig["keyid"] == hashlib.sha256(pk).hexdigest()[:32], "keyid"
VerifyKey(pk).verify(pae, base64.b64decode(sig["sig"], validate=True))
# and a changed byte does not verify
try:
    VerifyKey(pk).verify(pae[:-2] + b"X}", base64.b64decode(sig["sig"]))
    raise SystemExit("tampered payload verified")
except Exception as e:
    if type(e).__name__ != "BadSignatureError":
        raise
plan = json.loads(body)
# plan_id is the SHA-256 of the canonical plan without plan_id; for this
# plan (ASCII, integers) sorted compact JSON is its RFC 8785 form
rest = {k: v for k, v in plan.items() if k != "plan_id"}
canon = json.dumps(rest, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
assert plan["plan_id"] == "sha256:" + hashlib.sha256(canon).hexdigest(), "plan_id"
assert json.dumps(plan, sort_keys=True, separators=(",", ":")).encode() == body, "canonical"
print("plan ok")
PY
	assert_output "plan ok"
}

@test "PyNaCl verifies audit lines, their chain and the checkpoint" {
	mk_plan | plan-sign >"$BATS_TEST_TMPDIR/plan.dsse.json"
	L="$BATS_TEST_TMPDIR/audit.jsonl"
	audit-append -f "$L" -e plan.admitted -p "$BATS_TEST_TMPDIR/plan.dsse.json" -l "note=é ✓" >/dev/null
	audit-append -f "$L" -e plan.launched -p "$BATS_TEST_TMPDIR/plan.dsse.json" >/dev/null
	run -0 /usr/bin/python3 - "$PUB" "$L" <<'PY'
import base64, hashlib, json, sys
from nacl.signing import VerifyKey
pk = VerifyKey(base64.b64decode(open(sys.argv[1]).read().strip()))
def canon(o):
    # RFC 8785 for these objects: strings, integers, sorted keys (all keys
    # here are ASCII, so UTF-16 and code point order agree)
    return json.dumps(o, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
prev = "0" * 64
data = open(sys.argv[2], "rb").read()
lines = data.split(b"\n")
assert lines[-1] == b""
for n, line in enumerate(lines[:-1], 1):
    e = json.loads(line)
    assert canon(e) == line, "line %d not canonical" % n
    assert e["seq"] == n and e["prev"] == prev, "chain at %d" % n
    sig = base64.b64decode(e.pop("sig"))
    pk.verify(canon(e), sig)
    prev = hashlib.sha256(line).hexdigest()
cp = json.loads(open(sys.argv[2] + ".checkpoint", "rb").read())
sig = base64.b64decode(cp.pop("sig"))
pk.verify(canon(cp), sig)
assert cp["size"] == len(data) and cp["head"] == prev and cp["seq"] == 2
print("audit ok", len(lines) - 1)
PY
	assert_output "audit ok 2"
}
