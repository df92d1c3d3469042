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

/// Builds the per-file tables. `inputs` and `validated` are both in source-file order.
pub fn build(inputs: &[InputFile], validated: &[Validated]) -> Tables {
    let by_source: HashMap<&str, &Validated> = validated.iter().map(|v| (v.source_file.as_str(), v)).collect();
    let mut t = Tables::default();
    for input in inputs {
        let v = by_source.get(input.source_file.as_str());
        let status = status_of(&input.disposition, v.copied());
        let parsed = v.map(|v| &v.parsed);
        let findings = parsed.map(|p| p.findings.as_slice()).unwrap_or_default();
        let count = |s: Severity| findings.iter().filter(|f| f.severity() == s).count() as i32;
        t.submissions.push(SubmissionRow {
            source_file: input.source_file.clone(),
            sha256: input.sha256.clone(),
            bytes: input.bytes as i64,
            template_id: parsed.and_then(|p| p.template_id.clone()),
            area_code: parsed.and_then(|p| p.area_code.clone()),
            area_name: parsed.and_then(|p| p.area_name.clone()),
            status: status.as_str().to_string(),
            error_count: count(Severity::Error),
            warning_count: count(Severity::Warning),
            submission_date: parsed.and_then(|p| p.submission_date.clone()),
        });
        for f in findings {
            t.findings.push(FindingRow {
                source_file: input.source_file.clone(),
                rule: f.rule.id().to_string(),
                severity: f.severity().as_str().to_string(),
                sheet: f.sheet.clone(),
                cell: f.cell.clone(),
                message: f.message.clone(),
            });
        }
        let Some(p) = parsed.filter(|_| status.contributes()) else {
            continue;
        };
        let (Some(area_code), Some(template_id)) = (&p.area_code, &p.template_id) else {
            continue;
        };
        let area_name = p.area_name.clone().unwrap_or_default();
        for l in &p.lines {
            t.lines.push(LineRow {
                financial_year: l.financial_year.clone(),
                basis: l.basis.as_str().to_string(),
                area_code: area_code.clone(),
                area_name: area_name.clone(),
                template_id: template_id.clone(),
                funding_source: l.funding_source.clone(),
                contributor: l.contributor.clone(),
                amount: l.amount,
                source_file: input.source_file.clone(),
                sheet: l.sheet.clone(),
                cell: l.cell.clone(),
            });
        }
        for s in &p.schemes {
            t.schemes.push(SchemeRow {
                financial_year: s.financial_year.clone(),
                basis: s.basis.as_str().to_string(),
                area_code: area_code.clone(),
                template_id: template_id.clone(),
                scheme_id: s.scheme_id.clone(),
                scheme_name: s.scheme_name.clone(),
                scheme_type: s.scheme_type.clone(),
                area_of_spend: s.area_of_spend.clone(),
                commissioner: s.commissioner.clone(),
                provider: s.provider.clone(),
                funding_source: s.funding_source.clone(),
                amount: s.amount,
                source_file: input.source_file.clone(),
                sheet: s.sheet.clone(),
                cell: s.cell.clone(),
            });
        }
    }
    t
}
