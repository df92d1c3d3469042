//! The run record, `OUT/run.json`: what ran, when, with which tool, schemas and decisions, and
//! what became of every stage and file. Run metadata lives here, never inside the data files.
//!
//! Format `bcf-run/1` (modelled on dbt's `run_results.json`):
//! ```json
//! { "format": "bcf-run/1", "tool_version": "0.1.0", "run_id": "20261122T160102Z-4242",
//!   "command": "run", "status": "success" | "failed" | "running",
//!   "started_at": "2026-11-22T16:01:02Z", "finished_at": "…" | null, "error": null | "why",
//!   "config": { "input": "…", "out": "…", "baseline_year": "2015-16", "schemas_dir": "…",
//!               "max_inflated_bytes": 268435456, "decisions": null | "…",
//!               "decisions_sha256": null | "<sha256 of the decisions file>" },
//!   "schemas": { "templates/bcf-planning-2015-16.toml": "<sha256>", … },
//!   "snapshot": null | "000007",
//!   "stages": [ { "name": "ingest" | "validate" | "normalise" | "aggregate",
//!                 "status": "not_run" | "pending" | "running" | "success" | "failed",
//!                 "started_at": …, "finished_at": …, "duration_ms": 12,
//!                 "counts": { "files": 20, … }, "error": null } ],
//!   "files": [ { "source_file": "…", "sha256": "…", "status": "accepted" | …,
//!                "parse": "parsed" | "cached" | "failed" | "none", "error_count": 0,
//!                "warning_count": 0, "first_error": null | "sheet!cell: message" } ],
//!   "decisions": [ { "decision": { "sha256": "…", "rule": "minimum-mismatch", "cell": null,
//!                    "acceptance": { "reason": "…", "by": "…", "date": "2025-05-03" } },
//!                    "outcome": "applied" | "matched_nothing" | "file_not_in_input",
//!                    "source_file": null | "…", "findings_accepted": 1 } ] }
//! ```
//! A record left `running` by a process that died shows as `interrupted` in `bcf status`.
//! `parse` is `failed` when the file could not be read for a reason that may pass (it changed
//! while being read, or could not be opened): such a parse is never cached, and `bcf rerun`
//! validates again to retry it.

use crate::contract::{Counts, Stage};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const FORMAT: &str = "bcf-run/1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Success,
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageStatus {
    NotRun,
    /// To be run by the command in progress.
    Pending,
    Running,
    Success,
    Failed,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunRecord {
    pub format: String,
    pub tool_version: String,
    pub run_id: String,
    pub command: String,
    pub status: RunStatus,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub error: Option<String>,
    pub config: ConfigRecord,
    pub schemas: BTreeMap<String, String>,
    /// The snapshot this command published, if it published one.
    #[serde(default)]
    pub snapshot: Option<String>,
    pub stages: Vec<StageRecord>,
    pub files: Vec<crate::validate::stage::FileRecord>,
    /// What each recorded decision did in the last validation.
    #[serde(default)]
    pub decisions: Vec<crate::validate::decisions::DecisionRow>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConfigRecord {
    pub input: String,
    pub out: String,
    pub baseline_year: String,
    pub schemas_dir: String,
    pub max_inflated_bytes: u64,
    #[serde(default)]
    pub decisions: Option<String>,
    #[serde(default)]
    pub decisions_sha256: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StageRecord {
    pub name: Stage,
    pub status: StageStatus,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub duration_ms: Option<u64>,
    pub counts: Counts,
    pub error: Option<String>,
}

impl RunRecord {
    pub fn new(command: &str, config: ConfigRecord, schemas: BTreeMap<String, String>) -> RunRecord {
        let started_at = crate::clock::now();
        RunRecord {
            format: FORMAT.into(),
            tool_version: env!("CARGO_PKG_VERSION").into(),
            run_id: format!("{}-{}", started_at.replace(['-', ':'], ""), std::process::id()),
            command: command.into(),
            status: RunStatus::Running,
            started_at,
            finished_at: None,
            error: None,
            config,
            schemas,
            snapshot: None,
            stages: Stage::ALL.iter().map(|&s| StageRecord::not_run(s)).collect(),
            files: Vec::new(),
            decisions: Vec::new(),
        }
    }

    pub fn stage(&self, stage: Stage) -> &StageRecord {
        &self.stages[stage as usize]
    }

    pub fn stage_mut(&mut self, stage: Stage) -> &mut StageRecord {
        &mut self.stages[stage as usize]
    }

    /// Carries stages (and files) this command does not run from the previous record.
    pub fn carry_over(&mut self, previous: &RunRecord, stages: &[Stage]) {
        for s in Stage::ALL {
            if !stages.contains(&s) {
                self.stages[s as usize] = previous.stage(s).clone();
            }
        }
        if !stages.contains(&Stage::Validate) {
            self.files = previous.files.clone();
            self.decisions = previous.decisions.clone();
        }
    }

    pub fn mark_pending(&mut self, stages: &[Stage]) {
        for &s in stages {
            *self.stage_mut(s) = StageRecord { status: StageStatus::Pending, ..StageRecord::not_run(s) };
        }
    }

    pub fn start(&mut self, stage: Stage) {
        let st = self.stage_mut(stage);
        st.status = StageStatus::Running;
        st.started_at = Some(crate::clock::now());
    }

    pub fn finish(&mut self, stage: Stage, counts: Counts, duration_ms: u64) {
        let st = self.stage_mut(stage);
        st.status = StageStatus::Success;
        st.finished_at = Some(crate::clock::now());
        st.duration_ms = Some(duration_ms);
        st.counts = counts;
    }

    /// The command failed: the record, and any stage still running, say why; the stages it
    /// had yet to run were not run.
    pub fn fail(&mut self, error: &str) {
        self.status = RunStatus::Failed;
        self.error = Some(error.to_string());
        for st in self.stages.iter_mut() {
            match st.status {
                StageStatus::Running => {
                    st.status = StageStatus::Failed;
                    st.error = Some(error.to_string());
                    st.finished_at = Some(crate::clock::now());
                }
                StageStatus::Pending => st.status = StageStatus::NotRun,
                _ => {}
            }
        }
    }

    pub fn succeed(&mut self) {
        self.status = RunStatus::Success;
        self.finished_at = Some(crate::clock::now());
    }
}

impl StageRecord {
    fn not_run(name: Stage) -> StageRecord {
        StageRecord {
            name,
            status: StageStatus::NotRun,
            started_at: None,
            finished_at: None,
            duration_ms: None,
            counts: Counts::new(),
            error: None,
        }
    }
}
