//! The feedback CSV the national team sends an area: each finding with its sheet, cell, what
//! was found and what to do. The national run writes one per area (`feedback/<area>.csv`);
//! the self-check page saves one for the file it checked; both are made here, in the same
//! columns and words.

use crate::check::FileCheck;
use crate::model::{Rule, Severity, Status};
use std::io;

/// The feedback CSV's columns, in order, with what each means.
pub const COLUMNS: &[(&str, &str)] = &[
    ("area_code", "ONS code of the HWB, empty when the file's area is unknown"),
    ("area_name", "HWB name"),
    ("source_file", "The file the finding is about, relative to the input root"),
    ("status", "The file's status: accepted, accepted_with_warnings, rejected or skipped; missing on the one line of an area expected to send a return that has sent none"),
    ("severity", "error or warning"),
    ("rule", "Validation rule id (catalogue §5)"),
    ("sheet", "Sheet of the finding, if any"),
    ("cell", "Cell of the finding, if any"),
    ("found", "What was found"),
    ("what_to_do", "What the area should do about it"),
];

/// One line of a feedback file.
pub struct FeedbackRow<'a> {
    pub area_code: Option<&'a str>,
    pub area_name: Option<&'a str>,
    pub source_file: &'a str,
    pub status: Option<Status>,
    pub severity: Severity,
    pub rule: Rule,
    pub sheet: Option<&'a str>,
    pub cell: Option<&'a str>,
    pub found: &'a str,
}

/// A line of a feedback file: a finding, or an area's missing return.
pub enum Line<'a> {
    Finding(FeedbackRow<'a>),
    /// An area expected to send a return that has sent none (the national run's files only).
    Missing {
        area_code: &'a str,
        area_name: &'a str,
        found: &'a str,
        what_to_do: &'a str,
    },
}

/// The file's bytes: a UTF-8 byte-order mark (so Excel reads `£` as `£`), then the CSV, every
/// cell safe to open (see [`neutral`]).
pub fn csv<'a>(lines: impl IntoIterator<Item = Line<'a>>) -> io::Result<Vec<u8>> {
    records(lines.into_iter().map(|line| match line {
        Line::Finding(r) => [
            r.area_code.unwrap_or_default(),
            r.area_name.unwrap_or_default(),
            r.source_file,
            r.status.map(Status::as_str).unwrap_or_default(),
            r.severity.as_str(),
            r.rule.id(),
            r.sheet.unwrap_or_default(),
            r.cell.unwrap_or_default(),
            r.found,
            r.rule.def().advice,
        ],
        Line::Missing { area_code, area_name, found, what_to_do } => {
            [area_code, area_name, "", "missing", Severity::Error.as_str(), "", "", "", found, what_to_do]
        }
    }))
}

fn records<'a>(rows: impl IntoIterator<Item = [&'a str; 10]>) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(4096);
    buf.extend_from_slice("\u{feff}".as_bytes());
    let mut w = csv::Writer::from_writer(buf);
    w.write_record(COLUMNS.iter().map(|(name, _)| name))?;
    for record in rows {
        w.write_record(record.iter().map(|c| neutral(c).into_owned()))?;
    }
    w.into_inner().map_err(|e| e.into_error())
}

/// The feedback CSV of one checked file.
pub fn of_check(c: &FileCheck) -> io::Result<Vec<u8>> {
    csv(c.findings.iter().map(|f| {
        Line::Finding(FeedbackRow {
            area_code: c.area_code.as_deref(),
            area_name: c.area_name.as_deref(),
            source_file: &c.file,
            status: Some(c.status),
            severity: f.severity,
            rule: f.rule,
            sheet: f.sheet.as_deref(),
            cell: f.cell.as_deref(),
            found: &f.message,
        })
    }))
}

/// A cell safe to open: one a spreadsheet would read as a formula (OWASP's CSV injection: `=`,
/// `+`, `-`, `@`, tab, carriage return) is prefixed with `'`, which Excel and LibreOffice show
/// as text; a control character (but a line break) is shown as `\u{1b}`, never sent to
/// whatever displays the file.
pub fn neutral(cell: &str) -> std::borrow::Cow<'_, str> {
    let visible = |c: char| c.is_control() && c != '\n';
    let cell: std::borrow::Cow<'_, str> = if cell.chars().any(visible) {
        cell.chars()
            .map(|c| if visible(c) { format!("\\u{{{:x}}}", c as u32) } else { c.to_string() })
            .collect::<String>()
            .into()
    } else {
        cell.into()
    };
    // A leading tab or carriage return is already shown as `\u{9}`, `\u{d}`.
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@') => format!("'{cell}").into(),
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cannot_be_formulas_or_control_characters() {
        assert_eq!(neutral("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(neutral("@cmd"), "'@cmd");
        assert_eq!(neutral("\tcmd"), "\\u{9}cmd", "a tab shown, so never a formula either");
        assert_eq!(neutral("Kent\x1b[2J"), "Kent\\u{1b}[2J");
        assert_eq!(neutral("line one\nline two"), "line one\nline two");
        assert_eq!(neutral("£1,000"), "£1,000");
    }
}
