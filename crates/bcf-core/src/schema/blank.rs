//! A schema checked against the blank template workbook it describes (or, for the allocations
//! schema, an allocations workbook): every sheet, title, label, section header and column title
//! the schema names must be found exactly once where the reader will look for it, and every
//! allocation column must belong to a stream the schema names. Each problem names the schema's
//! key (so its file and line) and, where the blank has it, the sheet and cells, so a person
//! onboarding a template year can correct the schema before any return arrives.

use super::{AllocationsSpec, CoverSpec, ExpenditureSpec, IncomeSpec, TemplateSpec, TitleMatch};
use crate::model::{column_index, CellPos};
use crate::workbook::{folds_to, folds_to_prefix, norm, OpenError, Sheet, Workbook};
use std::fmt;

/// One thing the schema names that the blank does not hold exactly once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlankProblem {
    /// The schema key it is about, e.g. `income.sections[2].header`.
    pub key: String,
    pub sheet: Option<String>,
    pub what: String,
    /// Where it was found: empty when missing, two or more when ambiguous.
    pub cells: Vec<String>,
    /// What else the reader would see, to say what to correct (the blank's sheets, say).
    pub hint: Option<String>,
}

impl fmt::Display for BlankProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sheet = self.sheet.as_deref().map(|s| format!("{s}: ")).unwrap_or_default();
        match self.cells.as_slice() {
            [] => write!(f, "{sheet}{} is missing ({})", self.what, self.key)?,
            cells => write!(f, "{sheet}{} is ambiguous ({}): found at {}", self.what, self.key, cells.join(", "))?,
        }
        match &self.hint {
            Some(hint) => write!(f, "; {hint}"),
            None => Ok(()),
        }
    }
}

/// What the check has found so far, and the workbook it reads.
struct Check<'w> {
    wb: &'w mut Workbook,
    out: Vec<BlankProblem>,
}

/// Checks `t` against a blank workbook.
pub fn check(t: &TemplateSpec, wb: &mut Workbook) -> Result<Vec<BlankProblem>, OpenError> {
    let mut c = Check { wb, out: Vec::new() };
    let r = &t.recognise;
    c.sheet_exists("recognise.sheet", &r.sheet);
    for (i, s) in r.required_sheets.iter().enumerate() {
        c.sheet_exists(&format!("recognise.required_sheets[{i}]"), s);
    }
    if let Some(sheet) = c.sheet(&r.sheet)? {
        let column = r.title_column.as_deref().and_then(column_index);
        let title = norm(&r.title);
        let matches = |text: &str| match r.title_match {
            TitleMatch::Exact => folds_to(text, &title),
            TitleMatch::Prefix => folds_to_prefix(text, &title),
        };
        let found = find(&sheet, |p, text| p.row < r.title_rows && in_column(p, column) && matches(text));
        c.expect_once("recognise.title", &sheet, format!("the title \"{}\"", r.title), found);
    }
    if let Some(cover) = &t.cover {
        c.cover(cover)?;
    }
    if let Some(inc) = &t.income {
        if let Some(sheet) = c.sheet_at("income.sheet", &inc.sheet)? {
            c.income(&sheet, inc);
        }
    }
    if let Some(e) = &t.expenditure {
        if let Some(sheet) = c.sheet_at("expenditure.sheet", &e.sheet)? {
            c.expenditure(&sheet, e);
        }
    }
    if let Some(a) = &t.allocations {
        if let Some(sheet) = c.sheet_at("allocations.sheet", &a.sheet)? {
            c.allocations(&sheet, a);
        }
    }
    Ok(c.out)
}

impl Check<'_> {
    /// A sheet the schema names, read; a problem naming the blank's sheets if it has none.
    fn sheet_at(&mut self, key: &str, name: &str) -> Result<Option<Sheet>, OpenError> {
        self.sheet_exists(key, name);
        self.sheet(name)
    }

    fn sheet_exists(&mut self, key: &str, name: &str) {
        if self.wb.resolve_sheet(name).is_some() || self.out.iter().any(|p| p.key == key) {
            return;
        }
        let sheets = self.wb.sheet_names().iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ");
        self.out.push(BlankProblem {
            key: key.into(),
            sheet: None,
            what: format!("the sheet '{name}'"),
            cells: Vec::new(),
            hint: Some(format!("the blank's sheets are {sheets}")),
        });
    }

    fn sheet(&mut self, name: &str) -> Result<Option<Sheet>, OpenError> {
        match self.wb.resolve_sheet(name) {
            Some(n) => Ok(Some(self.wb.sheet(&n)?.clone())),
            None => Ok(None),
        }
    }

    /// The one place `what` was found; a problem if it was found none or several times.
    fn expect_once(&mut self, key: &str, sheet: &Sheet, what: String, found: Vec<CellPos>) -> Option<CellPos> {
        if found.len() == 1 {
            return found.first().copied();
        }
        let cells = found.iter().map(|p| p.a1()).collect();
        self.out.push(BlankProblem { key: key.into(), sheet: Some(sheet.name.clone()), what, cells, hint: None });
        None
    }

    /// A column title, once in a header row.
    fn in_header_row(&mut self, key: &str, sheet: &Sheet, row: u32, title: &str, what: &str) {
        let t = norm(title);
        let found = find(sheet, |p, text| p.row == row && folds_to(text, &t));
        self.expect_once(key, sheet, format!("the column \"{title}\" in the header of the {what}"), found);
    }

    fn cover(&mut self, c: &CoverSpec) -> Result<(), OpenError> {
        let Some(sheet) = self.sheet_at("cover.sheet", &c.sheet)? else { return Ok(()) };
        let column = c.label_column.as_deref().and_then(column_index);
        for (i, f) in c.fields.iter().enumerate() {
            let label = norm(&f.label);
            let found = find(&sheet, |p, text| in_column(p, column) && folds_to(text, &label));
            self.expect_once(
                &format!("cover.fields[{i}].label"),
                &sheet,
                format!("the cover label \"{}\"", f.label),
                found,
            );
        }
        Ok(())
    }

    fn income(&mut self, sheet: &Sheet, inc: &IncomeSpec) {
        for (i, s) in inc.sections.iter().enumerate() {
            let key = format!("income.sections[{i}]");
            let header = norm(&s.header);
            let found = find(sheet, |_, t| folds_to(t, &header));
            let Some(h) =
                self.expect_once(&format!("{key}.header"), sheet, format!("the section \"{}\"", s.header), found)
            else {
                continue;
            };
            let what = format!("section \"{}\"", s.header);
            for (j, c) in inc.amount_columns.iter().enumerate() {
                self.in_header_row(&format!("income.amount_columns[{j}].title"), sheet, h.row, &c.title, &what);
            }
            if let Some(title) = &s.funding_source_column {
                self.in_header_row(&format!("{key}.funding_source_column"), sheet, h.row, title, &what);
            }
            let total = norm(&s.total);
            let below = find(sheet, |p, t| p.row > h.row && p.col == h.col && folds_to(t, &total));
            let what = format!("the total \"{}\" below section \"{}\"", s.total, s.header);
            self.expect_once(&format!("{key}.total"), sheet, what, below.into_iter().take(1).collect());
        }
        for (i, title) in inc.ignored_columns.iter().enumerate() {
            let t = norm(title);
            if find(sheet, |_, text| folds_to(text, &t)).is_empty() {
                let what = format!("the column \"{title}\"");
                self.expect_once(&format!("income.ignored_columns[{i}]"), sheet, what, Vec::new());
            }
        }
        for (i, q) in inc.questions.iter().enumerate() {
            let prefix = norm(&q.label_prefix);
            let found = find(sheet, |_, t| folds_to_prefix(t, &prefix));
            self.expect_once(
                &format!("income.questions[{i}].label_prefix"),
                sheet,
                format!("the question \"{}…\"", q.label_prefix),
                found,
            );
        }
        for (i, g) in inc.grand_totals.iter().enumerate() {
            let label = norm(&g.label);
            let found = find(sheet, |_, t| folds_to(t, &label));
            self.expect_once(
                &format!("income.grand_totals[{i}].label"),
                sheet,
                format!("the total \"{}\"", g.label),
                found,
            );
        }
    }

    fn expenditure(&mut self, sheet: &Sheet, e: &ExpenditureSpec) {
        let header = norm(&e.header);
        let found = find(sheet, |_, text| folds_to(text, &header));
        let what = format!("the scheme table header \"{}\"", e.header);
        let Some(row) = self.expect_once("expenditure.header", sheet, what, found) else { return };
        let c = &e.columns;
        let named = [
            ("scheme_id", Some(&c.scheme_id)),
            ("scheme_name", Some(&c.scheme_name)),
            ("funding_source", Some(&c.funding_source)),
            ("scheme_type", c.scheme_type.as_ref()),
            ("area_of_spend", c.area_of_spend.as_ref()),
            ("commissioner", c.commissioner.as_ref()),
            ("provider", c.provider.as_ref()),
        ];
        for (name, title) in named.iter().filter_map(|(n, t)| Some((n, (*t)?))) {
            self.in_header_row(&format!("expenditure.columns.{name}"), sheet, row.row, title, "scheme table");
        }
        for (i, a) in e.amount_columns.iter().enumerate() {
            self.in_header_row(
                &format!("expenditure.amount_columns[{i}].title"),
                sheet,
                row.row,
                &a.title,
                "scheme table",
            );
        }
        for (i, x) in e.extra_columns.iter().enumerate() {
            self.in_header_row(
                &format!("expenditure.extra_columns[{i}].title"),
                sheet,
                row.row,
                &x.title,
                "scheme table",
            );
        }
    }

    fn allocations(&mut self, sheet: &Sheet, a: &AllocationsSpec) {
        let code = norm(&a.code_column);
        let found = find(sheet, |_, t| folds_to(t, &code));
        let Some(h) =
            self.expect_once("allocations.code_column", sheet, format!("the header \"{}\"", a.code_column), found)
        else {
            return;
        };
        self.in_header_row("allocations.name_column", sheet, h.row, &a.name_column, "allocations table");
        let (_, unnamed) = crate::validate::allocations::stream_columns(sheet, h.row, a);
        for (pos, title) in unnamed {
            self.out.push(BlankProblem {
                key: "allocations.streams".into(),
                sheet: Some(sheet.name.clone()),
                what: format!("the stream of the allocation column \"{title}\""),
                cells: Vec::new(),
                hint: Some(format!(
                    "{pos} holds allocations no stream names, so they would not be read and no return's minimum checked against them: add the stream to allocations.streams with its funding source"
                )),
            });
        }
    }
}

fn in_column(p: CellPos, column: Option<u32>) -> bool {
    column.is_none_or(|c| p.col == c)
}

/// Text cells for which `hit` holds.
fn find(sheet: &Sheet, hit: impl Fn(CellPos, &str) -> bool) -> Vec<CellPos> {
    sheet.cells().filter_map(|(p, c)| c.text().filter(|t| hit(p, t)).map(|_| p)).collect()
}

/// The template a blank workbook is of: the one whose id is the file's name (without its
/// extension), or else the one whose title and sheets it holds.
pub fn template_for<'a>(set: &'a super::SchemaSet, file_stem: &str, wb: &mut Workbook) -> Option<&'a TemplateSpec> {
    if let Some(t) = set.template(file_stem) {
        return Some(t);
    }
    set.templates
        .iter()
        .find(|t| check(t, wb).is_ok_and(|problems| problems.iter().all(|p| !p.key.starts_with("recognise."))))
}
