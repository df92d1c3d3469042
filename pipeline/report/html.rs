//! `report.html`: one self-contained page (no scripts, external styles, fonts or images)
//! whose size follows the areas, not the findings. It leads with the publish and whether its
//! totals are national, then the summary that prints on one page — what changed since the last
//! run, the national table, the chart and who to chase — then the rejected files in one compact
//! table, the findings by rule, coverage as one grid of areas × years and the decisions
//! applied. Every finding in full is on its area's page (`areas.rs`) and in `findings.parquet`.
//!
//! Every money cell of the national table carries `data-total="<year>/<basis>/<column>"` with
//! the exact decimal value, so checks can compare the page with `national_totals.parquet`.

use super::digest::{self, Chase, ChaseWhat, Publication};
use super::escape::Html;
use crate::model::{Basis, FinancialYear};
use crate::schema::SchemaSet;
use crate::tables::{ChangeKind, ChangeRow, FindingRow, NationalColumn, NationalRow, Tables};
use crate::validate::submissions::CoverStatus;
use std::collections::{BTreeMap, BTreeSet};

pub(super) fn escape(s: &str) -> Html<'_> {
    Html(s)
}

/// Files and areas named in "Since the last run" before the rest are counted.
const CHANGES_NAMED: usize = 20;
/// Areas named in a row of the findings by rule before the rest are counted.
const AREAS_NAMED: usize = 12;

pub(super) const STYLE: &str = r#"
:root { --ink: #1d2330; --muted: #5b6473; --rule: #d8dde6; --bad: #b3261e; --warn: #8a5a00; --good: #1f7a3a; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; color: var(--ink); margin: 1.5rem auto; max-width: 1200px; padding: 0 1rem; overflow-wrap: anywhere; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; } h2 { font-size: 1.2rem; margin: 1.75rem 0 .5rem; border-bottom: 2px solid var(--rule); padding-bottom: .25rem; }
h3 { font-size: 1rem; margin: 1rem 0 .25rem; }
p.lede { color: var(--muted); margin-top: 0; } p.published { color: var(--muted); margin: 0 0 .5rem; font-size: .9em; }
p.caveat { border-left: 4px solid var(--warn); background: #fdf6e7; padding: .4rem .7rem; margin: .5rem 0; }
nav.contents { font-size: .9em; margin: .5rem 0; } nav.contents a { margin-right: 1rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; font-variant-numeric: tabular-nums; font-size: .9em; table-layout: auto; }
th, td { padding: .3rem .45rem; border-bottom: 1px solid var(--rule); text-align: left; vertical-align: top; overflow-wrap: anywhere; }
th { font-weight: 600; background: #f3f5f9; }
td.num, th.num { text-align: right; white-space: nowrap; } .nw { white-space: nowrap; overflow-wrap: normal; }
table.money { font-size: .85em; } table.narrow { width: auto; }
.status-rejected, .sev-error { color: var(--bad); font-weight: 600; } .sev-warning { color: var(--warn); font-weight: 600; } .accepted { color: var(--good); }
.chart { width: 100%; height: auto; max-height: 360px; }
.legend span { display: inline-block; margin-right: 1.25rem; } .swatch { display: inline-block; width: .9rem; height: .9rem; vertical-align: -2px; margin-right: .3rem; }
table.grid { width: auto; font-size: .8em; } table.grid td, table.grid th { padding: 0 .3rem; line-height: 1.35; }
td.mark, th.mark { text-align: center; min-width: 1.6rem; } td.included { color: var(--good); } td.rejected { color: var(--bad); font-weight: 700; background: #fbeae9; } td.missing { color: var(--muted); }
table.grid th.count { font-weight: 400; color: var(--muted); background: #fff; } table.grid th.label { text-align: right; }
span.code { color: var(--muted); font-size: .85em; }
ul.changes { margin: .25rem 0 .75rem; padding-left: 1.25rem; } ul.changes li { margin: .1rem 0; }
code { font-size: .9em; }
table.compact { table-layout: fixed; font-size: .82em; } table.compact td, table.compact th { padding: .15rem .4rem; }
table.compact td.clip { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
table.findings { table-layout: fixed; font-size: .82em; } table.findings td, table.findings th { padding: .2rem .4rem; }
table.findings col.file { width: 22%; } table.findings col.sev { width: 8rem; } table.findings col.rule { width: 12rem; } table.findings col.where { width: 11%; }
@media print {
  @page { size: A4; margin: 1cm; }
  body { margin: 0; max-width: none; font-size: 9px; line-height: 1.25; }
  h1 { font-size: 14px; } h2 { font-size: 11px; margin: .6rem 0 .2rem; break-after: avoid; }
  table { margin: .2rem 0 .4rem; } th, td { padding: .05rem .3rem; } tr, .area { break-inside: avoid; }
  a { color: inherit; text-decoration: none; } .chart { max-height: 5.5cm; } .legend { margin: 0; }
  .screen-only, nav.contents { display: none; }
  table.compact td.clip { max-width: 0; }
}
"#;

/// The page's head, opening `body`, and the publish line.
pub(super) fn head(s: &mut String, title: &str, publication: &Publication) {
    format_to!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(title)
    );
    format_line_to!(s, "<p class=\"published\" id=\"published\">{}</p>", escape(&publication.to_string()));
}

/// The national page.
pub fn page(t: &Tables, schemas: &SchemaSet, publication: &Publication) -> String {
    let mut s = String::with_capacity(65536);
    head(&mut s, "Better Care Fund national totals", publication);
    let baseline = t.national.first().map(|r| r.baseline_year.to_string()).unwrap_or_default();
    format_line_to!(s, "<h1>Better Care Fund national totals</h1>");
    format_line_to!(
        s,
        "<p class=\"lede\">Money pooled by Health and Wellbeing Boards from accepted returns, exact to the penny; {} files ({}). Voluntary pooling above the mandated minimum is compared with {} (plan).</p>",
        t.submissions.len(),
        escape(&t.status_summary()),
        escape(&baseline)
    );
    if let Some(note) = digest::coverage_note(&t.national) {
        format_line_to!(
            s,
            "<p class=\"caveat\" id=\"coverage-note\"><strong>Coverage:</strong> {}.</p>",
            escape(&capitalised(&note))
        );
    }
    format_line_to!(s, "<nav class=\"contents\"><a href=\"#since\">Since the last run</a><a href=\"#totals\">National totals</a><a href=\"#chart\">Chart</a><a href=\"#chase\">Who to chase</a><a href=\"#rejected\">Rejected returns</a><a href=\"#by-rule\">Findings by rule</a><a href=\"#coverage\">Coverage</a></nav>");
    since(&mut s, t.changes.as_deref());
    totals_table(&mut s, &t.national);
    let bars = super::chart::Bar::national(&t.national);
    super::chart::chart(&mut s, "chart", "Mandated minimum and voluntary pooling above it", &bars, Some(&baseline));
    chase(&mut s, t, schemas);
    format_line_to!(s, "<div class=\"screen-only\">");
    rejected(&mut s, t, schemas);
    by_rule(&mut s, t);
    coverage(&mut s, t);
    decisions(&mut s, t);
    let clean = t.without_findings_summary();
    if !clean.is_empty() {
        format_line_to!(s, "<p>Files without findings: {} (each listed in submissions.parquet).</p>", escape(&clean));
    }
    s.push_str("</div>\n</body>\n</html>\n");
    s
}

/// An area's name linked to its page, with its code.
pub(super) fn area_link(name: &str, code: &str, prefix: &str) -> String {
    format!(
        "<a href=\"{prefix}areas/{}.html\">{}</a> <span class=\"code\">{}</span>",
        super::areas::page_name(code),
        escape(name),
        escape(code)
    )
}

/// The areas with something to do for the collection in progress: rejected (the first error
/// and the feedback file sent), then missing (expected, no return), the list an analyst
/// e-mails from.
fn chase(s: &mut String, t: &Tables, schemas: &SchemaSet) {
    format_line_to!(s, "<h2 id=\"chase\">Who to chase</h2>");
    let Some(year) = digest::current_year(t) else {
        format_line_to!(s, "<p>No returns read.</p>");
        return;
    };
    let rows = digest::chase(t, year);
    let template = digest::template_for(schemas, year).map(|n| format!(" ({})", escape(n))).unwrap_or_default();
    if rows.is_empty() {
        format_line_to!(s, "<p>Nobody: every area expected in {year} has a return that counts.</p>");
        return;
    }
    let (rejected, missing): (Vec<&Chase<'_>>, Vec<&Chase<'_>>) =
        rows.iter().partition(|c| matches!(c.what, ChaseWhat::Rejected { .. }));
    format_line_to!(
        s,
        "<p>For {year}{template}: {} rejected, {} with no return. Each area's feedback file says what to fix.</p>",
        rejected.len(),
        missing.len()
    );
    format_line_to!(s, "<table id=\"chase-table\" class=\"compact\"><colgroup><col style=\"width:24%\"><col style=\"width:8rem\"><col><col style=\"width:9rem\"></colgroup><thead><tr><th>Area</th><th>Why</th><th>First error, or what is missing</th><th>Feedback</th></tr></thead><tbody>");
    for c in &rejected {
        let ChaseWhat::Rejected { file, first_error } = &c.what else { continue };
        let error = first_error.map(first_error_text).unwrap_or_else(|| escape(file).to_string());
        format_line_to!(
            s,
            "<tr class=\"chase-rejected\"><td>{}</td><td class=\"status-rejected\">rejected</td><td class=\"clip\" title=\"{}\">{error}</td><td>{}</td></tr>",
            area_link(c.area_name, c.area_code, ""),
            escape(file),
            feedback_link(c.area_code)
        );
    }
    if !missing.is_empty() {
        let names: Vec<String> = missing.iter().map(|c| missing_name(c)).collect();
        format_line_to!(
            s,
            "<tr class=\"chase-missing\"><td>{} areas</td><td>no return</td><td colspan=\"2\">{}</td></tr>",
            missing.len(),
            names.join(", ")
        );
    }
    format_line_to!(s, "</tbody></table>");
}

/// `Kent (plan)`, linked to its feedback file.
fn missing_name(c: &Chase<'_>) -> String {
    let ChaseWhat::Missing { bases } = &c.what else { return String::new() };
    let bases = if bases.len() == 1 { format!(" ({})", bases[0]) } else { String::new() };
    format!(
        "<a href=\"{}\" data-area=\"{}\">{}</a>{bases}",
        feedback_href(c.area_code),
        escape(c.area_code),
        escape(c.area_name)
    )
}

fn feedback_href(code: &str) -> String {
    format!("feedback/{}", super::feedback::file_name(code))
}

fn feedback_link(code: &str) -> String {
    format!("<a href=\"{}\">{}</a>", feedback_href(code), escape(&super::feedback::file_name(code)))
}

/// `5. Income!C33: "TBC" is not an amount`.
fn first_error_text(f: &FindingRow) -> String {
    match f.location() {
        l if l.is_empty() => escape(&f.message).to_string(),
        l => format!("<code>{}</code>: {}", escape(&l), escape(&f.message)),
    }
}

/// Every rejected file, one line each: area, template, date, errors, the first error.
fn rejected(s: &mut String, t: &Tables, schemas: &SchemaSet) {
    format_line_to!(s, "<h2 id=\"rejected\">Rejected returns</h2>");
    let rows = digest::rejected(t);
    if rows.is_empty() {
        format_line_to!(s, "<p>None.</p>");
        return;
    }
    format_line_to!(s, "<table id=\"rejected-table\" class=\"compact\"><colgroup><col style=\"width:19%\"><col style=\"width:21%\"><col style=\"width:6.5rem\"><col style=\"width:4rem\"><col></colgroup><thead><tr><th>Area (or file)</th><th>Template</th><th>Submitted</th><th class=\"num\">Errors</th><th>First error (every finding is on the area's page)</th></tr></thead><tbody>");
    for r in &rows {
        let f = r.file;
        let area = match (&f.area_name, &f.area_code) {
            (Some(name), Some(code)) => area_link(name, code, ""),
            _ => format!("<span class=\"code\">{}</span>", escape(&f.source_file)),
        };
        let template =
            f.template_id.as_deref().map_or(String::new(), |id| escape(schemas.template_name(id)).to_string());
        let error = r.first_error.map(first_error_text).unwrap_or_default();
        format_line_to!(
            s,
            "<tr><td class=\"clip\">{area}</td><td class=\"clip\">{template}</td><td class=\"nw\">{}</td><td class=\"num\">{}</td><td class=\"clip\" title=\"{}\">{error}</td></tr>",
            f.submission_date.map(|d| d.to_string()).unwrap_or_default(),
            f.error_count,
            escape(&f.source_file)
        );
    }
    format_line_to!(s, "</tbody></table>");
}

/// The findings summarised by rule: how many, in how many files, and the areas concerned.
fn by_rule(s: &mut String, t: &Tables) {
    format_line_to!(s, "<h2 id=\"by-rule\">Findings by rule</h2>");
    let rows = digest::by_rule(t);
    if rows.is_empty() {
        format_line_to!(s, "<p>No findings: every return read cleanly.</p>");
        return;
    }
    format_line_to!(s, "<table id=\"by-rule-table\" class=\"findings\"><colgroup><col class=\"rule\"><col class=\"sev\"><col style=\"width:6rem\"><col style=\"width:5rem\"><col></colgroup><thead><tr><th>Rule</th><th>Severity</th><th class=\"num\">Findings</th><th class=\"num\">Files</th><th>Areas</th></tr></thead><tbody>");
    for r in &rows {
        let severity = if r.accepted {
            format!("<span class=\"accepted\">{} (accepted)</span>", r.severity.as_str())
        } else {
            format!("<span class=\"sev-{0}\">{0}</span>", r.severity.as_str())
        };
        let mut areas: Vec<String> =
            r.areas.iter().take(AREAS_NAMED).map(|(name, code)| area_link(name, code, "")).collect();
        if r.areas.len() > AREAS_NAMED {
            areas.push(format!("and {} more", r.areas.len() - AREAS_NAMED));
        }
        format_line_to!(
            s,
            "<tr><td><code>{}</code></td><td>{severity}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            r.rule.id(),
            r.findings,
            r.files,
            areas.join(", ")
        );
    }
    format_line_to!(s, "</tbody></table>");
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
    format_to!(s, "<table id=\"coverage-grid\" class=\"grid\"><thead><tr><th rowspan=\"2\">Area</th>");
    for y in &years {
        let span = periods.iter().filter(|p| p.0 == *y).count();
        format_to!(s, "<th class=\"mark\" colspan=\"{span}\">{}</th>", y.to_string().split_off(2));
    }
    format_to!(s, "</tr><tr>");
    for (_, basis) in &periods {
        format_to!(s, "<th class=\"mark\" title=\"{basis}\">{}</th>", &basis.as_str()[..1].to_uppercase());
    }
    format_to!(s, "</tr>");
    for (i, label) in ["Areas included ✓", "Rejected ✗", "Missing ·"].iter().enumerate() {
        format_to!(s, "<tr class=\"counts\"><th class=\"count label\" scope=\"row\">{label}</th>");
        for p in &periods {
            let n = counts.get(p).copied().unwrap_or_default()[i];
            format_to!(s, "<th class=\"mark count\">{n}</th>");
        }
        format_to!(s, "</tr>");
    }
    format_line_to!(s, "</thead><tbody>");
    for ((name, code), cells) in &by_area {
        format_to!(s, "<tr><td>{}</td>", area_link(name, code, ""));
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
    format_line_to!(s, "<p class=\"lede\">Columns: financial year (20xx-yy shown as xx-yy), P plan, A actual. ✓ included, ✗ rejected, · missing (no return).</p>");
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
