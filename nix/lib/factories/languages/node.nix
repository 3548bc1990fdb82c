# Node: the repo's agent/wrappers/node runners (see agent/wrappers/README.md
# "In an image").  The runner has no .mjs extension in the image, so the
# wrappers' package.json ("type": "module") goes beside it, with the
# node_modules that its package-lock.json pins (@msgpack/msgpack), built by
# nixpkgs' importNpmLock from the lockfile's integrity hashes.
{ pkgs, mvmSrc }:
let
  dir = mvmSrc + "/agent/wrappers/node";
  nodejs = pkgs.nodejs_22;
  nodeModules = pkgs.importNpmLock.buildNodeModules {
    npmRoot = dir;
    inherit nodejs;
  };
in
{
  language = "node";
  inherit nodejs;
  servicePackages = [ nodejs ];
  runnerScript = {
    oneshot = dir + "/oneshot.mjs";
    longrunning = dir + "/longrunning.mjs";
  };
  runnerFiles = {
    "/usr/lib/mvm/wrappers/mvm_wrapper_common.mjs" = { source = dir + "/mvm_wrapper_common.mjs"; mode = "0444"; };
    "/usr/lib/mvm/wrappers/package.json" = { source = dir + "/package.json"; mode = "0444"; };
    # buildNodeModules' output holds node_modules/ (and the package files).
    "/usr/lib/mvm/wrappers/node_modules" = { source = "${nodeModules}/node_modules"; mode = "0755"; };
  };
  appBuildCommand = null;
}
