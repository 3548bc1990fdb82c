#!/usr/bin/env bats
# plan-verify: admission of signed plans, in order: envelope, signature,
# plan, window, nonce, IR and image.

load helper
load plan-helper

setup() {
	mk_image
	mk_keys
	SK="$MVM_HOME/keys/host-signer.ed25519"
	P="$BATS_TEST_TMPDIR/plan.json"
	E="$BATS_TEST_TMPDIR/plan.dsse.json"
	mk_plan --not-before 2030-01-01T00:00:00Z >"$P"
	plan-sign "$P" >"$E"
	NOW=2030-01-01T00:05:00Z
}

@test "admits a good plan and prints its signed bytes exactly" {
	run -0 --separate-stderr plan-verify --now $NOW "$E"
	[ "$output" = "$(cat "$P")" ]
	[ -z "$stderr" ]
	# the nonce is recorded under its own name, with valid_until and plan_id
	nonce=$(jq -r .nonce "$P")
	[ "$(cat "$MVM_HOME/nonces/$nonce")" = "2030-01-01T00:10:00Z $(jq -r .plan_id "$P")" ]
}

@test "a plan made now verifies against the clock" {
	mk_plan | plan-sign >"$BATS_TEST_TMPDIR/now.dsse.json"
	run -0 plan-verify "$BATS_TEST_TMPDIR/now.dsse.json"
}

@test "replay from a second process is refused (status 1), persistently" {
	run -0 plan-verify --now $NOW "$E"
	run -1 --separate-stderr plan-verify --now $NOW "$E"
	[ -z "$output" ]
	[[ $stderr == *"replay: nonce $(jq -r .nonce "$P") was already admitted (plan $(jq -r .plan_id "$P"))"* ]]
	# from another shell, later, still refused
	run -1 bash -c 'plan-verify --now 2030-01-01T00:09:59Z "$1"' _ "$E"
}

@test "two concurrent verifiers of one plan: exactly one admits" {
	for round in 1 2 3; do
		mk_plan --not-before 2030-01-01T00:00:00Z | plan-sign >"$BATS_TEST_TMPDIR/c$round.json"
		for i in 1 2 3 4 5 6 7 8; do
			( st=0
			  plan-verify --now $NOW "$BATS_TEST_TMPDIR/c$round.json" >/dev/null 2>&1 || st=$?
			  echo $st >"$BATS_TEST_TMPDIR/st.$round.$i" ) &
		done
		wait
		[ "$(cat "$BATS_TEST_TMPDIR"/st.$round.* | grep -c '^0$')" -eq 1 ]
		[ "$(cat "$BATS_TEST_TMPDIR"/st.$round.* | grep -c '^1$')" -eq 7 ]
	done
}

@test "--no-consume checks without recording" {
	run -0 plan-verify --no-consume --now $NOW "$E"
	run -0 plan-verify --no-consume --now $NOW "$E"
	run -0 plan-verify --now $NOW "$E"
	run -1 plan-verify --no-consume --now $NOW "$E"
	assert_output --partial "already admitted"
}

@test "the window is half-open [valid_from, valid_until): expired, not yet valid" {
	run -1 plan-verify --no-consume --now 2029-12-31T23:59:59Z "$E"
	assert_output --partial "window: not yet valid: valid_from is 2030-01-01T00:00:00Z"
	run -0 plan-verify --no-consume --now 2030-01-01T00:00:00Z "$E"
	run -0 plan-verify --no-consume --now 2030-01-01T00:09:59Z "$E"
	run -1 plan-verify --no-consume --now 2030-01-01T00:10:00Z "$E"
	assert_output --partial "window: expired: valid_until was 2030-01-01T00:10:00Z"
	# an expired plan does not touch the nonce store
	[ ! -d "$MVM_HOME/nonces" ]
}

@test "--skew widens the window on both sides" {
	run -0 plan-verify --no-consume --skew 30 --now 2029-12-31T23:59:30Z "$E"
	run -1 plan-verify --no-consume --skew 30 --now 2029-12-31T23:59:29Z "$E"
	run -0 plan-verify --no-consume --skew 30 --now 2030-01-01T00:10:29Z "$E"
	run -1 plan-verify --no-consume --skew 30 --now 2030-01-01T00:10:30Z "$E"
}

@test "an inverted or empty window is refused" {
	replan '.valid_until = "2029-12-31T00:00:00Z"' <"$P" | plan-sign >"$BATS_TEST_TMPDIR/inv.json"
	run -1 plan-verify --now $NOW "$BATS_TEST_TMPDIR/inv.json"
	assert_output --partial "window: inverted validity window"
	replan '.valid_until = .valid_from' <"$P" | plan-sign >"$BATS_TEST_TMPDIR/inv.json"
	run -1 plan-verify --now 2030-01-01T00:00:00Z "$BATS_TEST_TMPDIR/inv.json"
	assert_output --partial "inverted"
}

@test "wrong key: not signed by a trusted key" {
	plan-keygen --no-trust -f "$BATS_TEST_TMPDIR/other.ed25519" >/dev/null
	run -1 plan-verify -k "$BATS_TEST_TMPDIR/other.pub" --now $NOW "$E"
	assert_output --partial "untrusted_key: not signed by a trusted key"
	# signed by an untrusted key, trusted keys by default
	plan-sign -s "$BATS_TEST_TMPDIR/other.ed25519" "$P" >"$BATS_TEST_TMPDIR/o.json"
	run -1 plan-verify --now $NOW "$BATS_TEST_TMPDIR/o.json"
	assert_output --partial "not signed by a trusted key"
	# -k with both keys: admitted
	run -0 plan-verify -k "$BATS_TEST_TMPDIR/other.pub" -k "$MVM_HOME/keys/host-signer.pub" --now $NOW "$BATS_TEST_TMPDIR/o.json"
	# no trusted key at all
	rm "$MVM_HOME/trust/host-signer.pub"
	run -1 plan-verify --now $NOW "$E"
	assert_output --partial "no trusted keys"
}

@test "payloadType swapped is refused at the envelope" {
	jq -c '.payloadType = "application/vnd.in-toto+json"' "$E" >"$BATS_TEST_TMPDIR/x.json"
	run -1 plan-verify --now $NOW "$BATS_TEST_TMPDIR/x.json"
	assert_output --partial 'envelope: payloadType is "application/vnd.in-toto+json"'
	# even with a valid signature over the other type
	py_sign "$SK" "$P" application/json >"$BATS_TEST_TMPDIR/x.json"
	run -1 plan-verify --now $NOW "$BATS_TEST_TMPDIR/x.json"
	assert_output --partial "envelope: payloadType"
}

@test "payload altered after signing: bad signature" {
	sed 's/"vcpus":1/"vcpus":8/' "$P" >"$BATS_TEST_TMPDIR/alt.json"
	run -1 cmp -s "$P" "$BATS_TEST_TMPDIR/alt.json"   # the sed did change the plan
	jq -c --arg p "$(base64 -w0 <"$BATS_TEST_TMPDIR/alt.json")" '.payload = $p' "$E" >"$BATS_TEST_TMPDIR/x.json"
	run -1 plan-verify --now $NOW "$BATS_TEST_TMPDIR/x.json"
	assert_output --partial "signature: bad signature"
}

@test "a trusted key's signature over a different plan: bad signature" {
	mk_plan --not-before 2030-01-01T00:00:00Z | plan-sign >"$BATS_TEST_TMPDIR/b.json"
	jq -c --slurpfile b "$BATS_TEST_TMPDIR/b.json" '.signatures = $b[0].signatures' "$E" >"$BATS_TEST_TMPDIR/x.json"
	run -1 plan-verify --now $NOW "$BATS_TEST_TMPDIR/x.json"
	assert_output --partial "signature: bad signature"
}

@test "envelope shape: each defect refused with status 1" {
	for f in 'del(.signatures)' 'del(.payload)' '. + {extra: 1}' '.signatures = []' \
	    '.signatures[0].sig = "AAAA"' '.signatures[0] += {x: 1}' '.payload = "%%%"' \
	    '.payload = 5' '[.]'; do
		jq -c "$f" "$E" >"$BATS_TEST_TMPDIR/x.json"
		run -1 plan-verify --now $NOW "$BATS_TEST_TMPDIR/x.json"
		[[ $output == *"envelope"* ]] || fail "$f: $output"
	done
	# a keyid is only a hint: absent, any trusted key is tried
	jq -c 'del(.signatures[0].keyid)' "$E" >"$BATS_TEST_TMPDIR/x.json"
	run -0 plan-verify --no-consume --now $NOW "$BATS_TEST_TMPDIR/x.json"
}

@test "signed but not canonical, or an unsupported schema_version: refused at the plan" {
	jq . "$P" >"$BATS_TEST_TMPDIR/pretty.json"
	py_sign "$SK" "$BATS_TEST_TMPDIR/pretty.json" >"$BATS_TEST_TMPDIR/x.json"
	run -1 plan-verify --now $NOW "$BATS_TEST_TMPDIR/x.json"
	assert_output --partial "plan: not in RFC 8785 canonical form"
	replan '.schema_version = "9.0"' <"$P" >"$BATS_TEST_TMPDIR/v9.json"
	py_sign "$SK" "$BATS_TEST_TMPDIR/v9.json" >"$BATS_TEST_TMPDIR/x.json"
	run -1 plan-verify --now $NOW "$BATS_TEST_TMPDIR/x.json"
	assert_output --partial 'plan: /schema_version: unsupported schema_version "9.0"'
	printf '{"a":' >"$BATS_TEST_TMPDIR/bad.json"
	py_sign "$SK" "$BATS_TEST_TMPDIR/bad.json" >"$BATS_TEST_TMPDIR/x.json"
	run -1 plan-verify --now $NOW "$BATS_TEST_TMPDIR/x.json"
	assert_output --partial "plan:"
}

@test "checks run in order: a bad signature is reported before an expired window" {
	jq -c --arg p "$(jq -c '.tenant = "x"' "$P" | base64 -w0)" '.payload = $p' "$E" >"$BATS_TEST_TMPDIR/x.json"
	run -1 plan-verify --now 2040-01-01T00:00:00Z "$BATS_TEST_TMPDIR/x.json"
	assert_output --partial "signature:"
	run -0 plan-verify --now $NOW "$E"
	run -1 plan-verify --now 2040-01-01T00:00:00Z "$E"
	assert_output --partial "window: expired"
}

@test "--ir: the IR must hash to ir_hash" {
	run -0 plan-verify --no-consume --ir "$SEED_IR" --now $NOW "$E"
	jq -S . "$SEED_IR" >"$BATS_TEST_TMPDIR/same.json"
	run -0 plan-verify --no-consume --ir "$BATS_TEST_TMPDIR/same.json" --now $NOW "$E"
	jq '.id = "other"' "$SEED_IR" >"$BATS_TEST_TMPDIR/other.json"
	run -1 plan-verify --ir "$BATS_TEST_TMPDIR/other.json" --now $NOW "$E"
	assert_output --partial "ir_digest: $BATS_TEST_TMPDIR/other.json hashes to"
	# refused there, the nonce was not kept: the plan can still be admitted
	run -0 plan-verify --ir "$SEED_IR" --now $NOW "$E"
}

@test "--image: the artifacts must match the plan's digests" {
	run -0 plan-verify --no-consume --image "$IMG" --now $NOW "$E"
	cp -r "$IMG" "$BATS_TEST_TMPDIR/img2"
	printf 'tampered' >>"$BATS_TEST_TMPDIR/img2/rootfs.ext4"
	run -1 plan-verify --image "$BATS_TEST_TMPDIR/img2" --now $NOW "$E"
	assert_output --partial "image_digest: $BATS_TEST_TMPDIR/img2/rootfs.ext4 is sha256:"
	cp "$IMG/rootfs.ext4" "$BATS_TEST_TMPDIR/img2/"
	printf 'x' >"$BATS_TEST_TMPDIR/img2/initrd"
	run -1 plan-verify --image "$BATS_TEST_TMPDIR/img2" --now $NOW "$E"
	assert_output --partial "the plan names no initrd"
	rm "$BATS_TEST_TMPDIR/img2/initrd" "$BATS_TEST_TMPDIR/img2/vmlinux"
	run -4 plan-verify --image "$BATS_TEST_TMPDIR/img2" --now $NOW "$E"
	run -0 plan-verify --image "$IMG" --now $NOW "$E"
}

# An image whose meta names a dm-verity root (mvm-meta(5)): 64 data blocks
# and their hash tree appended, made by cryptsetup's veritysetup.
mk_verity_image() {
	command -v veritysetup >/dev/null || fail "veritysetup missing (tools/install-deps.sh: cryptsetup-bin)"
	head -c $((64 * 4096)) /dev/urandom >"$IMG/rootfs.ext4"
	salt=$(sha256sum <"$IMG/rootfs.ext4" | cut -c1-64)
	root=$(veritysetup format --no-superblock --hash=sha256 --data-block-size=4096 \
		--hash-block-size=4096 --data-blocks=64 --hash-offset=$((64 * 4096)) --salt="$salt" \
		"$IMG/rootfs.ext4" "$IMG/rootfs.ext4" | awk '$1 == "Root" { print $3 }')
	jq -n --arg r "$root" --arg s "$salt" --arg ir "$(ir-hash "$SEED_IR")" '{ir_hash: $ir, name: "hello",
		verity: {root_hash: $r, salt: $s, hash: "sha256", data_blocks: 64, data_block_size: 4096,
		hash_block_size: 4096, hash_start_block: 64}}' >"$IMG/mvm-meta.json"
	mk_plan --not-before 2030-01-01T00:00:00Z >"$P"
	plan-sign "$P" >"$E"
}

@test "--image with a dm-verity root: the meta and kernel are hashed, the root by the top of its tree" {
	mk_verity_image
	run -0 plan-verify --no-consume --image "$IMG" --now $NOW "$E"
	# the kernel changed: refused
	cp "$IMG/vmlinux" "$BATS_TEST_TMPDIR/vmlinux"
	printf 'x' >>"$IMG/vmlinux"
	run -1 plan-verify --no-consume --image "$IMG" --now $NOW "$E"
	assert_output --partial "image_digest: $IMG/vmlinux is sha256:"
	cp "$BATS_TEST_TMPDIR/vmlinux" "$IMG/vmlinux"
	# a changed data block is the guest's to find (it fails to read there):
	# admission does not hash the file system ...
	flip_byte "$IMG/rootfs.ext4" 5000
	run -0 plan-verify --no-consume --image "$IMG" --now $NOW "$E"
	# ... where veritysetup, reading every block, finds it
	run -2 veritysetup verify --no-superblock --hash-offset=$((64 * 4096)) --data-blocks=64 \
		--salt="$(jq -r .verity.salt "$IMG/mvm-meta.json")" "$IMG/rootfs.ext4" "$IMG/rootfs.ext4" \
		"$(jq -r .verity.root_hash "$IMG/mvm-meta.json")"
	assert_output --partial "Verification of data area failed"
	# the top of the tree changed: refused
	flip_byte "$IMG/rootfs.ext4" $((64 * 4096 + 9))
	run -1 plan-verify --no-consume --image "$IMG" --now $NOW "$E"
	assert_output --partial "image_digest: $IMG/rootfs.ext4: the top of its hash tree hashes to"
	# the tree cut off: refused
	truncate -s $((64 * 4096)) "$IMG/rootfs.ext4"
	run -1 plan-verify --no-consume --image "$IMG" --now $NOW "$E"
	assert_output --partial "too short for 64 data blocks and their hash tree"
}

@test "--image: a meta whose verity is not the one layout is refused, naming it" {
	for bad in '.verity.hash = "sha1"' '.verity.data_block_size = 512' '.verity.hash_start_block = 65' \
	    '.verity.root_hash = "ABC"' '.verity.data_blocks = 0.5' '.verity = "yes"'; do
		mk_verity_image
		jq "$bad" "$IMG/mvm-meta.json" >"$BATS_TEST_TMPDIR/meta"
		mv "$BATS_TEST_TMPDIR/meta" "$IMG/mvm-meta.json"
		mk_plan --not-before 2030-01-01T00:00:00Z | plan-sign >"$E"
		run -1 plan-verify --no-consume --image "$IMG" --now $NOW "$E"
		assert_output --partial "image_digest: /verity: mvm-meta.json: verity is not a SHA-256 tree"
	done
}

@test "--image with a deps volume's dm-verity tree: the top of its tree is checked, not the volume; its data is the guest's to check" {
	mk_verity_image
	# a 32-block volume and its tree, by veritysetup (mvm-meta(5) deps.verity)
	head -c $((32 * 4096)) /dev/urandom >"$IMG/deps.ext4"
	dsalt=$(sha256sum <"$IMG/deps.ext4" | cut -c1-64)
	droot=$(veritysetup format --no-superblock --hash=sha256 --data-block-size=4096 \
		--hash-block-size=4096 --data-blocks=32 --hash-offset=$((32 * 4096)) --salt="$dsalt" \
		"$IMG/deps.ext4" "$IMG/deps.ext4" | awk '$1 == "Root" { print $3 }')
	jq --arg r "$droot" --arg s "$dsalt" --arg v "sha256:$(sha256sum <"$IMG/deps.ext4" | cut -c1-64)" \
		'.deps = {key: ("ab" * 32), sbom_digest: ("sha256:" + "cd" * 32), volume_digest: $v,
		verity: {root_hash: $r, salt: $s, hash: "sha256", data_blocks: 32, data_block_size: 4096,
		hash_block_size: 4096, hash_start_block: 32}}' "$IMG/mvm-meta.json" >"$BATS_TEST_TMPDIR/meta"
	mv "$BATS_TEST_TMPDIR/meta" "$IMG/mvm-meta.json"
	mk_plan --not-before 2030-01-01T00:00:00Z | plan-sign >"$E"
	run -0 plan-verify --no-consume --image "$IMG" --now $NOW "$E"
	# a byte of its data changed after signing: admitted (the volume is not
	# hashed; the guest reads it through dm-verity, t/e2e-deps.bats) ...
	flip_byte "$IMG/deps.ext4" 7000
	run -0 plan-verify --no-consume --image "$IMG" --now $NOW "$E"
	# ... where veritysetup, reading every block, finds it
	run -2 veritysetup verify --no-superblock --hash-offset=$((32 * 4096)) --data-blocks=32 \
		--salt="$dsalt" "$IMG/deps.ext4" "$IMG/deps.ext4" "$droot"
	# the top of its tree changed: refused
	flip_byte "$IMG/deps.ext4" $((32 * 4096 + 3))
	run -1 plan-verify --no-consume --image "$IMG" --now $NOW "$E"
	assert_output --partial "image_digest: $IMG/deps.ext4: the top of its hash tree hashes to"
	# a deps.verity not of the one layout: refused, naming it
	jq '.deps.verity.hash = "sha1"' "$IMG/mvm-meta.json" >"$BATS_TEST_TMPDIR/meta"
	mv "$BATS_TEST_TMPDIR/meta" "$IMG/mvm-meta.json"
	mk_plan --not-before 2030-01-01T00:00:00Z | plan-sign >"$E"
	run -1 plan-verify --no-consume --image "$IMG" --now $NOW "$E"
	assert_output --partial "image_digest: /deps/verity: mvm-meta.json: the deps volume's verity is not"
}

@test "--image: a deps volume without a verity root is refused, not hashed whole (issue #17), saying to rebuild" {
	mk_verity_image
	# the volume_digest is the file's own: the old fallback hashed the whole
	# volume and admitted it
	head -c $((8 * 4096)) /dev/urandom >"$IMG/deps.ext4"
	jq --arg v "sha256:$(sha256sum <"$IMG/deps.ext4" | cut -c1-64)" \
		'.deps = {key: ("ab" * 32), sbom_digest: ("sha256:" + "cd" * 32), volume_digest: $v}' \
		"$IMG/mvm-meta.json" >"$BATS_TEST_TMPDIR/meta"
	mv "$BATS_TEST_TMPDIR/meta" "$IMG/mvm-meta.json"
	mk_plan --not-before 2030-01-01T00:00:00Z | plan-sign >"$E"
	run -1 plan-verify --no-consume --image "$IMG" --now $NOW "$E"
	assert_output "plan-verify: $E: image_digest: /deps: mvm-meta.json: the deps volume has no verity root, so it cannot be checked (an image made before deps volumes carried a dm-verity tree): rebuild the image with the current mvm-build"
}

@test "--image: files of several MiB hash as sha256sum does, in parallel" {
	head -c 5300000 /dev/urandom >"$IMG/rootfs.ext4"
	head -c 1300000 /dev/urandom >"$IMG/vmlinux"
	mk_plan --not-before 2030-01-01T00:00:00Z >"$P"
	[ "$(jq -r .image.rootfs "$P")" = "sha256:$(sha256sum <"$IMG/rootfs.ext4" | cut -c1-64)" ]
	[ "$(jq -r .image.kernel "$P")" = "sha256:$(sha256sum <"$IMG/vmlinux" | cut -c1-64)" ]
	plan-sign "$P" >"$E"
	run -0 plan-verify --image "$IMG" --now $NOW "$E"
}

@test "nonces are pruned by the real clock plus the largest skew (one day)" {
	mkdir -p "$MVM_HOME/nonces"
	pid=sha256:$(printf '%064d' 7)
	old=$(printf '%032d' 1) young=$(printf '%032d' 2)
	# expired 2 days ago by the clock: pruned; 1 hour ago: kept (a --skew
	# of up to a day could still admit its plan)
	echo "$(date -u -d '-2 days' +%FT%TZ) $pid" >"$MVM_HOME/nonces/$old"
	echo "$(date -u -d '-1 hour' +%FT%TZ) $pid" >"$MVM_HOME/nonces/$young"
	run -0 plan-verify --now $NOW "$E"
	[ ! -e "$MVM_HOME/nonces/$old" ]
	[ -e "$MVM_HOME/nonces/$young" ]
	[ -e "$MVM_HOME/nonces/$(jq -r .nonce "$P")" ]
}

@test "reads stdin or -; malformed or empty input is status 3" {
	run -0 plan-verify --no-consume --now $NOW <"$E"
	run -0 plan-verify --no-consume --now $NOW - <"$E"
	printf '{"payload":' >"$BATS_TEST_TMPDIR/x.json"
	run -3 plan-verify --now $NOW "$BATS_TEST_TMPDIR/x.json"
	: >"$BATS_TEST_TMPDIR/empty"
	run -3 plan-verify --now $NOW <"$BATS_TEST_TMPDIR/empty"
}

@test "-n adds a newline to the printed plan" {
	plan-verify -n --no-consume --now $NOW "$E" >"$BATS_TEST_TMPDIR/out"
	[ "$(head -c -1 "$BATS_TEST_TMPDIR/out")" = "$(cat "$P")" ]
}

@test "usage errors are status 2; a missing envelope is status 4" {
	run -2 plan-verify --now yesterday "$E"
	run -2 plan-verify --skew -1 "$E"
	run -2 plan-verify a b
	run -0 plan-verify --help
	run -4 plan-verify "$BATS_TEST_TMPDIR/nope"
	run -4 plan-verify -k "$BATS_TEST_TMPDIR/nope.pub" "$E"
}

@test "writing to a full device fails with status 4 (and the plan is not admitted)" {
	run -4 bash -c 'plan-verify --no-consume --now "$1" "$2" >/dev/full' _ $NOW "$E"
	run -4 bash -c 'plan-verify --now "$1" "$2" >/dev/full' _ $NOW "$E"
	run -0 plan-verify --now $NOW "$E"
}

@test "man page EXAMPLES" {
	cd "$BATS_TEST_TMPDIR"
	cp "$SEED_IR" workload-ir.json
	plan-new --image img workload-ir.json | plan-sign >plan.dsse.json
	run -0 bash -c 'plan-verify --ir workload-ir.json --image img plan.dsse.json > plan.admitted.json'
	run -1 plan-verify plan.dsse.json
	assert_output --partial "already admitted"
	cp "$MVM_HOME/keys/host-signer.pub" ci.pub
	plan-new --image img workload-ir.json | plan-sign >p2.json
	run -0 bash -c 'plan-verify --no-consume -k ci.pub p2.json >/dev/null && echo ok'
	assert_output ok
}

@test "a keyid hint of another form is ignored; every trusted key is tried" {
	jq -c '.signatures[0].keyid = "SHA256:some-other-tool"' "$E" >"$BATS_TEST_TMPDIR/x.json"
	run -0 plan-verify --no-consume --now $NOW "$BATS_TEST_TMPDIR/x.json"
	# one of our form naming an untrusted key is not tried against others
	jq -c --arg k "$(printf '%032d' 0)" '.signatures[0].keyid = $k' "$E" >"$BATS_TEST_TMPDIR/x.json"
	run -1 plan-verify --no-consume --now $NOW "$BATS_TEST_TMPDIR/x.json"
	assert_output --partial "not signed by a trusted key"
}

# Issue 12, reproductions 2 to 4 and 6.

second_key() {
	plan-keygen -f "$MVM_HOME/keys/second.ed25519" >/dev/null
	SK2="$MVM_HOME/keys/second.ed25519"
}

@test "two-key replay: reversed signatures and one signature per key admit the plan once" {
	second_key
	plan-sign -s "$SK2" "$P" >"$BATS_TEST_TMPDIR/by2.json"
	jq -c --slurpfile b "$BATS_TEST_TMPDIR/by2.json" '.signatures += $b[0].signatures' "$E" \
		>"$BATS_TEST_TMPDIR/both.json"
	jq -c '.signatures |= reverse' "$BATS_TEST_TMPDIR/both.json" >"$BATS_TEST_TMPDIR/rev.json"
	run -0 plan-verify --now $NOW "$BATS_TEST_TMPDIR/both.json"
	run -1 plan-verify --now $NOW "$BATS_TEST_TMPDIR/rev.json"
	assert_output --partial "replay: nonce $(jq -r .nonce "$P") was already admitted"
	run -1 plan-verify --now $NOW "$E"
	run -1 plan-verify --now $NOW "$BATS_TEST_TMPDIR/by2.json"
	assert_output --partial "replay:"
}

@test "--now prune: a --now in the future does not prune the nonces of plans still valid" {
	mk_plan | plan-sign >"$BATS_TEST_TMPDIR/a.json"
	run -0 plan-verify "$BATS_TEST_TMPDIR/a.json"
	mk_plan --not-before 2035-01-01T00:00:00Z | plan-sign >"$BATS_TEST_TMPDIR/b.json"
	run -0 plan-verify --now 2035-01-01T00:05:00Z "$BATS_TEST_TMPDIR/b.json"
	run -1 plan-verify "$BATS_TEST_TMPDIR/a.json"
	assert_output --partial "replay:"
	# and a --now in the past cannot admit a plan long expired by the
	# clock, whose nonce may be pruned
	mk_plan --not-before 2020-01-01T00:00:00Z | plan-sign >"$BATS_TEST_TMPDIR/old.json"
	run -1 plan-verify --now 2020-01-01T00:05:00Z "$BATS_TEST_TMPDIR/old.json"
	assert_output --partial "window: /valid_until: expired more than 86400 s ago by the system clock"
}

@test "SIGPIPE: an unwritable standard output (a closed pipe) is status 4 and does not spend the nonce" {
	run -0 /usr/bin/python3 - "$NOW" "$E" <<'PY'
import os, subprocess, sys
r, w = os.pipe()
os.close(r)
p = subprocess.run(["plan-verify", "--now", sys.argv[1], sys.argv[2]], stdout=w,
                   stderr=subprocess.PIPE)
print(p.returncode, p.stderr.decode().strip())
PY
	assert_output --partial "4 plan-verify: unable to write to standard output: Broken pipe"
	run -0 plan-verify --now $NOW "$E"
}

@test "a keyid hint that is not 32 lowercase hex digits is ignored" {
	for k in $(printf 'Z%.0s' $(seq 32)) $(jq -r '.signatures[0].keyid' "$E" | tr a-f A-F); do
		jq -c --arg k "$k" '.signatures[0].keyid = $k' "$E" >"$BATS_TEST_TMPDIR/x.json"
		run -0 plan-verify --no-consume --now $NOW "$BATS_TEST_TMPDIR/x.json"
	done
}

@test "junk trust file: an unreadable or malformed file in trust/ is skipped with a warning" {
	printf 'not a key\n' >"$MVM_HOME/trust/junk.pub"
	mkdir "$MVM_HOME/trust/dir.pub"
	run -0 --separate-stderr plan-verify --now $NOW "$E"
	[[ $stderr == *"plan-verify: warning: $MVM_HOME/trust/junk.pub: not a public key"*"(skipped)"* ]]
	[[ $stderr == *"dir.pub"*"(skipped)"* ]]
	[ "$output" = "$(cat "$P")" ]
	# a file given with -k is still an error
	run -3 plan-verify -k "$MVM_HOME/trust/junk.pub" --now $NOW "$E"
}

@test "writable trust dir or key file: refused (status 1), naming the file and its mode" {
	chmod 0777 "$MVM_HOME/trust"
	run -1 plan-verify --now $NOW "$E"
	assert_output "plan-verify: $MVM_HOME/trust: trust directory has mode 0777: group or others can write it (chmod go-w $MVM_HOME/trust)"
	chmod 0755 "$MVM_HOME/trust"
	chmod 0664 "$MVM_HOME/trust/host-signer.pub"
	run -1 plan-verify --now $NOW "$E"
	assert_output --partial "$MVM_HOME/trust/host-signer.pub: trusted key has mode 0664"
	run -1 plan-verify -k "$MVM_HOME/trust/host-signer.pub" --now $NOW "$E"
	assert_output --partial "trusted key has mode 0664"
	chmod 0644 "$MVM_HOME/trust/host-signer.pub"
	run -0 plan-verify --now $NOW "$E"
}

@test "DSSE: URL-safe base64 (with or without padding) is accepted; non-canonical plan bytes are not" {
	# a plan whose signature has a + or / (a signature is 64 bytes: its base64
	# always ends in "=="; the payload's length is fixed by the plan's fields,
	# so whether it is padded cannot be drawn again: waiting for both ran all
	# 40 rounds and then failed whenever the last signature had neither)
	for i in $(seq 40); do
		mk_plan --not-before 2030-01-01T00:00:00Z | plan-sign >"$E"
		jq -r '.signatures[0].sig' "$E" | grep -q '[+/]' && break
	done
	sig=$(jq -r '.signatures[0].sig' "$E")
	[[ $sig == *[+/]* && $sig == *== ]] || fail "40 signatures without + or /: $sig"
	jq -c '.payload |= (gsub("\\+"; "-") | gsub("/"; "_") | rtrimstr("=") | rtrimstr("="))
		| .signatures[0].sig |= (gsub("\\+"; "-") | gsub("/"; "_"))' "$E" >"$BATS_TEST_TMPDIR/u.json"
	jq -r '.signatures[0].sig' "$BATS_TEST_TMPDIR/u.json" | grep -q '[-_]'
	[[ $(jq -r .payload "$BATS_TEST_TMPDIR/u.json") != *=* ]]
	run -0 plan-verify --no-consume --now $NOW "$BATS_TEST_TMPDIR/u.json"
	# URL-safe with padding, too
	jq -c '.signatures[0].sig |= (gsub("\\+"; "-") | gsub("/"; "_"))' "$E" >"$BATS_TEST_TMPDIR/u.json"
	run -0 plan-verify --no-consume --now $NOW "$BATS_TEST_TMPDIR/u.json"
	# mixed alphabets are not base64
	jq -c '.payload = "-+" + .payload[2:]' "$E" >"$BATS_TEST_TMPDIR/m.json"
	run -1 plan-verify --no-consume --now $NOW "$BATS_TEST_TMPDIR/m.json"
	assert_output --partial "envelope: /payload: is not base64"
	# a pretty-printed plan, validly signed, is still refused
	jq . "$P" >"$BATS_TEST_TMPDIR/pretty.json"
	py_sign "$SK" "$BATS_TEST_TMPDIR/pretty.json" >"$BATS_TEST_TMPDIR/pretty.dsse.json"
	run -1 plan-verify --no-consume --now $NOW "$BATS_TEST_TMPDIR/pretty.dsse.json"
	assert_output --partial "plan: not in RFC 8785 canonical form"
}

@test "spent-then-refused: a plan the launcher cannot run (boot_timeout_secs 7200) is refused before its nonce is spent" {
	replan '.resources.boot_timeout_secs = 7200' <"$P" >"$BATS_TEST_TMPDIR/long.json"
	plan-sign "$BATS_TEST_TMPDIR/long.json" >"$BATS_TEST_TMPDIR/long.dsse.json"
	run -1 plan-verify --now $NOW "$BATS_TEST_TMPDIR/long.dsse.json"
	assert_output --partial "limits: /resources/boot_timeout_secs: 7200 is outside what the launcher can run (1 to 3600)"
	[ ! -e "$MVM_HOME/nonces/$(jq -r .nonce "$P")" ]
	for f in '.resources.vcpus = 65' '.resources.memory_mb = 63' '.resources.memory_mb = 65537'; do
		replan "$f" <"$P" | plan-sign >"$BATS_TEST_TMPDIR/x.json"
		run -1 plan-verify --now $NOW "$BATS_TEST_TMPDIR/x.json"
		assert_output --partial "limits: /resources/"
	done
	# the nonce is still unspent: the plan as it was admits
	run -0 plan-verify --now $NOW "$E"
}

@test "a nonce recorded in the old layout (nonces/KEYID/NONCE) is still a replay" {
	keyid=$(jq -r '.signatures[0].keyid' "$E")
	mkdir -p "$MVM_HOME/nonces/$keyid"
	echo 2030-01-01T00:10:00Z >"$MVM_HOME/nonces/$keyid/$(jq -r .nonce "$P")"
	run -1 plan-verify --now $NOW "$E"
	assert_output --partial "replay: nonce $(jq -r .nonce "$P") was already admitted"
}

@test "require_prod (plan-new --require-prod): a dev image, or no image, is refused as dev_image; a sealed one is admitted" {
	mk_plan --require-prod --not-before 2030-01-01T00:00:00Z >"$BATS_TEST_TMPDIR/rp.json"
	[ "$(jq -c .admission_profile.require_prod "$BATS_TEST_TMPDIR/rp.json")" = true ]
	plan-sign "$BATS_TEST_TMPDIR/rp.json" >"$BATS_TEST_TMPDIR/rp.dsse.json"
	# the tiny image's mvm-meta.json does not say "sealed": true: a dev image
	run -1 plan-verify --no-consume --image "$IMG" --now $NOW "$BATS_TEST_TMPDIR/rp.dsse.json"
	assert_output --partial 'dev_image: /admission_profile/require_prod: the plan requires a prod image'
	run -1 plan-verify --no-consume --now $NOW "$BATS_TEST_TMPDIR/rp.dsse.json"
	assert_output --partial 'dev_image: /admission_profile/require_prod: the plan requires a prod image and no image was given'
	# without require_prod the dev image is admitted, and the plan has no member
	jq -e '.admission_profile | has("require_prod") | not' "$P" >/dev/null
	run -0 plan-verify --no-consume --image "$IMG" --now $NOW "$E"
	# sealed: true (the Debian backend's prod images)
	printf '{"ir_hash":"%s","name":"hello","sealed":true}' "$(ir-hash "$SEED_IR")" >"$IMG/mvm-meta.json"
	mk_plan --require-prod --not-before 2030-01-01T00:00:00Z | plan-sign >"$BATS_TEST_TMPDIR/rp2.dsse.json"
	run -0 plan-verify --no-consume --image "$IMG" --now $NOW "$BATS_TEST_TMPDIR/rp2.dsse.json"
	# "require_prod": false is not a plan (absent is how it says false)
	replan '.admission_profile.require_prod = false' <"$P" >"$BATS_TEST_TMPDIR/f.json"
	run -1 plan-sign "$BATS_TEST_TMPDIR/f.json"
	assert_output --partial '/admission_profile/require_prod: must be true when present'
}
