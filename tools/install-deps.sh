#!/bin/sh
# install-deps.sh — install the Debian packages mvm builds and tests with.
# Installs only what is missing; runs apt-get as root, or through sudo.
# Usage: tools/install-deps.sh [--check]   (--check: list what is missing, exit 1 if any)
set -eu

PKGS="
build-essential pkg-config clang libclang-rt-14-dev
libsodium-dev libseccomp-dev musl-tools libyaml-dev
bats bats-assert bats-support parallel jq mandoc hyperfine
nodejs npm python3 python3-jsonschema python3-nacl python3-msgpack
zlib1g-dev curl
qemu-system-x86 e2fsprogs busybox-static mmdebstrap cpio xz-utils cryptsetup-bin
linux-source-6.1 flex bison bc libelf-dev libssl-dev
nix-bin
munge slurmctld slurmd slurm-client
"
# Daemons the packages above would start and enable: the tests run their own
# (tools/slurm-test-cluster, with its own key, socket, ports and slurm.conf),
# and a machine that did not have them gets none started or enabled for boot.
DAEMONS="munge slurmctld slurmd"

missing=
for p in $PKGS; do
	s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case $s in
	"install ok installed") ;;
	*) missing="$missing $p" ;;
	esac
done
# nodejs may come from elsewhere than Debian (a newer node on PATH): accept it.
if command -v node >/dev/null 2>&1; then
	missing=$(echo "$missing" | tr ' ' '\n' | grep -vx 'nodejs\|npm' | tr '\n' ' ')
fi
missing=$(echo $missing)

# vm-boot run as root runs QEMU as this user (vm-boot(1), lib/vmm.h).
vmm_user=mvm-vmm
getent passwd "$vmm_user" >/dev/null 2>&1 || missing_user=$vmm_user

if [ "${1:-}" = --check ]; then
	[ -z "$missing" ] && [ -z "${missing_user:-}" ] && exit 0
	echo "missing: $missing${missing_user:+ (user $missing_user)}"
	exit 1
fi
if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi
if [ -n "${missing_user:-}" ]; then
	echo "install-deps: creating the system user $missing_user (QEMU runs as it under root)" >&2
	$SUDO useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
		--user-group "$missing_user"
fi
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing" >&2
$SUDO apt-get update -qq
# No service starts during the install: a policy-rc.d that denies (invoke-rc.d
# and deb-systemd-invoke honour it), unless the machine has one of its own.
policy=
if [ ! -e /usr/sbin/policy-rc.d ]; then
	policy=/usr/sbin/policy-rc.d
	trap '$SUDO rm -f "$policy"' EXIT
	trap 'exit 130' INT TERM
	printf '#!/bin/sh\n# tools/install-deps.sh, during its apt-get install only\nexit 101\n' |
		$SUDO tee $policy >/dev/null
	$SUDO chmod 755 $policy
fi
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >&2
[ -z "$policy" ] || { $SUDO rm -f "$policy"; trap - EXIT INT TERM; }
# ... and those installed just now are not enabled at boot either
for d in $DAEMONS; do
	case " $missing " in *" $d "*) ;; *) continue ;; esac
	# update-rc.d disable also removes the systemd unit's wants/ link
	if [ -e "/etc/init.d/$d" ] && command -v update-rc.d >/dev/null 2>&1; then
		$SUDO update-rc.d "$d" disable >/dev/null 2>&1 || true
	fi
done
