#!/usr/bin/env bats
# plan-new: unsigned ExecutionPlans from an IR and an image.

load helper
load plan-helper

setup() {
	mk_image
	P="$BATS_TEST_TMPDIR/plan.json"
}

@test "a plan for the seed IR: canonical, bound to the IR and the image" {
	run -0 plan-new --image "$IMG" "$SEED_IR"
	printf '%s' "$output" >"$P"
	# canonical bytes, no trailing newline
	[ "$(ir-canon "$P")" = "$(cat "$P")" ]
	[ "$(tail -c 1 "$P")" = "}" ]
	[ "$(jq -r .schema_version "$P")" = 0.1 ]
	[ "$(jq -r .workload "$P")" = hello ]
	[ "$(jq -r .ir_hash "$P")" = "$(ir-hash "$SEED_IR")" ]
	[ "$(jq -r .image.rootfs "$P")" = "sha256:$(sha256sum <"$IMG/rootfs.ext4" | cut -c1-64)" ]
	[ "$(jq -r .image.kernel "$P")" = "sha256:$(sha256sum <"$IMG/vmlinux" | cut -c1-64)" ]
	[ "$(jq -r .image.meta "$P")" = "sha256:$(sha256sum <"$IMG/mvm-meta.json" | cut -c1-64)" ]
	[ "$(jq -r '.image | has("initrd")' "$P")" = false ]
	[ "$(jq -c .resources "$P")" = '{"boot_timeout_secs":30,"memory_mb":256,"vcpus":1}' ]
	jq -r .nonce "$P" | grep -qx '[0-9a-f]\{32\}'
	# plan_id names the rest of the plan
	want=$(jq -c 'del(.plan_id)' "$P" | ir-hash)
	[ "$(jq -r .plan_id "$P")" = "sha256:$want" ]
	validate plan.schema.json "$P"
}

@test "defaults: tenant local, 600 s window from now, standard tier, local-default policies" {
	mk_plan >"$P"
	[ "$(jq -r .tenant "$P")" = local ]
	[ "$(jq -r .plan_version "$P")" = 1 ]
	[ "$(jq -r .runtime_profile "$P")" = qemu-microvm ]
	from=$(date -u -d "$(jq -r .valid_from "$P")" +%s)
	until=$(date -u -d "$(jq -r .valid_until "$P")" +%s)
	[ $((until - from)) -eq 600 ]
	now=$(date -u +%s)
	[ "$from" -le "$now" ] && [ "$from" -ge $((now - 60)) ]
	[ "$(jq -c .admission_profile "$P")" = '{"audit":{"event_prefix":"plan","required_labels":["admission_profile","intent","seccomp_tier"]},"egress_policy":"local-default","fs_policy":"local-default","id":"vm:boot:standard","intent":"vm:boot","network_policy":"local-default","seccomp_tier":"standard","secret_release":"none","tool_policy":"local-default"}' ]
}

@test "every plan has a fresh nonce (and so a fresh plan_id)" {
	mk_plan --not-before 2030-01-01T00:00:00Z >"$P"
	mk_plan --not-before 2030-01-01T00:00:00Z >"$P.2"
	[ "$(jq -r .nonce "$P")" != "$(jq -r .nonce "$P.2")" ]
	[ "$(jq -r .plan_id "$P")" != "$(jq -r .plan_id "$P.2")" ]
	[ "$(jq -c 'del(.nonce, .plan_id)' "$P")" = "$(jq -c 'del(.nonce, .plan_id)' "$P.2")" ]
}

@test "options set the window, tenant, runtime profile and admission profile" {
	mk_plan --tenant acme --valid-for 60 --not-before 2030-01-02T03:04:05Z \
		--runtime-profile firecracker --intent fn:call --seccomp network \
		--network-policy acme:hello --fs-policy ro --egress-policy none \
		--tool-policy t1 --secret-release plan_bound --require-label team \
		--profile-id acme-fn >"$P"
	[ "$(jq -r .tenant "$P")" = acme ]
	[ "$(jq -r .valid_from "$P")" = 2030-01-02T03:04:05Z ]
	[ "$(jq -r .valid_until "$P")" = 2030-01-02T03:05:05Z ]
	[ "$(jq -r .runtime_profile "$P")" = firecracker ]
	[ "$(jq -c .admission_profile "$P")" = '{"audit":{"event_prefix":"plan","required_labels":["admission_profile","intent","seccomp_tier","team"]},"egress_policy":"none","fs_policy":"ro","id":"acme-fn","intent":"fn:call","network_policy":"acme:hello","seccomp_tier":"network","secret_release":"plan_bound","tool_policy":"t1"}' ]
	validate plan.schema.json "$P"
	# the profile id defaults to INTENT:TIER
	mk_plan --intent fn:call --seccomp minimal >"$P"
	[ "$(jq -r .admission_profile.id "$P")" = fn:call:minimal ]
}

@test "window times cross months, leap days and years correctly" {
	mk_plan --not-before 2028-02-28T23:59:30Z --valid-for 86400 >"$P"
	[ "$(jq -r .valid_until "$P")" = 2028-02-29T23:59:30Z ]
	mk_plan --not-before 2099-12-31T23:00:00Z --valid-for 3600 >"$P"
	[ "$(jq -r .valid_until "$P")" = 2100-01-01T00:00:00Z ]
	run -2 plan-new --image "$IMG" --not-before 2027-02-29T00:00:00Z "$SEED_IR"
	run -2 plan-new --image "$IMG" --not-before 2027-01-01T00:00:00+01:00 "$SEED_IR"
	run -2 plan-new --image "$IMG" --valid-for 0 "$SEED_IR"
}

@test "explicit digests equal --image; an initrd is included when present" {
	mk_plan --not-before 2030-01-01T00:00:00Z >"$P"
	run -0 plan-new --rootfs "$IMG/rootfs.ext4" --kernel "$IMG/vmlinux" \
		--meta "$IMG/mvm-meta.json" --not-before 2030-01-01T00:00:00Z "$SEED_IR"
	[ "$(printf '%s' "$output" | jq -c 'del(.nonce, .plan_id)')" = "$(jq -c 'del(.nonce, .plan_id)' "$P")" ]
	printf 'initrd bytes' >"$IMG/initrd"
	mk_plan >"$P"
	[ "$(jq -r .image.initrd "$P")" = "sha256:$(sha256sum <"$IMG/initrd" | cut -c1-64)" ]
	run -0 plan-new --rootfs "$IMG/rootfs.ext4" --kernel "$IMG/vmlinux" --initrd "$IMG/initrd" \
		--meta "$IMG/mvm-meta.json" "$SEED_IR"
	[ "$(printf '%s' "$output" | jq -r .image.initrd)" = "$(jq -r .image.initrd "$P")" ]
}

@test "an image built from another IR is refused (status 1)" {
	printf '{"ir_hash":"%064d"}' 0 >"$IMG/mvm-meta.json"
	run -1 --separate-stderr plan-new --image "$IMG" "$SEED_IR"
	[ -z "$output" ]
	[[ $stderr == *"the image was built from IR 0000"* ]]
	# an mvm-meta.json without ir_hash is accepted
	echo '{"name":"hello"}' >"$IMG/mvm-meta.json"
	run -0 plan-new --image "$IMG" "$SEED_IR"
}

@test "boot_timeout_secs defaults to 30; the primary app's resources are used" {
	jq 'del(.apps[0].resources.boot_timeout_secs) | .apps[0].resources.vcpus = 2' "$SEED_IR" >"$BATS_TEST_TMPDIR/ir.json"
	printf '{}' >"$IMG/mvm-meta.json"
	run -0 plan-new --image "$IMG" "$BATS_TEST_TMPDIR/ir.json"
	[ "$(printf '%s' "$output" | jq -c .resources)" = '{"boot_timeout_secs":30,"memory_mb":256,"vcpus":2}' ]
	# with two apps, the one with the primary entrypoint
	jq '.apps = [(.apps[0] | .name = "side" | .entrypoints[0].primary = false | .resources.memory_mb = 64), .apps[0]]' "$SEED_IR" >"$BATS_TEST_TMPDIR/two.json"
	run -0 plan-new --image "$IMG" "$BATS_TEST_TMPDIR/two.json"
	[ "$(printf '%s' "$output" | jq -r .resources.memory_mb)" = 256 ]
}

@test "an IR without what a plan needs: status 3 with a JSON Pointer" {
	printf '{}' >"$IMG/mvm-meta.json"
	jq 'del(.id)' "$SEED_IR" >"$BATS_TEST_TMPDIR/ir.json"
	run -3 plan-new --image "$IMG" "$BATS_TEST_TMPDIR/ir.json"
	assert_output --partial "/id: required field is missing"
	jq 'del(.apps[0].resources)' "$SEED_IR" >"$BATS_TEST_TMPDIR/ir.json"
	run -3 plan-new --image "$IMG" "$BATS_TEST_TMPDIR/ir.json"
	assert_output --partial "/apps/0/resources: required field is missing"
	jq '.apps[0].resources.memory_mb = "256"' "$SEED_IR" >"$BATS_TEST_TMPDIR/ir.json"
	run -3 plan-new --image "$IMG" "$BATS_TEST_TMPDIR/ir.json"
	assert_output --partial "/apps/0/resources/memory_mb: must be an integer"
	jq '.id = "a\nb"' "$SEED_IR" >"$BATS_TEST_TMPDIR/ir.json"
	run -3 plan-new --image "$IMG" "$BATS_TEST_TMPDIR/ir.json"
	assert_output --partial "/id: must not contain control characters"
	jq '.apps[0].resources.memory_mb = 1e300' "$SEED_IR" >"$BATS_TEST_TMPDIR/ir.json"
	run -3 plan-new --image "$IMG" "$BATS_TEST_TMPDIR/ir.json"
	assert_output --partial "/apps/0/resources/memory_mb: must be a positive integer"
	printf '{"id":"a","id":"b"}' >"$BATS_TEST_TMPDIR/ir.json"
	run -3 plan-new --image "$IMG" "$BATS_TEST_TMPDIR/ir.json"
	: >"$BATS_TEST_TMPDIR/empty"
	run -3 plan-new --image "$IMG" <"$BATS_TEST_TMPDIR/empty"
}

@test "reads the IR from stdin or -" {
	run -0 plan-new --image "$IMG" <"$SEED_IR"
	[ "$(printf '%s' "$output" | jq -r .ir_hash)" = "$(ir-hash "$SEED_IR")" ]
	run -0 plan-new --image "$IMG" - <"$SEED_IR"
	[ "$(printf '%s' "$output" | jq -r .ir_hash)" = "$(ir-hash "$SEED_IR")" ]
}

@test "-n ends the output with a newline" {
	plan-new -n --image "$IMG" "$SEED_IR" >"$P"
	[ "$(tail -c 1 "$P" | od -An -c | tr -d ' ')" = '\n' ]
}

@test "usage errors are status 2; a missing image file is status 4" {
	run -2 plan-new "$SEED_IR"
	assert_output --partial "an image is required"
	run -2 plan-new --image "$IMG" --rootfs x "$SEED_IR"
	run -2 plan-new --rootfs x --kernel y "$SEED_IR"
	run -2 plan-new --image "$IMG" --seccomp bogus "$SEED_IR"
	run -2 plan-new --image "$IMG" --tenant ../x "$SEED_IR"
	run -2 plan-new --image "$IMG" --secret-release always "$SEED_IR"
	run -2 plan-new --image "$IMG" a b
	run -0 plan-new --help
	rm "$IMG/vmlinux"
	run -4 plan-new --image "$IMG" "$SEED_IR"
	run -4 plan-new --image "$IMG" "$BATS_TEST_TMPDIR/nope.json"
}

@test "writing to a full device fails with status 4" {
	run -4 bash -c 'plan-new --image "$1" "$2" >/dev/full' _ "$IMG" "$SEED_IR"
}

@test "man page EXAMPLES" {
	cd "$BATS_TEST_TMPDIR"
	cp "$SEED_IR" workload-ir.json
	mv img .mvm-image
	mkdir -p .mvm && mv .mvm-image .mvm/image
	run -0 bash -c 'plan-new --image .mvm/image workload-ir.json > plan.json'
	run -0 bash -c 'plan-new --image .mvm/image --tenant acme --valid-for 300 --seccomp minimal workload-ir.json | jq -r .valid_until'
	run -0 bash -c 'plan-new --image .mvm/image --not-before 2030-01-01T00:00:00Z --valid-for 3600 workload-ir.json | jq -r ".valid_from, .valid_until"'
	assert_output "2030-01-01T00:00:00Z
2030-01-01T01:00:00Z"
}

@test "spent-then-refused: resources the launcher cannot run (boot_timeout_secs 7200) are refused, status 1" {
	for f in '.apps[0].resources.boot_timeout_secs = 7200' '.apps[0].resources.vcpus = 65' \
	    '.apps[0].resources.memory_mb = 63' '.apps[0].resources.memory_mb = 65537'; do
		jq "$f" "$SEED_IR" >"$BATS_TEST_TMPDIR/ir.json"
		run -1 plan-new --image "$IMG" "$BATS_TEST_TMPDIR/ir.json"
		assert_output --partial "is outside what the launcher can run"
		# and the IR model refuses it too: one set of limits
		run -1 ir-validate "$BATS_TEST_TMPDIR/ir.json"
		assert_output --partial "/apps/0/resources/"
	done
	jq '.apps[0].resources.boot_timeout_secs = 7200' "$SEED_IR" >"$BATS_TEST_TMPDIR/ir.json"
	run -1 plan-new --image "$IMG" "$BATS_TEST_TMPDIR/ir.json"
	assert_output --partial "/apps/0/resources/boot_timeout_secs: 7200 is outside what the launcher can run (1 to 3600)"
	run -1 ir-validate "$BATS_TEST_TMPDIR/ir.json"
	assert_output --partial "expected an integer from 1 to 3600, found 7200"
	# the edges are accepted
	jq '.apps[0].resources |= (.boot_timeout_secs = 3600 | .vcpus = 64 | .memory_mb = 64)' "$SEED_IR" >"$BATS_TEST_TMPDIR/ir.json"
	printf '{"ir_hash":"%s","name":"hello"}' "$(ir-hash "$BATS_TEST_TMPDIR/ir.json")" >"$IMG/mvm-meta.json"
	run -0 plan-new --image "$IMG" "$BATS_TEST_TMPDIR/ir.json"
	run -0 ir-validate "$BATS_TEST_TMPDIR/ir.json"
}
