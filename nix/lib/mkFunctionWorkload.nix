# mkFunctionWorkload — the one-line build of a lowered Workload IR (the seed's Layer 3).
#
#   ir-lower workload-ir.json > workload-lowered.json       # mvm-lower(5)
#   mvm.lib.${system}.mkFunctionWorkload { loweredFile = ./workload-lowered.json; appPkg = ./src; }
#
# The IR is lowered once, by ir-lower(1), for every backend: this reads its
# output (builtins.fromJSON (builtins.readFile loweredFile)), the same bytes
# the Debian backend (libexec/mvm-build-rootfs) reads, so both bake the same
# /etc/mvm.  ir-lower has already validated the IR and refused what no
# backend delivers (one app, a nix_packages image, one primary function —
# a lone function is its own primary — and nothing else declared).  Then it
# calls mkFunctionService with the lowering and mkGuest with the factory's
# files and packages plus the lowering's packages (pkgs.<name> each).
{ pkgs, mvmSrc, mkFunctionService, mkGuest }:
{ loweredFile ? null     # ir-lower's output for the IR
, irFile ? null          # gone: an IR is lowered by ir-lower first
, appPkg ? null          # default: the lowering's source.path, filtered by include/exclude
, sourceRoot ? null      # the directory a relative source.path is resolved against
                         # (the declaration's; default: loweredFile's directory)
, kernel ? null          # a vmlinux file (or a derivation with one); see mk-guest.nix
, extraPackages ? [ ]
, extraExtraFiles ? { }
, rootfsSizeMb ? null    # default: the IR's resources.rootfs_size_mb, else fit to content
}:
let
  fail = msg: throw "mkFunctionWorkload: ${msg}";

  lowered =
    if loweredFile == null then
      fail (if irFile != null
        then "irFile is no longer read here: lower the IR first (ir-lower workload-ir.json > workload-lowered.json, or mvm-build --backend nix) and pass loweredFile."
        else "loweredFile (ir-lower's output) is required.")
    else builtins.fromJSON (builtins.readFile loweredFile);

  factory = mkFunctionService {
    inherit lowered;
    appPkg = if appPkg != null then appPkg else defaultApp;
  };

  orDefault = v: d: if v == null then d else v;

  imagePackages = map
    (p:
      if pkgs ? ${p} then pkgs.${p}
      else fail "app.image.packages: nixpkgs has no attribute \"${p}\".")
    lowered.packages;

  # ---- the app's source when appPkg is not given: source.path beside the declaration,
  # selected by include/exclude as the Debian backend does (** spans
  # directories, * and ? stay within one).
  source = lowered.source;
  globRegex = g:
    let
      step = acc: c:
        if acc.pending == "*" && c == "*" then acc // { pending = "**"; }
        else if acc.pending == "**" && c == "/" then { out = acc.out + "(.*/)?"; pending = ""; }
        else
          let
            flushed = acc.out + (if acc.pending == "**" then ".*" else if acc.pending == "*" then "[^/]*" else "");
          in
          if c == "*" then { out = flushed; pending = "*"; }
          else if c == "?" then { out = flushed + "[^/]"; pending = ""; }
          else if builtins.match "[A-Za-z0-9_/-]" c != null then { out = flushed + c; pending = ""; }
          else { out = flushed + "[${if c == "^" then "\\^" else c}]"; pending = ""; };
      chars = builtins.filter (c: c != "") (builtins.split "" g);
      r = builtins.foldl' step { out = ""; pending = ""; } (builtins.filter builtins.isString chars);
    in
    r.out + (if r.pending == "**" then ".*" else if r.pending == "*" then "[^/]*" else "");
  matchesAny = globs: rel: builtins.any (g: builtins.match (globRegex g) rel != null) globs;
  # Is the file at REL (relative to source.path) part of the app?
  selects = rel:
    matchesAny (orDefault (source.include or null) [ "**" ]) rel
    && !(matchesAny (orDefault (source.exclude or null) [ ]) rel);
  defaultApp =
    if sourceRoot == null && builtins.isString loweredFile && builtins.substring 0 1 source.path != "/" then
      fail "loweredFile is a string, so source.path \"${source.path}\" cannot be resolved beside it: pass appPkg or sourceRoot."
    else
      let
        root =
          if builtins.substring 0 1 source.path == "/" then /. + source.path
          else (if sourceRoot != null then sourceRoot else dirOf loweredFile) + "/${source.path}";
        rootStr = toString root;
      in
      builtins.path {
        path = root;
        name = "${lowered.id}-src";
        filter = p: type:
          let rel = builtins.substring (builtins.stringLength rootStr + 1) (-1) (toString p); in
          type == "directory" || selects rel;
      };
in
mkGuest {
  name = lowered.name;
  extraFiles = factory.extraFiles // extraExtraFiles;
  packages = factory.servicePackages ++ imagePackages ++ extraPackages;
  service = factory.service;
  irHash = lowered.ir_hash;
  rootfsSizeMb = if rootfsSizeMb != null then rootfsSizeMb else lowered.resources.rootfs_size_mb or null;
  inherit kernel;
}
// {
  # For inspection and tests (nix eval .#default.mvmFactory.runtimeConfig).
  mvmFactory = factory;
  mvmSelectsSource = selects;
}
