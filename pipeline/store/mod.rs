//! What bcf keeps in the output folder, and the rules that keep it sound: one writer at a
//! time (`lock`), files that appear whole (`atomic`), stage results as JSON (`json`), the
//! parse cache that checks what it returns (`cache`), publishing by snapshot (`snapshot`) and
//! the folders bcf may touch (`guard`).
//!
//! ```text
//! OUT/current -> snapshots/NNNNNN   the published outputs (see `snapshot`)
//! OUT/snapshots/NNNNNN/…
//! OUT/run.json                      the run record
//! OUT/.bcf/lock                     held by the command using the folder
//! OUT/.bcf/ingest.json              the input files (ingest's result)
//! OUT/.bcf/validate.json            every workbook's status and parse key (validate's result)
//! OUT/.bcf/cache.log                every file's parse
//! OUT/.bcf/staging/…, staging.json  the next publish, and which stages have written it
//! OUT/.bcf/publish.json             the journal of a publish in progress
//! OUT/.bcf/published.json           the snapshots kept, with the files bcf wrote into each
//! OUT/.bcf/downloads/               the HTTP store
//! ```

pub mod atomic;
pub mod cache;
pub mod guard;
pub mod json;
mod lock;
pub mod snapshot;

pub use lock::{Holder, Lock, LockError};
pub use snapshot::{Published, Snapshot};

use crate::error::RunError;
use std::path::{Path, PathBuf};

/// The output folder of a command, locked for it.
#[derive(Debug)]
pub struct Store {
    pub out: PathBuf,
    /// `OUT/.bcf`.
    pub dir: PathBuf,
    _lock: Option<Lock>,
}

/// How a writing command opens its output folder.
#[derive(Debug, Clone, Default)]
pub struct WriteAccess<'a> {
    /// The input folder, which the output may not overlap.
    pub input: Option<&'a Path>,
    /// Write into a non-empty folder bcf has not written to before.
    pub force: bool,
    /// Wait for another writer instead of failing at once.
    pub wait: bool,
    /// The command, for the message a second writer gets.
    pub command: &'a str,
}

/// Whether another command was writing when a reader opened the folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Writer {
    None,
    Active(Option<Holder>),
}

impl Store {
    /// Opens `out` for a command that writes: checks the folders, takes the exclusive lock,
    /// finishes a publish a killed command left half done and removes its temporary files.
    pub fn open_for_writing(out: &Path, access: &WriteAccess<'_>) -> Result<Store, RunError> {
        if let Some(input) = access.input {
            guard::check_input_and_output(input, out)?;
        }
        guard::check_output(out, access.force)?;
        std::fs::create_dir_all(out).map_err(RunError::io("create the output folder", out))?;
        let dir = out.join(".bcf");
        guard::real_dir_or_create(&dir)?;
        let me = Holder { pid: std::process::id(), started_at: crate::clock::now(), command: access.command.into() };
        let lock = Lock::exclusive(&dir.join("lock"), access.wait, &me).map_err(|e| match e {
            LockError::Busy(holder) => RunError::Busy { out: out.to_path_buf(), holder },
            LockError::Io(e) => RunError::io("lock", dir.join("lock"))(e),
        })?;
        let store = Store { out: out.to_path_buf(), dir, _lock: Some(lock) };
        if snapshot::recover(&store.layout())? {
            tracing::info!("finished a publish that an earlier command left half done");
        }
        for d in [&store.out, &store.dir] {
            atomic::remove_stray_temps(d).map_err(RunError::io("remove temporary files in", d))?;
        }
        Ok(store)
    }

    /// Opens `out` for a command that only reads; says whether a writer is at work. Nothing is
    /// created or changed.
    pub fn open_for_reading(out: &Path) -> Result<(Store, Writer), RunError> {
        let dir = out.join(".bcf");
        if !dir.is_dir() {
            return Err(RunError::Refused(format!(
                "{} holds no bcf outputs: run `bcf run --input DIR --out {}` first",
                out.display(),
                out.display()
            )));
        }
        let lock_path = dir.join("lock");
        let lock = Lock::shared_if_free(&lock_path).map_err(RunError::io("lock", &lock_path))?;
        let writer = if lock.is_some() { Writer::None } else { Writer::Active(Lock::last_holder(&lock_path)) };
        Ok((Store { out: out.to_path_buf(), dir, _lock: lock }, writer))
    }

    pub fn layout(&self) -> snapshot::Layout {
        snapshot::Layout { out: self.out.clone(), state: self.dir.clone() }
    }

    pub fn ingest_path(&self) -> PathBuf {
        self.dir.join("ingest.json")
    }

    pub fn validate_path(&self) -> PathBuf {
        self.dir.join("validate.json")
    }

    pub fn cache_path(&self) -> PathBuf {
        self.dir.join("cache.log")
    }

    /// The last publish's submissions and national totals, for what an up-to-date run reports.
    pub fn summary_path(&self) -> PathBuf {
        self.dir.join("summary.json")
    }

    pub fn staging_state_path(&self) -> PathBuf {
        self.dir.join("staging.json")
    }

    pub fn downloads(&self) -> PathBuf {
        self.dir.join("downloads")
    }

    pub fn record_path(&self) -> PathBuf {
        self.out.join("run.json")
    }
}

/// A test hook: `BCF_TEST_HANG_AT=<point>` makes the process announce the point on standard
/// error and stop there, so a test can kill it at a known moment. The variable is read once.
pub fn checkpoint(point: &str) {
    static HANG_AT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    if HANG_AT.get_or_init(|| std::env::var("BCF_TEST_HANG_AT").ok()).as_deref() == Some(point) {
        eprintln!("BCF_TEST_HANG_AT reached {point}");
        loop {
            std::thread::sleep(std::time::Duration::from_secs(60));
        }
    }
}

/// Whether a test hook waits at points of this kind (so callers need not name every point).
pub fn checkpoints_enabled() -> bool {
    std::env::var_os("BCF_TEST_HANG_AT").is_some()
}

/// The error for a disk that filled up at `path`: with what is free there and what a publish
/// in this output folder takes (the last one's size), when those can be found.
pub fn disk_full(path: &Path, layout: &snapshot::Layout) -> RunError {
    let needed = layout.current_dir().map(|d| folder_bytes(&d)).filter(|&b| b > 0);
    RunError::DiskFull { path: path.to_path_buf(), free: free_bytes(path), needed }
}

/// The bytes of the files under `dir`.
fn folder_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => folder_bytes(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}

/// The bytes free to this user on the file system holding `path` (or its nearest folder).
#[cfg(unix)]
fn free_bytes(path: &Path) -> Option<u64> {
    let at = path.ancestors().find(|p| p.exists())?;
    let st = rustix::fs::statvfs(at).ok()?;
    Some(st.f_bavail.saturating_mul(st.f_frsize))
}

#[cfg(not(unix))]
fn free_bytes(_path: &Path) -> Option<u64> {
    None
}
