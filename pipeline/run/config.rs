//! Everything a command needs to know, parsed and checked at the edge (the CLI), so stages get
//! typed values: an input that is a folder or a manifest URL, a baseline that is a year.

use super::record::ConfigRecord;
use crate::contract::{Input, Progress};
use crate::ingest::http::HttpOptions;
use crate::model::FinancialYear;
use crate::validate::ParseMode;
use crate::workbook::Limits;
use std::path::PathBuf;

/// The baseline year of the voluntary-pooling comparison when none is given (catalogue §7).
pub const DEFAULT_BASELINE: FinancialYear = FinancialYear(2015);

/// Snapshots kept in `OUT/snapshots/` when no number is given.
pub const DEFAULT_KEEP: usize = 3;

#[derive(Debug, Clone)]
pub struct RunConfig {
    /// `None` for stage commands that read what an earlier ingest found.
    pub input: Option<Input>,
    pub out: PathBuf,
    pub baseline: FinancialYear,
    pub schemas_dir: PathBuf,
    pub limits: Limits,
    pub http: HttpOptions,
    /// The national team's recorded decisions (TOML), if any.
    pub decisions: Option<PathBuf>,
    /// Published snapshots to keep.
    pub keep_snapshots: usize,
    /// Write into a non-empty folder bcf has not written to.
    pub force: bool,
    /// Wait for another command writing the same output folder.
    pub wait: bool,
    /// Where workbooks are parsed: in this process, or in bounded worker processes.
    pub parse_mode: ParseMode,
    /// Memory for the whole run: it bounds the workers and the files held in memory at once.
    pub budget: crate::budget::Budget,
    pub progress: Option<Progress>,
    /// The date the publish's pages and workbook show: today unless set (tests fix it).
    pub publish_date: Option<crate::model::Date>,
}

impl RunConfig {
    pub fn new(input: impl Into<PathBuf>, out: impl Into<PathBuf>) -> RunConfig {
        let input: PathBuf = input.into();
        RunConfig { input: Some(Input::parse(&input.to_string_lossy())), ..RunConfig::for_stage(out) }
    }

    /// A configuration for a stage command, with no input of its own.
    pub fn for_stage(out: impl Into<PathBuf>) -> RunConfig {
        RunConfig {
            input: None,
            out: out.into(),
            baseline: DEFAULT_BASELINE,
            schemas_dir: crate::load::default_schemas_dir(),
            limits: Limits::default(),
            http: HttpOptions::default(),
            decisions: None,
            keep_snapshots: DEFAULT_KEEP,
            force: false,
            wait: false,
            parse_mode: ParseMode::InProcess,
            budget: crate::budget::Budget::find(None),
            progress: None,
            publish_date: None,
        }
    }

    pub fn record(&self) -> ConfigRecord {
        ConfigRecord {
            input: self.input.as_ref().map(Input::to_string).unwrap_or_default(),
            out: self.out.to_string_lossy().into_owned(),
            baseline_year: self.baseline.to_string(),
            schemas_dir: self.schemas_dir.to_string_lossy().into_owned(),
            max_inflated_bytes: self.limits.max_inflated_bytes,
            decisions: self.decisions.as_ref().map(|p| p.to_string_lossy().into_owned()),
            decisions_sha256: None,
        }
    }

    /// The configuration a previous run recorded (for `bcf rerun` and the stage commands).
    pub fn apply_record(&mut self, r: &ConfigRecord) {
        if self.input.is_none() && !r.input.is_empty() {
            self.input = Some(Input::parse(&r.input));
        }
        if let Some(year) = FinancialYear::parse(&r.baseline_year) {
            self.baseline = year;
        }
        self.schemas_dir = PathBuf::from(&r.schemas_dir);
        self.limits.max_inflated_bytes = r.max_inflated_bytes;
        if self.decisions.is_none() {
            self.decisions = r.decisions.as_ref().map(PathBuf::from);
        }
    }
}
