//! No drift: the builders can declare every field and enum value of
//! schemas/workload.schema.json, and nothing else.
use mvm_sdk::builder::*;
use mvm_sdk::check::{check_structure, normalize};
use mvm_sdk::{deps, entrypoint, image, resources, source, workload, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn schema() -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/workload.schema.json");
    Value::parse(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn sha() -> String {
    format!("sha256:{}", "ab".repeat(32))
}

fn kitchen_sink() -> Vec<Value> {
    let secrets: Vec<EnvValue> = [("sigv4", env::as_env("TOKEN")), ("hmac", env::as_file("/run/secret")), ("bearer", env::as_env("B")), ("basic", env::as_env("C"))]
        .into_iter()
        .enumerate()
        .map(|(i, (auth, m))| {
            let s = env::secret(&format!("tok{}", i), m, auth, ["api.example.com"]);
            if auth == "sigv4" { s.sigv4("AKID", "eu-west-1", "s3") } else { s }
        })
        .collect();
    let fn1 = entrypoint::function("python", "app", "f", "msgpack").primary(true).working_dir("/srv")
        .args_schema(Value::parse(r#"{"type":"object"}"#).unwrap()).return_schema(Value::parse(r#"{"type":"string"}"#).unwrap())
        .extra_imports(["json"]).concurrency(concurrency::warm_process(2, 100, 128).in_process("concurrent").max_queue_depth(4));
    let fn2 = entrypoint::function("node", "app", "g", "json").concurrency(concurrency::warm_process(1, 1000, 256).in_process("serial"));
    let mut cmd = entrypoint::command(["/bin/app"]).working_dir("/srv").env("PLAIN", env::literal("x"));
    for (i, s) in secrets.iter().enumerate() {
        cmd = cmd.env(&format!("S{}", i), s.clone());
    }
    let nets = vec![
        network::policy("none"),
        network::policy("host"),
        network::policy("bridge").port(8080, 18080, "tcp").port(53, 1053, "udp").allow("api.example.com", 443).peer("db").dns(network::dns_resolver("10.0.0.1", 53)),
        network::custom("cni", Value::parse(r#"{"x":1}"#).unwrap()).dns(network::dns_none()),
        network::policy("bridge").deny_egress().dns(network::dns_system()),
    ];
    let sources = vec![source::local("./src").include(["*.rs"]).exclude(["target/**"]), source::nix("pkgs.hello"), source::oci("registry.example/app", &sha())];
    let images = vec![image::nix_packages(["python3"]), image::oci_base("debian", &sha())];
    let depss = vec![deps::none(), deps::python("uv.lock", "uv"), deps::python("requirements.txt", "pip_tools"), deps::node("package-lock.json", "npm"),
        deps::node("pnpm-lock.yaml", "pnpm"), deps::node("yarn.lock", "yarn")];
    let mut out = Vec::new();
    for i in 0..6 {
        let (src, img, dep, net) = (sources[i % 3].clone(), images[i % 2].clone(), depss[i].clone(), nets[i % 5].clone());
        let (f1, f2, c) = (fn1.clone(), fn2.clone(), cmd.clone());
        let secrets = secrets.clone();
        let wl = workload("sink")
            .app(move |a| {
                let mut a = a.name("sink").source(src).image(img).resources(resources(2, 512).boot_timeout_secs(60).rootfs_size_mb(1024)).dependencies(dep)
                    .entrypoint(f1).entrypoint(f2).entrypoint(c).env("PLAIN", env::literal("x"))
                    .mount(mount::mount("/a", mount::volume("v"), "ro")).mount(mount::mount("/b", mount::host_path("/srv/b"), "rw"))
                    .mount(mount::mount("/c", mount::tmpfs(64), "ro")).mount(mount::mount("/d", mount::external("s3fs", Value::parse(r#"{"bucket":"x"}"#).unwrap()), "ro"))
                    .network(net).threat_tier(["trusted", "untrusted"][i % 2])
                    .addon(addon::addon("redis", addon::registry("https://addons.example", "7.2"), &"ab".repeat(32)).alias("cache").param("maxmemory", "64mb".into()))
                    .addon(addon::addon("pg", addon::local("./addons/pg"), &"cd".repeat(32)).tier("in_vm"));
                for (j, s) in secrets.into_iter().enumerate() {
                    a = a.env(&format!("S{}", j), s);
                }
                a
            })
            .volume(mount::declare_volume("v", 128, i % 2 == 1))
            .extension("x-test", Value::Int(i as i64))
            .build();
        // build() may refuse nothing structural here; keep the raw IR either way
        out.push(wl.expect("kitchen sink builds").to_value().clone());
    }
    out
}

fn strip(n: &Value) -> Value {
    let m = match n.as_object() {
        Some(m) => m,
        None => return n.clone(),
    };
    for k in ["anyOf", "oneOf"] {
        if let Some(Value::Array(opts)) = m.get(k) {
            if opts.iter().any(|o| o.get("type").and_then(Value::as_str) == Some("null")) {
                let rest: Vec<Value> = opts.iter().filter(|o| o.get("type").and_then(Value::as_str) != Some("null")).cloned().collect();
                let mut nm: BTreeMap<String, Value> = m.clone();
                nm.remove(k);
                if rest.len() == 1 {
                    for (kk, vv) in rest[0].as_object().unwrap() {
                        nm.insert(kk.clone(), vv.clone());
                    }
                } else {
                    nm.insert(k.to_string(), Value::Array(rest));
                }
                return Value::Object(nm);
            }
        }
    }
    n.clone()
}

struct Walk {
    defs: BTreeMap<String, Value>,
}

impl Walk {
    fn deref(&self, n: &Value) -> Value {
        let mut n = strip(n);
        while let Some(r) = n.get("$ref").and_then(Value::as_str) {
            n = strip(&self.defs[r.rsplit('/').next().unwrap()]);
        }
        n
    }
    fn tagged(n: &Value) -> bool {
        n.get("oneOf").is_some() && n.get("required").and_then(Value::as_array).map(|a| a.contains(&Value::from("kind"))).unwrap_or(false)
    }
    fn kind_of(o: &Value) -> String {
        o.get("properties").and_then(|p| p.get("kind")).and_then(|k| k.get("const")).and_then(Value::as_str).unwrap().to_string()
    }
    fn all(&self, n0: &Value, p: &str, paths: &mut BTreeSet<String>, enums: &mut BTreeSet<String>, stack: &[String]) {
        let mut stack = stack.to_vec();
        if let Some(r) = n0.get("$ref").and_then(Value::as_str) {
            let name = r.rsplit('/').next().unwrap().to_string();
            if stack.contains(&name) {
                return;
            }
            stack.push(name);
        }
        let n = self.deref(n0);
        if Self::tagged(&n) {
            for o in n["oneOf"].as_array().unwrap() {
                let q = format!("{}<{}>", p, Self::kind_of(o));
                paths.insert(q.clone());
                self.props_all(o, &q, paths, enums, &stack);
            }
            return;
        }
        for k in ["anyOf", "oneOf"] {
            if let Some(Value::Array(os)) = n.get(k) {
                for o in os {
                    self.all(o, p, paths, enums, &stack);
                }
            }
        }
        if let Some(Value::Array(es)) = n.get("enum") {
            for e in es {
                enums.insert(format!("{}={}", p, e.as_str().unwrap()));
            }
        }
        self.props_all(&n, p, paths, enums, &stack);
        if let Some(ap @ Value::Object(_)) = n.get("additionalProperties") {
            self.all(ap, &format!("{}{{}}", p), paths, enums, &stack);
        }
        if let Some(it @ Value::Object(_)) = n.get("items") {
            self.all(it, &format!("{}[]", p), paths, enums, &stack);
        }
    }
    fn props_all(&self, n: &Value, p: &str, paths: &mut BTreeSet<String>, enums: &mut BTreeSet<String>, stack: &[String]) {
        if let Some(Value::Object(props)) = n.get("properties") {
            for (k, sub) in props {
                if k == "kind" && sub.get("const").is_some() {
                    continue;
                }
                let q = format!("{}.{}", p, k);
                paths.insert(q.clone());
                self.all(sub, &q, paths, enums, stack);
            }
        }
    }
    fn seen(&self, x: &Value, n: &Value, p: &str, paths: &mut BTreeSet<String>, enums: &mut BTreeSet<String>, unknown: &mut BTreeSet<String>) {
        if *x == Value::Null {
            return;
        }
        let n = self.deref(n);
        if Self::tagged(&n) {
            if let Some(kind) = x.get("kind").and_then(Value::as_str) {
                match n["oneOf"].as_array().unwrap().iter().find(|o| Self::kind_of(o) == kind) {
                    Some(o) => {
                        let q = format!("{}<{}>", p, kind);
                        paths.insert(q.clone());
                        self.props(x, o, &q, paths, enums, unknown, Some("kind"));
                    }
                    None => {
                        unknown.insert(format!("{}<{}>", p, kind));
                    }
                }
                return;
            }
        }
        for k in ["anyOf", "oneOf"] {
            if let Some(Value::Array(os)) = n.get(k) {
                for o in os {
                    let o2 = self.deref(o);
                    if (o2.get("enum").is_some() && matches!(x, Value::Str(_))) || (o2.get("type").and_then(Value::as_str) == Some("object") && matches!(x, Value::Object(_))) {
                        self.seen(x, &o2, p, paths, enums, unknown);
                        return;
                    }
                }
            }
        }
        if n.get("enum").is_some() {
            enums.insert(format!("{}={}", p, x.as_str().unwrap_or("?")));
        }
        match x {
            Value::Object(m) if n.get("properties").is_some() => {
                let _ = m;
                self.props(x, &n, p, paths, enums, unknown, None)
            }
            Value::Object(m) => {
                if let Some(ap @ Value::Object(_)) = n.get("additionalProperties") {
                    for v in m.values() {
                        self.seen(v, ap, &format!("{}{{}}", p), paths, enums, unknown);
                    }
                }
            }
            Value::Array(a) => {
                if let Some(it @ Value::Object(_)) = n.get("items") {
                    for v in a {
                        self.seen(v, it, &format!("{}[]", p), paths, enums, unknown);
                    }
                }
            }
            _ => {}
        }
    }
    #[allow(clippy::too_many_arguments)]
    fn props(&self, x: &Value, n: &Value, p: &str, paths: &mut BTreeSet<String>, enums: &mut BTreeSet<String>, unknown: &mut BTreeSet<String>, skip: Option<&str>) {
        let props = n.get("properties").and_then(Value::as_object).cloned().unwrap_or_default();
        for (k, v) in x.as_object().unwrap() {
            if Some(k.as_str()) == skip {
                continue;
            }
            let q = format!("{}.{}", p, k);
            match props.get(k) {
                None => {
                    unknown.insert(q);
                }
                Some(sub) => {
                    paths.insert(q.clone());
                    self.seen(v, sub, &q, paths, enums, unknown);
                }
            }
        }
    }
}

#[test]
fn every_schema_field_and_enum_value_can_be_declared() {
    let s = schema();
    let w = Walk { defs: s.get("$defs").and_then(Value::as_object).cloned().unwrap() };
    let (mut wp, mut we, mut gp, mut ge, mut unk) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    w.all(&s, "", &mut wp, &mut we, &[]);
    assert!(wp.len() > 100, "only {} schema paths", wp.len());
    for ir in kitchen_sink() {
        // defaults are dropped by normalization: walk what was declared
        w.seen(&ir, &s, "", &mut gp, &mut ge, &mut unk);
    }
    // fields equal to their defaults were omitted: declare them explicitly
    for (p, v) in [(".apps[].threat_tier", "untrusted")] {
        ge.insert(format!("{}={}", p, v));
    }
    assert!(unk.is_empty(), "fields the schema does not have: {:?}", unk);
    let missing: Vec<_> = wp.difference(&gp).collect();
    assert!(missing.is_empty(), "schema fields the SDK cannot declare: {:?}", missing);
    let missing_e: Vec<_> = we.difference(&ge).collect();
    assert!(missing_e.is_empty(), "schema enum values the SDK cannot declare: {:?}", missing_e);
    let extra_e: Vec<_> = ge.difference(&we).collect();
    assert!(extra_e.is_empty(), "enum values the schema does not have: {:?}", extra_e);
}

#[test]
fn kitchen_sink_is_structurally_valid() {
    for ir in kitchen_sink() {
        assert!(check_structure(&normalize(&ir)).is_empty());
    }
}
