//! The output tables as rows: the contract BI tools read (documented in the README).

use crate::model::{Pence, Text};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// `submissions.parquet`: one row per input file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmissionRow {
    pub source_file: String,
    pub sha256: String,
    pub bytes: i64,
    pub template_id: Option<String>,
    pub area_code: Option<String>,
    pub area_name: Option<String>,
    pub status: String,
    pub error_count: i32,
    pub warning_count: i32,
    /// ISO date from the cover, where readable.
    pub submission_date: Option<String>,
}

/// `findings.parquet`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingRow {
    pub source_file: String,
    pub rule: String,
    pub severity: String,
    pub sheet: Option<String>,
    pub cell: Option<String>,
    pub message: String,
}

/// Rows grouped by a text key, groups in key order and rows in their order. Rows come in runs
/// (a return's lines share a year), so a row equal to the last costs one comparison, not a
/// map lookup.
pub fn group_by<'a, R>(rows: &'a [R], key: impl Fn(&'a R) -> &'a str) -> BTreeMap<&'a str, Vec<&'a R>> {
    let mut groups: BTreeMap<&str, Vec<&R>> = BTreeMap::new();
    let mut run: Option<(&str, Vec<&R>)> = None;
    for r in rows {
        let k = key(r);
        match &mut run {
            Some((last, members)) if *last == k => members.push(r),
            _ => {
                if let Some((last, members)) = run.take() {
                    groups.entry(last).or_default().extend(members);
                }
                run = Some((k, vec![r]));
            }
        }
    }
    if let Some((last, members)) = run {
        groups.entry(last).or_default().extend(members);
    }
    groups
}

/// The distinct values of a text key over rows, sorted (see [`group_by`] on runs).
pub fn distinct<'a, R>(rows: &'a [R], key: impl Fn(&'a R) -> &'a str) -> BTreeSet<&'a str> {
    let mut out = BTreeSet::new();
    let mut last = None;
    for r in rows {
        let k = key(r);
        if last != Some(k) {
            out.insert(k);
            last = Some(k);
        }
    }
    out
}

impl Tables {
    /// The financial years of the lines table (its partitions).
    pub fn line_years(&self) -> BTreeSet<&str> {
        distinct(&self.lines, |r| &r.financial_year)
    }

    /// The financial years of the schemes table (its partitions).
    pub fn scheme_years(&self) -> BTreeSet<&str> {
        distinct(&self.schemes, |r| &r.financial_year)
    }

    /// Files per status, e.g. `20 accepted, 1 skipped` (statuses in alphabetical order).
    pub fn status_summary(&self) -> String {
        let mut counts = BTreeMap::<&str, usize>::new();
        for s in &self.submissions {
            *counts.entry(s.status.as_str()).or_default() += 1;
        }
        counts.iter().map(|(k, v)| format!("{v} {k}")).collect::<Vec<_>>().join(", ")
    }
}

impl FindingRow {
    /// `Sheet!C12`, `Sheet`, or empty.
    pub fn location(&self) -> String {
        crate::model::location(self.sheet.as_deref(), self.cell.as_deref())
    }
}

/// `lines/financial_year=…/part-0.parquet`: one income line of an accepted submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineRow {
    pub financial_year: Text,
    pub basis: Text,
    pub area_code: Text,
    pub area_name: Text,
    pub template_id: Text,
    pub funding_source: Text,
    pub contributor: Option<String>,
    pub amount: Pence,
    pub source_file: Text,
    pub sheet: Text,
    pub cell: String,
}

/// `schemes/financial_year=…/part-0.parquet`: one scheme amount of an accepted submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemeRow {
    pub financial_year: Text,
    pub basis: Text,
    pub area_code: Text,
    pub template_id: Text,
    pub scheme_id: Option<String>,
    pub scheme_name: Option<String>,
    pub scheme_type: Option<String>,
    pub area_of_spend: Option<String>,
    pub commissioner: Option<String>,
    pub provider: Option<String>,
    pub funding_source: Option<Text>,
    pub amount: Pence,
    pub source_file: Text,
    pub sheet: Text,
    pub cell: String,
}

/// `national_totals.parquet`: one row per financial year and basis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NationalRow {
    pub financial_year: String,
    pub basis: String,
    pub areas_expected: i32,
    pub areas_included: i32,
    pub mandated_minimum: Pence,
    pub voluntary_la: Pence,
    pub voluntary_nhs: Pence,
    pub voluntary_above_minimum: Pence,
    pub total_pooled: Pence,
    pub baseline_year: String,
    pub voluntary_vs_baseline_ratio: Option<f64>,
}

/// Every table of one run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tables {
    pub submissions: Vec<SubmissionRow>,
    pub findings: Vec<FindingRow>,
    pub lines: Vec<LineRow>,
    pub schemes: Vec<SchemeRow>,
    pub national: Vec<NationalRow>,
}
