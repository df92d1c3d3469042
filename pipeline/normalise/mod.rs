//! Normalise: turn validated files into the output rows, and write them as Parquet.

pub mod parquet;

use crate::ingest::{Disposition, InputFile};
use crate::model::{Basis, Severity, Status, Text};
use crate::tables::{FindingRow, LineRow, SchemeRow, SubmissionRow, Tables};
use crate::validate::cross::Validated;
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
/// into the rows instead of being copied, and each table is allocated once at its final size.
pub fn build(inputs: &[InputFile], validated: Vec<Validated>) -> Tables {
    let index: HashMap<&str, usize> = inputs.iter().enumerate().map(|(i, f)| (f.source_file.as_str(), i)).collect();
    let mut slots: Vec<Option<Validated>> = inputs.iter().map(|_| None).collect();
    for v in validated {
        if let Some(&i) = index.get(v.source_file.as_str()) {
            slots[i] = Some(v);
        }
    }
    let files: Vec<(&InputFile, Option<Validated>)> = inputs.iter().zip(slots).collect();
    let mut all = Tables::default();
    all.submissions.reserve_exact(files.len());
    all.findings.reserve_exact(files.iter().filter_map(|(_, v)| v.as_ref()).map(|v| v.parsed.findings.len()).sum());
    let contributing =
        || files.iter().filter_map(|(i, v)| v.as_ref().filter(|v| status_of(&i.disposition, Some(v)).contributes()));
    all.lines.reserve_exact(contributing().map(|v| v.parsed.lines.len()).sum());
    all.schemes.reserve_exact(contributing().map(|v| v.parsed.schemes.len()).sum());
    for (input, v) in files {
        file_rows(&mut all, input, v);
    }
    all
}

/// Appends one input file's rows to `t`.
fn file_rows(t: &mut Tables, input: &InputFile, v: Option<Validated>) {
    let status = status_of(&input.disposition, v.as_ref());
    let Some(p) = v.map(|v| v.parsed) else {
        t.submissions.push(SubmissionRow {
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
        return;
    };
    let count = |s: Severity| p.findings.iter().filter(|f| f.severity() == s).count() as i32;
    t.submissions.push(SubmissionRow {
        source_file: input.source_file.clone(),
        sha256: input.sha256.clone(),
        bytes: input.bytes as i64,
        template_id: p.template_id.clone(),
        area_code: p.area_code.clone(),
        area_name: p.area_name.clone(),
        status: status.as_str().to_string(),
        error_count: count(Severity::Error),
        warning_count: count(Severity::Warning),
        submission_date: p.submission_date,
    });
    for f in p.findings {
        t.findings.push(FindingRow {
            source_file: input.source_file.clone(),
            rule: f.rule.id().to_string(),
            severity: f.severity().as_str().to_string(),
            sheet: f.sheet,
            cell: f.cell,
            message: f.message,
        });
    }
    if !status.contributes() {
        return;
    }
    let (Some(area_code), Some(template_id)) = (p.area_code, p.template_id) else {
        return;
    };
    // Shared by every row of the file: a copy each would be an allocation per row.
    let (area_code, template_id): (Text, Text) = (area_code.into(), template_id.into());
    let area_name: Text = p.area_name.unwrap_or_default().into();
    let source_file: Text = input.source_file.as_str().into();
    let (plan, actual): (Text, Text) = (Basis::Plan.as_str().into(), Basis::Actual.as_str().into());
    let basis = |b: Basis| if b == Basis::Plan { plan.clone() } else { actual.clone() };
    for l in p.lines {
        t.lines.push(LineRow {
            financial_year: l.financial_year,
            basis: basis(l.basis),
            area_code: area_code.clone(),
            area_name: area_name.clone(),
            template_id: template_id.clone(),
            funding_source: l.funding_source,
            contributor: l.contributor,
            amount: l.amount,
            source_file: source_file.clone(),
            sheet: l.sheet,
            cell: l.cell,
        });
    }
    for s in p.schemes {
        t.schemes.push(SchemeRow {
            financial_year: s.financial_year,
            basis: basis(s.basis),
            area_code: area_code.clone(),
            template_id: template_id.clone(),
            scheme_id: s.scheme_id,
            scheme_name: s.scheme_name,
            scheme_type: s.scheme_type,
            area_of_spend: s.area_of_spend,
            commissioner: s.commissioner,
            provider: s.provider,
            funding_source: s.funding_source,
            amount: s.amount,
            source_file: source_file.clone(),
            sheet: s.sheet,
            cell: s.cell,
        });
    }
}
