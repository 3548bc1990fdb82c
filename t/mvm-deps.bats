#!/usr/bin/env bats
# mvm-deps: lockfile -> verified artifacts -> reproducible deps volume, cached.
# No network: npm tarballs are served from t/data/deps/registry on 127.0.0.1,
# the Python wheel is written by the test (t/data/deps/mkwheel.py).

load helper

DEPS="$MVM_ROOT/t/data/deps"
TGZ="$DEPS/registry/ms/-/ms-2.1.3.tgz"

setup_file() {
	cp -r "$DEPS/registry" "$BATS_FILE_TMPDIR/reg"
	python3 "$DEPS/serve.py" "$BATS_FILE_TMPDIR/reg" "$BATS_FILE_TMPDIR/port" 3>&- &
	echo $! >"$BATS_FILE_TMPDIR/pid"
	for _ in $(seq 50); do [ -s "$BATS_FILE_TMPDIR/port" ] && break; sleep 0.1; done
}

teardown_file() {
	kill "$(cat "$BATS_FILE_TMPDIR/pid")" 2>/dev/null || true
}

setup() {
	REG="http://127.0.0.1:$(cat "$BATS_FILE_TMPDIR/port")/"
	export npm_config_registry=$REG
	# the pip configuration is the test's own
	unset PIP_FIND_LINKS PIP_INDEX_URL PIP_NO_INDEX PIP_CONFIG_FILE
	export XDG_CONFIG_HOME=$BATS_TEST_TMPDIR/xdg
	cd "$BATS_TEST_TMPDIR"
}

# proj DIR KIND TOOL LOCKFILE: an IR in DIR whose source is DIR/src.
proj() {
	mkdir -p "$1/src"
	printf '{"schema_version":"0.1","id":"t","apps":[{"name":"t","source":{"kind":"local_path","path":"src"},"dependencies":{"kind":"%s","tool":"%s","lockfile":"%s"}}]}' \
		"$2" "$3" "$4" >"$1/ir.json"
}

node_proj() {
	proj "$1" node npm package-lock.json
	cp "$DEPS/package.json" "$DEPS/package-lock.json" "$1/src/"
}

# The key, computed apart from the code (mvm-deps(1), FILES).
key_of() { # language tool lockfile
	python3 -c 'import hashlib,struct,sys
h = hashlib.sha256()
for p in [b"mvm-deps/2", sys.argv[1].encode(), sys.argv[2].encode(), b"cp311-manylinux_2_36_x86_64/node", open(sys.argv[3],"rb").read()]:
    h.update(struct.pack("<Q", len(p)) + p)
print(h.hexdigest())' "$@"
}

@test "npm: the locked tarball, verified, unpacked on a volume; SBOM, meta and fetch log" {
	node_proj p
	run -0 mvm-deps -c cache p/ir.json
	local key dir
	key=$(key_of node npm p/src/package-lock.json)
	dir=$PWD/cache/$key
	assert_output --partial "{\"cached\":false,\"dir\":\"$dir\",\"key\":\"$key\","
	assert_output --partial "\"volume_digest\":\"sha256:$(sha256sum "$dir/deps.ext4" | cut -c1-64)\""
	# the volume ends with its dm-verity tree (issue #17): the file system
	# is the data blocks, and veritysetup(8) verifies the whole volume
	# against the root hash printed and kept in deps-meta.json
	local v blocks
	v=$(jq -c .verity <<<"$output")
	[ "$(jq -c .verity "$dir/deps-meta.json")" = "$v" ]
	blocks=$(jq -r .data_blocks <<<"$v")
	[ "$(dumpe2fs -h "$dir/deps.ext4" 2>/dev/null | awk -F': *' '$1 == "Block count" { print $2 }')" = "$blocks" ]
	[ "$(stat -c %s "$dir/deps.ext4")" -gt $((blocks * 4096)) ]
	[ "$(jq -r .salt <<<"$v")" = "$(head -c $((blocks * 4096)) "$dir/deps.ext4" | sha256sum | cut -c1-64)" ]
	run -0 veritysetup verify --no-superblock --data-blocks="$blocks" --hash-offset=$((blocks * 4096)) \
		--salt="$(jq -r .salt <<<"$v")" "$dir/deps.ext4" "$dir/deps.ext4" "$(jq -r .root_hash <<<"$v")"
	# an entry whose volume is not the tree deps-meta.json names: refused
	cp "$dir/deps-meta.json" good.json
	jq -c '.verity.root_hash = ("0" * 64)' good.json >"$dir/deps-meta.json"
	run -4 mvm-deps -c cache p/ir.json
	assert_output "mvm-deps: p/ir.json: $dir: the cache entry does not match its deps-meta.json; remove it"
	cp good.json "$dir/deps-meta.json"
	run -0 mvm-deps -c cache p/ir.json
	assert_output --partial '{"cached":true,'
	# an entry without a tree (deps-meta.json version 1, as before) is never
	# used as if it had one
	jq -c 'del(.verity) | .version = 1' "$dir/deps-meta.json" >m && mv m "$dir/deps-meta.json"
	run -4 mvm-deps -c cache p/ir.json
	assert_output "mvm-deps: p/ir.json: $dir: a cache entry without a dm-verity tree (not version 2); remove it"
	# the files are the tarball's (tar(1) reads it apart from our reader)
	debugfs -R 'cat /node_modules/ms/index.js' "$dir/deps.ext4" >index.js 2>/dev/null
	tar -xzOf "$TGZ" package/index.js | cmp - index.js
	run -0 debugfs -R 'ls -p /node_modules/ms' "$dir/deps.ext4"
	assert_output --partial "/100644/0/0/package.json/"
	# the SBOM: CycloneDX 1.5, the artifact's sha512 as sha512sum(1) gives it
	run -0 jq -c '[.bomFormat,.specVersion,.components[0].name,.components[0].version,.components[0].purl,.components[0].hashes[0].alg,.components[0].hashes[0].content]' "$dir/sbom.cdx.json"
	assert_output "[\"CycloneDX\",\"1.5\",\"ms\",\"2.1.3\",\"pkg:npm/ms@2.1.3\",\"SHA-512\",\"$(sha512sum "$TGZ" | cut -c1-128)\"]"
	run -0 jq -c '[.key,.language,.tool,.packages,.sbom_digest]' "$dir/deps-meta.json"
	assert_output "[\"$key\",\"node\",\"npm\",[{\"name\":\"ms\",\"path\":\"node_modules/ms\",\"version\":\"2.1.3\"}],\"sha256:$(sha256sum "$dir/sbom.cdx.json" | cut -c1-64)\"]"
	run -0 cat "$dir/fetch.log"
	assert_output "{\"package\":\"ms@2.1.3\",\"url\":\"${REG}ms/-/ms-2.1.3.tgz\",\"ok\":true}"
}

@test "npm: same lockfile, same bytes; the second run is a cache hit with no network" {
	node_proj p
	run -0 mvm-deps -c a p/ir.json
	SOURCE_DATE_EPOCH=1700000000 run -0 mvm-deps -c b p/ir.json
	cmp a/*/deps.ext4 b/*/deps.ext4
	cmp a/*/sbom.cdx.json b/*/sbom.cdx.json
	npm_config_registry=http://127.0.0.1:1/ run -0 mvm-deps -c a p/ir.json
	assert_output --partial '{"cached":true,'
	# two workloads with the same lockfile share one entry; a changed lockfile gets a new one
	node_proj q
	sed -i 's/"t"/"other"/g' q/ir.json
	run -0 mvm-deps -c a q/ir.json
	assert_output --partial '{"cached":true,'
	[ "$(ls a | wc -l)" -eq 1 ]
	jq . p/src/package-lock.json >q/src/package-lock.json.new
	jq -c . p/src/package-lock.json >q/src/package-lock.json
	run -0 mvm-deps -c a q/ir.json
	assert_output --partial '{"cached":false,'
	[ "$(ls a | wc -l)" -eq 2 ]
}

@test "npm: one byte changed in the tarball: integrity error naming the package, nothing installed" {
	node_proj p
	mkdir -p "$BATS_FILE_TMPDIR/reg/bad/ms/-"
	python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[100]^=1; open(sys.argv[2],"wb").write(b)' \
		"$TGZ" "$BATS_FILE_TMPDIR/reg/bad/ms/-/ms-2.1.3.tgz"
	npm_config_registry=${REG}bad/ run -1 mvm-deps -c cache p/ir.json
	assert_output "mvm-deps: p/ir.json: ms@2.1.3: integrity check failed: the fetched artifact's SHA512 is not the lockfile's; nothing installed"
	[ -z "$(ls -A cache)" ]
}

@test "npm: hasInstallScript is refused before any fetch; no package code ever runs" {
	mkdir -p pkg/package
	printf '{"name":"evil","version":"1.0.0","scripts":{"postinstall":"touch %s/ran"}}' "$PWD" >pkg/package/package.json
	echo 'require("fs").writeFileSync(process.env.HOME + "/ran2", "")' >pkg/package/index.js
	mkdir -p "$BATS_FILE_TMPDIR/reg/evil/-"
	tar -czf "$BATS_FILE_TMPDIR/reg/evil/-/evil-1.0.0.tgz" -C pkg package
	local integ
	integ="sha512-$(openssl dgst -sha512 -binary "$BATS_FILE_TMPDIR/reg/evil/-/evil-1.0.0.tgz" | base64 -w0)"
	proj p node npm package-lock.json
	printf '{"lockfileVersion":3,"packages":{"":{},"node_modules/evil":{"version":"1.0.0","integrity":"%s","hasInstallScript":true}}}' \
		"$integ" >p/src/package-lock.json
	run -1 mvm-deps -c cache p/ir.json
	assert_output "mvm-deps: p/ir.json: node_modules/evil: has an install script (hasInstallScript); mvm-deps never runs package code on the host and refuses it"
	[ -z "$(ls -A cache 2>/dev/null)" ]
	# a lockfile that hides the script: installed, and the script did not run
	printf '{"lockfileVersion":3,"packages":{"":{},"node_modules/evil":{"version":"1.0.0","integrity":"%s"}}}' \
		"$integ" >p/src/package-lock.json
	HOME=$PWD run -0 mvm-deps -c cache p/ir.json
	[ ! -e ran ] && [ ! -e ran2 ]
	run -0 debugfs -R 'cat /node_modules/evil/package.json' cache/*/deps.ext4
	assert_output --partial '"postinstall"'
}

@test "refused: unsupported tools, a lockfile outside the source tree, hostile archive names" {
	node_proj p
	sed -i 's/"npm"/"uv"/' p/ir.json
	run -1 mvm-deps -c cache p/ir.json
	assert_output 'mvm-deps: p/ir.json: node lockfiles (tool "uv") are not supported by mvm-deps yet; use npm, pnpm or yarn'
	proj p node npm ../package-lock.json
	cp "$DEPS/package-lock.json" p/
	run -1 mvm-deps -c cache p/ir.json
	assert_output "mvm-deps: p/ir.json: lockfile ../package-lock.json is outside the source directory; it was not read"
	printf '{"apps":[{"dependencies":{"kind":"none"}}]}' >none.json
	run -0 mvm-deps -c cache none.json
	assert_output "null"
	# a tarball entry "package/../../x" is refused; symlinks are skipped
	mkdir -p t/package && echo 1 >t/package/a.js && ln -s /etc/passwd t/package/link
	tar -czf "$BATS_FILE_TMPDIR/reg/evil/-/evil-2.0.0.tgz" -C t package --transform 's|package/a.js|package/../../x|' 2>/dev/null ||
		tar -czf "$BATS_FILE_TMPDIR/reg/evil/-/evil-2.0.0.tgz" -C t package
	proj p node npm package-lock.json
	printf '{"lockfileVersion":3,"packages":{"":{},"node_modules/evil":{"version":"2.0.0","integrity":"sha512-%s"}}}' \
		"$(openssl dgst -sha512 -binary "$BATS_FILE_TMPDIR/reg/evil/-/evil-2.0.0.tgz" | base64 -w0)" >p/src/package-lock.json
	run -3 mvm-deps -c cache p/ir.json
	assert_output 'mvm-deps: p/ir.json: evil@2.0.0: entry "package/../../x": a ".." component'
}

# npm_pkg NAME TGZ: a project locking NAME 1.0.0, served from TGZ's bytes.
npm_pkg() {
	mkdir -p "$BATS_FILE_TMPDIR/reg/$1/-"
	cp "$2" "$BATS_FILE_TMPDIR/reg/$1/-/$1-1.0.0.tgz"
	proj p node npm package-lock.json
	printf '{"lockfileVersion":3,"packages":{"":{},"node_modules/%s":{"version":"1.0.0","integrity":"sha512-%s"}}}' \
		"$1" "$(openssl dgst -sha512 -binary "$2" | base64 -w0)" >p/src/package-lock.json
}

@test "npm: an entry of 3 MiB and 5 bytes (many of the unpacker's 64 KiB chunks) is unpacked byte for byte; cut short, nothing is installed" {
	mkdir -p pkg/package
	printf '{"name":"big","version":"1.0.0"}' >pkg/package/package.json
	head -c 3145733 /dev/urandom >pkg/package/big.bin
	tar -cf - -C pkg package | gzip -n >big.tgz
	npm_pkg big big.tgz
	run -0 mvm-deps -c cache p/ir.json
	run -0 debugfs -R 'dump /node_modules/big/big.bin got.bin' cache/*/deps.ext4
	cmp got.bin pkg/package/big.bin
	# the same archive cut in the middle of big.bin: refused, and the
	# part written is not left anywhere (mvm-deps removes its tree)
	head -c 1600000 big.tgz >cut.tgz
	rm -rf cache
	npm_pkg cut cut.tgz
	run -3 mvm-deps -c cache p/ir.json
	assert_output 'mvm-deps: p/ir.json: cut@1.0.0: truncated tar archive'
	[ -z "$(ls -A cache 2>/dev/null)" ]
}

@test "npm: a pax header over 1 MiB is refused, not read into memory; one just under is read" {
	# Python's tarfile writes the pax records: "LEN comment=VALUE\n", LEN
	# counting itself (POSIX pax), so a 1 MiB value makes a record, and an
	# 'x' entry, of 7 + 1 + 8 + 1048576 + 1 = 1048593 bytes
	paxtgz() { # FILE COMMENT_BYTES
		python3 -c 'import io, sys, tarfile
t = tarfile.open(sys.argv[1], "w:gz", format=tarfile.PAX_FORMAT)
i = tarfile.TarInfo("package/package.json")
i.size = 2
i.pax_headers = {"comment": "x" * int(sys.argv[2])}
t.addfile(i, io.BytesIO(b"{}"))
t.close()' "$@"
	}
	paxtgz pax.tgz 1048576
	npm_pkg pax pax.tgz
	run -3 mvm-deps -c cache p/ir.json
	assert_output 'mvm-deps: p/ir.json: pax@1.0.0: a pax header of 1048593 bytes: more than 1048576'
	[ -z "$(ls -A cache 2>/dev/null)" ]
	# 1048576 - 17 bytes of value: a record of 1048576 bytes, the most read
	paxtgz pax2.tgz 1048559
	npm_pkg pax2 pax2.tgz
	run -0 mvm-deps -c cache p/ir.json
	run -0 debugfs -R 'cat /node_modules/pax2/package.json' cache/*/deps.ext4
	assert_line '{}'
}

# A wheelhouse with mvmdemo 1.0.0 and a project locking it.
py_proj() {
	mkdir -p wh
	python3 "$DEPS/mkwheel.py" wh/mvmdemo-1.0.0-py3-none-any.whl mvmdemo 1.0.0
	proj p python pip_tools requirements.txt
	printf '# pip-compile --generate-hashes\nmvmdemo==1.0.0 \\\n    --hash=sha256:%s\n    # via -r requirements.in\n' \
		"$(sha256sum wh/mvmdemo-1.0.0-py3-none-any.whl | cut -c1-64)" >p/src/requirements.txt
}

@test "pip: a hashed wheel from a local wheelhouse, offline, into site-packages" {
	py_proj
	PIP_NO_INDEX=1 PIP_FIND_LINKS=$PWD/wh run -0 mvm-deps -c cache p/ir.json
	local key
	key=$(key_of python pip_tools p/src/requirements.txt)
	assert_output --partial "\"key\":\"$key\""
	run -0 debugfs -R 'cat /site-packages/mvmdemo/__init__.py' "cache/$key/deps.ext4"
	assert_output --partial "return s.upper() + '!'"
	run -0 jq -r '.components[0] | [.purl, .hashes[0].alg, .hashes[0].content] | join(" ")' "cache/$key/sbom.cdx.json"
	assert_output "pkg:pypi/mvmdemo@1.0.0 SHA-256 $(sha256sum wh/mvmdemo-1.0.0-py3-none-any.whl | cut -c1-64)"
	# cached: no index, no wheelhouse needed
	PIP_NO_INDEX=1 PIP_FIND_LINKS=/nonexistent run -0 mvm-deps -c cache p/ir.json
	assert_output --partial '{"cached":true,'
	# pip.conf names the wheelhouse too
	printf '[global]\nno-index = true\nfind-links = %s\n' "$PWD/wh" >pip.conf
	PIP_CONFIG_FILE=$PWD/pip.conf run -0 mvm-deps -c cache2 p/ir.json
	cmp cache/*/deps.ext4 cache2/*/deps.ext4
}

@test "pip: a changed byte is an integrity error naming the package; sdists are refused" {
	py_proj
	mkdir bad
	python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[40]^=1; open(sys.argv[2],"wb").write(b)' \
		wh/mvmdemo-1.0.0-py3-none-any.whl bad/mvmdemo-1.0.0-py3-none-any.whl
	PIP_NO_INDEX=1 PIP_FIND_LINKS=$PWD/bad run -1 mvm-deps -c cache p/ir.json
	assert_output "mvm-deps: p/ir.json: mvmdemo==1.0.0: integrity check failed: no wheel's SHA-256 is one the lockfile lists (1 tried); nothing installed"
	[ -z "$(ls -A cache)" ]
	mkdir sd && : >sd/mvmdemo-1.0.0.tar.gz
	PIP_NO_INDEX=1 PIP_FIND_LINKS=$PWD/sd run -1 mvm-deps -c cache p/ir.json
	assert_output "mvm-deps: p/ir.json: mvmdemo==1.0.0: only an sdist is available; sdists are refused (building one runs package code on the host)"
	# the index the configuration names (PEP 503), here on 127.0.0.1
	mkdir -p "$BATS_FILE_TMPDIR/reg/simple/mvmdemo"
	cp wh/*.whl "$BATS_FILE_TMPDIR/reg/simple/mvmdemo/"
	printf '<a href="mvmdemo-1.0.0-py3-none-any.whl#sha256=x">w</a>\n' >"$BATS_FILE_TMPDIR/reg/simple/mvmdemo/index.html"
	PIP_INDEX_URL=${REG}simple run -0 mvm-deps -c cache p/ir.json
	run -0 cat cache/*/fetch.log
	assert_output --partial "\"url\":\"${REG}simple/mvmdemo/mvmdemo-1.0.0-py3-none-any.whl\",\"ok\":true"
}

# big_wheel OUT [FIELD DELTA]: mvmdemo's wheel (mkwheel.py) with two entries
# added by Python's zipfile, deflated: mvmdemo/big.bin (3 MiB + 5 bytes of
# /dev/urandom: deflate's stored blocks) and mvmdemo/big.txt (2 MiB of
# base64 text in 76-column lines: Huffman codes), both kept beside OUT to
# compare with; with FIELD (crc or size), big.bin's CRC-32 or uncompressed
# size is changed by DELTA in its local header and its central directory
# entry (APPNOTE.TXT 4.3.7 and 4.3.12: CRC-32 at +14 and +16, size at +22
# and +24).
big_wheel() {
	head -c 3145733 /dev/urandom >big.bin
	head -c 1572864 /dev/urandom | base64 -w 76 >big.txt
	python3 "$DEPS/mkwheel.py" "$1" mvmdemo 1.0.0
	python3 -c 'import struct, sys, zipfile
out = sys.argv[1]
with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as z:
    for f in ("big.bin", "big.txt"):
        z.write(f, "mvmdemo/" + f)
if len(sys.argv) > 2:
    b = bytearray(open(out, "rb").read())
    z = zipfile.ZipFile(out)
    i = z.getinfo("mvmdemo/big.bin")
    cd, = struct.unpack_from("<I", b, len(b) - 22 + 16)
    while b[cd + 46:cd + 46 + 15] != b"mvmdemo/big.bin":
        cd += 46 + sum(struct.unpack_from("<HHH", b, cd + 28))
    at = {"crc": (14, 16), "size": (22, 24)}[sys.argv[2]]
    v = (i.CRC if sys.argv[2] == "crc" else i.file_size) + int(sys.argv[3])
    struct.pack_into("<I", b, i.header_offset + at[0], v)
    struct.pack_into("<I", b, cd + at[1], v)
    open(out, "wb").write(b)' "$@"
}

# whl_proj WHEEL: a project locking mvmdemo 1.0.0 by WHEEL's hash, the
# wheelhouse wh/ holding WHEEL.
whl_proj() {
	mkdir -p wh
	cp "$1" wh/mvmdemo-1.0.0-py3-none-any.whl
	proj p python pip_tools requirements.txt
	printf 'mvmdemo==1.0.0 --hash=sha256:%s\n' "$(sha256sum "$1" | cut -c1-64)" >p/src/requirements.txt
}

@test "pip: deflated entries of 3 MiB + 5 random bytes and 2 MiB of text (many of the unpacker's 64 KiB chunks) are unpacked byte for byte" {
	big_wheel w.whl
	whl_proj w.whl
	PIP_NO_INDEX=1 PIP_FIND_LINKS=$PWD/wh run -0 mvm-deps -c cache p/ir.json
	run -0 debugfs -R 'dump /site-packages/mvmdemo/big.bin got.bin' cache/*/deps.ext4
	run -0 debugfs -R 'dump /site-packages/mvmdemo/big.txt got.txt' cache/*/deps.ext4
	cmp got.bin big.bin
	cmp got.txt big.txt
}

@test "pip: a wrong CRC-32 is refused after the entry is streamed; nothing is installed" {
	big_wheel w.whl crc 1
	whl_proj w.whl
	PIP_NO_INDEX=1 PIP_FIND_LINKS=$PWD/wh run -3 mvm-deps -c cache p/ir.json
	assert_output 'mvm-deps: p/ir.json: mvmdemo==1.0.0: entry "mvmdemo/big.bin": CRC-32 mismatch'
	[ -z "$(ls -A cache 2>/dev/null)" ]
}

@test "pip: an entry's declared size one byte short of its data, or one byte over, is refused; nothing is installed" {
	big_wheel short.whl size -1
	whl_proj short.whl
	PIP_NO_INDEX=1 PIP_FIND_LINKS=$PWD/wh run -3 mvm-deps -c cache p/ir.json
	assert_output 'mvm-deps: p/ir.json: mvmdemo==1.0.0: entry "mvmdemo/big.bin": unpacks to more than the 3145732 bytes it declares'
	[ -z "$(ls -A cache 2>/dev/null)" ]
	rm -rf wh
	big_wheel over.whl size 1
	whl_proj over.whl
	PIP_NO_INDEX=1 PIP_FIND_LINKS=$PWD/wh run -3 mvm-deps -c cache p/ir.json
	assert_output 'mvm-deps: p/ir.json: mvmdemo==1.0.0: entry "mvmdemo/big.bin": unpacks to 3145733 bytes, not the 3145734 it declares'
	[ -z "$(ls -A cache 2>/dev/null)" ]
}

# A uv.lock (version 1, as uv writes it: the project a virtual source,
# registry packages with sdist and wheels inline tables) locking
# mvmdemo 1.0.0 of the wheelhouse at URL (its file name), with HASH, and a
# dependency whose marker is false for the image (never looked for).
uv_lock() { # URL HASH
	cat <<EOT
version = 1
revision = 2
requires-python = ">=3.8"

[[package]]
name = "app"
version = "0.1.0"
source = { virtual = "." }
dependencies = [
    { name = "mvmdemo" },
    { name = "winonly", marker = "sys_platform == 'win32'" },
]

[package.metadata]
requires-dist = [
    { name = "mvmdemo", specifier = "==1.0.0" },
    { name = "winonly", marker = "sys_platform == 'win32'", specifier = "==2.0" },
]

[[package]]
name = "mvmdemo"
version = "1.0.0"
source = { registry = "https://pypi.org/simple" }
sdist = { url = "https://files.example/mvmdemo-1.0.0.tar.gz", hash = "sha256:$(printf %064d 0)", size = 1 }
wheels = [
    { url = "https://files.example/mvmdemo-1.0.0-cp312-cp312-manylinux_2_17_x86_64.whl", hash = "sha256:$(printf %064d 1)", size = 1 },
    { url = "$1", hash = "sha256:$2", size = 1, upload-time = "2026-12-06T00:00:00Z" },
]

[[package]]
name = "winonly"
version = "2.0"
source = { registry = "https://pypi.org/simple" }
sdist = { url = "https://files.example/winonly-2.0.tar.gz", hash = "sha256:$(printf %064d 2)", size = 1 }
EOT
}

@test "uv.lock: the pip test's wheelhouse installs the same file tree; markers walked; tampered hash refused" {
	py_proj
	local h
	h=$(sha256sum wh/mvmdemo-1.0.0-py3-none-any.whl | cut -c1-64)
	PIP_NO_INDEX=1 PIP_FIND_LINKS=$PWD/wh run -0 mvm-deps -c pip p/ir.json
	proj u python uv uv.lock
	uv_lock https://files.example/mvmdemo-1.0.0-py3-none-any.whl "$h" >u/src/uv.lock
	PIP_NO_INDEX=1 PIP_FIND_LINKS=$PWD/wh run -0 mvm-deps -c uv u/ir.json
	assert_output --partial "\"key\":\"$(key_of python uv u/src/uv.lock)\""
	# the same files, modes and contents (debugfs dumps each volume apart from our code)
	mkdir a b
	debugfs -R 'rdump / a' pip/*/deps.ext4 2>/dev/null
	debugfs -R 'rdump / b' uv/*/deps.ext4 2>/dev/null
	diff -r a b
	[ "$(cd a && find . -printf '%p %m\n' | sort)" = "$(cd b && find . -printf '%p %m\n' | sort)" ]
	run -0 jq -c '.components' uv/*/sbom.cdx.json
	assert_output "$(jq -c .components pip/*/sbom.cdx.json)"
	# no configured index: the lock's own URL (here on 127.0.0.1)
	mkdir -p "$BATS_FILE_TMPDIR/reg/files"
	cp wh/*.whl "$BATS_FILE_TMPDIR/reg/files/"
	uv_lock "${REG}files/mvmdemo-1.0.0-py3-none-any.whl" "$h" >u/src/uv.lock
	run -0 mvm-deps -c uv2 u/ir.json
	run -0 cat uv2/*/fetch.log
	assert_output "{\"package\":\"mvmdemo==1.0.0\",\"url\":\"${REG}files/mvmdemo-1.0.0-py3-none-any.whl\",\"ok\":true}"
	# one hex digit of the locked hash changed: refused naming the package, nothing installed
	uv_lock "${REG}files/mvmdemo-1.0.0-py3-none-any.whl" "${h%?}$(printf %x $(( (0x${h: -1} + 1) % 16 )))" >u/src/uv.lock
	run -1 mvm-deps -c uv3 u/ir.json
	assert_output "mvm-deps: u/ir.json: mvmdemo==1.0.0: integrity check failed: no wheel's SHA-256 is one the lockfile lists (1 tried); nothing installed"
	[ -z "$(ls -A uv3)" ]
}

@test "uv.lock: sdist-only, no wheel for the image, a marker it cannot evaluate, a directory source: refused naming the package" {
	proj u python uv uv.lock
	uv_lock https://files.example/mvmdemo-1.0.0-py3-none-any.whl "$(printf %064d 3)" | sed "s/sys_platform == 'win32'/extra == 'gpu'/" >u/src/uv.lock
	run -1 mvm-deps -c c u/ir.json
	assert_output --regexp '^mvm-deps: u/ir.json: uv.lock:11:34: the marker of a dependency on winonly cannot be evaluated for the image: the marker variable extra cannot be known'
	# winonly reached (marker true): only an sdist
	uv_lock https://files.example/mvmdemo-1.0.0-py3-none-any.whl "$(printf %064d 3)" | sed "s/sys_platform == 'win32'/sys_platform == 'linux'/" >u/src/uv.lock
	run -1 mvm-deps -c c u/ir.json
	assert_output "mvm-deps: u/ir.json: uv.lock:30:1: winonly==2.0: only an sdist is locked; sdists are refused (building one runs package code on the host)"
	# only a cp312 wheel: named
	uv_lock https://files.example/mvmdemo-1.0.0-py3-none-any.whl "$(printf %064d 3)" | grep -v 'py3-none-any' >u/src/uv.lock
	run -1 mvm-deps -c c u/ir.json
	assert_output "mvm-deps: u/ir.json: uv.lock:20:1: mvmdemo==1.0.0: no locked wheel fits the image's Python (CPython 3.11, linux x86_64, glibc 2.36): mvmdemo-1.0.0-cp312-cp312-manylinux_2_17_x86_64.whl does not"
	uv_lock https://files.example/mvmdemo-1.0.0-py3-none-any.whl "$(printf %064d 3)" | sed 's|source = { registry = "https://pypi.org/simple" }|source = { directory = "../lib" }|' >u/src/uv.lock
	run -1 mvm-deps -c c u/ir.json
	assert_output --partial "uv.lock:23:10: mvmdemo: its source is not a registry"
	# malformed TOML: where it is
	uv_lock https://files.example/mvmdemo-1.0.0-py3-none-any.whl "$(printf %064d 3)" | sed 2p >u/src/uv.lock
	run -3 mvm-deps -c c u/ir.json
	assert_output 'mvm-deps: u/ir.json: uv.lock:3:1: the key "revision" is defined twice'
	[ -z "$(ls -A c 2>/dev/null)" ]
}

@test "pip: markers evaluated for the image (false: skipped); what cannot be evaluated, editables and direct references refused at file:line:col" {
	py_proj
	local h
	h=$(sha256sum wh/mvmdemo-1.0.0-py3-none-any.whl | cut -c1-64)
	printf 'mvmdemo==1.0.0 ; python_version >= "3.8" and (sys_platform == "linux" or sys_platform == "darwin") \\\n    --hash=sha256:%s\nwinonly==2.0 ; platform_machine == "AMD64" and implementation_name == "cpython" \\\n    --hash=sha256:%s\n' \
		"$h" "$(printf %064d 2)" >p/src/requirements.txt
	PIP_NO_INDEX=1 PIP_FIND_LINKS=$PWD/wh run -0 mvm-deps -c cache p/ir.json
	run -0 jq -r '[.packages[].name] | join(" ")' cache/*/deps-meta.json
	assert_output "mvmdemo"
	printf '# c\nmvmdemo==1.0.0 \\\n    ; python_version >= "3.8" and platform_release >= "6" --hash=sha256:%s\n' "$h" >p/src/requirements.txt
	run -1 mvm-deps -c cache p/ir.json
	assert_output "mvm-deps: p/ir.json: requirements.txt:3:35: mvmdemo==1.0.0: the marker cannot be evaluated for the image: the marker variable platform_release cannot be known for the image (mvm-deps knows python_version, python_full_version, sys_platform, platform_system, os_name, platform_machine, implementation_name, platform_python_implementation)"
	printf 'mvmdemo==1.0.0 ; python_version >= "3.8 --hash=sha256:%s\n' "$h" >p/src/requirements.txt
	run -3 mvm-deps -c cache p/ir.json
	assert_output --partial "requirements.txt:1:36: mvmdemo==1.0.0: the marker is malformed"
	printf 'mvmdemo==1.0.0 --hash=sha256:%s\n  -e ./lib\n' "$h" >p/src/requirements.txt
	run -1 mvm-deps -c cache p/ir.json
	assert_output "mvm-deps: p/ir.json: lockfile requirements.txt is not hash-pinned: an editable requirement (-e ./lib) cannot be hash-pinned: it names a source tree, which would have to be built on the host"
	printf 'mvmdemo @ https://example.org/mvmdemo-1.0.0-py3-none-any.whl --hash=sha256:%s\n' "$h" >p/src/requirements.txt
	run -1 mvm-deps -c cache p/ir.json
	assert_output --partial "requirements.txt:1:9: mvmdemo: a direct reference (name @ url) is refused"
}

@test "pip: a name or version outside PEP 508's and PEP 440's characters is refused at file:line:col before anything is fetched (a quote went into the fetch log's JSON and the index URL)" {
	py_proj
	local h
	h=$(sha256sum wh/mvmdemo-1.0.0-py3-none-any.whl | cut -c1-64)
	printf 'mvm"demo==1.0.0 --hash=sha256:%s\n' "$h" >p/src/requirements.txt
	PIP_NO_INDEX=1 PIP_FIND_LINKS=$PWD/wh run -3 mvm-deps -c cache p/ir.json
	assert_output "mvm-deps: p/ir.json: requirements.txt:1:1: a requirement name that is not PEP 508's (letters, digits and ._- inside)"
	printf '# c\nmvmdemo==1.0.0"} --hash=sha256:%s\n' "$h" >p/src/requirements.txt
	PIP_NO_INDEX=1 PIP_FIND_LINKS=$PWD/wh run -3 mvm-deps -c cache p/ir.json
	assert_output "mvm-deps: p/ir.json: requirements.txt:2:10: mvmdemo: a version that is not PEP 440's (letters, digits and ._!+-)"
}

@test "the target is the image's Python (-p): a cp312-only wheelhouse is refused for 3.11 naming the wheel, installed for 3.12" {
	py_proj
	rm wh/*
	python3 "$DEPS/mkwheel.py" wh/mvmdemo-1.0.0-cp312-cp312-manylinux_2_17_x86_64.whl mvmdemo 1.0.0
	printf 'mvmdemo==1.0.0 --hash=sha256:%s\n' "$(sha256sum wh/*.whl | cut -c1-64)" >p/src/requirements.txt
	PIP_NO_INDEX=1 PIP_FIND_LINKS=$PWD/wh run -1 mvm-deps -c cache p/ir.json
	assert_output "mvm-deps: p/ir.json: mvmdemo==1.0.0: no wheel for CPython 3.11 on linux x86_64 (glibc 2.36): mvmdemo-1.0.0-cp312-cp312-manylinux_2_17_x86_64.whl does not fit the image's Python"
	PIP_NO_INDEX=1 PIP_FIND_LINKS=$PWD/wh run -0 mvm-deps -p 3.12 -c cache p/ir.json
	# the key names the target (mvm-deps(1), FILES)
	assert_output --partial "\"key\":\"$(python3 -c 'import hashlib,struct,sys
h = hashlib.sha256()
for p in [b"mvm-deps/2", b"python", b"pip_tools", b"cp312-manylinux_2_36_x86_64/node", open(sys.argv[1],"rb").read()]:
    h.update(struct.pack("<Q", len(p)) + p)
print(h.hexdigest())' p/src/requirements.txt)\""
	run -0 jq -r .target cache/*/deps-meta.json
	assert_output "cp312-manylinux_2_36_x86_64/node"
	run -2 mvm-deps -p 2.7 -c cache p/ir.json
}
