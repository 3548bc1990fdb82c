import mvm


@mvm.app(
    name="deps-python",
    source=mvm.source.local("./src"),
    image=mvm.image.nix_packages(["python3"]),
    resources=mvm.resources(vcpus=1, memory_mb=256),
    dependencies=mvm.deps.python("requirements.txt", tool="pip_tools"),
)
@mvm.function(
    language="python",
    module="app",
    function="shout",
    format="json",
    primary=True,
)
def _spec():
    pass
