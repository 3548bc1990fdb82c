import mvm


@mvm.app(
    name="hello",
    source=mvm.source.local("./src"),
    image=mvm.image.nix_packages(["python3"]),
    resources=mvm.resources(vcpus=1, memory_mb=256),
    dependencies=mvm.deps.none(),
)
@mvm.function(
    language="python",
    module="app",
    function="greet",
    format="json",
    primary=True,
)
def _spec():
    pass
