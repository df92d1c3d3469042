//! Opening untrusted workbooks and reading the few sheets a schema needs into sparse grids.
//!
//! Files are identified by their bytes, never their names. Every way a file can fail to be a
//! workbook becomes an [`OpenError`], which the validate stage turns into a finding.

mod sniff;

pub use sniff::{sniff, Format};

use crate::model::CellPos;
use calamine::{DataRef, Reader};
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

/// Resource limits for one workbook.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// No part of a workbook may inflate beyond this many bytes.
    pub max_inflated_bytes: u64,
    /// No sheet that is read may hold more non-empty cells than this.
    pub max_cells_per_sheet: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_inflated_bytes: 256 * 1024 * 1024,
            max_cells_per_sheet: 2_000_000,
        }
    }
}

/// Why a file could not be read as a workbook.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// Empty, truncated, not a spreadsheet, password-protected: the message says which.
    #[error("{0}")]
    Unreadable(String),
    /// A part of the workbook inflates beyond the limit, or a sheet is too big to read.
    #[error("{0}")]
    TooLarge(String),
}

/// A cell's value as the workbook stores it (for formulas, the cached value).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Empty,
    Number(f64),
    Text(String),
    Bool(bool),
    /// An Excel date serial number (days since 1899-12-30).
    Date(f64),
    /// An ISO 8601 date or time, as ODS stores them.
    DateIso(String),
    Error(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub value: Value,
    /// The cell holds a formula (its value is the cached result, if any).
    pub formula: bool,
}

impl Cell {
    /// Text of a text cell, trimmed; `None` for other kinds.
    pub fn text(&self) -> Option<&str> {
        match &self.value {
            Value::Text(s) => Some(s.trim()),
            _ => None,
        }
    }

    /// The value as a person would read it, for labels and messages.
    pub fn display(&self) -> String {
        match &self.value {
            Value::Empty => String::new(),
            Value::Number(n) => format!("{n}"),
            Value::Text(s) => s.trim().to_string(),
            Value::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
            Value::Date(d) => format!("{d}"),
            Value::DateIso(s) => s.clone(),
            Value::Error(e) => e.clone(),
        }
    }

    pub fn is_blank(&self) -> bool {
        match &self.value {
            Value::Empty => !self.formula,
            Value::Text(s) => s.trim().is_empty(),
            _ => false,
        }
    }
}

/// One sheet's non-empty cells, keyed by absolute (row, column), in row-major order.
#[derive(Debug, Clone, Default)]
pub struct Sheet {
    pub name: String,
    cells: BTreeMap<CellPos, Cell>,
}

/// Folds case and white space for label comparison.
pub fn norm(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

impl Sheet {
    pub fn new(name: &str) -> Self {
        Sheet {
            name: name.to_string(),
            cells: BTreeMap::new(),
        }
    }

    pub fn insert(&mut self, pos: CellPos, cell: Cell) {
        self.cells.insert(pos, cell);
    }

    pub fn get(&self, pos: CellPos) -> Option<&Cell> {
        self.cells.get(&pos)
    }

    pub fn len(&self) -> usize {
        self.cells.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// Normalised text at a position (empty for non-text).
    pub fn label_at(&self, pos: CellPos) -> String {
        self.get(pos)
            .and_then(Cell::text)
            .map(norm)
            .unwrap_or_default()
    }

    /// Cells in row-major order.
    pub fn cells(&self) -> impl Iterator<Item = (CellPos, &Cell)> {
        self.cells.iter().map(|(p, c)| (*p, c))
    }

    /// Cells of one row, left to right.
    pub fn row(&self, row: u32) -> impl Iterator<Item = (CellPos, &Cell)> {
        self.cells
            .range(CellPos::new(row, 0)..=CellPos::new(row, u32::MAX))
            .map(|(p, c)| (*p, c))
    }

    /// Cells from a row onwards, in row-major order.
    pub fn from_row(&self, row: u32) -> impl Iterator<Item = (CellPos, &Cell)> {
        self.cells
            .range(CellPos::new(row, 0)..)
            .map(|(p, c)| (*p, c))
    }

    /// The first text cell (row-major) whose folded text satisfies `pred`.
    pub fn find_text(&self, mut pred: impl FnMut(&str) -> bool) -> Option<CellPos> {
        self.cells
            .iter()
            .find(|(_, c)| c.text().is_some_and(|t| pred(&norm(t))))
            .map(|(p, _)| *p)
    }

    /// The first non-blank cell to the right of `pos` in the same row.
    pub fn value_right_of(&self, pos: CellPos) -> Option<(CellPos, &Cell)> {
        self.cells
            .range(CellPos::new(pos.row, pos.col + 1)..=CellPos::new(pos.row, u32::MAX))
            .find(|(_, c)| !c.is_blank())
            .map(|(p, c)| (*p, c))
    }

    /// The last row that has a cell, if any.
    pub fn last_row(&self) -> Option<u32> {
        self.cells.keys().next_back().map(|p| p.row)
    }
}

enum Inner {
    Xlsx(calamine::Xlsx<BufReader<File>>),
    Xlsb(calamine::Xlsb<BufReader<File>>),
    Xls(calamine::Xls<BufReader<File>>),
    Ods(calamine::Ods<BufReader<File>>),
}

/// An open workbook. Sheets are read on demand and kept, so each is parsed at most once.
pub struct Workbook {
    pub format: Format,
    sheet_names: Vec<String>,
    inner: Inner,
    limits: Limits,
    cache: HashMap<String, Sheet>,
}

impl Workbook {
    /// Opens a workbook after checking its bytes: the container format decides the reader.
    pub fn open(path: &Path, limits: Limits) -> Result<Workbook, OpenError> {
        let format = sniff::check(path, limits)?;
        let file = File::open(path)
            .map_err(|e| OpenError::Unreadable(format!("cannot open the file: {e}")))?;
        let reader = BufReader::new(file);
        let unreadable = |what: &str, e: &dyn std::fmt::Display| {
            OpenError::Unreadable(format!(
                "not a readable {what} workbook (corrupt or truncated): {e}"
            ))
        };
        let inner = match format {
            Format::Xlsx => {
                Inner::Xlsx(calamine::Xlsx::new(reader).map_err(|e| unreadable("xlsx", &e))?)
            }
            Format::Xlsb => {
                Inner::Xlsb(calamine::Xlsb::new(reader).map_err(|e| unreadable("xlsb", &e))?)
            }
            Format::Xls => {
                Inner::Xls(calamine::Xls::new(reader).map_err(|e| unreadable("xls", &e))?)
            }
            Format::Ods => {
                Inner::Ods(calamine::Ods::new(reader).map_err(|e| unreadable("ods", &e))?)
            }
        };
        let sheet_names = match &inner {
            Inner::Xlsx(r) => r.sheet_names(),
            Inner::Xlsb(r) => r.sheet_names(),
            Inner::Xls(r) => r.sheet_names(),
            Inner::Ods(r) => r.sheet_names(),
        };
        Ok(Workbook {
            format,
            sheet_names,
            inner,
            limits,
            cache: HashMap::new(),
        })
    }

    pub fn sheet_names(&self) -> &[String] {
        &self.sheet_names
    }

    /// The workbook's own name for a sheet, matched ignoring case and surrounding space.
    pub fn resolve_sheet(&self, wanted: &str) -> Option<String> {
        let w = norm(wanted);
        self.sheet_names.iter().find(|n| norm(n) == w).cloned()
    }

    /// Reads one sheet (by its exact name) into a sparse grid, bounded by the cell limit.
    pub fn sheet(&mut self, name: &str) -> Result<&Sheet, OpenError> {
        if !self.cache.contains_key(name) {
            let sheet = self.read_sheet(name)?;
            self.cache.insert(name.to_string(), sheet);
        }
        Ok(&self.cache[name])
    }

    fn read_sheet(&mut self, name: &str) -> Result<Sheet, OpenError> {
        let max = self.limits.max_cells_per_sheet;
        let mut sheet = Sheet::new(name);
        let too_many =
            || OpenError::TooLarge(format!("sheet '{name}' has more than {max} filled cells"));
        let bad = |e: &dyn std::fmt::Display| {
            OpenError::Unreadable(format!(
                "sheet '{name}' cannot be read (corrupt or truncated): {e}"
            ))
        };
        match &mut self.inner {
            Inner::Xlsx(r) => {
                let mut cells = r.worksheet_cells_reader(name).map_err(|e| bad(&e))?;
                while let Some(rec) = cells
                    .next_cell_with_formula_metadata()
                    .map_err(|e| bad(&e))?
                {
                    let value = value_from_ref(&rec.value);
                    let formula = rec.formula.is_some();
                    if value != Value::Empty || formula {
                        if sheet.len() >= max {
                            return Err(too_many());
                        }
                        sheet.insert(CellPos::new(rec.pos.0, rec.pos.1), Cell { value, formula });
                    }
                }
            }
            Inner::Xlsb(r) => {
                let mut cells = r.worksheet_cells_reader(name).map_err(|e| bad(&e))?;
                while let Some(c) = cells.next_cell().map_err(|e| bad(&e))? {
                    let value = value_from_ref(c.get_value());
                    if value != Value::Empty {
                        if sheet.len() >= max {
                            return Err(too_many());
                        }
                        let (row, col) = c.get_position();
                        sheet.insert(
                            CellPos::new(row, col),
                            Cell {
                                value,
                                formula: false,
                            },
                        );
                    }
                }
                drop(cells);
                // Formulas come from a second pass: a formula with no value is "not calculated".
                let mut formulas = r.worksheet_cells_reader(name).map_err(|e| bad(&e))?;
                while let Some(f) = formulas.next_formula().map_err(|e| bad(&e))? {
                    if f.get_value().is_empty() {
                        continue;
                    }
                    let (row, col) = f.get_position();
                    mark_formula(&mut sheet, CellPos::new(row, col), max)?;
                }
            }
            Inner::Xls(r) => {
                let range = r.worksheet_range(name).map_err(|e| bad(&e))?;
                let formulas = r.worksheet_formula(name).map_err(|e| bad(&e))?;
                fill_from_ranges(&mut sheet, &range, &formulas, max)?;
            }
            Inner::Ods(r) => {
                let range = r.worksheet_range(name).map_err(|e| bad(&e))?;
                let formulas = r.worksheet_formula(name).map_err(|e| bad(&e))?;
                fill_from_ranges(&mut sheet, &range, &formulas, max)?;
            }
        }
        Ok(sheet)
    }
}

fn fill_from_ranges(
    sheet: &mut Sheet,
    range: &calamine::Range<calamine::Data>,
    formulas: &calamine::Range<String>,
    max: usize,
) -> Result<(), OpenError> {
    for (row, col, data) in range.used_cells() {
        let value = value_from_data(data);
        if value == Value::Empty {
            continue;
        }
        if sheet.len() >= max {
            return Err(OpenError::TooLarge(format!(
                "sheet '{}' has more than {max} filled cells",
                sheet.name
            )));
        }
        let (r0, c0) = range.start().unwrap_or((0, 0));
        sheet.insert(
            CellPos::new(r0 + row as u32, c0 + col as u32),
            Cell {
                value,
                formula: false,
            },
        );
    }
    let (fr0, fc0) = formulas.start().unwrap_or((0, 0));
    for (row, col, f) in formulas.used_cells() {
        if f.trim().is_empty() {
            continue;
        }
        mark_formula(sheet, CellPos::new(fr0 + row as u32, fc0 + col as u32), max)?;
    }
    Ok(())
}

/// Marks a cell as holding a formula, adding it (empty: not calculated) if it had no value.
fn mark_formula(sheet: &mut Sheet, pos: CellPos, max: usize) -> Result<(), OpenError> {
    if let Some(c) = sheet.cells.get_mut(&pos) {
        c.formula = true;
        return Ok(());
    }
    if sheet.len() >= max {
        return Err(OpenError::TooLarge(format!(
            "sheet '{}' has more than {max} filled cells",
            sheet.name
        )));
    }
    sheet.insert(
        pos,
        Cell {
            value: Value::Empty,
            formula: true,
        },
    );
    Ok(())
}

fn value_from_ref(d: &DataRef<'_>) -> Value {
    match d {
        DataRef::Int(i) => Value::Number(*i as f64),
        DataRef::Float(f) => Value::Number(*f),
        DataRef::String(s) => Value::Text(s.clone()),
        DataRef::SharedString(s) => Value::Text((*s).to_string()),
        DataRef::Bool(b) => Value::Bool(*b),
        DataRef::DateTime(dt) => Value::Date(dt.as_f64()),
        DataRef::DateTimeIso(s) => Value::DateIso(s.clone()),
        DataRef::DurationIso(s) => Value::Text(s.clone()),
        DataRef::Error(e) => Value::Error(e.to_string()),
        DataRef::Empty => Value::Empty,
    }
}

fn value_from_data(d: &calamine::Data) -> Value {
    use calamine::Data;
    match d {
        Data::Int(i) => Value::Number(*i as f64),
        Data::Float(f) => Value::Number(*f),
        Data::String(s) => Value::Text(s.clone()),
        Data::Bool(b) => Value::Bool(*b),
        Data::DateTime(dt) => Value::Date(dt.as_f64()),
        Data::DateTimeIso(s) => Value::DateIso(s.clone()),
        Data::DurationIso(s) => Value::Text(s.clone()),
        Data::Error(e) => Value::Error(e.to_string()),
        Data::Empty => Value::Empty,
    }
}
