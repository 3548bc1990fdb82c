import * as mvm from "mvm-sdk";

export const spec = mvm.app({
  name: "hello",
  source: mvm.source.local("./src"),
  image: mvm.nixPackages(["nodejs_22"]),
  resources: mvm.resources({ vcpus: 1, memory_mb: 256 }),
  dependencies: mvm.deps.none(),
  entrypoint: mvm.entrypointFunction({
    language: "typescript",
    module: "app",
    function: "greet",
    format: "json",
    primary: true,
  }),
})(() => undefined);
