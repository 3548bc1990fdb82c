// The seed's short TypeScript declaration (Layer 2).
import * as mvm from "mvm-sdk";

export const greet = mvm.app({
  name: "hello",
  image: mvm.nixPackages(["nodejs_22"]),
  resources: mvm.resources({ vcpus: 1, memory_mb: 256 }),
  dependencies: mvm.deps.none(),
  entrypoint: mvm.entrypointFunction({
    language: "typescript",
    module: "app",
    function: "greet",
    format: "json",
  }),
})((name: string): string => `hello, ${name}`);
