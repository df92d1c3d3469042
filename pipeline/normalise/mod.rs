//! Normalise: turn validated files into the output rows, and write them as Parquet.

pub mod parquet;

use crate::ingest::{Disposition, InputFile};
use crate::model::{Basis, Severity, Status, Text};
use crate::tables::{FindingRow, LineRow, SchemeRow, SubmissionRow, Tables};
use crate::validate::cross::Validated;
use crate::validate::{IncomeLine, ParsedFile, SchemeLine};
use std::collections::HashMap;

/// What became of an input file: skipped and duplicate files by ingest, the rest by validation.
pub fn status_of(disposition: &Disposition, validated: Option<&Validated>) -> Status {
    match (disposition, validated) {
        (Disposition::Skipped(_), _) => Status::Skipped,
        (Disposition::Duplicate(_), _) => Status::Duplicate,
        (Disposition::Workbook | Disposition::DownloadFailed(_), Some(v)) => v.status,
        (Disposition::Workbook | Disposition::DownloadFailed(_), None) => Status::Rejected,
    }
}

/// Builds the per-file tables, in input order. The parses are consumed, so their text moves
/// into the rows instead of being copied; each table is allocated once at its final size, and
/// the lines and schemes tables are built side by side.
pub fn build(inputs: &[InputFile], validated: Vec<Validated>) -> Tables {
    let index: HashMap<&str, usize> = inputs.iter().enumerate().map(|(i, f)| (f.source_file.as_str(), i)).collect();
    let mut slots: Vec<Option<Validated>> = inputs.iter().map(|_| None).collect();
    for v in validated {
        if let Some(&i) = index.get(v.source_file.as_str()) {
            slots[i] = Some(v);
        }
    }
    // Each contributing file's lines and schemes, taken out with the texts its rows share.
    let mut lines = Vec::new();
    let mut schemes = Vec::new();
    for (input, v) in inputs.iter().zip(&mut slots) {
        let Some(v) = v.as_mut().filter(|v| status_of(&input.disposition, Some(v)).contributes()) else {
            continue;
        };
        let Some(shared) = Shared::of(input, &v.parsed) else { continue };
        lines.push((shared.clone(), std::mem::take(&mut v.parsed.lines)));
        schemes.push((shared, std::mem::take(&mut v.parsed.schemes)));
    }
    let ((lines, schemes), (submissions, findings)) = rayon::join(
        || rayon::join(|| rows(lines, line_row), || rows(schemes, scheme_row)),
        || file_rows(inputs, slots),
    );
    Tables { submissions, findings, lines, schemes, national: Vec::new() }
}

/// The texts every row of one file shares: a copy each would be an allocation per row.
#[derive(Clone)]
struct Shared {
    area_code: Text,
    area_name: Text,
    template_id: Text,
    source_file: Text,
    plan: Text,
    actual: Text,
}

impl Shared {
    fn of(input: &InputFile, p: &ParsedFile) -> Option<Shared> {
        let (Some(area_code), Some(template_id)) = (&p.area_code, &p.template_id) else {
            return None;
        };
        Some(Shared {
            area_code: area_code.as_str().into(),
            area_name: p.area_name.as_deref().unwrap_or_default().into(),
            template_id: template_id.as_str().into(),
            source_file: input.source_file.as_str().into(),
            plan: Basis::Plan.as_str().into(),
            actual: Basis::Actual.as_str().into(),
        })
    }

    fn basis(&self, b: Basis) -> Text {
        if b == Basis::Plan {
            self.plan.clone()
        } else {
            self.actual.clone()
        }
    }
}

/// One table's rows: each file's parsed items made rows with the file's shared texts, in file
/// order, in a vector allocated once.
fn rows<T, R>(files: Vec<(Shared, Vec<T>)>, row: impl Fn(&Shared, T) -> R) -> Vec<R> {
    let mut rows = Vec::with_capacity(files.iter().map(|(_, items)| items.len()).sum());
    for (f, items) in files {
        rows.extend(items.into_iter().map(|item| row(&f, item)));
    }
    rows
}

fn line_row(f: &Shared, l: IncomeLine) -> LineRow {
    LineRow {
        financial_year: l.financial_year,
        basis: f.basis(l.basis),
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
        basis: f.basis(s.basis),
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
    let mut findings = Vec::with_capacity(parses.iter().flatten().map(|v| v.parsed.findings.len()).sum());
    for (input, v) in inputs.iter().zip(parses) {
        let status = status_of(&input.disposition, v.as_ref());
        let Some(p) = v.map(|v| v.parsed) else {
            submissions.push(SubmissionRow {
                source_file: input.source_file.clone(),
                sha256: input.sha256.clone(),
                bytes: input.bytes as i64,
                template_id: None,
                area_code: None,
                area_name: None,
                status: status.as_str().to_string(),
                error_count: 0,
                warning_count: 0,
                submission_date: None,
            });
            continue;
        };
        let count = |s: Severity| p.findings.iter().filter(|f| f.severity() == s).count() as i32;
        submissions.push(SubmissionRow {
            source_file: input.source_file.clone(),
            sha256: input.sha256.clone(),
            bytes: input.bytes as i64,
            template_id: p.template_id,
            area_code: p.area_code,
            area_name: p.area_name,
            status: status.as_str().to_string(),
            error_count: count(Severity::Error),
            warning_count: count(Severity::Warning),
            submission_date: p.submission_date,
        });
        findings.extend(p.findings.into_iter().map(|f| FindingRow {
            source_file: input.source_file.clone(),
            rule: f.rule.id().to_string(),
            severity: f.severity().as_str().to_string(),
            sheet: f.sheet,
            cell: f.cell,
            message: f.message,
        }));
    }
    (submissions, findings)
}
