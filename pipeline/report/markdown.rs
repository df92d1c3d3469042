//! `report.md`: the national table and what became of every file, for people to read.

use super::escape::Markdown;
use crate::tables::Tables;
use std::fmt::Write;

pub fn markdown(t: &Tables) -> String {
    // About 150 bytes a finding or file, and 2 kB besides: one allocation for most reports.
    let mut s = String::with_capacity(2048 + 150 * (t.findings.len() + t.submissions.len()));
    let _ = writeln!(s, "# Better Care Fund national totals\n");
    if let Some(b) = t.national.first() {
        let _ = writeln!(s, "Baseline year: {} (plan).\n", b.baseline_year);
    }
    let _ = writeln!(
        s,
        "| Year | Basis | Areas | Mandated minimum | Voluntary LA | Voluntary NHS | Voluntary above minimum | Total pooled | vs baseline |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in &t.national {
        let _ = writeln!(
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
    let _ = writeln!(s, "\n## Files\n");
    let _ = writeln!(s, "{} files: {}.\n", t.submissions.len(), t.status_summary());
    let _ = writeln!(s, "| File | Template | Area | Status | Errors | Warnings |");
    let _ = writeln!(s, "|---|---|---|---|---:|---:|");
    for r in &t.submissions {
        let _ = write!(s, "| {} | {} | ", md_escape(&r.source_file), r.template_id.as_deref().unwrap_or(""));
        if let (Some(c), Some(n)) = (&r.area_code, &r.area_name) {
            let _ = write!(s, "{} ({})", md_escape(n), md_escape(c));
        }
        let _ = writeln!(s, " | {} | {} | {} |", r.status, r.error_count, r.warning_count);
    }
    if !t.findings.is_empty() {
        let _ = writeln!(s, "\n## Findings\n");
        let mut current = "";
        for f in &t.findings {
            if f.source_file != current {
                current = &f.source_file;
                let _ = writeln!(s, "\n### {}\n", md_escape(current));
            }
            let _ = write!(s, "- **{}** `{}` ", f.severity.as_str(), f.rule.id());
            match (&f.sheet, &f.cell) {
                (Some(sheet), Some(cell)) => _ = write!(s, "{}!{}: ", md_escape(sheet), md_escape(cell)),
                (Some(sheet), None) => _ = write!(s, "{}: ", md_escape(sheet)),
                _ => {}
            }
            let _ = writeln!(s, "{}", md_escape(&f.message));
        }
    }
    s
}

/// Per year and basis, how many areas `coverage.parquet` has included, rejected and missing.
fn coverage(s: &mut String, t: &Tables) {
    use crate::validate::submissions::CoverStatus;
    let _ = writeln!(s, "\n## Coverage\n");
    let _ = writeln!(s, "| Year | Basis | Included | Rejected | Missing |");
    let _ = writeln!(s, "|---|---|---:|---:|---:|");
    for r in &t.national {
        let n = |status: CoverStatus| {
            t.coverage
                .iter()
                .filter(|c| c.financial_year == r.financial_year && c.basis == r.basis && c.status == status)
                .count()
        };
        let (i, rj, m) = (n(CoverStatus::Included), n(CoverStatus::Rejected), n(CoverStatus::Missing));
        let _ = writeln!(s, "| {} | {} | {i} | {rj} | {m} |", r.financial_year, r.basis);
    }
}

fn md_escape(s: &str) -> Markdown<'_> {
    Markdown(s)
}
