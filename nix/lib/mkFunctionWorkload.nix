# mkFunctionWorkload — the one-line lowering of a Workload IR (the seed's Layer 3).
#
#   mvm.lib.${system}.mkFunctionWorkload { irFile = ./workload-ir.json; appPkg = ./src; }
#
# Reads the IR at evaluation time (builtins.fromJSON (builtins.readFile irFile)),
# checks that it has the one shape this helper lowers — exactly one app, a
# nix_packages image, exactly one primary function entrypoint — and throws with
# the seed's messages otherwise, pointing at the long form (mkFunctionService +
# mkGuest).  Then it calls mkFunctionService with the primary entrypoint's
# fields and mkGuest with the factory's files and packages plus the IR's
# image.packages (pkgs.<name> each).
#
# It accepts what the Debian backend (libexec/mvm-build-rootfs) accepts, so
# that one IR gives the same /etc/mvm on both: a lone function entrypoint that
# is not marked primary is refused here as there (upstream accepted it).
{ pkgs, mvmSrc, mkFunctionService, mkGuest }:
{ irFile
, appPkg ? null          # default: the IR's source.path (local_path), filtered by include/exclude
, sourceRoot ? null      # the directory a relative source.path is resolved against (default: the IR's)
, kernel ? null          # a vmlinux file (or a derivation with one); see mk-guest.nix
, extraPackages ? [ ]
, extraExtraFiles ? { }
, rootfsSizeMb ? null
}:
let
  cj = import ./canonical-json.nix;

  help = ''

    mkFunctionWorkload lowers the common shape only: one app, a nix_packages
    image, one primary function entrypoint.  For anything richer, call
    mvm.lib.''${system}.mkFunctionService { ... } and mvm.lib.''${system}.mkGuest { ... }
    yourself (see nix/README.md, "The long form").'';
  fail = msg: throw "mkFunctionWorkload: ${msg}${help}";

  irText = builtins.readFile irFile;
  ir =
    if cj.hasNulEscape irText then
      fail "the IR contains a \\u0000 escape; Nix strings cannot hold NUL (builtins.fromJSON would cut the string there), and ir-validate refuses it"
    else builtins.fromJSON irText;

  apps = if ir ? apps then ir.apps else fail "IR has no `apps` field.";
  app =
    if builtins.isList apps && builtins.length apps == 1 then builtins.head apps
    else fail "IR must have exactly one app (got ${toString (if builtins.isList apps then builtins.length apps else 0)}).";

  image = if app ? image then app.image else fail "app has no `image` field.";
  imageKind = image.kind or "<missing>";
  checkedImage =
    if imageKind == "nix_packages" then image
    else fail ''app.image.kind must be "nix_packages" (got ${imageKind}). Other image shapes haven't been wired through this helper yet.'';

  entrypoints = if app ? entrypoints then app.entrypoints else fail "app has no `entrypoints` field.";
  functions = builtins.filter (e: (e.kind or null) == "function") entrypoints;
  primaries = builtins.filter (e: (e.primary or false) == true) functions;
  ep =
    if builtins.length primaries == 1 then builtins.head primaries
    else fail "expected exactly one primary function entrypoint, got ${toString (builtins.length primaries)} primary out of ${toString (builtins.length functions)} function entries.";

  orDefault = v: d: if v == null then d else v;
  workingDir = orDefault (ep.working_dir or null) "/app";

  factory = mkFunctionService {
    inherit (ep) language module function format;
    workloadId = ir.id;
    appPkg = if appPkg != null then appPkg else defaultApp;
    sourcePath = workingDir;
    concurrency = ep.concurrency or null;
  };

  imagePackages = map
    (p:
      if pkgs ? ${p} then pkgs.${p}
      else fail "app.image.packages: nixpkgs has no attribute \"${p}\".")
    (orDefault (checkedImage.packages or null) [ ]);

  # ---- the app's source when appPkg is not given: source.path beside the IR,
  # selected by include/exclude as the Debian backend does (** spans
  # directories, * and ? stay within one).
  source = app.source or { };
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
    if (source.kind or null) != "local_path" then
      fail "app.source.kind is \"${source.kind or "<missing>"}\": pass appPkg, or use the long form."
    else if sourceRoot == null && builtins.isString irFile && builtins.substring 0 1 source.path != "/" then
      fail "irFile is a string, so source.path \"${source.path}\" cannot be resolved beside it: pass appPkg or sourceRoot."
    else
      let
        root =
          if builtins.substring 0 1 source.path == "/" then /. + source.path
          else (if sourceRoot != null then sourceRoot else dirOf irFile) + "/${source.path}";
        rootStr = toString root;
      in
      builtins.path {
        path = root;
        name = "${ir.id}-src";
        filter = p: type:
          let rel = builtins.substring (builtins.stringLength rootStr + 1) (-1) (toString p); in
          type == "directory" || selects rel;
      };

  # The IR's hash, when the file holds the canonical bytes (what mvm-emit and
  # ir-canon write): sha256 of the file.  Otherwise null here, and
  # libexec/mvm-build-nix adds it with ir-hash.
  canon = builtins.tryEval (cj.toCanonicalJSON ir);
  irHash = if canon.success && canon.value == irText then builtins.hashString "sha256" irText else null;

  # The shape checks, forced before anything is returned and in this order,
  # so that whatever attribute a caller evaluates, a bad IR throws first.
  checked = builtins.seq app (builtins.seq checkedImage (builtins.seq ep true));
in
assert checked;
mkGuest {
  name = app.name;
  extraFiles = factory.extraFiles // extraExtraFiles;
  packages = factory.servicePackages ++ imagePackages ++ extraPackages;
  service = factory.service;
  inherit kernel irHash rootfsSizeMb;
}
// {
  # For inspection and tests (nix eval .#default.mvmFactory.runtimeConfig).
  mvmFactory = factory;
  mvmSelectsSource = selects;
}
