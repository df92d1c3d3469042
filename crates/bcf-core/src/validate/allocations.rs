//! The published allocations workbook (catalogue §2.5): per area, year and stream.

use super::{cells, Allocation, Allocations, ParsedFile};
use crate::model::{CellPos, FinancialYear, Finding, Rule};
use crate::schema::TemplateSpec;
use crate::workbook::{norm, OpenError, Workbook};

pub fn read(wb: &mut Workbook, t: &TemplateSpec, out: &mut ParsedFile) -> Result<(), OpenError> {
    let Some(spec) = &t.allocations else {
        return Ok(());
    };
    let Some(name) = wb.resolve_sheet(&spec.sheet) else {
        out.findings.push(Finding::file(Rule::FieldMissing, format!("the sheet '{}' is missing", spec.sheet)));
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
    let suffix = norm(&spec.column_suffix);
    // (column, funding source, financial year) for every "<stream> <yyyy-yy> (£)" title.
    let mut columns = Vec::new();
    for (pos, cell) in sheet.row(hpos.row) {
        if cell.text().is_none() {
            continue;
        }
        let title = sheet.label_at(pos);
        let Some(rest) = title.strip_suffix(suffix.as_str()) else {
            continue;
        };
        let Some((stream, year)) = rest.trim().rsplit_once(' ') else {
            continue;
        };
        let Some(year) = FinancialYear::parse(year) else {
            continue;
        };
        if let Some((_, src)) = spec.streams.iter().find(|(k, _)| norm(k) == stream.trim()) {
            columns.push((pos.col, src.clone(), year));
        }
    }
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
    out.allocations = Some(Allocations { years, rows });
    Ok(())
}
