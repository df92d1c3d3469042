//! `report.md`: the publish, whether its totals are national, what changed since the last
//! run, the national table, who to chase, the rejected files, the findings by rule, coverage
//! and the decisions, for people to read. Its size follows the areas and rules, like
//! `report.html`'s; every finding is in `findings.parquet` and on the area pages.

use super::digest::{self, ChaseWhat, Publication};
use super::escape::Markdown;
use crate::schema::SchemaSet;
use crate::tables::{ChangeKind, ChangeRow, Tables};
use std::fmt::Write;

pub fn markdown(t: &Tables, schemas: &SchemaSet, publication: &Publication) -> String {
    let mut s = String::with_capacity(16384);
    format_line_to!(s, "# Better Care Fund national totals\n");
    format_line_to!(s, "{publication}.\n");
    if let Some(note) = digest::coverage_note(&t.national) {
        format_line_to!(s, "**Coverage:** {}.\n", md_escape(&super::html::capitalised(&note)));
    }
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
    chase(&mut s, t, schemas);
    rejected(&mut s, t);
    by_rule(&mut s, t);
    coverage(&mut s, t);
    decisions(&mut s, t);
    let clean = t.without_findings_summary();
    if !clean.is_empty() {
        format_line_to!(s, "\nFiles without findings: {clean} (each listed in submissions.parquet).");
    }
    s
}

/// Who to chase for the collection in progress (see `html::chase`).
fn chase(s: &mut String, t: &Tables, schemas: &SchemaSet) {
    format_line_to!(s, "\n## Who to chase\n");
    let Some(year) = digest::current_year(t) else { return };
    let rows = digest::chase(t, year);
    let template = digest::template_for(schemas, year).map(|n| format!(" ({n})")).unwrap_or_default();
    if rows.is_empty() {
        format_line_to!(s, "Nobody: every area expected in {year} has a return that counts.");
        return;
    }
    format_line_to!(s, "For {year}{}:\n", md_escape(&template));
    format_line_to!(s, "| Area | Code | Why | First error, or what is missing | Feedback |");
    format_line_to!(s, "|---|---|---|---|---|");
    for c in &rows {
        let (why, what) = match &c.what {
            ChaseWhat::Rejected { file, first_error } => (
                "rejected",
                first_error.map_or(file.to_string(), |f| format!("{} {}", f.location(), f.message).trim().to_string()),
            ),
            ChaseWhat::Missing { bases } => {
                ("no return", bases.iter().map(|b| b.as_str()).collect::<Vec<_>>().join(" and "))
            }
        };
        format_line_to!(
            s,
            "| {} | {} | {why} | {} | feedback/{} |",
            md_escape(c.area_name),
            md_escape(c.area_code),
            md_escape(&what),
            md_escape(&super::feedback::file_name(c.area_code))
        );
    }
}

/// Every rejected file and its first error.
fn rejected(s: &mut String, t: &Tables) {
    format_line_to!(s, "\n## Rejected returns\n");
    let rows = digest::rejected(t);
    if rows.is_empty() {
        format_line_to!(s, "None.");
        return;
    }
    format_line_to!(s, "| File | Area | Errors | First error |");
    format_line_to!(s, "|---|---|---:|---|");
    for r in &rows {
        let first =
            r.first_error.map_or(String::new(), |f| format!("{} {}", f.location(), f.message).trim().to_string());
        format_line_to!(
            s,
            "| {} | {} | {} | {} |",
            md_escape(&r.file.source_file),
            md_escape(r.file.area_name.as_deref().unwrap_or("")),
            r.file.error_count,
            md_escape(&first)
        );
    }
}

/// The findings by rule: counts, files and how many areas.
fn by_rule(s: &mut String, t: &Tables) {
    format_line_to!(s, "\n## Findings by rule\n");
    let rows = digest::by_rule(t);
    if rows.is_empty() {
        format_line_to!(s, "No findings: every return read cleanly.");
        return;
    }
    format_line_to!(s, "| Rule | Severity | Findings | Files | Areas |");
    format_line_to!(s, "|---|---|---:|---:|---:|");
    for r in &rows {
        let accepted = if r.accepted { " (accepted)" } else { "" };
        format_line_to!(
            s,
            "| `{}` | {}{accepted} | {} | {} | {} |",
            r.rule.id(),
            r.severity.as_str(),
            r.findings,
            r.files,
            r.areas.len()
        );
    }
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
