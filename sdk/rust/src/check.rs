//! The IR model, walked: normalization and the built-in checks.  Field
//! names, required fields, defaults and enums come from `model::MODEL_JSON`,
//! generated from schemas/workload.schema.json.  The semantic rules mirror
//! ir-validate(1), which `emit` runs instead when it is on PATH.

use crate::lockfile;
use crate::model::MODEL_JSON;
use crate::value::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

/// One validation error: an `E_...` code, a JSON Pointer, a sentence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IrError {
    pub code: String,
    pub pointer: String,
    pub detail: String,
}

/// The generated model, parsed once.
pub fn model() -> &'static Value {
    static M: OnceLock<Value> = OnceLock::new();
    M.get_or_init(|| Value::parse(MODEL_JSON).expect("model.rs holds valid JSON"))
}

fn shapes() -> &'static BTreeMap<String, Value> {
    model().get("shapes").and_then(Value::as_object).expect("model has shapes")
}

pub fn resolve(mut shape: &'static Value) -> &'static Value {
    while shape.get("type").and_then(Value::as_str) == Some("ref") {
        shape = &shapes()[shape.get("name").and_then(Value::as_str).unwrap()];
    }
    shape
}

fn root_shape() -> &'static Value {
    &shapes()[model().get("root").and_then(Value::as_str).unwrap()]
}

fn ty(shape: &Value) -> &str {
    shape.get("type").and_then(Value::as_str).unwrap_or("")
}

fn fields(v: &'static Value) -> &'static Vec<Value> {
    v.as_array().expect("fields list")
}

fn fname(f: &Value) -> &str {
    f.get("name").and_then(Value::as_str).unwrap()
}

fn presence(f: &Value) -> &str {
    f.get("presence").and_then(Value::as_str).unwrap()
}

fn ptr_push(p: &str, t: &str) -> String {
    format!("{}/{}", p, t.replace('~', "~0").replace('/', "~1"))
}

fn pick_option(shape: &'static Value, v: &Value) -> Option<&'static Value> {
    for o in shape.get("options")?.as_array()? {
        let o = resolve(o);
        let t = ty(o);
        if (t == "enum" && matches!(v, Value::Str(_))) || ((t == "struct" || t == "tagged") && matches!(v, Value::Object(_))) {
            return Some(o);
        }
    }
    None
}

/// Drop absent (null) fields and optional fields equal to their default;
/// fill the fields the model always writes.  Unknown fields are kept, for
/// the checks to report.
pub fn normalize(v: &Value) -> Value {
    norm(v, root_shape())
}

fn norm(v: &Value, shape: &'static Value) -> Value {
    let shape = resolve(shape);
    match (ty(shape), v) {
        ("struct", Value::Object(m)) => norm_fields(m, fields(&shape["fields"]), None),
        ("tagged", Value::Object(m)) => {
            let tag = shape.get("tag").and_then(Value::as_str).unwrap();
            match m.get(tag).and_then(Value::as_str).and_then(|k| shape.get("variants").and_then(|x| x.get(k))) {
                Some(f) => norm_fields(m, fields(f), Some(tag)),
                None => v.clone(),
            }
        }
        ("one_of", _) => match pick_option(shape, v) {
            Some(o) => norm(v, o),
            None => v.clone(),
        },
        ("array", Value::Array(a)) => Value::Array(a.iter().map(|x| norm(x, &shape["items"])).collect()),
        ("map", Value::Object(m)) => Value::Object(m.iter().map(|(k, x)| (k.clone(), norm(x, &shape["values"]))).collect()),
        _ => v.clone(),
    }
}

impl std::ops::Index<&str> for Value {
    type Output = Value;
    fn index(&self, k: &str) -> &Value {
        self.get(k).unwrap_or(&Value::Null)
    }
}

fn norm_fields(m: &BTreeMap<String, Value>, fl: &'static [Value], tag: Option<&str>) -> Value {
    let mut out = BTreeMap::new();
    for (k, v) in m {
        if Some(k.as_str()) == tag {
            out.insert(k.clone(), v.clone());
            continue;
        }
        let f = match fl.iter().find(|f| fname(f) == k) {
            Some(f) => f,
            None => {
                out.insert(k.clone(), v.clone());
                continue;
            }
        };
        if *v == Value::Null && presence(f) != "required" {
            continue;
        }
        let nv = norm(v, &f["shape"]);
        if presence(f) == "optional" {
            if let Some(d) = f.get("default") {
                if *d == nv {
                    continue;
                }
            }
        }
        out.insert(k.clone(), nv);
    }
    for f in fl {
        if presence(f) == "always" && !out.contains_key(fname(f)) {
            if let Some(d) = f.get("default") {
                out.insert(fname(f).to_string(), d.clone());
            }
        }
    }
    Value::Object(out)
}

struct Ctx<'a> {
    errors: Vec<IrError>,
    languages: Vec<String>,
    tokens: Vec<String>,
    base_dir: Option<&'a Path>,
}

impl Ctx<'_> {
    fn add(&mut self, code: &str, p: &str, d: String) {
        self.errors.push(IrError { code: code.into(), pointer: p.into(), detail: d });
    }
}

const MAL: &str = "E_MALFORMED_MANIFEST";

fn check(c: &mut Ctx, v: &Value, shape: &'static Value, p: &str) {
    let shape = resolve(shape);
    let bad = |c: &mut Ctx, want: &str| c.add(MAL, p, format!("expected {}, found {}", want, v.type_name()));
    match ty(shape) {
        "any" => {}
        "object" => {
            if !matches!(v, Value::Object(_)) {
                bad(c, "object")
            }
        }
        "string" => match v {
            Value::Str(s) => {
                let min = shape.get("min_length").and_then(Value::as_i64).unwrap_or(0) as usize;
                if s.chars().count() < min {
                    c.add(MAL, p, "must not be empty".into());
                } else if let Some(pat) = shape.get("pattern").and_then(Value::as_str) {
                    if !simple_pattern(pat, s) {
                        c.add(MAL, p, format!("{:?} does not match {}", s, pat));
                    }
                }
            }
            _ => bad(c, "string"),
        },
        "boolean" => {
            if !matches!(v, Value::Bool(_)) {
                bad(c, "boolean")
            }
        }
        "integer" => {
            let n = match v {
                Value::Int(i) => Some(*i as f64),
                Value::Float(f) if f.fract() == 0.0 => Some(*f),
                _ => None,
            };
            match n {
                None => bad(c, "integer"),
                Some(n) => {
                    let lo = shape.get("minimum").and_then(Value::as_i64).map(|x| x as f64).unwrap_or(f64::MIN);
                    let hi = shape.get("maximum").and_then(Value::as_i64).map(|x| x as f64).unwrap_or(f64::MAX);
                    if n < lo || n > hi {
                        c.add(MAL, p, format!("expected an integer from {} to {}, found {}", lo, hi, n));
                    }
                }
            }
        }
        "enum" => {
            let vals: Vec<&str> = shape["values"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
            match v {
                Value::Str(s) if vals.contains(&s.as_str()) => {}
                Value::Str(s) => c.add(MAL, p, format!("expected one of: {}; found {:?}", vals.join(", "), s)),
                _ => bad(c, "string"),
            }
        }
        "array" => match v {
            Value::Array(a) => {
                let min = shape.get("min_items").and_then(Value::as_i64).unwrap_or(0) as usize;
                if a.len() < min {
                    c.add(MAL, p, "must not be empty".into());
                }
                for (i, x) in a.iter().enumerate() {
                    check(c, x, &shape["items"], &ptr_push(p, &i.to_string()));
                }
            }
            _ => bad(c, "array"),
        },
        "map" => match v {
            Value::Object(m) => {
                for (k, x) in m {
                    if shape.get("key_pattern").is_some() && !env_name(k) {
                        c.add(MAL, &ptr_push(p, k), format!("{:?} is not an environment variable name", k));
                    }
                    check(c, x, &shape["values"], &ptr_push(p, k));
                }
            }
            _ => bad(c, "object"),
        },
        "struct" => match v {
            Value::Object(m) => check_fields(c, m, fields(&shape["fields"]), None, p),
            _ => bad(c, "object"),
        },
        "tagged" => match v {
            Value::Object(m) => {
                let tag = shape["tag"].as_str().unwrap();
                let vars = shape["variants"].as_object().unwrap();
                let names: Vec<&str> = vars.keys().map(String::as_str).collect();
                match m.get(tag) {
                    None => c.add(MAL, p, format!("missing required field \"{}\" (one of: {})", tag, names.join(", "))),
                    Some(k) => match k.as_str().and_then(|k| vars.get(k)) {
                        Some(f) => check_fields(c, m, fields(f), Some(tag), p),
                        None => c.add(MAL, &ptr_push(p, tag), format!("unknown {} {} (expected one of: {})", tag,
                            k.canonical().unwrap_or_default(), names.join(", "))),
                    },
                }
            }
            _ => bad(c, "object"),
        },
        "one_of" => match pick_option(shape, v) {
            Some(o) => check(c, v, o, p),
            None => bad(c, "string or object"),
        },
        _ => {}
    }
}

/// The patterns the schema uses, matched by hand (std has no regex); an
/// unknown pattern is left to ir-validate.
fn simple_pattern(pat: &str, s: &str) -> bool {
    match pat {
        "^/" => s.starts_with('/'),
        "^sha256:[0-9a-f]{64}$" => {
            s.len() == 71 && s.starts_with("sha256:") && s[7..].bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        }
        // an OCI reference without tag or digest
        "^([^@/\\u0000-\\u0020]*/)*[^@/:\\u0000-\\u0020]*$" => {
            !s.chars().any(|c| c == '@' || c <= ' ') && !s.rsplit('/').next().unwrap_or("").contains(':')
        }
        _ => true,
    }
}

fn env_name(k: &str) -> bool {
    let b = k.as_bytes();
    !b.is_empty() && (b[0].is_ascii_alphabetic() || b[0] == b'_') && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

fn check_fields(c: &mut Ctx, m: &BTreeMap<String, Value>, fl: &'static [Value], tag: Option<&str>, p: &str) {
    for (k, v) in m {
        if Some(k.as_str()) == tag {
            continue;
        }
        match fl.iter().find(|f| fname(f) == k) {
            None => {
                let names: Vec<&str> = fl.iter().map(fname).collect();
                c.add("E_UNKNOWN_FIELD", &ptr_push(p, k), format!("unknown field {:?} (expected one of: {})", k,
                    if names.is_empty() { "no fields".to_string() } else { names.join(", ") }));
            }
            Some(f) => {
                if !(*v == Value::Null && presence(f) != "required") {
                    check(c, v, &f["shape"], &ptr_push(p, k));
                }
            }
        }
    }
    for f in fl {
        if presence(f) == "required" && !m.contains_key(fname(f)) {
            c.add(MAL, p, format!("missing required field \"{}\"", fname(f)));
        }
    }
}

/// ASCII lowercase, '-' as '_' (how ir-validate compares names).
fn fold(s: &str) -> String {
    s.chars().map(|c| if c == '-' { '_' } else { c.to_ascii_lowercase() }).collect()
}

fn secret_name(tokens: &[String], name: &str) -> bool {
    let low = fold(name);
    tokens.iter().any(|t| {
        let t = fold(t);
        low == t || low.ends_with(&format!("_{}", t))
    })
}

fn wildcard_host(h: &str) -> bool {
    let h = h.trim_matches(|c| c == ' ' || c == '\t');
    if ["", "*", "0.0.0.0", "::", "[::]", "0.0.0.0/0", "::/0"].contains(&h) || h.ends_with("/0") {
        return true;
    }
    if let Some(rest) = h.strip_prefix("*.") {
        return !rest.contains('.') || h[1..].contains('*');
    }
    h.contains('*')
}

fn env_secrets(c: &mut Ctx, env: Option<&Value>, base: &str) {
    if let Some(Value::Object(m)) = env {
        for (k, v) in m {
            let hosts = v.get("ref").and_then(|r| r.get("allowed_hosts")).and_then(Value::as_array);
            if v.get("kind").and_then(Value::as_str) == Some("secret_ref") && hosts.map(|h| h.is_empty()).unwrap_or(false) {
                c.add("E_SECRET_WITHOUT_BINDING", &ptr_push(&format!("{}/env", base), k),
                    format!("secret {:?} has no allowed_hosts: name the hosts it may be sent to", k));
            }
        }
    }
}

fn addons(c: &mut Ctx, app: &Value, base: &str) {
    let list = match app.get("addons") {
        Some(Value::Array(a)) => a,
        _ => return,
    };
    for (i, a) in list.iter().enumerate() {
        if !matches!(a, Value::Object(_)) {
            continue;
        }
        let p = format!("{}/addons/{}", base, i);
        check_id(c, a.get("name"), &format!("{}/name", p), "addon name");
        let alias = a.get("alias").and_then(Value::as_str);
        if alias.is_some() {
            check_id(c, a.get("alias"), &format!("{}/alias", p), "addon alias");
        }
        let name = a.get("name").and_then(Value::as_str);
        for b in &list[..i] {
            let ba = b.get("alias").and_then(Value::as_str);
            if name.is_some() && name == b.get("name").and_then(Value::as_str) && alias == ba {
                c.add("E_ADDON_ENV_COLLISION", &p, format!("addon {:?} is attached twice with the same alias; give each a distinct alias", name.unwrap()));
                break;
            }
        }
        if a.get("tier").and_then(Value::as_str) == Some("in_vm") {
            c.add("E_ADDON_TIER_NOT_IMPLEMENTED", &format!("{}/tier", p), "tier \"in_vm\" is not implemented; use \"separate\"".into());
        }
        if let Some(sha) = a.get("sha256").and_then(Value::as_str) {
            if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
                c.add("E_ADDON_SHA_MISMATCH", &format!("{}/sha256", p), "sha256 must be 64 lowercase hex digits".into());
            }
        }
        let r = a.get("ref");
        match r.and_then(|r| r.get("kind")).and_then(Value::as_str) {
            Some("registry") => {
                for k in ["url", "version"] {
                    if r.and_then(|r| r.get(k)).and_then(Value::as_str) == Some("") {
                        c.add("E_ADDON_NOT_FOUND", &format!("{}/ref/{}", p, k), format!("registry addon has an empty {}", k));
                    }
                }
            }
            Some("local") => {
                if r.and_then(|r| r.get("path")).and_then(Value::as_str) == Some("") {
                    c.add("E_ADDON_LOCAL_PATH_DRIFT", &format!("{}/ref/path", p), "local addon has an empty path".into());
                }
            }
            _ => {}
        }
    }
}

fn walk_schema(c: &mut Ctx, s: &Value, p: &str) {
    let m = match s {
        Value::Object(m) => m,
        _ => return,
    };
    if let Some(Value::Object(props)) = m.get("properties") {
        for (k, v) in props {
            let q = ptr_push(&ptr_push(p, "properties"), k);
            if secret_name(&c.tokens, k) {
                c.add("E_SECRET_IN_SCHEMA", &q, format!("property {:?} looks like a secret; pass secrets with a secret_ref, not as an argument or result", k));
            }
            walk_schema(c, v, &q);
        }
    }
    for a in ["items", "additionalProperties", "not", "if", "then", "else", "contains", "unevaluatedItems", "unevaluatedProperties"] {
        match m.get(a) {
            Some(x @ Value::Object(_)) => walk_schema(c, x, &ptr_push(p, a)),
            Some(Value::Array(xs)) if a == "items" => {
                for (i, y) in xs.iter().enumerate() {
                    walk_schema(c, y, &ptr_push(&ptr_push(p, a), &i.to_string()));
                }
            }
            _ => {}
        }
    }
    for a in ["prefixItems", "oneOf", "anyOf", "allOf"] {
        if let Some(Value::Array(xs)) = m.get(a) {
            for (i, y) in xs.iter().enumerate() {
                walk_schema(c, y, &ptr_push(&ptr_push(p, a), &i.to_string()));
            }
        }
    }
    for a in ["$defs", "definitions", "patternProperties", "dependentSchemas"] {
        if let Some(Value::Object(xs)) = m.get(a) {
            for (k, y) in xs {
                walk_schema(c, y, &ptr_push(&ptr_push(p, a), k));
            }
        }
    }
}

const SHELLS: &[&str] = &["sh", "bash", "dash", "ash", "hush", "zsh", "ksh", "ksh93", "mksh", "pdksh", "oksh", "yash",
    "csh", "tcsh", "fish", "rbash", "posh"];

fn basename(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

fn shell_argv(argv: &[Value]) -> bool {
    let first = match argv.first().and_then(Value::as_str) {
        Some(s) => s,
        None => return false,
    };
    let mut i = 0;
    if basename(first) == "env" {
        i = 1;
        while let Some(a) = argv.get(i).and_then(Value::as_str) {
            if a.starts_with('-') || a.contains('=') {
                i += 1
            } else {
                break;
            }
        }
    } else if basename(first) == "busybox" {
        i = 1;
    }
    argv.get(i).and_then(Value::as_str).map(|a| SHELLS.contains(&basename(a))).unwrap_or(false)
}

fn valid_id(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty() && b.len() <= 63 && b[0].is_ascii_lowercase() && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

fn check_id(c: &mut Ctx, v: Option<&Value>, p: &str, what: &str) {
    if let Some(Value::Str(s)) = v {
        if !valid_id(s) {
            c.add("E_INVALID_ID", p, format!("{} {:?} does not match ^[a-z][a-z0-9-]{{0,62}}$", what, s));
        }
    }
}

fn parse_u32(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 10 || (s.len() > 1 && s.starts_with('0')) || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u64>().ok().filter(|v| *v <= u32::MAX as u64)
}

fn rules(c: &mut Ctx, ir: &Value) {
    if let Some(Value::Str(sv)) = ir.get("schema_version") {
        let want = model()["schema_version"].as_str().unwrap();
        let (wmaj, wmin) = want.split_once('.').unwrap();
        match sv.split_once('.').and_then(|(a, b)| Some((parse_u32(a)?, parse_u32(b)?))) {
            None => c.add("E_MALFORMED_VERSION", "/schema_version", format!("schema_version {:?} is not MAJOR.MINOR (e.g. \"0.1\")", sv)),
            Some((maj, _)) if maj.to_string() != wmaj => c.add("E_UNSUPPORTED_MAJOR", "/schema_version", format!("major version {} is not supported", maj)),
            Some((_, min)) if min > wmin.parse::<u64>().unwrap() => c.add("E_MINOR_TOO_HIGH", "/schema_version", format!("minor version {} is newer than this SDK supports", min)),
            _ => {}
        }
    }
    check_id(c, ir.get("id"), "/id", "workload id");
    if let Some(Value::Array(apps)) = ir.get("apps") {
        if apps.is_empty() {
            c.add("E_EMPTY_APPS", "/apps", "a workload needs one app".into());
        } else if apps.len() > 1 {
            c.add("E_MULTI_APP_DEFERRED", "/apps", "only one app per workload is supported".into());
        }
        for (i, a) in apps.iter().enumerate() {
            if let Value::Object(_) = a {
                rules_app(c, a, &format!("/apps/{}", i));
            }
        }
    }
    if let Some(Value::Array(vols)) = ir.get("volumes") {
        for (i, v) in vols.iter().enumerate() {
            if v.get("persist") == Some(&Value::Bool(true)) {
                c.add("E_PERSIST_DEFERRED", &format!("/volumes/{}/persist", i), "persistent volumes are not supported yet".into());
            }
        }
    }
}

fn rules_app(c: &mut Ctx, app: &Value, base: &str) {
    check_id(c, app.get("name"), &format!("{}/name", base), "app name");
    let src = app.get("source");
    if let Some(k) = src.and_then(|s| s.get("kind")).and_then(Value::as_str) {
        if k == "nix_derivation" || k == "oci_image" {
            c.add("E_SOURCE_KIND_DEFERRED", &format!("{}/source/kind", base), format!("source kind {:?} is not supported yet; use local_path", k));
        }
    }
    env_secrets(c, app.get("env"), base);
    let mut nfunc = 0;
    if let Some(Value::Array(eps)) = app.get("entrypoints") {
        let ep_p = format!("{}/entrypoints", base);
        if eps.is_empty() {
            c.add("E_EMPTY_APPS", &ep_p, "an app needs an entrypoint".into());
        }
        let funcs: Vec<&Value> = eps.iter().filter(|e| e.get("kind").and_then(Value::as_str) == Some("function")).collect();
        nfunc = funcs.len();
        if funcs.len() > 1 {
            let mut seen = Vec::new();
            for (j, f) in eps.iter().enumerate() {
                if f.get("kind").and_then(Value::as_str) != Some("function") {
                    continue;
                }
                let (m, fu) = (f.get("module").and_then(Value::as_str), f.get("function").and_then(Value::as_str));
                if let (Some(m), Some(fu)) = (m, fu) {
                    if seen.contains(&(m, fu)) {
                        c.add("E_DUPLICATE_ENTRYPOINT_FUNCTION", &format!("{}/{}", ep_p, j), format!("module {:?} function {:?} is declared twice", m, fu));
                    }
                    seen.push((m, fu));
                }
            }
            if !funcs.iter().any(|f| f.get("primary") == Some(&Value::Bool(true))) {
                c.add("E_NO_PRIMARY_ENTRYPOINT", &ep_p, "several function entrypoints and none is primary".into());
            }
        }
        if funcs.iter().filter(|e| e.get("primary") == Some(&Value::Bool(true))).count() > 1 {
            c.add("E_MULTIPLE_PRIMARY_ENTRYPOINTS", &ep_p, "more than one entrypoint is primary".into());
        }
        for (j, ep) in eps.iter().enumerate() {
            rules_ep(c, ep, app, &format!("{}/{}", ep_p, j));
        }
    }
    let deps = app.get("dependencies");
    if matches!(deps, None | Some(Value::Null)) {
        if nfunc > 0 {
            c.add("E_DEPS_REQUIRED_FOR_FUNCTION_WORKLOAD", &format!("{}/dependencies", base),
                "a function app must declare its dependencies (deps::none() for stdlib only)".into());
        } else {
            c.add(MAL, &format!("{}/dependencies", base), "missing required field \"dependencies\" (deps::none() for none)".into());
        }
    }
    if let Some(net @ Value::Object(_)) = app.get("network") {
        let mode = net.get("mode").and_then(Value::as_str);
        if mode == Some("none") && net.get("ports").and_then(Value::as_array).map(|a| !a.is_empty()).unwrap_or(false) {
            c.add("E_NETWORK_PORTS_WITH_NONE", &format!("{}/network/ports", base), "ports are forwarded but network mode is none".into());
        }
        if nfunc > 0 && mode == Some("host") {
            c.add("E_FUNCTION_NETWORK_HOST_FORBIDDEN", &format!("{}/network/mode", base), "function workloads cannot use host networking".into());
        }
        if let Some(Value::Array(allow)) = net.get("egress").and_then(|e| e.get("allowlist")) {
            for (j, r) in allow.iter().enumerate() {
                if let Some(h) = r.get("host").and_then(Value::as_str) {
                    if wildcard_host(h) {
                        c.add("E_NETWORK_WILDCARD", &format!("{}/network/egress/allowlist/{}/host", base, j),
                            format!("egress host {:?} allows everything; name hosts (exact, or *.domain)", h));
                    }
                }
            }
        }
        if let Some(Value::Array(peers)) = net.get("peers") {
            for (j, p) in peers.iter().enumerate() {
                check_id(c, Some(p), &format!("{}/network/peers/{}", base, j), "peer");
            }
        }
    }
    if let (Some(d), Some(base_dir)) = (deps, c.base_dir) {
        let kind = d.get("kind").and_then(Value::as_str);
        if matches!(kind, Some("python") | Some("node")) && src.and_then(|s| s.get("kind")).and_then(Value::as_str) == Some("local_path") {
            if let (Some(lock), Some(tool)) = (d.get("lockfile").and_then(Value::as_str), d.get("tool").and_then(Value::as_str)) {
                let sp = src.and_then(|s| s.get("path")).and_then(Value::as_str).unwrap_or(".");
                let path = base_dir.join(sp).join(lock);
                if let Some((code, detail)) = lockfile::check(tool, &path) {
                    c.add(code, &format!("{}/dependencies/lockfile", base), detail);
                }
            }
        }
    }
    addons(c, app, base);
}

fn rules_ep(c: &mut Ctx, ep: &Value, app: &Value, p: &str) {
    let kind = ep.get("kind").and_then(Value::as_str);
    if kind == Some("command") {
        if let Some(Value::Array(argv)) = ep.get("command") {
            if shell_argv(argv) {
                c.add("E_SHELL_ENTRYPOINT_FORBIDDEN", &format!("{}/command", p), "the command launches a shell; run the program directly".into());
            }
        }
        env_secrets(c, ep.get("env"), p);
    }
    if kind != Some("function") {
        return;
    }
    if let Some(Value::Str(lang)) = ep.get("language") {
        if !c.languages.iter().any(|l| l == lang) {
            let d = format!("language {:?} is not supported (supported: {})", lang, c.languages.join(", "));
            c.add("E_UNSUPPORTED_LANGUAGE", &format!("{}/language", p), d);
        }
    }
    for k in ["args_schema", "return_schema"] {
        if let Some(s @ Value::Object(_)) = ep.get(k) {
            walk_schema(c, s, &format!("{}/{}", p, k));
        }
    }
    if let Some(conc @ Value::Object(_)) = ep.get("concurrency") {
        let q = format!("{}/concurrency", p);
        if let Some(ps) = conc.get("pool_size").and_then(Value::as_i64) {
            if !(1..=64).contains(&ps) {
                c.add("E_INVALID_CONCURRENCY_POOL_SIZE", &format!("{}/pool_size", q), format!("pool_size {} is not from 1 to 64", ps));
            }
        }
        if let Some(mc) = conc.get("max_calls_per_worker").and_then(Value::as_i64) {
            if mc < 100 {
                c.add("E_INVALID_CONCURRENCY_MAX_CALLS_PER_WORKER", &format!("{}/max_calls_per_worker", q), format!("max_calls_per_worker {} is below 100", mc));
            }
        }
        let mem = app.get("resources").and_then(|r| r.get("memory_mb")).and_then(Value::as_i64);
        if let (Some(rss), Some(mem)) = (conc.get("max_rss_mb").and_then(Value::as_i64), mem) {
            if rss > mem {
                c.add("E_INVALID_CONCURRENCY_MAX_RSS_MB", &format!("{}/max_rss_mb", q), format!("max_rss_mb {} exceeds resources.memory_mb {}", rss, mem));
            }
        }
        if conc.get("in_process").and_then(Value::as_str) == Some("concurrent") {
            c.add("E_UNSUPPORTED_CONCURRENCY_IN_PROCESS_MODE", &format!("{}/in_process", q), "in_process \"concurrent\" is not supported; use \"serial\"".into());
        }
    }
}

fn strings(k: &str) -> Vec<String> {
    model()[k].as_array().unwrap().iter().filter_map(Value::as_str).map(String::from).collect()
}

/// The structural checks only (field names, types, enums, required fields).
pub fn check_structure(ir: &Value) -> Vec<IrError> {
    let mut c = Ctx { errors: Vec::new(), languages: vec![], tokens: vec![], base_dir: None };
    check(&mut c, ir, root_shape(), "");
    c.errors
}

/// All the built-in checks; lockfiles are looked up under base_dir when given.
pub fn check_ir(ir: &Value, base_dir: Option<&Path>) -> Vec<IrError> {
    let mut c = Ctx { errors: Vec::new(), languages: strings("languages"), tokens: strings("secret_tokens"), base_dir };
    check(&mut c, ir, root_shape(), "");
    rules(&mut c, ir);
    c.errors
}
