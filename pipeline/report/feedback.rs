//! `feedback/<area_code>.csv`: what the national team sends back to an area — each finding
//! with sheet, cell, what was found and what to do, written by the validation core's feedback
//! CSV (the self-check page saves the same). Files whose area is unknown go to
//! `feedback/unmatched.csv`. An area expected to send a return for the collection in progress
//! that has sent none gets a line saying so and what to send. Areas with nothing to do get no
//! file.

use super::digest::{self, ChaseWhat};
use crate::feedback::{self as csv_form, FeedbackRow, Line};
use crate::schema::SchemaSet;
use crate::tables::{FindingRow, SubmissionRow, Tables};
use std::collections::{BTreeMap, HashMap};
use std::io;

pub use csv_form::COLUMNS;

/// The feedback file's name for an area code (or `unmatched`): the code, made safe as a name.
pub fn file_name(code: &str) -> String {
    format!("{}.csv", code.replace(['/', '\\', '.'], "_"))
}

/// One area's feedback file: its name, its findings (with their submissions), and the return
/// it has not sent, if any.
pub struct AreaFeedback<'a> {
    pub file_name: String,
    findings: Vec<(&'a FindingRow, Option<&'a SubmissionRow>)>,
    missing: Option<Missing<'a>>,
}

/// An area's missing return: who, what is missing, what to send.
struct Missing<'a> {
    code: &'a str,
    name: &'a str,
    found: String,
    what_to_do: String,
}

impl AreaFeedback<'_> {
    /// The file's bytes (see `bcf_core::feedback::csv`).
    pub fn csv(&self) -> io::Result<Vec<u8>> {
        let findings = self.findings.iter().map(|(f, sub)| {
            Line::Finding(FeedbackRow {
                area_code: sub.and_then(|s| s.area_code.as_deref()),
                area_name: sub.and_then(|s| s.area_name.as_deref()),
                source_file: &f.source_file,
                status: sub.map(|s| s.status),
                severity: f.severity,
                rule: f.rule,
                sheet: f.sheet.as_deref(),
                cell: f.cell.as_deref(),
                found: &f.message,
            })
        });
        let missing = self.missing.iter().map(|m| Line::Missing {
            area_code: m.code,
            area_name: m.name,
            found: &m.found,
            what_to_do: &m.what_to_do,
        });
        csv_form::csv(missing.chain(findings))
    }
}

/// The feedback files of the areas with findings or with no return for the collection in
/// progress, sorted by file name. Their texts are made by whoever writes them, so areas can be
/// written side by side with the other outputs.
pub fn by_area<'a>(t: &'a Tables, schemas: &SchemaSet) -> Vec<AreaFeedback<'a>> {
    let subs: HashMap<&str, &SubmissionRow> = t.submissions.iter().map(|s| (s.source_file.as_str(), s)).collect();
    let mut by_area: BTreeMap<String, AreaFeedback<'a>> = BTreeMap::new();
    fn file<'m, 'a>(by_area: &'m mut BTreeMap<String, AreaFeedback<'a>>, name: String) -> &'m mut AreaFeedback<'a> {
        by_area.entry(name.clone()).or_insert_with(|| AreaFeedback {
            file_name: name,
            findings: Vec::new(),
            missing: None,
        })
    }
    for f in &t.findings {
        let sub = subs.get(f.source_file.as_str()).copied();
        let name = file_name(sub.and_then(|s| s.area_code.as_deref()).unwrap_or("unmatched"));
        file(&mut by_area, name).findings.push((f, sub));
    }
    if let Some(year) = digest::current_year(t) {
        let template = digest::template_for(schemas, year).map_or("a return".into(), |n| format!("the {n} return"));
        for c in digest::chase(t, year) {
            let ChaseWhat::Missing { bases } = &c.what else { continue };
            let bases: Vec<&str> = bases.iter().map(|b| b.as_str()).collect();
            file(&mut by_area, file_name(c.area_code)).missing = Some(Missing {
                code: c.area_code,
                name: c.area_name,
                found: format!("no return covering {year} ({}) has been received from this area", bases.join(" and ")),
                what_to_do: format!(
                    "Send {template} for {year}; check it first with the self-check page (or bcf check) so that it passes."
                ),
            });
        }
    }
    by_area.into_values().collect()
}
