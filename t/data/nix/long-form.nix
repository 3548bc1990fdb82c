# The long form (nix/README.md): mkFunctionService + mkGuest by hand, for what
# mkFunctionWorkload does not add — here a package and a file of our own
# beside ir-lower's lowering of the IR.
{ mvm, pkgs, loweredFile, appPkg }:
let
  lowered = builtins.fromJSON (builtins.readFile loweredFile);
  svc = mvm.mkFunctionService { inherit lowered appPkg; };
  packages = svc.servicePackages ++ map (p: pkgs.${p}) lowered.packages ++ [ pkgs.curl ];
  extraFiles = svc.extraFiles // { "/etc/motd" = { content = "hello\n"; mode = "0444"; }; };
in
mvm.mkGuest {
  name = lowered.name;
  irHash = lowered.ir_hash;
  inherit extraFiles packages;
  service = svc.service;
} // { mvmPackages = packages; mvmFiles = extraFiles; }
