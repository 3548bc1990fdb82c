//! The built-in checks report what ir-validate reports: the same (code,
//! pointer) pairs on every case of sdk/testdata/rule-cases.json.
use mvm_sdk::check::check_ir;
use mvm_sdk::Value;
use std::path::Path;

#[test]
fn builtin_checks_agree_with_ir_validate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap();
    let text = std::fs::read_to_string(root.join("sdk/testdata/rule-cases.json")).unwrap();
    let cases = Value::parse(&text).unwrap();
    let cases = cases.as_array().unwrap();
    assert!(cases.len() > 50);
    let mut bad = Vec::new();
    for c in cases {
        let mut got: Vec<(String, String)> = check_ir(&c["ir"], Some(&root)).into_iter().map(|e| (e.code, e.pointer)).collect();
        got.sort();
        let mut want: Vec<(String, String)> = c["errors"].as_array().unwrap().iter()
            .map(|e| (e.as_array().unwrap()[0].as_str().unwrap().to_string(), e.as_array().unwrap()[1].as_str().unwrap().to_string()))
            .collect();
        want.sort();
        if got != want {
            bad.push(format!("{}: want {:?}, got {:?}", c["name"].as_str().unwrap(), want, got));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
