//! What `bcf check` prints for people: per file the verdict and what it means, what the file
//! is, and its findings by sheet, each with what to do; then what a check of one file cannot
//! see. The words are the validation core's (`check::View`), as on the self-check page.

use crate::check::{allocations_held, not_checked, FileCheck, View};
use crate::schema::SchemaSet;
use crate::validate::AllocationTable;

/// The report of some checked files (the caller escapes it for the terminal).
pub fn human(checks: &[FileCheck], schemas: &SchemaSet, allocations: &AllocationTable) -> String {
    let mut out = String::new();
    for c in checks {
        file(&mut out, &c.file, &c.view(schemas));
    }
    format_line_to!(out, "{}", allocations_held(allocations));
    out.push_str("Not checked here:\n");
    for line in not_checked(allocations) {
        format_line_to!(out, "  - {line}");
    }
    let ready = checks.iter().filter(|c| c.status.contributes()).count();
    format_line_to!(out, "{ready} of {} file(s) ready to send.", checks.len());
    out
}

fn file(out: &mut String, name: &str, v: &View) {
    format_line_to!(out, "{name}: {}", v.title);
    format_line_to!(out, "  {}", v.explanation);
    if !v.about.is_empty() {
        format_line_to!(out, "  {}", v.about.join("; "));
    }
    for s in &v.sheets {
        format_line_to!(out, "  {}", s.sheet.as_deref().unwrap_or("The whole file"));
        for f in &s.findings {
            let cell = f.cell.as_deref().unwrap_or("-");
            format_line_to!(out, "    {cell:<6} {:<8} {}: {}", f.severity.as_str(), f.rule.id(), f.message);
            format_line_to!(out, "    {:<6} {:<8} what to do: {}", "", "", f.what_to_do);
        }
    }
    out.push('\n');
}
