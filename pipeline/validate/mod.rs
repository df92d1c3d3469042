//! The validate stage: every file's parse by the validation core (`bcf_core::validate`, re-exported
//! here), then the rules that span files (`cross`, `submissions`) and the national team's
//! decisions (`decisions`).
//!
//! `stage` runs the core over the input (the parse cache, the panic boundary, `.xls` in worker
//! processes); `persist` keeps the result between commands.

pub mod cross;
pub mod decisions;
pub mod persist;
pub mod stage;
pub mod submissions;
pub mod worker;

pub use bcf_core::validate::*;
pub use stage::ParseMode;

use crate::ingest::Disposition;
use crate::model::Status;

/// A workbook file after validation.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Validated {
    pub source_file: String,
    pub sha256: String,
    pub parsed: ParsedFile,
    pub status: Status,
}

/// What became of an input file: skipped and duplicate files by ingest, the rest by validation.
pub fn status_of(disposition: &Disposition, validated: Option<&Validated>) -> Status {
    match (disposition, validated) {
        (Disposition::Skipped(_), _) => Status::Skipped,
        (Disposition::Duplicate(_), _) => Status::Duplicate,
        (_, Some(v)) => v.status,
        (_, None) => Status::Rejected,
    }
}
