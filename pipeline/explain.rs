//! `bcf explain`: where a number came from. For an area and year, every line with its sheet
//! and cell and what it adds to each national total; for a national total, the areas that
//! make it up, largest first. Reads the persisted stages under `OUT/.bcf/`.

use crate::model::Pence;
use crate::reference::Areas;
use crate::schema::{SchemaSet, TotalCategory};
use crate::tables::{LineRow, NationalRow, Tables};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

/// The national total columns `explain --total` accepts.
pub const TOTALS: [&str; 5] = [
    "mandated_minimum_gbp",
    "voluntary_la_gbp",
    "voluntary_nhs_gbp",
    "voluntary_above_minimum_gbp",
    "total_pooled_gbp",
];

/// Whether a line of this category counts towards a national total column.
fn counts_towards(column: &str, category: Option<TotalCategory>) -> bool {
    use TotalCategory::*;
    matches!(
        (column, category),
        ("mandated_minimum_gbp", Some(Mandatory))
            | ("voluntary_la_gbp", Some(VoluntaryLa))
            | ("voluntary_nhs_gbp", Some(VoluntaryNhs))
            | ("voluntary_above_minimum_gbp", Some(VoluntaryLa | VoluntaryNhs))
            | ("total_pooled_gbp", Some(_))
    )
}

fn national_value(r: &NationalRow, column: &str) -> Pence {
    match column {
        "mandated_minimum_gbp" => r.mandated_minimum,
        "voluntary_la_gbp" => r.voluntary_la,
        "voluntary_nhs_gbp" => r.voluntary_nhs,
        "voluntary_above_minimum_gbp" => r.voluntary_above_minimum,
        _ => r.total_pooled,
    }
}

/// The tables as the last run left them, with national totals.
pub fn load_tables(out: &Path, schemas: &SchemaSet, areas: &Areas, baseline: &str) -> Result<Tables, String> {
    crate::run::persisted_tables(out, "explain", schemas, areas, baseline).map_err(|e| e.to_string())
}

fn share(part: Pence, whole: Pence) -> String {
    if whole.0 == 0 {
        "–".into()
    } else {
        format!("{:.1}%", part.0 as f64 * 100.0 / whole.0 as f64)
    }
}

/// How one area's figures for one year were derived.
pub fn area(t: &Tables, schemas: &SchemaSet, areas: &Areas, code: &str, year: &str) -> Result<String, String> {
    let area = areas.by_code(code).ok_or_else(|| format!("{code} is not an area code in areas.csv"))?;
    let mut s = String::new();
    let _ = writeln!(s, "{} ({}), {}", area.name, area.code, year);
    // The area's files whose template reports this year.
    let files: Vec<_> = t
        .submissions
        .iter()
        .filter(|r| r.area_code.as_deref() == Some(code))
        .filter(|r| {
            r.template_id
                .as_deref()
                .and_then(|id| schemas.template(id))
                .is_some_and(|tpl| tpl.financial_years().iter().any(|y| y == year))
        })
        .collect();
    if files.is_empty() {
        let _ = writeln!(s, "  no return from this area was in the input");
    }
    for f in &files {
        let _ = writeln!(
            s,
            "  file: {} ({}, {}{})",
            f.source_file,
            f.template_id.as_deref().unwrap_or("?"),
            f.status,
            f.submission_date.as_deref().map(|d| format!(", submitted {d}")).unwrap_or_default()
        );
        if f.status != "accepted" && f.status != "accepted_with_warnings" {
            for finding in t.findings.iter().filter(|x| x.source_file == f.source_file && x.severity == "error").take(5)
            {
                let loc = match finding.location() {
                    l if l.is_empty() => l,
                    l => format!("{l}: "),
                };
                let _ = writeln!(s, "    {}: {loc}{}", finding.rule, finding.message);
            }
        }
    }
    let lines: Vec<&LineRow> = t.lines.iter().filter(|l| *l.area_code == *code && *l.financial_year == *year).collect();
    if lines.is_empty() {
        let _ = writeln!(s, "  contributes nothing to the national totals for {year}");
        return Ok(s);
    }
    let mut by_basis: BTreeMap<&str, Vec<&LineRow>> = BTreeMap::new();
    for l in &lines {
        by_basis.entry(&*l.basis).or_default().push(l);
    }
    for (basis, ls) in by_basis {
        let _ = writeln!(s, "\n{basis}");
        let mut by_source: BTreeMap<&str, Vec<&LineRow>> = BTreeMap::new();
        for l in &ls {
            by_source.entry(&*l.funding_source).or_default().push(l);
        }
        for (source, sl) in by_source {
            let cat = schemas.funding_sources.get(source).copied();
            let cat_name = match cat {
                Some(TotalCategory::Mandatory) => "mandated minimum",
                Some(TotalCategory::VoluntaryLa) => "voluntary, local authority",
                Some(TotalCategory::VoluntaryNhs) => "voluntary, NHS",
                None => "unclassified",
            };
            let _ = writeln!(s, "  {source} ({cat_name})");
            for l in &sl {
                let _ = writeln!(
                    s,
                    "    {:<24} {:<44} {:>20}",
                    format!("{}!{}", l.sheet, l.cell),
                    l.contributor.as_deref().unwrap_or("(no name)"),
                    l.amount.to_gbp()
                );
            }
            let sub: Pence = Pence::sum(sl.iter().map(|l| &l.amount));
            let _ = writeln!(s, "    {:<24} {:<44} {:>20}", "", "subtotal", sub.to_gbp());
        }
        let national = t.national.iter().find(|r| r.financial_year == year && r.basis == basis);
        let _ = writeln!(s, "  contributes:");
        for column in TOTALS {
            let part = Pence::sum(
                ls.iter()
                    .filter(|l| counts_towards(column, schemas.funding_sources.get(&*l.funding_source).copied()))
                    .map(|l| &l.amount),
            );
            let whole = national.map(|r| national_value(r, column)).unwrap_or_default();
            let _ =
                writeln!(s, "    {column:<30} {:>20}  ({} of {})", part.to_gbp(), share(part, whole), whole.to_gbp());
        }
    }
    Ok(s)
}

/// The areas that make up one national total, largest first.
pub fn total(
    t: &Tables,
    schemas: &SchemaSet,
    areas: &Areas,
    column: &str,
    year: &str,
    basis: Option<&str>,
) -> Result<String, String> {
    if !TOTALS.contains(&column) {
        return Err(format!("{column} is not a national total; choose one of {}", TOTALS.join(", ")));
    }
    let rows: Vec<&NationalRow> =
        t.national.iter().filter(|r| r.financial_year == year && basis.is_none_or(|b| r.basis == b)).collect();
    if rows.is_empty() {
        return Err(format!(
            "no national total for {year}{} in this run",
            basis.map(|b| format!(" ({b})")).unwrap_or_default()
        ));
    }
    let mut s = String::new();
    for r in rows {
        let whole = national_value(r, column);
        let _ = writeln!(
            s,
            "{column}, {} {}: {} from {} areas",
            r.financial_year,
            r.basis,
            whole.to_gbp(),
            r.areas_included
        );
        let mut per_area: BTreeMap<&str, Pence> = BTreeMap::new();
        for l in t.lines.iter().filter(|l| *l.financial_year == *r.financial_year && *l.basis == *r.basis) {
            if counts_towards(column, schemas.funding_sources.get(&*l.funding_source).copied()) {
                *per_area.entry(&*l.area_code).or_default() += l.amount;
            }
        }
        let mut ranked: Vec<(&str, Pence)> = per_area.into_iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        for (i, (code, amount)) in ranked.iter().enumerate() {
            let name = areas.by_code(code).map_or(*code, |a| a.name.as_str());
            let _ = writeln!(
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
        let _ = writeln!(s, "       {:<40} {:<10} {:>20}\n", "total", "", sum.to_gbp());
    }
    Ok(s)
}
