//! `bcf explain`: where a number came from. For an area and year: which file supplied each
//! basis and why (catalogue §6.1), every line with its sheet and cell, and what it adds to each
//! national total. For a national total: the areas that make it up, largest first. Reads what
//! the last validation persisted under `OUT/.bcf/`.

use crate::model::{Basis, FinancialYear, Pence, Status};
use crate::reference::Areas;
use crate::schema::{SchemaSet, TotalCategory};
use crate::tables::{CoverageRow, LineRow, NationalColumn, SubmissionRow, Tables};
use crate::validate::submissions::CoverStatus;
use std::collections::BTreeMap;

fn share(part: Pence, whole: Pence) -> String {
    if whole.0 == 0 {
        "–".into()
    } else {
        format!("{:.1}%", part.0 as f64 * 100.0 / whole.0 as f64)
    }
}

fn category_name(c: Option<TotalCategory>) -> &'static str {
    match c {
        Some(TotalCategory::Mandatory) => "mandated minimum",
        Some(TotalCategory::VoluntaryLa) => "voluntary, local authority",
        Some(TotalCategory::VoluntaryNhs) => "voluntary, NHS",
        None => "unclassified",
    }
}

/// How one area's figures for one year were derived.
pub fn area(t: &Tables, schemas: &SchemaSet, areas: &Areas, code: &str, year: FinancialYear) -> Result<String, String> {
    let area = areas.by_code(code).ok_or_else(|| format!("{code} is not an area code in areas.csv"))?;
    let mut s = String::new();
    format_line_to!(s, "{} ({}), {}", area.name, area.code, year);
    let covers: Vec<&CoverageRow> =
        t.coverage.iter().filter(|c| c.area_code == code && c.financial_year == year).collect();
    if covers.is_empty() {
        format_line_to!(s, "  no return in the run covers {year}");
    }
    for c in &covers {
        why_supplied(&mut s, t, schemas, c);
    }
    let lines: Vec<&LineRow> = t.lines.iter().filter(|l| *l.area_code == *code && l.financial_year == year).collect();
    if lines.is_empty() {
        format_line_to!(s, "  contributes nothing to the national totals for {year}");
        return Ok(s);
    }
    for basis in Basis::ALL {
        let ls: Vec<&LineRow> = lines.iter().copied().filter(|l| l.basis == basis).collect();
        if !ls.is_empty() {
            basis_lines(&mut s, t, schemas, year, basis, &ls);
        }
    }
    Ok(s)
}

fn submission<'a>(t: &'a Tables, file: &str) -> Option<&'a SubmissionRow> {
    t.submissions.iter().find(|s| s.source_file == file)
}

/// Which file supplies one basis of the year, and what became of the area's other files.
fn why_supplied(s: &mut String, t: &Tables, schemas: &SchemaSet, c: &CoverageRow) {
    let file = c.source_file.as_deref().unwrap_or("-");
    let when = c.submission_date.map(|d| format!(", submitted {d}")).unwrap_or_default();
    let template = c.template_id.as_deref().unwrap_or("?");
    match c.status {
        CoverStatus::Included => {
            format_line_to!(s, "  {} {}: supplied by {file} ({template}{when})", c.financial_year, c.basis);
            let why = if c.replaced_files.is_empty() {
                "the only accepted submission covering it"
            } else {
                "the latest accepted submission covering it (catalogue §6.1: the later submission date; on the same date, the template later in the catalogue)"
            };
            format_line_to!(s, "    why: {why}");
        }
        CoverStatus::Rejected => {
            format_line_to!(
                s,
                "  {} {}: nothing counts: {file} ({template}{when}) was rejected",
                c.financial_year,
                c.basis
            );
            for f in t
                .findings
                .iter()
                .filter(|f| f.source_file == file && f.severity == crate::model::Severity::Error)
                .take(5)
            {
                let at = f.location();
                format_line_to!(
                    s,
                    "    {}: {}{}",
                    f.rule.id(),
                    if at.is_empty() { String::new() } else { format!("{at}: ") },
                    f.message
                );
            }
        }
        CoverStatus::Missing => {
            format_line_to!(s, "  {} {}: missing (no submission in the run)", c.financial_year, c.basis);
        }
    }
    for other in &c.replaced_files {
        let how = match submission(t, other) {
            Some(r) if r.status == Status::Superseded => "superseded by a later submission of the same template",
            _ => "overlapped: another submission supplies this year and basis",
        };
        format_line_to!(s, "    not used: {other} ({how}); {}", decided_by(t, schemas, c, other));
    }
}

/// Which rule of §6.1 put the supplier before `other`: its later date, or on the same date
/// its template's later place in the catalogue.
fn decided_by(t: &Tables, schemas: &SchemaSet, c: &CoverageRow, other: &str) -> String {
    let theirs = submission(t, other);
    let order = |id: Option<&str>| id.and_then(|id| schemas.template(id)).map(|t| t.catalogue_order);
    let (mine_template, their_template) = (c.template_id.as_deref(), theirs.and_then(|r| r.template_id.as_deref()));
    match (c.submission_date, theirs.and_then(|r| r.submission_date)) {
        (Some(a), Some(b)) if a > b => format!("decided by date: the supplier was submitted {a}, this {b}"),
        (Some(a), Some(b)) if a == b && order(mine_template) > order(their_template) => format!(
            "decided by the catalogue: both submitted {a}, and {} comes after {} in the catalogue",
            mine_template.unwrap_or("?"),
            their_template.unwrap_or("?")
        ),
        (Some(a), Some(b)) if a == b => format!("both submitted {a}: the later file in the input decided"),
        _ => "decided by a decision or the supplier's date (this file's date could not be read)".to_string(),
    }
}

fn basis_lines(s: &mut String, t: &Tables, schemas: &SchemaSet, year: FinancialYear, basis: Basis, ls: &[&LineRow]) {
    format_line_to!(s, "\n{basis}");
    let mut by_source: BTreeMap<&str, Vec<&LineRow>> = BTreeMap::new();
    for l in ls {
        by_source.entry(&l.funding_source).or_default().push(l);
    }
    for (source, sl) in by_source {
        format_line_to!(s, "  {source} ({})", category_name(schemas.funding_sources.get(source).copied()));
        for l in &sl {
            let at = format!("{}!{}", l.sheet, l.cell);
            let who = l.contributor.as_deref().unwrap_or("(no name)");
            format_line_to!(s, "    {at:<24} {who:<44} {:>20}", l.amount.to_gbp());
        }
        let sub = Pence::sum(sl.iter().map(|l| &l.amount));
        format_line_to!(s, "    {:<24} {:<44} {:>20}", "", "subtotal", sub.to_gbp());
    }
    let national = t.national_row(year, basis);
    format_line_to!(s, "  contributes:");
    for column in NationalColumn::ALL {
        let counted = ls.iter().filter(|l| column.counts(schemas.funding_sources.get(&*l.funding_source).copied()));
        let part = Pence::sum(counted.map(|l| &l.amount));
        let whole = national.map(|r| column.of(r)).unwrap_or_default();
        format_line_to!(
            s,
            "    {:<30} {:>20}  ({} of {})",
            column.name(),
            part.to_gbp(),
            share(part, whole),
            whole.to_gbp()
        );
    }
}

/// The areas that make up one national total, largest first: every area whose return counts
/// for the year and basis, £0 ones too, and how many areas are rejected or missing.
pub fn total(
    t: &Tables,
    areas: &Areas,
    column: NationalColumn,
    year: FinancialYear,
    basis: Option<Basis>,
) -> Result<String, String> {
    let rows: Vec<_> =
        t.national.iter().filter(|r| r.financial_year == year && basis.is_none_or(|b| r.basis == b)).collect();
    if rows.is_empty() {
        return Err(format!(
            "no national total for {year}{} in this run",
            basis.map(|b| format!(" ({b})")).unwrap_or_default()
        ));
    }
    let mut s = String::new();
    for r in rows {
        let whole = column.of(r);
        let count = |status: CoverStatus| {
            t.coverage.iter().filter(|c| c.financial_year == year && c.basis == r.basis && c.status == status).count()
        };
        format_line_to!(
            s,
            "{}, {} {}: {} from {} of {} areas ({} rejected and {} missing count nothing)",
            column.name(),
            r.financial_year,
            r.basis,
            whole.to_gbp(),
            r.areas_included,
            r.areas_expected,
            count(CoverStatus::Rejected),
            count(CoverStatus::Missing)
        );
        let mut ranked: Vec<(&str, Pence)> = t
            .area_totals
            .iter()
            .filter(|a| a.financial_year == r.financial_year && a.basis == r.basis)
            .map(|a| (a.area_code.as_str(), a.of(column)))
            .collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        for (i, (code, amount)) in ranked.iter().enumerate() {
            let name = areas.by_code(code).map_or(*code, |a| a.name.as_str());
            format_line_to!(
                s,
                "  {:>3}. {:<40} {:<10} {:>20} {:>7}",
                i + 1,
                name,
                code,
                amount.to_gbp(),
                share(*amount, whole)
            );
        }
        let sum = Pence::sum(ranked.iter().map(|(_, p)| p));
        format_line_to!(s, "       {:<40} {:<10} {:>20}\n", "total", "", sum.to_gbp());
    }
    Ok(s)
}
