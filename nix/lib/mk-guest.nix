# mkGuest — the rootfs builder (the seed's Layer 5), Nix flavour of
# libexec/mvm-build-rootfs.  Output: a derivation whose $out holds
# rootfs.ext4, vmlinux and mvm-meta.json, with passthru.mvm = the fields of
# mvm-meta.json that evaluation knows.
#
#   mkGuest {
#     name = "hello";
#     extraFiles = factory.extraFiles;      # path -> { content | source; mode }
#     packages = factory.servicePackages ++ [ pkgs.curl ];
#     service = factory.service;            # the app to stage at working_dir
#     kernel = ./vmlinux;                   # optional, see `kernel` below
#   }
#
# The image is laid out as the Debian backend lays it out:
#   /sbin/init            a link to mvm-agent: PID 1 when called so (agent/init.c)
#                         — never the runner
#   /usr/bin/mvm-agent    the static agent; drops to uid 990, execs the runner
#                         as uid 1000 once per call (or keeps warm workers)
#   /bin/busybox + applets (so /usr/bin/env exists for the runners' shebangs)
#   /usr/local/bin/*      the packages' bin/ entries (on the agent's PATH
#                         /usr/local/bin:/usr/bin:/bin); /nix/store holds
#                         their closure
#   /etc/mvm/*, /usr/lib/mvm/wrappers/*   from extraFiles
#   <working_dir>         the app (service.app), then service.appBuildCommand
#   /etc/passwd, /etc/group (root, mvm-agent 990, mvm-worker 1000), /etc/hostname
# PID 1 and the per-call runner are kept apart (upstream bug #537): extraFiles
# may not replace /sbin/init, /init or the agent, and /etc/mvm/entrypoint must
# be one absolute path (the agent's per-call marker), not a boot script.
{ pkgs, mvmSrc }:
{ name
, extraFiles ? { }
, packages ? [ ]
, service ? null
, kernel ? null        # a vmlinux (path or derivation with $out/vmlinux); default:
                       # built from nixpkgs' linux_6_1 source with mk/kernel/mvm.config
, agent ? null         # default: agent/mvm-agent built statically from mvmSrc
, init ? null         # default: /sbin/init is a link to the agent (PID 1 when called so)
, busybox ? pkgs.pkgsStatic.busybox
, irHash ? null
, rootfsSizeMb ? null
, sourceDateEpoch ? 1700000000
}:
let
  cj = import ./canonical-json.nix;

  reserved = [ "/sbin/init" "/init" "/usr/bin/mvm-agent" "/bin/busybox" ];
  clash = builtins.filter (p: extraFiles ? ${p}) reserved;

  entry = extraFiles."/etc/mvm/entrypoint" or null;
  entryOk = entry == null ||
    (entry ? content && builtins.match "/[^\n]*\n?" entry.content != null
      && builtins.match ".*[ \t;&|$`].*" entry.content == null);

  checked =
    if clash != [ ] then
      throw "mkGuest: extraFiles may not provide ${builtins.concatStringsSep ", " clash}: PID 1 is mvm-agent called as init; the runner is only exec'd by the agent (upstream bug #537)"
    else if !entryOk then
      throw "mkGuest: /etc/mvm/entrypoint must hold the runner's absolute path (the agent's per-call marker), not a boot script; PID 1 (mvm-agent called as init) never runs it (upstream bug #537)"
    else if service != null && builtins.substring 0 1 service.workingDir != "/" then
      throw "mkGuest: service.workingDir must be absolute (got \"${service.workingDir}\")"
    else true;

  agentPkg = if agent != null then agent else
  pkgs.pkgsStatic.stdenv.mkDerivation {
    pname = "mvm-agent";
    version = "0.1";
    src = mvmSrc;
    nativeBuildInputs = [ pkgs.pkg-config ];
    buildInputs = [ pkgs.pkgsStatic.libseccomp ];
    # pkgsStatic's compiler is musl's already: it is the agent's MUSL_CC
    # (agent/agent.mk); libseccomp is for the host program agent/seccomp-gen
    buildPhase = "make agent/mvm-agent MUSL_CC=$CC";
    installPhase = "install -D -m 0755 agent/mvm-agent $out/bin/mvm-agent";
  };
  agentBin = if builtins.isPath agentPkg || builtins.isString agentPkg then agentPkg else "${agentPkg}/bin/mvm-agent";

  kernelPkg = if kernel != null then kernel else
  pkgs.runCommand "mvm-vmlinux"
    {
      nativeBuildInputs = with pkgs; [ gnumake gcc flex bison bc perl elfutils openssl ];
      src = pkgs.linux_6_1.src;
      fragment = mvmSrc + "/mk/kernel/mvm.config";
    } ''
    mkdir src && tar -xf "$src" -C src --strip-components=1 && cd src
    make tinyconfig
    scripts/kconfig/merge_config.sh -m .config "$fragment"
    make olddefconfig
    make -j"$NIX_BUILD_CORES" vmlinux
    install -D -m 0644 vmlinux "$out/vmlinux"
  '';
  vmlinux = if builtins.isPath kernelPkg || builtins.isString kernelPkg then kernelPkg else "${kernelPkg}/vmlinux";

  # extraFiles -> shell lines that put each file into the staged tree.
  q = s: "'" + builtins.replaceStrings [ "'" ] [ "'\\''" ] (toString s) + "'";
  fileNames = builtins.attrNames extraFiles;
  textOf = p: pkgs.writeText "mvm-${baseNameOf p}" extraFiles.${p}.content;
  # A path value is copied into the store by interpolation; a string (a store
  # path from a derivation) is used as it is.
  srcOf = s: if builtins.isPath s then "${s}" else toString s;
  installFile = p:
    let f = extraFiles.${p}; in
    if f ? content then
      ''install -D -m ${f.mode or "0644"} ${textOf p} "$tree"${q p}''
    else if f ? source then
      ''mkdir -p "$(dirname "$tree"${q p})" && cp -R --no-preserve=mode ${q (srcOf f.source)} "$tree"${q p} && chmod ${f.mode or "0755"} "$tree"${q p}''
    else throw "mkGuest: extraFiles.\"${p}\" needs `content` or `source`";

  app = if service == null then null else service.app;

  meta = {
    inherit name;
    accessible = false;
    sealed = true;
    entrypointKind = if service != null then service.kind else "command";
    init_system = if init == null then "mvm-agent" else "custom";
    expected_boot_ms = 1000;
    agent_binary = "/usr/bin/mvm-agent";
    rootless_entrypoint = true;
    vmlinux_present = true;
    initrd_present = false;
    backend = "nix";
  }
  // (if service != null then { runner = service.tier; } else { })
  // (if irHash != null then { ir_hash = irHash; } else { })
  // (if rootfsSizeMb != null then { rootfs_size_mb = rootfsSizeMb; } else { });

  closure = pkgs.closureInfo { rootPaths = packages ++ [ agentPkg busybox ]; };

  rootfs = pkgs.runCommand "mvm-${name}-image"
    {
      nativeBuildInputs = with pkgs; [ e2fsprogs cpio coreutils findutils jq ];
      passthru = { mvm = meta; inherit agentPkg kernelPkg closure; };
      metaJson = cj.toCanonicalJSON meta;
      passAsFile = [ "metaJson" ];
    } ''
    set -eu
    tree=$PWD/tree
    mkdir -p "$tree"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,proc,sys,dev,run,tmp,mnt/config,mnt/secrets,mnt/data,etc/mvm,usr/lib/mvm/wrappers,nix/store}
    chmod 1777 "$tree/tmp"
    install -m 0755 ${busybox}/bin/busybox "$tree/bin/busybox"
    for a in $("$tree/bin/busybox" --list-full); do
      [ -e "$tree/$a" ] || [ -L "$tree/$a" ] || ln -s /bin/busybox "$tree/$a"
    done
    ${if init == null then ''ln -sf ../usr/bin/mvm-agent "$tree/sbin/init"''
      else ''install -m 0755 ${srcOf init} "$tree/sbin/init"''}
    install -m 0755 ${agentBin} "$tree/usr/bin/mvm-agent"
    # the packages' closure, and their programs on the agent's PATH
    xargs -r -a ${closure}/store-paths cp -a -t "$tree/nix/store"
    for p in ${builtins.concatStringsSep " " (map toString packages)}; do
      for b in "$p"/bin/*; do
        if [ -e "$b" ]; then ln -sfn "$b" "$tree/usr/local/bin/$(basename "$b")"; fi
      done
    done
    ${builtins.concatStringsSep "\n" (map installFile fileNames)}
    printf '%s\n' "root:x:0:0:root:/root:/bin/sh" "mvm-agent:x:990:990:mvm agent:/nonexistent:/bin/false" \
      "mvm-worker:x:1000:1000:mvm worker:/nonexistent:/bin/false" >"$tree/etc/passwd"
    printf '%s\n' "root:x:0:" "mvm-agent:x:990:" "mvm-worker:x:1000:" >"$tree/etc/group"
    printf '%s\n' ${q name} >"$tree/etc/hostname"
    ${if app == null then "" else ''
    wd="$tree"${q service.workingDir}
    mkdir -p "$wd"
    # store files are 0444/0555: give them back the owner's write bit, keep +x
    cp -R ${srcOf app}/. "$wd/"
    chmod -R u+w,go-w,a+rX "$wd"
    ${if service.appBuildCommand == null then "" else ''
    appBuild() {
    ${service.appBuildCommand}
    }
    appBuild "$wd"
    ''}
    ''}
    # Fixed times, then a copy in sorted order, so that directory order (and so
    # inode numbers) does not depend on the build's file system.
    find "$tree" -depth -exec touch -h -d @${toString sourceDateEpoch} {} +
    mkdir sorted
    (cd "$tree" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort | cpio -pdm --quiet ../sorted)
    rm -rf "$tree"
    mv sorted "$tree"
    find "$tree" -depth -exec touch -h -d @${toString sourceDateEpoch} {} +
    kb=$(du -sk --apparent-size "$tree" | cut -f1)
    mb=${if rootfsSizeMb != null then toString rootfsSizeMb else "$(( (kb * 5 / 4 + 16 * 1024) / 1024 ))"}
    mkdir -p "$out"
    E2FSPROGS_FAKE_TIME=${toString sourceDateEpoch} mke2fs -q -F -t ext4 -L mvm-root \
      -U 00000000-0000-4000-8000-000000000000 \
      -E hash_seed=00000000-0000-4000-8000-000000000000,root_owner=0:0 \
      -O ^has_journal -m 0 -b 4096 -I 256 -d "$tree" "$out/rootfs.ext4" "''${mb}M"
    # The builder's files belong to the build user (uid 1000 in Nix's sandbox,
    # which is mvm-worker's uid in the guest) and carry the build's ctimes:
    # make every inode root's, with the fixed times, as the Debian backend does.
    (cd "$tree" && find . -mindepth 1 -printf '%P\n') | sed 's/["\\]/\\&/g' |
      awk -v t="@${toString sourceDateEpoch}" '{ printf "sif \"/%s\" uid 0\nsif \"/%s\" gid 0\nsif \"/%s\" ctime %s\nsif \"/%s\" atime %s\n", $0, $0, $0, t, $0, t }
        END { printf "sif / uid 0\nsif / gid 0\nsif / atime %s\nssv wtime %s\n", t, t }' >debugfs.cmd
    E2FSPROGS_FAKE_TIME=${toString sourceDateEpoch} debugfs -w -f debugfs.cmd "$out/rootfs.ext4" >/dev/null 2>debugfs.err ||
      { cat debugfs.err >&2; exit 1; }
    cp ${vmlinux} "$out/vmlinux"
    # mvm-meta.json: passthru.mvm plus what only the build knows
    jq -c --arg r "$(sha256sum <"$out/rootfs.ext4" | cut -c1-64)" \
          --arg k "$(sha256sum <"$out/vmlinux" | cut -c1-64)" --argjson mb "$mb" \
      '. + {rootfs_size_mb: $mb, artifacts: {"rootfs.ext4": $r, vmlinux: $k}}' "$metaJsonPath" |
      jq -S -c -j . >"$out/mvm-meta.json"
  '';
in
assert checked;
rootfs
