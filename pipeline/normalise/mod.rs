//! Normalise: turn validated files into the output rows. `lines` and `schemes` hold exactly the
//! figures that count: of each area's files, for each year and basis, those of the one
//! submission that supplies it (catalogue §6.1); `coverage` says which that is.

mod coverage;
pub mod stage;

pub use coverage::coverage_rows;

use crate::ingest::{Disposition, InputFile};
use crate::model::{ArcStr, Period, Severity};
use crate::tables::{CoverageRow, FindingRow, LineRow, SchemeRow, SubmissionRow, Tables};
use crate::validate::decisions::DecisionRow;
use crate::validate::submissions::Supply;
use crate::validate::{status_of, Validated};
use crate::validate::{IncomeLine, SchemeLine};
use std::collections::{BTreeSet, HashMap};

/// Builds the per-file tables and the coverage register, in input order (national totals are
/// aggregate's). The parses are consumed, so their text moves into the rows.
pub fn build(
    inputs: &[InputFile],
    validated: Vec<Validated>,
    supply: &Supply,
    coverage: Vec<CoverageRow>,
    decisions: Vec<DecisionRow>,
) -> Tables {
    let index: HashMap<&str, usize> = inputs.iter().enumerate().map(|(i, f)| (f.source_file.as_str(), i)).collect();
    let mut slots: Vec<Option<Validated>> = inputs.iter().map(|_| None).collect();
    for v in validated {
        if let Some(&i) = index.get(v.source_file.as_str()) {
            slots[i] = Some(v);
        }
    }
    let mut lines = Vec::new();
    let mut schemes = Vec::new();
    for (input, v) in inputs.iter().zip(&mut slots) {
        let Some(v) = v.as_mut().filter(|v| status_of(&input.disposition, Some(v)).contributes()) else {
            continue;
        };
        let Some(shared) = Shared::of(v) else { continue };
        let supplied = supplied_periods(supply, v);
        let counts = |p: Period| supplied.contains(&p);
        let parsed = &mut v.parsed;
        lines.extend(
            std::mem::take(&mut parsed.lines).into_iter().filter(|l| counts(period(l))).map(|l| line_row(&shared, l)),
        );
        let own = std::mem::take(&mut parsed.schemes);
        schemes.extend(
            own.into_iter()
                .filter(|s| counts(Period { year: s.financial_year, basis: s.basis }))
                .map(|s| scheme_row(&shared, s)),
        );
    }
    let (submissions, findings) = file_rows(inputs, slots);
    Tables { submissions, findings, lines, schemes, coverage, decisions, ..Tables::default() }
}

fn period(l: &IncomeLine) -> Period {
    Period { year: l.financial_year, basis: l.basis }
}

/// The periods a file supplies its area's figures for.
fn supplied_periods(supply: &Supply, v: &Validated) -> BTreeSet<Period> {
    let Some(area) = &v.parsed.area_code else { return BTreeSet::new() };
    v.parsed
        .financial_years
        .iter()
        .flat_map(|&year| crate::model::Basis::ALL.map(|basis| Period { year, basis }))
        .filter(|p| {
            supply.get(&(area.clone(), *p)).and_then(|c| c.source_file.as_deref()) == Some(v.source_file.as_str())
        })
        .collect()
}

/// The texts every row of one file shares.
struct Shared {
    area_code: ArcStr,
    area_name: ArcStr,
    template_id: ArcStr,
    source_file: ArcStr,
}

impl Shared {
    fn of(v: &Validated) -> Option<Shared> {
        let p = &v.parsed;
        let (Some(area_code), Some(template_id)) = (&p.area_code, &p.template_id) else {
            return None;
        };
        Some(Shared {
            area_code: area_code.as_str().into(),
            area_name: p.area_name.as_deref().unwrap_or_default().into(),
            template_id: template_id.as_str().into(),
            source_file: v.source_file.as_str().into(),
        })
    }
}

fn line_row(f: &Shared, l: IncomeLine) -> LineRow {
    LineRow {
        financial_year: l.financial_year,
        basis: l.basis,
        area_code: f.area_code.clone(),
        area_name: f.area_name.clone(),
        template_id: f.template_id.clone(),
        funding_source: l.funding_source,
        contributor: l.contributor,
        amount: l.amount,
        source_file: f.source_file.clone(),
        sheet: l.sheet,
        cell: l.cell,
    }
}

fn scheme_row(f: &Shared, s: SchemeLine) -> SchemeRow {
    SchemeRow {
        financial_year: s.financial_year,
        basis: s.basis,
        area_code: f.area_code.clone(),
        template_id: f.template_id.clone(),
        scheme_id: s.scheme_id,
        scheme_name: s.scheme_name,
        scheme_type: s.scheme_type,
        area_of_spend: s.area_of_spend,
        commissioner: s.commissioner,
        provider: s.provider,
        funding_source: s.funding_source,
        amount: s.amount,
        source_file: f.source_file.clone(),
        sheet: s.sheet,
        cell: s.cell,
    }
}

/// One submission row per input file, and the findings of each.
fn file_rows(inputs: &[InputFile], parses: Vec<Option<Validated>>) -> (Vec<SubmissionRow>, Vec<FindingRow>) {
    let mut submissions = Vec::with_capacity(inputs.len());
    let mut findings = Vec::new();
    for (input, v) in inputs.iter().zip(parses) {
        let status = status_of(&input.disposition, v.as_ref());
        let mut row = SubmissionRow {
            source_file: input.source_file.clone(),
            sha256: input.sha256.clone(),
            bytes: input.bytes as i64,
            template_id: None,
            area_code: None,
            area_name: None,
            status,
            error_count: 0,
            warning_count: 0,
            accepted_count: 0,
            submission_date: None,
            status_reason: match &input.disposition {
                Disposition::Skipped(why) => Some(why.clone()),
                Disposition::Duplicate(of) => Some(format!("byte-identical to {of}, which is processed instead")),
                _ => None,
            },
        };
        if let Some(p) = v.map(|v| v.parsed) {
            let count = |s: Severity, accepted: bool| {
                p.findings.iter().filter(|f| f.severity() == s && f.accepted.is_some() == accepted).count() as i32
            };
            row.error_count = count(Severity::Error, false);
            row.warning_count = count(Severity::Warning, false) + count(Severity::Warning, true);
            row.accepted_count = count(Severity::Error, true);
            row.template_id = p.template_id;
            row.area_code = p.area_code;
            row.area_name = p.area_name;
            row.submission_date = p.submission_date;
            findings.extend(p.findings.into_iter().map(|f| FindingRow {
                source_file: input.source_file.clone(),
                rule: f.rule,
                severity: f.severity(),
                sheet: f.sheet,
                cell: f.cell,
                message: f.message,
                detail: f.detail,
                accepted: f.accepted.map(|a| *a),
            }));
        }
        submissions.push(row);
    }
    (submissions, findings)
}
