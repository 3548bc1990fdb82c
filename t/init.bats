#!/usr/bin/env bats
# init: the guest's PID 1 (mvm-agent called as init, agent/init.c), run on
# the host against a fake root (MVM_INIT_ROOT), as a dry run and for real in
# a PID + mount namespace.

load helper

setup() {
	# /sbin/init is a link to the agent, which runs init when called so
	INIT=$BATS_TEST_TMPDIR/init
	ln -s "$MVM_ROOT/agent/mvm-agent" "$INIT"
	R=$BATS_TEST_TMPDIR/root
	mkdir -p "$R/sys/block/vdb" "$R/sys/block/vdc" "$R/sys/block/vdd" "$R/sys/block/vde" \
		"$R/sys/class/virtio-ports/vport1p1" "$R/proc" "$R/etc/mvm"
	echo mvm-m0 >"$R/sys/block/vdb/serial"
	echo mvm-secrets >"$R/sys/block/vdc/serial"
	echo mvm-m2 >"$R/sys/block/vdd/serial"
	echo something-else >"$R/sys/block/vde/serial"
	# ir-lower's table (mvm-lower(5)): a config drive, a tmpfs, a volume, and
	# one whose drive is not attached
	printf '%s\n' 'm0 /mnt/config ro drive' '- /scratch rw tmpfs 8' 'm2 /var/data rw drive' \
		'm3 /mnt/gone ro drive' >"$R/etc/mvm/mounts"
	echo org.mvm.agent >"$R/sys/class/virtio-ports/vport1p1/name"
	echo "console=ttyS0 reboot=t mvm.hostname=fn-1 mvm.seccomp=unrestricted" >"$R/proc/cmdline"
	echo "0.42 0.10" >"$R/proc/uptime"
	echo 'root:x:0:0:root:/root:/bin/sh' >"$R/etc/passwd"
}

dry() { MVM_INIT_ROOT=$R MVM_INIT_DRYRUN=1 "$INIT"; }

# For real: init as PID 1 of new PID, mount and UTS namespaces (--uts: it
# writes the hostname, which must not be the host's), with the stub agent
# $BATS_TEST_TMPDIR/agent, no drives.
need_namespaces() {
	[ "$(id -u)" = 0 ] || skip "needs root for mount and PID namespaces"
	[ "$(unshare --pid --fork --mount --uts --propagation private busybox sh -c 'echo $$' 2>/dev/null)" = 1 ] ||
		skip "cannot create PID and mount namespaces here"
	rm -r "$R/sys/block"
}

for_real() {
	chmod +x "$BATS_TEST_TMPDIR/agent"
	run -0 timeout 60 unshare --pid --fork --mount --uts --propagation private \
		env MVM_INIT_ROOT="$R" MVM_AGENT="$BATS_TEST_TMPDIR/agent" MVM_INIT_TRANSPORT=--vsock \
		"$INIT"
}

@test "dry run: mounts, hostname, users checked, /etc read-only, /etc/mvm/mounts by serial, agent on the virtio port" {
	run -0 dry
	assert_output - <<-EOF
	+ mkdir -p $R/dev $R/tmp $R/run
	+ mount -t proc -o nosuid,nodev,noexec proc $R/proc
	mvm-init: starting at 0.42 s
	+ mount -t devtmpfs -o nosuid,mode=0755 devtmpfs $R/dev
	+ mkdir -p $R/dev/pts $R/dev/shm
	+ mount -t sysfs -o nosuid,nodev,noexec sysfs $R/sys
	+ mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 $R/sys/fs/cgroup
	+ mount -t devpts -o nosuid,noexec,mode=0620,gid=5,ptmxmode=0666 devpts $R/dev/pts
	+ mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs $R/dev/shm
	+ mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs $R/tmp
	+ mount -t tmpfs -o nosuid,nodev,mode=0755 tmpfs $R/run
	+ mount -t tmpfs -o nosuid,nodev,noexec,mode=0700,uid=1000,gid=1000,size=1m tmpfs $R/mnt/secrets
	+ ln -s /proc/self/fd $R/dev/fd
	+ ln -s /proc/self/fd/0 $R/dev/stdin
	+ ln -s /proc/self/fd/1 $R/dev/stdout
	+ ln -s /proc/self/fd/2 $R/dev/stderr
	+ echo fn-1 >$R/proc/sys/kernel/hostname
	mvm-init: hostname fn-1
	mvm-init: warning: /etc/passwd names no mvm-agent or no mvm-worker (the agent uses uids 990 and 1000 all the same)
	mvm-init: warning: /etc/group names no mvm-agent or no mvm-worker (the agent uses uids 990 and 1000 all the same)
	+ mount --bind $R/etc $R/etc
	+ mount -o remount,bind,ro,nosuid,nodev $R/etc
	+ mount -t ext4 -o ro,nodev,nosuid,noexec $R/dev/vdb $R/mnt/config
	mvm-init: drive /dev/vdb (mvm-m0) on /mnt/config (ro)
	+ mount -t tmpfs -o rw,nodev,nosuid,noexec,size=8m,mode=1777 tmpfs $R/scratch
	mvm-init: tmpfs on /scratch (rw, 8 MiB)
	+ mount -t ext4 -o rw,nodev,nosuid,noexec $R/dev/vdd $R/var/data
	mvm-init: drive /dev/vdd (mvm-m2) on /var/data (rw)
	mvm-init: mounts: no drive mvm-m3 for /mnt/gone
	mvm-init: network interfaces: none
	+ $R/usr/bin/mvm-agent --serial auto --provision --user 990:990 --run-uid 1000:1000 --root $R
	+ wait forever
	EOF
}

@test "dry run: the virtio port wins over /dev/vsock, which is used without one; users present are not warned of; no drives, no cmdline; /dev mounted already" {
	mkdir -p "$R/dev" "$R/tmp" "$R/run"
	: >"$R/dev/vsock"
	run -0 dry
	assert_line --partial "/usr/bin/mvm-agent --serial auto "
	rm -r "$R/sys/class"
	printf 'root:x:0:0::/:/bin/sh\nmvm-agent:x:990:990::/:/bin/false\nmvm-worker:x:1000:1000::/:/bin/false\n' >"$R/etc/passwd"
	printf 'mvm-agent:x:990:\nmvm-worker:x:1000:\n' >"$R/etc/group"
	rm -r "$R/sys/block" "$R/proc/cmdline" "$R/etc/mvm/mounts"
	echo fn-name >"$R/etc/mvm/name"
	: >"$R/dev/null"
	run -0 dry
	refute_output --partial "warning"
	refute_output --partial "mvm-init: drive"
	refute_output --partial "devtmpfs"
	refute_output --partial "mkdir -p $R/dev "
	assert_line "+ mkdir -p $R/dev/pts $R/dev/shm"
	assert_line "+ echo fn-name >$R/proc/sys/kernel/hostname"
	assert_line "+ $R/usr/bin/mvm-agent --vsock --provision --user 990:990 --run-uid 1000:1000 --root $R"
}

@test "dry run: /etc on a read-only mount (the guest's root is mounted ro) is not bound again" {
	run -0 dry
	assert_line "+ mount --bind $R/etc $R/etc"
	printf '/dev/root / ext4 ro,relatime 0 0\nproc %s/proc proc rw 0 0\n' "$R" >"$R/proc/mounts"
	run -0 dry
	refute_output --partial "$R/etc"
	printf '/dev/root / ext4 rw 0 0\n/dev/vdx %s/etc ext4 ro 0 0\n' "$R" >"$R/proc/mounts"
	run -0 dry
	refute_output --partial "$R/etc"
	# the innermost mount decides: a writable one on a read-only root
	printf '/dev/root / ext4 ro 0 0\n/dev/vdx %s/etc ext4 rw,noatime 0 0\n' "$R" >"$R/proc/mounts"
	run -0 dry
	assert_line "+ mount --bind $R/etc $R/etc"
}

@test "dry run: hostile command-line values are not used; the seccomp tier never comes from it" {
	echo 'mvm.hostname=a;reboot mvm.seccomp=unrestricted' >"$R/proc/cmdline"
	run -0 dry
	assert_line "+ echo mvm >$R/proc/sys/kernel/hostname"
	refute_output --partial "--seccomp"
	assert_line --partial " --provision "
}

@test "dry run: a hostile /etc/mvm/mounts line is skipped" {
	printf '%s\n' 'm0 relative ro drive' 'x;y /mnt/a ro drive' 'm0 /mnt/b rx drive' '- /mnt/c rw tmpfs 8;reboot' \
		'- /mnt/../etc rw tmpfs 8' '- /mnt/.. rw tmpfs 8' >"$R/etc/mvm/mounts"
	run -0 dry
	assert_line "mvm-init: mounts: bad target relative"
	assert_line "mvm-init: mounts: bad target /mnt/../etc"
	assert_line "mvm-init: mounts: bad target /mnt/.."
	refute_line --partial "tmpfs on /mnt/.."
	assert_line "mvm-init: mounts: bad role x;y"
	assert_line "mvm-init: mounts: bad mode for /mnt/b"
	assert_line "mvm-init: mounts: bad size for /mnt/c"
	refute_output --partial "mvm-init: drive"
}

@test "dry run: no transport for the agent is an error" {
	rm -r "$R/sys/class"
	run -1 dry
	assert_line "mvm-init: no agent transport (neither /dev/vsock nor a virtio port org.mvm.agent)"
	assert_line "mvm-init: cannot start the agent"
}

@test "refuses to run outside a guest when not PID 1" {
	run -2 "$INIT"
	assert_output "mvm-init: not PID 1; refusing to run (set MVM_INIT_ROOT for tests)"
}

@test "for real, as PID 1 of a PID and mount namespace: mounts, starts the agent, reaps orphans, stops it on SIGTERM" {
	need_namespaces
	mkdir -p "$R/mnt/secrets"
	# a stub agent: records its argv and what is mounted, then asks PID 1 to stop
	cat >"$BATS_TEST_TMPDIR/agent" <<-EOF
	#!/bin/sh
	echo "argv: \$*" >"$BATS_TEST_TMPDIR/agent.out"
	grep -c " $R/" /proc/self/mountinfo >>"$BATS_TEST_TMPDIR/agent.out"
	grep " $R/" /proc/self/mountinfo >"$BATS_TEST_TMPDIR/mounts"
	id -u >>"$BATS_TEST_TMPDIR/agent.out"
	# an orphan for PID 1 to reap while it waits for the agent
	( sleep 0.2 & )
	sleep 1
	# (init's own proc, of the PID namespace: /proc here is the host's, whose
	# zombies, from tests running beside this one, are not init's to reap)
	grep -l '^State:.*Z' $R/proc/[0-9]*/status 2>/dev/null | wc -l >>"$BATS_TEST_TMPDIR/agent.out"
	kill -TERM 1
	exec sleep 300
	EOF
	for_real
	assert_line --regexp '^mvm-init: agent started at [0-9.]+ s$'
	assert_line --regexp '^mvm-init: shutting down at [0-9.]+ s$'
	assert_line "mvm-init: reboot -f (not PID 1 of a guest: exiting instead)"
	run -0 cat "$BATS_TEST_TMPDIR/agent.out"
	# (the real /proc is mounted over the fake one: the host's command line has no mvm.*)
	assert_line --index 0 "argv: --vsock --provision --user 990:990 --run-uid 1000:1000 --root $R"
	# proc, sys, dev, dev/pts, dev/shm, tmp, run, mnt/secrets and /etc (bind)
	[ "${lines[1]}" -ge 9 ]
	assert_line --index 2 0
	# no zombie: the orphan was reaped
	assert_line --index 3 0
	# the stub was stopped with the namespace: nothing left
	run -1 pgrep -f "$BATS_TEST_TMPDIR/agent"
	# each mount with its flags and its file system's options (mountinfo:
	# field 5 the mount point, 6 the mount's flags; after " - " the type,
	# the source and the super block's options)
	run -0 awk -v m="$R/mnt/secrets" '$5 == m { print $6, $(NF-2), $NF }' "$BATS_TEST_TMPDIR/mounts"
	assert_output --regexp '^rw,nosuid,nodev,noexec[^ ]* tmpfs rw,size=1024k,mode=700,uid=1000,gid=1000'
	run -0 awk -v m="$R/run" '$5 == m { print $6, $(NF-2), $NF }' "$BATS_TEST_TMPDIR/mounts"
	assert_output --regexp '^rw,nosuid,nodev,[^ ]* tmpfs rw,mode=755$'
	run -0 awk -v m="$R/etc" '$5 == m { print $6 }' "$BATS_TEST_TMPDIR/mounts"
	assert_output --regexp '^ro,nosuid,nodev'
	run -0 awk -v m="$R/proc" '$5 == m { print $6, $(NF-2) }' "$BATS_TEST_TMPDIR/mounts"
	assert_output --regexp '^rw,nosuid,nodev,noexec[^ ]* proc$'
}

@test "dry run: without a virtio serial (Firecracker), a drive is found by its ext4 label" {
	command -v mke2fs >/dev/null || skip "mke2fs missing (e2fsprogs)"
	rm "$R"/sys/block/*/serial
	mkdir -p "$R/dev"
	# vdb: another label; vdc: the config drive's; vdd: not ext4
	mke2fs -q -t ext4 -L mvm-other "$R/dev/vdb" 1M
	mke2fs -q -t ext4 -L mvm-m0 "$R/dev/vdc" 1M
	head -c 4096 /dev/zero >"$R/dev/vdd"
	printf 'm0 /mnt/config ro drive\nm2 /var/data rw drive\n' >"$R/etc/mvm/mounts"
	run -0 dry
	assert_line "+ mount -t ext4 -o ro,nodev,nosuid,noexec $R/dev/vdc $R/mnt/config"
	assert_line "mvm-init: drive /dev/vdc (mvm-m0) on /mnt/config (ro)"
	assert_line "mvm-init: mounts: no drive mvm-m2 for /var/data"
	# one drive only (the root): no label is looked for
	rm -r "$R/sys/block/vdc" "$R/sys/block/vdd" "$R/sys/block/vde"
	run -0 dry
	assert_line "mvm-init: mounts: no drive mvm-m0 for /mnt/config"
}

@test "for real: an agent that exits is started again, two seconds later" {
	need_namespaces
	# the first start exits 3; the second asks PID 1 to stop
	cat >"$BATS_TEST_TMPDIR/agent" <<-EOF
	#!/bin/sh
	if [ ! -e "$BATS_TEST_TMPDIR/once" ]; then : >"$BATS_TEST_TMPDIR/once"; exit 3; fi
	echo second >"$BATS_TEST_TMPDIR/agent.out"
	kill -TERM 1
	exec sleep 300
	EOF
	for_real
	assert_line "mvm-init: agent exited with status 3; restarting"
	[ "$(grep -c '^mvm-init: agent started at' <<<"$output")" = 2 ]
	assert_line --regexp '^mvm-init: shutting down at [0-9.]+ s$'
	run -0 cat "$BATS_TEST_TMPDIR/agent.out"
	assert_output second
	run -1 pgrep -f "$BATS_TEST_TMPDIR/agent"
}

@test "for real: an agent that exits 80 (the host asked for a shutdown) stops the guest" {
	need_namespaces
	printf '#!/bin/sh\nexit 80\n' >"$BATS_TEST_TMPDIR/agent"
	for_real
	[ "$(grep -c '^mvm-init: agent started at' <<<"$output")" = 1 ]
	refute_output --partial "restarting"
	assert_line --regexp '^mvm-init: shutting down at [0-9.]+ s$'
	assert_line "mvm-init: reboot -f (not PID 1 of a guest: exiting instead)"
}

@test "dry run (issue #16): mvm.ip= configures lo and eth0; service.json is the agent's --service (it starts it once provisioned); a bad mvm.ip is ignored" {
	echo "console=ttyS0 mvm.ip=10.0.2.15/24" >"$R/proc/cmdline"
	echo '{"command":["true"]}' >"$R/etc/mvm/service.json"
	mkdir -p "$R/sys/class/net/lo" "$R/sys/class/net/eth0"
	run -0 dry
	assert_line "mvm-init: network interfaces: eth0 lo"
	assert_line "+ ip link set lo up"
	assert_line "+ ip addr add 10.0.2.15/24 dev eth0"
	assert_line "+ ip link set eth0 up"
	assert_line "mvm-init: eth0 10.0.2.15/24"
	# no supervisor of its own: the agent's option, after --provision
	assert_line --regexp "^\+ $R/usr/bin/mvm-agent .*--provision .*--service $R/etc/mvm/service.json( |\$)"
	run -0 grep -c -e '--service' <<<"$output"
	assert_output 1
	echo "console=ttyS0 mvm.ip=10.0.2.15;reboot" >"$R/proc/cmdline"
	rm "$R/etc/mvm/service.json"
	run -0 dry
	assert_line "mvm-init: ignoring mvm.ip=10.0.2.15;reboot (not A.B.C.D/N)"
	refute_line --partial "ip addr"
	refute_line --partial "--service"
}

@test "dry run (issue #16): /etc/mvm/egress.json brings lo up (no NIC) and starts the agent with --egress-proxy; without it, neither" {
	echo '{"allowlist":[]}' >"$R/etc/mvm/egress.json"
	mkdir -p "$R/sys/class/net/lo"
	run -0 dry
	assert_line "mvm-init: network interfaces: lo"
	assert_line "+ ip link set lo up"
	assert_line --regexp "^\\+ $R/usr/bin/mvm-agent .*--run-uid 1000:1000 --egress-proxy( |\$)"
	rm "$R/etc/mvm/egress.json"
	run -0 dry
	refute_line "+ ip link set lo up"
	refute_line --partial "--egress-proxy"
}

@test "dry run (issue #17): a config drive listed in /etc/mvm/verity is mounted only through its dm-verity mapping" {
	root=$(printf 'ab%.0s' $(seq 32)) salt=$(printf 'cd%.0s' $(seq 32))
	echo "m0 3 $root $salt" >"$R/etc/mvm/verity"
	run -0 dry
	assert_line "+ $R/usr/bin/mvm-agent --dm-verity mvm-m0 /dev/vdb 3 $root $salt"
	assert_line "+ mount -t ext4 -o ro,nodev,nosuid,noexec $R/dev/mapper/mvm-m0 $R/mnt/config"
	refute_line --partial "$R/dev/vdb $R/mnt/config"
	# a volume not listed there is mounted as it is
	assert_line "+ mount -t ext4 -o rw,nodev,nosuid,noexec $R/dev/vdd $R/var/data"
}

@test "dry run (issue #17): the deps volume listed in /etc/mvm/verity is mounted at /mnt/deps only through its dm-verity mapping" {
	root=$(printf 'ef%.0s' $(seq 32)) salt=$(printf '01%.0s' $(seq 32))
	mkdir -p "$R/sys/block/vdf"
	echo mvm-deps >"$R/sys/block/vdf/serial"
	echo "deps 7 $root $salt" >"$R/etc/mvm/verity"
	run -0 dry
	assert_line "+ $R/usr/bin/mvm-agent --dm-verity mvm-deps /dev/vdf 7 $root $salt"
	assert_line "+ mount -t ext4 -o ro,nosuid,nodev $R/dev/mapper/mvm-deps $R/mnt/deps"
	refute_line --partial "$R/dev/vdf $R/mnt/deps"
}
