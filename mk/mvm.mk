# mk/mvm.mk — the mvm flow as make rules, for a workload's own Makefile:
#
#     MVM := /path/to/mvm
#     include $(MVM)/mk/mvm.mk
#
# Then `make mvm-invoke MVM_INPUT='name=Alice'` declares, builds, plans,
# admits, boots and calls.  Each step redoes only what changed: after an edit
# of the declaration or of src/, mvm-invoke re-emits the IR, rebuilds the
# image, and when the running VM runs another IR or image, stops it and boots
# the new one on a fresh plan.
#
# Every target and variable here starts with mvm-/MVM_, so that none takes a
# name of the including Makefile's own; the file may be included twice.
# Nothing runs while make reads it: the shell runs only in the recipes of the
# targets asked for.
#
# Variables (set before the include, or on the command line):
#   MVM            the mvm checkout or install prefix (required)
#   MVM_ENTRY      the declaration                         (entry.py)
#   MVM_DIR        generated state                         (.mvm)
#   MVM_SOURCES    files whose change re-emits the IR      (MVM_ENTRY, src/**)
#   MVM_BACKEND, MVM_BUILD, MVM_BUILD_OPTS, MVM_DEV, MVM_IMAGE: see mk/build.mk (included
#                  from here)
#   MVM_PLAN_OPTS  extra plan-new options                  (--valid-for 600)
#   MVM_BOOT_OPTS  extra vm-boot options                   ()
#   MVM_INPUT      KEY=VALUE arguments for mvm-invoke, space-separated; without
#                  any, vsock-call reads [args, kwargs] from standard input
#   MVM_CALL_OPTS  extra vsock-call options, e.g. -t 120   ()
#   MVM_CALLS      mvm-submit's batch: one [args, kwargs] a line   (calls.jsonl)
#   MVM_TASKS      mvm-submit's VMs (Slurm array tasks), a plan each (1)
#   MVM_SUBMIT_OPTS extra mvm-submit options, e.g. -D /shared/mvm -p big ()
#   MVM_SBATCH_OPTS extra sbatch options for the array, e.g. --exclusive ()
#   MVM_AUDIT_LOG  the audit log                           ($(MVM_HOME)/audit/local.jsonl)
#   MVM_HOME       per-user keys, trust, nonces, audit logs (~/.mvm)
#   Tool paths, each overridable: MVM_EMIT MVM_IR_VALIDATE MVM_IR_LOWER MVM_IR_HASH
#   MVM_PLAN_KEYGEN MVM_PLAN_NEW MVM_PLAN_SIGN MVM_PLAN_VERIFY MVM_VM_BOOT
#   MVM_VSOCK_CALL MVM_AUDIT_VERIFY MVM_SUBMIT
#
# Targets:
#   $(MVM_DIR)/workload-ir.json   emit (mvm-emit); mvm-emit, the same
#   mvm-validate                  ir-validate, lockfiles found from the
#                                 declaration's directory (-C)
#   mvm-hash                      print the IR hash ($(MVM_DIR)/ir.hash)
#   mvm-image, $(MVM_DIR)/image.key   build: mk/build.mk
#   mvm-key                       the signing key (plan-keygen), once per MVM_HOME
#   mvm-plan                      a fresh signed plan, $(MVM_DIR)/plan.dsse.json,
#                                 to look at or check (mvm-up makes its own)
#   mvm-admit                     plan-verify --no-consume: would it be admitted?
#   mvm-up                        boot the current IR and image, unless they
#                                 already run: vm-boot -d on a fresh plan
#   mvm-invoke                    mvm-up, then vsock-call with MVM_INPUT, in the
#                                 primary entrypoint's format (json, msgpack)
#   mvm-down                      stop the VM
#   mvm-submit                    run MVM_CALLS on Slurm in MVM_TASKS VMs:
#                                 MVM_TASKS fresh signed plans, mvm-submit -w
#                                 into $(MVM_DIR)/submit/N (a new N each time);
#                                 prints the results file (mvm-submit(1))
#   mvm-audit-verify              verify the audit log
#   mvm-clean                     stop the VM, remove $(MVM_DIR) (builds cached
#                                 elsewhere stay)
#
# Run state: $(MVM_DIR)/run/<id>/, <id> the IR's "id", the layout vm-boot and
# mvmctl use (mvmctl ps, logs and down see a VM started here).  vm-boot keeps
# there what the VM runs (vm-boot(1), FILES): the admitted plan.json, whose
# ir_hash mvm-up compares with the IR's, and image, the image directory
# booted, compared with the current image's.

ifndef MVM_MK_INCLUDED
MVM_MK_INCLUDED := 1

MVM_ENTRY ?= entry.py
MVM_DIR ?= .mvm
# every file under a directory ($(wildcard), so nothing runs while parsing)
mvm_files = $(foreach f,$(wildcard $(1)/*),$(if $(wildcard $(f)/.),$(call mvm_files,$(f)),$(f)))
MVM_SOURCES ?= $(MVM_ENTRY) $(call mvm_files,src)
MVM_PLAN_OPTS ?= --valid-for 600
MVM_BOOT_OPTS ?=
MVM_INPUT ?=
MVM_CALL_OPTS ?=
MVM_CALLS ?= calls.jsonl
MVM_TASKS ?= 1
MVM_SUBMIT_OPTS ?=
MVM_SBATCH_OPTS ?=

MVM_EMIT ?= $(MVM)/bin/mvm-emit
MVM_IR_VALIDATE ?= $(MVM)/bin/ir-validate
MVM_IR_LOWER ?= $(MVM)/bin/ir-lower
MVM_IR_HASH ?= $(MVM)/bin/ir-hash
MVM_PLAN_KEYGEN ?= $(MVM)/bin/plan-keygen
MVM_PLAN_NEW ?= $(MVM)/bin/plan-new
MVM_PLAN_SIGN ?= $(MVM)/bin/plan-sign
MVM_PLAN_VERIFY ?= $(MVM)/bin/plan-verify
MVM_VM_BOOT ?= $(MVM)/bin/vm-boot
MVM_VSOCK_CALL ?= $(MVM)/bin/vsock-call
MVM_AUDIT_VERIFY ?= $(MVM)/bin/audit-verify
MVM_SUBMIT ?= $(MVM)/bin/mvm-submit

MVM_HOME_DIR = $(or $(MVM_HOME),$(HOME)/.mvm)
MVM_KEY = $(MVM_HOME_DIR)/keys/host-signer.ed25519
MVM_AUDIT_LOG ?= $(MVM_HOME_DIR)/audit/local.jsonl
MVM_IR = $(MVM_DIR)/workload-ir.json
# the declaration's directory: paths in the IR (lockfiles) are relative to it
MVM_DECL_DIR = $(or $(patsubst %/,%,$(dir $(MVM_ENTRY))),/)
# shell expressions, evaluated in the recipes (like MVM_IMAGE)
MVM_RUN = $(MVM_DIR)/run/$$(cat $(MVM_DIR)/ir.id)

# Shell fragments for the recipes.  $(call mvm_pid,DIR): prints the pid of
# the vm-boot supervisor running in DIR, or fails.
mvm_pid = { p=$$(cat "$(1)/pid" 2>/dev/null) && [ "$${p:-0}" -gt 1 ] 2>/dev/null && \
	kill -0 "$$p" 2>/dev/null && echo "$$p"; }
# $(call mvm_current,DIR): does the VM in DIR run the current IR and image?
mvm_current = { [ "$$(jq -r .ir_hash "$(1)/plan.json" 2>/dev/null)" = "$$(cat $(MVM_DIR)/ir.hash)" ] && \
	[ "$$(cat "$(1)/image" 2>/dev/null)" = "$$(realpath $(MVM_IMAGE))" ]; }
# $(call mvm_stop,DIR): SIGTERM to the supervisor (the guest is asked to shut
# down), SIGKILL after 10 s, as mvmctl down does.
mvm_stop = if p=$$($(call mvm_pid,$(1))); then kill "$$p"; \
	for i in $$(seq 100); do kill -0 "$$p" 2>/dev/null || break; sleep 0.1; done; \
	if kill -0 "$$p" 2>/dev/null; then kill -9 "$$p"; echo "mvm: $(1) did not stop in 10 s: killed" >&2; fi; \
	echo "mvm: stopped $(1)"; fi

include $(dir $(lastword $(MAKEFILE_LIST)))build.mk

.PHONY: mvm-emit mvm-validate mvm-hash mvm-key mvm-plan mvm-admit mvm-up mvm-invoke \
	mvm-down mvm-audit-verify mvm-clean mvm-submit
.DELETE_ON_ERROR:

$(MVM_IR): $(MVM_SOURCES)
	@mkdir -p $(MVM_DIR)
	$(MVM_EMIT) -o $@ $(MVM_ENTRY)

mvm-emit: $(MVM_IR)

mvm-validate: $(MVM_IR)
	$(MVM_IR_VALIDATE) -C $(MVM_DECL_DIR) $<

$(MVM_DIR)/ir.hash: $(MVM_IR)
	$(MVM_IR_HASH) $< > $@.tmp && mv $@.tmp $@

mvm-hash: $(MVM_DIR)/ir.hash
	@cat $<

# The IR's id (the run directory's name) and the primary function
# entrypoint's call format, as ir-lower(1) writes them (mvm-lower(5): "id",
# "format"; -L: the lockfiles are mvm-validate's business).  The id is
# checked before it names a directory.
$(MVM_DIR)/lowered.json: $(MVM_IR)
	@$(MVM_IR_LOWER) -L $< > $@.tmp && mv $@.tmp $@

$(MVM_DIR)/ir.id: $(MVM_DIR)/lowered.json
	@id=$$(jq -r .id $<) && printf '%s\n' "$$id" | grep -Eqx '[a-z][a-z0-9-]{0,62}' || \
		{ echo "mvm: $<: /id: not a workload id" >&2; exit 1; }; \
	printf '%s\n' "$$id" > $@.tmp && mv $@.tmp $@

$(MVM_DIR)/ir.format: $(MVM_DIR)/lowered.json
	@jq -r .format $< > $@.tmp && grep -Eqx 'json|msgpack' $@.tmp && mv $@.tmp $@

mvm-key: $(MVM_KEY)
$(MVM_KEY):
	$(MVM_PLAN_KEYGEN) >/dev/null

# A plan is single-use (its nonce is spent at admission): this one is to look
# at or check with mvm-admit; mvm-up signs its own for each boot.
mvm-plan: $(MVM_IR) $(MVM_DIR)/image.key $(MVM_KEY)
	$(MVM_PLAN_NEW) $(MVM_PLAN_OPTS) --image $(MVM_IMAGE) $(MVM_IR) > $(MVM_DIR)/plan.json.tmp
	$(MVM_PLAN_SIGN) $(MVM_DIR)/plan.json.tmp > $(MVM_DIR)/plan.dsse.json.tmp
	@mv $(MVM_DIR)/plan.json.tmp $(MVM_DIR)/plan.json && mv $(MVM_DIR)/plan.dsse.json.tmp $(MVM_DIR)/plan.dsse.json

mvm-admit: mvm-plan
	$(MVM_PLAN_VERIFY) --no-consume --ir $(MVM_IR) --image $(MVM_IMAGE) $(MVM_DIR)/plan.dsse.json >/dev/null
	@echo "mvm-admit: $(MVM_DIR)/plan.dsse.json would be admitted"

# Boot what the IR and the image are now, on a plan made and signed for this
# boot alone and removed whatever the outcome (a failed boot leaves nothing
# spent in the way).  A VM already running them is left alone; one running
# an older IR or image is stopped first.
mvm-up: $(MVM_DIR)/ir.id $(MVM_DIR)/ir.hash $(MVM_DIR)/image.key $(MVM_KEY)
	@run=$(MVM_RUN); \
	if $(call mvm_pid,$$run) >/dev/null; then \
		if $(call mvm_current,$$run); then \
			echo "mvm-up: $$run runs the current IR and image"; exit 0; fi; \
		echo "mvm-up: $$run runs another IR or image: stopping it"; \
		$(call mvm_stop,$$run); \
	fi; \
	mkdir -p "$$run" && \
	echo "mvm-up: plan, sign and boot $$run" && \
	$(MVM_PLAN_NEW) $(MVM_PLAN_OPTS) --image $(MVM_IMAGE) $(MVM_IR) > "$$run/plan.new.json" && \
	$(MVM_PLAN_SIGN) "$$run/plan.new.json" > "$$run/plan.new.dsse.json" && \
	$(MVM_VM_BOOT) -d -S "$$run" -i $(MVM_IMAGE) $(MVM_BOOT_OPTS) "$$run/plan.new.dsse.json"; \
	st=$$?; rm -f "$$run/plan.new.json" "$$run/plan.new.dsse.json"; exit $$st

mvm-invoke: mvm-up $(MVM_DIR)/ir.format
	@$(MVM_VSOCK_CALL) -s $(MVM_RUN)/v.sock -f $$(cat $(MVM_DIR)/ir.format) $(MVM_CALL_OPTS) \
		-r $(addprefix --input ,$(MVM_INPUT))

mvm-down:
	@if [ -f $(MVM_DIR)/ir.id ] && run=$(MVM_RUN) && $(call mvm_pid,$$run) >/dev/null; then \
		$(call mvm_stop,$$run); \
	else echo "mvm-down: nothing running"; fi

# A batch on Slurm: a plan for each task (one plan, one launch), made and
# signed here, in a new submission directory; the plans stay there.
mvm-submit: $(MVM_IR) $(MVM_DIR)/image.key $(MVM_DIR)/ir.format $(MVM_KEY) $(MVM_CALLS)
	@n=0; while [ -e $(MVM_DIR)/submit/$$n ]; do n=$$((n + 1)); done; \
	p=$(MVM_DIR)/submit/plans.$$n; mkdir -p $$p && set -- && i=0 && \
	while [ $$i -lt $(MVM_TASKS) ]; do \
		$(MVM_PLAN_NEW) $(MVM_PLAN_OPTS) --image $(MVM_IMAGE) $(MVM_IR) > $$p/$$i.json && \
		$(MVM_PLAN_SIGN) $$p/$$i.json > $$p/$$i.dsse.json || exit 1; \
		set -- "$$@" $$p/$$i.dsse.json; i=$$((i + 1)); \
	done; \
	out=$$($(MVM_SUBMIT) -w -i $(MVM_IMAGE) -o $(MVM_DIR)/submit/$$n -f $$(cat $(MVM_DIR)/ir.format) \
		$(MVM_SUBMIT_OPTS) $(MVM_CALLS) "$$@" -- $(MVM_SBATCH_OPTS)) || exit $$?; \
	echo "$${out#* }"

mvm-audit-verify:
	$(MVM_AUDIT_VERIFY) $(MVM_AUDIT_LOG)

mvm-clean: mvm-down
	rm -rf $(MVM_DIR)

endif # MVM_MK_INCLUDED
