# t/plan-helper.bash — fixtures for the admission and audit tests
# (load helper first).  Not a test file.

IMG="$BATS_TEST_TMPDIR/img"

# A tiny image directory whose mvm-meta.json names the seed IR's hash.
mk_image() {
	local d=${1:-$IMG}
	mkdir -p "$d"
	printf 'rootfs bytes\n' >"$d/rootfs.ext4"
	printf 'kernel bytes\n' >"$d/vmlinux"
	printf '{"ir_hash":"%s","name":"hello"}' "$(ir-hash "$SEED_IR")" >"$d/mvm-meta.json"
}

# The default host-signer key pair, trusted.
mk_keys() {
	plan-keygen >/dev/null
}

# A plan for the seed IR (extra plan-new options in "$@").
mk_plan() {
	plan-new --image "$IMG" "$@" "$SEED_IR"
}

# replan FILTER <plan: apply a jq filter, recompute plan_id, canonicalize.
replan() {
	local body id
	body=$(jq -c "del(.plan_id) | $1")
	id=$(printf '%s' "$body" | ir-hash)
	printf '%s' "$body" | jq -c --arg id "sha256:$id" '. + {plan_id: $id}' | ir-canon
}

# py_sign SECRETFILE PAYLOADFILE [TYPE]: a DSSE envelope made by PyNaCl,
# for payloads plan-sign would refuse to sign.
py_sign() {
	/usr/bin/python3 - "$1" "$2" "${3:-application/vnd.mvm.execution-plan+json}" <<'PY'
import base64, hashlib, json, sys
from nacl.signing import SigningKey
seed = base64.b64decode(open(sys.argv[1]).read().strip())
body = open(sys.argv[2], "rb").read()
ptype = sys.argv[3].encode()
sk = SigningKey(seed)
pae = b"DSSEv1 %d %s %d %s" % (len(ptype), ptype, len(body), body)
sig = sk.sign(pae).signature
keyid = hashlib.sha256(bytes(sk.verify_key)).hexdigest()[:32]
sys.stdout.write(json.dumps({"payload": base64.b64encode(body).decode(),
    "payloadType": ptype.decode(),
    "signatures": [{"keyid": keyid, "sig": base64.b64encode(sig).decode()}]},
    separators=(",", ":"), sort_keys=True))
PY
}

# The payload bytes of an envelope.
payload_of() {
	jq -j .payload "$1" | base64 -d
}

# Schema validation with Debian's python3-jsonschema: validate SCHEMA FILE.
validate() {
	/usr/bin/python3 - "$MVM_ROOT/schemas/$1" "$2" <<'PY'
import json, sys, jsonschema
s = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(s)
for line in open(sys.argv[2]):
    if line.strip():
        jsonschema.Draft202012Validator(s).validate(json.loads(line))
PY
}
