# mkFunctionService — the per-language factory (the seed's Layer 4).
#
# From the fields of one function entrypoint it produces
#   extraFiles       files for the rootfs, by absolute path:
#                      { content = "..."; mode = "0644"; }  or
#                      { source = <path>; mode = "0555"; }
#                    the four of every function workload:
#                      /etc/mvm/entrypoint           "/usr/lib/mvm/wrappers/runner\n"
#                      /usr/lib/mvm/wrappers/runner  the language's oneshot runner, or
#                                                    longrunning when `concurrency` is set
#                      /etc/mvm/wrapper.json         {module,function,format,working_dir,mode}
#                      /etc/mvm/runtime.json         {language,module,function,format,
#                                                     source_path,concurrency?}
#                    plus the runner's shared module (and for Node its package.json
#                    and node_modules) beside it;
#   servicePackages  the interpreter (with the wrappers' dependencies);
#   service          what mkGuest consumes: the app (appPkg) to stage at
#                    working_dir, the build step on it (TypeScript), the runner
#                    and its tier.  Nothing of it runs at boot: PID 1 is
#                    agent/init, which starts the agent; the agent execs the
#                    runner once per call (or keeps warm workers), so
#                    /etc/mvm/entrypoint is only ever the per-call marker
#                    (upstream bug #537 made it PID 1's boot script too).
#
# The JSON files are written by canonical-json.nix, byte for byte what the
# Debian backend (libexec/mvm-build-rootfs, ir-canon) bakes for the same IR,
# modes included (0444 for the JSON files and the shared modules, 0555 for the
# runner, 0644 for the marker).  Unlike upstream, `concurrency` is passed
# through into runtime.json and selects the longrunning runner.
{ pkgs, mvmSrc }:
let
  registry = import ./languages { inherit pkgs mvmSrc; };
  cj = import ../canonical-json.nix;
  runnerPath = "/usr/lib/mvm/wrappers/runner";
in
{ language
, workloadId
, module
, function
, format
, appPkg ? null
, sourcePath ? "/app"
, concurrency ? null
, files ? { }        # more extraFiles; the reserved paths above win
}:
let
  lang =
    if registry.languages ? ${language} then registry.languages.${language}
    else throw ''
      mkFunctionService: language "${language}" has no entry in the language registry (available: ${builtins.concatStringsSep ", " registry.names}).
      Add nix/lib/factories/languages/${language}.nix (language, servicePackages, runnerScript), register it in nix/lib/factories/languages/default.nix, and append "${language}" to schemas/supported_languages.txt.'';

  checkStr = what: v:
    if !builtins.isString v then throw "mkFunctionService: ${what} must be a string (got ${builtins.typeOf v})"
    else v;

  # null members mean absent (ir-validate -n drops them the same way).
  conc =
    if concurrency == null then null
    else if !builtins.isAttrs concurrency then throw "mkFunctionService: concurrency must be an attribute set or null"
    else builtins.removeAttrs concurrency
      (builtins.filter (k: concurrency.${k} == null) (builtins.attrNames concurrency));

  tier = if conc == null then "oneshot" else "longrunning";

  wrapperConfig = {
    module = checkStr "module" module;
    function = checkStr "function" function;
    format =
      if builtins.elem format [ "json" "msgpack" ] then format
      else throw ''mkFunctionService: format must be "json" or "msgpack" (got ${builtins.toJSON format})'';
    working_dir =
      if builtins.isString sourcePath && builtins.substring 0 1 sourcePath == "/" then sourcePath
      else throw "mkFunctionService: sourcePath (the entrypoint's working_dir) must be an absolute path (got ${builtins.toJSON sourcePath})";
    mode = "prod";
  };

  runtimeConfig = {
    language = lang.language;
    inherit (wrapperConfig) module function format;
    source_path = wrapperConfig.working_dir;
  } // (if conc == null then { } else { concurrency = conc; });

  json = where: v: cj.toCanonicalJSONAt "mkFunctionService: ${where}" v;
in
{
  inherit tier runtimeConfig wrapperConfig;
  language = lang.language;

  extraFiles = files // lang.runnerFiles // {
    "/etc/mvm/entrypoint" = { content = runnerPath + "\n"; mode = "0644"; };
    ${runnerPath} = { source = lang.runnerScript.${tier}; mode = "0555"; };
    "/etc/mvm/wrapper.json" = { content = json "/etc/mvm/wrapper.json" wrapperConfig; mode = "0444"; };
    "/etc/mvm/runtime.json" = { content = json "/etc/mvm/runtime.json" runtimeConfig; mode = "0444"; };
  };

  servicePackages = lang.servicePackages;

  service = {
    name = workloadId;
    kind = "function";
    runner = runnerPath;
    inherit tier;
    workingDir = wrapperConfig.working_dir;
    app = appPkg;
    appBuildCommand = lang.appBuildCommand;
  };
}
