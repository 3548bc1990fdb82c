use mvm_sdk::check::check_ir;
use mvm_sdk::{deps, entrypoint, image, ir_bytes_with, resources, source, workload, EmitError, Value, Workload};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn validators() -> Vec<Option<PathBuf>> {
    let mut v = vec![None];
    let iv = root().join("bin/ir-validate");
    if iv.is_file() {
        v.push(Some(iv));
    }
    v
}

fn seed_bytes() -> String {
    let text = std::fs::read_to_string(root().join("t/data/seed-ir-sdk.json")).unwrap();
    Value::parse(&text).unwrap().canonical().unwrap()
}

fn worked_example() -> Workload {
    workload("hello")
        .app(|a| a
            .source(source::local("./src"))
            .image(image::nix_packages(["python3"]))
            .resources(resources(1, 256))
            .dependencies(deps::none())
            .entrypoint(entrypoint::function("python", "app", "greet", "json").primary(true)))
        .build()
        .unwrap()
}

#[test]
fn worked_example_emits_the_seed_bytes() {
    for v in validators() {
        assert_eq!(ir_bytes_with(&worked_example(), v.as_deref(), Some(&root())).unwrap(), seed_bytes());
    }
}

// The seed's Layer 2 declaration; examples/greet/entry.py writes the same bytes.
const GREET: &str = r#"{"apps":[{"dependencies":{"kind":"none"},"entrypoints":[{"format":"json","function":"greet","kind":"function","language":"python","module":"app","primary":false}],"image":{"kind":"nix_packages","packages":["python3"]},"name":"hello","resources":{"boot_timeout_secs":30,"memory_mb":256,"vcpus":1},"source":{"exclude":["**/.git/**","**/.mvm/**","**/node_modules/**","**/__pycache__/**","**/.env*"],"include":["**"],"kind":"local_path","path":"."}}],"extensions":{},"id":"hello","schema_version":"0.1","volumes":[]}"#;

#[test]
fn short_example_matches_python() {
    let wl = workload("hello")
        .app(|a| a
            .image(image::nix_packages(["python3"]))
            .resources(resources(1, 256))
            .dependencies(deps::none())
            .function("python", "app", "greet", "json"))
        .build()
        .unwrap();
    for v in validators() {
        assert_eq!(ir_bytes_with(&wl, v.as_deref(), Some(&root())).unwrap(), GREET);
    }
}

fn with(lang: &str, src: &str, d: mvm_sdk::builder::Dependencies, schema: Option<&str>) -> Workload {
    let mut ep = entrypoint::function(lang, "app", "greet", "json");
    if let Some(s) = schema {
        ep = ep.args_schema(Value::parse(s).unwrap());
    }
    workload("hello")
        .app(|a| a.source(source::local(src)).image(image::nix_packages(["python3"])).resources(resources(1, 256)).dependencies(d).entrypoint(ep))
        .build()
        .unwrap()
}

fn fails_with(wl: &Workload, code: &str) {
    for v in validators() {
        match ir_bytes_with(wl, v.as_deref(), Some(&root())) {
            Err(EmitError::Invalid(errs)) => {
                assert!(errs.iter().any(|e| e.code == code && e.pointer.starts_with("/apps/0/")), "{:?}: {:?}", v, errs)
            }
            other => panic!("{:?}: expected {}, got {:?}", v, code, other.map(|_| ())),
        }
    }
}

#[test]
fn unpinned_lockfile() {
    let locks = root().join("t/data/lockfiles");
    fails_with(&with("python", locks.join("npm-unpinned").to_str().unwrap(), deps::node("package-lock.json", "npm"), None), "E_UNPINNED_DEPS");
    fails_with(&with("python", locks.join("pip-unpinned").to_str().unwrap(), deps::python("requirements.txt", "pip_tools"), None), "E_UNPINNED_DEPS");
    fails_with(&with("python", ".", deps::python("nope.lock", "uv"), None), "E_LOCKFILE_NOT_FOUND");
}

#[test]
fn pinned_lockfiles_pass() {
    let locks = root().join("t/data/lockfiles");
    for (sub, lock, tool) in [("npm", "package-lock.json", "npm"), ("pnpm9", "pnpm-lock.yaml", "pnpm"), ("yarn", "yarn.lock", "yarn")] {
        let wl = with("python", locks.join(sub).to_str().unwrap(), deps::node(lock, tool), None);
        for v in validators() {
            assert!(ir_bytes_with(&wl, v.as_deref(), Some(&root())).is_ok(), "{} {:?}", sub, v);
        }
    }
    for (sub, lock, tool) in [("uv", "uv.lock", "uv"), ("pip", "requirements.txt", "pip_tools")] {
        let wl = with("python", locks.join(sub).to_str().unwrap(), deps::python(lock, tool), None);
        for v in validators() {
            assert!(ir_bytes_with(&wl, v.as_deref(), Some(&root())).is_ok(), "{} {:?}", sub, v);
        }
    }
}

#[test]
fn secret_shaped_argument() {
    fails_with(&with("python", ".", deps::none(), Some(r#"{"type":"object","properties":{"customer_credit_card":{"type":"string"}}}"#)), "E_SECRET_IN_SCHEMA");
}

#[test]
fn unsupported_language() {
    fails_with(&with("cobol", ".", deps::none(), None), "E_UNSUPPORTED_LANGUAGE");
}

#[test]
fn invalid_ir_writes_nothing() {
    let dir = std::env::temp_dir().join(format!("mvm-sdk-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("ir.json");
    std::env::set_var("MVM_IR_VALIDATE", "");
    let r = mvm_sdk::emit_to(&with("cobol", ".", deps::none(), None), Some(&out));
    assert_eq!(r.unwrap_err().codes(), vec!["E_UNSUPPORTED_LANGUAGE"]);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    mvm_sdk::emit_to(&worked_example(), Some(&out)).unwrap();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), seed_bytes());
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn structure_errors_at_build() {
    // A format outside the enum is caught by build(), before any validator.
    let r = workload("hello")
        .app(|a| a.image(image::nix_packages(["python3"])).resources(resources(1, 256)).dependencies(deps::none())
            .function("python", "app", "greet", "pickle"))
        .build();
    match r {
        Err(EmitError::Invalid(e)) => assert_eq!(e[0].code, "E_MALFORMED_MANIFEST"),
        _ => panic!("expected an error"),
    }
    assert!(check_ir(worked_example().to_value(), None).is_empty());
}
