# mk/mvm.mk — the mvm flow as make rules, for a workload's own Makefile:
#
#     MVM := /path/to/mvm
#     include $(MVM)/mk/mvm.mk
#
# Then `make invoke INPUT='name=Alice'` declares, builds, plans, admits, boots
# and calls; each step is a file target, so only what changed is redone.
#
# Variables (set before the include, or on the command line):
#   MVM            the mvm checkout or install prefix (required)
#   MVM_ENTRY      the declaration                         (entry.py)
#   MVM_DIR        generated state                         (.mvm)
#   MVM_SOURCES    files whose change re-emits the IR      (MVM_ENTRY, src/**)
#   MVM_BACKEND, MVM_BUILD, MVM_BUILD_OPTS: see mk/build.mk (included from here)
#   MVM_PLAN_OPTS  extra plan-new options                  (--valid-for 600)
#   MVM_BOOT_OPTS  extra vm-boot options                   ()
#   INPUT          KEY=VALUE arguments for invoke, space-separated
#   MVM_AUDIT_LOG  the audit log                           ($(MVM_HOME)/audit/local.jsonl)
#   MVM_HOME       per-user keys, trust, nonces, audit logs (~/.mvm)
#   Tool paths, each overridable: MVM_EMIT IR_VALIDATE IR_HASH MVM_BUILD
#   PLAN_KEYGEN PLAN_NEW PLAN_SIGN PLAN_VERIFY VM_BOOT VSOCK_CALL AUDIT_VERIFY
#
# Targets:
#   $(MVM_DIR)/workload-ir.json   emit (mvm-emit)
#   validate                      ir-validate
#   $(MVM_DIR)/ir.hash            ir-hash
#   mvm-image, $(MVM_DIR)/image.key   build: mk/build.mk
#   mvm-key                       the signing key (plan-keygen), once per MVM_HOME
#   $(MVM_DIR)/plan.json          plan-new
#   $(MVM_DIR)/plan.dsse.json     plan-sign
#   admit                         plan-verify --no-consume: would it be admitted?
#   up                            vm-boot -d (admits for real: the plan is spent)
#   invoke                        vsock-call with INPUT
#   down                          stop the VM
#   audit-verify                  verify the audit log
#   mvm-clean                     remove $(MVM_DIR) (not the image cache's builds elsewhere)
# Nothing runs unless a target is asked for.

MVM_ENTRY ?= entry.py
MVM_DIR ?= .mvm
MVM_SOURCES ?= $(MVM_ENTRY) $(shell find src -type f 2>/dev/null)
MVM_PLAN_OPTS ?= --valid-for 600
MVM_BOOT_OPTS ?=
INPUT ?=

MVM_EMIT ?= $(MVM)/bin/mvm-emit
IR_VALIDATE ?= $(MVM)/bin/ir-validate
IR_HASH ?= $(MVM)/bin/ir-hash
PLAN_KEYGEN ?= $(MVM)/bin/plan-keygen
PLAN_NEW ?= $(MVM)/bin/plan-new
PLAN_SIGN ?= $(MVM)/bin/plan-sign
PLAN_VERIFY ?= $(MVM)/bin/plan-verify
VM_BOOT ?= $(MVM)/bin/vm-boot
VSOCK_CALL ?= $(MVM)/bin/vsock-call
AUDIT_VERIFY ?= $(MVM)/bin/audit-verify

MVM_HOME_DIR = $(or $(MVM_HOME),$(HOME)/.mvm)
MVM_KEY = $(MVM_HOME_DIR)/keys/host-signer.ed25519
MVM_AUDIT_LOG ?= $(MVM_HOME_DIR)/audit/local.jsonl
MVM_RUN = $(MVM_DIR)/run

include $(dir $(lastword $(MAKEFILE_LIST)))build.mk

.PHONY: validate mvm-key admit up invoke down audit-verify mvm-clean
.DELETE_ON_ERROR:

$(MVM_DIR)/workload-ir.json: $(MVM_SOURCES)
	@mkdir -p $(MVM_DIR)
	$(MVM_EMIT) -o $@ $(MVM_ENTRY)

validate: $(MVM_DIR)/workload-ir.json
	$(IR_VALIDATE) $<

$(MVM_DIR)/ir.hash: $(MVM_DIR)/workload-ir.json
	$(IR_HASH) $< > $@.tmp && mv $@.tmp $@

mvm-key: $(MVM_KEY)
$(MVM_KEY):
	$(PLAN_KEYGEN) >/dev/null

# A plan is single-use (its nonce is spent at admission): `up` removes it.
$(MVM_DIR)/plan.json: $(MVM_DIR)/workload-ir.json $(MVM_DIR)/image.key
	$(PLAN_NEW) $(MVM_PLAN_OPTS) --image $(MVM_IMAGE) $< > $@.tmp && mv $@.tmp $@

$(MVM_DIR)/plan.dsse.json: $(MVM_DIR)/plan.json $(MVM_KEY)
	$(PLAN_SIGN) $< > $@.tmp && mv $@.tmp $@

admit: $(MVM_DIR)/plan.dsse.json
	$(PLAN_VERIFY) --no-consume --ir $(MVM_DIR)/workload-ir.json --image $(MVM_IMAGE) $< >/dev/null
	@echo "admit: $< would be admitted"

$(MVM_RUN)/v.sock:
	$(MAKE) --no-print-directory up

up: $(MVM_DIR)/plan.dsse.json
	@if [ -S $(MVM_RUN)/v.sock ]; then echo "up: already running ($(MVM_RUN)); make down first" >&2; exit 1; fi
	$(VM_BOOT) -d -S $(MVM_RUN) -i $(MVM_IMAGE) $(MVM_BOOT_OPTS) $<
	@rm -f $(MVM_DIR)/plan.json $(MVM_DIR)/plan.dsse.json

invoke: $(MVM_RUN)/v.sock
	$(VSOCK_CALL) -s $< -r $(addprefix --input ,$(INPUT))

down:
	@if [ -f $(MVM_RUN)/pid ]; then pid=$$(cat $(MVM_RUN)/pid); kill $$pid 2>/dev/null; \
	for i in $$(seq 100); do kill -0 $$pid 2>/dev/null || break; sleep 0.1; done; \
	echo "down: stopped $(MVM_RUN)"; else echo "down: nothing running in $(MVM_RUN)"; fi

audit-verify:
	$(AUDIT_VERIFY) $(MVM_AUDIT_LOG)

mvm-clean:
	rm -rf $(MVM_DIR)
