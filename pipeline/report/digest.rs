//! What the reports and the workbook say about a run in a few lines, computed once from the
//! tables: the publish they describe, whether the totals are national, who to chase for the
//! collection in progress, the rejected files, and the findings by rule and by area. Sizes
//! follow the areas and the rules, never the number of findings.

use crate::model::{Basis, Date, FinancialYear, Rule, Severity, Status};
use crate::schema::{SchemaSet, TemplateKind};
use crate::tables::{FindingRow, NationalRow, SubmissionRow, Tables};
use crate::validate::submissions::CoverStatus;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The publish a report belongs to: printed on every page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    pub date: Date,
    pub snapshot: String,
}

impl std::fmt::Display for Publication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Published {}, snapshot {}", self.date, self.snapshot)
    }
}

/// Below this share of the areas expected, a period's totals are not national.
const NATIONAL_SHARE: (i32, i32) = (3, 4);

/// A warning when some period's totals sum fewer than three quarters of the areas expected
/// (the demo's 4 of 151): they are the sums of the returns read, not national totals.
pub fn coverage_note(national: &[NationalRow]) -> Option<String> {
    let short: Vec<&NationalRow> =
        national.iter().filter(|r| r.areas_included * NATIONAL_SHARE.1 < r.areas_expected * NATIONAL_SHARE.0).collect();
    let most = short.iter().map(|r| r.areas_included).max()?;
    let expected = short.iter().map(|r| r.areas_expected).max().unwrap_or_default();
    if short.len() == national.len() {
        return Some(format!(
            "not national totals: every year sums at most {most} of the {expected} areas (the returns read); see the areas column"
        ));
    }
    let periods: Vec<String> = short.iter().map(|r| format!("{} {}", r.financial_year, r.basis)).collect();
    Some(format!(
        "{} {} not national: fewer than three quarters of the areas are included (at most {most} of {expected})",
        periods.join(", "),
        if periods.len() == 1 { "is" } else { "are" }
    ))
}

/// The collection in progress: the latest financial year of the register.
pub fn current_year(t: &Tables) -> Option<FinancialYear> {
    t.coverage.iter().map(|c| c.financial_year).max()
}

/// An area with something to do for the collection in progress.
#[derive(Debug, Clone)]
pub struct Chase<'a> {
    pub area_code: &'a str,
    pub area_name: &'a str,
    pub what: ChaseWhat<'a>,
}

#[derive(Debug, Clone)]
pub enum ChaseWhat<'a> {
    /// Its latest return covering the year was rejected: the file and its first error.
    Rejected { file: &'a str, first_error: Option<&'a FindingRow> },
    /// Expected, but no return covers these bases of the year.
    Missing { bases: Vec<Basis> },
}

/// The areas to chase for `year`: rejected first (by area), then missing (by area).
pub fn chase(t: &Tables, year: FinancialYear) -> Vec<Chase<'_>> {
    let first_errors = first_errors(t);
    let mut rejected: BTreeMap<&str, Chase<'_>> = BTreeMap::new();
    let mut missing: BTreeMap<&str, Chase<'_>> = BTreeMap::new();
    for c in t.coverage.iter().filter(|c| c.financial_year == year) {
        let chase = |what| Chase { area_code: &c.area_code, area_name: &c.area_name, what };
        match (c.status, c.source_file.as_deref()) {
            (CoverStatus::Rejected, Some(file)) => {
                let first_error = first_errors.get(file).copied();
                rejected.entry(&c.area_code).or_insert_with(|| chase(ChaseWhat::Rejected { file, first_error }));
            }
            (CoverStatus::Missing, _) => {
                let entry = missing.entry(&c.area_code).or_insert_with(|| chase(ChaseWhat::Missing { bases: vec![] }));
                if let ChaseWhat::Missing { bases } = &mut entry.what {
                    bases.push(c.basis);
                }
            }
            _ => {}
        }
    }
    missing.retain(|code, _| !rejected.contains_key(code));
    rejected.into_values().chain(missing.into_values()).collect()
}

/// Each file's first error no decision accepted.
fn first_errors(t: &Tables) -> HashMap<&str, &FindingRow> {
    let mut first = HashMap::new();
    for f in t.findings.iter().filter(|f| f.severity == Severity::Error && f.accepted.is_none()) {
        first.entry(f.source_file.as_str()).or_insert(f);
    }
    first
}

/// A rejected file, for the compact table of the national page.
pub struct Rejected<'a> {
    pub file: &'a SubmissionRow,
    pub first_error: Option<&'a FindingRow>,
}

/// Every rejected file, by area (files of no known area last), then file.
pub fn rejected(t: &Tables) -> Vec<Rejected<'_>> {
    let first = first_errors(t);
    let mut rows: Vec<Rejected<'_>> = t
        .submissions
        .iter()
        .filter(|s| s.status == Status::Rejected)
        .map(|s| Rejected { file: s, first_error: first.get(s.source_file.as_str()).copied() })
        .collect();
    rows.sort_by(|a, b| {
        let key = |r: &Rejected<'_>| (r.file.area_name.is_none(), r.file.area_name.clone(), r.file.source_file.clone());
        key(a).cmp(&key(b))
    });
    rows
}

/// Findings of one rule, severity and standing (accepted by a decision or not).
#[derive(Debug, Clone)]
pub struct RuleSummary<'a> {
    pub rule: Rule,
    pub severity: Severity,
    pub accepted: bool,
    pub findings: usize,
    pub files: usize,
    /// (name, code) of the areas concerned, sorted; files of no known area are not named.
    pub areas: Vec<(&'a str, &'a str)>,
}

/// The findings summarised by rule: errors first, then accepted errors, then warnings, each
/// in the catalogue's order.
pub fn by_rule(t: &Tables) -> Vec<RuleSummary<'_>> {
    let area: HashMap<&str, (&str, &str)> = t
        .submissions
        .iter()
        .filter_map(|s| Some((s.source_file.as_str(), (s.area_name.as_deref()?, s.area_code.as_deref()?))))
        .collect();
    /// Findings, files, (area name, code) per (rank, rule).
    type Tally<'a> = (usize, BTreeSet<&'a str>, BTreeSet<(&'a str, &'a str)>);
    let mut acc: BTreeMap<(u8, Rule), Tally<'_>> = BTreeMap::new();
    for f in &t.findings {
        let rank = match (f.severity, f.accepted.is_some()) {
            (Severity::Error, false) => 0,
            (Severity::Error, true) => 1,
            (Severity::Warning, _) => 2,
        };
        let (n, files, areas) = acc.entry((rank, f.rule)).or_default();
        *n += 1;
        files.insert(&f.source_file);
        areas.extend(area.get(f.source_file.as_str()));
    }
    acc.into_iter()
        .map(|((rank, rule), (findings, files, areas))| RuleSummary {
            rule,
            severity: if rank == 2 { Severity::Warning } else { Severity::Error },
            accepted: rank == 1,
            findings,
            files: files.len(),
            areas: areas.into_iter().collect(),
        })
        .collect()
}

/// One area's findings in numbers, for the workbook's findings sheet.
#[derive(Debug, Clone, Default)]
pub struct AreaFindings<'a> {
    pub area_code: &'a str,
    pub area_name: &'a str,
    pub files: usize,
    pub rejected_files: usize,
    pub errors: usize,
    pub warnings: usize,
    pub accepted: usize,
    pub first_error: Option<&'a FindingRow>,
}

/// The name of the row of files whose area is not known (as `feedback/unmatched.csv`).
pub const AREA_NOT_KNOWN: &str = "area not known";

/// Per area with any finding, its counts by severity and first error, by area code; files of
/// no known area last, as one row with no code named [`AREA_NOT_KNOWN`].
pub fn by_area(t: &Tables) -> Vec<AreaFindings<'_>> {
    let subs: HashMap<&str, &SubmissionRow> = t.submissions.iter().map(|s| (s.source_file.as_str(), s)).collect();
    let mut areas: BTreeMap<(bool, &str), AreaFindings<'_>> = BTreeMap::new();
    let mut files: BTreeMap<(bool, &str), BTreeSet<&str>> = BTreeMap::new();
    for f in &t.findings {
        let sub = subs.get(f.source_file.as_str()).copied();
        let (code, name) = match sub.map(|s| (s.area_code.as_deref(), s.area_name.as_deref())) {
            Some((Some(code), Some(name))) => (code, name),
            _ => ("", AREA_NOT_KNOWN),
        };
        let key = (code.is_empty(), code);
        let a =
            areas.entry(key).or_insert_with(|| AreaFindings { area_code: code, area_name: name, ..Default::default() });
        match (f.severity, f.accepted.is_some()) {
            (_, true) => a.accepted += 1,
            (Severity::Error, false) => {
                a.errors += 1;
                a.first_error.get_or_insert(f);
            }
            (Severity::Warning, false) => a.warnings += 1,
        }
        if files.entry(key).or_default().insert(&f.source_file) && sub.is_some_and(|s| s.status == Status::Rejected) {
            a.rejected_files += 1;
        }
    }
    for (key, a) in areas.iter_mut() {
        a.files = files.get(key).map_or(0, BTreeSet::len);
    }
    areas.into_values().collect()
}

/// The return template an area should send for `year`: the latest issued (catalogue order)
/// whose columns cover it, by its description.
pub fn template_for(schemas: &SchemaSet, year: FinancialYear) -> Option<&str> {
    schemas
        .templates
        .iter()
        .filter(|t| t.kind == TemplateKind::Return && t.financial_years().contains(&year))
        .max_by_key(|t| t.catalogue_order)
        .map(|t| schemas.template_name(&t.id))
}

/// The years from the first to the last of `years`, each with whether it has figures: a year
/// without is a gap in a chart, not skipped (skipping reads as continuous growth).
pub fn years_with_gaps(years: &BTreeSet<FinancialYear>) -> Vec<(FinancialYear, bool)> {
    let (Some(first), Some(last)) = (years.first(), years.last()) else { return Vec::new() };
    (first.0..=last.0).map(|y| (FinancialYear(y), years.contains(&FinancialYear(y)))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn years_without_figures_are_kept_as_gaps() {
        let years: BTreeSet<_> = [2015, 2017, 2020].into_iter().map(FinancialYear).collect();
        let all = years_with_gaps(&years);
        assert_eq!(all.len(), 6);
        assert_eq!(all.iter().filter(|(_, has)| !has).map(|(y, _)| y.0).collect::<Vec<_>>(), [2016, 2018, 2019]);
    }
}
