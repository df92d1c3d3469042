//! The stage contract: the vocabulary the orchestrator (`run/`) and the stages share — which
//! stages there are, what a stage counts, how a file's parse was had, where the input is, and
//! the progress callback. It sits below both, so the data flows one way: `run/` calls the
//! stages, and no stage imports `run/`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// The pipeline's stages, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Ingest,
    Validate,
    Normalise,
    Aggregate,
}

impl Stage {
    pub const ALL: [Stage; 4] = [Stage::Ingest, Stage::Validate, Stage::Normalise, Stage::Aggregate];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Ingest => "ingest",
            Stage::Validate => "validate",
            Stage::Normalise => "normalise",
            Stage::Aggregate => "aggregate",
        }
    }

    /// The stages from this one to the end.
    pub fn onwards(self) -> Vec<Stage> {
        Stage::ALL[self as usize..].to_vec()
    }
}

/// How a file's parse was had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParseHow {
    Parsed,
    Cached,
    /// The file could not be read this time (not cached; a rerun retries it).
    Failed,
    /// Not a workbook to parse (skipped, duplicate, not downloaded).
    None,
}

/// Named counts a stage reports.
pub type Counts = BTreeMap<String, u64>;

pub fn counts(pairs: &[(&str, usize)]) -> Counts {
    pairs.iter().map(|(k, v)| (k.to_string(), *v as u64)).collect()
}

/// Where the returns come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Folder(PathBuf),
    Manifest(String),
}

impl Input {
    /// A folder path or an http(s) manifest URL.
    pub fn parse(s: &str) -> Input {
        if s.starts_with("http://") || s.starts_with("https://") {
            Input::Manifest(s.to_string())
        } else {
            Input::Folder(PathBuf::from(s))
        }
    }

    pub fn folder(&self) -> Option<&std::path::Path> {
        match self {
            Input::Folder(p) => Some(p),
            Input::Manifest(_) => None,
        }
    }
}

impl std::fmt::Display for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Input::Folder(p) => write!(f, "{}", p.display()),
            Input::Manifest(u) => f.write_str(u),
        }
    }
}

/// The log target of events there is one of per file (`validated`, `stored`): on a terminal
/// the progress bar stands for them, so they are left out there.
pub const FILE_EVENTS: &str = "bcf::file";

/// What a long step is doing, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Downloading,
    Hashing,
    Validating,
}

impl Phase {
    pub fn verb(self) -> &'static str {
        match self {
            Phase::Downloading => "downloading",
            Phase::Hashing => "hashing",
            Phase::Validating => "validating",
        }
    }
}

/// A callback told `(phase, files done, files in all)` as downloads, hashing and validation
/// proceed.
#[derive(Clone)]
pub struct Progress(pub Arc<dyn Fn(Phase, u64, u64) + Send + Sync>);

impl Progress {
    /// One more of `total` files done in `phase` (`done` counts them, from any thread).
    pub fn step(&self, phase: Phase, done: &std::sync::atomic::AtomicU64, total: u64) {
        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        (self.0)(phase, n, total);
    }
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}
