//! The published allocations workbook (catalogue §2.5): per area, year and stream.

use super::{cells, Allocation, Allocations, ParsedFile};
use crate::model::{CellPos, FinancialYear, Finding, Rule};
use crate::schema::{AllocationsSpec, TemplateSpec};
use crate::workbook::{norm, OpenError, Sheet, Workbook};

pub fn read(wb: &mut Workbook, t: &TemplateSpec, out: &mut ParsedFile) -> Result<(), OpenError> {
    let Some(spec) = &t.allocations else {
        return Ok(());
    };
    let Some(name) = cells::sheet_named(wb, &spec.sheet, &mut out.findings) else {
        return Ok(());
    };
    let sheet = wb.sheet(&name)?;
    let code_label = norm(&spec.code_column);
    let Some(hpos) = sheet.find_label(&code_label) else {
        out.findings.push(Finding::sheet(
            Rule::FieldMissing,
            &name,
            format!("the header \"{}\" is missing", spec.code_column),
        ));
        return Ok(());
    };
    let name_label = norm(&spec.name_column);
    let name_col = sheet.find_in_row(hpos.row, &name_label);
    let (columns, unnamed) = stream_columns(sheet, hpos.row, spec);
    if columns.is_empty() {
        out.findings.push(Finding::cell(
            Rule::FieldMissing,
            &name,
            hpos,
            format!("no allocation columns titled \"<stream> <yyyy-yy>{}\" in the header row", spec.column_suffix),
        ));
        return Ok(());
    }
    let total = norm(&spec.total_row_name);
    let last = sheet.last_row().unwrap_or(hpos.row);
    let mut rows = Vec::new();
    for row in hpos.row + 1..=last {
        let row_name = name_col.map(|c| sheet.label_at(CellPos::new(row, c))).unwrap_or_default();
        if row_name == total {
            break;
        }
        let Some(code) = cells::text(sheet, CellPos::new(row, hpos.col)) else {
            continue;
        };
        for (col, src, year) in &columns {
            if let Some(amount) = cells::amount(sheet, CellPos::new(row, *col), &mut out.findings) {
                rows.push(Allocation {
                    area_code: code.clone(),
                    funding_source: src.clone(),
                    financial_year: *year,
                    amount,
                });
            }
        }
    }
    let mut years: Vec<FinancialYear> = columns.iter().map(|c| c.2).collect();
    years.sort();
    years.dedup();
    out.financial_years = years.clone();
    let unnamed_columns = unnamed.into_iter().map(|(pos, title)| format!("{name}!{pos}: \"{title}\"")).collect();
    out.allocations = Some(Allocations { years, rows, unnamed_columns });
    Ok(())
}

/// A column of allocations: its sheet column, the funding source of its stream and its year.
pub type StreamColumn = (u32, String, FinancialYear);

/// The header row's allocation columns, titled `<stream> <yyyy-yy><suffix>`: those whose stream
/// the schema names, and those whose stream it does not (where, and the title as typed), whose
/// allocations would otherwise go unread without a word.
pub fn stream_columns(
    sheet: &Sheet,
    header_row: u32,
    spec: &AllocationsSpec,
) -> (Vec<StreamColumn>, Vec<(CellPos, String)>) {
    let suffix = norm(&spec.column_suffix);
    let mut named = Vec::new();
    let mut unnamed = Vec::new();
    for (pos, cell) in sheet.row(header_row) {
        let Some(typed) = cell.text() else { continue };
        let title = norm(typed);
        let Some(rest) = title.strip_suffix(suffix.as_str()) else {
            continue;
        };
        let Some((stream, year)) = rest.trim().rsplit_once(' ') else {
            continue;
        };
        let Some(year) = FinancialYear::parse(year) else {
            continue;
        };
        match spec.streams.iter().find(|(k, _)| norm(k) == stream.trim()) {
            Some((_, src)) => named.push((pos.col, src.clone(), year)),
            None => unnamed.push((pos, crate::model::truncate(typed))),
        }
    }
    (named, unnamed)
}
