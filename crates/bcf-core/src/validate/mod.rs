//! Validate one file: read it against its template schema into lines, schemes and findings
//! (`parse`), and check its minimum contributions against published allocations (`minimum`).
//!
//! Validation never fails: a bad return yields findings, not `Err`. Per file it reads only the
//! sheets the schema names. The rules across files (resubmissions, conflicts) are the
//! pipeline's; so are the parse cache, the panic boundary and worker processes.

pub mod allocations;
pub mod cells;
mod cover;
mod expenditure;
pub mod failures;
mod income;
pub mod minimum;
mod recognise;

pub use failures::{needs_more_memory, panic_message, reader_failed, takes_too_long, LimitSetBy, MemoryLimit};
pub use minimum::AllocationTable;

use crate::model::{truncate, ArcStr, Basis, Date, FinancialYear, Finding, Findings, Pence, Rule};
use crate::reference::{AreaMatch, Areas};
use crate::schema::{SchemaSet, TemplateKind, TemplateSpec};
use crate::workbook::{Limits, OpenError, Workbook};
use serde::{Deserialize, Serialize};

/// What the validate stage needs besides the file.
pub struct Context<'a> {
    pub schemas: &'a SchemaSet,
    pub areas: &'a Areas,
    pub limits: Limits,
}

/// One income line: one contributor's amount for one year and basis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncomeLine {
    pub funding_source: ArcStr,
    pub contributor: Option<String>,
    pub financial_year: FinancialYear,
    pub basis: Basis,
    pub amount: Pence,
    pub sheet: ArcStr,
    pub cell: String,
}

/// One scheme's amount in one expenditure column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemeLine {
    pub scheme_id: Option<String>,
    pub scheme_name: Option<String>,
    pub scheme_type: Option<String>,
    pub area_of_spend: Option<String>,
    pub commissioner: Option<String>,
    pub provider: Option<String>,
    pub funding_source: Option<ArcStr>,
    pub financial_year: FinancialYear,
    pub basis: Basis,
    pub amount: Pence,
    pub sheet: ArcStr,
    pub cell: String,
    /// The scheme's row, 0-based: what joins it to its [`SchemeField`]s.
    pub row: u32,
}

/// A cover field's value as typed (a date as `2023-06-17`), by the schema's name for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoverField {
    pub field: String,
    pub label: String,
    pub value: String,
    pub sheet: ArcStr,
    pub cell: String,
}

/// A scheme's value in a column the schema names beyond the fixed ones (`extra_columns`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemeField {
    pub sheet: ArcStr,
    /// The scheme's row, 0-based (Excel's row number less one), as in [`SchemeLine::row`].
    pub row: u32,
    pub field: ArcStr,
    pub value: String,
}

/// One published minimum allocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocation {
    pub area_code: String,
    pub funding_source: String,
    pub financial_year: FinancialYear,
    pub amount: Pence,
}

/// What an allocations workbook holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocations {
    /// The years it covers.
    pub years: Vec<FinancialYear>,
    pub rows: Vec<Allocation>,
    /// Allocation columns whose stream the schema does not name (`Sheet!E5: "title"`): not read,
    /// so the run warns about them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unnamed_columns: Vec<String>,
}

/// Where a stream's stored total sits, so cross-file findings can point at it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamCell {
    pub funding_source: ArcStr,
    pub financial_year: FinancialYear,
    pub basis: Basis,
    pub sheet: ArcStr,
    pub cell: String,
}

/// Everything read from one file. Serializable, so it can be cached between runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedFile {
    pub template_id: Option<String>,
    pub area_code: Option<String>,
    pub area_name: Option<String>,
    pub submission_date: Option<Date>,
    pub financial_years: Vec<FinancialYear>,
    pub lines: Vec<IncomeLine>,
    pub schemes: Vec<SchemeLine>,
    /// Every cover field the schema names that has a value.
    pub cover_fields: Vec<CoverField>,
    /// The schemes' values in the schema's extra columns.
    pub scheme_fields: Vec<SchemeField>,
    /// Present for an allocations workbook.
    pub allocations: Option<Allocations>,
    pub stream_cells: Vec<StreamCell>,
    pub findings: Findings,
}

/// The form parses are stored in (the parse cache): part of their cache key, so a parse stored
/// in an earlier form is parsed again, never misread. Bump it when [`ParsedFile`] changes.
pub const PARSE_FORMAT: u32 = 5;

impl ParsedFile {
    pub fn failed(finding: Finding) -> Self {
        let mut findings = Findings::new();
        findings.push(finding);
        ParsedFile { findings, ..Default::default() }
    }

    pub fn is_allocations(&self) -> bool {
        self.allocations.is_some()
    }
}

/// Words that say what to do; a message of a workbook that cannot be read has one of them.
const ACTIONS: [&str; 4] = ["resubmit", "send the return", "run again", "send it"];

fn open_finding(e: OpenError) -> Finding {
    let (finding, sheet) = match e {
        OpenError::Unreadable { message, detail, sheet } if ACTIONS.iter().any(|a| message.contains(a)) => {
            (Finding::file(Rule::FileUnreadable, message).with_detail(detail), sheet)
        }
        // A cause without its own action still tells the sender what to try.
        OpenError::Unreadable { message, detail, sheet } => (
            Finding::file(Rule::FileUnreadable, format!("{message}; open it in Excel, save it again as .xlsx and resubmit"))
                .with_detail(detail),
            sheet,
        ),
        OpenError::TooLarge { message, sheet } if message.contains("resubmit") => {
            (Finding::file(Rule::FileTooLarge, message), sheet)
        }
        OpenError::TooLarge { message, sheet } => (
            Finding::file(
                Rule::FileTooLarge,
                format!("{message}; delete stray content far from the tables and sheets the template does not have, save the workbook as .xlsx and resubmit"),
            ),
            sheet,
        ),
    };
    Finding { sheet, ..finding }
}

/// The finding for a file larger than the size limit, before any of it is read (the pipeline
/// and the self-check page refuse such a file without holding it in memory).
pub fn oversized_file(limits: &Limits) -> Finding {
    open_finding(crate::workbook::sniff::too_large_file(limits))
}

/// Reads and checks one workbook from its bytes. Never panics on bad input by design; the
/// caller still catches panics at the file boundary (see [`reader_failed`]).
pub fn parse(bytes: Vec<u8>, ctx: &Context<'_>) -> ParsedFile {
    let mut wb = match Workbook::open(bytes, ctx.limits) {
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
            out.allocations = Some(Allocations::default());
            allocations::read(&mut wb, template, &mut out)
        }
        TemplateKind::Return => read_return(&mut wb, template, ctx, &mut out),
    };
    if let Err(e) = result {
        out.findings.push(open_finding(e));
    }
    out.findings.finish();
    out
}

fn read_return(
    wb: &mut Workbook,
    template: &TemplateSpec,
    ctx: &Context<'_>,
    out: &mut ParsedFile,
) -> Result<(), OpenError> {
    out.financial_years = template.financial_years();
    let cover = cover::read(wb, template, &mut out.findings)?;
    out.submission_date = cover.submission_date;
    out.cover_fields = cover.fields;
    if let Some((name, pos, sheet)) = &cover.hwb_name {
        match ctx.areas.match_name(name, &out.financial_years) {
            AreaMatch::Found { code, name } => {
                out.area_code = Some(code);
                out.area_name = Some(name);
            }
            AreaMatch::NotInYears { name: n, first, last } => out.findings.push(Finding::cell(
                Rule::AreaNotInYear,
                sheet,
                *pos,
                format!(
                    "\"{}\" is {n}, which exists from {first}{} and so not in every year of this return ({})",
                    truncate(name),
                    last.map(|l| format!(" to {l}")).unwrap_or_default(),
                    out.financial_years.iter().map(|y| y.to_string()).collect::<Vec<_>>().join(", ")
                ),
            )),
            AreaMatch::Unknown => out.findings.push(Finding::cell(
                Rule::AreaUnknown,
                sheet,
                *pos,
                format!(
                    "\"{}\" is not a Health and Wellbeing Board; choose the area's name from the drop-down list",
                    truncate(name)
                ),
            )),
        }
    }
    income::read(wb, template, out)?;
    expenditure::read(wb, template, ctx.schemas, out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unreadable_finding_says_what_to_do() {
        let bare = open_finding(OpenError::unreadable_because("the workbook is odd", "library words"));
        assert_eq!(bare.message, "the workbook is odd; open it in Excel, save it again as .xlsx and resubmit");
        assert_eq!(bare.detail.as_deref(), Some("library words"), "the library's words stay detail");
        let own = open_finding(OpenError::unreadable("the file is empty; send the return again"));
        assert_eq!(own.message, "the file is empty; send the return again", "an action of its own is kept as is");
        let big = open_finding(OpenError::too_large("sheet 'A' has more than 2 filled cells").on_sheet("A"));
        assert_eq!(big.sheet.as_deref(), Some("A"), "the sheet it is about");
        assert!(big.message.ends_with("save the workbook as .xlsx and resubmit"), "{}", big.message);
    }
}
