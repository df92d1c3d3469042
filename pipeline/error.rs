//! Why a command could not complete. A bad return is never an error: it is findings. Every
//! variant names the exact path or input involved and, where there is one, what to do.

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("schema problems:\n{}", .0.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    Schemas(Vec<crate::schema::SchemaProblem>),
    #[error("reference data {path}: {message}")]
    Reference { path: PathBuf, message: String },
    /// (The cause is in the message, not a `source`, so a chain of errors shows it once.)
    #[error("cannot {action} {path}: {cause}")]
    Io { action: &'static str, path: PathBuf, cause: io::Error },
    #[error("{path} is damaged ({detail}); {remedy}")]
    Damaged { path: PathBuf, detail: String, remedy: String },
    #[error("{}", busy_message(.out, .holder))]
    Busy { out: PathBuf, holder: Option<crate::store::Holder> },
    #[error("cannot fetch the manifest {url}: {reason}")]
    Manifest { url: String, reason: String },
    #[error("nothing to {stage}: run `bcf {before}` first ({path} is missing)")]
    MissingStage { stage: &'static str, before: &'static str, path: PathBuf },
    #[error("the parse of {file} is no longer in the parse cache {path}: run `bcf validate` again")]
    ParseGone { path: PathBuf, file: String },
    #[error("decisions file {path}: {message} (nothing was run or published: correct the file and run again)")]
    Decisions { path: PathBuf, message: String },
    /// A folder or setting refused before anything was touched.
    #[error("{0}")]
    Refused(String),
    /// The disk filled up while the command wrote: where, what is free, what a publish needs.
    #[error("{}", disk_full_message(.path, *.free, *.needed))]
    DiskFull { path: PathBuf, free: Option<u64>, needed: Option<u64> },
}

fn disk_full_message(path: &std::path::Path, free: Option<u64>, needed: Option<u64>) -> String {
    let mib = |b: u64| match b {
        b if b < 1 << 20 => format!("{} KiB", b >> 10),
        b => format!("{:.1} MiB", b as f64 / (1 << 20) as f64),
    };
    let free = free.map(|b| format!(" ({} free)", mib(b))).unwrap_or_default();
    let needed =
        needed.map(|b| format!("; a publish here takes about {} (the last one's size)", mib(b))).unwrap_or_default();
    format!(
        "the disk holding {} is full{free}{needed}: free space on it, or give --out on another disk, then run `bcf rerun`",
        path.display()
    )
}

fn busy_message(out: &std::path::Path, holder: &Option<crate::store::Holder>) -> String {
    match holder {
        Some(h) => format!(
            "another bcf (pid {}, started {}, `bcf {}`) is writing {}; wait for it to finish, or pass --wait",
            h.pid,
            h.started_at,
            h.command,
            out.display()
        ),
        None => format!("another bcf is writing {}; wait for it to finish, or pass --wait", out.display()),
    }
}

impl RunError {
    /// Whether the command failed because a disk filled up.
    pub fn disk_full(&self) -> Option<&std::path::Path> {
        match self {
            RunError::Io { path, cause, .. } if cause.kind() == io::ErrorKind::StorageFull => Some(path),
            _ => None,
        }
    }

    /// An I/O error on one path, saying what was being done.
    pub fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> RunError {
        let path = path.into();
        move |cause| RunError::Io { action, path, cause }
    }
}
