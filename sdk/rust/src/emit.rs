//! The emit contract (mvm-emit(1)): validate, then write the canonical
//! bytes to `$MVM_IR_OUT` atomically, or to standard output.

use crate::builder::Workload;
use crate::check::{self, IrError};
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Why a workload could not be emitted.
pub enum EmitError {
    /// The IR is invalid: the validator's errors.
    Invalid(Vec<IrError>),
    /// The declaration cannot become an IR (e.g. a float that is NaN).
    Declaration(String),
    /// ir-validate could not run or answered unexpectedly.
    Validator(String),
    /// The IR could not be written.
    Io(String, std::io::Error),
}

impl EmitError {
    /// The validator's codes, for an invalid IR.
    pub fn codes(&self) -> Vec<&str> {
        match self {
            EmitError::Invalid(v) => v.iter().map(|e| e.code.as_str()).collect(),
            _ => Vec::new(),
        }
    }
}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmitError::Invalid(v) => {
                for (i, e) in v.iter().enumerate() {
                    if i > 0 {
                        writeln!(f)?;
                    }
                    write!(f, "{} at {}: {}", e.code, e.pointer, e.detail)?;
                }
                Ok(())
            }
            EmitError::Declaration(m) | EmitError::Validator(m) => write!(f, "{}", m),
            EmitError::Io(what, e) => write!(f, "unable to {}: {}", what, e),
        }
    }
}

// `fn main() -> Result<(), EmitError>` prints the Debug form: make it the
// validator's lines, not a struct dump.
impl fmt::Debug for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for EmitError {}

fn which(prog: &str) -> Option<PathBuf> {
    if prog.contains('/') {
        return Some(PathBuf::from(prog));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(prog)).find(|p| {
        use std::os::unix::fs::PermissionsExt;
        p.metadata().map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
    })
}

/// The ir-validate to run: `$MVM_IR_VALIDATE` ("" = none), else on PATH.
fn validator() -> Option<PathBuf> {
    match std::env::var("MVM_IR_VALIDATE") {
        Ok(v) if v.is_empty() => None,
        Ok(v) => Some(PathBuf::from(v)),
        Err(_) => which("ir-validate"),
    }
}

fn run_validator(exe: &Path, text: &str, base: Option<&Path>) -> Result<Vec<IrError>, EmitError> {
    let mut cmd = Command::new(exe);
    match base {
        Some(b) => cmd.arg("-C").arg(b),
        None => cmd.arg("-L"),
    };
    let mut child = cmd.arg("-").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()
        .map_err(|e| EmitError::Validator(format!("unable to run {}: {}", exe.display(), e)))?;
    child.stdin.take().unwrap().write_all(text.as_bytes())
        .map_err(|e| EmitError::Validator(format!("unable to write to {}: {}", exe.display(), e)))?;
    let out = child.wait_with_output().map_err(|e| EmitError::Validator(format!("{}: {}", exe.display(), e)))?;
    let err = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => Ok(Vec::new()),
        Some(1) => {
            let mut v = Vec::new();
            for line in err.lines() {
                // "ir-validate: FILE: CODE at /pointer: detail"
                if let Some(i) = line.find(": E_") {
                    let rest = &line[i + 2..];
                    if let Some((head, detail)) = rest.split_once(": ") {
                        if let Some((code, ptr)) = head.split_once(" at ") {
                            v.push(IrError { code: code.into(), pointer: ptr.into(), detail: detail.into() });
                        }
                    }
                }
            }
            if v.is_empty() {
                return Err(EmitError::Validator(format!("{} said the IR is invalid: {}", exe.display(), err.trim())));
            }
            Ok(v)
        }
        c => Err(EmitError::Validator(format!("{} exited {:?}: {}", exe.display(), c, err.trim()))),
    }
}

/// The directory the IR's relative paths are resolved against:
/// `$MVM_EMIT_BASE` (set by mvm-emit), else the current directory.
fn base_dir() -> Option<PathBuf> {
    std::env::var_os("MVM_EMIT_BASE").map(PathBuf::from).or_else(|| std::env::current_dir().ok())
}

/// Validate (ir-validate when available, else the built-in checks) and
/// return the canonical text.
pub fn ir_bytes(wl: &Workload) -> Result<String, EmitError> {
    ir_bytes_with(wl, validator().as_deref(), base_dir().as_deref())
}

/// Validate with the given ir-validate (None: the built-in checks),
/// resolving lockfiles under base, and return the canonical text.
pub fn ir_bytes_with(wl: &Workload, validator: Option<&Path>, base: Option<&Path>) -> Result<String, EmitError> {
    let text = wl.canonical()?;
    let errors = match validator {
        Some(exe) => run_validator(exe, &text, base)?,
        None => check::check_ir(wl.to_value(), base),
    };
    if !errors.is_empty() {
        return Err(EmitError::Invalid(errors));
    }
    Ok(text)
}

fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{}.{}.tmp", name, std::process::id()));
    let res = (|| {
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
        return res;
    }
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Validate and write the IR: to `$MVM_IR_OUT` (atomically) when set, else
/// to standard output.  Nothing is written when the IR is invalid.
pub fn emit(wl: &Workload) -> Result<(), EmitError> {
    let out = std::env::var_os("MVM_IR_OUT").filter(|v| !v.is_empty()).map(PathBuf::from);
    emit_to(wl, out.as_deref())
}

/// Validate and write the IR to out (atomically), or to standard output.
pub fn emit_to(wl: &Workload, out: Option<&Path>) -> Result<(), EmitError> {
    let text = ir_bytes(wl)?;
    match out {
        Some(p) => write_atomic(p, text.as_bytes()).map_err(|e| EmitError::Io(format!("write {}", p.display()), e)),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes()).and_then(|_| out.flush()).map_err(|e| EmitError::Io("write to standard output".into(), e))
        }
    }
}
