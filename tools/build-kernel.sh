#!/bin/sh
# build-kernel.sh — build the mvm guest kernel (an uncompressed, PVH-bootable
# vmlinux) from Debian's linux-source-6.1 and cache it; print its path.
#
# Usage: tools/build-kernel.sh [--print-key | --help]
#
# The kernel is `make tinyconfig` + mk/kernel/mvm.config, built out of tree in a
# temporary directory.  The result lands in
#     ${MVM_CACHE:-$HOME/.cache/mvm}/kernel/<key>/{vmlinux,config,version,inputs}
# where <key> is the SHA-256 of `inputs`: this script's recipe parameters, the
# source tarball's Debian package version (or the tarball's own SHA-256 when no
# package owns it), the compiler version and the config fragment's bytes.
# A cached kernel is reused without building.  Builds are serialized by flock on
# kernel/.lock, written into kernel/.tmp.* and renamed into place, so an
# interrupted or failed build leaves nothing half-made under <key>; a run killed
# outright (SIGKILL) leaves a kernel/.tmp.* that the next build removes.
#
#   --print-key   print the cache directory (kernel/<key>) and exit; no build
#   --help        this text
#
# Environment:
#   MVM_CACHE              cache root (default $HOME/.cache/mvm)
#   MVM_KERNEL_TARBALL     source (default /usr/src/linux-source-6.1.tar.xz)
#   MVM_KERNEL_CONFIG      fragment (default mk/kernel/mvm.config beside this script)
#   MVM_KERNEL_JOBS        make -j (default: number of CPUs); not part of the key
#
# Progress goes to stderr, the path to stdout.  Exit: 0 ok, 2 usage, 4 system or
# build failure (the tail of the build log is shown).
set -eu

prog=build-kernel.sh
# Bump when anything below changes what gets built.
RECIPE=1
KARCH=x86_64
KBASE=tinyconfig
KTARGET=vmlinux
# Fixed build identity, so `uname -v` does not depend on who built when.
KBUILD_BUILD_USER=mvm
KBUILD_BUILD_HOST=mvm
KBUILD_BUILD_TIMESTAMP='Thu Jan  1 00:00:00 UTC 1970'
KBUILD_BUILD_VERSION=1
export KBUILD_BUILD_USER KBUILD_BUILD_HOST KBUILD_BUILD_TIMESTAMP KBUILD_BUILD_VERSION

usage() {
	sed -n '2,/^set -eu$/{/^set -eu$/d;s/^# \{0,1\}//;p}' "$0"
}
die() { echo "$prog: fatal: $*" >&2; exit 4; }
say() { echo "$prog: $*" >&2; }

print_key=
case $# in
0) ;;
1)
	case $1 in
	--print-key) print_key=1 ;;
	--help | -h) usage; exit 0 ;;
	*) echo "$prog: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac ;;
*) echo "$prog: too many arguments" >&2; usage >&2; exit 2 ;;
esac

here=$(cd "$(dirname "$0")" && pwd) || die "unable to find own directory"
tarball=${MVM_KERNEL_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
fragment=${MVM_KERNEL_CONFIG:-$here/../mk/kernel/mvm.config}
cache=${MVM_CACHE:-${HOME:?HOME is not set}/.cache/mvm}/kernel

[ -r "$tarball" ] || die "unable to read source tarball $tarball"
[ -r "$fragment" ] || die "unable to read config fragment $fragment"
command -v sha256sum >/dev/null 2>&1 || die "missing tool: sha256sum"
command -v gcc >/dev/null 2>&1 || die "missing tool: gcc"

# The fragment as (option, value) pairs; `# CONFIG_X is not set` is value n.
# Anything else that is not a comment or blank is an error.
wanted=$(awk '
	/^CONFIG_[A-Za-z0-9_]+=/ { i = index($0, "="); print substr($0, 1, i - 1), substr($0, i + 1); next }
	/^# CONFIG_[A-Za-z0-9_]+ is not set$/ { print $2, "n"; next }
	/^[ \t]*(#.*)?$/ { next }
	{ printf "%s:%d: not a config line: %s\n", FILENAME, FNR, $0 > "/dev/stderr"; bad = 1 }
	END { exit bad }' "$fragment") || die "bad config fragment $fragment"

# What the source is: the Debian package version that owns the tarball.
srcid=
if pkg=$(dpkg-query -S "$tarball" 2>/dev/null | sed -n '1s/: .*//p') && [ -n "$pkg" ]; then
	ver=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null) && [ -n "$ver" ] &&
		srcid="debian-package $pkg $ver"
fi
if [ -z "$srcid" ]; then
	sum=$(sha256sum <"$tarball") || die "unable to hash $tarball"
	srcid="tarball-sha256 ${sum%% *}"
fi
ccver=$(gcc --version 2>/dev/null | sed -n 1p) || die "unable to run gcc"

inputs=$(
	printf 'mvm-kernel recipe %s\n' "$RECIPE"
	printf 'arch %s\nbase %s\ntarget %s\n' "$KARCH" "$KBASE" "$KTARGET"
	printf 'source %s\n' "$srcid"
	printf 'cc %s\n' "$ccver"
	printf 'kbuild %s@%s %s #%s\n' "$KBUILD_BUILD_USER" "$KBUILD_BUILD_HOST" \
		"$KBUILD_BUILD_TIMESTAMP" "$KBUILD_BUILD_VERSION"
	printf 'fragment\n'
	cat "$fragment"
) || die "unable to read $fragment"
key=$(printf '%s\n' "$inputs" | sha256sum) || die "unable to hash the inputs"
key=${key%% *}
dir=$cache/$key

if [ -n "$print_key" ]; then
	echo "$dir"
	exit 0
fi
if [ -f "$dir/vmlinux" ]; then
	echo "$dir/vmlinux"
	exit 0
fi

for t in sha256sum tar xz make gcc flex bison bc flock readelf; do
	command -v "$t" >/dev/null 2>&1 || die "missing tool: $t"
done
mkdir -p "$cache" || die "unable to create $cache"
exec 9>>"$cache/.lock" || die "unable to open $cache/.lock"
if ! flock -n 9; then
	say "waiting for another build (lock $cache/.lock)"
	flock 9 || die "unable to lock $cache/.lock"
fi
# Someone else may have built it while we waited.
if [ -f "$dir/vmlinux" ]; then
	echo "$dir/vmlinux"
	exit 0
fi
# We hold the lock, so any temporary directory left here is from a killed run.
for old in "$cache"/.tmp.*; do
	[ -e "$old" ] || continue
	say "removing stale $old"
	rm -rf "$old"
done

tmp=$(mktemp -d "$cache/.tmp.XXXXXX") || die "unable to create a temporary directory"
# Long steps run in the background so that a signal is handled at once: the
# trap stops the step (make passes SIGTERM on to its jobs) and removes $tmp.
child=
cleanup() { rm -rf "$tmp"; }
on_signal() {
	if [ -n "$child" ]; then
		kill -TERM "$child" 2>/dev/null || :
		wait "$child" 2>/dev/null || :
	fi
	say "interrupted; removing $tmp"
	cleanup
	trap - EXIT
	exit 4
}
trap cleanup EXIT
trap on_signal HUP INT TERM

log=$tmp/build.log
fail() {
	echo "$prog: fatal: $*; last lines of the build log:" >&2
	tail -n 40 "$log" >&2 || :
	exit 4
}
# run CMD... — run CMD (a command or kmake) with output to the log; its status.
run() {
	"$@" >>"$log" 2>&1 &
	child=$!
	st=0
	wait "$child" || st=$?
	child=
	return "$st"
}
# kmake ARGS... — make in the kernel tree; execs, so only call it in a subshell.
kmake() { exec make -C "$tmp/src" O="$tmp/out" ARCH="$KARCH" LOCALVERSION= "$@"; }
jobs=${MVM_KERNEL_JOBS:-$(nproc 2>/dev/null || echo 1)}
case $jobs in '' | *[!0-9]* | 0) die "MVM_KERNEL_JOBS must be a positive integer" ;; esac
start=$(date +%s)

say "key $key"
say "extracting $tarball"
mkdir "$tmp/src" "$tmp/out" "$tmp/result" || die "unable to create directories in $tmp"
run tar -xJf "$tarball" -C "$tmp/src" --strip-components=1 ||
	fail "unable to extract $tarball"

say "configuring: $KBASE + $(basename "$fragment")"
run kmake "$KBASE" &&
	run "$tmp/src/scripts/kconfig/merge_config.sh" -m -O "$tmp/out" "$tmp/out/.config" "$fragment" &&
	run kmake olddefconfig || fail "configuration failed"

# Every option the fragment asks for must have survived olddefconfig: an option
# whose dependencies are off is silently dropped.
missing=$(printf '%s\n' "$wanted" | while read -r opt val; do
	got=$(sed -n "s/^$opt=//p" "$tmp/out/.config")
	[ -n "$got" ] || got=n
	[ "$got" = "$val" ] || echo "  $opt: wanted $val, got $got"
done)
if [ -n "$missing" ]; then
	echo "$prog: fatal: the resulting .config differs from $fragment" \
		"(enable the options' dependencies):" >&2
	printf '%s\n' "$missing" >&2
	exit 4
fi

say "building $KTARGET with make -j$jobs (takes minutes; log in $log)"
run kmake -j"$jobs" "$KTARGET" || fail "kernel build failed"

# The PVH entry point is an ELF note (XEN_ELFNOTE_PHYS32_ENTRY, type 0x12).
readelf -n "$tmp/out/vmlinux" 2>/dev/null | grep -Eq 'Xen.*(0x0*12\b|PHYS32)' ||
	fail "vmlinux has no PVH entry note"

release=$(kmake -s kernelrelease 2>>"$log") || fail "unable to get the kernel release"
cp "$tmp/out/vmlinux" "$tmp/result/vmlinux" &&
	cp "$tmp/out/.config" "$tmp/result/config" &&
	printf '%s\n' "$release" >"$tmp/result/version" &&
	printf '%s\n' "$inputs" >"$tmp/result/inputs" || die "unable to write into $tmp/result"
sync "$tmp/result/vmlinux" "$tmp/result" 2>/dev/null || :
mv "$tmp/result" "$dir" || die "unable to move the result to $dir"

size=$(wc -c <"$dir/vmlinux")
say "built $release in $(($(date +%s) - start)) s, vmlinux $size bytes"
echo "$dir/vmlinux"
