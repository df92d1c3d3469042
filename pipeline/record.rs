//! The run record, `OUT/run.json`: what ran, when, with which tool and schemas, and what became
//! of every stage and file. Run metadata lives here, never inside the data files.
//!
//! Format `bcf-run/1` (modelled on dbt's `run_results.json`):
//! ```json
//! { "format": "bcf-run/1", "tool_version": "0.1.0", "run_id": "20261122T160102Z-4242",
//!   "command": "run", "status": "success" | "failed" | "running",
//!   "started_at": "2026-11-22T16:01:02Z", "finished_at": "…" | null, "error": null | "why",
//!   "config": { "input": "…", "out": "…", "baseline_year": "2015-16", "schemas_dir": "…",
//!               "max_inflated_bytes": 268435456 },
//!   "schemas": { "templates/bcf-planning-2015-16.toml": "<sha256>", … },
//!   "stages": [ { "name": "ingest" | "validate" | "normalise" | "aggregate",
//!                 "status": "success" | "failed" | "running" | "not_run",
//!                 "started_at": …, "finished_at": …, "duration_ms": 12,
//!                 "counts": { "files": 20, … }, "error": null } ],
//!   "files": [ { "source_file": "…", "sha256": "…", "status": "accepted" | …,
//!                "parse": "parsed" | "cached" | "failed" | "none", "error_count": 0, "warning_count": 0,
//!                "first_error": null | "sheet!cell: message" } ] }
//! ```
//! `parse` is `failed` when reading the file hit an internal error (a caught panic): such a
//! parse is never cached, and `bcf rerun` validates again to retry it.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

pub const FORMAT: &str = "bcf-run/1";
pub const STAGES: [&str; 4] = ["ingest", "validate", "normalise", "aggregate"];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunRecord {
    pub format: String,
    pub tool_version: String,
    pub run_id: String,
    pub command: String,
    pub status: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub error: Option<String>,
    pub config: RunConfigRecord,
    pub schemas: BTreeMap<String, String>,
    pub stages: Vec<StageRecord>,
    pub files: FileList,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunConfigRecord {
    pub input: String,
    pub out: String,
    pub baseline_year: String,
    pub schemas_dir: String,
    pub max_inflated_bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StageRecord {
    pub name: String,
    pub status: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub duration_ms: Option<u64>,
    pub counts: BTreeMap<String, u64>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileRecord {
    pub source_file: String,
    pub sha256: String,
    pub status: String,
    pub parse: String,
    pub error_count: i32,
    pub warning_count: i32,
    pub first_error: Option<String>,
}

impl RunRecord {
    pub fn new(command: &str, config: RunConfigRecord, schemas: BTreeMap<String, String>) -> RunRecord {
        let now = SystemTime::now();
        let secs = now.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        RunRecord {
            format: FORMAT.into(),
            tool_version: env!("CARGO_PKG_VERSION").into(),
            run_id: format!("{}-{}", timestamp(secs).replace(['-', ':'], ""), std::process::id()),
            command: command.into(),
            status: "running".into(),
            started_at: timestamp(secs),
            finished_at: None,
            error: None,
            config,
            schemas,
            stages: STAGES
                .iter()
                .map(|s| StageRecord {
                    name: s.to_string(),
                    status: "not_run".into(),
                    started_at: None,
                    finished_at: None,
                    duration_ms: None,
                    counts: BTreeMap::new(),
                    error: None,
                })
                .collect(),
            files: FileList::default(),
        }
    }

    pub fn stage(&mut self, name: &str) -> &mut StageRecord {
        let i = self.stages.iter().position(|s| s.name == name).expect("known stage");
        &mut self.stages[i]
    }

    /// Stages of a previous record carried into this one (for stages this command does not run).
    pub fn carry_stages_from(&mut self, previous: &RunRecord) {
        for s in &mut self.stages {
            if let Some(p) = previous.stages.iter().find(|p| p.name == s.name) {
                *s = p.clone();
            }
        }
    }
}

/// The per-file records. The record is saved at every stage boundary but its files change
/// once a run: they are serialised once and that JSON reused until they next change.
#[derive(Debug, Clone, Default)]
pub struct FileList {
    files: Vec<FileRecord>,
    json: std::sync::OnceLock<Box<serde_json::value::RawValue>>,
}

impl std::ops::Deref for FileList {
    type Target = Vec<FileRecord>;
    fn deref(&self) -> &Vec<FileRecord> {
        &self.files
    }
}

impl std::ops::DerefMut for FileList {
    /// A change to the files forgets their JSON.
    fn deref_mut(&mut self) -> &mut Vec<FileRecord> {
        self.json = std::sync::OnceLock::new();
        &mut self.files
    }
}

impl FileList {
    /// Serialises the files now (for the next save of the record), if not yet done.
    pub fn serialise_now(&self) {
        self.json();
    }

    fn json(&self) -> &serde_json::value::RawValue {
        self.json.get_or_init(|| serde_json::value::to_raw_value(&self.files).expect("file records serialise to JSON"))
    }
}

impl PartialEq for FileList {
    fn eq(&self, other: &Self) -> bool {
        self.files == other.files
    }
}

impl FromIterator<FileRecord> for FileList {
    fn from_iter<I: IntoIterator<Item = FileRecord>>(iter: I) -> Self {
        FileList { files: iter.into_iter().collect(), json: Default::default() }
    }
}

impl Serialize for FileList {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.json().serialize(s)
    }
}

impl<'de> Deserialize<'de> for FileList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Vec::<FileRecord>::deserialize(d)?.into_iter().collect())
    }
}

/// `2026-11-22T16:01:02Z` from seconds since the epoch (UTC).
pub fn timestamp(secs: u64) -> String {
    let (y, m, d) = crate::validate::cells::civil_from_days((secs / 86400) as i64);
    let rem = secs % 86400;
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

pub fn now() -> String {
    timestamp(SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str) -> FileRecord {
        FileRecord {
            source_file: name.into(),
            sha256: "00".into(),
            status: "accepted".into(),
            parse: "parsed".into(),
            error_count: 0,
            warning_count: 0,
            first_error: None,
        }
    }

    #[test]
    fn files_are_serialised_as_a_plain_list_and_again_after_a_change() {
        let mut files: FileList = [file("a.xlsx")].into_iter().collect();
        let first = serde_json::to_string(&files).unwrap();
        assert_eq!(first, serde_json::to_string(&vec![file("a.xlsx")]).unwrap());
        assert_eq!(serde_json::to_string(&files).unwrap(), first, "the kept JSON is the same");
        files.push(file("b.xlsx"));
        let second = serde_json::to_string(&files).unwrap();
        assert!(second.contains("b.xlsx"), "a change is serialised: {second}");
        let back: FileList = serde_json::from_str(&second).unwrap();
        assert_eq!(back, files);
    }

    #[test]
    fn timestamps_are_utc_iso() {
        assert_eq!(super::timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::timestamp(1_795_362_062), "2026-11-22T15:41:02Z");
    }
}
