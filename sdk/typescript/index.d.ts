// Types of mvm-sdk: the Workload IR's shapes (mvm-ir(5)) and the helpers
// that build them.  Field names are the IR's (snake_case).

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonSchema = { [k: string]: Json };

export type Format = "json" | "msgpack";
export type ThreatTier = "untrusted" | "trusted";

export interface LocalSource { kind: "local_path"; path: string; include?: string[]; exclude?: string[] }
export interface NixSource { kind: "nix_derivation"; expr: string }
export interface OciSource { kind: "oci_image"; reference: string; digest: string }
export type Source = LocalSource | NixSource | OciSource;

export interface NixPackagesImage { kind: "nix_packages"; packages: string[] }
export interface OciBaseImage { kind: "oci_base"; reference: string; digest: string }
export type Image = NixPackagesImage | OciBaseImage;

export interface Resources { vcpus: number; memory_mb: number; boot_timeout_secs?: number; rootfs_size_mb?: number }

export type Dependencies =
  | { kind: "none" }
  | { kind: "python"; lockfile: string; tool: "uv" | "pip_tools" }
  | { kind: "node"; lockfile: string; tool: "pnpm" | "npm" | "yarn" };

export interface WarmProcess {
  kind: "warm_process"; pool_size: number; max_calls_per_worker: number; max_rss_mb: number;
  in_process: "serial" | "concurrent"; max_queue_depth?: number;
}

export type SecretMount = { kind: "env"; var: string } | { kind: "file"; path: string };
export interface Sigv4 { access_key_id: string; region: string; service: string }
export interface SecretRef {
  name: string; mount: SecretMount; auth_type: "sigv4" | "hmac" | "bearer" | "basic";
  allowed_hosts: string[]; sigv4?: Sigv4;
}
export type EnvValue = { kind: "literal"; value: string } | { kind: "secret_ref"; ref: SecretRef };
export type Env = { [name: string]: EnvValue };

export interface FunctionEntrypoint {
  kind: "function"; language: string; module: string; function: string; format: Format;
  primary: boolean; working_dir?: string; args_schema?: JsonSchema; return_schema?: JsonSchema;
  concurrency?: WarmProcess; extra_imports?: string[];
}
export interface CommandEntrypoint { kind: "command"; command: string[]; working_dir?: string; env?: Env }
export type Entrypoint = FunctionEntrypoint | CommandEntrypoint;

export type MountSource =
  | { kind: "volume"; name: string }
  | { kind: "host_path"; path: string }
  | { kind: "tmpfs"; size_mb: number }
  | { kind: "external"; provider: string; config: Json };
export interface Mount { target: string; source: MountSource; mode: "ro" | "rw" }
export interface Volume { name: string; size_mb: number; persist: boolean }

export type NetworkMode = "none" | "bridge" | "host" | { custom: { provider: string; config: Json } };
export interface PortForward { guest: number; host: number; proto: "tcp" | "udp" }
export interface Egress { allowlist: { host: string; port: number }[] }
export type Dns = { kind: "none" } | { kind: "system" } | { kind: "resolver"; host: string; port: number };
export interface Network { mode: NetworkMode; ports?: PortForward[]; egress?: Egress; peers?: string[]; dns?: Dns }

export type AddonRef = { kind: "registry"; url: string; version: string } | { kind: "local"; path: string };
export interface AddonUse {
  name: string; alias?: string; tier: "separate" | "in_vm"; ref: AddonRef; sha256: string; params?: { [k: string]: Json };
}

export interface AppOptions {
  name: string;
  /** Default: source.local(".") */
  source?: Source;
  image: Image;
  resources: Resources;
  dependencies: Dependencies;
  entrypoint?: Entrypoint;
  entrypoints?: Entrypoint[];
  env?: Env;
  mounts?: Mount[];
  network?: Network;
  threat_tier?: ThreatTier;
  addons?: AddonUse[];
}

export interface Workload {
  schema_version: string; id: string; apps: object[]; volumes: Volume[]; extensions: { [k: string]: Json };
}

export const SCHEMA_VERSION: string;
export const MODEL: { schema_version: string; root: string; languages: string[]; secret_tokens: string[]; shapes: { [name: string]: object } };

export class DeclarationError extends Error {}
export class CanonError extends Error {}
export class ValidationError extends Error {
  errors: [code: string, pointer: string, detail: string][];
  readonly codes: string[];
}

/** Declare an app.  The returned function takes the workload's function and
 * returns it unchanged: it is never called while emitting. */
export function app(opts: AppOptions): <F>(fn: F) => F;
export function workload(opts?: { id?: string; volumes?: Volume[]; extensions?: { [k: string]: Json } }): void;
export function build(): Workload;
export function reset(): void;
export function emitting(): boolean;
export function irBytes(opts?: { baseDir?: string | null }): string;
export function emit(opts?: { out?: string | null; baseDir?: string | null }): string;
export function canonical(value: unknown): string;
export function normalize(ir: unknown): unknown;
export function checkIR(ir: unknown, opts?: { baseDir?: string | null; languages?: string[]; secretTokens?: string[] }): [string, string, string][];

export function nixPackages(packages: string[]): NixPackagesImage;
export function ociBase(reference: string, digest: string): OciBaseImage;
export const image: { nixPackages: typeof nixPackages; ociBase: typeof ociBase };
export const source: {
  /** Excluded when exclude is not given: .git, .mvm, node_modules, __pycache__, .env* at any depth. */
  readonly DEFAULT_EXCLUDE: readonly string[];
  local(path: string, opts?: { include?: string[]; exclude?: string[] }): LocalSource;
  nix(expr: string): NixSource;
  oci(reference: string, digest: string): OciSource;
};
export function resources(r: Resources): Resources;
export const deps: {
  none(): { kind: "none" };
  python(o: { lockfile: string; tool?: "uv" | "pip_tools" }): Dependencies;
  node(o: { lockfile: string; tool?: "pnpm" | "npm" | "yarn" }): Dependencies;
};
export function entrypointFunction(o: {
  language: string; module: string; function: string; format?: Format; primary?: boolean;
  working_dir?: string; args_schema?: JsonSchema; return_schema?: JsonSchema; concurrency?: WarmProcess;
  extra_imports?: string[];
}): FunctionEntrypoint;
export function entrypointCommand(o: { command: string[]; working_dir?: string; env?: Env }): CommandEntrypoint;
export const concurrency: {
  warmProcess(o?: { pool_size?: number; max_calls_per_worker?: number; max_rss_mb?: number; in_process?: "serial" | "concurrent"; max_queue_depth?: number }): WarmProcess;
};
export const env: {
  literal(value: string): EnvValue;
  secret(o: { name: string; mount: SecretMount; auth_type: SecretRef["auth_type"]; allowed_hosts: string[]; sigv4?: Sigv4 }): EnvValue;
  asEnv(v: string): SecretMount;
  asFile(p: string): SecretMount;
  sigv4(o: Sigv4): Sigv4;
  of(m: { [name: string]: string | EnvValue }): Env;
};
export function mount(o: { target: string; source: MountSource; mode?: "ro" | "rw" }): Mount;
export const mounts: {
  volume(name: string): MountSource;
  hostPath(path: string): MountSource;
  tmpfs(size_mb: number): MountSource;
  external(provider: string, config: Json): MountSource;
};
export function volume(o: { name: string; size_mb: number; persist?: boolean }): Volume;
export function network(o?: { mode?: NetworkMode; ports?: PortForward[]; egress?: Egress; peers?: string[]; dns?: Dns }): Network;
export const net: {
  custom(provider: string, config: Json): NetworkMode;
  port(guest: number, host: number, proto?: "tcp" | "udp"): PortForward;
  allow(...rules: [host: string, port: number][]): Egress;
  dnsNone(): Dns;
  dnsSystem(): Dns;
  dnsResolver(host: string, port?: number): Dns;
};
export function addon(o: { name: string; ref: AddonRef; sha256: string; tier?: "separate" | "in_vm"; alias?: string; params?: { [k: string]: Json } }): AddonUse;
export const addonRef: { registry(url: string, version: string): AddonRef; local(path: string): AddonRef };
export const threatTier: { untrusted: "untrusted"; trusted: "trusted" };
