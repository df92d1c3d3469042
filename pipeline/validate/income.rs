//! Income sections, found by their labels wherever rows were inserted (catalogue §2.2, §2.3).

use super::{cells, IncomeLine, ParsedFile, StreamCell};
use crate::model::{CellPos, Finding, Pence, Rule, Text};
use crate::schema::{IncomeSectionSpec, SchemaSet, TemplateSpec};
use crate::workbook::{folds_to, folds_to_prefix, norm, Cell, OpenError, Sheet, Workbook};
use std::collections::BTreeMap;

/// A stored total differing from its lines by more than this is reported.
pub const TOLERANCE: Pence = Pence(100);

pub fn read(wb: &mut Workbook, t: &TemplateSpec, _schemas: &SchemaSet, out: &mut ParsedFile) -> Result<(), OpenError> {
    let Some(spec) = &t.income else { return Ok(()) };
    let Some(name) = wb.resolve_sheet(&spec.sheet) else {
        out.findings.push(Finding::file(Rule::FieldMissing, format!("the sheet '{}' is missing", spec.sheet)));
        return Ok(());
    };
    let sheet = wb.sheet(&name)?;
    let sheet_name: Text = name.as_str().into();

    // Every label that ends a section if its own total row is missing.
    let mut stops: Vec<String> = Vec::new();
    for s in &spec.sections {
        stops.push(norm(&s.header));
        stops.push(norm(&s.total));
    }
    stops.extend(spec.grand_totals.iter().map(|g| norm(&g.label)));
    let question_prefixes: Vec<String> = spec.questions.iter().map(|q| norm(&q.label_prefix)).collect();

    // Amount column positions, by title, from the first section header that has them.
    let mut grand_columns: BTreeMap<usize, u32> = BTreeMap::new();
    // Sum of lines per (amount column index, funding source).
    let mut sums: BTreeMap<(usize, Text), Pence> = BTreeMap::new();

    for section in &spec.sections {
        let header = norm(&section.header);
        let Some(hpos) = sheet.find_label(&header) else {
            if section.required {
                out.findings.push(Finding::sheet(
                    Rule::FieldMissing,
                    &name,
                    format!("the section \"{}\" is missing", section.header),
                ));
            }
            continue;
        };
        let mut columns: Vec<(usize, u32)> = Vec::new();
        for (i, col) in spec.amount_columns.iter().enumerate() {
            let title = norm(&col.title);
            match sheet.find_in_row(hpos.row, &title) {
                Some(col) => {
                    columns.push((i, col));
                    grand_columns.entry(i).or_insert(col);
                }
                None => out.findings.push(Finding::cell(
                    Rule::FieldMissing,
                    &name,
                    hpos,
                    format!(
                        "the column \"{}\" is missing from the header of section \"{}\"",
                        col.title, section.header
                    ),
                )),
            }
        }
        let source_col = match &section.funding_source_column {
            Some(title) => {
                let want = norm(title);
                match sheet.find_in_row(hpos.row, &want) {
                    Some(col) => Some(col),
                    None => {
                        out.findings.push(Finding::cell(
                            Rule::FieldMissing,
                            &name,
                            hpos,
                            format!(
                                "the column \"{title}\" is missing from the header of section \"{}\"",
                                section.header
                            ),
                        ));
                        continue;
                    }
                }
            }
            None => None,
        };

        let total_label = norm(&section.total);
        let (end_row, total_row) = section_end(sheet, hpos, &total_label, &stops, &question_prefixes);
        let mut section_lines = 0usize;
        let mut section_sums: BTreeMap<usize, Pence> = BTreeMap::new();
        for row in hpos.row + 1..end_row {
            let contributor = cells::text(sheet, CellPos::new(row, hpos.col));
            for &(i, col) in &columns {
                let pos = CellPos::new(row, col);
                let Some(amount) = cells::amount(sheet, pos, &mut out.findings) else {
                    continue;
                };
                let Some(source) =
                    line_source(sheet, section, source_col, row, &spec.funding_source_values, &mut out.findings)
                else {
                    continue;
                };
                let col_spec = &spec.amount_columns[i];
                *sums.entry((i, source.clone())).or_default() += amount;
                *section_sums.entry(i).or_default() += amount;
                section_lines += 1;
                out.lines.push(IncomeLine {
                    funding_source: source,
                    contributor: contributor.clone(),
                    financial_year: col_spec.financial_year.clone(),
                    basis: col_spec.basis,
                    amount,
                    sheet: sheet_name.clone(),
                    cell: pos.a1(),
                });
            }
        }
        if section.required && section_lines == 0 {
            out.findings.push(Finding::cell(
                Rule::FieldMissing,
                &name,
                CellPos::new(hpos.row + 1, columns.first().map_or(hpos.col, |c| c.1)),
                format!("the section \"{}\" has no amounts; it is required", section.header),
            ));
        }
        if let Some(trow) = total_row {
            for &(i, col) in &columns {
                let pos = CellPos::new(trow, col);
                let col_spec = &spec.amount_columns[i];
                if let Some(src) = &section.funding_source {
                    out.stream_cells.push(StreamCell {
                        funding_source: src.clone(),
                        financial_year: col_spec.financial_year.clone(),
                        basis: col_spec.basis,
                        sheet: sheet_name.clone(),
                        cell: pos.a1(),
                    });
                }
                let lines = section_sums.get(&i).copied().unwrap_or_default();
                check_total(sheet, pos, &section.total, lines, &mut out.findings);
            }
        }
    }

    for g in &spec.grand_totals {
        let label = norm(&g.label);
        let Some(gpos) = sheet.find_label(&label) else {
            continue;
        };
        for (&i, &col) in &grand_columns {
            let lines: Pence = g
                .funding_sources
                .iter()
                .filter_map(|s| sums.get(&(i, s.clone())))
                .copied()
                .fold(Pence::ZERO, |a, b| a + b);
            check_total(sheet, CellPos::new(gpos.row, col), &g.label, lines, &mut out.findings);
        }
    }

    for q in &spec.questions {
        let prefix = norm(&q.label_prefix);
        let Some(qpos) = sheet.find_label_prefix(&prefix) else {
            continue;
        };
        let Some((apos, answer)) = sheet.value_right_of(qpos) else {
            continue;
        };
        let answer_text = norm(&answer.display());
        let has_lines = out.lines.iter().any(|l| *l.funding_source == *q.funding_source && l.amount.0 != 0);
        let disagrees = match answer_text.as_str() {
            "yes" => !has_lines,
            "no" => has_lines,
            _ => false,
        };
        if disagrees {
            let msg = if has_lines {
                "the answer is \"No\" but amounts are entered below it; answer \"Yes\" or remove the amounts (the amounts are used)"
            } else {
                "the answer is \"Yes\" but no amounts are entered below it; enter the contributions or answer \"No\""
            };
            out.findings.push(Finding::cell(Rule::AdditionalFlagInconsistent, &name, apos, msg));
        }
    }
    Ok(())
}

/// The row after a section's last line, and its total row if found: the section runs to its
/// own total label, or failing that to the next known label.
fn section_end(
    sheet: &Sheet,
    header: CellPos,
    total: &str,
    stops: &[String],
    questions: &[String],
) -> (u32, Option<u32>) {
    let last = sheet.last_row().unwrap_or(header.row);
    for row in header.row + 1..=last {
        let Some(label) = sheet.get(CellPos::new(row, header.col)).and_then(Cell::text).filter(|t| !t.is_empty())
        else {
            continue;
        };
        if folds_to(label, total) {
            return (row, Some(row));
        }
        if stops.iter().any(|s| folds_to(label, s)) || questions.iter().any(|q| folds_to_prefix(label, q)) {
            return (row, None);
        }
    }
    (last + 1, None)
}

/// The funding source of one line: fixed by the section, or read from its own column.
fn line_source(
    sheet: &Sheet,
    section: &IncomeSectionSpec,
    source_col: Option<u32>,
    row: u32,
    values: &BTreeMap<String, Text>,
    findings: &mut Vec<Finding>,
) -> Option<Text> {
    if let Some(s) = &section.funding_source {
        return Some(s.clone());
    }
    let col = source_col?;
    cells::funding_source(sheet, CellPos::new(row, col), values, "contribution type", findings)
}

fn check_total(sheet: &Sheet, pos: CellPos, label: &str, lines: Pence, findings: &mut Vec<Finding>) {
    let Some(stored) = cells::stored_total(sheet, pos) else {
        return;
    };
    if stored.abs_diff(lines) > TOLERANCE {
        findings.push(Finding::cell(
            Rule::TotalMismatch,
            &sheet.name,
            pos,
            format!(
                "\"{label}\" shows {} but its lines add up to {}; the lines are used (recalculate or correct the total)",
                stored.to_gbp(),
                lines.to_gbp()
            ),
        ));
    }
}
