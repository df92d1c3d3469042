//! The scheme table (catalogue §2.4), and planned expenditure against income per source.

use super::income::TOLERANCE;
use super::{cells, ParsedFile, SchemeLine};
use crate::model::{ArcStr, Basis, CellPos, FinancialYear, Finding, Pence, Rule};
use crate::schema::TemplateSpec;
use crate::workbook::{norm, OpenError, Workbook};
use std::collections::BTreeMap;

pub fn read(wb: &mut Workbook, t: &TemplateSpec, out: &mut ParsedFile) -> Result<(), OpenError> {
    let Some(spec) = &t.expenditure else {
        return Ok(());
    };
    let Some(name) = wb.resolve_sheet(&spec.sheet) else {
        out.findings.push(Finding::file(Rule::FieldMissing, format!("the sheet '{}' is missing", spec.sheet)));
        return Ok(());
    };
    let sheet = wb.sheet(&name)?;
    let sheet_name: ArcStr = name.as_str().into();
    let header = norm(&spec.header);
    let Some(hpos) = sheet.find_label(&header) else {
        out.findings.push(Finding::sheet(
            Rule::FieldMissing,
            &name,
            format!("the scheme table (header \"{}\") is missing", spec.header),
        ));
        return Ok(());
    };
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
    let scheme_id = required(&c.scheme_id);
    let scheme_name = required(&c.scheme_name);
    let funding = required(&c.funding_source);
    let amounts: Vec<(usize, Option<u32>)> =
        spec.amount_columns.iter().enumerate().map(|(i, a)| (i, required(&a.title))).collect();
    let optional = |t: &Option<String>| t.as_deref().and_then(find_col);
    let (scheme_type, area_of_spend, commissioner, provider) =
        (optional(&c.scheme_type), optional(&c.area_of_spend), optional(&c.commissioner), optional(&c.provider));
    for title in missing {
        out.findings.push(Finding::cell(
            Rule::FieldMissing,
            &name,
            hpos,
            format!("the column \"{title}\" is missing from the scheme table's header"),
        ));
    }
    let (Some(scheme_id), Some(scheme_name), Some(funding)) = (scheme_id, scheme_name, funding) else {
        return Ok(());
    };
    let amounts: Vec<(usize, u32)> = amounts.into_iter().filter_map(|(i, c)| c.map(|c| (i, c))).collect();
    let last_col = sheet.row(hpos.row).map(|(p, _)| p.col).max().unwrap_or(hpos.col);

    let mut blank_run = 0u32;
    let last_row = sheet.last_row().unwrap_or(hpos.row);
    // Room for a line per amount column of every row up to the last (a stray cell far below
    // the table is not taken at its word).
    out.schemes.reserve((((last_row - hpos.row) as usize) * amounts.len()).min(4096));
    for row in hpos.row + 1..=last_row {
        let blank = sheet.row(row).filter(|(p, _)| p.col >= hpos.col && p.col <= last_col).all(|(_, c)| c.is_blank());
        if blank {
            blank_run += 1;
            // A gap longer than the template's pre-formatted rows ends the table: what lies
            // beyond it is a stray value, not a scheme.
            if blank_run > spec.table_rows {
                break;
            }
            continue;
        }
        blank_run = 0;
        let txt = |col: Option<u32>| col.and_then(|c| cells::text(sheet, CellPos::new(row, c)));
        // The row's descriptive cells, read once for all its amount columns.
        let mut described: Option<[Option<String>; 6]> = None;
        let mut source: Option<Option<ArcStr>> = None;
        for &(i, col) in &amounts {
            let pos = CellPos::new(row, col);
            let Some(amount) = cells::amount(sheet, pos, &mut out.findings) else {
                continue;
            };
            let src = source
                .get_or_insert_with(|| {
                    cells::funding_source(
                        sheet,
                        CellPos::new(row, funding),
                        &spec.funding_source_values,
                        &spec.columns.funding_source.to_lowercase(),
                        &mut out.findings,
                    )
                })
                .clone();
            let a = &spec.amount_columns[i];
            let [scheme_id, scheme_name, scheme_type, area_of_spend, commissioner, provider] = described
                .get_or_insert_with(|| {
                    [Some(scheme_id), Some(scheme_name), scheme_type, area_of_spend, commissioner, provider].map(txt)
                })
                .clone();
            out.schemes.push(SchemeLine {
                scheme_id,
                scheme_name,
                scheme_type,
                area_of_spend,
                commissioner,
                provider,
                funding_source: src,
                financial_year: a.financial_year,
                basis: a.basis,
                amount,
                sheet: sheet_name.clone(),
                cell: pos.a1(),
            });
        }
    }
    check_against_income(out, &name);
    Ok(())
}

/// Per funding source and planned year, expenditure should spend what the income provides.
fn check_against_income(out: &mut ParsedFile, sheet: &str) {
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
                "planned expenditure funded by {source} in {year} is {} but the income for it is {}; the schemes should spend what is pooled",
                e.to_gbp(),
                i.to_gbp()
            ),
        ));
    }
}
