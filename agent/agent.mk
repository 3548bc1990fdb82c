# agent/agent.mk — the guest agent, included by the top-level Makefile.
# Defines AGENT_TARGETS (built by `make` and `make check`), AGENT_CLEAN
# (files) and AGENT_CLEAN_DIRS; MUSL_CC (default musl-gcc) and AGENT_STATIC
# may be overridden.
#
# agent/mvm-agent is linked statically with musl (MUSL_CC: Debian's
# musl-tools) so that it runs in a rootfs without a dynamic loader, and
# small: 229 KB of text where glibc -static had 1.16 MB.  It is PID 1, and
# the guest reads its pages through dm-verity (hashed) before anything else
# runs (bench/RESULTS.md, "Boot, session 12").  Its objects and the lib/
# files it uses (AGENT_LIB: a lib/ file the agent comes to call is added
# there, the link names it) are compiled for musl under agent/musl/; musl's
# headers do not include the kernel's, so agent/musl/include links to the
# host's linux/, asm/ and asm-generic/.  libsodium is not linked (base64 is
# lib/b64.c).  Its seccomp programs are made at build time:
# agent/seccomp-gen, a host program linked with libseccomp, prints
# agent/seccomp-bpf.h (spawn.c includes it).
# Sanitizers cannot link statically: under SANITIZE (or AGENT_STATIC=0) the
# agent is built with CC and linked dynamically with glibc instead, from
# agent/*.o and lib/libmvm.a (host tests only).
#
# agent/mvm-agent-dev is the dev images' agent (mvm-build --dev): the same
# sources compiled again with -DMVM_DEV into .../dev/, plus dev.c (the
# exec request).  agent/mvm-agent has no exec path: none of dev.c is in it
# (t/agent.bats checks its symbols).
AGENT_SRC := mvm-agent setup loop conn mux sched cold warm contain config entry spawn sysc service provision provreq calldir egress cgroup dm listen init initdev initnet
AGENT_LIB := buf dtoa err frame framerep framereq io json jsoncanon jsondoc jsonget jsonkey \
	jsonnum jsonover jsonput jsonstr jsontape jsonwin monoclock numparse b64
AGENT_STATIC ?= $(if $(SANITIZE),0,1)
MUSL_CC ?= musl-gcc
ifeq ($(AGENT_STATIC),1)
AGENT_DIR := agent/musl
AGENT_LINK := $(MUSL_CC) -static
AGENT_LIBOBJ := $(patsubst %,agent/musl/lib/%.o,$(AGENT_LIB))
AGENT_LIBS := -lm
else
AGENT_DIR := agent
AGENT_LINK := $(CC)
AGENT_LIBOBJ := lib/libmvm.a
AGENT_LIBS := $(SODIUM_LIBS) -lm
endif
AGENT_OBJ := $(patsubst %,$(AGENT_DIR)/%.o,$(AGENT_SRC))
AGENT_DEV_OBJ := $(patsubst %,$(AGENT_DIR)/dev/%.o,$(AGENT_SRC) dev)
AGENT_TARGETS := agent/mvm-agent agent/mvm-agent-dev
AGENT_CLEAN := agent/mvm-agent agent/mvm-agent-dev agent/*.o agent/*.d \
	agent/seccomp-gen agent/seccomp-gen.o agent/seccomp-bpf.h
AGENT_CLEAN_DIRS := agent/dev agent/musl

all: $(AGENT_TARGETS)

$(AGENT_OBJ) $(AGENT_DEV_OBJ): override CPPFLAGS += -Iagent

agent/seccomp-gen: agent/seccomp-gen.o
	$(CC) $(LDFLAGS) -o $@ $< -lseccomp

# written whole or not at all: a failed run leaves no header behind
agent/seccomp-bpf.h: agent/seccomp-gen
	agent/seccomp-gen >$@.tmp && mv $@.tmp $@

$(AGENT_DIR)/spawn.o $(AGENT_DIR)/dev/spawn.o: agent/seccomp-bpf.h

agent/mvm-agent: $(AGENT_OBJ) $(AGENT_LIBOBJ)
	$(AGENT_LINK) $(LDFLAGS) -o $@ $(AGENT_OBJ) $(AGENT_LIBOBJ) $(AGENT_LIBS)

agent/mvm-agent-dev: $(AGENT_DEV_OBJ) $(AGENT_LIBOBJ)
	$(AGENT_LINK) $(LDFLAGS) -o $@ $(AGENT_DEV_OBJ) $(AGENT_LIBOBJ) $(AGENT_LIBS)

agent/dev/%.o: agent/%.c .build-flags
	@mkdir -p agent/dev
	$(CC) $(CPPFLAGS) -DMVM_DEV $(CFLAGS) -MMD -MP -c -o $@ $<

# musl: the kernel's headers beside musl's, and the compiler checked once
MUSL_KHDRS ?= /usr/include
MUSL_ARCH_KHDRS ?= /usr/include/$(shell $(CC) -print-multiarch 2>/dev/null)
agent/musl/include/.made:
	@command -v $(MUSL_CC) >/dev/null || { echo "agent/agent.mk: $(MUSL_CC) not found: the" \
		"static agent is built with musl (apt-get install musl-tools, as tools/install-deps.sh" \
		"does), or make AGENT_STATIC=0 for a dynamic host-only agent" >&2; exit 1; }
	@mkdir -p $(@D)
	ln -sfn $(MUSL_KHDRS)/linux $(@D)/linux
	ln -sfn $(MUSL_ARCH_KHDRS)/asm $(@D)/asm
	ln -sfn $(MUSL_KHDRS)/asm-generic $(@D)/asm-generic
	touch $@

MUSL_COMPILE = $(MUSL_CC) $(CPPFLAGS) -idirafter agent/musl/include $(CFLAGS) -MMD -MP -c -o $@ $<
agent/musl/%.o: agent/%.c .build-flags agent/musl/include/.made
	@mkdir -p $(@D)
	$(MUSL_COMPILE)
agent/musl/dev/%.o: agent/%.c .build-flags agent/musl/include/.made
	@mkdir -p $(@D)
	$(MUSL_COMPILE) -DMVM_DEV
agent/musl/lib/%.o: lib/%.c .build-flags agent/musl/include/.made
	@mkdir -p $(@D)
	$(MUSL_COMPILE)

-include $(wildcard agent/dev/*.d agent/musl/*.d agent/musl/dev/*.d agent/musl/lib/*.d)
