# mvm — one non-recursive GNU Makefile.
#   make                     build the tools in bin/ (and the guest agent); install the
#                            TypeScript SDK's pinned dependencies when missing (npm ci)
#   make hello               install what is missing, build, run examples/hello
#   make check               build with -Werror, run the unit tests, bats t/, man lint
#   make check SANITIZE=address,undefined   the same under sanitizers (less the
#                            SDK tests and man lint, which run no C)
#   make bench               the benchmarks in bench/, small inputs
#   make fuzz                build the libFuzzer harnesses in fuzz/ (clang)
#   make install PREFIX=/usr/local DESTDIR=
# Tools are bin/NAME.c -> bin/NAME; the shared library is lib/*.c -> lib/libmvm.a;
# C unit tests are t/unit/NAME.c -> t/unit/NAME.  New files are picked up by wildcard.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
SHAREDIR ?= $(PREFIX)/share/mvm
PKG_CONFIG ?= pkg-config
BATS ?= bats
MANDOC ?= mandoc
FUZZ_CC ?= clang

CC ?= cc
CFLAGS ?= -g -O2
WARN := -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wwrite-strings -Wno-missing-field-initializers
override CPPFLAGS += -Ilib -D_GNU_SOURCE
override CFLAGS := -std=c11 $(WARN) $(CFLAGS) $(if $(WERROR),-Werror)
ifneq ($(SANITIZE),)
override CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
override LDFLAGS += -fsanitize=$(SANITIZE)
endif

SODIUM_CFLAGS := $(shell $(PKG_CONFIG) --cflags libsodium 2>/dev/null)
SODIUM_LIBS := $(shell $(PKG_CONFIG) --libs libsodium 2>/dev/null || echo -lsodium)
# libcrypto is linked statically: loading the 4.6 MB shared library costs
# every tool that hashes 5 ms of CPU at start (relocations, page faults),
# more than hashing 5 MB; statically, a tool gets only the code it calls
# (lib/sha256s.c: 38 KB).  libc and the rest stay shared.
CRYPTO_LIBS := -Wl,-Bstatic $(shell $(PKG_CONFIG) --libs libcrypto 2>/dev/null || echo -lcrypto) -Wl,-Bdynamic -ldl
override CPPFLAGS += $(SODIUM_CFLAGS)
LDLIBS += $(SODIUM_LIBS) $(CRYPTO_LIBS) -lyaml -lz -lm -pthread

TOOLS := $(patsubst %.c,%,$(wildcard bin/*.c))
LIB_OBJ := $(patsubst %.c,%.o,$(wildcard lib/*.c))
UNIT := $(patsubst %.c,%,$(wildcard t/unit/*.c))
FUZZ := $(patsubst %.c,%,$(wildcard fuzz/*.c))
MAN1 := $(wildcard man/man1/*.1)
MAN5 := $(wildcard man/man5/*.5)
MAN7 := $(wildcard man/man7/*.7)
MAN8 := $(wildcard man/man8/*.8)

all: $(TOOLS)

.DELETE_ON_ERROR:
.PHONY: all deps hello check unit-check bats-check man-check fuzz clean install FORCE

# Install the Debian packages the build and the tests need (a no-op when present).
deps:
	@tools/install-deps.sh

# The seed's worked example, end to end: declare (entry.py) -> emit -> build
# -> plan, sign -> admit, boot a QEMU microVM -> call greet -> stop.
hello: deps
	$(MAKE) all
	@libexec/mvm-build-kernel >/dev/null
	$(MAKE) -C examples/hello mvm-invoke MVM_INPUT=name=Alice
	$(MAKE) -C examples/hello mvm-down mvm-audit-verify

# Rebuild everything when the compiler or its flags change.  -Werror changes
# no object code, only whether a warning fails the build, so it counts one
# way only: objects built with it stand for a build without it (a bare
# `make t/unit/X` after `make WERROR=1 all` rebuilds only X), while adding
# it rebuilds everything (an object built without it may hide a warning).
FLAGS_ID := $(CC) $(CPPFLAGS) $(filter-out -Werror,$(CFLAGS)) $(LDFLAGS) $(LDLIBS)
FLAGS_W := $(if $(filter -Werror,$(CFLAGS)),y)
.build-flags: FORCE
	@old=$$(cat $@ 2>/dev/null); \
	case "$$old" in \
	'$(FLAGS_ID) -Werror') ;; \
	'$(FLAGS_ID)') [ -z '$(FLAGS_W)' ] || echo '$(FLAGS_ID) -Werror' > $@ ;; \
	*) echo '$(FLAGS_ID)$(if $(FLAGS_W), -Werror)' > $@ ;; \
	esac

%.o: %.c .build-flags
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

lib/libmvm.a: $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(TOOLS) $(UNIT): %: %.o lib/libmvm.a
	$(CC) $(LDFLAGS) -o $@ $< lib/libmvm.a $(LDLIBS)

-include $(wildcard lib/*.d bin/*.d t/unit/*.d agent/*.d)

# The guest agent and anything else agent/ builds.
-include agent/agent.mk

# CHECK_JOBS: compiler jobs, and bats test files run at once (bats --jobs,
# with GNU parallel; a file's own tests stay in order).
CHECK_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
check: deps
	$(MAKE) -j$(CHECK_JOBS) WERROR=1 all $(UNIT) $(AGENT_TARGETS)
	$(MAKE) unit-check $(if $(SANITIZE),,sdk-check) bats-check $(if $(SANITIZE),,man-check)

unit-check: $(UNIT)
	@set -e; for u in $(UNIT); do echo "unit: $$u"; ./$$u; done

# MVM_SANITIZE tells the tests that the agent is not a guest binary.  Test
# files run CHECK_JOBS at a time when GNU parallel is there (bats needs it
# for --jobs), one at a time otherwise; the output stays in file order.
BATS_JOBS = $(if $(shell parallel --version 2>/dev/null | grep -q 'GNU parallel' && echo y),\
	$(if $(filter-out 0 1,$(CHECK_JOBS)),--jobs $(CHECK_JOBS) --no-parallelize-within-files))
bats-check:
	MVM_SANITIZE=$(SANITIZE) $(BATS) $(BATS_JOBS) $(BATSFLAGS) t/

# The benchmarks in bench/, quickly: small inputs, BENCH_RUNS runs each (the
# full-size runs and their figures: bench/RESULTS.md).  Each prints its
# ratios with their targets; bench/boot.sh and bench/build.sh need the kernel.
BENCH_RUNS ?= 2
.PHONY: bench
bench: all $(AGENT_TARGETS)
	RUNS=$(BENCH_RUNS) bench/canon.sh 2
	RUNS=$(BENCH_RUNS) bench/validate.sh
	RUNS=$(BENCH_RUNS) bench/admit.sh 10000
	bench/agent.sh 10 100
	bench/build.sh
	bench/boot.sh $(BENCH_RUNS)
	bench/verity.sh 2
	bench/guest-costs.sh 1
	bench/net.sh 1
	bench/egress.sh 200
	bench/egress-path.sh 50
	bench/deps-verity.sh 3
	RUNS=1 bench/deps.sh
	RUNS=1 bench/deps-py.sh
# Not here: bench/cgroup.sh needs a second kernel built from an older config,
# bench/slurm.sh a Slurm cluster (tools/slurm-test-cluster); both say how.

man-check:
	$(MANDOC) -Tlint -Wwarning $(MAN1) $(MAN5) $(MAN7) $(MAN8)

# libFuzzer harnesses: fuzz/NAME.c links the library sources directly; a
# harness of a guest agent reader links that reader's agent/ file too.
fuzz: $(FUZZ)
fuzz/runtime: FUZZ_AGENT := agent/config.c
fuzz/service: FUZZ_AGENT := agent/service.c agent/sysc.c
fuzz/provision: FUZZ_AGENT := agent/provreq.c
fuzz/runtime fuzz/service fuzz/provision: $(wildcard agent/*.c agent/*.h)
$(FUZZ): %: %.c $(wildcard lib/*.c lib/*.h)
	$(FUZZ_CC) -g -O1 -std=c11 -Ilib -Iagent -D_GNU_SOURCE $(SODIUM_CFLAGS) \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -o $@ $< $(FUZZ_AGENT) $(wildcard lib/*.c) $(SODIUM_LIBS) $(CRYPTO_LIBS) -lyaml -lz -lm -pthread

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(SHAREDIR)
	install -m 0755 $(TOOLS) $(DESTDIR)$(BINDIR)
	$(if $(MAN1),install -m 0644 $(MAN1) $(DESTDIR)$(MANDIR)/man1)
	$(if $(MAN5),install -m 0644 $(MAN5) $(DESTDIR)$(MANDIR)/man5)
	$(if $(MAN7),install -m 0644 $(MAN7) $(DESTDIR)$(MANDIR)/man7)
	$(if $(MAN8),install -m 0644 $(MAN8) $(DESTDIR)$(MANDIR)/man8)
	cp -R schemas mk nix $(DESTDIR)$(SHAREDIR)/
	# What the builders need, in the checkout's layout under SHAREDIR; the
	# libexec programs are linked from PREFIX/libexec, where mvmctl looks.
	install -d $(DESTDIR)$(SHAREDIR)/agent \
		$(DESTDIR)$(SHAREDIR)/libexec $(DESTDIR)$(PREFIX)/libexec
	install -m 0755 $(AGENT_TARGETS) $(DESTDIR)$(SHAREDIR)/agent/
	cp -R agent/wrappers $(DESTDIR)$(SHAREDIR)/agent/
	install -m 0755 libexec/* $(DESTDIR)$(SHAREDIR)/libexec/
	for f in libexec/*; do ln -sf ../share/mvm/$$f $(DESTDIR)$(PREFIX)/libexec/$${f#libexec/}; done

clean:
	rm -f $(TOOLS) $(UNIT) $(FUZZ) lib/libmvm.a lib/*.o lib/*.d bin/*.o bin/*.d \
		t/unit/*.o t/unit/*.d .build-flags $(AGENT_CLEAN)
	rm -rf $(AGENT_CLEAN_DIRS)

# SDKs (sdk/): the generated models must match schemas/workload.schema.json;
# Python unittest, node --test and cargo test (skipped, saying so, without
# cargo).  sdk/typescript/node_modules (esbuild, pinned) comes from npm ci.
SDK_PYTHON ?= $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || echo python3)
NPM ?= npm
CARGO ?= cargo
SDK_NODE_MODULES := sdk/typescript/node_modules/.package-lock.json
.PHONY: sdk-check sdk-models
sdk-models:
	$(SDK_PYTHON) tools/gen-sdk-models.py
# `make` installs them when missing or older than the lockfile, so that
# `mvm-emit entry.ts` works after it; without npm it says so and goes on.
all: $(SDK_NODE_MODULES)
$(SDK_NODE_MODULES): sdk/typescript/package-lock.json sdk/typescript/package.json
	@if ! command -v $(NPM) >/dev/null 2>&1; then \
		echo "sdk/typescript: $(NPM) not found: not installing the TypeScript SDK's dependencies (mvm-emit entry.ts needs them; make deps installs npm)"; \
	else \
		echo "sdk/typescript: installing the pinned dependencies (npm ci; mvm-emit needs them for entry.ts)"; \
		cd sdk/typescript && $(NPM) ci --no-audit --no-fund --loglevel=error; \
	fi
# The Node wrappers' pinned runtime dependency (@msgpack/msgpack), copied into
# every Node image: installed here, from the registry npm is configured for at
# `make` time, so an image build never fetches it (a build's own registry
# settings, e.g. a workload's private registry, do not serve our wrapper).
WRAPPER_NODE_MODULES := agent/wrappers/node/node_modules/.package-lock.json
all: $(WRAPPER_NODE_MODULES)
$(WRAPPER_NODE_MODULES): agent/wrappers/node/package-lock.json agent/wrappers/node/package.json
	@if ! command -v $(NPM) >/dev/null 2>&1; then \
		echo "agent/wrappers/node: $(NPM) not found: not installing the Node wrappers' dependency (Node images need it; make deps installs npm)"; \
	else \
		echo "agent/wrappers/node: installing the pinned dependency (npm ci --omit=dev; Node images carry it)"; \
		cd agent/wrappers/node && $(NPM) ci --omit=dev --no-audit --no-fund --loglevel=error; \
	fi
bats-check: $(SDK_NODE_MODULES) $(WRAPPER_NODE_MODULES)
sdk-check: $(SDK_NODE_MODULES)
	$(SDK_PYTHON) tools/gen-sdk-models.py --check
	cd sdk/python && $(SDK_PYTHON) -m unittest discover -s tests
	cd sdk/typescript && node --test test/*.test.mjs
	@if command -v $(CARGO) >/dev/null 2>&1; then \
		echo "cd sdk/rust && $(CARGO) test --offline"; cd sdk/rust && $(CARGO) test --offline; \
	else echo "sdk-check: skipping sdk/rust: $(CARGO) not found (install Rust's cargo)"; fi
# The SDKs, installed where mvm-emit looks for them (../share/mvm/sdk).
.PHONY: install-sdk
install: install-sdk
install-sdk: $(SDK_NODE_MODULES)
	install -d $(DESTDIR)$(SHAREDIR)/sdk/python/mvm $(DESTDIR)$(SHAREDIR)/sdk/typescript \
		$(DESTDIR)$(SHAREDIR)/sdk/rust
	install -m 0644 sdk/python/mvm/*.py $(DESTDIR)$(SHAREDIR)/sdk/python/mvm
	cd sdk/typescript && cp -R package.json package-lock.json index.js index.d.ts model.js \
		lib bin node_modules $(abspath $(DESTDIR)$(SHAREDIR))/sdk/typescript/
	cp -R sdk/rust/Cargo.toml sdk/rust/src $(DESTDIR)$(SHAREDIR)/sdk/rust/
