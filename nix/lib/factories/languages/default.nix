# The language registry: the switchboard of nix/lib/factories/languages/.
#
# A language is usable when it is listed in schemas/supported_languages.txt
# (the one list that ir-validate and the SDKs read too) AND has a file here.
# Adding a language is three changes: <lang>.nix (language, servicePackages,
# runnerScript.{oneshot,longrunning}, runnerFiles, appBuildCommand), a line in
# `files` below, and the bare name in schemas/supported_languages.txt.
{ pkgs, mvmSrc }:
let
  files = {
    python = ./python.nix;
    node = ./node.nix;
    typescript = ./typescript.nix;
  };

  # One name a line; blank lines and "#" comments ignored.
  supported =
    let
      raw = builtins.readFile (mvmSrc + "/schemas/supported_languages.txt");
      lines = builtins.filter builtins.isString (builtins.split "\n" raw);
      strip = l: let m = builtins.match "[ \t]*([^ \t#]*)[ \t]*(#.*)?" l; in
        if m == null then "" else builtins.head m;
    in
    builtins.filter (l: l != "") (map strip lines);

  registered = builtins.filter (l: files ? ${l}) supported;
in
{
  inherit supported;
  # Languages listed in supported_languages.txt without a file here, and the
  # other way round (t/nix.bats checks that both are empty).
  missingFiles = builtins.filter (l: !(files ? ${l})) supported;
  unlisted = builtins.filter (l: !(builtins.elem l supported)) (builtins.attrNames files);
  names = registered;
  languages = builtins.listToAttrs (map
    (l: { name = l; value = import files.${l} { inherit pkgs mvmSrc; }; })
    registered);
}
