//! Rules that span files: minimum contributions against the allocations workbooks in the input
//! (catalogue §5), conflicts between an area's returns, the national team's decisions, then
//! every file's status and which of an area's returns is its submission (§6).

use super::decisions::{DecisionRow, Decisions};
use super::{minimum, submissions, AllocationTable, Validated};
use crate::model::{Finding, Status};
use crate::schema::SchemaSet;
use rayon::prelude::*;

/// Applies the cross-file rules, then the national team's decisions, and sets every file's
/// status. `files` is in source-file order. Returns what each decision did.
pub fn apply(files: &mut [Validated], schemas: &SchemaSet, decisions: &Decisions) -> Vec<DecisionRow> {
    check_minimums(files, schemas);
    submissions::find_conflicts(files, schemas);
    let outcomes = super::decisions::apply(files, decisions);
    for f in files.iter_mut() {
        f.status = Status::from_findings(&f.parsed.findings);
    }
    submissions::supersede(files);
    outcomes
}

/// The allocations of the readable allocations workbooks in the input, in source order.
fn allocation_table(files: &[Validated]) -> AllocationTable {
    let usable = files
        .iter()
        .filter(|f| Status::from_findings(&f.parsed.findings) != Status::Rejected)
        .filter_map(|f| Some((f.source_file.as_str(), f.parsed.allocations.as_ref()?)));
    AllocationTable::from_workbooks(usable)
}

/// Every return's minimum contributions against its area's allocations (the validation core's
/// check, the same one `bcf check` runs), one file per thread.
fn check_minimums(files: &mut [Validated], schemas: &SchemaSet) {
    warn_of_unnamed_streams(files, schemas);
    let table = allocation_table(files);
    let new: Vec<Vec<Finding>> = files.par_iter().map(|f| minimum::findings(&f.parsed, &table, schemas)).collect();
    for (f, new) in files.iter_mut().zip(new) {
        f.parsed.findings.extend(new);
    }
}

/// One warning for the run, naming every allocations column whose stream the schema does not
/// name: those allocations are not read, so no return's minimum is checked against them.
fn warn_of_unnamed_streams(files: &[Validated], schemas: &SchemaSet) {
    let mut columns = Vec::new();
    let mut schema = None;
    for f in files {
        let Some(a) = f.parsed.allocations.as_ref().filter(|a| !a.unnamed_columns.is_empty()) else { continue };
        schema = f.parsed.template_id.as_deref().and_then(|t| schemas.template(t)).map(|t| t.file.clone());
        columns.extend(a.unnamed_columns.iter().map(|c| format!("{} {c}", f.source_file)));
    }
    if let Some(schema) = schema {
        tracing::warn!(
            columns = %columns.join("; "),
            "allocations columns that no stream in {schema} names were not read, so no minimum was checked against them: add each stream to its allocations.streams"
        );
    }
}
