//! Findings for a read that did not finish: a reader that failed on the file, or a limit of the
//! machine, the run or the self-check page that stopped it. The national run, `bcf check` and
//! the page give them in the same words.

use crate::model::{group_thousands, Finding, Rule};
use serde::{Deserialize, Serialize};

/// The file broke a reader (a panic in the pipeline, a trap in the page).
pub fn reader_failed(what: Option<&str>) -> Finding {
    Finding::file(
        Rule::FileUnreadable,
        "the workbook has a structure bcf cannot read (a reader failed on it); open it in Excel, save it again as .xlsx and resubmit",
    )
    .with_detail(what.map(|w| format!("reader panicked: {w}")))
}

/// A panic's message, from its payload (what `panic!` was given), for [`reader_failed`].
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown cause".into())
}

/// A memory limit that stopped a read, and whose it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryLimit {
    pub mib: u64,
    pub set_by: LimitSetBy,
}

/// Who set a memory limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitSetBy {
    /// bcf's own limit for reading one file.
    Bcf,
    /// The machine's limit on bcf's address space (`ulimit -v`), lower than bcf's own.
    AddressSpace,
    /// The run's memory budget, and where that came from.
    Budget(String),
    /// The self-check page's memory for checking one file.
    Page,
}

impl MemoryLimit {
    /// The limit in words, with its figure.
    pub fn describe(&self) -> String {
        let mib = format!("{} MiB", group_thousands(&self.mib.to_string()));
        match &self.set_by {
            LimitSetBy::Bcf => format!("bcf's limit for reading one file ({mib})"),
            LimitSetBy::AddressSpace => format!("this machine's limit on bcf's memory ({mib}, set with ulimit -v)"),
            LimitSetBy::Budget(source) => format!("the run's memory budget ({mib} for one file, {source})"),
            LimitSetBy::Page => format!("the self-check page's limit for one file ({mib})"),
        }
    }
}

/// Reading the file needed more memory than `limit` allows.
pub fn needs_more_memory(limit: &MemoryLimit) -> Finding {
    Finding::file(
        Rule::FileTooLarge,
        format!(
            "the workbook needs more memory to read than {}; delete stray values far from the tables and sheets the template does not have, save the workbook as .xlsx and resubmit",
            limit.describe()
        ),
    )
}

/// Checking the file in the self-check page took longer than it allows (`limit_ms`).
pub fn takes_too_long(limit_ms: u64) -> Finding {
    let seconds = format!("{}.{:03}", limit_ms / 1000, limit_ms % 1000);
    let seconds = seconds.trim_end_matches('0').trim_end_matches('.');
    Finding::file(
        Rule::FileTooLarge,
        format!(
            "the workbook takes longer to check than the self-check page allows ({seconds} seconds); delete stray values far from the tables and sheets the template does not have, save the workbook as .xlsx and check it again"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_limit_is_named_with_its_figure() {
        let bcf = needs_more_memory(&MemoryLimit { mib: 2048, set_by: LimitSetBy::Bcf });
        assert!(bcf.message.contains("bcf's limit for reading one file (2,048 MiB)"), "{}", bcf.message);
        let ulimit = needs_more_memory(&MemoryLimit { mib: 1024, set_by: LimitSetBy::AddressSpace });
        assert!(ulimit.message.contains("(1,024 MiB, set with ulimit -v)"), "{}", ulimit.message);
        let budget = MemoryLimit { mib: 640, set_by: LimitSetBy::Budget("of 1,024 MiB, the container's limit".into()) };
        assert!(needs_more_memory(&budget)
            .message
            .contains("the run's memory budget (640 MiB for one file, of 1,024 MiB, the container's limit)"));
        assert_eq!(reader_failed(Some("boom")).detail.as_deref(), Some("reader panicked: boom"));
        assert!(takes_too_long(60_000).message.contains("(60 seconds)"));
        assert!(takes_too_long(10).message.contains("(0.01 seconds)"));
        assert!(takes_too_long(1_500).message.contains("(1.5 seconds)"));
    }
}
