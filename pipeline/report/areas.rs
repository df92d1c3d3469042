//! `areas/<area_code>.html`: one page per area that an analyst can send it — the publish it
//! belongs to, its figures per year and basis with a chart of them (years without returns as
//! gaps), what covers each, its files and every finding, and the decisions on its files.
//! Self-contained like `report.html`, and linked from it.

use super::chart::{chart, Bar};
use super::digest::Publication;
use super::html::{decisions_table, escape, head};
use crate::tables::{AreaTotalRow, CoverageRow, FindingRow, NationalColumn, SubmissionRow, Tables};
use crate::validate::decisions::DecisionRow;
use std::collections::{BTreeMap, HashMap};

/// The page's file name (without `.html`) for an area code: the code, made safe as a name.
pub fn page_name(code: &str) -> String {
    code.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect()
}

/// One area's rows of each table, gathered in one pass over the tables.
#[derive(Default)]
struct AreaRows<'a> {
    name: &'a str,
    totals: Vec<&'a AreaTotalRow>,
    coverage: Vec<&'a CoverageRow>,
    files: Vec<&'a SubmissionRow>,
    decisions: Vec<&'a DecisionRow>,
}

/// Every area's page: (file name under `areas/`, page). Areas are those of the register and
/// those of any file.
pub fn pages(t: &Tables, publication: &Publication) -> Vec<(String, String)> {
    let mut areas: BTreeMap<&str, AreaRows<'_>> = BTreeMap::new();
    for c in &t.coverage {
        let a = areas.entry(&c.area_code).or_default();
        a.name = &c.area_name;
        a.coverage.push(c);
    }
    let mut area_of_file: HashMap<&str, &str> = HashMap::new();
    for sub in &t.submissions {
        if let (Some(code), Some(name)) = (&sub.area_code, &sub.area_name) {
            let a = areas.entry(code).or_default();
            if a.name.is_empty() {
                a.name = name;
            }
            a.files.push(sub);
            area_of_file.insert(&sub.source_file, code);
        }
    }
    for row in &t.area_totals {
        areas.entry(&row.area_code).or_default().totals.push(row);
    }
    for d in &t.decisions {
        if let Some(code) = d.source_file.as_deref().and_then(|f| area_of_file.get(f)) {
            areas.entry(code).or_default().decisions.push(d);
        }
    }
    let mut by_file: BTreeMap<&str, Vec<&FindingRow>> = BTreeMap::new();
    for f in &t.findings {
        by_file.entry(&f.source_file).or_default().push(f);
    }
    areas
        .into_iter()
        .map(|(code, a)| (format!("{}.html", page_name(code)), page(code, &a, &by_file, publication)))
        .collect()
}

fn page(code: &str, a: &AreaRows<'_>, by_file: &BTreeMap<&str, Vec<&FindingRow>>, publication: &Publication) -> String {
    let mut s = String::with_capacity(8192);
    head(&mut s, &format!("{} ({code}): Better Care Fund", a.name), publication);
    format_line_to!(s, "<p class=\"screen-only\"><a href=\"../report.html\">← National report</a></p>");
    format_line_to!(s, "<h1>{} <span class=\"code\">{}</span></h1>", escape(a.name), escape(code));
    figures(&mut s, &a.totals);
    let bars: Vec<Bar> = a
        .totals
        .iter()
        .map(|r| Bar {
            year: r.financial_year,
            basis: r.basis,
            minimum: r.mandated_minimum,
            voluntary: r.voluntary_la + r.voluntary_nhs,
            ratio: None,
        })
        .collect();
    chart(&mut s, "chart", &format!("{}: mandated minimum and voluntary pooling above it", a.name), &bars, None);
    coverage(&mut s, &a.coverage);
    files(&mut s, &a.files);
    format_line_to!(s, "<h2>Findings</h2>");
    let with: Vec<&SubmissionRow> =
        a.files.iter().copied().filter(|r| by_file.contains_key(r.source_file.as_str())).collect();
    if with.is_empty() {
        format_line_to!(s, "<p>No findings.</p>");
    } else {
        findings_table(&mut s, &with, by_file);
    }
    if !a.decisions.is_empty() {
        format_line_to!(s, "<h2>Decisions</h2>");
        decisions_table(&mut s, &a.decisions);
    }
    s.push_str("</body>\n</html>\n");
    s
}

fn figures(s: &mut String, rows: &[&AreaTotalRow]) {
    format_line_to!(s, "<h2>Figures that count</h2>");
    if rows.is_empty() {
        format_line_to!(s, "<p>None of this area's figures count in this run.</p>");
        return;
    }
    format_to!(s, "<table class=\"money\"><thead><tr><th>Year</th><th class=\"nw\">Basis</th><th>From</th>");
    for c in NationalColumn::ALL {
        format_to!(s, "<th class=\"num\">{}</th>", c.label());
    }
    format_line_to!(s, "</tr></thead><tbody>");
    for a in rows {
        format_to!(
            s,
            "<tr><td class=\"num\">{}</td><td class=\"nw\">{}</td><td>{}</td>",
            a.financial_year,
            a.basis,
            escape(&a.source_file)
        );
        for c in NationalColumn::ALL {
            format_to!(s, "<td class=\"num\">{}</td>", a.of(c).to_gbp());
        }
        format_line_to!(s, "</tr>");
    }
    format_line_to!(s, "</tbody></table>");
}

fn coverage(s: &mut String, rows: &[&CoverageRow]) {
    if rows.is_empty() {
        return;
    }
    format_line_to!(s, "<h2>Coverage</h2><table><thead><tr><th>Year</th><th>Basis</th><th>Status</th><th>File</th><th>Replaced</th></tr></thead><tbody>");
    for c in rows {
        format_line_to!(
            s,
            "<tr><td>{}</td><td>{}</td><td class=\"status-{}\">{}</td><td>{}</td><td>{}</td></tr>",
            c.financial_year,
            c.basis,
            c.status.as_str(),
            c.status.as_str(),
            escape(c.source_file.as_deref().unwrap_or("")),
            escape(&c.replaced_files.join(", "))
        );
    }
    format_line_to!(s, "</tbody></table>");
}

fn files(s: &mut String, subs: &[&SubmissionRow]) {
    format_line_to!(s, "<h2>Files</h2><table><thead><tr><th>File</th><th>Template</th><th>Submitted</th><th>Status</th><th class=\"num\">Errors</th><th class=\"num\">Warnings</th><th class=\"num\">Accepted</th></tr></thead><tbody>");
    for r in subs {
        format_line_to!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"status-{}\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(&r.source_file),
            escape(r.template_id.as_deref().unwrap_or("")),
            r.submission_date.map(|d| d.to_string()).unwrap_or_default(),
            r.status,
            r.status,
            r.error_count,
            r.warning_count,
            r.accepted_count
        );
    }
    format_line_to!(s, "</tbody></table>");
}

/// One table of every finding of `subs`, each file's status on its first row.
fn findings_table(s: &mut String, subs: &[&SubmissionRow], by_file: &BTreeMap<&str, Vec<&FindingRow>>) {
    format_line_to!(s, "<table class=\"findings\"><colgroup><col class=\"file\"><col class=\"sev\"><col class=\"rule\"><col class=\"where\"><col></colgroup><thead><tr><th>File</th><th>Severity</th><th>Rule</th><th>Where</th><th>Finding</th></tr></thead><tbody>");
    for sub in subs {
        let findings = by_file.get(sub.source_file.as_str()).map(Vec::as_slice).unwrap_or_default();
        for (i, f) in findings.iter().enumerate() {
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
                "<tr class=\"finding\"><td>{file}</td><td>{severity}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                f.rule.id(),
                escape(&f.location()),
                escape(&f.message)
            );
        }
    }
    format_line_to!(s, "</tbody></table>");
}
