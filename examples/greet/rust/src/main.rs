// The seed's Rust declaration (Layer 2).  One addition: the dependencies
// posture is required at compile time (there is no implicit "none").
use mvm_sdk::{deps, image, resources, workload};

fn main() -> Result<(), mvm_sdk::EmitError> {
    let wl = workload("hello")
        .app(|a| a
            .image(image::nix_packages(["python3"]))
            .resources(resources(1, 256))
            .dependencies(deps::none())
            .function("python", "app", "greet", "json"))
        .build()?;
    mvm_sdk::emit(&wl)
}
