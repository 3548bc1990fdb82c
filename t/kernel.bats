#!/usr/bin/env bats
# t/kernel.bats — the mvm guest kernel (libexec/mvm-build-kernel) boots under QEMU
# (-M microvm, TCG) and talks to the host over a virtio-serial port named
# org.mvm.agent: once from an initramfs, once from an ext4 root on virtio-blk.
#
# The kernel is built if it is not cached (minutes).  With MVM_SKIP_KERNEL_BUILD
# set and no cached kernel, the tests are skipped.  Always TCG: /dev/kvm opens on
# this machine but guests hang under KVM (see mk/kernel/NOTES.md).

bats_require_minimum_version 1.5.0

if [ -f "$BATS_TEST_DIRNAME/helper.bash" ]; then
	load helper
fi

# Generous bounds that only guard against hangs; nothing here asserts speed.
READY_TIMEOUT=120
EXIT_TIMEOUT=60

setup_file() {
	local build=$BATS_TEST_DIRNAME/../libexec/mvm-build-kernel dir
	export KERNEL_SKIP='' VMLINUX=''
	if ! command -v qemu-system-x86_64 >/dev/null; then
		KERNEL_SKIP="qemu-system-x86_64 is not installed"
		return 0
	fi
	dir=$("$build" --print-key)
	if [ -f "$dir/vmlinux" ]; then
		VMLINUX=$dir/vmlinux
	elif [ -n "${MVM_SKIP_KERNEL_BUILD:-}" ]; then
		KERNEL_SKIP="kernel not cached ($dir) and MVM_SKIP_KERNEL_BUILD is set"
	else
		VMLINUX=$("$build")
	fi
}

setup() {
	[ -z "$KERNEL_SKIP" ] || skip "$KERNEL_SKIP"
	[ -x /bin/busybox ] || skip "no /bin/busybox (busybox-static)"
	command -v python3 >/dev/null || skip "no python3"
	QEMU_PID=
	T=$BATS_TEST_TMPDIR
}

teardown() {
	if [ -n "${QEMU_PID:-}" ] && kill -0 "$QEMU_PID" 2>/dev/null; then
		kill -KILL "$QEMU_PID" 2>/dev/null || :
		wait "$QEMU_PID" 2>/dev/null || :
	fi
	if [ -n "${BATS_TEST_COMPLETED:-}" ] || [ ! -f "$T/console.log" ]; then
		return 0
	fi
	echo "# --- guest console ($T/console.log):" >&3
	sed 's/^/# /' "$T/console.log" >&3
}

# make_root DIR — a busybox root with an /init that answers on org.mvm.agent:
# it writes "ready <uptime>", reads one line, writes "echo <LINE UPPERCASED>",
# waits for the host to hang up and reboots (which ends QEMU: -no-reboot).
make_root() {
	local root=$1 a
	mkdir -p "$root/bin" "$root/dev" "$root/proc" "$root/sys"
	cp /bin/busybox "$root/bin/busybox"
	for a in sh mount cat tr grep basename dirname reboot echo; do
		ln -s busybox "$root/bin/$a"
	done
	cat >"$root/init" <<-'EOF'
	#!/bin/sh
	export PATH=/bin
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	grep -q '^devtmpfs /dev ' /proc/mounts || mount -t devtmpfs devtmpfs /dev
	echo "mvm-init: cmdline: $(cat /proc/cmdline)"
	echo "mvm-init: rng: $(cat /sys/class/misc/hw_random/rng_current)"
	port=
	for n in /sys/class/virtio-ports/*/name; do
		[ -f "$n" ] && [ "$(cat "$n")" = org.mvm.agent ] &&
			port=/dev/$(basename "$(dirname "$n")")
	done
	if [ -z "$port" ]; then
		echo "mvm-init: no virtio port named org.mvm.agent"
		reboot -f
	fi
	echo "mvm-init: agent port $port"
	read -r up idle </proc/uptime
	exec 3<>"$port"
	# Blocks until the host side is connected.
	echo "ready $up" >&3
	read -r line <&3
	echo "echo $(echo "$line" | tr a-z A-Z)" >&3
	# Returns at EOF, once the host has hung up.
	read -r -t 30 line <&3
	echo "mvm-init: done"
	reboot -f
	EOF
	chmod 755 "$root/init"
}

# boot ARGS... — start QEMU in the background with the agent port and a
# serial console log; the caller adds the root (initrd or disk) and -append.
boot() {
	qemu-system-x86_64 \
		-M microvm,acpi=off,rtc=on -accel tcg -cpu max -m 256 -smp 1 \
		-nodefaults -no-user-config -nographic -no-reboot \
		-kernel "$VMLINUX" \
		-serial "file:$T/console.log" \
		-device virtio-serial-device \
		-chardev "socket,id=agent,path=$T/agent.sock,server=on,wait=off" \
		-device virtserialport,chardev=agent,name=org.mvm.agent \
		-device virtio-rng-device \
		"$@" </dev/null >"$T/qemu.out" 2>&1 3>&- &
	QEMU_PID=$!
}

# handshake — connect to the agent socket, print the guest's first line, send
# a line, print the reply, hang up.
handshake() {
	python3 - "$T/agent.sock" "$READY_TIMEOUT" <<-'EOF'
	import socket, sys, time
	path, limit = sys.argv[1], float(sys.argv[2])
	deadline = time.monotonic() + limit
	s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
	while True:
	    try:
	        s.connect(path)
	        break
	    except (FileNotFoundError, ConnectionRefusedError):
	        if time.monotonic() > deadline:
	            sys.exit("handshake: no socket " + path)
	        time.sleep(0.01)
	buf = b""
	def line():
	    global buf
	    while b"\n" not in buf:
	        left = deadline - time.monotonic()
	        if left <= 0:
	            sys.exit("handshake: timed out; got %r" % buf)
	        s.settimeout(left)
	        chunk = s.recv(4096)
	        if not chunk:
	            sys.exit("handshake: EOF; got %r" % buf)
	        buf += chunk
	    l, _, buf = buf.partition(b"\n")
	    return l.decode()
	print(line(), flush=True)
	s.sendall(b"hello from the host\n")
	print(line(), flush=True)
	s.close()
	EOF
}

# wait_exit — QEMU must end by itself (the guest rebooted) within EXIT_TIMEOUT.
wait_exit() {
	local i=0 status=0
	while kill -0 "$QEMU_PID" 2>/dev/null; do
		i=$((i + 1))
		if [ "$i" -gt $((EXIT_TIMEOUT * 10)) ]; then
			echo "QEMU still running after ${EXIT_TIMEOUT}s" >&2
			return 1
		fi
		sleep 0.1
	done
	wait "$QEMU_PID" || status=$?
	QEMU_PID=
	cat "$T/qemu.out" >&2
	[ "$status" -eq 0 ]
}

check_handshake() {
	[ "${#lines[@]}" -eq 2 ]
	[[ ${lines[0]} =~ ^ready\ [0-9]+\.[0-9]+$ ]]
	[ "${lines[1]}" = "echo HELLO FROM THE HOST" ]
}

@test "kernel: cached vmlinux with its config and version" {
	local dir
	dir=$(dirname "$VMLINUX")
	[ -s "$VMLINUX" ]
	[ -s "$dir/config" ]
	[ -s "$dir/version" ]
	# A second run reuses the cache and prints the same path.
	run -0 "$BATS_TEST_DIRNAME/../libexec/mvm-build-kernel"
	[ "$output" = "$VMLINUX" ]
	run -0 "$BATS_TEST_DIRNAME/../libexec/mvm-build-kernel" --print-key
	[ "$output" = "$dir" ]
	# Every source patch in mk/kernel is named in the key's inputs, with its
	# first hunk's header (the script puts each patch's bytes there).
	for p in "$BATS_TEST_DIRNAME"/../mk/kernel/*.patch; do
		grep -qx "patch $(basename "$p")" "$dir/inputs"
		grep -qxF "$(sed -n 3p "$p")" "$dir/inputs"
	done
	grep -qx 'CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES=y' "$dir/config"
	grep -qx '# CONFIG_PCI is not set' "$dir/config"
}

@test "kernel: boots an initramfs and answers on virtio-serial" {
	make_root "$T/root"
	(cd "$T/root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$T/initrd.cpio"
	boot -initrd "$T/initrd.cpio" -append 'console=ttyS0 reboot=t panic=-1 quiet'
	run -0 handshake
	echo "$output"
	check_handshake
	wait_exit
	# QEMU announced the virtio-mmio devices on the kernel command line itself.
	grep -q 'mvm-init: cmdline: .*virtio_mmio.device=512@0x' "$T/console.log"
	grep -q 'mvm-init: rng: virtio_rng' "$T/console.log"
	grep -q 'mvm-init: done' "$T/console.log"
}

@test "kernel: boots an ext4 root on virtio-blk and answers on virtio-serial" {
	command -v mke2fs >/dev/null || skip "no mke2fs (e2fsprogs)"
	make_root "$T/root"
	mke2fs -q -F -t ext4 -d "$T/root" -E root_owner=0:0 "$T/root.ext4" 16M
	boot -drive "id=root,file=$T/root.ext4,format=raw,if=none,readonly=on" \
		-device virtio-blk-device,drive=root \
		-append 'console=ttyS0 reboot=t panic=-1 quiet root=/dev/vda ro rootfstype=ext4 init=/init'
	run -0 handshake
	echo "$output"
	check_handshake
	wait_exit
	grep -q 'mvm-init: done' "$T/console.log"
}
