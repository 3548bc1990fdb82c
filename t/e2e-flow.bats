#!/usr/bin/env bats
# The make loop a user lives in (mk/mvm.mk), in real QEMU microVMs (TCG
# here): an edit is what the next call runs; a failed boot does not wedge the
# directory; the entrypoint's format reaches vsock-call; mvmctl sees and stops
# what make started; lockfiles resolve from the declaration's directory; the
# include takes no generic names and runs nothing while make reads it.
# Three VMs boot in this file (hello, hello again after the edit, hello-mp:
# the seed's short declaration, which also shows that a lone function needs
# no primary=).

load helper

setup_file() {
	[ -z "${MVM_SANITIZE:-}" ] || return 0   # setup() skips every test
	export MVM_HOME="$BATS_FILE_TMPDIR/home"
	# W: the hello example; M: the seed's short Python declaration (a lone
	# function, no primary=, the source beside it), in msgpack, in a
	# subdirectory of the Makefile's (its source, ".", is that directory)
	W="$BATS_FILE_TMPDIR/hello"
	M="$BATS_FILE_TMPDIR/hello-mp"
	mkdir -p "$W" "$M/app"
	cp -R "$MVM_ROOT/examples/hello/." "$W/"
	rm -rf "$W/.mvm"
	seed_image_cache "$W/.mvm/image"   # the hello image, built once per run (t/helper.bash)
	cat >"$M/app/entry.py" <<-'EOF'
	import mvm
	@mvm.app( name="hello-mp", image=mvm.image.nix_packages(["python3"]), resources=mvm.resources(vcpus=1, memory_mb=256), dependencies=mvm.deps.none(),)
	@mvm.function(language="python", module="app", function="greet", format="msgpack")
	def greet(name: str) -> str: return f"hello, {name}"
	EOF
	cp "$W/src/app.py" "$M/app/"
	printf 'MVM := %s\nMVM_ENTRY := app/entry.py\ninclude $(MVM)/mk/mvm.mk\n' "$MVM_ROOT" >"$M/Makefile"
	echo "# the guest kernel: libexec/mvm-build-kernel (cached; minutes on a fresh machine)" >&3
	KERNEL=$("$MVM_ROOT/libexec/mvm-build-kernel")
	export W M KERNEL
	"$MVM_ROOT/bin/plan-keygen" >/dev/null
}

setup() {
	need_guest_agent
	export MVM_HOME="$BATS_FILE_TMPDIR/home"   # one home for the whole file
}

teardown_file() {
	# whatever a failed test left running
	for p in "$BATS_FILE_TMPDIR"/*/.mvm/run/*/pid; do
		[ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null || true
	done
}

mk() { # DIR target... : make in DIR with this checkout and the cached kernel
	local d=$1
	shift
	make --no-print-directory -C "$d" MVM="$MVM_ROOT" MVM_BUILD_OPTS="--kernel $KERNEL" "$@"
}
last_line() { printf '%s\n' "${lines[${#lines[@]} - 1]}"; }

@test "edit src/app.py: make mvm-invoke rebuilds, reboots and prints the new result" {
	run -0 mk "$W" mvm-invoke MVM_INPUT=name=Alice
	[ "$(last_line)" = 'hello, Alice' ] || fail "$output"
	[ -S "$W/.mvm/run/hello/v.sock" ]
	pid=$(cat "$W/.mvm/run/hello/pid")
	# nothing changed: the same VM answers
	run -0 mk "$W" mvm-invoke MVM_INPUT=name=Bob
	assert_line 'mvm-up: .mvm/run/hello runs the current IR and image'
	[ "$(last_line)" = 'hello, Bob' ]
	[ "$(cat "$W/.mvm/run/hello/pid")" = "$pid" ]
	# the source changes: a new image, the old VM stopped, a new one booted
	# (the new function also says what capabilities it and the agent hold)
	cat >"$W/src/app.py" <<-'PY'
	import os
	def caps(pid):
	    with open("/proc/%s/status" % pid) as f:
	        st = dict(l.split(":\t", 1) for l in f.read().splitlines())
	    return "Eff=%s Bnd=%s" % (st["CapEff"], st["CapBnd"])
	def greet(name):
	    return "hi, %s; caps %s; agent %s" % (name, caps("self"), caps(os.getppid()))
	PY
	run -0 mk "$W" mvm-invoke MVM_INPUT=name=Alice
	assert_line 'mvm-up: .mvm/run/hello runs another IR or image: stopping it'
	# the function: none, and none to gain; the agent: SETGID, SETUID and
	# KILL (0xe0), none to gain (issue 17)
	[ "$(last_line)" = 'hi, Alice; caps Eff=0000000000000000 Bnd=0000000000000000; agent Eff=00000000000000e0 Bnd=0000000000000000' ] ||
		fail "$output"
	run -1 kill -0 "$pid"
	# what vm-boot recorded: the new image
	[ "$(cat "$W/.mvm/run/hello/image")" = "$(realpath "$W/.mvm/image/$(cat "$W/.mvm/image.key")")" ]
}

@test "mvmctl ps lists the VM make started, and mvmctl down stops it" {
	cd "$W"
	[ -f .mvm/run/hello/pid ] && kill -0 "$(cat .mvm/run/hello/pid)" 2>/dev/null ||
		mk "$W" mvm-up >/dev/null
	pid=$(cat .mvm/run/hello/pid)
	run -0 mvmctl ps
	assert_line --regexp '^hello +[0-9]+ +\.mvm/run/hello/v\.sock +-$'
	run -0 mvmctl down hello
	run -1 kill -0 "$pid"
	run -0 mvmctl ps
	assert_output --regexp '^ID +PID +SOCKET +PORTS$'
	run -0 mk "$W" mvm-down
	assert_output 'mvm-down: nothing running'
}

@test "a failed boot leaves no spent plan in the way: the next make mvm-up boots" {
	run -2 env MVM_QEMU=false make --no-print-directory -C "$M" MVM="$MVM_ROOT" \
		MVM_BUILD_OPTS="--kernel $KERNEL" mvm-up
	assert_output --partial 'vm-boot: the VM did not come up'
	[ ! -e "$M/.mvm/run/hello-mp/v.sock" ]
	# no plan is left to be replayed, here or in .mvm/
	run -0 find "$M/.mvm" -maxdepth 3 -name 'plan*.json' ! -path '*/run/hello-mp/plan.json'
	assert_output ''
	run -0 mk "$M" mvm-up
	assert_line 'mvm-up: plan, sign and boot .mvm/run/hello-mp'
	[ "$(last_line)" = "$M/.mvm/run/hello-mp/v.sock" ]
	[ -S "$M/.mvm/run/hello-mp/v.sock" ]
	run -0 find "$M/.mvm" -maxdepth 3 -name 'plan.new*'
	assert_output ''
}

@test "a msgpack workload answers through make mvm-invoke; so does the seed's short declaration (no primary=)" {
	run -0 jq -c '.apps[0].entrypoints' "$M/.mvm/workload-ir.json"
	assert_output '[{"format":"msgpack","function":"greet","kind":"function","language":"python","module":"app","primary":false}]'
	run -0 jq -r '.apps[0].source.path' "$M/.mvm/workload-ir.json"
	assert_output .
	# the image's /app is the declaration's directory: nothing of .mvm/
	run -0 debugfs -R 'ls -p /app' "$M/.mvm/image/$(cat "$M/.mvm/image.key")/rootfs.ext4"
	assert_output --partial '/app.py/'
	assert_output --partial '/entry.py/'
	refute_output --partial 'Makefile'
	refute_output --partial '.mvm'
	run -0 mk "$M" mvm-invoke MVM_INPUT=name=Alice
	[ "$(last_line)" = 'hello, Alice' ] || fail "$output"
	# the guest takes msgpack only: the call in JSON (what make sent before) is refused
	run -2 vsock-call -s "$M/.mvm/run/hello-mp/v.sock" -f json -r greet --input name=Bob
	assert_output --partial '"kind":"decode_error"'
	run -0 mk "$M" mvm-down
	assert_output --regexp '^mvm: stopped \.mvm/run/'
}

@test "make mvm-validate finds the lockfile from the declaration's directory" {
	d="$BATS_TEST_TMPDIR/locked"
	mkdir -p "$d/src"
	cp "$MVM_ROOT/examples/hello/src/app.py" "$d/src/"
	cp "$MVM_ROOT/t/data/lockfiles/pip/requirements.txt" "$d/src/"
	sed 's/dependencies=mvm.deps.none()/dependencies=mvm.deps.python("requirements.txt", tool="pip_tools")/' \
		"$MVM_ROOT/examples/hello/entry.py" >"$d/entry.py"
	grep -q 'deps.python' "$d/entry.py"
	printf 'MVM := %s\ninclude $(MVM)/mk/mvm.mk\n' "$MVM_ROOT" >"$d/Makefile"
	run -0 mk "$d" mvm-validate
	refute_output --partial E_LOCKFILE_NOT_FOUND
	# and a declaration in a subdirectory: its directory, not make's
	mkdir -p "$d/sub"
	mv "$d/src" "$d/entry.py" "$d/sub/"
	rm -rf "$d/.mvm"
	run -0 mk "$d" mvm-validate MVM_ENTRY=sub/entry.py
	assert_output --partial 'ir-validate -C sub .mvm/workload-ir.json'
}

@test "mk/mvm.mk: no generic names, an include guard, nothing run while make reads it" {
	d="$BATS_TEST_TMPDIR/user"
	mkdir -p "$d"
	# a user's Makefile with targets and a variable of the names mvm.mk and
	# build.mk once took
	printf '%s\n' "MVM := $MVM_ROOT" 'INPUT := mine' 'include $(MVM)/mk/mvm.mk' \
		'include $(MVM)/mk/mvm.mk' 'validate up down invoke image admit audit-verify:' \
		'	@echo "user $@ $(INPUT)"' >"$d/Makefile"
	run -0 make --no-print-directory -C "$d" validate up down invoke image admit audit-verify
	assert_output - <<-'EOF'
	user validate mine
	user up mine
	user down mine
	user invoke mine
	user image mine
	user admit mine
	user audit-verify mine
	EOF
	# every shell make starts goes through SHELL: reading the rules starts none
	printf '#!/bin/sh\necho "$*" >>"%s/shell.log"\nexec /bin/sh "$@"\n' "$d" >"$d/logsh"
	chmod +x "$d/logsh"
	mkdir -p "$d/src"
	touch "$d/src/a.py" "$d/entry.py"
	run -0 make --no-print-directory -C "$d" SHELL="$d/logsh" -n mvm-down
	[ ! -e "$d/shell.log" ] || fail "shells run while reading: $(cat "$d/shell.log")"
	# the sources are still found, recursively, without a shell
	mkdir -p "$d/src/pkg"
	touch "$d/src/pkg/b.py"
	run -0 make --no-print-directory -C "$d" -p -n mvm-down
	assert_line --regexp '^\.mvm/workload-ir\.json: entry\.py src/(a\.py src/pkg/b\.py|pkg/b\.py src/a\.py)$'
}
