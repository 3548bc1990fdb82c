# TypeScript: the Node runners (see node.nix); Node cannot run .ts, so the
# app's modules are compiled (types stripped) to .mjs beside them at build
# time by libexec/mvm-strip-types, as the Debian backend does, with the
# esbuild that sdk/typescript/package-lock.json pins (a dev dependency there),
# installed by importNpmLock from the lockfile.  The command runs in mkGuest's
# builder with $1 = the staged working_dir.
{ pkgs, mvmSrc }:
let
  node = import ./node.nix { inherit pkgs mvmSrc; };
  sdkModules = pkgs.importNpmLock.buildNodeModules {
    npmRoot = mvmSrc + "/sdk/typescript";
    inherit (node) nodejs;
  };
in
node // {
  language = "typescript";
  appBuildCommand = ''
    sdk=$(mktemp -d)
    mkdir -p "$sdk/typescript"
    cp ${mvmSrc + "/sdk/typescript/package.json"} "$sdk/typescript/package.json"
    ln -s ${sdkModules}/node_modules "$sdk/typescript/node_modules"
    MVM_SDK_DIR=$sdk ${node.nodejs}/bin/node ${mvmSrc + "/libexec/mvm-strip-types"} "$1"
  '';
}
