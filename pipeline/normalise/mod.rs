//! Normalise: turn validated files into the output rows, and write them as Parquet.

pub mod parquet;

use crate::ingest::{Disposition, InputFile};
use crate::model::{Severity, Status};
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

/// Builds the per-file tables. `inputs` and `validated` are both in source-file order; the
/// parses are consumed, so their text moves into the rows instead of being copied. Files are
/// turned into rows in parallel and the rows joined in input order.
pub fn build(inputs: &[InputFile], validated: Vec<Validated>) -> Tables {
    use rayon::prelude::*;
    let mut by_source: HashMap<String, Validated> = validated.into_iter().map(|v| (v.source_file.clone(), v)).collect();
    let files: Vec<(&InputFile, Option<Validated>)> =
        inputs.iter().map(|input| (input, by_source.remove(input.source_file.as_str()))).collect();
    // Each file's rows are built on its own, then joined in input order with one copy: a
    // tree of pairwise joins would copy every row once per level.
    let parts: Vec<Tables> = files
        .into_par_iter()
        .map(|(input, v)| {
            let mut t = Tables::default();
            file_rows(&mut t, input, v);
            t
        })
        .collect();
    let mut all = Tables::default();
    all.submissions.reserve_exact(parts.iter().map(|t| t.submissions.len()).sum());
    all.findings.reserve_exact(parts.iter().map(|t| t.findings.len()).sum());
    all.lines.reserve_exact(parts.iter().map(|t| t.lines.len()).sum());
    all.schemes.reserve_exact(parts.iter().map(|t| t.schemes.len()).sum());
    for t in parts {
        all.submissions.extend(t.submissions);
        all.findings.extend(t.findings);
        all.lines.extend(t.lines);
        all.schemes.extend(t.schemes);
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
    let area_name = p.area_name.unwrap_or_default();
    for l in p.lines {
        t.lines.push(LineRow {
            financial_year: l.financial_year,
            basis: l.basis.as_str().to_string(),
            area_code: area_code.clone(),
            area_name: area_name.clone(),
            template_id: template_id.clone(),
            funding_source: l.funding_source,
            contributor: l.contributor,
            amount: l.amount,
            source_file: input.source_file.clone(),
            sheet: l.sheet,
            cell: l.cell,
        });
    }
    for s in p.schemes {
        t.schemes.push(SchemeRow {
            financial_year: s.financial_year,
            basis: s.basis.as_str().to_string(),
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
            source_file: input.source_file.clone(),
            sheet: s.sheet,
            cell: s.cell,
        });
    }
}
