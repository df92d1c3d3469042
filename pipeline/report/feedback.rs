//! `feedback/<area_code>.csv`: what the national team sends back to an area — each finding
//! with sheet, cell, what was found and what to do. Files whose area is unknown go to
//! `feedback/unmatched.csv`. Areas with nothing to fix get no file.

use crate::tables::{FindingRow, SubmissionRow, Tables};
use std::collections::{BTreeMap, HashMap};
use std::io;

/// One area's feedback file: its name, and the findings it lists with their submissions.
pub struct AreaFeedback<'a> {
    pub file_name: String,
    rows: Vec<(&'a FindingRow, Option<&'a SubmissionRow>)>,
}

impl AreaFeedback<'_> {
    /// The file's bytes: a UTF-8 byte-order mark (so Excel reads `£` as `£`), then the CSV.
    pub fn csv(&self) -> io::Result<Vec<u8>> {
        csv_bytes(&self.rows)
    }
}

/// The feedback CSV's columns, in order, with what each means.
pub const COLUMNS: &[(&str, &str)] = &[
    ("area_code", "ONS code of the HWB, empty when the file's area is unknown"),
    ("area_name", "HWB name"),
    ("source_file", "The file the finding is about, relative to the input root"),
    ("status", "The file's status: accepted, accepted_with_warnings, rejected or skipped"),
    ("severity", "error or warning"),
    ("rule", "Validation rule id (catalogue §5)"),
    ("sheet", "Sheet of the finding, if any"),
    ("cell", "Cell of the finding, if any"),
    ("found", "What was found"),
    ("what_to_do", "What the area should do about it"),
];

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

fn text(field: Option<&str>) -> &str {
    field.unwrap_or_default()
}

/// A cell that a spreadsheet would read as a formula (OWASP's CSV injection: `=`, `+`, `-`,
/// `@`, tab, carriage return) is prefixed with `'`, which Excel and LibreOffice show as text.
fn neutral(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

fn csv_bytes(rows: &[(&FindingRow, Option<&SubmissionRow>)]) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(256 * (rows.len() + 1));
    buf.extend_from_slice("\u{feff}".as_bytes());
    let mut w = csv::Writer::from_writer(buf);
    w.write_record(COLUMNS.iter().map(|(name, _)| name))?;
    for (f, sub) in rows {
        let record = [
            text(sub.and_then(|s| s.area_code.as_deref())),
            text(sub.and_then(|s| s.area_name.as_deref())),
            &f.source_file,
            text(sub.map(|s| s.status.as_str())),
            f.severity.as_str(),
            f.rule.id(),
            text(f.sheet.as_deref()),
            text(f.cell.as_deref()),
            &f.message,
            f.rule.def().advice,
        ];
        w.write_record(record.iter().map(|c| neutral(c).into_owned()))?;
    }
    w.into_inner().map_err(|e| e.into_error())
}
