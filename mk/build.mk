# mk/build.mk — the image build as make rules: mvm-build(1) on the IR (included
# by mk/mvm.mk; usable alone with MVM, MVM_DIR and a $(MVM_DIR)/workload-ir.json
# rule of your own).
#
# Variables:
#   MVM            the mvm checkout or install prefix (required)
#   MVM_DIR        generated state                                  (.mvm)
#   MVM_BUILD      the build command               ($(MVM)/bin/mvm-build)
#   MVM_BACKEND    debian, nix or auto, passed as --backend; auto is Nix when
#                  libexec/mvm-build-nix --probe succeeds, else Debian, decided
#                  by mvm-build when the image is built            (auto)
#   MVM_BUILD_OPTS more mvm-build options, e.g. --size-mb 256 or --kernel FILE
#   MVM_DEV        1: a dev image (mvm-build --dev: tracebacks kept, the dev
#                  agent's exec request, "sealed": false)               ()
#   MVM_IMAGE      the image directory, for later rules (a shell expression)
#
# Targets:
#   $(MVM_DIR)/image.key   the key of the current image (rewritten only when it
#                          changes, so rules that depend on it redo only then)
#   $(MVM_DIR)/image/<key>/{rootfs.ext4,vmlinux,mvm-meta.json,packages.txt}
#                          the image, built or reused by content (mvm-build(1))
#   mvm-image              the same, as a phony name
# Nothing runs while make reads this file; nothing runs unless a target is asked for.

ifndef MVM_BUILD_MK_INCLUDED
MVM_BUILD_MK_INCLUDED := 1

MVM_DIR ?= .mvm
MVM_BUILD ?= $(MVM)/bin/mvm-build
MVM_BACKEND ?= auto
MVM_BUILD_OPTS ?=
MVM_DEV ?=
MVM_IMAGE = $(MVM_DIR)/image/$$(cat $(MVM_DIR)/image.key)

.PHONY: mvm-image mvm-force

# The builder is content-addressed and answers a cache hit in about a
# second, so it runs every time; image.key changes only when the image does.
# -C: the declaration's directory (mk/mvm.mk's MVM_DECL_DIR, else .), where
# source paths and lockfiles resolve, as for mvm-validate.
$(MVM_DIR)/image.key: $(MVM_DIR)/workload-ir.json mvm-force
	@dir=$$($(MVM_BUILD) --backend $(MVM_BACKEND) $(MVM_BUILD_OPTS)$(if $(filter 1,$(MVM_DEV)), --dev) -C $(or $(MVM_DECL_DIR),.) -o $(MVM_DIR)/image $<) && \
	basename "$$dir" > $@.tmp && \
	if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

mvm-image: $(MVM_DIR)/image.key

endif
