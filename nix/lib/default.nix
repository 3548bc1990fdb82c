# nix/lib — the mvm Nix library, usable with or without the flake:
#
#   let mvm = import ./nix/lib { pkgs = import <nixpkgs> { }; }; in
#   mvm.mkFunctionWorkload { loweredFile = ./workload-lowered.json; appPkg = ./src; }
#
# where workload-lowered.json is ir-lower's output for the IR (mvm-lower(5)).
#
# pkgs: a nixpkgs package set (or, for evaluation tests, t/data/nix/stub-pkgs.nix).
# mvmSrc: the mvm source tree (the wrappers, the agent's C source (its init too),
# schemas/supported_languages.txt, mk/kernel/mvm.config); default: this checkout.
{ pkgs, lib ? pkgs.lib, mvmSrc ? ../.. }:
let
  self = {
    mkFunctionService = import ./factories/mkFunctionService.nix { inherit pkgs mvmSrc; };
    mkGuest = import ./mk-guest.nix { inherit pkgs mvmSrc; };
    mkFunctionWorkload = import ./mkFunctionWorkload.nix {
      inherit pkgs mvmSrc;
      inherit (self) mkFunctionService mkGuest;
    };
    languages = import ./factories/languages { inherit pkgs mvmSrc; };
    canonicalJSON = import ./canonical-json.nix;
  };
in
self
