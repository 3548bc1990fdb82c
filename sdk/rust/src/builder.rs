//! Typed builders for the Workload IR.  Every builder is `#[must_use]`;
//! an app's image, resources, entrypoint and dependencies are required at
//! compile time (the closure given to [`WorkloadBuilder::app`] must return
//! an `AppBuilder<Set, Set, Set, Set>`).

use crate::check;
use crate::emit::EmitError;
use crate::value::Value;
use std::collections::BTreeMap;
use std::marker::PhantomData;

fn obj(pairs: Vec<(&str, Value)>) -> Value {
    Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

fn strs<I, S>(it: I) -> Value
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    Value::Array(it.into_iter().map(|s| Value::Str(s.into())).collect())
}

fn set(v: &mut Value, k: &str, x: Value) {
    if let Value::Object(m) = v {
        m.insert(k.to_string(), x);
    }
}

macro_rules! node {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[must_use]
        #[derive(Clone, Debug, PartialEq)]
        pub struct $name(pub(crate) Value);
        impl $name {
            /// The IR node this builds.
            pub fn to_value(&self) -> Value {
                self.0.clone()
            }
        }
    };
}

node!(/// Where the app's code comes from (`source`).
    Source);
node!(/// What the root file system is built from (`image`).
    Image);
node!(/// vCPUs, memory, boot timeout (`resources`).
    Resources);
node!(/// The app's language dependencies (`dependencies`).
    Dependencies);
node!(/// An entrypoint: a function (dispatched per call) or a command.
    Entrypoint);
node!(/// A warm-process pool for a function entrypoint (`concurrency`).
    Concurrency);
node!(/// An environment value: a literal or a secret reference.
    EnvValue);
node!(/// Where a secret is mounted: an environment variable or a file.
    SecretMount);
node!(/// A mount into the guest.
    Mount);
node!(/// What a mount mounts.
    MountSource);
node!(/// A workload volume.
    Volume);
node!(/// The app's network and egress policy.
    Network);
node!(/// DNS inside the guest.
    Dns);
node!(/// A composable sibling microVM.
    Addon);
node!(/// Where an addon comes from.
    AddonRef);

/// Images.
pub mod image {
    use super::*;
    /// Nixpkgs attribute names, e.g. `["python3"]`.
    pub fn nix_packages<I, S>(packages: I) -> Image
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Image(obj(vec![("kind", "nix_packages".into()), ("packages", strs(packages))]))
    }
    /// An OCI base image pinned by digest.
    pub fn oci_base(reference: &str, digest: &str) -> Image {
        Image(obj(vec![("kind", "oci_base".into()), ("reference", reference.into()), ("digest", digest.into())]))
    }
}

/// Sources.
pub mod source {
    use super::*;
    /// What a source tree holds but an image must not: version control,
    /// earlier images and run state, the host's packages, bytecode,
    /// environment files (secrets).  Written into the IR, so the exclusion is
    /// declared; `.exclude([] as [&str; 0])` (or a list of one's own) overrides it.
    pub const DEFAULT_EXCLUDE: [&str; 5] =
        ["**/.git/**", "**/.mvm/**", "**/node_modules/**", "**/__pycache__/**", "**/.env*"];
    /// A directory beside the declaration (include `["**"]`, exclude `DEFAULT_EXCLUDE`).
    pub fn local(path: &str) -> Source {
        Source(obj(vec![("kind", "local_path".into()), ("path", path.into()),
                        ("exclude", strs(DEFAULT_EXCLUDE))]))
    }
    /// A Nix expression producing the source (not supported by the validator yet).
    pub fn nix(expr: &str) -> Source {
        Source(obj(vec![("kind", "nix_derivation".into()), ("expr", expr.into())]))
    }
    /// An OCI image holding the source (not supported by the validator yet).
    pub fn oci(reference: &str, digest: &str) -> Source {
        Source(obj(vec![("kind", "oci_image".into()), ("reference", reference.into()), ("digest", digest.into())]))
    }
}

impl Source {
    pub fn include<I: IntoIterator<Item = S>, S: Into<String>>(mut self, globs: I) -> Self {
        set(&mut self.0, "include", strs(globs));
        self
    }
    pub fn exclude<I: IntoIterator<Item = S>, S: Into<String>>(mut self, globs: I) -> Self {
        set(&mut self.0, "exclude", strs(globs));
        self
    }
}

/// vCPUs and memory in MiB; boot timeout defaults to 30 seconds.
pub fn resources(vcpus: u32, memory_mb: u32) -> Resources {
    Resources(obj(vec![("vcpus", vcpus.into()), ("memory_mb", memory_mb.into())]))
}

impl Resources {
    pub fn boot_timeout_secs(mut self, s: u32) -> Self {
        set(&mut self.0, "boot_timeout_secs", s.into());
        self
    }
    pub fn rootfs_size_mb(mut self, mb: u32) -> Self {
        set(&mut self.0, "rootfs_size_mb", mb.into());
        self
    }
}

/// Dependencies.  There is no implicit none.
pub mod deps {
    use super::*;
    /// Standard library only.
    pub fn none() -> Dependencies {
        Dependencies(obj(vec![("kind", "none".into())]))
    }
    /// A hash-pinned Python lockfile; tool `"uv"` or `"pip_tools"`.
    pub fn python(lockfile: &str, tool: &str) -> Dependencies {
        Dependencies(obj(vec![("kind", "python".into()), ("lockfile", lockfile.into()), ("tool", tool.into())]))
    }
    /// A Node lockfile with integrity hashes; tool `"npm"`, `"pnpm"` or `"yarn"`.
    pub fn node(lockfile: &str, tool: &str) -> Dependencies {
        Dependencies(obj(vec![("kind", "node".into()), ("lockfile", lockfile.into()), ("tool", tool.into())]))
    }
}

/// Entrypoints.
pub mod entrypoint {
    use super::*;
    /// A function entrypoint (not primary; working_dir /app).
    pub fn function(language: &str, module: &str, function: &str, format: &str) -> Entrypoint {
        Entrypoint(obj(vec![("kind", "function".into()), ("language", language.into()), ("module", module.into()),
            ("function", function.into()), ("format", format.into()), ("primary", false.into())]))
    }
    /// A command run once at boot.
    pub fn command<I: IntoIterator<Item = S>, S: Into<String>>(argv: I) -> Entrypoint {
        Entrypoint(obj(vec![("kind", "command".into()), ("command", strs(argv))]))
    }
}

impl Entrypoint {
    pub fn primary(mut self, p: bool) -> Self {
        set(&mut self.0, "primary", p.into());
        self
    }
    pub fn working_dir(mut self, d: &str) -> Self {
        set(&mut self.0, "working_dir", d.into());
        self
    }
    pub fn args_schema(mut self, s: Value) -> Self {
        set(&mut self.0, "args_schema", s);
        self
    }
    pub fn return_schema(mut self, s: Value) -> Self {
        set(&mut self.0, "return_schema", s);
        self
    }
    pub fn concurrency(mut self, c: Concurrency) -> Self {
        set(&mut self.0, "concurrency", c.0);
        self
    }
    pub fn extra_imports<I: IntoIterator<Item = S>, S: Into<String>>(mut self, m: I) -> Self {
        set(&mut self.0, "extra_imports", strs(m));
        self
    }
    /// An environment variable of a command entrypoint.
    pub fn env(mut self, name: &str, v: EnvValue) -> Self {
        if let Value::Object(m) = &mut self.0 {
            let e = m.entry("env".to_string()).or_insert_with(Value::object);
            set(e, name, v.0);
        }
        self
    }
}

/// Concurrency.
pub mod concurrency {
    use super::*;
    /// A warm-process pool (in_process "serial").
    pub fn warm_process(pool_size: u32, max_calls_per_worker: u64, max_rss_mb: u64) -> Concurrency {
        Concurrency(obj(vec![("kind", "warm_process".into()), ("pool_size", pool_size.into()),
            ("max_calls_per_worker", max_calls_per_worker.into()), ("max_rss_mb", max_rss_mb.into()),
            ("in_process", "serial".into())]))
    }
}

impl Concurrency {
    pub fn in_process(mut self, mode: &str) -> Self {
        set(&mut self.0, "in_process", mode.into());
        self
    }
    pub fn max_queue_depth(mut self, d: u64) -> Self {
        set(&mut self.0, "max_queue_depth", d.into());
        self
    }
}

/// Environment values and secrets.
pub mod env {
    use super::*;
    pub fn literal(value: &str) -> EnvValue {
        EnvValue(obj(vec![("kind", "literal".into()), ("value", value.into())]))
    }
    /// A secret released only to allowed_hosts; auth_type sigv4, hmac, bearer or basic.
    pub fn secret<I: IntoIterator<Item = S>, S: Into<String>>(name: &str, mount: SecretMount, auth_type: &str, allowed_hosts: I) -> EnvValue {
        EnvValue(obj(vec![("kind", "secret_ref".into()), ("ref", obj(vec![("name", name.into()), ("mount", mount.0),
            ("auth_type", auth_type.into()), ("allowed_hosts", strs(allowed_hosts))]))]))
    }
    pub fn as_env(var: &str) -> SecretMount {
        SecretMount(obj(vec![("kind", "env".into()), ("var", var.into())]))
    }
    pub fn as_file(path: &str) -> SecretMount {
        SecretMount(obj(vec![("kind", "file".into()), ("path", path.into())]))
    }
}

impl EnvValue {
    /// SigV4 parameters of a secret reference.
    pub fn sigv4(mut self, access_key_id: &str, region: &str, service: &str) -> Self {
        if let Value::Object(m) = &mut self.0 {
            if let Some(r) = m.get_mut("ref") {
                set(r, "sigv4", obj(vec![("access_key_id", access_key_id.into()), ("region", region.into()), ("service", service.into())]));
            }
        }
        self
    }
}

/// Mounts and volumes.
pub mod mount {
    use super::*;
    /// Mount source at the absolute guest path target; mode "ro" or "rw".
    pub fn mount(target: &str, source: MountSource, mode: &str) -> Mount {
        Mount(obj(vec![("target", target.into()), ("source", source.0), ("mode", mode.into())]))
    }
    pub fn volume(name: &str) -> MountSource {
        MountSource(obj(vec![("kind", "volume".into()), ("name", name.into())]))
    }
    pub fn host_path(path: &str) -> MountSource {
        MountSource(obj(vec![("kind", "host_path".into()), ("path", path.into())]))
    }
    pub fn tmpfs(size_mb: u32) -> MountSource {
        MountSource(obj(vec![("kind", "tmpfs".into()), ("size_mb", size_mb.into())]))
    }
    pub fn external(provider: &str, config: Value) -> MountSource {
        MountSource(obj(vec![("kind", "external".into()), ("provider", provider.into()), ("config", config)]))
    }
    /// A workload volume.
    pub fn declare_volume(name: &str, size_mb: u32, persist: bool) -> Volume {
        Volume(obj(vec![("name", name.into()), ("size_mb", size_mb.into()), ("persist", persist.into())]))
    }
}

/// Network policy.
pub mod network {
    use super::*;
    /// mode "none", "bridge" or "host".
    pub fn policy(mode: &str) -> Network {
        Network(obj(vec![("mode", mode.into())]))
    }
    /// A custom network provider.
    pub fn custom(provider: &str, config: Value) -> Network {
        Network(obj(vec![("mode", obj(vec![("custom", obj(vec![("provider", provider.into()), ("config", config)]))]))]))
    }
    pub fn dns_none() -> Dns {
        Dns(obj(vec![("kind", "none".into())]))
    }
    pub fn dns_system() -> Dns {
        Dns(obj(vec![("kind", "system".into())]))
    }
    pub fn dns_resolver(host: &str, port: u32) -> Dns {
        Dns(obj(vec![("kind", "resolver".into()), ("host", host.into()), ("port", port.into())]))
    }
}

impl Network {
    fn push(&mut self, k: &str, x: Value) {
        if let Value::Object(m) = &mut self.0 {
            if let Value::Array(a) = m.entry(k.to_string()).or_insert_with(|| Value::Array(vec![])) {
                a.push(x);
            }
        }
    }
    /// Forward a port; proto "tcp" or "udp".
    pub fn port(mut self, guest: u32, host: u32, proto: &str) -> Self {
        self.push("ports", obj(vec![("guest", guest.into()), ("host", host.into()), ("proto", proto.into())]));
        self
    }
    /// Allow egress to host:port (an empty allowlist is written by `deny_egress`).
    pub fn allow(mut self, host: &str, port: u32) -> Self {
        if let Value::Object(m) = &mut self.0 {
            let e = m.entry("egress".to_string()).or_insert_with(|| obj(vec![("allowlist", Value::Array(vec![]))]));
            if let Value::Object(em) = e {
                if let Some(Value::Array(a)) = em.get_mut("allowlist") {
                    a.push(obj(vec![("host", host.into()), ("port", port.into())]));
                }
            }
        }
        self
    }
    /// An egress policy that allows nothing.
    pub fn deny_egress(mut self) -> Self {
        set(&mut self.0, "egress", obj(vec![("allowlist", Value::Array(vec![]))]));
        self
    }
    pub fn peer(mut self, id: &str) -> Self {
        self.push("peers", id.into());
        self
    }
    pub fn dns(mut self, d: Dns) -> Self {
        set(&mut self.0, "dns", d.0);
        self
    }
}

/// Addons.
pub mod addon {
    use super::*;
    /// An addon (tier "separate").
    pub fn addon(name: &str, r#ref: AddonRef, sha256: &str) -> Addon {
        Addon(obj(vec![("name", name.into()), ("tier", "separate".into()), ("ref", r#ref.0), ("sha256", sha256.into())]))
    }
    pub fn registry(url: &str, version: &str) -> AddonRef {
        AddonRef(obj(vec![("kind", "registry".into()), ("url", url.into()), ("version", version.into())]))
    }
    pub fn local(path: &str) -> AddonRef {
        AddonRef(obj(vec![("kind", "local".into()), ("path", path.into())]))
    }
}

impl Addon {
    pub fn alias(mut self, a: &str) -> Self {
        set(&mut self.0, "alias", a.into());
        self
    }
    pub fn tier(mut self, t: &str) -> Self {
        set(&mut self.0, "tier", t.into());
        self
    }
    pub fn param(mut self, k: &str, v: Value) -> Self {
        if let Value::Object(m) = &mut self.0 {
            let p = m.entry("params".to_string()).or_insert_with(Value::object);
            set(p, k, v);
        }
        self
    }
}

/// Type-state marker: a required part not given yet.
pub struct Missing;
/// Type-state marker: a required part given.
pub struct Set;

/// An app being declared.  `I`, `R`, `E`, `D` track whether the image,
/// resources, an entrypoint and the dependencies were given.
#[must_use = "an app builder does nothing until it is returned to WorkloadBuilder::app"]
pub struct AppBuilder<I, R, E, D> {
    node: BTreeMap<String, Value>,
    entrypoints: Vec<Value>,
    _p: PhantomData<(I, R, E, D)>,
}

impl<I, R, E, D> AppBuilder<I, R, E, D> {
    fn with<I2, R2, E2, D2>(self) -> AppBuilder<I2, R2, E2, D2> {
        AppBuilder { node: self.node, entrypoints: self.entrypoints, _p: PhantomData }
    }
    fn put(mut self, k: &str, v: Value) -> Self {
        self.node.insert(k.to_string(), v);
        self
    }
    /// The app's name (default: the workload id).
    pub fn name(self, name: &str) -> Self {
        self.put("name", name.into())
    }
    /// Default: `source::local(".")`.
    pub fn source(self, s: Source) -> Self {
        self.put("source", s.0)
    }
    pub fn image(self, i: Image) -> AppBuilder<Set, R, E, D> {
        self.put("image", i.0).with()
    }
    pub fn resources(self, r: Resources) -> AppBuilder<I, Set, E, D> {
        self.put("resources", r.0).with()
    }
    pub fn dependencies(self, d: Dependencies) -> AppBuilder<I, R, E, Set> {
        self.put("dependencies", d.0).with()
    }
    /// Add a function entrypoint (the seed's short form).
    pub fn function(self, language: &str, module: &str, function: &str, format: &str) -> AppBuilder<I, R, Set, D> {
        self.entrypoint(entrypoint::function(language, module, function, format))
    }
    /// Add an entrypoint.
    pub fn entrypoint(mut self, e: Entrypoint) -> AppBuilder<I, R, Set, D> {
        self.entrypoints.push(e.0);
        self.with()
    }
    pub fn env(mut self, name: &str, v: EnvValue) -> Self {
        let e = self.node.entry("env".to_string()).or_insert_with(Value::object);
        set(e, name, v.0);
        self
    }
    pub fn mount(mut self, m: Mount) -> Self {
        if let Value::Array(a) = self.node.entry("mounts".to_string()).or_insert_with(|| Value::Array(vec![])) {
            a.push(m.0);
        }
        self
    }
    pub fn network(self, n: Network) -> Self {
        self.put("network", n.0)
    }
    /// "untrusted" (the default) or "trusted".
    pub fn threat_tier(self, t: &str) -> Self {
        self.put("threat_tier", t.into())
    }
    pub fn addon(mut self, a: Addon) -> Self {
        if let Value::Array(v) = self.node.entry("addons".to_string()).or_insert_with(|| Value::Array(vec![])) {
            v.push(a.0);
        }
        self
    }
}

/// A workload being declared: `workload("hello").app(|a| ...).build()?`.
#[must_use = "a workload builder does nothing until .build()"]
pub struct WorkloadBuilder {
    id: String,
    apps: Vec<Value>,
    volumes: Vec<Value>,
    extensions: BTreeMap<String, Value>,
}

/// Start declaring the workload `id`.
pub fn workload(id: &str) -> WorkloadBuilder {
    WorkloadBuilder { id: id.to_string(), apps: Vec::new(), volumes: Vec::new(), extensions: BTreeMap::new() }
}

impl WorkloadBuilder {
    /// Declare an app: the closure must give it an image, resources, an
    /// entrypoint and its dependencies, or the program does not compile.
    pub fn app<F>(mut self, f: F) -> Self
    where
        F: FnOnce(AppBuilder<Missing, Missing, Missing, Missing>) -> AppBuilder<Set, Set, Set, Set>,
    {
        let a = f(AppBuilder { node: BTreeMap::new(), entrypoints: Vec::new(), _p: PhantomData });
        let mut node = a.node;
        node.entry("name".to_string()).or_insert_with(|| self.id.clone().into());
        node.entry("source".to_string()).or_insert_with(|| source::local(".").0);
        node.insert("entrypoints".to_string(), Value::Array(a.entrypoints));
        self.apps.push(Value::Object(node));
        self
    }
    pub fn volume(mut self, v: Volume) -> Self {
        self.volumes.push(v.0);
        self
    }
    pub fn extension(mut self, k: &str, v: Value) -> Self {
        self.extensions.insert(k.to_string(), v);
        self
    }
    /// The normalized IR, checked against the model (field names, types,
    /// enums); the semantic rules run in [`crate::emit`].
    pub fn build(self) -> Result<Workload, EmitError> {
        let ir = obj(vec![
            ("schema_version", check::model()["schema_version"].clone()),
            ("id", self.id.into()),
            ("apps", Value::Array(self.apps)),
            ("volumes", Value::Array(self.volumes)),
            ("extensions", Value::Object(self.extensions)),
        ]);
        let ir = check::normalize(&ir);
        let errors = check::check_structure(&ir);
        if !errors.is_empty() {
            return Err(EmitError::Invalid(errors));
        }
        Ok(Workload { ir })
    }
}

/// A declared workload: its normalized IR.
#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    ir: Value,
}

impl Workload {
    /// Wrap an IR value (normalized here).
    pub fn from_value(v: &Value) -> Workload {
        Workload { ir: check::normalize(v) }
    }
    pub fn to_value(&self) -> &Value {
        &self.ir
    }
    /// The RFC 8785 canonical text.
    pub fn canonical(&self) -> Result<String, EmitError> {
        self.ir.canonical().map_err(EmitError::Declaration)
    }
}
