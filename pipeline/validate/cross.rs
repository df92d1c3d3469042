//! Rules that span files: minimum contributions against the published allocations (catalogue
//! §5), then every file's status, then which of an area's returns is its submission (§6).

use super::decisions::{DecisionRow, Decisions};
use super::{submissions, ParsedFile};
use crate::model::{FinancialYear, Finding, Pence, Rule, Status};
use crate::schema::SchemaSet;
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The lines of a stream may differ from its allocation by at most this.
const TOLERANCE: Pence = super::income::TOLERANCE;

/// A workbook file after validation.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Validated {
    pub source_file: String,
    pub sha256: String,
    pub parsed: ParsedFile,
    pub status: Status,
}

/// Applies the cross-file rules, then the national team's decisions, and sets every file's
/// status. `files` is in source-file order. Returns what each decision did.
pub fn apply(files: &mut [Validated], schemas: &SchemaSet, decisions: &Decisions) -> Vec<DecisionRow> {
    check_minimums(files, schemas);
    submissions::find_conflicts(files);
    let outcomes = super::decisions::apply(files, decisions);
    for f in files.iter_mut() {
        f.status = Status::from_findings(&f.parsed.findings);
    }
    submissions::supersede(files);
    outcomes
}

/// (area code, financial year) → each stream's allocation, streams in order.
type AllocationTable<'a> = HashMap<(&'a str, FinancialYear), Vec<(&'a str, Pence)>>;

/// (area, year) → allocations, from readable allocations workbooks; the first file in source
/// order wins where two cover the same year (and, within it, a stream's first row). Also the
/// years covered.
fn allocation_table(files: &[Validated]) -> (AllocationTable<'_>, BTreeSet<FinancialYear>) {
    let workbooks = || files.iter().filter_map(|f| Some((f, f.parsed.allocations.as_ref()?)));
    let mut year_owner: BTreeMap<FinancialYear, &str> = BTreeMap::new();
    for (f, a) in workbooks() {
        if Status::from_findings(&f.parsed.findings) != Status::Rejected {
            for &y in &a.years {
                year_owner.entry(y).or_insert(&f.source_file);
            }
        }
    }
    let mut table: AllocationTable<'_> = HashMap::new();
    for (f, a) in workbooks() {
        for row in a.rows.iter().filter(|r| year_owner.get(&r.financial_year) == Some(&f.source_file.as_str())) {
            let streams = table.entry((&row.area_code, row.financial_year)).or_default();
            if !streams.iter().any(|(s, _)| *s == row.funding_source) {
                streams.push((&row.funding_source, row.amount));
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
    covered: &BTreeSet<FinancialYear>,
    schemas: &SchemaSet,
) -> Vec<Finding> {
    let mut new = Vec::new();
    let (Some(template), Some(area)) = (p.template_id.as_deref().and_then(|t| schemas.template(t)), &p.area_code)
    else {
        return new;
    };
    if p.is_allocations() {
        return new;
    }
    for &year in &p.financial_years {
        if !covered.contains(&year) {
            new.push(Finding::file(
                Rule::AllocationMissing,
                format!("no allocations workbook for {year} was in the input, so the minimum contributions for {year} were not checked"),
            ));
            continue;
        }
        let streams = table.get(&(area.as_str(), year)).map(Vec::as_slice).unwrap_or_default();
        for period in template.periods().into_iter().filter(|p| p.year == year) {
            for &(source, allocated) in streams {
                let in_stream = |l: &&super::IncomeLine| {
                    *l.funding_source == *source && l.financial_year == year && l.basis == period.basis
                };
                let lines = Pence::sum(p.lines.iter().filter(in_stream).map(|l| &l.amount));
                if lines.abs_diff(allocated) > TOLERANCE {
                    new.push(mismatch(p, source, period, lines, allocated));
                }
            }
        }
    }
    new
}

fn mismatch(p: &ParsedFile, source: &str, period: crate::model::Period, lines: Pence, allocated: Pence) -> Finding {
    let msg = format!(
        "the {source} lines for {} ({}) add up to {} but the published minimum allocation is {}; enter the allocated amount",
        period.year,
        period.basis,
        lines.to_gbp(),
        allocated.to_gbp()
    );
    let at = p
        .stream_cells
        .iter()
        .find(|c| *c.funding_source == *source && c.financial_year == period.year && c.basis == period.basis);
    match at {
        Some(c) => Finding {
            sheet: Some(c.sheet.to_string()),
            cell: Some(c.cell.clone()),
            ..Finding::file(Rule::MinimumMismatch, msg)
        },
        None => Finding::file(Rule::MinimumMismatch, msg),
    }
}
