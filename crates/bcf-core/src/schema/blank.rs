//! A schema checked against the blank template workbook it describes: every title, sheet,
//! label, section header and column title the schema names must be found exactly once where
//! the reader will look for it. What is missing or ambiguous is listed with its sheet and cell,
//! so a person onboarding a template year can correct the schema before any return arrives.

use super::{IncomeSpec, TemplateSpec};
use crate::model::{column_index, CellPos};
use crate::workbook::{folds_to, folds_to_prefix, norm, OpenError, Sheet, Workbook};
use std::fmt;

/// One thing the schema names that the blank does not hold exactly once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlankProblem {
    pub sheet: Option<String>,
    pub what: String,
    /// Where it was found: empty when missing, two or more when ambiguous.
    pub cells: Vec<String>,
}

impl fmt::Display for BlankProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sheet = self.sheet.as_deref().map(|s| format!("{s}: ")).unwrap_or_default();
        match self.cells.as_slice() {
            [] => write!(f, "{sheet}{} is missing", self.what),
            cells => write!(f, "{sheet}{} is ambiguous: found at {}", self.what, cells.join(", ")),
        }
    }
}

/// Checks `t` against a blank workbook.
pub fn check(t: &TemplateSpec, wb: &mut Workbook) -> Result<Vec<BlankProblem>, OpenError> {
    let mut out = Vec::new();
    let r = &t.recognise;
    for s in std::iter::once(&r.sheet).chain(&r.required_sheets) {
        if wb.resolve_sheet(s).is_none() {
            out.push(BlankProblem { sheet: None, what: format!("the sheet '{s}'"), cells: Vec::new() });
        }
    }
    if let Some(sheet) = sheet(wb, &r.sheet)? {
        let column = r.title_column.as_deref().and_then(column_index);
        let near_top = |p: CellPos| p.row < r.title_rows;
        let title = norm(&r.title);
        let found = find(&sheet, |p, text| near_top(p) && in_column(p, column) && folds_to(text, &title));
        expect_once(&mut out, &sheet, format!("the title \"{}\"", r.title), found);
    }
    if let (Some(c), Some(sheet)) = (
        &t.cover,
        match &t.cover {
            Some(c) => sheet(wb, &c.sheet)?,
            None => None,
        },
    ) {
        let column = c.label_column.as_deref().and_then(column_index);
        for f in &c.fields {
            let label = norm(&f.label);
            let found = find(&sheet, |p, text| in_column(p, column) && folds_to(text, &label));
            expect_once(&mut out, &sheet, format!("the cover label \"{}\"", f.label), found);
        }
    }
    if let Some(inc) = &t.income {
        if let Some(sheet) = sheet(wb, &inc.sheet)? {
            check_income(&mut out, &sheet, inc);
        }
    }
    if let Some(e) = &t.expenditure {
        if let Some(sheet) = sheet(wb, &e.sheet)? {
            let header = norm(&e.header);
            let found = find(&sheet, |_, text| folds_to(text, &header));
            if let Some(row) = expect_once(&mut out, &sheet, format!("the scheme table header \"{}\"", e.header), found)
            {
                let c = &e.columns;
                let optional = [&c.scheme_type, &c.area_of_spend, &c.commissioner, &c.provider];
                let titles =
                    [&c.scheme_id, &c.scheme_name, &c.funding_source].into_iter().chain(optional.into_iter().flatten());
                for title in titles.chain(e.amount_columns.iter().map(|a| &a.title)) {
                    in_header_row(&mut out, &sheet, row.row, title, "scheme table");
                }
            }
        }
    }
    Ok(out)
}

fn check_income(out: &mut Vec<BlankProblem>, sheet: &Sheet, inc: &IncomeSpec) {
    for s in &inc.sections {
        let header = norm(&s.header);
        let Some(h) =
            expect_once(out, sheet, format!("the section \"{}\"", s.header), find(sheet, |_, t| folds_to(t, &header)))
        else {
            continue;
        };
        let what = format!("section \"{}\"", s.header);
        for title in inc.amount_columns.iter().map(|c| &c.title).chain(&s.funding_source_column) {
            in_header_row(out, sheet, h.row, title, &what);
        }
        let total = norm(&s.total);
        let below = find(sheet, |p, t| p.row > h.row && p.col == h.col && folds_to(t, &total));
        expect_once(
            out,
            sheet,
            format!("the total \"{}\" below section \"{}\"", s.total, s.header),
            below.into_iter().take(1).collect(),
        );
    }
    for title in &inc.ignored_columns {
        let t = norm(title);
        if find(sheet, |_, text| folds_to(text, &t)).is_empty() {
            out.push(BlankProblem {
                sheet: Some(sheet.name.clone()),
                what: format!("the column \"{title}\""),
                cells: Vec::new(),
            });
        }
    }
    for q in &inc.questions {
        let prefix = norm(&q.label_prefix);
        let found = find(sheet, |_, t| folds_to_prefix(t, &prefix));
        expect_once(out, sheet, format!("the question \"{}…\"", q.label_prefix), found);
    }
    for g in &inc.grand_totals {
        let label = norm(&g.label);
        expect_once(out, sheet, format!("the total \"{}\"", g.label), find(sheet, |_, t| folds_to(t, &label)));
    }
}

fn in_column(p: CellPos, column: Option<u32>) -> bool {
    column.is_none_or(|c| p.col == c)
}

/// A column title, once in a header row.
fn in_header_row(out: &mut Vec<BlankProblem>, sheet: &Sheet, row: u32, title: &str, what: &str) {
    let t = norm(title);
    let found = find(sheet, |p, text| p.row == row && folds_to(text, &t));
    expect_once(out, sheet, format!("the column \"{title}\" in the header of the {what}"), found);
}

/// Text cells for which `hit` holds.
fn find(sheet: &Sheet, hit: impl Fn(CellPos, &str) -> bool) -> Vec<CellPos> {
    sheet.cells().filter_map(|(p, c)| c.text().filter(|t| hit(p, t)).map(|_| p)).collect()
}

/// The one place `what` was found; a problem if it was found none or several times.
fn expect_once(out: &mut Vec<BlankProblem>, sheet: &Sheet, what: String, found: Vec<CellPos>) -> Option<CellPos> {
    if found.len() == 1 {
        return found.first().copied();
    }
    let cells = found.iter().map(|p| p.a1()).collect();
    out.push(BlankProblem { sheet: Some(sheet.name.clone()), what, cells });
    None
}

fn sheet(wb: &mut Workbook, name: &str) -> Result<Option<Sheet>, OpenError> {
    match wb.resolve_sheet(name) {
        Some(n) => Ok(Some(wb.sheet(&n)?.clone())),
        None => Ok(None),
    }
}

/// The template a blank workbook is of: the one whose id is the file's name (without its
/// extension), or else the one whose title and sheets it holds.
pub fn template_for<'a>(set: &'a super::SchemaSet, file_stem: &str, wb: &mut Workbook) -> Option<&'a TemplateSpec> {
    if let Some(t) = set.template(file_stem) {
        return Some(t);
    }
    set.templates.iter().find(|t| {
        check(t, wb).is_ok_and(|problems| {
            problems.iter().all(|p| !p.what.starts_with("the title") && !p.what.starts_with("the sheet"))
        })
    })
}
