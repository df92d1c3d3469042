//! The scheme table (catalogue §2.4), and planned expenditure against income per source.

use super::income::TOLERANCE;
use super::{cells, ParsedFile, SchemeLine};
use crate::model::{Basis, CellPos, Finding, Pence, Rule};
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
        let mut source: Option<Option<String>> = None;
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
                        "source of funding",
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
                financial_year: a.financial_year.clone(),
                basis: a.basis,
                amount,
                sheet: name.clone(),
                cell: pos.a1(),
            });
        }
    }
    check_against_income(out, &name);
    Ok(())
}

/// Per funding source and planned year, expenditure should spend what the income provides.
fn check_against_income(out: &mut ParsedFile, sheet: &str) {
    let mut spend: BTreeMap<(String, String), Pence> = BTreeMap::new();
    let mut income: BTreeMap<(String, String), Pence> = BTreeMap::new();
    for s in out.schemes.iter().filter(|s| s.basis == Basis::Plan) {
        if let Some(src) = &s.funding_source {
            *spend.entry((s.financial_year.clone(), src.clone())).or_default() += s.amount;
        }
    }
    for l in out.lines.iter().filter(|l| l.basis == Basis::Plan) {
        *income.entry((l.financial_year.clone(), l.funding_source.clone())).or_default() += l.amount;
    }
    let plan_years: Vec<&String> =
        out.schemes.iter().filter(|s| s.basis == Basis::Plan).map(|s| &s.financial_year).collect();
    let mut keys: Vec<(String, String)> = spend.keys().chain(income.keys()).cloned().collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        // A template without planned expenditure for a year has nothing to compare.
        if !plan_years.contains(&&key.0) {
            continue;
        }
        let e = spend.get(&key).copied().unwrap_or_default();
        let i = income.get(&key).copied().unwrap_or_default();
        if e.abs_diff(i) > TOLERANCE {
            out.findings.push(Finding::sheet(
                Rule::ExpenditureIncomeMismatch,
                sheet,
                format!(
                    "planned expenditure funded by {} in {} is {} but the income for it is {}; the schemes should spend what is pooled",
                    key.1,
                    key.0,
                    e.to_gbp(),
                    i.to_gbp()
                ),
            ));
        }
    }
}
