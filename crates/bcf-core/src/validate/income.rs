//! Income sections, found by their labels wherever rows were inserted (catalogue §2.2, §2.3):
//! locate each section's columns, read its lines, check its total; then check the grand totals
//! and the Yes/No questions.

use super::{cells, IncomeLine, ParsedFile, StreamCell};
use crate::model::{ArcStr, CellPos, Finding, Findings, Pence, Rule};
use crate::schema::{IncomeSectionSpec, IncomeSpec, TemplateSpec};
use crate::workbook::{folds_to, folds_to_prefix, norm, Cell, OpenError, Sheet, Workbook};
use std::collections::BTreeMap;

/// A stored total differing from its lines by more than this is reported (catalogue §5).
pub const TOLERANCE: Pence = Pence(100);

/// Sums of lines per (amount column index, funding source), for the grand totals.
type Sums = BTreeMap<(usize, ArcStr), Pence>;

pub fn read(wb: &mut Workbook, t: &TemplateSpec, out: &mut ParsedFile) -> Result<(), OpenError> {
    let Some(spec) = &t.income else { return Ok(()) };
    let Some(name) = cells::sheet_named(wb, &spec.sheet, &mut out.findings) else {
        return Ok(());
    };
    let sheet = wb.sheet(&name)?;
    let reader = SectionReader::new(sheet, spec);
    // Amount column positions by index, from the first section header that has them.
    let mut grand_columns: BTreeMap<usize, u32> = BTreeMap::new();
    let mut sums = Sums::new();
    for section in &spec.sections {
        reader.read_section(section, &mut grand_columns, &mut sums, out);
    }
    check_grand_totals(sheet, spec, &grand_columns, &sums, &mut out.findings);
    check_questions(sheet, spec, out);
    Ok(())
}

/// What every section of one sheet shares.
struct SectionReader<'a> {
    sheet: &'a Sheet,
    spec: &'a IncomeSpec,
    sheet_name: ArcStr,
    /// Every label that ends a section if its own total row is missing.
    stops: Vec<String>,
    question_prefixes: Vec<String>,
}

impl<'a> SectionReader<'a> {
    fn new(sheet: &'a Sheet, spec: &'a IncomeSpec) -> Self {
        let mut stops: Vec<String> = spec.sections.iter().flat_map(|s| [norm(&s.header), norm(&s.total)]).collect();
        stops.extend(spec.grand_totals.iter().map(|g| norm(&g.label)));
        let question_prefixes = spec.questions.iter().map(|q| norm(&q.label_prefix)).collect();
        SectionReader { sheet, spec, sheet_name: sheet.name.as_str().into(), stops, question_prefixes }
    }

    fn missing_column(&self, hpos: CellPos, title: &str, section: &IncomeSectionSpec) -> Finding {
        Finding::cell(
            Rule::FieldMissing,
            &self.sheet.name,
            hpos,
            format!("the column \"{title}\" is missing from the header of section \"{}\"", section.header),
        )
    }

    fn read_section(
        &self,
        section: &IncomeSectionSpec,
        grand_columns: &mut BTreeMap<usize, u32>,
        sums: &mut Sums,
        out: &mut ParsedFile,
    ) {
        let Some(hpos) = self.sheet.find_label(&norm(&section.header)) else {
            if section.required {
                let msg = format!("the section \"{}\" is missing", section.header);
                out.findings.push(Finding::sheet(Rule::FieldMissing, &self.sheet.name, msg));
            }
            return;
        };
        let mut columns: Vec<(usize, u32)> = Vec::new();
        for (i, col) in self.spec.amount_columns.iter().enumerate() {
            match self.sheet.find_in_row(hpos.row, &norm(&col.title)) {
                Some(c) => {
                    columns.push((i, c));
                    grand_columns.entry(i).or_insert(c);
                }
                None => out.findings.push(self.missing_column(hpos, &col.title, section)),
            }
        }
        let source_col = match &section.funding_source_column {
            Some(title) => match self.sheet.find_in_row(hpos.row, &norm(title)) {
                Some(c) => Some(c),
                None => return out.findings.push(self.missing_column(hpos, title, section)),
            },
            None => None,
        };
        let (end_row, total_row) = self.section_end(hpos, &norm(&section.total));
        let section_sums = self.read_lines(section, hpos, end_row, &columns, source_col, sums, out);
        if section.required && section_sums.is_empty() {
            out.findings.push(Finding::cell(
                Rule::FieldMissing,
                &self.sheet.name,
                CellPos::new(hpos.row + 1, columns.first().map_or(hpos.col, |c| c.1)),
                format!("the section \"{}\" has no amounts; it is required", section.header),
            ));
        }
        if let Some(trow) = total_row {
            self.check_section_total(section, trow, &columns, &section_sums, out);
        }
    }

    /// Reads the lines between a section's header and `end_row`; the sums per column.
    #[allow(clippy::too_many_arguments)]
    fn read_lines(
        &self,
        section: &IncomeSectionSpec,
        hpos: CellPos,
        end_row: u32,
        columns: &[(usize, u32)],
        source_col: Option<u32>,
        sums: &mut Sums,
        out: &mut ParsedFile,
    ) -> BTreeMap<usize, Pence> {
        let mut section_sums: BTreeMap<usize, Pence> = BTreeMap::new();
        for row in hpos.row + 1..end_row {
            let contributor = cells::text(self.sheet, CellPos::new(row, hpos.col));
            for &(i, col) in columns {
                let pos = CellPos::new(row, col);
                let Some(amount) = cells::amount(self.sheet, pos, &mut out.findings) else {
                    continue;
                };
                let Some(source) = self.line_source(section, source_col, row, &mut out.findings) else {
                    continue;
                };
                let col_spec = &self.spec.amount_columns[i];
                *sums.entry((i, source.clone())).or_default() += amount;
                *section_sums.entry(i).or_default() += amount;
                out.lines.push(IncomeLine {
                    funding_source: source,
                    contributor: contributor.clone(),
                    financial_year: col_spec.financial_year,
                    basis: col_spec.basis,
                    amount,
                    sheet: self.sheet_name.clone(),
                    cell: pos.a1(),
                });
            }
        }
        section_sums
    }

    /// The funding source of one line: fixed by the section, or read from its own column.
    fn line_source(
        &self,
        section: &IncomeSectionSpec,
        source_col: Option<u32>,
        row: u32,
        findings: &mut Findings,
    ) -> Option<ArcStr> {
        if let Some(s) = &section.funding_source {
            return Some(s.clone());
        }
        let (col, title) = source_col.zip(section.funding_source_column.as_deref())?;
        let values = &self.spec.funding_source_values;
        cells::funding_source(self.sheet, CellPos::new(row, col), values, &title.to_lowercase(), findings)
    }

    /// The row after a section's last line, and its total row if found: the section runs to its
    /// own total label, or failing that to the next known label.
    fn section_end(&self, header: CellPos, total: &str) -> (u32, Option<u32>) {
        let last = self.sheet.last_row().unwrap_or(header.row);
        for row in header.row + 1..=last {
            let cell = self.sheet.get(CellPos::new(row, header.col));
            let Some(label) = cell.and_then(Cell::text).filter(|t| !t.is_empty()) else {
                continue;
            };
            if folds_to(label, total) {
                return (row, Some(row));
            }
            let stops = self.stops.iter().any(|s| folds_to(label, s));
            if stops || self.question_prefixes.iter().any(|q| folds_to_prefix(label, q)) {
                return (row, None);
            }
        }
        (last + 1, None)
    }

    fn check_section_total(
        &self,
        section: &IncomeSectionSpec,
        trow: u32,
        columns: &[(usize, u32)],
        section_sums: &BTreeMap<usize, Pence>,
        out: &mut ParsedFile,
    ) {
        for &(i, col) in columns {
            let pos = CellPos::new(trow, col);
            let col_spec = &self.spec.amount_columns[i];
            if let Some(src) = &section.funding_source {
                out.stream_cells.push(StreamCell {
                    funding_source: src.clone(),
                    financial_year: col_spec.financial_year,
                    basis: col_spec.basis,
                    sheet: self.sheet_name.clone(),
                    cell: pos.a1(),
                });
            }
            let lines = section_sums.get(&i).copied().unwrap_or_default();
            check_total(self.sheet, pos, &section.total, lines, &mut out.findings);
        }
    }
}

fn check_grand_totals(
    sheet: &Sheet,
    spec: &IncomeSpec,
    columns: &BTreeMap<usize, u32>,
    sums: &Sums,
    findings: &mut Findings,
) {
    for g in &spec.grand_totals {
        let Some(gpos) = sheet.find_label(&norm(&g.label)) else {
            continue;
        };
        for (&i, &col) in columns {
            let lines = Pence::sum(g.funding_sources.iter().filter_map(|s| sums.get(&(i, s.clone()))));
            check_total(sheet, CellPos::new(gpos.row, col), &g.label, lines, findings);
        }
    }
}

/// Each "Are any additional … Contributions …?" answer against the lines below it.
fn check_questions(sheet: &Sheet, spec: &IncomeSpec, out: &mut ParsedFile) {
    for q in &spec.questions {
        let Some(qpos) = sheet.find_label_prefix(&norm(&q.label_prefix)) else {
            continue;
        };
        let Some((apos, answer)) = sheet.value_right_of(qpos) else {
            continue;
        };
        let answer = norm(&answer.display());
        let has_lines = out.lines.iter().any(|l| *l.funding_source == *q.funding_source && l.amount.0 != 0);
        let (yes, no) = (&q.answers.yes, &q.answers.no);
        let msg = if answer == norm(no) && has_lines {
            format!("the answer is \"{no}\" but amounts are entered below it; answer \"{yes}\" or remove the amounts (the amounts are used)")
        } else if answer == norm(yes) && !has_lines {
            format!("the answer is \"{yes}\" but no amounts are entered below it; enter the contributions or answer \"{no}\"")
        } else {
            continue;
        };
        out.findings.push(Finding::cell(Rule::AdditionalFlagInconsistent, &sheet.name, apos, msg));
    }
}

fn check_total(sheet: &Sheet, pos: CellPos, label: &str, lines: Pence, findings: &mut Findings) {
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
