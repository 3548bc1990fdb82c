# The long form (nix/README.md): mkFunctionService + mkGuest by hand, for a
# shape mkFunctionWorkload does not lower — here the second function of an
# IR with several, served warm, plus a package of our own.
{ mvm, pkgs, irFile, appPkg }:
let
  ir = builtins.fromJSON (builtins.readFile irFile);
  app = builtins.head ir.apps;
  ep = builtins.head (builtins.filter (e: e.kind == "function" && e.function == "farewell") app.entrypoints);
  svc = mvm.mkFunctionService {
    inherit (ep) language module function format;
    workloadId = ir.id;
    inherit appPkg;
    sourcePath = ep.working_dir or "/app";
    concurrency = { kind = "warm_process"; max_calls_per_worker = 500; max_rss_mb = 64; pool_size = 4; in_process = "serial"; };
  };
in
mvm.mkGuest {
  name = app.name;
  extraFiles = svc.extraFiles;
  packages = svc.servicePackages ++ [ pkgs.curl ];
  service = svc.service;
}
