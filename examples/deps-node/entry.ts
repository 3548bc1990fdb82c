import * as mvm from "mvm-sdk";

export const spec = mvm.app({
  name: "deps-node",
  source: mvm.source.local("./src"),
  image: mvm.nixPackages(["nodejs_22"]),
  resources: mvm.resources({ vcpus: 1, memory_mb: 256 }),
  dependencies: mvm.deps.node({ lockfile: "package-lock.json", tool: "npm" }),
  entrypoint: mvm.entrypointFunction({
    language: "typescript",
    module: "app",
    function: "duration",
    format: "json",
    primary: true,
  }),
})(() => undefined);
