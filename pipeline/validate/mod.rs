//! Validate: read each file against its template schema into lines, schemes and findings,
//! then apply the rules that span files (allocations, resubmissions).
//!
//! Validation never fails: a bad return yields findings, not `Err`. Per file it reads only the
//! sheets the schema names.

mod allocations;
pub mod cells;
mod cover;
pub mod cross;
mod expenditure;
mod income;
mod recognise;

use crate::model::{Basis, Finding, Pence, Rule, Text};
use crate::reference::{AreaMatch, Areas};
use crate::schema::{SchemaSet, TemplateKind};
use crate::workbook::{Limits, OpenError, Workbook};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The stored form of a parse ([`ParsedFile`] as JSON): part of its cache key, so a parse
/// stored in an earlier form is parsed again, never misread. Bump it when that form changes.
pub const PARSE_FORMAT: &str = "2";

/// What the validate stage needs besides the file.
pub struct Context<'a> {
    pub schemas: &'a SchemaSet,
    pub areas: &'a Areas,
    pub limits: Limits,
}

/// One income line: one contributor's amount for one year and basis. Stored (in the parse
/// cache and `validate.json`) as an array of its fields in this order: a parse holds thousands
/// of lines, and their field names were half its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "IncomeLineFields")]
pub struct IncomeLine {
    pub funding_source: Text,
    pub contributor: Option<String>,
    pub financial_year: Text,
    pub basis: Basis,
    pub amount: Pence,
    pub sheet: Text,
    pub cell: String,
}

/// One scheme's amount in one expenditure column. Stored as an array of its fields in this
/// order (see [`IncomeLine`]).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "SchemeLineFields")]
pub struct SchemeLine {
    pub scheme_id: Option<String>,
    pub scheme_name: Option<String>,
    pub scheme_type: Option<String>,
    pub area_of_spend: Option<String>,
    pub commissioner: Option<String>,
    pub provider: Option<String>,
    pub funding_source: Option<Text>,
    pub financial_year: Text,
    pub basis: Basis,
    pub amount: Pence,
    pub sheet: Text,
    pub cell: String,
}

/// [`IncomeLine`] as stored: its fields in order.
#[derive(Deserialize)]
struct IncomeLineFields(Text, Option<String>, Text, Basis, Pence, Text, String);

impl From<IncomeLineFields> for IncomeLine {
    fn from(f: IncomeLineFields) -> Self {
        IncomeLine {
            funding_source: f.0,
            contributor: f.1,
            financial_year: f.2,
            basis: f.3,
            amount: f.4,
            sheet: f.5,
            cell: f.6,
        }
    }
}

impl Serialize for IncomeLine {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let l = self;
        (&l.funding_source, &l.contributor, &l.financial_year, l.basis, l.amount, &l.sheet, &l.cell).serialize(s)
    }
}

/// [`SchemeLine`] as stored: its fields in order.
#[derive(Deserialize)]
struct SchemeLineFields(
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<Text>,
    Text,
    Basis,
    Pence,
    Text,
    String,
);

impl From<SchemeLineFields> for SchemeLine {
    fn from(f: SchemeLineFields) -> Self {
        SchemeLine {
            scheme_id: f.0,
            scheme_name: f.1,
            scheme_type: f.2,
            area_of_spend: f.3,
            commissioner: f.4,
            provider: f.5,
            funding_source: f.6,
            financial_year: f.7,
            basis: f.8,
            amount: f.9,
            sheet: f.10,
            cell: f.11,
        }
    }
}

impl Serialize for SchemeLine {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let l = self;
        let (id, name, kind, spend) = (&l.scheme_id, &l.scheme_name, &l.scheme_type, &l.area_of_spend);
        let (commissioner, provider, source) = (&l.commissioner, &l.provider, &l.funding_source);
        (id, name, kind, spend, commissioner, provider, source, &l.financial_year, l.basis, l.amount, &l.sheet, &l.cell)
            .serialize(s)
    }
}

/// One published minimum allocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocation {
    pub area_code: String,
    pub funding_source: String,
    pub financial_year: String,
    pub amount: Pence,
}

/// Where a stream's stored total sits, so cross-file findings can point at it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamCell {
    pub funding_source: Text,
    pub financial_year: Text,
    pub basis: Basis,
    pub sheet: Text,
    pub cell: String,
}

/// Everything read from one file. Serializable, so it can be cached between runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedFile {
    pub template_id: Option<String>,
    pub is_allocations: bool,
    pub area_code: Option<String>,
    pub area_name: Option<String>,
    /// ISO `yyyy-mm-dd`.
    pub submission_date: Option<String>,
    pub financial_years: Vec<String>,
    pub lines: Vec<IncomeLine>,
    pub schemes: Vec<SchemeLine>,
    pub allocations: Vec<Allocation>,
    /// The years an allocations workbook covers.
    pub allocation_years: Vec<String>,
    pub stream_cells: Vec<StreamCell>,
    pub findings: Vec<Finding>,
    /// The parse failed for a reason that may not recur (a caught panic): never cached.
    #[serde(default)]
    pub transient: bool,
}

impl ParsedFile {
    fn failed(finding: Finding) -> Self {
        ParsedFile { findings: vec![finding], ..Default::default() }
    }
}

fn open_finding(e: OpenError) -> Finding {
    match e {
        OpenError::Unreadable(m) => Finding::file(Rule::FileUnreadable, m),
        OpenError::TooLarge(m) => Finding::file(Rule::FileTooLarge, m),
    }
}

/// Reads and checks one workbook. Never panics on bad input by design; the caller still
/// catches panics at the file boundary.
pub fn parse_file(path: &Path, ctx: &Context<'_>) -> ParsedFile {
    parse_file_from(path, None, ctx)
}

/// [`parse_file`], from the file's bytes when they have been read already.
pub fn parse_file_from(path: &Path, bytes: Option<Vec<u8>>, ctx: &Context<'_>) -> ParsedFile {
    let opened = match bytes {
        Some(bytes) => Workbook::open_source(path, crate::workbook::Source::from_bytes(bytes), ctx.limits),
        None => Workbook::open(path, ctx.limits),
    };
    let mut wb = match opened {
        Ok(wb) => wb,
        Err(e) => return ParsedFile::failed(open_finding(e)),
    };
    let template = match recognise::recognise(&mut wb, ctx.schemas) {
        Ok(Some(t)) => t,
        Ok(None) => return ParsedFile::failed(recognise::unknown_finding(&mut wb, ctx.schemas)),
        Err(e) => return ParsedFile::failed(open_finding(e)),
    };
    let mut out = ParsedFile { template_id: Some(template.id.clone()), ..Default::default() };
    let result = match template.kind {
        TemplateKind::Allocations => {
            out.is_allocations = true;
            allocations::read(&mut wb, template, &mut out)
        }
        TemplateKind::Return => read_return(&mut wb, template, ctx, &mut out),
    };
    if let Err(e) = result {
        out.findings.push(open_finding(e));
    }
    out
}

fn read_return(
    wb: &mut Workbook,
    template: &crate::schema::TemplateSpec,
    ctx: &Context<'_>,
    out: &mut ParsedFile,
) -> Result<(), OpenError> {
    out.financial_years = template.financial_years();
    let cover = cover::read(wb, template, &mut out.findings)?;
    out.submission_date = cover.submission_date.clone();
    if let Some((name, pos, sheet)) = &cover.hwb_name {
        let years: Vec<_> = out.financial_years.iter().filter_map(|y| crate::model::FinancialYear::parse(y)).collect();
        match ctx.areas.match_name(name, &years) {
            AreaMatch::Found { code, name } => {
                out.area_code = Some(code);
                out.area_name = Some(name);
            }
            AreaMatch::NotInYears { name: n, first, last } => out.findings.push(Finding::cell(
                Rule::AreaNotInYear,
                sheet,
                *pos,
                format!(
                    "\"{name}\" is {n}, which exists from {first}{} and so not in every year of this return ({})",
                    last.map(|l| format!(" to {l}")).unwrap_or_default(),
                    out.financial_years.join(", ")
                ),
            )),
            AreaMatch::Unknown => out.findings.push(Finding::cell(
                Rule::AreaUnknown,
                sheet,
                *pos,
                format!(
                    "\"{name}\" is not a Health and Wellbeing Board; choose the area's name from the drop-down list"
                ),
            )),
        }
    }
    income::read(wb, template, ctx.schemas, out)?;
    expenditure::read(wb, template, out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_schemes_are_stored_as_arrays_and_read_back_whole() {
        let line = IncomeLine {
            funding_source: "nhs_minimum".into(),
            contributor: None,
            financial_year: "2023-24".into(),
            basis: Basis::Plan,
            amount: Pence(123_456_789),
            sheet: "5. Income".into(),
            cell: "C8".into(),
        };
        let scheme = SchemeLine {
            scheme_id: Some("7".into()),
            scheme_name: Some("Reablement, \"home first\"".into()),
            scheme_type: None,
            area_of_spend: Some("Acute".into()),
            commissioner: None,
            provider: Some("NHS".into()),
            funding_source: Some("dfg".into()),
            financial_year: "2024-25".into(),
            basis: Basis::Actual,
            amount: Pence(1),
            sheet: "6. Expenditure".into(),
            cell: "H12".into(),
        };
        let parsed = ParsedFile { lines: vec![line], schemes: vec![scheme], ..Default::default() };
        let json = serde_json::to_value(&parsed).unwrap();
        assert_eq!(
            json["lines"][0],
            serde_json::json!(["nhs_minimum", null, "2023-24", "plan", 123456789, "5. Income", "C8"])
        );
        assert_eq!(json["schemes"][0].as_array().map(Vec::len), Some(12));
        let back: ParsedFile = serde_json::from_value(json).unwrap();
        assert_eq!(back, parsed);
        // A line stored in another form is an error (its cache entry is then parsed again).
        let old = r#"{"funding_source":"dfg","contributor":null,"financial_year":"2023-24","basis":"plan","amount":1,"sheet":"S","cell":"A1"}"#;
        assert!(serde_json::from_str::<IncomeLine>(old).is_err());
    }
}
