//! `feedback/<area_code>.csv`: what the national team sends back to an area — each finding
//! with sheet, cell, what was found and what to do, written by the validation core's feedback
//! CSV (the self-check page saves the same). Files whose area is unknown go to
//! `feedback/unmatched.csv`. Areas with nothing to fix get no file.

use crate::feedback::{self as csv_form, FeedbackRow};
use crate::tables::{FindingRow, SubmissionRow, Tables};
use std::collections::{BTreeMap, HashMap};
use std::io;

pub use csv_form::COLUMNS;

/// One area's feedback file: its name, and the findings it lists with their submissions.
pub struct AreaFeedback<'a> {
    pub file_name: String,
    rows: Vec<(&'a FindingRow, Option<&'a SubmissionRow>)>,
}

impl AreaFeedback<'_> {
    /// The file's bytes (see `bcf_core::feedback::csv`).
    pub fn csv(&self) -> io::Result<Vec<u8>> {
        csv_form::csv(self.rows.iter().map(|(f, sub)| FeedbackRow {
            area_code: sub.and_then(|s| s.area_code.as_deref()),
            area_name: sub.and_then(|s| s.area_name.as_deref()),
            source_file: &f.source_file,
            status: sub.map(|s| s.status),
            severity: f.severity,
            rule: f.rule,
            sheet: f.sheet.as_deref(),
            cell: f.cell.as_deref(),
            found: &f.message,
        }))
    }
}

/// The feedback files of the areas with findings, sorted by file name. Their texts are made
/// by whoever writes them, so areas can be written side by side with the other outputs.
pub fn by_area(t: &Tables) -> Vec<AreaFeedback<'_>> {
    let subs: HashMap<&str, &SubmissionRow> = t.submissions.iter().map(|s| (s.source_file.as_str(), s)).collect();
    let mut by_area: BTreeMap<String, Vec<(&FindingRow, Option<&SubmissionRow>)>> = BTreeMap::new();
    for f in &t.findings {
        let sub = subs.get(f.source_file.as_str()).copied();
        let key = match sub.and_then(|s| s.area_code.as_deref()) {
            Some(code) => code.replace(['/', '\\', '.'], "_"),
            None => "unmatched".to_string(),
        };
        by_area.entry(key).or_default().push((f, sub));
    }
    by_area.into_iter().map(|(area, rows)| AreaFeedback { file_name: format!("{area}.csv"), rows }).collect()
}
