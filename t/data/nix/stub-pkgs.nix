# stub-pkgs.nix — a stand-in for nixpkgs, for evaluating nix/lib without
# nixpkgs (which cannot be fetched here).  Packages are plain attribute sets
# with a fake outPath; the builders return attribute sets that keep their
# arguments (runCommand's script, writeText's text) so that tests can look at
# them.  Nothing here needs a store build.
let
  # MVM_STUB_OUT=DIR (impure): outputs are DIR/<name>, so that a test can
  # put files there and run a builder script on the host.
  outDir = builtins.getEnv "MVM_STUB_OUT";
  drv = name: extra: {
    inherit name;
    type = "derivation";
    outPath = if outDir == "" then "/nix/store/00000000000000000000000000000000-${name}" else "${outDir}/${name}";
  } // extra;
  pkg = name: drv name { };

  runCommand = name: env: buildCommand:
    drv name (builtins.removeAttrs env [ "passthru" ] // { inherit buildCommand; stub = "runCommand"; }
      // (env.passthru or { }) // { passthru = env.passthru or { }; });

  python3 = drv "python3-3.12" {
    withPackages = f: drv "python3-3.12-env" { stubPackages = f { msgpack = pkg "python3-msgpack"; }; };
  };

  self = {
    inherit runCommand python3;
    python312 = python3;
    nodejs = pkg "nodejs-22";
    nodejs_22 = pkg "nodejs-22";
    busybox = pkg "busybox";
    curl = pkg "curl";
    esbuild = pkg "esbuild";
    pkg-config = pkg "pkg-config";
    e2fsprogs = pkg "e2fsprogs";
    cpio = pkg "cpio";
    coreutils = pkg "coreutils";
    findutils = pkg "findutils";
    jq = pkg "jq";
    gnumake = pkg "gnumake";
    gcc = pkg "gcc";
    flex = pkg "flex";
    bison = pkg "bison";
    bc = pkg "bc";
    perl = pkg "perl";
    elfutils = pkg "elfutils";
    openssl = pkg "openssl";
    libsodium = pkg "libsodium";
    libseccomp = pkg "libseccomp";
    linux_6_1 = drv "linux-6.1" { src = pkg "linux-6.1.tar.xz"; };
    pkgsStatic = self // { busybox = pkg "busybox-static"; };
    stdenv.mkDerivation = args: drv "${args.pname}-${args.version}" { stubArgs = args; };
    writeText = name: text: drv name { inherit text; stub = "writeText"; };
    writeTextFile = { name, text, ... }@args: drv name (args // { stub = "writeTextFile"; });
    closureInfo = { rootPaths }: drv "closure-info" { inherit rootPaths; };
    importNpmLock.buildNodeModules = { npmRoot, nodejs, ... }:
      drv "node-modules-${baseNameOf (toString npmRoot)}" { npmRoot = toString npmRoot; };
  };
in
self
