# agent/agent.mk — the guest agent, included by the top-level Makefile.
# Defines AGENT_TARGETS (built by `make` and `make check`) and AGENT_CLEAN.
#
# agent/mvm-agent is linked statically (glibc -static, libseccomp.a,
# libsodium.a) so that it runs in a busybox rootfs without a dynamic
# loader.  Sanitizers cannot link statically: under SANITIZE it is linked
# dynamically instead (host tests only).  AGENT_STATIC=0 does the same.
AGENT_OBJ := $(addprefix agent/,mvm-agent.o setup.o loop.o conn.o mux.o sched.o cold.o warm.o contain.o config.o spawn.o calldir.o)
AGENT_TARGETS := agent/mvm-agent
AGENT_CLEAN := agent/mvm-agent $(AGENT_OBJ) agent/*.d
AGENT_STATIC ?= $(if $(SANITIZE),0,1)
AGENT_LDFLAGS := $(if $(filter 1,$(AGENT_STATIC)),-static)
AGENT_LIBS := -lseccomp $(SODIUM_LIBS) -lm

all: $(AGENT_TARGETS)

$(AGENT_OBJ): override CPPFLAGS += -Iagent

agent/mvm-agent: $(AGENT_OBJ) lib/libmvm.a
	$(CC) $(LDFLAGS) $(AGENT_LDFLAGS) -o $@ $(AGENT_OBJ) lib/libmvm.a $(AGENT_LIBS)
