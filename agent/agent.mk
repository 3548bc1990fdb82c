# agent/agent.mk — the guest agent, included by the top-level Makefile.
# Defines AGENT_TARGETS (built by `make` and `make check`) and AGENT_CLEAN.
#
# agent/mvm-agent is linked statically (glibc -static, libsodium.a) so
# that it runs in a busybox rootfs without a dynamic loader.  Its seccomp
# programs are made at build time: agent/seccomp-gen, a host program linked
# with libseccomp, prints agent/seccomp-bpf.h (spawn.c includes it).  Sanitizers cannot link statically: under SANITIZE it is linked
# dynamically instead (host tests only).  AGENT_STATIC=0 does the same.
#
# agent/mvm-agent-dev is the dev images' agent (mvm-build --dev): the same
# sources compiled again with -DMVM_DEV into agent/dev/, plus dev.c (the
# exec request).  agent/mvm-agent has no exec path: none of dev.c is in it
# (t/agent.bats checks its symbols).
AGENT_SRC := mvm-agent setup loop conn mux sched cold warm contain config entry spawn service provision provreq calldir egress cgroup dm listen init initdev initnet
AGENT_OBJ := $(patsubst %,agent/%.o,$(AGENT_SRC))
AGENT_DEV_OBJ := $(patsubst %,agent/dev/%.o,$(AGENT_SRC) dev)
AGENT_TARGETS := agent/mvm-agent agent/mvm-agent-dev
AGENT_CLEAN := agent/mvm-agent agent/mvm-agent-dev $(AGENT_OBJ) agent/*.d agent/dev/*.o agent/dev/*.d \
	agent/seccomp-gen agent/seccomp-gen.o agent/seccomp-bpf.h
AGENT_STATIC ?= $(if $(SANITIZE),0,1)
AGENT_LDFLAGS := $(if $(filter 1,$(AGENT_STATIC)),-static)
AGENT_LIBS := $(SODIUM_LIBS) -lm

all: $(AGENT_TARGETS)

$(AGENT_OBJ) $(AGENT_DEV_OBJ): override CPPFLAGS += -Iagent

agent/seccomp-gen: agent/seccomp-gen.o
	$(CC) $(LDFLAGS) -o $@ $< -lseccomp

# written whole or not at all: a failed run leaves no header behind
agent/seccomp-bpf.h: agent/seccomp-gen
	agent/seccomp-gen >$@.tmp && mv $@.tmp $@

agent/spawn.o agent/dev/spawn.o: agent/seccomp-bpf.h

agent/mvm-agent: $(AGENT_OBJ) lib/libmvm.a
	$(CC) $(LDFLAGS) $(AGENT_LDFLAGS) -o $@ $(AGENT_OBJ) lib/libmvm.a $(AGENT_LIBS)

agent/dev/%.o: agent/%.c .build-flags
	@mkdir -p agent/dev
	$(CC) $(CPPFLAGS) -DMVM_DEV $(CFLAGS) -MMD -MP -c -o $@ $<

agent/mvm-agent-dev: $(AGENT_DEV_OBJ) lib/libmvm.a
	$(CC) $(LDFLAGS) $(AGENT_LDFLAGS) -o $@ $(AGENT_DEV_OBJ) lib/libmvm.a $(AGENT_LIBS)

-include $(wildcard agent/dev/*.d)
