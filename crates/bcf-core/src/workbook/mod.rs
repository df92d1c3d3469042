//! Opening untrusted workbooks and reading the few sheets a schema needs into sparse grids.
//!
//! Files are identified by their bytes, never their names. Every way a file can fail to be a
//! workbook becomes an [`OpenError`], which the validate stage turns into a finding.
//!
//! # Untrusted input
//! Every file is hostile until read. Before any reader sees a file, [`sniff::check_source`] decides
//! its format from its bytes, refuses encrypted files and checks the size of every part
//! (see that module). Then:
//! - xlsx and xlsb sheets are streamed cell by cell into a sparse [`Sheet`]; a stray value at
//!   XFD1048576 is one more cell, never a dense range (calamine's `worksheet_range` would
//!   allocate ~550 GB and abort the process).
//! - ods is read by our own streaming reader ([`ods`]), never by calamine's dense one.
//! - xls goes through calamine, which parses every sheet densely on open; [`biff`] pre-scans
//!   the records and refuses what would cost more than [`Limits::max_dense_cells`].
//! - Every sheet read is capped in cells ([`Limits::max_cells_per_sheet`]) and text
//!   ([`Limits::max_text_bytes_per_sheet`]); a cell's text is cut at Excel's own limit of
//!   32,767 characters.
//!
//! What this bounds, per file being read, is set out in `docs/hostile-files.md`.

mod biff;
mod cfb;
mod encrypted;
mod ods;
pub mod sniff;
mod standard;
mod utf16;

pub use sniff::{sniff, Format, Source};

use crate::model::CellPos;
use calamine::{DataRef, Reader};
use std::collections::HashMap;

/// Resource limits for one workbook. Each breach is a `file-too-large` finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    /// No part of a workbook may inflate beyond this many bytes (catalogue §1; `.xls`: the
    /// file itself).
    pub max_inflated_bytes: u64,
    /// Parts a reader holds whole in memory (shared strings, styles, the workbook part,
    /// relationships; the `.xls` shared-strings table) may not exceed this many bytes.
    pub max_resident_part_bytes: u64,
    /// The size check may inflate at most this many bytes of one workbook in total.
    pub max_total_inflated_bytes: u64,
    /// No sheet that is read may hold more non-empty cells than this.
    pub max_cells_per_sheet: usize,
    /// No sheet that is read may hold more bytes of text than this.
    pub max_text_bytes_per_sheet: usize,
    /// `.xls` only: calamine's dense ranges over all sheets may not exceed this many cells.
    /// 16,777,216 is one full BIFF8 sheet (65,536 × 256), so a stray value in IV65536 is
    /// still read.
    pub max_dense_cells: u64,
    /// `.xls` read by the `bcf` binary: the address space of the worker process that reads
    /// one, in MiB. A file needing more kills only its worker and becomes a finding.
    pub max_worker_address_space_mib: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_inflated_bytes: 256 * 1024 * 1024,
            max_resident_part_bytes: 32 * 1024 * 1024,
            max_total_inflated_bytes: 1024 * 1024 * 1024,
            max_cells_per_sheet: 2_000_000,
            max_text_bytes_per_sheet: 64 * 1024 * 1024,
            max_dense_cells: 17_000_000,
            max_worker_address_space_mib: 2048,
        }
    }
}

/// Extensions of the workbooks returns arrive as (a return saved as an Excel template is still
/// a return). Content decides the reader; the extension only decides whether a file is meant
/// to be a workbook at all.
pub const WORKBOOK_EXTENSIONS: [&str; 7] = ["xlsx", "xlsm", "xls", "ods", "xlsb", "xltx", "xltm"];

/// Why a file is not a workbook to read, judged by its name alone.
pub fn skip_reason(name: &str) -> Option<String> {
    if name.starts_with("~$") {
        return Some("an Office lock file (left while someone has the workbook open)".into());
    }
    match std::path::Path::new(name).extension().and_then(|e| e.to_str()) {
        Some(e) if WORKBOOK_EXTENSIONS.iter().any(|w| w.eq_ignore_ascii_case(e)) => None,
        Some(e) => Some(format!("not a workbook (.{})", e.to_ascii_lowercase())),
        None => Some("not a workbook (no extension)".into()),
    }
}

/// Excel's own limit on the characters in one cell; longer text is cut here.
pub const MAX_CELL_CHARS: usize = 32_767;

/// Why a file could not be read as a workbook.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// Empty, truncated, not a spreadsheet, password-protected: the message says which, in the
    /// sender's terms; `detail` keeps a reader library's own words, for the national team;
    /// `sheet` is the sheet it is about, if one.
    #[error("{message}")]
    Unreadable { message: String, detail: Option<String>, sheet: Option<String> },
    /// A part of the workbook inflates beyond the limit, or a sheet is too big to read.
    #[error("{message}")]
    TooLarge { message: String, sheet: Option<String> },
}

impl OpenError {
    pub fn unreadable(message: impl Into<String>) -> OpenError {
        OpenError::Unreadable { message: message.into(), detail: None, sheet: None }
    }

    pub fn unreadable_because(message: impl Into<String>, detail: impl std::fmt::Display) -> OpenError {
        OpenError::Unreadable { message: message.into(), detail: Some(detail.to_string()), sheet: None }
    }

    pub fn too_large(message: impl Into<String>) -> OpenError {
        OpenError::TooLarge { message: message.into(), sheet: None }
    }

    /// The same error, about the sheet `name` (the finding then names it in its `sheet`).
    pub fn on_sheet(self, name: &str) -> OpenError {
        let sheet = Some(crate::model::truncate(name));
        match self {
            OpenError::Unreadable { message, detail, .. } => OpenError::Unreadable { message, detail, sheet },
            OpenError::TooLarge { message, .. } => OpenError::TooLarge { message, sheet },
        }
    }
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

/// One sheet's non-empty cells by absolute (row, column), in row-major order: a sorted vector,
/// searched by halving, which costs a fraction of a tree's lookups and inserts.
#[derive(Debug, Clone, Default)]
pub struct Sheet {
    pub name: String,
    /// Row-major and without repeats once [`Sheet::finish`] has run.
    cells: Vec<(CellPos, Cell)>,
    /// Whether `cells` is still row-major: every reader streams cells in that order, but a
    /// hostile file need not.
    in_order: bool,
    text_bytes: usize,
}

/// Folds case and white space for label comparison: lower case, runs of white space as one
/// space, none at either end.
pub fn norm(s: &str) -> String {
    if !s.is_ascii() {
        let mut out = String::with_capacity(s.len());
        for word in s.split_whitespace() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.extend(word.chars().flat_map(char::to_lowercase));
        }
        return out;
    }
    // Nearly every label is ASCII: fold bytes, with char::is_whitespace's ASCII set
    // (tab to carriage return, and space).
    let mut out = Vec::with_capacity(s.len());
    let mut gap = false;
    for &b in s.as_bytes() {
        if matches!(b, b'\t'..=b'\r' | b' ') {
            gap = !out.is_empty();
        } else {
            if gap {
                out.push(b' ');
                gap = false;
            }
            out.push(b.to_ascii_lowercase());
        }
    }
    String::from_utf8(out).unwrap_or_default()
}

/// Whether `s` folds to `folded` (as [`norm`] would), without allocating for ASCII `s`.
pub fn folds_to(s: &str, folded: &str) -> bool {
    fold_match(s, folded, false)
}

/// Whether `s`, folded, starts with `folded_prefix`.
pub fn folds_to_prefix(s: &str, folded_prefix: &str) -> bool {
    fold_match(s, folded_prefix, true)
}

fn fold_match(s: &str, folded: &str, prefix: bool) -> bool {
    // Bytes are compared as they come, so most labels differ at their first letter without
    // being scanned further; text with a non-ASCII byte is compared by characters instead.
    let mut want = folded.bytes().peekable();
    let mut gap = false;
    let mut started = false;
    for b in s.bytes() {
        if !b.is_ascii() {
            return fold_match_chars(s, folded, prefix);
        }
        if prefix && want.peek().is_none() {
            return true;
        }
        if matches!(b, b'\t'..=b'\r' | b' ') {
            gap = started;
            continue;
        }
        if gap {
            if want.next() != Some(b' ') {
                return false;
            }
            gap = false;
            if prefix && want.peek().is_none() {
                return true;
            }
        }
        started = true;
        if want.next() != Some(b.to_ascii_lowercase()) {
            return false;
        }
    }
    want.next().is_none()
}

/// [`fold_match`] for any text, character by character, still without a folded copy.
fn fold_match_chars(s: &str, folded: &str, prefix: bool) -> bool {
    let mut want = folded.chars().peekable();
    let mut gap = false;
    let mut started = false;
    for c in s.chars() {
        if c.is_whitespace() {
            gap = started;
            continue;
        }
        if gap {
            if prefix && want.peek().is_none() {
                return true;
            }
            if want.next() != Some(' ') {
                return false;
            }
            gap = false;
        }
        started = true;
        for l in c.to_lowercase() {
            if prefix && want.peek().is_none() {
                return true;
            }
            if want.next() != Some(l) {
                return false;
            }
        }
    }
    want.next().is_none()
}

impl Sheet {
    pub fn new(name: &str) -> Self {
        Sheet { name: name.to_string(), cells: Vec::new(), in_order: true, text_bytes: 0 }
    }

    /// Adds a cell read from a file: text is cut at [`MAX_CELL_CHARS`], and the sheet's cell
    /// and text limits are enforced (a cell given twice counts twice; the later one is kept).
    /// Call [`Sheet::finish`] once the last cell is added.
    pub fn add(&mut self, pos: CellPos, mut cell: Cell, limits: &Limits) -> Result<(), OpenError> {
        if self.cells.len() >= limits.max_cells_per_sheet {
            return Err(self.too_many(limits));
        }
        if let Value::Text(t) | Value::Error(t) = &mut cell.value {
            if t.len() > MAX_CELL_CHARS {
                if let Some((i, _)) = t.char_indices().nth(MAX_CELL_CHARS) {
                    t.truncate(i);
                }
            }
            self.text_bytes += t.len();
            if self.text_bytes > limits.max_text_bytes_per_sheet {
                return Err(OpenError::too_large(format!(
                    "sheet '{}' holds more than {} MiB of text",
                    self.name,
                    limits.max_text_bytes_per_sheet >> 20
                ))
                .on_sheet(&self.name));
            }
        }
        if self.cells.last().is_some_and(|(last, _)| *last >= pos) {
            self.in_order = false;
        }
        self.cells.push((pos, cell));
        Ok(())
    }

    /// Puts cells that arrived out of order into row-major order; of a cell given twice, the
    /// later stays.
    pub fn finish(&mut self) {
        if self.in_order {
            return;
        }
        self.cells.sort_by_key(|(p, _)| *p); // stable: repeats stay in arrival order
        self.cells.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                std::mem::swap(later, kept);
            }
            same
        });
        self.in_order = true;
    }

    /// The index of the first cell at or after `pos`.
    fn first_at(&self, pos: CellPos) -> usize {
        debug_assert!(self.in_order, "Sheet::finish was not called");
        self.cells.partition_point(|(p, _)| *p < pos)
    }

    pub(crate) fn too_many(&self, limits: &Limits) -> OpenError {
        OpenError::too_large(format!("sheet '{}' has more than {} filled cells", self.name, limits.max_cells_per_sheet))
            .on_sheet(&self.name)
    }

    pub fn get(&self, pos: CellPos) -> Option<&Cell> {
        self.cells.get(self.first_at(pos)).filter(|(p, _)| *p == pos).map(|(_, c)| c)
    }

    pub fn len(&self) -> usize {
        self.cells.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// Folded text at a position (empty for non-text).
    pub fn label_at(&self, pos: CellPos) -> String {
        self.get(pos).and_then(Cell::text).map(norm).unwrap_or_default()
    }

    /// The column of the first text cell in `row` that folds to `folded`.
    pub fn find_in_row(&self, row: u32, folded: &str) -> Option<u32> {
        self.row(row).find(|(_, c)| c.text().is_some_and(|t| folds_to(t, folded))).map(|(p, _)| p.col)
    }

    /// Cells in row-major order.
    pub fn cells(&self) -> impl Iterator<Item = (CellPos, &Cell)> {
        debug_assert!(self.in_order, "Sheet::finish was not called");
        self.cells.iter().map(|(p, c)| (*p, c))
    }

    /// Cells of one row, left to right.
    pub fn row(&self, row: u32) -> impl Iterator<Item = (CellPos, &Cell)> {
        self.from_row(row).take_while(move |(p, _)| p.row == row)
    }

    /// Cells from a row onwards, in row-major order.
    pub fn from_row(&self, row: u32) -> impl Iterator<Item = (CellPos, &Cell)> {
        self.cells[self.first_at(CellPos::new(row, 0))..].iter().map(|(p, c)| (*p, c))
    }

    /// The first text cell (row-major) that folds to `folded`. Labels are compared in place,
    /// never folded into copies: a sheet has hundreds of text cells and a schema asks for tens.
    pub fn find_label(&self, folded: &str) -> Option<CellPos> {
        self.cells().find(|(_, c)| c.text().is_some_and(|t| folds_to(t, folded))).map(|(p, _)| p)
    }

    /// The first text cell (row-major) in `column` (any column if `None`) that folds to `folded`.
    pub fn find_label_in_column(&self, folded: &str, column: Option<u32>) -> Option<CellPos> {
        let in_column = |p: &CellPos| column.is_none_or(|c| p.col == c);
        self.cells().find(|(p, c)| in_column(p) && c.text().is_some_and(|t| folds_to(t, folded))).map(|(p, _)| p)
    }

    /// The first text cell (row-major) whose folded text starts with `folded_prefix`.
    pub fn find_label_prefix(&self, folded_prefix: &str) -> Option<CellPos> {
        self.cells().find(|(_, c)| c.text().is_some_and(|t| folds_to_prefix(t, folded_prefix))).map(|(p, _)| p)
    }

    /// The first non-blank cell to the right of `pos` in the same row.
    pub fn value_right_of(&self, pos: CellPos) -> Option<(CellPos, &Cell)> {
        self.cells[self.first_at(pos)..]
            .iter()
            .take_while(|(p, _)| p.row == pos.row)
            .find(|(p, c)| p.col > pos.col && !c.is_blank())
            .map(|(p, c)| (*p, c))
    }

    /// The last row that has a cell, if any.
    pub fn last_row(&self) -> Option<u32> {
        debug_assert!(self.in_order, "Sheet::finish was not called");
        self.cells.last().map(|(p, _)| p.row)
    }
}

enum Inner {
    Xlsx(calamine::Xlsx<Source>),
    Xlsb(calamine::Xlsb<Source>),
    Xls(calamine::Xls<Source>),
    Ods(ods::Ods),
}

/// An open workbook. Sheets are read on demand and kept, so each is parsed at most once.
pub struct Workbook {
    pub format: Format,
    sheet_names: Vec<String>,
    /// `sheet_names`, folded once for [`Workbook::resolve_sheet`].
    folded_names: Vec<String>,
    inner: Inner,
    limits: Limits,
    cache: HashMap<String, Sheet>,
}

impl Workbook {
    /// Opens a workbook from its bytes after checking them: the container format decides the
    /// reader.
    pub fn open(bytes: Vec<u8>, limits: Limits) -> Result<Workbook, OpenError> {
        if bytes.len() as u64 > limits.max_inflated_bytes {
            return Err(sniff::too_large_file(&limits));
        }
        let mut src = Source::from_bytes(bytes);
        if let Some(decrypted) = encrypted::with_default_password(&src, limits)? {
            src = decrypted;
        }
        if let Some(recoded) = utf16::to_utf8(&mut src, limits)? {
            src = recoded;
        }
        let format = sniff::check_source(&mut src, limits)?;
        let damaged = |what: &str, e: &dyn std::fmt::Display| {
            OpenError::unreadable_because(
                format!("the workbook is damaged or incomplete and cannot be read as {what}; open it in Excel (or the software that made it), save it again as .xlsx and resubmit"),
                e,
            )
        };
        let inner = match format {
            Format::Xlsx => Inner::Xlsx(calamine::Xlsx::new(src).map_err(|e| match &e {
                // Not damage: a sheet of a kind calamine does not read (an Excel 4 macro sheet).
                calamine::XlsxError::Unrecognized { typ: "sheet:type", val } => OpenError::unreadable_because(
                    format!(
                        "the workbook holds a sheet bcf cannot read ('{}', an Excel 4 macro sheet or similar); delete that sheet, save the workbook as .xlsx and resubmit",
                        crate::model::truncate(val)
                    ),
                    &e,
                ),
                _ => damaged("an .xlsx workbook", &e),
            })?),
            Format::Xlsb => Inner::Xlsb(calamine::Xlsb::new(src).map_err(|e| damaged("an .xlsb workbook", &e))?),
            Format::Xls => {
                let xls = calamine::Xls::new(src).map_err(|e| {
                    // Not damage: a character set (an old Mac Excel code page) calamine lacks.
                    // calamine's CfbError is private, so its variant is known by its text only.
                    if e.to_string().contains("Codepage") {
                        return OpenError::unreadable_because(
                            "the .xls workbook uses a character set bcf cannot read (an old Mac Excel code page); open it in Excel, save it as .xlsx and resubmit",
                            &e,
                        );
                    }
                    damaged("an .xls workbook", &e)
                })?;
                Inner::Xls(xls)
            }
            Format::Ods => Inner::Ods(ods::Ods::open(src.into_bytes(), limits)?),
        };
        let sheet_names = match &inner {
            Inner::Xlsx(r) => r.sheet_names(),
            Inner::Xlsb(r) => r.sheet_names(),
            Inner::Xls(r) => r.sheet_names(),
            Inner::Ods(r) => r.sheet_names(),
        };
        let folded_names = sheet_names.iter().map(|n| norm(n)).collect();
        Ok(Workbook { format, sheet_names, folded_names, inner, limits, cache: HashMap::new() })
    }

    pub fn sheet_names(&self) -> &[String] {
        &self.sheet_names
    }

    /// The workbook's own name for a sheet, matched ignoring case and surrounding space.
    pub fn resolve_sheet(&self, wanted: &str) -> Option<String> {
        let w = norm(wanted);
        self.folded_names.iter().position(|n| *n == w).map(|i| self.sheet_names[i].clone())
    }

    /// Reads one sheet (by its exact name) into a sparse grid, bounded by the limits.
    pub fn sheet(&mut self, name: &str) -> Result<&Sheet, OpenError> {
        if !self.cache.contains_key(name) {
            let sheet = self.read_sheet(name)?;
            self.cache.insert(name.to_string(), sheet);
        }
        Ok(&self.cache[name])
    }

    fn read_sheet(&mut self, name: &str) -> Result<Sheet, OpenError> {
        let limits = self.limits;
        let mut sheet = Sheet::new(name);
        let bad = |e: &dyn std::fmt::Display| {
            OpenError::unreadable_because(
                format!("the sheet '{}' is damaged and cannot be read; open the workbook in Excel, save it again and resubmit", crate::model::truncate(name)),
                e,
            )
            .on_sheet(name)
        };
        match &mut self.inner {
            Inner::Xlsx(r) => {
                let mut cells = r.worksheet_cells_reader(name).map_err(|e| match &e {
                    // Not damage: the sheet is a chart (or dialog) where the template has cells.
                    calamine::XlsxError::NotAWorksheet(kind) => OpenError::unreadable_because(
                        format!(
                            "the sheet '{}' is a {}, not a sheet of cells as in the template; copy your figures into the template issued for the year and resubmit",
                            crate::model::truncate(name),
                            if kind.contains("chart") { "chart sheet" } else { "sheet of another kind" }
                        ),
                        &e,
                    )
                    .on_sheet(name),
                    _ => bad(&e),
                })?;
                while let Some(rec) = cells.next_cell_with_formula_metadata().map_err(|e| bad(&e))? {
                    let value = value_from_ref(&rec.value);
                    let formula = rec.formula.is_some();
                    if value != Value::Empty || formula {
                        let pos = CellPos::new(rec.pos.0, rec.pos.1);
                        sheet.add(pos, Cell { value, formula }, &limits)?;
                    }
                }
            }
            Inner::Xlsb(r) => {
                let mut cells = r.worksheet_cells_reader(name).map_err(|e| bad(&e))?;
                while let Some(c) = cells.next_cell().map_err(|e| bad(&e))? {
                    let value = value_from_ref(c.get_value());
                    if value != Value::Empty {
                        let (row, col) = c.get_position();
                        let cell = Cell { value, formula: false };
                        sheet.add(CellPos::new(row, col), cell, &limits)?;
                    }
                }
                drop(cells);
                sheet.finish();
                let sorted = sheet.cells.len();
                // Formulas come from a second pass: a formula with no value is "not calculated".
                let mut formulas = r.worksheet_cells_reader(name).map_err(|e| bad(&e))?;
                while let Some(f) = formulas.next_formula().map_err(|e| bad(&e))? {
                    if f.get_value().is_empty() {
                        continue;
                    }
                    let (row, col) = f.get_position();
                    mark_formula(&mut sheet, sorted, CellPos::new(row, col), &limits)?;
                }
            }
            Inner::Xls(r) => {
                // Dense, but bounded by the pre-scan in `biff` (Limits::max_dense_cells).
                let range = r.worksheet_range(name).map_err(|e| bad(&e))?;
                let formulas = r.worksheet_formula(name).map_err(|e| bad(&e))?;
                fill_from_ranges(&mut sheet, &range, &formulas, &limits)?;
            }
            Inner::Ods(r) => sheet = r.read_sheet(name)?,
        }
        sheet.finish();
        Ok(sheet)
    }
}

fn fill_from_ranges(
    sheet: &mut Sheet,
    range: &calamine::Range<calamine::Data>,
    formulas: &calamine::Range<String>,
    limits: &Limits,
) -> Result<(), OpenError> {
    let (r0, c0) = range.start().unwrap_or((0, 0));
    for (row, col, data) in range.used_cells() {
        let value = value_from_data(data);
        if value == Value::Empty {
            continue;
        }
        let pos = CellPos::new(r0 + row as u32, c0 + col as u32);
        sheet.add(pos, Cell { value, formula: false }, limits)?;
    }
    sheet.finish();
    let sorted = sheet.cells.len();
    let (fr0, fc0) = formulas.start().unwrap_or((0, 0));
    for (row, col, f) in formulas.used_cells() {
        if f.trim().is_empty() {
            continue;
        }
        mark_formula(sheet, sorted, CellPos::new(fr0 + row as u32, fc0 + col as u32), limits)?;
    }
    Ok(())
}

/// Marks a cell as holding a formula, adding it (empty: not calculated) if it had no value.
/// `sorted`: how many of the sheet's cells are in order (those before the formula pass).
fn mark_formula(sheet: &mut Sheet, sorted: usize, pos: CellPos, limits: &Limits) -> Result<(), OpenError> {
    if let Ok(i) = sheet.cells[..sorted].binary_search_by_key(&pos, |(p, _)| *p) {
        sheet.cells[i].1.formula = true;
        return Ok(());
    }
    let cell = Cell { value: Value::Empty, formula: true };
    sheet.add(pos, cell, limits)
}

/// At most [`MAX_CELL_CHARS`] characters of `s`, copied: a long shared string referenced by
/// many cells is cut before it is copied, not after.
fn capped(s: &str) -> String {
    if s.len() <= MAX_CELL_CHARS {
        return s.to_string();
    }
    match s.char_indices().nth(MAX_CELL_CHARS) {
        Some((i, _)) => s[..i].to_string(),
        None => s.to_string(),
    }
}

fn value_from_ref(d: &DataRef<'_>) -> Value {
    match d {
        DataRef::Int(i) => Value::Number(*i as f64),
        DataRef::Float(f) => Value::Number(*f),
        DataRef::String(s) => Value::Text(capped(s)),
        DataRef::SharedString(s) => Value::Text(capped(s)),
        DataRef::Bool(b) => Value::Bool(*b),
        DataRef::DateTime(dt) => Value::Date(dt.as_f64()),
        DataRef::DateTimeIso(s) => Value::DateIso(capped(s)),
        DataRef::DurationIso(s) => Value::Text(capped(s)),
        DataRef::Error(e) => Value::Error(e.to_string()),
        DataRef::Empty => Value::Empty,
    }
}

fn value_from_data(d: &calamine::Data) -> Value {
    use calamine::Data;
    match d {
        Data::Int(i) => Value::Number(*i as f64),
        Data::Float(f) => Value::Number(*f),
        Data::String(s) => Value::Text(capped(s)),
        Data::Bool(b) => Value::Bool(*b),
        Data::DateTime(dt) => Value::Date(dt.as_f64()),
        Data::DateTimeIso(s) => Value::DateIso(capped(s)),
        Data::DurationIso(s) => Value::Text(capped(s)),
        Data::Error(e) => Value::Error(e.to_string()),
        Data::Empty => Value::Empty,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The definition the fast paths must agree with.
    fn norm_reference(s: &str) -> String {
        s.split_whitespace()
            .map(|w| w.chars().flat_map(char::to_lowercase).collect::<String>())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn folding_examples() {
        assert_eq!(norm("  Total  Income\t(£)\n"), "total income (£)");
        assert_eq!(norm("A\u{0B}B\u{1C}C"), "a b\u{1C}c"); // vertical tab is white space, FS is not
        assert_eq!(norm("ÉCOLE  Ünd"), "école ünd");
        assert!(folds_to(" Better  CARE fund ", "better care fund"));
        assert!(!folds_to("Better Care", "better care fund"));
        assert!(!folds_to("Better Care Fund!", "better care fund"));
        assert!(!folds_to("BetterCare", "better care"));
        assert!(folds_to_prefix("Question 1: Yes", "question 1"));
        assert!(!folds_to_prefix("Question", "question 1"));
    }

    fn text(t: &str) -> Cell {
        Cell { value: Value::Text(t.into()), formula: false }
    }

    #[test]
    fn cells_out_of_order_are_sorted_and_the_later_of_a_repeat_kept() {
        let limits = Limits::default();
        let mut sheet = Sheet::new("S");
        for (r, c, t) in [(2, 1, "c"), (0, 3, "b"), (0, 0, "a"), (2, 1, "c2"), (1, 5, "")] {
            sheet.add(CellPos::new(r, c), text(t), &limits).unwrap();
        }
        sheet.finish();
        let order: Vec<String> = sheet.cells().map(|(p, c)| format!("{}={}", p.a1(), c.display())).collect();
        assert_eq!(order, ["A1=a", "D1=b", "F2=", "B3=c2"]);
        assert_eq!(sheet.get(CellPos::new(2, 1)).map(Cell::display).as_deref(), Some("c2"));
        assert!(sheet.get(CellPos::new(2, 2)).is_none());
        assert_eq!(sheet.row(0).count(), 2);
        assert_eq!(sheet.row(3).count(), 0);
        assert_eq!(sheet.from_row(1).count(), 2);
        assert_eq!(sheet.value_right_of(CellPos::new(0, 0)).map(|(p, _)| p.a1()).as_deref(), Some("D1"));
        assert!(sheet.value_right_of(CellPos::new(1, 0)).is_none(), "a blank cell is not a value");
        assert_eq!(sheet.last_row(), Some(2));
        assert_eq!(sheet.find_label("c2").map(|p| p.a1()).as_deref(), Some("B3"));
    }

    #[test]
    fn a_sheet_stops_at_its_cell_limit() {
        let limits = Limits { max_cells_per_sheet: 2, ..Limits::default() };
        let mut sheet = Sheet::new("S");
        sheet.add(CellPos::new(0, 0), text("a"), &limits).unwrap();
        sheet.add(CellPos::new(0, 1), text("b"), &limits).unwrap();
        let err = sheet.add(CellPos::new(0, 2), text("c"), &limits).unwrap_err();
        assert!(
            matches!(err, OpenError::TooLarge { message: m, sheet: Some(s) } if m.contains("more than 2 filled cells") && s == "S")
        );
    }

    proptest! {
        #[test]
        fn fast_folding_matches_the_reference(s in "[ \t\n\u{0B}\u{0C}\r\u{1C}a-zA-Z0-9£É ]{0,24}") {
            let reference = norm_reference(&s);
            prop_assert_eq!(norm(&s), reference.clone());
            prop_assert!(folds_to(&s, &reference));
            let other = format!("{reference}x");
            prop_assert!(!folds_to(&s, &other));
            for (k, _) in reference.char_indices() {
                prop_assert!(folds_to_prefix(&s, &reference[..k]));
            }
            prop_assert!(folds_to_prefix(&s, &reference));
            prop_assert!(!folds_to_prefix(&s, &other));
        }

        #[test]
        fn prefix_folding_matches_the_reference(s in "[ \tAaBb]{0,10}", p in "[ ab]{0,4}") {
            prop_assert_eq!(folds_to_prefix(&s, &p), norm_reference(&s).starts_with(&p));
            prop_assert_eq!(folds_to(&s, &p), norm_reference(&s) == p);
        }

        #[test]
        fn non_ascii_folding_matches_the_reference(s in "[ \tAaBbÉé£İ\u{A0}]{0,10}", p in "[ abé\u{307}i]{0,4}") {
            prop_assert_eq!(folds_to_prefix(&s, &p), norm_reference(&s).starts_with(&p));
            prop_assert_eq!(folds_to(&s, &p), norm_reference(&s) == p);
            let reference = norm_reference(&s);
            prop_assert!(folds_to(&s, &reference));
            for (k, _) in reference.char_indices() {
                prop_assert!(folds_to_prefix(&s, &reference[..k]));
            }
        }
    }
}
