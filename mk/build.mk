# mk/build.mk — the image build as make rules (included by mk/mvm.mk; usable alone
# with MVM, MVM_DIR and a $(MVM_DIR)/workload-ir.json rule of your own).
#
# Variables:
#   MVM            the mvm checkout or install prefix (required)
#   MVM_DIR        generated state                                  (.mvm)
#   MVM_BUILDER    nix, debian or auto: Nix when libexec/mvm-build-nix --probe
#                  finds nix and a nixpkgs, else Debian               (auto)
#   MVM_BUILD      the builder program (overrides MVM_BUILDER)
#   MVM_BUILD_OPTS extra builder options, e.g. --size-mb 256 or --kernel FILE
#   MVM_IMAGE      the image directory, for later rules (a shell expression)
#
# Targets:
#   $(MVM_DIR)/image.key   the key of the current image (rewritten only when it
#                          changes, so rules that depend on it redo only then)
#   $(MVM_DIR)/image/<key>/{rootfs.ext4,vmlinux,mvm-meta.json,packages.txt}
#                          the image, built or reused by content (mvm-build(1))
#   image                  the same, as a phony name
# Nothing runs unless a target is asked for.

MVM_DIR ?= .mvm
MVM_BUILD_OPTS ?=
MVM_BUILDER ?= auto
ifeq ($(MVM_BUILDER),auto)
override MVM_BUILDER := $(shell $(MVM)/libexec/mvm-build-nix --probe >/dev/null 2>&1 && echo nix || echo debian)
endif
MVM_BUILD ?= $(MVM)/libexec/$(if $(filter nix,$(MVM_BUILDER)),mvm-build-nix,mvm-build-rootfs)
MVM_IMAGE = $(MVM_DIR)/image/$$(cat $(MVM_DIR)/image.key)

.PHONY: image mvm-force

# The builder is content-addressed and answers a cache hit in about a
# second, so it runs every time; image.key changes only when the image does.
$(MVM_DIR)/image.key: $(MVM_DIR)/workload-ir.json mvm-force
	@dir=$$($(MVM_BUILD) $(MVM_BUILD_OPTS) -C . -o $(MVM_DIR)/image $<) && basename "$$dir" > $@.tmp && \
	if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

image: $(MVM_DIR)/image.key

