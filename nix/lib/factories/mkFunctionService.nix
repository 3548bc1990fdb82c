# mkFunctionService — the per-language factory (the seed's Layer 4).
#
# It lowers nothing itself: `lowered` is ir-lower(1)'s output for the IR
# (mvm-lower(5)), read with builtins.fromJSON — the same bytes the Debian
# backend (libexec/mvm-build-rootfs) reads.  From it the factory produces
#   extraFiles       files for the rootfs, by absolute path:
#                      { content = "..."; mode = "0644"; }  or
#                      { source = <path>; mode = "0555"; }
#                    lowered.files as they are (/etc/mvm/entrypoint,
#                    /etc/mvm/wrapper.json, /etc/mvm/runtime.json: their
#                    content strings are written byte for byte), plus the
#                    language's runner for lowered.runner (oneshot, or
#                    longrunning when the function declares concurrency) at
#                    lowered.entrypoint and the runner's shared module (and for
#                    Node its package.json and node_modules) beside it;
#   servicePackages  the interpreter (with the wrappers' dependencies);
#   service          what mkGuest consumes: the app (appPkg) to stage at
#                    working_dir, the build step on it (TypeScript), the runner
#                    and its tier.  Nothing of it runs at boot: PID 1 is
#                    mvm-agent called as init, which starts the agent; it execs the
#                    runner once per call (or keeps warm workers), so
#                    /etc/mvm/entrypoint is only ever the per-call marker
#                    (upstream bug #537 made it PID 1's boot script too).
{ pkgs, mvmSrc }:
let
  registry = import ./languages { inherit pkgs mvmSrc; };
in
{ lowered            # builtins.fromJSON of ir-lower's output
, appPkg ? null
, files ? { }        # more extraFiles; lowered.files and the runner win
}:
let
  low =
    if !builtins.isAttrs lowered then
      throw "mkFunctionService: lowered must be ir-lower's output read with builtins.fromJSON (got ${builtins.typeOf lowered})"
    else if (lowered.lower_version or null) != 1 then
      throw "mkFunctionService: lowered has lower_version ${builtins.toJSON (lowered.lower_version or null)}; this nix/lib reads version 1 (mvm-lower(5)): use the ir-lower of the same mvm"
    else lowered;

  language = low.language;
  lang =
    if registry.languages ? ${language} then registry.languages.${language}
    else throw ''
      mkFunctionService: language "${language}" has no entry in the language registry (available: ${builtins.concatStringsSep ", " registry.names}).
      Add nix/lib/factories/languages/${language}.nix (language, servicePackages, runnerScript), register it in nix/lib/factories/languages/default.nix, and append "${language}" to schemas/supported_languages.txt.'';

  tier = low.runner;
  runnerPath = low.entrypoint;
  loweredFiles = builtins.mapAttrs (p: f: { inherit (f) content mode; }) low.files;
in
{
  inherit tier;
  language = lang.language;
  # For inspection (nix eval …mvmFactory.runtimeConfig): what the guest reads.
  runtimeConfig = builtins.fromJSON low.files."/etc/mvm/runtime.json".content;
  wrapperConfig = builtins.fromJSON low.files."/etc/mvm/wrapper.json".content;

  extraFiles = files // lang.runnerFiles // loweredFiles // {
    ${runnerPath} = { source = lang.runnerScript.${tier}; mode = "0555"; };
  };

  servicePackages = lang.servicePackages;

  service = {
    name = low.id;
    kind = "function";
    runner = runnerPath;
    inherit tier;
    workingDir = low.working_dir;
    app = appPkg;
    appBuildCommand = lang.appBuildCommand;
  };
}
