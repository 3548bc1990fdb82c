#!/usr/bin/env bats
# The lockfile checks of ir-validate (lib/lock*.c) and of the Python SDK
# (sdk/python/mvm/_lockfile.py) agree: the same IR over the same lockfiles
# gives the same codes and details from both.  The cases are the real
# lockfiles of t/data/lockfiles and variants for each of the checker's
# fixes of issue 14 (uv sdist with only a hash, npm integrity and
# resolved/version, pip -r/-c includes checked through, the lockfile
# confined to the source tree, names quoted only up to free text).

load helper

LOCKS="$MVM_ROOT/t/data/lockfiles"
HEX64=$(printf 'a%.0s' {1..64})
SRI="sha512-$(printf 'A%.0s' {1..86})=="

# case NAME KIND TOOL LOCKFILE: an IR in $BATS_TEST_TMPDIR/NAME whose source is src/
case_ir() {
	mkdir -p "$BATS_TEST_TMPDIR/$1/src"
	printf '{"schema_version":"0.1","id":"t","apps":[{"name":"t","source":{"kind":"local_path","path":"src"},"image":{"kind":"nix_packages","packages":["python3"]},"entrypoints":[{"kind":"function","language":"python","module":"app","function":"f","format":"json"}],"resources":{"vcpus":1,"memory_mb":64},"dependencies":{"kind":"%s","tool":"%s","lockfile":"%s"}}],"volumes":[],"extensions":{}}' \
		"$2" "$3" "$4" >"$BATS_TEST_TMPDIR/$1/ir.json"
	echo "$1" >>"$BATS_TEST_TMPDIR/cases"
}

# Both checkers on every case: "CODE at POINTER: detail" lines, or "valid".
agree() {
	local n=0 c
	while read -r c; do
		cd "$BATS_TEST_TMPDIR/$c"
		run ir-validate ir.json
		[ "$status" -le 1 ] || fail "$c: ir-validate exit $status: $output"
		local want=${output//"ir-validate: ir.json: "/}
		[ -n "$want" ] || want=valid
		run -0 env PYTHONPATH="$MVM_ROOT/sdk/python" PYTHONIOENCODING=utf-8 python3 -c '
import json, sys
from mvm import _ir
errs = _ir.check(json.load(open("ir.json")), base_dir=".")
print("\n".join("%s at %s: %s" % e for e in errs) or "valid")'
		[ "$output" = "$want" ] || fail "$c: the SDK says
$output
ir-validate says
$want"
		n=$((n + 1))
	done <"$BATS_TEST_TMPDIR/cases"
	echo "# $n cases agree" >&3
	[ "$n" -ge "${1:-1}" ]
}

@test "the real lockfiles and their unpinned variants: the same verdicts and details" {
	local d f tool kind
	for d in "$LOCKS"/*/; do
		d=$(basename "$d")
		for f in uv.lock requirements.txt package-lock.json pnpm-lock.yaml yarn.lock; do
			[ -f "$LOCKS/$d/$f" ] || continue
			case $f in
			uv.lock) kind=python tool=uv ;; requirements.txt) kind=python tool=pip_tools ;;
			package-lock.json) kind=node tool=npm ;; pnpm-lock.yaml) kind=node tool=pnpm ;;
			yarn.lock) kind=node tool=yarn ;;
			esac
			case_ir "$d" "$kind" "$tool" "$f"
			cp "$LOCKS/$d/$f" "$BATS_TEST_TMPDIR/$d/src/"
		done
	done
	agree 12
}

@test "issue 14's checker fixes: both say the same on each" {
	local s
	# uv: a direct-URL source whose sdist carries only its hash is pinned; a git source by its commit
	case_ir uv-hash-only python uv uv.lock
	printf 'version = 1\n\n[[package]]\nname = "a"\nversion = "1"\nsource = { url = "https://x.example/a-1.tar.gz" }\nsdist = { hash = "sha256:%s" }\n' \
		"$HEX64" >"$BATS_TEST_TMPDIR/uv-hash-only/src/uv.lock"
	case_ir uv-git python uv uv.lock
	printf '[[package]]\nname = "g"\nversion = "1"\nsource = { git = "https://x/g.git?rev=main#%s" }\n[[package]]\nname = "h"\nversion = "1"\nsource = { registry = "https://pypi.org/simple" }\n' \
		"${HEX64:0:40}" >"$BATS_TEST_TMPDIR/uv-git/src/uv.lock"
	# npm: integrity required; without resolved a version is; resolved must be https: or file:
	case_ir npm-noversion node npm package-lock.json
	printf '{"lockfileVersion":3,"packages":{"":{},"node_modules/b":{"integrity":"%s"}}}' "$SRI" \
		>"$BATS_TEST_TMPDIR/npm-noversion/src/package-lock.json"
	case_ir npm-http node npm package-lock.json
	printf '{"lockfileVersion":3,"packages":{"":{},"node_modules/a":{"link":true},"node_modules/b":{"version":"1.0.0","resolved":"http://r.example/b.tgz","integrity":"%s"}}}' "$SRI" \
		>"$BATS_TEST_TMPDIR/npm-http/src/package-lock.json"
	case_ir npm-v2 node npm package-lock.json
	printf '{"lockfileVersion":2,"packages":{}}' >"$BATS_TEST_TMPDIR/npm-v2/src/package-lock.json"
	# pip: includes checked through (pinned, unpinned, outside the tree, a URL), editables
	case_ir pip-include python pip_tools requirements.txt
	s=$BATS_TEST_TMPDIR/pip-include/src
	mkdir -p "$s/sub"
	printf -- '-r sub/base.txt\n-c sub/c.txt\n' >"$s/requirements.txt"
	printf 'idna==3.10 --hash=sha256:%s\n' "$HEX64" >"$s/sub/base.txt"
	printf -- '--requirement=base.txt\n' >"$s/sub/c.txt"
	case_ir pip-include-unpinned python pip_tools requirements.txt
	s=$BATS_TEST_TMPDIR/pip-include-unpinned/src
	printf 'six==1.16.0 --hash=sha256:%s\n-r more.txt\n' "$HEX64" >"$s/requirements.txt"
	printf 'idna>=3\n' >"$s/more.txt"
	case_ir pip-include-outside python pip_tools requirements.txt
	printf -- '-r ../../pip/src/requirements.txt\n' >"$BATS_TEST_TMPDIR/pip-include-outside/src/requirements.txt"
	case_ir pip-include-url python pip_tools requirements.txt
	printf -- '-r https://x.example/r.txt\n' >"$BATS_TEST_TMPDIR/pip-include-url/src/requirements.txt"
	case_ir pip-editable python pip_tools requirements.txt
	printf -- '-e ./lib\n' >"$BATS_TEST_TMPDIR/pip-editable/src/requirements.txt"
	# the lockfile confined to the source tree: "..", absolute, a symlink leaving it; missing
	mkdir -p "$BATS_TEST_TMPDIR/elsewhere"
	cp "$LOCKS/uv/uv.lock" "$BATS_TEST_TMPDIR/elsewhere/"
	case_ir lock-dotdot python uv ../../elsewhere/uv.lock
	case_ir lock-absolute python uv "$BATS_TEST_TMPDIR/elsewhere/uv.lock"
	case_ir lock-symlink python uv uv.lock
	ln -s "$BATS_TEST_TMPDIR/elsewhere/uv.lock" "$BATS_TEST_TMPDIR/lock-symlink/src/uv.lock"
	case_ir lock-missing python uv no-such.lock
	case_ir lock-dir python uv sub
	mkdir "$BATS_TEST_TMPDIR/lock-dir/src/sub"
	# names are quoted only up to the first byte that is not a name's
	case_ir npm-name node npm package-lock.json
	printf '{"lockfileVersion":3,"packages":{"":{},"node_modules/x#TOKEN=hunter2":{"version":"1"}}}' \
		>"$BATS_TEST_TMPDIR/npm-name/src/package-lock.json"
	# pnpm sha1 only; yarn over http; not UTF-8
	case_ir pnpm-sha1 node pnpm pnpm-lock.yaml
	printf "lockfileVersion: '9.0'\n\npackages:\n\n  a@1.0.0:\n    resolution: {integrity: sha1-W4o6d2Xf4AEmHd6RVYnngvjJTR4=}\n" \
		>"$BATS_TEST_TMPDIR/pnpm-sha1/src/pnpm-lock.yaml"
	case_ir yarn-http node yarn yarn.lock
	sed 's|resolved "https:|resolved "http:|' "$LOCKS/yarn/yarn.lock" >"$BATS_TEST_TMPDIR/yarn-http/src/yarn.lock"
	case_ir yarn-utf8 node yarn yarn.lock
	printf '# yarn lockfile v1\n\xff\n' >"$BATS_TEST_TMPDIR/yarn-utf8/src/yarn.lock"
	agree 19
}
