#!/usr/bin/env bats
# wrappers: the language runners of agent/wrappers (agent/wrappers/PROTOCOL.md).
# Python runs under /usr/bin/python3 (Debian's, with python3-msgpack); Node's
# @msgpack/msgpack is installed by setup_file with npm ci when missing.

bats_require_minimum_version 1.5.0
load helper

PY=/usr/bin/python3
W="$MVM_ROOT/agent/wrappers"

setup_file() {
	write_helper "$BATS_FILE_TMPDIR/mvmw.py"
	write_tables "$BATS_FILE_TMPDIR"
	if command -v node >/dev/null 2>&1 && [ ! -d "$W/node/node_modules/@msgpack/msgpack" ]; then
		if ! npm ci --prefix "$W/node" --no-audit --no-fund >"$BATS_FILE_TMPDIR/npm.log" 2>&1; then
			touch "$BATS_FILE_TMPDIR/npm-failed"
		fi
	fi
}

setup() {
	T=$BATS_TEST_TMPDIR
	APPDIR=$T/app
	mkdir -p "$APPDIR"
	export MVM_WRAPPER_CONFIG="$T/wrapper.json"
	write_modules
}

# ---------------------------------------------------------------- helpers

mvmw() { "$PY" "$BATS_FILE_TMPDIR/mvmw.py" "$@"; }

need_node() {
	command -v node >/dev/null 2>&1 || skip "node is not installed"
	if [ -e "$BATS_FILE_TMPDIR/npm-failed" ]; then
		fail "npm ci --prefix agent/wrappers/node --no-audit --no-fund could not install @msgpack/msgpack:
$(cat "$BATS_FILE_TMPDIR/npm.log")"
	fi
	[ -d "$W/node/node_modules/@msgpack/msgpack" ] ||
		fail "agent/wrappers/node/node_modules/@msgpack/msgpack is missing"
}

# use py|node oneshot|longrunning: the runner command in RUN
use() {
	case $1 in
	py) RUN=("$PY" "$W/python/$2.py") ;;
	node)
		need_node
		RUN=(node "$W/node/$2.mjs")
		;;
	esac
}

# config MODULE FUNCTION FORMAT [MODE]: write $T/wrapper.json
config() {
	printf '{"module":"%s","function":"%s","format":"%s","working_dir":"%s","mode":"%s"}\n' \
		"$1" "$2" "$3" "$APPDIR" "${4:-prod}" >"$T/wrapper.json"
}

# call IN: the runner on file IN; stdout in $T/out, stderr in $T/err
call() { "${RUN[@]}" <"$1" >"$T/out" 2>"$T/err"; }

# input FMT JSON: encode [args, kwargs] into $T/in, print its path
input() { mvmw enc "$1" "$2" >"$T/in" && echo "$T/in"; }

# dec FMT: decode $T/out independently of the runner
dec() { mvmw dec "$1" <"$T/out"; }

# envelope KIND [TYPE]: the last line of stderr is an envelope of that kind,
# and stdout is empty
envelope() {
	local last got
	last=$(tail -n 1 "$T/err")
	got=$(jq -r '.error | if (.kind | type) == "string" and (.message | type) == "string"
		then "\(.kind) \(.type // "-")" else "not-an-envelope" end' <<<"$last" 2>/dev/null) ||
		fail "last stderr line is not JSON: $(cat "$T/err")"
	case $got in
	"$1 ${2:--}") ;;
	"$1 "*) [ -z "${2:-}" ] || fail "want kind $1 type $2, got: $last" ;;
	*) fail "want kind $1${2:+ type $2}, got: $(cat "$T/err")" ;;
	esac
	[ ! -s "$T/out" ] || fail "stdout is not empty on error: $(od -c "$T/out" | head -5)"
}

refute_in_err() {
	! grep -qF -- "$1" "$T/err" || fail "stderr contains '$1': $(cat "$T/err")"
}

write_modules() {
	cat >"$APPDIR/app.py" <<'EOF'
import asyncio
import ctypes
import os
import sys


def greet(name):
    return f"hello, {name}"


def greet2(name, greeting="hello", punct=""):
    return f"{greeting}, {name}{punct}"


def echo(*args, **kwargs):
    return [list(args), kwargs]


def boom(name):
    raise ValueError(f"cannot greet {name} from {__file__}")


def nan():
    return float("nan")


def aset():
    return {1, 2}


def intkey():
    return {1: "one"}


def noisy(name):
    print("noise on sys.stdout")
    os.write(1, b"noise on fd 1\n")
    sys.stderr.write("noise on stderr\n")
    return f"hello, {name}"


async def agreet(name):
    await asyncio.sleep(0)
    return f"hello, {name}"


def dumpable():
    return ctypes.CDLL(None).prctl(3, 0, 0, 0, 0)  # PR_GET_DUMPABLE


def length(s):
    return len(s)


def blob():
    return b"\x00\x01\xff"
EOF
	cat >"$APPDIR/app.mjs" <<'EOF'
import { readFileSync } from 'node:fs';

export function greet(name) { return `hello, ${name}`; }
export function greet2(name, opts = {}) { return `${opts.greeting ?? 'hello'}, ${name}${opts.punct ?? ''}`; }
export function echo(...args) { return args; }
export function boom(name) { throw new RangeError(`cannot greet ${name} from ${import.meta.url}`); }
export function nan() { return NaN; }
export function adate() { return new Date(0); }
export function noisy(name) {
  console.log('noise on console.log');
  process.stdout.write('noise on process.stdout\n');
  console.error('noise on stderr');
  return `hello, ${name}`;
}
export async function agreet(name) { await new Promise((r) => setTimeout(r, 1)); return `hello, ${name}`; }
export function coredumpFilter() { return readFileSync('/proc/self/coredump_filter', 'utf8').trim(); }
export function length(s) { return s.length; }
export function blob() { return new Uint8Array([0, 1, 255]); }
export function undef() { return { a: 1, b: undefined, c: [undefined] }; }
export default { viaDefault(name) { return `default, ${name}`; } };
EOF
	cat >"$APPDIR/counter.py" <<'EOF'
import os

calls = 0


def bump(by=1, fail=False):
    global calls
    calls += by
    print("noise from the call")
    if fail:
        raise ValueError("asked to fail: SECRET-PAYLOAD")
    seen = {"calls": calls, "cwd": os.getcwd(), "leak": os.environ.get("MVM_TEST_LEAK")}
    os.environ["MVM_TEST_LEAK"] = "set by a previous call"
    os.chdir("/")
    return seen
EOF
	cat >"$APPDIR/counter.mjs" <<'EOF'
let calls = 0;
export function bump(by = 1, kw = {}) {
  calls += by;
  console.log('noise from the call');
  if (kw.fail) throw new Error('asked to fail: SECRET-PAYLOAD');
  const seen = { calls, cwd: process.cwd(), leak: process.env.MVM_TEST_LEAK ?? null };
  process.env.MVM_TEST_LEAK = 'set by a previous call';
  process.chdir('/');
  return seen;
}
EOF
	printf 'raise RuntimeError("broken at import")\n' >"$APPDIR/broken.py"
	printf 'throw new TypeError("broken at import");\n' >"$APPDIR/broken.mjs"
	printf 'import nosuchdependency\n' >"$APPDIR/needsdep.py"
	printf 'export const greet = (n: string): string => n;\n' >"$APPDIR/typed.ts"
}

write_tables() {
	cat >"$1/table.py" <<'EOF'
import json, sys
sys.path.insert(0, sys.argv[1])
import mvm_wrapper_common as mw
what = sys.argv[2]
for spec in sys.argv[3:]:
    try:
        if what == "config":
            print("ok", json.dumps(mw.load_config(spec), sort_keys=True))
            continue
        data = bytes.fromhex(spec[4:]) if spec.startswith("hex:") else spec.encode()
        print("ok", json.dumps(mw.decode_call(what, data), sort_keys=True, default=repr))
    except mw.WrapperError as e:
        print("%s: %s" % (e.kind, e.message))
EOF
	cat >"$1/table.mjs" <<'EOF'
import { pathToFileURL } from 'node:url';
const mw = await import(pathToFileURL(`${process.argv[2]}/mvm_wrapper_common.mjs`).href);
const what = process.argv[3];
await mw.loadCodecs({ format: what });
for (const spec of process.argv.slice(4)) {
  try {
    if (what === 'config') {
      console.log('ok', JSON.stringify(mw.loadConfig(spec)));
      continue;
    }
    const data = spec.startsWith('hex:') ? Buffer.from(spec.slice(4), 'hex') : Buffer.from(spec, 'utf8');
    console.log('ok', JSON.stringify(mw.decodeCall(what, data)));
  } catch (e) {
    if (!(e instanceof mw.WrapperError)) throw e;
    console.log(`${e.kind}: ${e.message}`);
  }
}
EOF
}

write_helper() {
	cat >"$1" <<'EOF'
"""t/wrappers.bats helper: encode inputs, decode outputs, speak the worker
framing of agent/wrappers/PROTOCOL.md.  Independent of the runners' code."""
import json, os, select, struct, subprocess, sys

import msgpack


def enc(fmt, value):
    if fmt == "json":
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    return msgpack.packb(value, use_bin_type=True)


def dec(fmt, data):
    if fmt == "json":
        return json.loads(data)
    return msgpack.unpackb(data, raw=False)


def show(v):
    return json.dumps(v, sort_keys=True, ensure_ascii=False,
                      default=lambda b: {"$bin": b.hex()})


def nest(fmt, n):
    """[args, kwargs] with n containers in all: the outer array, args, and
    n-2 arrays nested inside args, the innermost empty (n >= 2)."""
    if fmt == "json":
        return b"[" + b"[" * (n - 1) + b"]" * (n - 1) + b",{}]"
    return b"\x92" + b"\x91" * (n - 2) + b"\x90" + b"\x80"


def big(fmt, size):
    """[["AAAA..."],{}] of exactly size bytes."""
    if fmt == "json":
        pad = size - len(b'[[""],{}]')
        return b'[["' + b"A" * pad + b'"],{}]'
    pad = size - 8  # fixarray, fixarray, str32 header (5), fixmap
    return b"\x92\x91\xdb" + struct.pack(">I", pad) + b"A" * pad + b"\x80"


def payload(fmt, spec):
    if spec.startswith("hex:"):
        return bytes.fromhex(spec[4:])
    return enc(fmt, json.loads(spec))


def frame(data):
    return struct.pack(">I", len(data)) + data


def show_frame(fmt, body):
    if not body:
        return "empty-frame"
    status, rest = body[0], body[1:]
    if status == 0:
        return "ok " + show(dec(fmt, rest))
    if status == 1:
        return "error " + rest.decode()
    if status == 2:
        return "ready " + rest.decode()
    return "status-%d" % status


def unframe(fmt, data):
    out = []
    while data:
        if len(data) < 4:
            out.append("truncated")
            break
        (n,) = struct.unpack(">I", data[:4])
        if len(data) < 4 + n:
            out.append("truncated")
            break
        out.append(show_frame(fmt, data[4:4 + n]))
        data = data[4 + n:]
    return out


def read_exact(fd, n):
    buf = b""
    while len(buf) < n:
        r, _, _ = select.select([fd], [], [], 20)
        if not r:
            raise SystemExit("session: timed out waiting for the worker")
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            return buf
        buf += chunk
    return buf


def session(fmt, reqfile, cmd):
    """One request at a time: each response must arrive before the next
    request is written.  Prints one line per frame, then 'exit N'."""
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    fd = p.stdout.fileno()

    def response():
        h = read_exact(fd, 4)
        if len(h) < 4:
            return None
        (n,) = struct.unpack(">I", h)
        return read_exact(fd, n)

    lines = []
    r = response()
    lines.append("eof" if r is None else show_frame(fmt, r))
    with open(reqfile) as f:
        reqs = [line.rstrip("\n") for line in f if line.strip()]
    for spec in reqs:
        p.stdin.write(frame(payload(fmt, spec)))
        p.stdin.flush()
        r = response()
        if r is None:
            lines.append("eof")
            break
        lines.append(show_frame(fmt, r))
    p.stdin.close()
    rest = p.stdout.read()
    if rest:
        lines.extend(unframe(fmt, rest))
    lines.append("exit %d" % p.wait(timeout=20))
    print("\n".join(lines))


def fdexec(path, argv):
    """exec path through /proc/self/fd/N, as the agent does."""
    fd = os.open(path, os.O_RDONLY)
    os.set_inheritable(fd, True)
    os.execv("/proc/self/fd/%d" % fd, ["/proc/self/fd/%d" % fd] + argv)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    out = sys.stdout.buffer
    if cmd == "enc":
        out.write(enc(args[0], json.loads(args[1])))
    elif cmd == "dec":
        print(show(dec(args[0], sys.stdin.buffer.read())))
    elif cmd == "hex":
        out.write(bytes.fromhex(args[0]))
    elif cmd == "hexes":  # hexes DIR HEX...: DIR/1, DIR/2, ... (one process for many)
        os.makedirs(args[0], exist_ok=True)
        for i, h in enumerate(args[1:], 1):
            with open(os.path.join(args[0], str(i)), "wb") as f:
                f.write(bytes.fromhex(h))
    elif cmd == "nest":
        out.write(nest(args[0], int(args[1])))
    elif cmd == "big":
        out.write(big(args[0], int(args[1])))
    elif cmd == "frames":
        fmt = args[0]
        for spec in args[1:]:
            if spec.startswith("len:"):  # a frame of that many zero bytes
                n = int(spec[4:])
                out.write(struct.pack(">I", n) + b"\0" * n)
            elif spec.startswith("file:"):  # a frame holding a file's bytes
                out.write(frame(open(spec[5:], "rb").read()))
            elif spec.startswith("raw:"):  # bytes as they are, no framing
                out.write(bytes.fromhex(spec[4:]))
            else:
                out.write(frame(payload(fmt, spec)))
    elif cmd == "unframe":
        print("\n".join(unframe(args[0], sys.stdin.buffer.read())))
    elif cmd == "session":
        session(args[0], args[1], args[2:])
    elif cmd == "fdexec":
        fdexec(args[0], args[1:])
    else:
        raise SystemExit("mvmw: unknown command " + cmd)


main()
EOF
}

# ---------------------------------------------------------------- checks shared by both languages

check_greet() { # LANG FMT
	use "$1" oneshot
	config app greet "$2"
	run -0 call "$(input "$2" '[["Alice"],{}]')"
	[ ! -s "$T/err" ] || fail "stderr: $(cat "$T/err")"
	run -0 dec "$2"
	assert_output '"hello, Alice"'
}

check_kwargs() { # LANG FMT
	use "$1" oneshot
	config app greet2 "$2"
	run -0 call "$(input "$2" '[["Alice"],{"greeting":"hi","punct":"!"}]')"
	run -0 dec "$2"
	assert_output '"hi, Alice!"'
	config app echo "$2"
	run -0 call "$(input "$2" '[["a",1,null,true,2.5],{}]')"
	run -0 dec "$2"
	if [ "$1" = py ]; then
		assert_output '[["a", 1, null, true, 2.5], {}]'
	else # no stray {} when kwargs is empty
		assert_output '["a", 1, null, true, 2.5]'
	fi
	run -0 call "$(input "$2" '[["a"],{"k":[1,{"x":"y"}]}]')"
	run -0 dec "$2"
	if [ "$1" = py ]; then
		assert_output '[["a"], {"k": [1, {"x": "y"}]}]'
	else # kwargs is the final argument
		assert_output '["a", {"k": [1, {"x": "y"}]}]'
	fi
}

check_depth() { # LANG FMT
	use "$1" oneshot
	config app echo "$2"
	mvmw nest "$2" 64 >"$T/in64"
	run -0 call "$T/in64"
	run -0 dec "$2"
	local open close want
	open=$(printf '%64s' '' | tr ' ' '[')
	close=$(printf '%63s' '' | tr ' ' ']')
	if [ "$1" = py ]; then # echo returns [args, kwargs]
		want="$open$close, {}]"
	else # echo returns the positional arguments
		want="${open#[}$close"
	fi
	assert_output "$want"
	mvmw nest "$2" 65 >"$T/in65"
	run -2 call "$T/in65"
	envelope decode_error
	grep -q 'nesting deeper than 64' "$T/err" || fail "$(cat "$T/err")"
	mvmw nest "$2" 2000 >"$T/in2000"
	run -2 call "$T/in2000"
	envelope decode_error
}

# table LANG WHAT SPEC...: run the runner's own decoder (WHAT = json or
# msgpack) or config loader (WHAT = config) on many inputs in one process;
# one line per input: "ok JSON" or "KIND: message".  A SPEC is hex:HEX or
# text (config: a file path).
table() {
	local lang=$1
	shift
	if [ "$lang" = py ]; then
		"$PY" "$BATS_FILE_TMPDIR/table.py" "$W/python" "$@"
	else
		need_node
		node "$BATS_FILE_TMPDIR/table.mjs" "$W/node" "$@"
	fi
}

# every_line PREFIX: each line of $output starts with PREFIX
every_line() {
	local l
	[ "${#lines[@]}" -gt 0 ] || fail "no output"
	for l in "${lines[@]}"; do
		[[ $l == "$1"* ]] || fail "want '$1...', got: $output"
	done
}

# spec_file FMT SPEC: write a table SPEC's bytes to $T/in
spec_file() {
	case $2 in
	hex:*) mvmw hex "${2#hex:}" >"$T/in" ;;
	*) printf '%s' "$2" >"$T/in" ;;
	esac
}

check_dupkeys() { # LANG FMT
	local lang=$1 fmt=$2
	if [ "$fmt" = json ]; then # the third spells one key two ways
		set -- '[["Alice"],{"SECRET-KEY":"!","SECRET-KEY":"?"}]' '[[{"a":1,"b":{"c":1,"c":1}}],{}]' \
			'[[{"\u0061":1,"a":2}],{}]'
	else # the third: fixstr and str8 spellings of one key
		set -- hex:9291a5416c69636582aa5345435245542d4b4559a121aa5345435245542d4b4559a13f \
			hex:929182a16101a16282a16301a1630180 hex:929182a16101d901610280
	fi
	run -0 table "$lang" "$fmt" "$@"
	[ "${#lines[@]}" -eq 3 ] || fail "$output"
	every_line "decode_error: duplicate key in map"
	# through the runner: exit 2; prod names no key (payload bytes), dev does
	use "$lang" oneshot
	spec_file "$fmt" "$1"
	config app echo "$fmt"
	run -2 call "$T/in"
	envelope decode_error
	refute_in_err SECRET-KEY
	config app echo "$fmt" dev
	run -2 call "$T/in"
	envelope decode_error
	grep -qF SECRET-KEY "$T/err" || fail "dev envelope lacks the key: $(cat "$T/err")"
}

check_nonfinite() { # LANG FMT
	local lang=$1 fmt=$2
	if [ "$fmt" = json ]; then
		set -- '[[NaN],{}]' '[[1e400],{}]' '[[-Infinity],{}]' '[[{"x":[Infinity]}],{}]' '[[-1e999],{}]'
	else # float64 NaN, float32 +Inf, float64 -Inf in kwargs
		set -- hex:9291cb7ff800000000000080 hex:9291ca7f80000080 hex:929081a178cbfff0000000000000
	fi
	run -0 table "$lang" "$fmt" "$@"
	[ "${#lines[@]}" -eq $# ] || fail "$output"
	every_line "decode_error: non-finite number"
	use "$lang" oneshot
	config app echo "$fmt"
	spec_file "$fmt" "$1"
	run -2 call "$T/in"
	envelope decode_error
	# and a result may not carry one either
	config app nan "$fmt"
	run -4 call "$(input "$fmt" '[[],{}]')"
	envelope encode_error
}

check_malformed() { # LANG FMT
	local lang=$1 fmt=$2
	if [ "$fmt" = json ]; then
		# truncated; trailing x; an object; one element; empty; bad UTF-8; a BOM;
		# a lone surrogate escape; three elements; single quotes; a leading zero
		set -- '[["Alice"],{}' '[["Alice"],{}]x' '{"args":[]}' '[["Alice"]]' '' \
			hex:5b5b22416cff696365225d2c7b7d5d hex:efbbbf5b5b5d2c7b7d5d '[["\ud800"],{}]' \
			'[[],{},[]]' "[['a'],{}]" '[[01],{}]'
	else
		# truncated; trailing nil; a map; one element; empty; bad UTF-8; 0xc1;
		# an ext type; an integer key; a map key; three elements
		set -- hex:9291a5416c6963 hex:9291a5416c69636580c0 hex:80 hex:9291a5416c696365 hex: \
			hex:9291a2fffe80 hex:9291c180 hex:9291d4050180 hex:9290810102 hex:92908180 hex:939080c0
	fi
	run -0 table "$lang" "$fmt" "$@"
	[ "${#lines[@]}" -eq 11 ] || fail "$output"
	every_line "decode_error: "
	# through the runner: exit 2, the envelope, nothing on stdout
	use "$lang" oneshot
	config app echo "$fmt"
	for x in "$1" "$5" "$3"; do
		spec_file "$fmt" "$x"
		run -2 call "$T/in"
		envelope decode_error
	done
}

check_cap() { # LANG FMT
	use "$1" oneshot
	config app length "$2"
	mvmw big "$2" 16777216 >"$T/big"
	[ "$(stat -c %s "$T/big")" -eq 16777216 ]
	run -0 call "$T/big"
	run -0 dec "$2"
	if [ "$2" = json ]; then assert_output 16777207; else assert_output 16777208; fi
	mvmw big "$2" 16777217 >"$T/big"
	run -2 call "$T/big"
	envelope payload_too_large
}

check_exception() { # LANG FMT
	use "$1" oneshot
	local type=ValueError file=app.py tbmark='Traceback (most recent call last)'
	if [ "$1" = node ]; then type=RangeError file=app.mjs tbmark='at boom'; fi
	config app boom "$2"
	run -1 call "$(input "$2" '[["SECRET-PAYLOAD-4242"],{}]')"
	envelope user_exception "$type"
	refute_in_err SECRET-PAYLOAD
	refute_in_err Traceback
	refute_in_err "$APPDIR"
	refute_in_err "$file"
	refute_in_err '"traceback"'
	[ "$(wc -l <"$T/err")" -eq 1 ] || fail "prod stderr: $(cat "$T/err")"
	config app boom "$2" dev
	run -1 call "$(input "$2" '[["SECRET-PAYLOAD-4242"],{}]')"
	envelope user_exception "$type"
	run -0 jq -r .error.traceback "$T/err"
	assert_output --partial "$tbmark"
	assert_output --partial "$file"
	refute_output --partial "agent/wrappers" # the wrapper's own frames are cut
	run -0 jq -r .error.message "$T/err"
	assert_output --partial SECRET-PAYLOAD-4242
}

# ---------------------------------------------------------------- oneshot, 4 x language/format

@test "py json: the seed's greet returns \"hello, Alice\"" { check_greet py json; }
@test "py msgpack: the seed's greet returns \"hello, Alice\"" { check_greet py msgpack; }
@test "node json: the seed's greet returns \"hello, Alice\"" { check_greet node json; }
@test "node msgpack: the seed's greet returns \"hello, Alice\"" { check_greet node msgpack; }

@test "py json: kwargs are keyword arguments" { check_kwargs py json; }
@test "py msgpack: kwargs are keyword arguments" { check_kwargs py msgpack; }
@test "node json: kwargs are one final object argument, only when non-empty" { check_kwargs node json; }
@test "node msgpack: kwargs are one final object argument, only when non-empty" { check_kwargs node msgpack; }

@test "py json: depth 64 accepted, 65 and 2000 rejected" { check_depth py json; }
@test "py msgpack: depth 64 accepted, 65 and 2000 rejected" { check_depth py msgpack; }
@test "node json: depth 64 accepted, 65 and 2000 rejected" { check_depth node json; }
@test "node msgpack: depth 64 accepted, 65 and 2000 rejected" { check_depth node msgpack; }

@test "py json: duplicate keys rejected, named in dev only" { check_dupkeys py json; }
@test "py msgpack: duplicate keys rejected, named in dev only" { check_dupkeys py msgpack; }
@test "node json: duplicate keys rejected, named in dev only" { check_dupkeys node json; }
@test "node msgpack: duplicate keys rejected, named in dev only" { check_dupkeys node msgpack; }

@test "py json: NaN and Infinity rejected in input and result" { check_nonfinite py json; }
@test "py msgpack: NaN and Infinity rejected in input and result" { check_nonfinite py msgpack; }
@test "node json: NaN and Infinity rejected in input and result" { check_nonfinite node json; }
@test "node msgpack: NaN and Infinity rejected in input and result" { check_nonfinite node msgpack; }

@test "py json: malformed, empty and wrongly shaped input rejected with 2" { check_malformed py json; }
@test "py msgpack: malformed, empty and wrongly shaped input rejected with 2" { check_malformed py msgpack; }
@test "node json: malformed, empty and wrongly shaped input rejected with 2" { check_malformed node json; }
@test "node msgpack: malformed, empty and wrongly shaped input rejected with 2" { check_malformed node msgpack; }

@test "py json: 16 MiB of stdin accepted, 16 MiB + 1 rejected" { check_cap py json; }
@test "py msgpack: 16 MiB of stdin accepted, 16 MiB + 1 rejected" { check_cap py msgpack; }
@test "node json: 16 MiB of stdin accepted, 16 MiB + 1 rejected" { check_cap node json; }
@test "node msgpack: 16 MiB of stdin accepted, 16 MiB + 1 rejected" { check_cap node msgpack; }

@test "py json: a user exception: scrubbed envelope in prod, traceback in dev" { check_exception py json; }
@test "py msgpack: a user exception: scrubbed envelope in prod, traceback in dev" { check_exception py msgpack; }
@test "node json: a user exception: scrubbed envelope in prod, traceback in dev" { check_exception node json; }
@test "node msgpack: a user exception: scrubbed envelope in prod, traceback in dev" { check_exception node msgpack; }

# ---------------------------------------------------------------- oneshot, per language

check_config_errors() { # LANG
	use "$1" oneshot
	local in
	in=$(input json '[["Alice"],{}]')
	config nosuch greet json
	run -3 call "$in"
	envelope config_error
	grep -q "module 'nosuch' not found" "$T/err" || fail "$(cat "$T/err")"
	config app nosuch json
	run -3 call "$in"
	envelope config_error
	config broken greet json
	run -3 call "$in"
	if [ "$1" = py ]; then envelope import_error RuntimeError; else envelope import_error TypeError; fi
	printf '{"module":"app","function":"greet","format":"json","working_dir":"%s/nosuchdir","mode":"prod"}' \
		"$APPDIR" >"$T/wrapper.json"
	run -3 call "$in"
	envelope config_error
	refute_in_err nosuchdir # no path in prod form
	rm -f "$T/wrapper.json"
	run -3 call "$in"
	envelope config_error
	refute_in_err "$T"
	# every way wrapper.json can be wrong, through the runner's own loader
	local i=0 bad
	for bad in \
		'{"module":"app","function":"greet","format":"json","working_dir":"'"$APPDIR"'","mode":"prod","extra":1}' \
		'{"module":"app","function":"greet","format":"json","working_dir":"'"$APPDIR"'"}' \
		'{"module":"app","function":"greet","format":"xml","working_dir":"'"$APPDIR"'","mode":"prod"}' \
		'{"module":"app","function":"greet","format":"json","working_dir":"'"$APPDIR"'","mode":"debug"}' \
		'{"module":"app","function":"greet","format":"json","working_dir":"app","mode":"prod"}' \
		'{"module":"../app","function":"greet","format":"json","working_dir":"'"$APPDIR"'","mode":"prod"}' \
		'{"module":"app","function":"gr eet","format":"json","working_dir":"'"$APPDIR"'","mode":"prod"}' \
		'{"module":"app","function":"greet","function":"boom","format":"json","working_dir":"'"$APPDIR"'","mode":"prod"}' \
		'["app","greet"]' \
		'{"module":"app","function":"greet","format":"json","working_dir":"'"$APPDIR"'","mode":"prod"' \
		'{"module":"app","function":1,"format":"json","working_dir":"'"$APPDIR"'","mode":"prod"}' \
		''; do
		i=$((i + 1))
		printf '%s' "$bad" >"$T/bad-$i.json"
	done
	run -0 table "$1" config "$T"/bad-*.json "$T/nosuch.json"
	[ "${#lines[@]}" -eq 13 ] || fail "$output"
	every_line "config_error: "
	# and one of them through the runner
	cp "$T/bad-1.json" "$T/wrapper.json"
	run -3 call "$in"
	envelope config_error
}

@test "py: missing module, missing function, bad config: config_error, 3; raising at import: import_error, 3" {
	check_config_errors py
	# a module that exists but whose own import fails is not "not found"
	config needsdep greet json
	run -3 call "$T/in"
	envelope import_error ModuleNotFoundError
}

@test "node: missing module, missing function, bad config: config_error, 3; raising at import: import_error, 3" {
	check_config_errors node
	config typed greet json
	run -3 call "$T/in"
	envelope config_error
	grep -q 'TypeScript' "$T/err" || fail "$(cat "$T/err")"
}

@test "py: user output goes to stderr, never into the result" {
	use py oneshot
	config app noisy json
	run -0 call "$(input json '[["Alice"],{}]')"
	run -0 dec json
	assert_output '"hello, Alice"'
	grep -q 'noise on sys.stdout' "$T/err" && grep -q 'noise on fd 1' "$T/err" && grep -q 'noise on stderr' "$T/err" ||
		fail "stderr: $(cat "$T/err")"
}

@test "node: user output goes to stderr, never into the result" {
	use node oneshot
	config app noisy msgpack
	run -0 call "$(input msgpack '[["Alice"],{}]')"
	run -0 dec msgpack
	assert_output '"hello, Alice"'
	grep -q 'noise on console.log' "$T/err" && grep -q 'noise on process.stdout' "$T/err" ||
		fail "stderr: $(cat "$T/err")"
}

@test "py: a coroutine function is awaited; bytes come back as msgpack bin" {
	use py oneshot
	config app agreet json
	run -0 call "$(input json '[["Alice"],{}]')"
	run -0 dec json
	assert_output '"hello, Alice"'
	config app blob msgpack
	run -0 call "$(input msgpack '[[],{}]')"
	run -0 dec msgpack
	assert_output '{"$bin": "0001ff"}'
	config app blob json # no binary in json
	run -4 call "$(input json '[[],{}]')"
	envelope encode_error
}

@test "node: an async function is awaited; a default export's method is found; Uint8Array is msgpack bin" {
	use node oneshot
	config app agreet json
	run -0 call "$(input json '[["Alice"],{}]')"
	run -0 dec json
	assert_output '"hello, Alice"'
	config app viaDefault json
	run -0 call "$(input json '[["Alice"],{}]')"
	run -0 dec json
	assert_output '"default, Alice"'
	config app blob msgpack
	run -0 call "$(input msgpack '[[],{}]')"
	run -0 dec msgpack
	assert_output '{"$bin": "0001ff"}'
	config app undef json
	run -0 call "$(input json '[[],{}]')"
	run -0 dec json
	assert_output '{"a": 1, "c": [null]}'
}

@test "py: results outside the data model are encode_error, 4" {
	use py oneshot
	for fn in aset intkey; do
		for fmt in json msgpack; do
			config app "$fn" "$fmt"
			run -4 call "$(input "$fmt" '[[],{}]')"
			envelope encode_error
		done
	done
}

@test "node: results outside the data model are encode_error, 4" {
	use node oneshot
	for fmt in json msgpack; do
		config app adate "$fmt"
		run -4 call "$(input "$fmt" '[[],{}]')"
		envelope encode_error
	done
}

# mvm_json (agent/wrappers/python/mvm_json.py) is json.loads / json.dumps
# rebuilt on CPython's _json, so a cold call need not import json, re or
# enum.  The stdlib's json is the independent answer: on every text below
# (fixed ones, then seeded random documents, cut and with a byte changed)
# both give the same value, or the same error with the same message, line
# and column; and both write the same text or raise the same error.  The
# texts are read by mvm_json in a process that has not imported json (as
# in a runner: CPython 3.11's _json then cannot raise its own error), which
# must still not have imported it after the valid ones; then again through
# mvm_json's fallback (json itself).
@test "py: mvm_json gives json's values, texts and errors (loads and dumps), with _json and without" {
	cat >"$T/hooks.py" <<'EOF'
import math

class Dup(ValueError):
    pass

def pairs(items):
    out = {}
    for k, v in items:
        if k in out:
            raise Dup("duplicate %r" % k)
        out[k] = v
    return out

def finite(text):
    v = float(text)
    if not math.isfinite(v):
        raise Dup("overflow %s" % text)
    return v

def constant(name):
    raise Dup("constant %s" % name)

def outcome(f, *a, **kw):
    try:
        return ("ok", repr(f(*a, **kw)))
    except ValueError as e:
        if hasattr(e, "lineno"):   # JSONDecodeError or mvm_json.DecodeError
            return ("decode", e.msg, e.lineno, e.colno, e.pos)
        return (type(e).__name__, str(e))
    except (TypeError, RecursionError, OverflowError) as e:
        return (type(e).__name__, str(e))

def loads_all(f, texts):
    return [outcome(f, t, object_pairs_hook=pairs, parse_float=finite, parse_constant=constant)
            for t in texts]
EOF
	cat >"$T/side.py" <<'EOF'
import marshal, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import hooks, mvm_json
valid, texts = marshal.load(open(sys.argv[3], "rb"))
hooks.loads_all(mvm_json.loads, valid)
clean = "json" not in sys.modules
got = hooks.loads_all(mvm_json.loads, texts)
mvm_json._make_scanner = None
got_fallback = hooks.loads_all(mvm_json.loads, texts)
marshal.dump((clean, got, got_fallback), open(sys.argv[4], "wb"))
EOF
	cat >"$T/agree.py" <<'EOF'
import json, marshal, random, subprocess, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import hooks, mvm_json
fixed = ['[1, 2.5, -0, 1e400, "x"]', '{"a": 1, "a": 2}', ' \t\r\n[]\n ', '[]x', '', ' ',
         '\ufeff[]', '[NaN]', '[Infinity, -Infinity]', '"\\ud800"', '"\\x"', '"a\nb"',
         '[1,]', '{"a" 1}', '{"a":1,}', '[' * 3000 + ']' * 3000, '1' * 5000, '"\u00e9\U0001f600"',
         '{"k":[true,false,null,{"n":-1.5e-7}]}', '[1]\n\n  x', '01', '-', '[-]', '1.', '.5',
         '"unterminated', '{"a":"b"', 'tru', '[1 2]', '\n\n  {"a": [1, 2,\n  3,, 4]}',
         '[["Alice"],{}']
rnd = random.Random(18)
def value(d):
    r = rnd.random()
    if d > 4 or r < 0.3:
        return rnd.choice([None, True, False, rnd.randint(-10**20, 10**20), rnd.uniform(-1e9, 1e9),
                           rnd.choice(["", "a", "\u00e9t\u00e9", "\\", '"q"', "\n\t", "\U0001f600"])])
    if r < 0.65:
        return [value(d + 1) for _ in range(rnd.randint(0, 4))]
    return {rnd.choice("abcd\u00e9") + str(i): value(d + 1) for i in range(rnd.randint(0, 4))}
valid, texts = [], list(fixed)
for i in range(3000):
    t = json.dumps(value(0), ensure_ascii=rnd.random() < 0.5, indent=rnd.choice([None, 1]))
    valid.append(t)
    texts.append(t)
    texts.append(t[:rnd.randint(0, len(t))])
    j = rnd.randrange(len(t) + 1)
    texts.append(t[:j] + rnd.choice(' ,:[]{}"\\0e-.x\n\ufeff') + t[j:])
marshal.dump((valid, texts), open(sys.argv[3], "wb"))
subprocess.run([sys.executable, sys.argv[4], sys.argv[1], sys.argv[2], sys.argv[3],
                sys.argv[3] + ".out"], check=True)
clean, got, got_fallback = marshal.load(open(sys.argv[3] + ".out", "rb"))
if not clean:
    sys.exit("mvm_json imported json on valid input")
want = hooks.loads_all(json.loads, texts)
checked = 0
for t, w, g, gf in zip(texts, want, got, got_fallback):
    if w != g or w != gf:
        sys.exit("loads %r: json %r, mvm_json %r, its fallback %r" % (t[:80], w, g, gf))
    checked += 2
values = [value(0) for _ in range(3000)] + [float("nan"), [float("inf")], {"a": -float("inf")},
          "\ud800", ["\udfff"], {1: 2}, {"a": {1.5: 0}}, set(), [b"x"], [object()], 10**30, -0.0]
for fallback in (False, True):
    if fallback:
        mvm_json._make_scanner = None
    for v in values:
        for ascii_ in (True, False):
            for nan in (True, False):
                w = hooks.outcome(json.dumps, v, ensure_ascii=ascii_, allow_nan=nan,
                                  separators=(",", ":"))
                g = hooks.outcome(mvm_json.dumps, v, ensure_ascii=ascii_, allow_nan=nan)
                if w != g:
                    sys.exit("dumps %r (fallback %s): json %r, mvm_json %r" % (v, fallback, w, g))
                checked += 1
print("agree", checked)
EOF
	run -0 "$PY" "$T/agree.py" "$W/python" "$T" "$T/texts" "$T/side.py"
	assert_output "agree 42158"
}

@test "py: strings: a surrogate pair is fine, a lone surrogate is not" {
	use py oneshot
	config app echo json
	printf '[["\\ud83d\\ude00"],{}]' >"$T/in"
	run -0 call "$T/in"
	run -0 dec json
	assert_output '[["😀"], {}]'
	printf '[["\\udc00"],{}]' >"$T/in"
	run -2 call "$T/in"
	envelope decode_error
}

@test "node: strings: a surrogate pair is fine, a lone surrogate is not" {
	use node oneshot
	config app echo json
	printf '[["\\ud83d\\ude00"],{}]' >"$T/in"
	run -0 call "$T/in"
	run -0 dec json
	assert_output '["😀"]'
	printf '[["\\udc00"],{}]' >"$T/in"
	run -2 call "$T/in"
	envelope decode_error
	printf '[["\\ud800x"],{}]' >"$T/in"
	run -2 call "$T/in"
	envelope decode_error
}

@test "py: a oneshot refuses a second dispatch in the same process" {
	cat >"$T/twice.py" <<'EOF'
import json, sys
sys.path.insert(0, sys.argv[1])
import oneshot
import mvm_wrapper_common as mw
cfg = mw.load_config(sys.argv[2])
code, body = oneshot.dispatch(cfg, b'[["Alice"],{}]')
print(code, body.decode())
code, body = oneshot.dispatch(cfg, b'[["Bob"],{}]')
print(code, json.loads(body)["error"]["kind"])
EOF
	config app greet json
	run -0 "$PY" "$T/twice.py" "$W/python" "$T/wrapper.json"
	assert_line --index 0 '0 "hello, Alice"'
	assert_line --index 1 '5 internal_error'
}

@test "node: a oneshot refuses a second dispatch in the same process" {
	need_node
	cat >"$T/twice.mjs" <<EOF
import { dispatch } from '$W/node/oneshot.mjs';
import * as mw from '$W/node/mvm_wrapper_common.mjs';
const cfg = mw.loadConfig(process.argv[2]);
let r = await dispatch(cfg, Buffer.from('[["Alice"],{}]'));
console.log(r.code, r.body.toString());
r = await dispatch(cfg, Buffer.from('[["Bob"],{}]'));
console.log(r.code, JSON.parse(r.body).error.kind);
EOF
	config app greet json
	run -0 node "$T/twice.mjs" "$T/wrapper.json"
	assert_line --index 0 '0 "hello, Alice"'
	assert_line --index 1 '5 internal_error'
}

# prod: a user thread's uncaught exception is one neutral line, not its
# traceback (which may hold payload bytes); dev: the traceback.  The hook
# is set without importing threading (only the function's own import does).
@test "py: prod suppresses a user thread's traceback, dev shows it; threading is not imported for the function" {
	cat >"$APPDIR/threads.py" <<'EOF'
import sys


def loaded():
    return "threading" in sys.modules


def fail_in_thread(secret):
    import threading

    def run():
        raise ValueError(secret)

    t = threading.Thread(target=run)
    t.start()
    t.join()
    return "joined"
EOF
	use py oneshot
	for mode in prod dev; do
		config threads loaded json "$mode"
		run -0 call "$(input json '[[],{}]')"
		run -0 dec json
		assert_output false
	done
	config threads fail_in_thread json prod
	run -0 call "$(input json '[["s3cr3t-payload"],{}]')"
	run -0 dec json
	assert_output '"joined"'
	run -0 cat "$T/err"
	assert_output "mvm-wrapper: uncaught ValueError in a user thread (traceback suppressed in prod mode)"
	config threads fail_in_thread json dev
	run -0 call "$T/in"
	run -0 cat "$T/err"
	assert_output --partial "ValueError: s3cr3t-payload"
	assert_output --partial "Traceback"
}

@test "py: prod is non-dumpable, dev is not" {
	use py oneshot
	config app dumpable json prod
	run -0 call "$(input json '[[],{}]')"
	run -0 dec json
	assert_output 0
	config app dumpable json dev
	run -0 call "$T/in"
	run -0 dec json
	assert_output 1
}

@test "node: prod empties coredump_filter (no prctl in Node; see PROTOCOL.md)" {
	use node oneshot
	[ -w /proc/self/coredump_filter ] || skip "no /proc/self/coredump_filter here"
	config app coredumpFilter json prod
	run -0 call "$(input json '[[],{}]')"
	run -0 dec json
	assert_output '"00000000"'
	config app coredumpFilter json dev
	run -0 call "$T/in"
	run -0 dec json
	refute_output '"00000000"'
}

check_full() { # LANG
	use "$1" oneshot
	config app greet json
	input json '[["Alice"],{}]' >/dev/null
	: >"$T/out"
	run -5 full
	envelope io_error
	# longrunning: the ready frame cannot be written
	use "$1" longrunning
	run -5 full
	envelope io_error
}

# full: the runner on $T/in with stdout on /dev/full
full() { "${RUN[@]}" <"$T/in" >/dev/full 2>"$T/err"; }

@test "py: stdout on /dev/full: io_error, 5" { check_full py; }
@test "node: stdout on /dev/full: io_error, 5" { check_full node; }

# The image installs a runner as /usr/lib/mvm/wrappers/runner, its common
# module beside it, and the agent execs it through /proc/self/fd/N.
@test "py: the runner works installed as an extensionless 'runner' and exec'd by shebang through /proc/self/fd" {
	mkdir -p "$T/lib" "$T/bin"
	cp "$W/python/oneshot.py" "$T/lib/runner"
	cp "$W/python/mvm_wrapper_common.py" "$W/python/mvm_json.py" "$T/lib/"
	chmod 0555 "$T/lib/runner"
	ln -s "$PY" "$T/bin/python3" # the guest's python3 is Debian's
	config app greet msgpack
	input msgpack '[["Alice"],{}]' >/dev/null
	RUN=(env PATH="$T/bin:$PATH" "$T/lib/runner")
	run -0 call "$T/in"
	run -0 dec msgpack
	assert_output '"hello, Alice"'
	RUN=(env PATH="$T/bin:$PATH" "$PY" "$BATS_FILE_TMPDIR/mvmw.py" fdexec "$T/lib/runner")
	run -0 call "$T/in"
	run -0 dec msgpack
	assert_output '"hello, Alice"'
}

@test "node: the runner works installed as an extensionless 'runner' and exec'd by shebang through /proc/self/fd" {
	need_node
	mkdir -p "$T/lib"
	cp "$W/node/oneshot.mjs" "$T/lib/runner"
	cp "$W/node/mvm_wrapper_common.mjs" "$W/node/package.json" "$T/lib/"
	ln -s "$W/node/node_modules" "$T/lib/node_modules"
	chmod 0555 "$T/lib/runner"
	config app greet msgpack
	input msgpack '[["Alice"],{}]' >/dev/null
	RUN=("$T/lib/runner")
	run -0 call "$T/in"
	run -0 dec msgpack
	assert_output '"hello, Alice"'
	RUN=("$PY" "$BATS_FILE_TMPDIR/mvmw.py" fdexec "$T/lib/runner")
	run -0 call "$T/in"
	run -0 dec msgpack
	assert_output '"hello, Alice"'
}

# ---------------------------------------------------------------- longrunning

check_calls() { # LANG FMT
	use "$1" longrunning
	local lang=python
	[ "$1" = py ] || lang=node
	config counter bump "$2"
	mvmw frames "$2" '[[],{}]' '[[2],{}]' '[[1],{"fail":true}]' 'hex:5b5b' '[[3],{}]' >"$T/req"
	run -0 call "$T/req"
	run -0 mvmw unframe "$2" <"$T/out"
	assert_line --index 0 --regexp '^ready \{"protocol":1,"language":"'"$lang"'","format":"'"$2"'","pid":[0-9]+\}$'
	assert_line --index 1 "ok {\"calls\": 1, \"cwd\": \"$APPDIR\", \"leak\": null}"
	assert_line --index 2 "ok {\"calls\": 3, \"cwd\": \"$APPDIR\", \"leak\": null}"
	assert_line --index 3 --regexp '^error \{"error":\{"kind":"user_exception","type":"(ValueError|Error)","message":"[^"]*"\}\}$'
	assert_line --index 4 --regexp '^error \{"error":\{"kind":"decode_error","message":"[^"]*"\}\}$'
	assert_line --index 5 "ok {\"calls\": 7, \"cwd\": \"$APPDIR\", \"leak\": null}"
	[ "${#lines[@]}" -eq 6 ] || fail "$output"
	refute_output --partial SECRET-PAYLOAD
	grep -q 'noise from the call' "$T/err" || fail "user output is not on stderr: $(cat "$T/err")"
}

@test "py longrunning json: many calls in one process; an error does not end it; state warm, cwd and env scrubbed; EOF exits 0" { check_calls py json; }
@test "py longrunning msgpack: many calls in one process; an error does not end it; state warm, cwd and env scrubbed; EOF exits 0" { check_calls py msgpack; }
@test "node longrunning json: many calls in one process; an error does not end it; state warm, cwd and env scrubbed; EOF exits 0" { check_calls node json; }
@test "node longrunning msgpack: many calls in one process; an error does not end it; state warm, cwd and env scrubbed; EOF exits 0" { check_calls node msgpack; }

check_session() { # LANG
	use "$1" longrunning
	config counter bump msgpack dev
	printf '%s\n' '[[],{}]' '[[1],{"fail":true}]' '[[2],{}]' >"$T/reqs"
	run -0 --separate-stderr mvmw session msgpack "$T/reqs" "${RUN[@]}"
	assert_line --index 0 --partial 'ready {"protocol":1'
	assert_line --index 1 --partial 'ok {"calls": 1,'
	assert_line --index 2 --partial 'error {"error":{"kind":"user_exception"'
	assert_line --index 2 --partial 'SECRET-PAYLOAD' # dev keeps the message
	assert_line --index 3 --partial 'ok {"calls": 4,'
	assert_line --index 4 'exit 0'
	[ "${#lines[@]}" -eq 5 ] || fail "$output"
}

@test "py longrunning: each response comes before the next request is sent" { check_session py; }
@test "node longrunning: each response comes before the next request is sent" { check_session node; }

check_frames() { # LANG
	use "$1" longrunning
	config app greet json
	# EOF inside a length, then inside a payload: protocol_error, 2
	mvmw frames json '[["Alice"],{}]' 'raw:0000' >"$T/req"
	run -2 call "$T/req"
	run -0 mvmw unframe json <"$T/out"
	assert_line --index 1 'ok "hello, Alice"'
	envelope_tail protocol_error
	mvmw frames json 'raw:0000000a5b5b' >"$T/req"
	run -2 call "$T/req"
	envelope_tail protocol_error
	# a request over 16 MiB is skipped and answered; the worker goes on
	mvmw frames json 'len:16777217' '[["Alice"],{}]' >"$T/req"
	run -0 call "$T/req"
	run -0 mvmw unframe json <"$T/out"
	assert_line --index 1 --partial 'error {"error":{"kind":"payload_too_large"'
	assert_line --index 2 'ok "hello, Alice"'
	# exactly 16 MiB is served
	config app length json
	mvmw big json 16777216 >"$T/big"
	mvmw frames json "file:$T/big" >"$T/req"
	run -0 call "$T/req"
	run -0 mvmw unframe json <"$T/out"
	assert_line --index 1 'ok 16777207'
	# an empty request is a decode error, not the end
	mvmw frames json 'hex:' '[["x"],{}]' >"$T/req"
	run -0 call "$T/req"
	run -0 mvmw unframe json <"$T/out"
	assert_line --index 1 --partial 'error {"error":{"kind":"decode_error"'
	assert_line --index 2 'ok 1'
	# no requests at all: ready, then exit 0
	: >"$T/req"
	run -0 call "$T/req"
	run -0 mvmw unframe json <"$T/out"
	assert_line --index 0 --partial 'ready '
	[ "${#lines[@]}" -eq 1 ] || fail "$output"
}

# envelope_tail KIND: for a worker, whose stdout holds frames
envelope_tail() {
	local last
	last=$(tail -n 1 "$T/err")
	[ "$(jq -r .error.kind <<<"$last")" = "$1" ] || fail "want kind $1, got: $(cat "$T/err")"
}

@test "py longrunning: truncated frames exit 2; an oversized request is skipped and answered; 16 MiB is served" { check_frames py; }
@test "node longrunning: truncated frames exit 2; an oversized request is skipped and answered; 16 MiB is served" { check_frames node; }

check_worker_startup() { # LANG
	use "$1" longrunning
	: >"$T/req"
	config nosuch greet json
	run -3 call "$T/req"
	envelope config_error
	config broken greet json
	run -3 call "$T/req"
	envelope import_error
	rm "$T/wrapper.json"
	run -3 call "$T/req"
	envelope config_error
}

@test "py longrunning: a worker that cannot start sends no ready frame and exits 3" { check_worker_startup py; }
@test "node longrunning: a worker that cannot start sends no ready frame and exits 3" { check_worker_startup node; }

# ---------------------------------------------------------------- schema

@test "schemas/wrapper.schema.json: a 2020-12 schema with \$id that agrees with the runners" {
	"$PY" -c 'import jsonschema' 2>/dev/null || skip "python3-jsonschema is not installed"
	cat >"$T/check.py" <<'EOF'
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema", schema["$schema"]
assert schema["$id"]
cls = jsonschema.validators.validator_for(schema)
assert cls is jsonschema.Draft202012Validator, cls
cls.check_schema(schema)
v = cls(schema)
for path in sys.argv[2:]:
    doc = json.load(open(path))
    print("valid" if v.is_valid(doc) else "invalid", path.rsplit("/", 1)[-1])
EOF
	good='{"module":"app","function":"greet","format":"json","working_dir":"'"$APPDIR"'","mode":"prod"}'
	printf '%s' "$good" >"$T/c-good.json"
	printf '%s' "${good%\}},\"extra\":1}" >"$T/c-extra.json"
	printf '%s' "${good/,\"mode\":\"prod\"/}" >"$T/c-nomode.json"
	printf '%s' "${good/\"json\"/\"yaml\"}" >"$T/c-format.json"
	printf '%s' "${good/\"app\"/\"..\/app\"}" >"$T/c-module.json"
	printf '%s' "${good/\"$APPDIR\"/\"app\"}" >"$T/c-wd.json"
	run -0 "$PY" "$T/check.py" "$MVM_ROOT/schemas/wrapper.schema.json" "$T"/c-*.json
	assert_output "invalid c-extra.json
invalid c-format.json
valid c-good.json
invalid c-module.json
invalid c-nomode.json
invalid c-wd.json"
	# the runners accept what the schema accepts and refuse what it refuses
	for lang in py node; do
		run -0 table "$lang" config "$T"/c-*.json
		assert_line --index 0 --partial 'config_error: '
		assert_line --index 1 --partial 'config_error: '
		assert_line --index 2 --partial 'ok {'
		assert_line --index 3 --partial 'config_error: '
		assert_line --index 4 --partial 'config_error: '
		assert_line --index 5 --partial 'config_error: '
	done
}

# ---------------------------------------------------------------- schemas (issue 15)

# sconfig FUNCTION ARGS_SCHEMA RETURN_SCHEMA: wrapper.json with both schemas
sconfig() {
	printf '{"module":"sch","function":"%s","format":"json","working_dir":"%s","mode":"prod","args_schema":%s,"return_schema":%s}\n' \
		"$1" "$APPDIR" "$2" "$3" >"$T/wrapper.json"
}

write_sch() {
	# the function leaves a marker: a refused call never ran it
	cat >"$APPDIR/sch.py" <<'EOF2'
def mark(**kw):
    open("marker", "w").close()
    return kw.get("ret", {"n": 1})
EOF2
	cat >"$APPDIR/sch.mjs" <<'EOF2'
import { writeFileSync } from 'node:fs';
export function mark(kw = {}) { writeFileSync('marker', ''); return kw.ret ?? { n: 1 }; }
EOF2
}

# the schema: JSON Schema 2020-12 (the subset of PROTOCOL.md section 5)
ARGS='{"type":"object","required":["name"],"additionalProperties":false,"properties":{"name":{"type":"string","minLength":2,"maxLength":5},"n":{"type":"integer","minimum":1,"maximum":3},"tags":{"type":"array","items":{"enum":["a","b"]}},"ret":true}}'
RET='{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}'

check_schema() { # LANG RUNNER
	use "$1" "$2"
	write_sch
	sconfig mark "$ARGS" "$RET"
	call_one() { # JSON: one call, oneshot or through a longrunning frame
		rm -f "$APPDIR/marker"
		if [ "$2" = oneshot ]; then
			call "$(input json "$1")" || true
			tail -n 1 "$T/err" >"$T/last"
			[ -s "$T/out" ] && cat "$T/out" >"$T/last"
		else
			mvmw frames json "$1" >"$T/req"
			call "$T/req" || true
			mvmw unframe json <"$T/out" | tail -n 1 >"$T/last"
		fi
		cat "$T/last"
	}
	# a good call runs and returns
	run -0 call_one '[[],{"name":"Al","n":2,"tags":["a"]}]' "$2"
	assert_output --regexp '"n": ?1\}'
	[ -e "$APPDIR/marker" ]
	# each breach: bad_input naming the JSON Pointer, the function never ran
	for c in '[[],{"name":"A"}]|/name: shorter than minLength 2' \
		'[[],{"name":"Alice6"}]|/name: longer than maxLength 5' \
		'[[],{"name":"Al","n":4}]|/n: above maximum 3' \
		'[[],{"name":"Al","n":0}]|/n: below minimum 1' \
		'[[],{"name":"Al","n":1.5}]|/n: not of type integer' \
		'[[],{"name":"Al","tags":["a","c"]}]|/tags/1: not one of the enum values' \
		'[[],{"n":1}]|(root): missing required member \"name\"' \
		'[[],{"name":"Al","zzz":1}]|(root): a member the schema does not declare' \
		'[["Al"],{}]|positional arguments'; do
		run -0 call_one "${c%%|*}" "$2"
		assert_output --partial '"kind":"bad_input"'
		assert_output --partial "${c#*|}"
		refute_output --partial zzz   # prod: input keys are never echoed
		[ ! -e "$APPDIR/marker" ] || fail "the function ran for ${c%%|*}"
	done
	# a result that breaks return_schema: bad_output, after the call
	run -0 call_one '[[],{"name":"Al","ret":{"n":"x"}}]' "$2"
	assert_output --partial '"kind":"bad_output"'
	assert_output --partial 'at /n: not of type integer'
}

@test "py oneshot: args_schema refuses bad arguments before the function runs (bad_input + JSON Pointer); return_schema bad_output" { check_schema py oneshot; }
@test "py longrunning: args_schema and return_schema checked per call" { check_schema py longrunning; }
@test "node oneshot: args_schema refuses bad arguments before the function runs (bad_input + JSON Pointer); return_schema bad_output" { check_schema node oneshot; }
@test "node longrunning: args_schema and return_schema checked per call" { check_schema node longrunning; }
