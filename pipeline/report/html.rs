//! `report.html`: one self-contained page (no external scripts, styles, fonts or images) for
//! the national team — totals, a chart, coverage and every finding by area. Prints cleanly.
//!
//! Every money cell carries `data-total="<year>/<basis>/<column>"` with the exact decimal
//! value, so checks can compare the page with `national_totals.parquet`.

use super::escape::Html;
use crate::model::{Basis, FinancialYear, Pence};
use crate::tables::{NationalColumn, NationalRow, Tables};
use crate::validate::submissions::CoverStatus;
use std::collections::BTreeMap;
use std::fmt::Write;

fn escape(s: &str) -> Html<'_> {
    Html(s)
}

const STYLE: &str = r#"
:root { --ink: #1d2330; --muted: #5b6473; --rule: #d8dde6; --min: #3b6ea8; --vol: #e08a2e; --bad: #b3261e; --warn: #8a5a00; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; color: var(--ink); margin: 2rem auto; max-width: 1180px; padding: 0 1.25rem; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; } h2 { font-size: 1.2rem; margin: 2rem 0 .5rem; border-bottom: 2px solid var(--rule); padding-bottom: .25rem; }
h3 { font-size: 1rem; margin: 1.25rem 0 .25rem; }
p.lede { color: var(--muted); margin-top: 0; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; font-variant-numeric: tabular-nums; font-size: .93em; }
#national-totals td:first-child { white-space: nowrap; }
th, td { padding: .35rem .5rem; border-bottom: 1px solid var(--rule); text-align: left; vertical-align: top; overflow-wrap: anywhere; }
th { font-weight: 600; background: #f3f5f9; }
td.num, th.num { text-align: right; white-space: nowrap; }
.status-rejected { color: var(--bad); font-weight: 600; } .sev-error { color: var(--bad); font-weight: 600; } .sev-warning { color: var(--warn); font-weight: 600; }
.chart { width: 100%; max-width: 900px; height: auto; }
.legend span { display: inline-block; margin-right: 1.25rem; } .swatch { display: inline-block; width: .9rem; height: .9rem; vertical-align: -2px; margin-right: .3rem; }
table.grid { width: auto; font-size: .85em; } table.grid td, table.grid th { padding: .1rem .45rem; }
td.mark, th.mark { text-align: center; } td.included { color: #1f7a3a; } td.rejected { color: var(--bad); font-weight: 700; } td.missing { color: var(--muted); }
span.code { color: var(--muted); font-size: .85em; }
code { font-size: .9em; }
@media print { body { margin: 0; max-width: none; font-size: 11px; } h2 { break-after: avoid; } tr, .area { break-inside: avoid; } a { color: inherit; text-decoration: none; } }
"#;

/// The report page.
pub fn page(t: &Tables) -> String {
    // About 250 bytes a finding or file, and 8 kB besides: one allocation for most pages.
    let mut s = String::with_capacity(8192 + 256 * (t.findings.len() + t.submissions.len()));
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Better Care Fund national totals</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
    );
    let baseline = t.national.first().map(|r| r.baseline_year.to_string()).unwrap_or_default();
    let _ = writeln!(s, "<h1>Better Care Fund national totals</h1>");
    let _ = writeln!(
        s,
        "<p class=\"lede\">Money pooled by Health and Wellbeing Boards from accepted returns, exact to the penny. Voluntary pooling above the mandated minimum is compared with {} (plan).</p>",
        escape(&baseline)
    );
    totals_table(&mut s, &t.national);
    chart(&mut s, &t.national);
    coverage(&mut s, t);
    files(&mut s, t);
    findings(&mut s, t);
    s.push_str("</body>\n</html>\n");
    s
}

fn money_cell(s: &mut String, r: &NationalRow, column: NationalColumn) {
    let p = column.of(r);
    let _ = write!(
        s,
        "<td class=\"num\" data-total=\"{}/{}/{}\" data-value=\"{p}\">{}</td>",
        r.financial_year,
        r.basis,
        column.name(),
        p.to_gbp()
    );
}

fn totals_table(s: &mut String, rows: &[NationalRow]) {
    let _ = writeln!(s, "<h2 id=\"totals\">National totals</h2>");
    let _ = writeln!(s, "<table id=\"national-totals\"><thead><tr><th>Year</th><th>Basis</th><th class=\"num\">Areas</th><th class=\"num\">Mandated minimum</th><th class=\"num\">Voluntary (LA)</th><th class=\"num\">Voluntary (NHS)</th><th class=\"num\">Voluntary above minimum</th><th class=\"num\">Total pooled</th><th class=\"num\">vs baseline</th></tr></thead><tbody>");
    for r in rows {
        let _ = write!(s, "<tr><td>{}</td><td>{}</td>", r.financial_year, r.basis);
        let _ = write!(s, "<td class=\"num\">{} of {}</td>", r.areas_included, r.areas_expected);
        for column in NationalColumn::ALL {
            money_cell(s, r, column);
        }
        let ratio = r.voluntary_vs_baseline_ratio.map_or("–".to_string(), |x| format!("{x:.2}×"));
        let _ = writeln!(s, "<td class=\"num\">{ratio}</td></tr>");
    }
    let _ = writeln!(s, "</tbody></table>");
}

/// Stacked bars per year and basis: the mandated minimum, and the voluntary pooling above it.
fn chart(s: &mut String, rows: &[NationalRow]) {
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(s, "<h2 id=\"chart\">Mandated minimum and voluntary pooling above it</h2>");
    let (w, h, left, bottom, top) = (900.0_f64, 360.0_f64, 90.0_f64, 50.0_f64, 30.0_f64);
    let max = rows.iter().map(|r| r.total_pooled.0).max().unwrap_or(1).max(1) as f64;
    let step = (w - left - 20.0) / rows.len() as f64;
    let bar = (step * 0.6).min(80.0);
    let scale = |p: i128| (p as f64 / max) * (h - top - bottom);
    let _ = writeln!(
        s,
        "<svg class=\"chart\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"Mandated minimum and voluntary pooling by year\" xmlns=\"http://www.w3.org/2000/svg\">"
    );
    // Axis with four gridlines, labelled in £m.
    for i in 0..=4 {
        let y = h - bottom - (h - top - bottom) * i as f64 / 4.0;
        let label = Pence((max / 4.0 * i as f64) as i128).0 / 100 / 1_000_000;
        let _ = writeln!(s, "<line x1=\"{left}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#d8dde6\"/><text x=\"{}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"end\" fill=\"#5b6473\">£{label}m</text>", w - 10.0, left - 8.0, y + 4.0);
    }
    for (i, r) in rows.iter().enumerate() {
        let x = left + step * i as f64 + (step - bar) / 2.0;
        let hm = scale(r.mandated_minimum.0);
        let hv = scale(r.voluntary_above_minimum.0);
        let base = h - bottom;
        let _ = writeln!(
            s,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{hm:.1}\" fill=\"#3b6ea8\"><title>{} {} mandated minimum {}</title></rect>",
            base - hm,
            r.financial_year,
            r.basis,
            r.mandated_minimum.to_gbp()
        );
        let _ = writeln!(
            s,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{hv:.1}\" fill=\"#e08a2e\"><title>{} {} voluntary above minimum {}</title></rect>",
            base - hm - hv,
            r.financial_year,
            r.basis,
            r.voluntary_above_minimum.to_gbp()
        );
        let ratio = r.voluntary_vs_baseline_ratio.map_or(String::new(), |x| format!("{x:.2}×"));
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"middle\" fill=\"#1d2330\">{ratio}</text>",
            x + bar / 2.0,
            base - hm - hv - 6.0
        );
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"middle\" fill=\"#1d2330\">{}</text><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#5b6473\">{}</text>",
            x + bar / 2.0,
            base + 18.0,
            r.financial_year,
            x + bar / 2.0,
            base + 33.0,
            r.basis
        );
    }
    let _ = writeln!(s, "</svg>");
    let baseline = rows.first().map(|r| r.baseline_year.to_string()).unwrap_or_default();
    let _ = writeln!(
        s,
        "<p class=\"legend\"><span><i class=\"swatch\" style=\"background:#3b6ea8\"></i>Mandated minimum</span><span><i class=\"swatch\" style=\"background:#e08a2e\"></i>Voluntary above the minimum</span><span>Labels: voluntary pooling as a multiple of {} (plan)</span></p>",
        escape(&baseline)
    );
}

type Period = (FinancialYear, Basis);

/// The submission register at a glance: one row per area, one column per year and basis,
/// each cell included (✓), rejected (✗) or missing (·), all from `coverage.parquet`'s rows.
fn coverage(s: &mut String, t: &Tables) {
    let _ = writeln!(s, "<h2 id=\"coverage\">Coverage</h2>");
    let periods: Vec<Period> = t.national.iter().map(|r| (r.financial_year, r.basis)).collect();
    let mut by_area: BTreeMap<(&str, &str), BTreeMap<Period, CoverStatus>> = BTreeMap::new();
    for c in &t.coverage {
        by_area.entry((&c.area_name, &c.area_code)).or_default().insert((c.financial_year, c.basis), c.status);
    }
    let count = |p: &Period, status: CoverStatus| {
        t.coverage.iter().filter(|c| (c.financial_year, c.basis) == *p && c.status == status).count()
    };
    let _ = write!(s, "<table id=\"coverage-grid\" class=\"grid\"><thead><tr><th>Area</th>");
    for (year, basis) in &periods {
        let _ = write!(s, "<th class=\"mark\">{year}<br>{basis}</th>");
    }
    let _ = write!(s, "</tr><tr><th>included / rejected / missing</th>");
    for p in &periods {
        let (i, r, m) =
            (count(p, CoverStatus::Included), count(p, CoverStatus::Rejected), count(p, CoverStatus::Missing));
        let _ = write!(s, "<th class=\"mark\">{i} / {r} / {m}</th>");
    }
    let _ = writeln!(s, "</tr></thead><tbody>");
    for ((name, code), cells) in &by_area {
        let _ = write!(s, "<tr><td>{} <span class=\"code\">{}</span></td>", escape(name), escape(code));
        for p in &periods {
            let (mark, class) = match cells.get(p) {
                Some(CoverStatus::Included) => ("✓", "included"),
                Some(CoverStatus::Rejected) => ("✗", "rejected"),
                Some(CoverStatus::Missing) => ("·", "missing"),
                None => ("", "none"),
            };
            let _ = write!(s, "<td class=\"mark {class}\">{mark}</td>");
        }
        let _ = writeln!(s, "</tr>");
    }
    let _ = writeln!(s, "</tbody></table>");
}

fn files(s: &mut String, t: &Tables) {
    let _ = writeln!(s, "<h2 id=\"files\">Files</h2><table><thead><tr><th>File</th><th>Template</th><th>Area</th><th>Status</th><th class=\"num\">Errors</th><th class=\"num\">Warnings</th></tr></thead><tbody>");
    for r in &t.submissions {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>",
            escape(&r.source_file),
            escape(r.template_id.as_deref().unwrap_or(""))
        );
        if let (Some(n), Some(c)) = (&r.area_name, &r.area_code) {
            let _ = write!(s, "{} ({})", escape(n), escape(c));
        }
        let _ = writeln!(
            s,
            "</td><td class=\"status-{}\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            r.status, r.status, r.error_count, r.warning_count
        );
    }
    let _ = writeln!(s, "</tbody></table>");
}

fn findings(s: &mut String, t: &Tables) {
    let _ = writeln!(s, "<h2 id=\"findings\">Findings by area</h2>");
    if t.findings.is_empty() {
        let _ = writeln!(s, "<p>No findings: every return read cleanly.</p>");
        return;
    }
    let area_of: BTreeMap<&str, String> = t
        .submissions
        .iter()
        .map(|r| {
            let name = match (&r.area_name, &r.area_code) {
                (Some(n), Some(c)) => format!("{n} ({c})"),
                _ => "Unmatched files".to_string(),
            };
            (r.source_file.as_str(), name)
        })
        .collect();
    let mut by_area: BTreeMap<&str, Vec<&crate::tables::FindingRow>> = BTreeMap::new();
    for f in &t.findings {
        by_area
            .entry(area_of.get(f.source_file.as_str()).map_or("Unmatched files", |s| s.as_str()))
            .or_default()
            .push(f);
    }
    for (area, fs) in by_area {
        let _ = writeln!(s, "<div class=\"area\"><h3>{}</h3><table><thead><tr><th>File</th><th>Severity</th><th>Rule</th><th>Where</th><th>Finding</th></tr></thead><tbody>", escape(area));
        for f in fs {
            let loc = f.location();
            let _ = writeln!(
                s,
                "<tr><td>{}</td><td class=\"sev-{}\">{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                escape(&f.source_file),
                f.severity.as_str(),
                f.severity.as_str(),
                f.rule.id(),
                escape(&loc),
                escape(&f.message)
            );
        }
        let _ = writeln!(s, "</tbody></table></div>");
    }
}
