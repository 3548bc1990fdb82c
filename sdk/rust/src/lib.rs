//! mvm-sdk: declare an mvm workload in Rust and emit its Workload IR
//! (mvm-ir(5)) as RFC 8785 canonical JSON.  Standard library only.
//!
//! ```no_run
//! use mvm_sdk::{deps, image, resources, workload};
//!
//! fn main() -> Result<(), mvm_sdk::EmitError> {
//!     let wl = workload("hello")
//!         .app(|a| a
//!             .image(image::nix_packages(["python3"]))
//!             .resources(resources(1, 256))
//!             .dependencies(deps::none())
//!             .function("python", "app", "greet", "json"))
//!         .build()?;
//!     mvm_sdk::emit(&wl)
//! }
//! ```
//!
//! An app's image, resources, entrypoint and dependencies are required at
//! compile time; this does not compile:
//!
//! ```compile_fail
//! use mvm_sdk::{image, resources, workload};
//! let wl = workload("hello")
//!     .app(|a| a
//!         .image(image::nix_packages(["python3"]))
//!         .resources(resources(1, 256))
//!         .function("python", "app", "greet", "json"))   // no .dependencies(...)
//!     .build();
//! ```
//!
//! ```compile_fail
//! use mvm_sdk::{deps, resources, workload};
//! let wl = workload("hello")
//!     .app(|a| a
//!         .resources(resources(1, 256))
//!         .dependencies(deps::none())
//!         .function("python", "app", "greet", "json"))   // no .image(...)
//!     .build();
//! ```
//!
//! `emit` honours the contract of mvm-emit(1): it validates with
//! `ir-validate` when that is on `PATH` (or `$MVM_IR_VALIDATE`; empty means
//! the built-in checks), then writes to `$MVM_IR_OUT` atomically or to
//! standard output, and writes nothing when the IR is invalid.

pub mod builder;
pub mod check;
pub mod emit;
pub mod lockfile;
pub mod model;
pub mod value;

pub use builder::{
    addon, concurrency, deps, entrypoint, env, image, mount, network, resources, source, workload, AppBuilder,
    Missing, Set, Workload, WorkloadBuilder,
};
pub use check::IrError;
pub use emit::{emit, emit_to, ir_bytes, ir_bytes_with, EmitError};
pub use value::Value;

/// True while mvm-emit runs the declaration (`MVM_EMITTING=1`).
pub fn emitting() -> bool {
    std::env::var("MVM_EMITTING").map(|v| v == "1").unwrap_or(false)
}
