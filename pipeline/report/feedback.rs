//! `feedback/<area_code>.csv`: what the national team sends back to an area — each finding
//! with sheet, cell, what was found and what to do. Files whose area is unknown go to
//! `feedback/unmatched.csv`. Areas with nothing to fix get no file.

use crate::tables::{FindingRow, SubmissionRow, Tables};
use std::collections::{BTreeMap, HashMap};

/// One area's feedback file: its name, and the findings it lists with their submissions.
pub struct AreaFeedback<'a> {
    pub file_name: String,
    rows: Vec<(&'a FindingRow, Option<&'a SubmissionRow>)>,
}

impl AreaFeedback<'_> {
    /// The file's CSV text, written from the rows as they are.
    pub fn csv(&self) -> String {
        csv_text(&self.rows)
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

fn text(field: Option<&str>) -> &str {
    field.unwrap_or_default()
}

fn csv_text(rows: &[(&FindingRow, Option<&SubmissionRow>)]) -> String {
    let mut w = csv::Writer::from_writer(Vec::with_capacity(256 * (rows.len() + 1)));
    let _ = w.write_record([
        "area_code",
        "area_name",
        "source_file",
        "status",
        "severity",
        "rule",
        "sheet",
        "cell",
        "found",
        "what_to_do",
    ]);
    for (f, sub) in rows {
        let _ = w.write_record([
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
        ]);
    }
    // Every field is a `str`, so the bytes are UTF-8: the conversion copies nothing.
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}
