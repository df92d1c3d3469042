//! The scheme table (catalogue §2.4), and planned expenditure against income per source.

use super::income::TOLERANCE;
use super::{cells, ParsedFile, SchemeField, SchemeLine};
use crate::model::{ArcStr, Basis, CellPos, FinancialYear, Finding, Findings, Pence, Rule};
use crate::schema::{ExpenditureSpec, SchemaSet, TemplateSpec};
use crate::workbook::{norm, OpenError, Sheet, Workbook};
use std::collections::BTreeMap;

pub fn read(wb: &mut Workbook, t: &TemplateSpec, schemas: &SchemaSet, out: &mut ParsedFile) -> Result<(), OpenError> {
    let Some(spec) = &t.expenditure else {
        return Ok(());
    };
    let Some(name) = cells::sheet_named(wb, &spec.sheet, &mut out.findings) else {
        return Ok(());
    };
    let sheet = wb.sheet(&name)?;
    let Some(hpos) = sheet.find_label(&norm(&spec.header)) else {
        out.findings.push(Finding::sheet(
            Rule::FieldMissing,
            &name,
            format!("the scheme table (header \"{}\") is missing", spec.header),
        ));
        return Ok(());
    };
    if let Some(table) = Table::locate(sheet, hpos, spec, &mut out.findings) {
        table.read_rows(sheet, spec, out);
    }
    check_against_income(out, &name, schemas);
    Ok(())
}

/// Where the scheme table's columns are, found by their header titles.
struct Table {
    header: CellPos,
    last_col: u32,
    /// scheme id, scheme name, scheme type, area of spend, commissioner, provider.
    described: [Option<u32>; 6],
    funding: u32,
    /// (index into the schema's amount columns, sheet column).
    amounts: Vec<(usize, u32)>,
    /// (field name, sheet column) of the schema's extra columns found in the header.
    extra: Vec<(ArcStr, u32)>,
}

impl Table {
    /// Finds every column; a required one that is missing is a finding, and with any of the
    /// identifying columns missing there is no table to read.
    fn locate(sheet: &Sheet, hpos: CellPos, spec: &ExpenditureSpec, findings: &mut Findings) -> Option<Table> {
        let find_col = |title: &str| -> Option<u32> { sheet.find_in_row(hpos.row, &norm(title)) };
        let mut missing = Vec::new();
        let mut required = |title: &str| {
            let c = find_col(title);
            if c.is_none() {
                missing.push(title.to_string());
            }
            c
        };
        let c = &spec.columns;
        let (scheme_id, scheme_name, funding) =
            (required(&c.scheme_id), required(&c.scheme_name), required(&c.funding_source));
        let amounts: Vec<(usize, Option<u32>)> =
            spec.amount_columns.iter().enumerate().map(|(i, a)| (i, required(&a.title))).collect();
        for title in missing {
            findings.push(Finding::cell(
                Rule::FieldMissing,
                &sheet.name,
                hpos,
                format!("the column \"{title}\" is missing from the scheme table's header"),
            ));
        }
        let optional = |t: &Option<String>| t.as_deref().and_then(find_col);
        let described = [
            Some(scheme_id?),
            Some(scheme_name?),
            optional(&c.scheme_type),
            optional(&c.area_of_spend),
            optional(&c.commissioner),
            optional(&c.provider),
        ];
        Some(Table {
            header: hpos,
            last_col: sheet.row(hpos.row).map(|(p, _)| p.col).max().unwrap_or(hpos.col),
            described,
            funding: funding?,
            amounts: amounts.into_iter().filter_map(|(i, c)| c.map(|c| (i, c))).collect(),
            extra: spec
                .extra_columns
                .iter()
                .filter_map(|x| Some((x.field.as_str().into(), find_col(&x.title)?)))
                .collect(),
        })
    }

    /// Reads rows below the header until a gap longer than the template's pre-formatted rows:
    /// what lies beyond it is a stray value, not a scheme.
    fn read_rows(&self, sheet: &Sheet, spec: &ExpenditureSpec, out: &mut ParsedFile) {
        let sheet_name: ArcStr = sheet.name.as_str().into();
        let last_row = sheet.last_row().unwrap_or(self.header.row);
        // Room for a line per amount column of every row up to the last (a stray cell far below
        // the table is not taken at its word).
        out.schemes.reserve((((last_row - self.header.row) as usize) * self.amounts.len()).min(4096));
        let mut blank_run = 0u32;
        for row in self.header.row + 1..=last_row {
            let blank = sheet
                .row(row)
                .filter(|(p, _)| p.col >= self.header.col && p.col <= self.last_col)
                .all(|(_, c)| c.is_blank());
            if !blank {
                blank_run = 0;
                self.read_row(sheet, row, spec, &sheet_name, out);
                continue;
            }
            blank_run += 1;
            if blank_run > spec.table_rows {
                break;
            }
        }
    }

    /// One scheme line per filled amount column of the row.
    fn read_row(&self, sheet: &Sheet, row: u32, spec: &ExpenditureSpec, sheet_name: &ArcStr, out: &mut ParsedFile) {
        let txt = |col: Option<u32>| col.and_then(|c| cells::text(sheet, CellPos::new(row, c)));
        // The row's descriptive cells and funding source, read once for all its amount columns.
        let mut described: Option<[Option<String>; 6]> = None;
        let mut source: Option<Option<ArcStr>> = None;
        for &(i, col) in &self.amounts {
            let pos = CellPos::new(row, col);
            let Some(amount) = cells::amount(sheet, pos, &mut out.findings) else {
                continue;
            };
            let funding_source = source
                .get_or_insert_with(|| {
                    cells::funding_source(
                        sheet,
                        CellPos::new(row, self.funding),
                        &spec.funding_source_values,
                        &spec.columns.funding_source.to_lowercase(),
                        &mut out.findings,
                    )
                })
                .clone();
            let [scheme_id, scheme_name, scheme_type, area_of_spend, commissioner, provider] =
                described.get_or_insert_with(|| self.described.map(txt)).clone();
            let a = &spec.amount_columns[i];
            out.schemes.push(SchemeLine {
                scheme_id,
                scheme_name,
                scheme_type,
                area_of_spend,
                commissioner,
                provider,
                funding_source,
                financial_year: a.financial_year,
                basis: a.basis,
                amount,
                sheet: sheet_name.clone(),
                cell: pos.a1(),
                row,
            });
        }
        if described.is_some() {
            self.read_extra(sheet, row, sheet_name, out);
        }
    }

    /// A scheme row's values in the schema's extra columns.
    fn read_extra(&self, sheet: &Sheet, row: u32, sheet_name: &ArcStr, out: &mut ParsedFile) {
        for (field, col) in &self.extra {
            let value = sheet.get(CellPos::new(row, *col)).map(cells::as_typed).filter(|v| !v.is_empty());
            if let Some(value) = value {
                out.scheme_fields.push(SchemeField { sheet: sheet_name.clone(), row, field: field.clone(), value });
            }
        }
    }
}

/// Per funding source and planned year, expenditure should spend what the income provides.
fn check_against_income(out: &mut ParsedFile, sheet: &str, schemas: &SchemaSet) {
    // (year, funding source) → (planned spend, planned income).
    let mut sums: BTreeMap<(FinancialYear, &str), (Pence, Pence)> = BTreeMap::new();
    let mut plan_years: Vec<FinancialYear> = Vec::new();
    for s in out.schemes.iter().filter(|s| s.basis == Basis::Plan) {
        if !plan_years.contains(&s.financial_year) {
            plan_years.push(s.financial_year);
        }
        if let Some(src) = &s.funding_source {
            sums.entry((s.financial_year, src)).or_default().0 += s.amount;
        }
    }
    for l in out.lines.iter().filter(|l| l.basis == Basis::Plan) {
        sums.entry((l.financial_year, &l.funding_source)).or_default().1 += l.amount;
    }
    let mut mismatches = Vec::new();
    for (key, (e, i)) in sums {
        // A template without planned expenditure for a year has nothing to compare.
        if plan_years.contains(&key.0) && e.abs_diff(i) > TOLERANCE {
            mismatches.push((key.0, key.1.to_string(), e, i));
        }
    }
    for (year, source, e, i) in mismatches {
        out.findings.push(Finding::sheet(
            Rule::ExpenditureIncomeMismatch,
            sheet,
            format!(
                "planned expenditure funded by the {} in {year} is {} but the income for it is {}; the schemes should spend what is pooled",
                schemas.source_name(&source),
                e.to_gbp(),
                i.to_gbp()
            ),
        ));
    }
}
