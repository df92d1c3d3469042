//! Normalise: turn validated files into the output rows. `lines` and `schemes` hold exactly the
//! figures that count: of each area's files, for each year and basis, those of the one
//! submission that supplies it (catalogue §6.1); `coverage` says which that is.

mod coverage;
pub mod stage;

pub use coverage::coverage_rows;

use crate::ingest::{Disposition, InputFile};
use crate::model::{ArcStr, Period, Severity};
use crate::tables::{
    CoverFieldRow, CoverageRow, FindingRow, FundingSourceRow, LineRow, NationalColumn, SchemeFieldRow, SchemeRow,
    SubmissionRow, Tables,
};
use crate::validate::decisions::DecisionRow;
use crate::validate::submissions::Supply;
use crate::validate::{status_of, Validated};
use crate::validate::{IncomeLine, SchemeField, SchemeLine};
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
    let mut scheme_fields = Vec::new();
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
        let first = schemes.len();
        schemes.extend(
            own.into_iter()
                .filter(|s| counts(Period { year: s.financial_year, basis: s.basis }))
                .map(|s| scheme_row(&shared, s)),
        );
        // Each scheme's extra values, for the schemes that count in some year.
        let kept: BTreeSet<(&str, i32)> = schemes[first..].iter().map(|s| (&*s.sheet, s.scheme_row)).collect();
        let extra = std::mem::take(&mut parsed.scheme_fields);
        let kept_row = |f: &SchemeField| kept.contains(&(&*f.sheet, f.row as i32 + 1));
        scheme_fields.extend(extra.into_iter().filter(kept_row).map(|f| scheme_field_row(&shared, f)));
    }
    let cover_fields = slots.iter().flatten().flat_map(cover_field_rows).collect();
    let (submissions, findings) = file_rows(inputs, slots);
    Tables {
        submissions,
        findings,
        lines,
        schemes,
        cover_fields,
        scheme_fields,
        coverage,
        decisions,
        ..Tables::default()
    }
}

/// A recognised return's cover fields (whatever its status: like its submission row).
fn cover_field_rows(v: &Validated) -> Vec<CoverFieldRow> {
    let Some(template_id) = &v.parsed.template_id else { return Vec::new() };
    v.parsed
        .cover_fields
        .iter()
        .map(|f| CoverFieldRow {
            source_file: v.source_file.clone(),
            template_id: template_id.clone(),
            area_code: v.parsed.area_code.clone(),
            field: f.field.clone(),
            label: f.label.clone(),
            value: f.value.clone(),
            sheet: f.sheet.to_string(),
            cell: f.cell.clone(),
        })
        .collect()
}

fn scheme_field_row(f: &Shared, x: SchemeField) -> SchemeFieldRow {
    SchemeFieldRow {
        area_code: f.area_code.clone(),
        template_id: f.template_id.clone(),
        source_file: f.source_file.clone(),
        sheet: x.sheet,
        scheme_row: x.row as i32 + 1,
        field: x.field,
        value: x.value,
    }
}

/// The funding-source vocabulary as a table, for BI tools that rebuild a national total from
/// `lines`.
pub fn funding_source_rows(schemas: &crate::schema::SchemaSet) -> Vec<FundingSourceRow> {
    use crate::schema::TotalCategory;
    schemas
        .funding_sources
        .iter()
        .map(|(id, category)| FundingSourceRow {
            funding_source: id.clone(),
            description: schemas.source_name(id).to_string(),
            counts_towards: match category {
                TotalCategory::Mandatory => NationalColumn::MandatedMinimum,
                TotalCategory::VoluntaryLa => NationalColumn::VoluntaryLa,
                TotalCategory::VoluntaryNhs => NationalColumn::VoluntaryNhs,
            },
        })
        .collect()
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
        scheme_row: s.row as i32 + 1,
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
