{
  description = "mvm: lower a Workload IR into a bootable microVM image (rootfs.ext4 + vmlinux)";

  # The library itself is in ./lib and works without the flake too:
  #   import ./lib { pkgs = import <nixpkgs> { }; }
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.11";

  outputs = { self, nixpkgs, ... }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAll = f: builtins.listToAttrs (map (system: { name = system; value = f system; }) systems);
      # The flake lives in nix/ of the mvm tree: ./.. is the whole checkout
      # (wrappers, the agent's source with its init, schemas).
      mvmSrc = ./..;
    in
    {
      lib = forAll (system:
        let
          mvm = import ./lib { pkgs = nixpkgs.legacyPackages.${system}; inherit mvmSrc; };
        in
        { inherit (mvm) mkFunctionWorkload mkFunctionService mkGuest; });

      # `nix build ./nix#hello --impure` style smoke target: the repo's hello
      # example, from ir-lower's output for t/data/seed-ir.json (t/nix.bats
      # checks that the committed file is still what ir-lower writes).
      packages = forAll (system: {
        hello = self.lib.${system}.mkFunctionWorkload {
          loweredFile = ../t/data/nix/seed-lowered.json;
          appPkg = ../examples/hello/src;
        };
      });
    };
}
