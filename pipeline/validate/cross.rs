//! Rules that span files: minimum contributions against the published allocations, and which
//! of an area's returns is its submission (catalogue §5, §6).

use super::ParsedFile;
use crate::model::{Finding, Pence, Rule, Status};
use crate::schema::SchemaSet;
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The lines of a stream may differ from its allocation by at most this.
const TOLERANCE: Pence = Pence(100);

/// A workbook file after validation.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Validated {
    pub source_file: String,
    pub sha256: String,
    pub parsed: ParsedFile,
    pub status: Status,
}

/// Applies the cross-file rules and sets every file's status. `files` is in source-file order.
pub fn apply(files: &mut [Validated], schemas: &SchemaSet) {
    check_minimums(files, schemas);
    for f in files.iter_mut() {
        f.status = Status::from_findings(&f.parsed.findings);
    }
    resolve_submissions(files);
}

/// (area code, financial year) → each stream's allocation, streams in order.
type AllocationTable<'a> = HashMap<(&'a str, &'a str), Vec<(&'a str, Pence)>>;

/// (area, year) → allocations, from readable allocations workbooks; the first file in source
/// order wins where two cover the same year (and, within it, a stream's first row). Also the
/// years covered.
fn allocation_table(files: &[Validated]) -> (AllocationTable<'_>, BTreeSet<&str>) {
    let mut year_owner: BTreeMap<&str, &str> = BTreeMap::new();
    for f in files.iter().filter(|f| f.parsed.is_allocations) {
        if Status::from_findings(&f.parsed.findings) != Status::Rejected {
            for y in &f.parsed.allocation_years {
                year_owner.entry(y).or_insert(&f.source_file);
            }
        }
    }
    let mut table: AllocationTable<'_> = HashMap::new();
    for f in files.iter().filter(|f| f.parsed.is_allocations) {
        for a in &f.parsed.allocations {
            if year_owner.get(a.financial_year.as_str()) == Some(&f.source_file.as_str()) {
                let streams = table.entry((&a.area_code, &a.financial_year)).or_default();
                if !streams.iter().any(|(s, _)| *s == a.funding_source) {
                    streams.push((&a.funding_source, a.amount));
                }
            }
        }
    }
    for streams in table.values_mut() {
        streams.sort_by_key(|(s, _)| *s);
    }
    (table, year_owner.into_keys().collect())
}

fn check_minimums(files: &mut [Validated], schemas: &SchemaSet) {
    let new: Vec<Vec<Finding>> = {
        let (table, covered) = allocation_table(files);
        files.par_iter().map(|f| minimum_findings(&f.parsed, &table, &covered, schemas)).collect()
    };
    for (f, new) in files.iter_mut().zip(new) {
        f.parsed.findings.extend(new);
    }
}

/// One return's minimum contributions against its area's allocations.
fn minimum_findings(
    p: &ParsedFile,
    table: &AllocationTable<'_>,
    covered: &BTreeSet<&str>,
    schemas: &SchemaSet,
) -> Vec<Finding> {
    let mut new = Vec::new();
    if p.is_allocations {
        return new;
    }
    let (Some(template_id), Some(area)) = (&p.template_id, &p.area_code) else {
        return new;
    };
    let Some(template) = schemas.template(template_id) else {
        return new;
    };
    let periods = template.periods();
    for year in &p.financial_years {
        if !covered.contains(year.as_str()) {
            new.push(Finding::file(
                Rule::AllocationMissing,
                format!("no allocations workbook for {year} was in the input, so the minimum contributions for {year} were not checked"),
            ));
            continue;
        }
        let streams = table.get(&(area.as_str(), year.as_str())).map(Vec::as_slice).unwrap_or_default();
        for (basis_year, basis) in periods.iter().filter(|(y, _)| y == year) {
            for &(source, allocated) in streams {
                let lines = Pence(
                    p.lines
                        .iter()
                        .filter(|l| {
                            *l.funding_source == *source && *l.financial_year == **basis_year && l.basis == *basis
                        })
                        .map(|l| l.amount.0)
                        .sum(),
                );
                if lines.abs_diff(allocated) <= TOLERANCE {
                    continue;
                }
                let msg = format!(
                    "the {source} lines for {year} ({}) add up to {} but the published minimum allocation is {}; enter the allocated amount",
                    basis.as_str(),
                    lines.to_gbp(),
                    allocated.to_gbp()
                );
                let at = p
                    .stream_cells
                    .iter()
                    .find(|c| *c.funding_source == *source && *c.financial_year == **year && c.basis == *basis);
                new.push(match at {
                    Some(c) => Finding {
                        rule: Rule::MinimumMismatch,
                        sheet: Some(c.sheet.to_string()),
                        cell: Some(c.cell.clone()),
                        message: msg,
                    },
                    None => Finding::file(Rule::MinimumMismatch, msg),
                });
            }
        }
    }
    new
}

/// Per area and template: the latest submission date wins; earlier files are superseded; two
/// different files sharing the latest date are both rejected.
fn resolve_submissions(files: &mut [Validated]) {
    let mut groups: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for (i, f) in files.iter().enumerate() {
        let p = &f.parsed;
        if p.is_allocations {
            continue;
        }
        if let (Some(t), Some(a), Some(_)) = (&p.template_id, &p.area_code, &p.submission_date) {
            groups.entry((a.clone(), t.clone())).or_default().push(i);
        }
    }
    for ((area, template), idx) in groups {
        if idx.len() < 2 {
            continue;
        }
        let latest = idx.iter().filter_map(|&i| files[i].parsed.submission_date.clone()).max().unwrap_or_default();
        let newest: Vec<usize> = idx
            .iter()
            .copied()
            .filter(|&i| files[i].parsed.submission_date.as_deref() == Some(latest.as_str()))
            .collect();
        if newest.len() > 1 {
            let names: Vec<String> = newest.iter().map(|&i| files[i].source_file.clone()).collect();
            for &i in &newest {
                let others: Vec<&str> =
                    names.iter().filter(|n| **n != files[i].source_file).map(String::as_str).collect();
                files[i].parsed.findings.push(Finding::file(
                    Rule::SubmissionConflict,
                    format!(
                        "{area} has another {template} return with the same submission date {latest} ({}); resubmit one return with a later date",
                        others.join(", ")
                    ),
                ));
                files[i].status = Status::Rejected;
            }
        }
        for &i in &idx {
            if !newest.contains(&i) {
                files[i].status = Status::Superseded;
            }
        }
    }
}
