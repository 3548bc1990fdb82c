# t/fake-vm.bash — a VM without a kernel, for tests of vm-boot and the
# porcelains around it: a guest root with the real agent and Python runner,
# served as QEMU (t/data/fake-qemu.py) or Firecracker (t/data/fake-vsock.py)
# would serve it.  Needs $T (the test's directory).

# fake_root [FORMAT]: $R, a guest root whose function is the seed's
# app.greet, speaking FORMAT (json by default).
fake_root() {
	local fmt=${1:-json} w
	[ -x "$MVM_ROOT/agent/mvm-agent" ] || fail "agent/mvm-agent is not built"
	# the runner runs as uid 1000: let it through the test's directories
	local d=$T; while [ "$d" != / ] && [ "$d" != /tmp ]; do chmod o+x "$d"; d=$(dirname "$d"); done
	R=$T/root; w=$R/usr/lib/mvm/wrappers
	mkdir -p "$R/etc/mvm" "$w" "$R/app" "$T/bin"
	mkdir -m 1733 "$T/calls"   # as the guest's /tmp: the runner's uid makes its call directory
	cp "$MVM_ROOT/agent/wrappers/python/oneshot.py" "$w/runner"
	cp "$MVM_ROOT/agent/wrappers/python/mvm_wrapper_common.py" "$MVM_ROOT/agent/wrappers/python/mvm_json.py" "$w/"
	cp "$MVM_ROOT/examples/hello/src/app.py" "$R/app/"
	chmod 0555 "$w/runner"
	echo /usr/lib/mvm/wrappers/runner >"$R/etc/mvm/entrypoint"
	printf '{"module":"app","function":"greet","format":"%s","working_dir":"%s/app","mode":"prod"}' "$fmt" "$R" >"$R/etc/mvm/wrapper.json"
	printf '{"language":"python","module":"app","function":"greet","format":"%s","source_path":"/app"}' "$fmt" >"$R/etc/mvm/runtime.json"
	chmod -R a+rX "$R"
}

# fake_qemu: MVM_QEMU and FAKE_QEMU_AGENT set so that vm-boot -b qemu
# "boots" $R: the agent speaks the mux over QEMU's chardev socket.
fake_qemu() {
	export MVM_QEMU=$MVM_ROOT/t/data/fake-qemu.py
	export FAKE_QEMU_AGENT="$MVM_ROOT/agent/mvm-agent --serial-stdio --root $R --wrapper-config $R/etc/mvm/wrapper.json --tmp $T/calls"
	# under root, QEMU (so the stand-in and its agent) runs as mvm-vmm (lib/vmm.h)
	[ "$(id -u)" != 0 ] || chown mvm-vmm "$T/calls"
}

# fake_firecracker [AGENT_OPTION...]: a stand-in firecracker in $T/bin that
# reads --config-file like the real one and serves the agent (mvm-agent
# --stdio, with the options given) on the config's vsock uds_path.
fake_firecracker() {
	cat >"$T/bin/firecracker" <<-EOF2
	#!/bin/sh
	# stand-in: firecracker --api-sock PATH --config-file FILE
	[ "\$1" = --api-sock ] && [ "\$3" = --config-file ] || exit 2
	cp "\$4" "$T/seen-config.json"
	sock=\$(jq -r .vsock.uds_path "\$4")
	exec "$MVM_ROOT/t/data/fake-vsock.py" "\$sock" -- "$MVM_ROOT/agent/mvm-agent" --stdio \
		--root "$R" --wrapper-config "$R/etc/mvm/wrapper.json" --tmp "$T/calls" $*
	EOF2
	chmod +x "$T/bin/firecracker"
}

# fake_image IR: $IMG, an image directory for IR (random bytes: nothing
# boots them), and $T/plan.dsse.json, a fresh signed plan for it.
fake_image() {
	IMG=$T/image
	mkdir -p "$IMG"
	head -c 65536 /dev/urandom >"$IMG/rootfs.ext4"
	head -c 4096 /dev/urandom >"$IMG/vmlinux"
	printf '{"backend":"test","ir_hash":"%s"}' "$(ir-hash "$1")" >"$IMG/mvm-meta.json"
	[ -e "$MVM_HOME/keys/host-signer.ed25519" ] || plan-keygen >/dev/null
	plan-new --image "$IMG" "$1" >"$T/plan.json"
	plan-sign "$T/plan.json" >"$T/plan.dsse.json"
}
