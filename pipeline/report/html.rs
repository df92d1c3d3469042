//! `report.html`: one self-contained page (no scripts, external styles, fonts or images) that
//! works at national scale. It leads with what changed since the last run, the national table
//! and the chart; then coverage as one compact grid of areas × years, the decisions applied,
//! and the files with findings (files accepted without any are counted, not listed). Each area
//! has its own page under `areas/` (`areas.rs`). Prints cleanly.
//!
//! Every money cell of the national table carries `data-total="<year>/<basis>/<column>"` with
//! the exact decimal value, so checks can compare the page with `national_totals.parquet`.

use super::escape::Html;
use crate::model::{Basis, FinancialYear};
use crate::tables::{ChangeKind, ChangeRow, FindingRow, NationalColumn, NationalRow, SubmissionRow, Tables};
use crate::validate::submissions::CoverStatus;
use std::collections::{BTreeMap, BTreeSet};

pub(super) fn escape(s: &str) -> Html<'_> {
    Html(s)
}

/// Findings of one file shown on the national page; the rest are on the area's page.
const FINDINGS_SHOWN_PER_FILE: usize = 5;
/// Files and areas named in "Since the last run" before the rest are counted.
const CHANGES_NAMED: usize = 20;

pub(super) const STYLE: &str = r#"
:root { --ink: #1d2330; --muted: #5b6473; --rule: #d8dde6; --bad: #b3261e; --warn: #8a5a00; --good: #1f7a3a; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; color: var(--ink); margin: 1.5rem auto; max-width: 1200px; padding: 0 1rem; overflow-wrap: anywhere; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; } h2 { font-size: 1.2rem; margin: 1.75rem 0 .5rem; border-bottom: 2px solid var(--rule); padding-bottom: .25rem; }
h3 { font-size: 1rem; margin: 1rem 0 .25rem; }
p.lede { color: var(--muted); margin-top: 0; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; font-variant-numeric: tabular-nums; font-size: .9em; table-layout: auto; }
th, td { padding: .3rem .45rem; border-bottom: 1px solid var(--rule); text-align: left; vertical-align: top; overflow-wrap: anywhere; }
th { font-weight: 600; background: #f3f5f9; }
td.num, th.num { text-align: right; white-space: nowrap; } .nw { white-space: nowrap; overflow-wrap: normal; }
table.money { font-size: .85em; } table.narrow { width: auto; }
.status-rejected, .sev-error { color: var(--bad); font-weight: 600; } .sev-warning { color: var(--warn); font-weight: 600; } .accepted { color: var(--good); }
.chart { width: 100%; height: auto; }
.legend span { display: inline-block; margin-right: 1.25rem; } .swatch { display: inline-block; width: .9rem; height: .9rem; vertical-align: -2px; margin-right: .3rem; }
table.grid { width: auto; font-size: .8em; } table.grid td, table.grid th { padding: 0 .3rem; line-height: 1.35; }
td.mark, th.mark { text-align: center; min-width: 1.6rem; } td.included { color: var(--good); } td.rejected { color: var(--bad); font-weight: 700; background: #fbeae9; } td.missing { color: var(--muted); }
span.code { color: var(--muted); font-size: .85em; }
ul.changes { margin: .25rem 0 .75rem; padding-left: 1.25rem; } ul.changes li { margin: .1rem 0; }
code { font-size: .9em; }
table.findings { table-layout: fixed; font-size: .82em; } table.findings td, table.findings th { padding: .2rem .4rem; }
table.findings col.file { width: 22%; } table.findings col.sev { width: 8rem; } table.findings col.rule { width: 12rem; } table.findings col.where { width: 11%; }
@media print { body { margin: 0; max-width: none; font-size: 10px; } h2 { break-after: avoid; } tr, .area { break-inside: avoid; } a { color: inherit; text-decoration: none; } .chart { max-height: 9cm; } }
"#;

/// The page's head and opening `body`.
pub(super) fn head(s: &mut String, title: &str) {
    format_to!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(title)
    );
}

/// The national page.
pub fn page(t: &Tables) -> String {
    let mut s = String::with_capacity(16384 + 200 * (t.findings.len() + t.coverage.len()));
    head(&mut s, "Better Care Fund national totals");
    let baseline = t.national.first().map(|r| r.baseline_year.to_string()).unwrap_or_default();
    format_line_to!(s, "<h1>Better Care Fund national totals</h1>");
    format_line_to!(
        s,
        "<p class=\"lede\">Money pooled by Health and Wellbeing Boards from accepted returns, exact to the penny; {} files ({}). Voluntary pooling above the mandated minimum is compared with {} (plan).</p>",
        t.submissions.len(),
        escape(&t.status_summary()),
        escape(&baseline)
    );
    since(&mut s, t.changes.as_deref());
    totals_table(&mut s, &t.national);
    super::chart::chart(&mut s, &t.national);
    coverage(&mut s, t);
    decisions(&mut s, t);
    files_with_findings(&mut s, t);
    s.push_str("</body>\n</html>\n");
    s
}

fn since(s: &mut String, changes: Option<&[ChangeRow]>) {
    format_line_to!(s, "<h2 id=\"since\">Since the last run</h2>");
    let rows = match changes {
        None => {
            format_line_to!(s, "<p>Nothing to compare with: this is the first publish in this output folder.</p>");
            return;
        }
        Some([]) => {
            format_line_to!(s, "<p>No changes since the last publish.</p>");
            return;
        }
        Some(rows) => rows,
    };
    let headline = crate::aggregate::changes::headline(Some(rows));
    format_line_to!(s, "<p>{}.</p>", escape(&capitalised(headline.trim_start_matches("since the last publish: "))));
    let shown = [NationalColumn::MandatedMinimum, NationalColumn::VoluntaryAboveMinimum, NationalColumn::TotalPooled];
    let money: Vec<&ChangeRow> = rows
        .iter()
        .filter(|r| r.kind == ChangeKind::TotalChanged && r.measure.is_some_and(|m| shown.contains(&m)))
        .collect();
    change_list(s, "National figures", &money, "changes.parquet also has the LA and NHS split");
    let of = |kinds: &[ChangeKind]| rows.iter().filter(|r| kinds.contains(&r.kind)).collect::<Vec<_>>();
    change_list(s, "Files", &of(&ChangeKind::FILES), "");
    change_list(s, "Areas", &of(&ChangeKind::AREAS), "");
}

/// `files 2 new` → `Files 2 new`.
pub(super) fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

fn change_list(s: &mut String, title: &str, rows: &[&ChangeRow], note: &str) {
    if rows.is_empty() {
        return;
    }
    format_line_to!(s, "<h3>{title}</h3><ul class=\"changes\">");
    for r in rows.iter().take(CHANGES_NAMED) {
        format_line_to!(s, "<li>{}</li>", escape(&r.description));
    }
    let more = rows.len().saturating_sub(CHANGES_NAMED);
    if more > 0 {
        format_line_to!(s, "<li>and {more} more (all in changes.parquet)</li>");
    }
    format_line_to!(s, "</ul>");
    if !note.is_empty() {
        format_line_to!(s, "<p class=\"lede\">{note}.</p>");
    }
}

fn money_cell(s: &mut String, r: &NationalRow, column: NationalColumn) {
    let p = column.of(r);
    format_to!(
        s,
        "<td class=\"num\" data-total=\"{}/{}/{}\" data-value=\"{p}\">{}</td>",
        r.financial_year,
        r.basis,
        column.name(),
        p.to_gbp()
    );
}

fn totals_table(s: &mut String, rows: &[NationalRow]) {
    format_line_to!(s, "<h2 id=\"totals\">National totals</h2>");
    format_line_to!(s, "<table id=\"national-totals\" class=\"money\"><thead><tr><th>Year</th><th class=\"nw\">Basis</th><th class=\"num\">Areas</th><th class=\"num\">Mandated minimum</th><th class=\"num\">Voluntary (LA)</th><th class=\"num\">Voluntary (NHS)</th><th class=\"num\">Voluntary above minimum</th><th class=\"num\">Total pooled</th><th class=\"num\">vs baseline</th></tr></thead><tbody>");
    for r in rows {
        format_to!(s, "<tr><td class=\"num\">{}</td><td class=\"nw\">{}</td>", r.financial_year, r.basis);
        format_to!(s, "<td class=\"num\">{} of {}</td>", r.areas_included, r.areas_expected);
        for column in NationalColumn::ALL {
            money_cell(s, r, column);
        }
        let ratio = r.voluntary_vs_baseline_ratio.map_or("–".to_string(), |x| format!("{x:.2}×"));
        format_line_to!(s, "<td class=\"num\">{ratio}</td></tr>");
    }
    format_line_to!(s, "</tbody></table>");
}

type Period = (FinancialYear, Basis);

/// The submission register at a glance: per year and basis how many areas are included,
/// rejected and missing; then one row per area, one column per year and basis, each cell
/// included (✓), rejected (✗) or missing (·). All from `coverage.parquet`'s rows.
fn coverage(s: &mut String, t: &Tables) {
    format_line_to!(s, "<h2 id=\"coverage\">Coverage</h2>");
    let periods: Vec<Period> = t.national.iter().map(|r| (r.financial_year, r.basis)).collect();
    let mut by_area: BTreeMap<(&str, &str), BTreeMap<Period, CoverStatus>> = BTreeMap::new();
    let mut counts: BTreeMap<Period, [usize; 3]> = BTreeMap::new();
    for c in &t.coverage {
        by_area.entry((&c.area_name, &c.area_code)).or_default().insert((c.financial_year, c.basis), c.status);
        counts.entry((c.financial_year, c.basis)).or_default()[c.status as usize] += 1;
    }
    let years: BTreeSet<FinancialYear> = periods.iter().map(|p| p.0).collect();
    format_to!(s, "<table id=\"coverage-grid\" class=\"grid\"><thead><tr><th rowspan=\"3\">Area</th>");
    for y in &years {
        let span = periods.iter().filter(|p| p.0 == *y).count();
        format_to!(s, "<th class=\"mark\" colspan=\"{span}\">{}</th>", y.to_string().split_off(2));
    }
    format_to!(s, "</tr><tr>");
    for (_, basis) in &periods {
        format_to!(s, "<th class=\"mark\" title=\"{basis}\">{}</th>", &basis.as_str()[..1].to_uppercase());
    }
    format_to!(s, "</tr><tr>");
    for p in &periods {
        let [i, r, m] = counts.get(p).copied().unwrap_or_default();
        format_to!(s, "<th class=\"mark\" title=\"included / rejected / missing\">{i}<br>{r}<br>{m}</th>");
    }
    format_line_to!(s, "</tr></thead><tbody>");
    for ((name, code), cells) in &by_area {
        format_to!(
            s,
            "<tr><td><a href=\"areas/{}.html\">{}</a> <span class=\"code\">{}</span></td>",
            super::areas::page_name(code),
            escape(name),
            escape(code)
        );
        for p in &periods {
            let (mark, class) = match cells.get(p) {
                Some(CoverStatus::Included) => ("✓", "included"),
                Some(CoverStatus::Rejected) => ("✗", "rejected"),
                Some(CoverStatus::Missing) => ("·", "missing"),
                None => ("", "none"),
            };
            format_to!(s, "<td class=\"mark {class}\">{mark}</td>");
        }
        format_line_to!(s, "</tr>");
    }
    format_line_to!(s, "</tbody></table>");
    format_line_to!(s, "<p class=\"lede\">Columns: financial year (20xx-yy shown as xx-yy), P plan, A actual; the header's three figures are the areas included, rejected and missing. ✓ included, ✗ rejected, · missing.</p>");
}

/// Every decision of the run, with its reason and what it did.
fn decisions(s: &mut String, t: &Tables) {
    if t.decisions.is_empty() {
        return;
    }
    format_line_to!(s, "<h2 id=\"decisions\">Decisions applied</h2>");
    decisions_table(s, &t.decisions.iter().collect::<Vec<_>>());
}

pub(super) fn decisions_table(s: &mut String, rows: &[&crate::validate::decisions::DecisionRow]) {
    format_line_to!(s, "<table class=\"decisions-table\"><thead><tr><th>File</th><th>Rule</th><th>Where</th><th>Reason</th><th>By</th><th>Date</th><th>Outcome</th></tr></thead><tbody>");
    for r in rows {
        let d = &r.decision;
        let file = r.file();
        format_line_to!(
            s,
            "<tr class=\"outcome-{}\"><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            r.outcome.as_str(),
            escape(&file),
            d.rule.id(),
            escape(d.cell.as_deref().unwrap_or("")),
            escape(&d.acceptance.reason),
            escape(&d.acceptance.by),
            d.acceptance.date,
            escape(&r.said())
        );
    }
    format_line_to!(s, "</tbody></table>");
}

/// The files with findings, by area, each with its first findings; then how many files had
/// none, by status.
fn files_with_findings(s: &mut String, t: &Tables) {
    format_line_to!(s, "<h2 id=\"findings\">Files with findings</h2>");
    let mut by_file: BTreeMap<&str, Vec<&FindingRow>> = BTreeMap::new();
    for f in &t.findings {
        by_file.entry(&f.source_file).or_default().push(f);
    }
    let mut by_area: BTreeMap<(String, &str), Vec<&SubmissionRow>> = BTreeMap::new();
    for sub in t.submissions.iter().filter(|r| by_file.contains_key(r.source_file.as_str())) {
        let name = sub.area_name.clone().unwrap_or_else(|| "Files whose area is not known".into());
        by_area.entry((name, sub.area_code.as_deref().unwrap_or(""))).or_default().push(sub);
    }
    if by_area.is_empty() {
        format_line_to!(s, "<p>No findings: every return read cleanly.</p>");
    }
    for ((name, code), subs) in &by_area {
        let title = if code.is_empty() {
            escape(name).to_string()
        } else {
            format!(
                "<a href=\"areas/{}.html\">{}</a> <span class=\"code\">{}</span>",
                super::areas::page_name(code),
                escape(name),
                escape(code)
            )
        };
        format_line_to!(s, "<div class=\"area\"><h3>{title}</h3>");
        findings_table(s, subs, &by_file, Some(FINDINGS_SHOWN_PER_FILE));
        format_line_to!(s, "</div>");
    }
    let clean = t.without_findings_summary();
    if !clean.is_empty() {
        format_line_to!(s, "<p>Files without findings: {} (each listed in submissions.parquet).</p>", escape(&clean));
    }
}

/// One table of the findings of `subs`, each file's status on its first row; at most `cap`
/// findings a file.
pub(super) fn findings_table(
    s: &mut String,
    subs: &[&SubmissionRow],
    by_file: &BTreeMap<&str, Vec<&FindingRow>>,
    cap: Option<usize>,
) {
    format_line_to!(s, "<table class=\"findings\"><colgroup><col class=\"file\"><col class=\"sev\"><col class=\"rule\"><col class=\"where\"><col></colgroup><thead><tr><th>File</th><th>Severity</th><th>Rule</th><th>Where</th><th>Finding</th></tr></thead><tbody>");
    for sub in subs {
        let findings = by_file.get(sub.source_file.as_str()).map(Vec::as_slice).unwrap_or_default();
        let shown = cap.unwrap_or(usize::MAX).min(findings.len());
        for (i, f) in findings[..shown].iter().enumerate() {
            let file = if i == 0 {
                format!("{} <span class=\"status-{}\">({})</span>", escape(&sub.source_file), sub.status, sub.status)
            } else {
                String::new()
            };
            let severity = match &f.accepted {
                Some(a) => format!(
                    "<span class=\"accepted\" title=\"{}\">{} (accepted)</span>",
                    escape(&a.reason),
                    f.severity.as_str()
                ),
                None => format!("<span class=\"sev-{0}\">{0}</span>", f.severity.as_str()),
            };
            format_line_to!(
                s,
                "<tr><td>{file}</td><td>{severity}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                f.rule.id(),
                escape(&f.location()),
                escape(&f.message)
            );
        }
        if findings.len() > shown {
            format_line_to!(s, "<tr><td></td><td colspan=\"4\">and {} more findings on the area's page and in findings.parquet</td></tr>", findings.len() - shown);
        }
    }
    format_line_to!(s, "</tbody></table>");
}
