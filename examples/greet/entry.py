# The seed's short Python declaration (Layer 2): the decorators sit on the
# real function, which is never called while emitting.  `mvm-emit entry.py`
# and `mvm-emit rust` write the same bytes.
import mvm


@mvm.app(
    name="hello",
    image=mvm.image.nix_packages(["python3"]),
    resources=mvm.resources(vcpus=1, memory_mb=256),
    dependencies=mvm.deps.none(),
)
@mvm.function(language="python", module="app", function="greet", format="json")
def greet(name: str) -> str:
    return f"hello, {name}"
