//! `report.md`: what changed since the last run, the national table, coverage, the decisions
//! and the files with findings, for people to read.

use super::escape::Markdown;
use crate::model::Status;
use crate::tables::{ChangeKind, ChangeRow, Tables};
use std::fmt::Write;

pub fn markdown(t: &Tables) -> String {
    // About 150 bytes a finding or file, and 2 kB besides: one allocation for most reports.
    let mut s = String::with_capacity(2048 + 150 * (t.findings.len() + t.submissions.len()));
    format_line_to!(s, "# Better Care Fund national totals\n");
    since(&mut s, t.changes.as_deref());
    format_line_to!(s, "\n## National totals\n");
    if let Some(b) = t.national.first() {
        format_line_to!(s, "Baseline year: {} (plan).\n", b.baseline_year);
    }
    format_line_to!(
        s,
        "| Year | Basis | Areas | Mandated minimum | Voluntary LA | Voluntary NHS | Voluntary above minimum | Total pooled | vs baseline |"
    );
    format_line_to!(s, "|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in &t.national {
        format_line_to!(
            s,
            "| {} | {} | {}/{} | {} | {} | {} | {} | {} | {} |",
            r.financial_year,
            r.basis,
            r.areas_included,
            r.areas_expected,
            r.mandated_minimum.to_gbp(),
            r.voluntary_la.to_gbp(),
            r.voluntary_nhs.to_gbp(),
            r.voluntary_above_minimum.to_gbp(),
            r.total_pooled.to_gbp(),
            r.voluntary_vs_baseline_ratio.map_or("–".to_string(), |x| format!("{x:.2}×")),
        );
    }
    coverage(&mut s, t);
    decisions(&mut s, t);
    files_with_findings(&mut s, t);
    s
}

/// Changes of one kind listed before the rest are counted.
const CHANGES_LISTED: usize = 20;

fn since(s: &mut String, changes: Option<&[ChangeRow]>) {
    format_line_to!(s, "## Since the last run\n");
    match changes {
        None => _ = writeln!(s, "Nothing to compare with: this is the first publish in this output folder."),
        Some([]) => _ = writeln!(s, "No changes since the last publish."),
        Some(rows) => {
            let headline = crate::aggregate::changes::headline(Some(rows));
            let said = super::html::capitalised(headline.trim_start_matches("since the last publish: "));
            format_line_to!(s, "{}.\n", md_escape(&said));
            let groups: [&[ChangeKind]; 3] = [&[ChangeKind::TotalChanged], &ChangeKind::FILES, &ChangeKind::AREAS];
            for kinds in groups {
                let listed: Vec<&ChangeRow> = rows.iter().filter(|r| kinds.contains(&r.kind)).collect();
                for r in listed.iter().take(CHANGES_LISTED) {
                    format_line_to!(s, "- {}", md_escape(&r.description));
                }
                if listed.len() > CHANGES_LISTED {
                    format_line_to!(s, "- and {} more (all in changes.parquet)", listed.len() - CHANGES_LISTED);
                }
            }
        }
    }
}

/// Each file with findings and its findings; the others counted by status.
fn files_with_findings(s: &mut String, t: &Tables) {
    format_line_to!(s, "\n## Files with findings\n");
    let mut current = "";
    let status: std::collections::HashMap<&str, Status> =
        t.submissions.iter().map(|r| (r.source_file.as_str(), r.status)).collect();
    for f in &t.findings {
        if f.source_file != current {
            current = &f.source_file;
            let st = status.get(current).map_or("", |s| s.as_str());
            format_line_to!(s, "\n### {} ({st})\n", md_escape(current));
        }
        let accepted = if f.accepted.is_some() { " (accepted)" } else { "" };
        format_to!(s, "- **{}**{accepted} `{}` ", f.severity.as_str(), f.rule.id());
        match (&f.sheet, &f.cell) {
            (Some(sheet), Some(cell)) => _ = write!(s, "{}!{}: ", md_escape(sheet), md_escape(cell)),
            (Some(sheet), None) => _ = write!(s, "{}: ", md_escape(sheet)),
            _ => {}
        }
        format_line_to!(s, "{}", md_escape(&f.message));
    }
    if t.findings.is_empty() {
        format_line_to!(s, "No findings: every return read cleanly.");
    }
    let clean = t.without_findings_summary();
    if !clean.is_empty() {
        format_line_to!(s, "\nFiles without findings: {clean} (each listed in submissions.parquet).");
    }
}

fn decisions(s: &mut String, t: &Tables) {
    if t.decisions.is_empty() {
        return;
    }
    format_line_to!(s, "\n## Decisions applied\n");
    format_line_to!(s, "| File | Rule | Where | Reason | By | Date | Outcome |");
    format_line_to!(s, "|---|---|---|---|---|---|---|");
    for r in &t.decisions {
        let d = &r.decision;
        let file = r.file();
        format_line_to!(
            s,
            "| {} | `{}` | {} | {} | {} | {} | {} |",
            md_escape(&file),
            d.rule.id(),
            md_escape(d.cell.as_deref().unwrap_or("")),
            md_escape(&d.acceptance.reason),
            md_escape(&d.acceptance.by),
            d.acceptance.date,
            md_escape(&r.said())
        );
    }
}

/// Per year and basis, how many areas `coverage.parquet` has included, rejected and missing.
fn coverage(s: &mut String, t: &Tables) {
    use crate::validate::submissions::CoverStatus;
    format_line_to!(s, "\n## Coverage\n");
    format_line_to!(s, "| Year | Basis | Included | Rejected | Missing |");
    format_line_to!(s, "|---|---|---:|---:|---:|");
    for r in &t.national {
        let n = |status: CoverStatus| {
            t.coverage
                .iter()
                .filter(|c| c.financial_year == r.financial_year && c.basis == r.basis && c.status == status)
                .count()
        };
        let (i, rj, m) = (n(CoverStatus::Included), n(CoverStatus::Rejected), n(CoverStatus::Missing));
        format_line_to!(s, "| {} | {} | {i} | {rj} | {m} |", r.financial_year, r.basis);
    }
}

fn md_escape(s: &str) -> Markdown<'_> {
    Markdown(s)
}
