//! A bounded pre-scan of an `.xls` Workbook stream (BIFF5/BIFF8), run before calamine sees it.
//!
//! calamine's `Xls::new` parses every sheet on open and turns each into dense ranges
//! (`Range::from_sparse`): one cell of 32 bytes for every position of the sheet's bounding
//! box, plus a second dense range of formula text, and it first reserves a vector sized from
//! the sheet's DIMENSIONS record. A BIFF8 sheet is at most 65,536 × 256 cells, so one honest
//! sheet with a stray value in IV65536 costs about 0.5 GB; but nothing bounds the number of such
//! sheets, and hostile records can claim columns up to 65,535 and rows up to 2³² (an abort,
//! not a panic, when the allocation fails). This scan walks the records exactly as calamine
//! does and refuses the file when calamine would allocate beyond [`Limits::max_dense_cells`]
//! in total, or more than [`Limits::max_cells_per_sheet`] cells in one sheet, so opening an
//! `.xls` costs at most `max_dense_cells × 56` bytes (dense values and formulas) plus the
//! stream itself.
//!
//! It also finds FILEPASS (the workbook is encrypted with a password) exactly, and measures
//! the shared-strings table, which calamine holds whole.

use super::{Limits, OpenError};

/// Bytes calamine spends per position of a dense value range (`Data`) and per sparse cell
/// (`Cell<Data>`), measured with `size_of` for calamine 0.38 on 64-bit targets.
const DENSE_CELL_BYTES: u64 = 32;

struct Record<'a> {
    typ: u16,
    data: &'a [u8],
}

/// Records from `at` onwards; stops at the end of the stream or a truncated record.
fn records(stream: &[u8], mut at: usize) -> impl Iterator<Item = Record<'_>> {
    std::iter::from_fn(move || {
        let head = stream.get(at..at + 4)?;
        let typ = u16::from_le_bytes([head[0], head[1]]);
        let len = u16::from_le_bytes([head[2], head[3]]) as usize;
        let data = stream.get(at + 4..at + 4 + len)?;
        at += 4 + len;
        Some(Record { typ, data })
    })
}

fn u16_at(b: &[u8], i: usize) -> u32 {
    b.get(i..i + 2).map_or(0, |s| u16::from_le_bytes([s[0], s[1]]) as u32)
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    b.get(i..i + 4).map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

#[derive(Default)]
struct BBox {
    rows: Option<(u32, u32)>,
    cols: Option<(u32, u32)>,
    count: u64,
}

impl BBox {
    fn add(&mut self, row: u32, col: u32) {
        self.count += 1;
        self.rows = Some(self.rows.map_or((row, row), |(a, b)| (a.min(row), b.max(row))));
        self.cols = Some(self.cols.map_or((col, col), |(a, b)| (a.min(col), b.max(col))));
    }
    fn area(&self) -> u64 {
        match (self.rows, self.cols) {
            (Some((r0, r1)), Some((c0, c1))) => (r1 - r0 + 1) as u64 * (c1 - c0 + 1) as u64,
            _ => 0,
        }
    }
    fn extent(&self) -> String {
        match (self.rows, self.cols) {
            (Some((r0, r1)), Some((c0, c1))) => {
                format!("{}:{}", crate::model::CellPos::new(r0, c0).a1(), crate::model::CellPos::new(r1, c1).a1())
            }
            _ => String::new(),
        }
    }
}

/// The sheet name of a BOUNDSHEET record, best effort (for messages only).
fn sheet_name(data: &[u8]) -> String {
    let cch = data.get(6).copied().unwrap_or(0) as usize;
    let wide = data.get(7).is_some_and(|f| f & 1 == 1);
    if wide {
        let units: Vec<u16> =
            data.get(8..).unwrap_or(&[]).chunks_exact(2).take(cch).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        String::from_utf16_lossy(&units)
    } else {
        data.get(8..).unwrap_or(&[]).iter().take(cch).map(|&b| b as char).collect()
    }
}

/// Checks a Workbook stream. `Ok` means calamine can open it within the limits, and gives
/// the number of dense cells calamine will hold (values and formulas, all sheets).
pub fn check(stream: &[u8], limits: Limits) -> Result<u64, OpenError> {
    let globals = scan_globals(stream)?;
    if globals.sst_bytes > limits.max_resident_part_bytes {
        return Err(OpenError::too_large(format!(
            "the workbook's shared strings table is {} MiB, beyond the {} MiB limit for parts read whole",
            globals.sst_bytes >> 20,
            limits.max_resident_part_bytes >> 20
        )));
    }
    let mut dense_total: u64 = 0;
    for (pos, name) in &globals.sheets {
        if *pos >= stream.len() {
            return Err(OpenError::unreadable_because(
                super::sniff::XLS_DAMAGED,
                format!("sheet '{name}' points outside the workbook stream"),
            ));
        }
        let sheet = scan_sheet(stream, *pos, name)?;
        dense_total = sheet.within(name, limits, dense_total)?;
    }
    Ok(dense_total)
}

/// What the workbook globals say: each sheet's stream offset and name, and the size of the
/// shared-strings table.
struct Globals {
    sheets: Vec<(usize, String)>,
    sst_bytes: u64,
}

fn scan_globals(stream: &[u8]) -> Result<Globals, OpenError> {
    let mut globals = Globals { sheets: Vec::new(), sst_bytes: 0 };
    let mut in_sst = false;
    let mut first = true;
    for r in records(stream, 0) {
        if first && r.typ != 0x0809 {
            return Err(OpenError::unreadable_because(
                super::sniff::XLS_DAMAGED,
                "the workbook stream does not start with a BOF record",
            ));
        }
        first = false;
        // calamine treats a FILEPASS with a non-zero first field as encryption; any FILEPASS
        // record means the rest of the stream is encrypted.
        if r.typ == 0x002F {
            return Err(OpenError::unreadable(
                "the workbook is password-protected (an encrypted .xls: a password to open or to modify, or Excel's Read-only recommended setting, encrypts it); in Excel choose File > Save As > Tools > General Options, clear both passwords and Read-only recommended, save it as .xlsx and resubmit",
            ));
        }
        match r.typ {
            0x0085 => globals.sheets.push((u32_at(r.data, 0) as usize, sheet_name(r.data))),
            0x00FC => {
                in_sst = true;
                globals.sst_bytes += r.data.len() as u64;
            }
            0x003C if in_sst => globals.sst_bytes += r.data.len() as u64,
            0x000A => break,
            _ => in_sst = false,
        }
    }
    if first {
        return Err(OpenError::unreadable_because(
            super::sniff::XLS_DAMAGED,
            "the workbook stream is empty or truncated",
        ));
    }
    Ok(globals)
}

/// What calamine will allocate for one sheet: the dense value and formula ranges, and the
/// reserve its DIMENSIONS record asks for.
#[derive(Default)]
struct SheetScan {
    values: BBox,
    formulas: BBox,
    reserve: u64,
}

fn scan_sheet(stream: &[u8], pos: usize, name: &str) -> Result<SheetScan, OpenError> {
    let mut sheet = SheetScan::default();
    let mut seen_bof = false;
    let mut depth = 0usize;
    for r in records(stream, pos) {
        match r.typ {
            // A nested substream (a chart inside the sheet) is skipped whole.
            0x0809 if seen_bof => depth += 1,
            0x0809 => seen_bof = true,
            0x000A if depth > 0 => depth -= 1,
            0x000A => break,
            _ if depth > 0 => (),
            _ => sheet.record(r.typ, r.data, name)?,
        }
    }
    Ok(sheet)
}

impl SheetScan {
    fn record(&mut self, typ: u16, d: &[u8], name: &str) -> Result<(), OpenError> {
        match typ {
            0x0200 => self.reserve = self.reserve.max(dimensions(d, name)?),
            // NUMBER, LABEL, RSTRING, BOOLERR, RK, LABELSST, STRING-less cells: row, col.
            0x0203 | 0x0204 | 0x00D6 | 0x0205 | 0x027E | 0x00FD => self.values.add(u16_at(d, 0), u16_at(d, 2)),
            0x00BD if d.len() >= 6 => {
                // MULRK: one cell per 6 bytes, from colFirst.
                let (row, first_col) = (u16_at(d, 0), u16_at(d, 2));
                let n = ((d.len() - 6) / 6) as u32;
                if n > 0 {
                    self.values.add(row, first_col);
                    self.values.add(row, first_col + n - 1);
                    self.values.count += n.saturating_sub(2) as u64;
                }
            }
            0x0006 => {
                let (row, col) = (u16_at(d, 0), u16_at(d, 2));
                self.values.add(row, col);
                self.formulas.add(row, col);
            }
            _ => (),
        }
        Ok(())
    }

    /// Adds this sheet to the running total of dense cells, or refuses the workbook when this
    /// sheet or the total goes beyond the limits.
    fn within(&self, name: &str, limits: Limits, dense_so_far: u64) -> Result<u64, OpenError> {
        let max_cells = limits.max_cells_per_sheet as u64;
        if self.values.count > max_cells || self.formulas.count > max_cells {
            return Err(
                OpenError::too_large(format!("sheet '{name}' has more than {max_cells} filled cells")).on_sheet(name)
            );
        }
        let (va, fa) = (self.values.area(), self.formulas.area());
        // The largest single allocation: the reserve from DIMENSIONS or the dense range.
        let biggest = self.reserve.max(va).max(fa);
        let total = dense_so_far.saturating_add(va).saturating_add(fa);
        if biggest <= limits.max_dense_cells && total <= limits.max_dense_cells {
            return Ok(total);
        }
        let extent = if va >= fa { self.values.extent() } else { self.formulas.extent() };
        let cells = |n: u64| crate::model::group_thousands(&n.to_string());
        let size = if self.reserve > va.max(fa) {
            let filled =
                if extent.is_empty() { String::new() } else { format!(", though its values fill only {extent}") };
            format!("declares its size as {} cells (its DIMENSIONS record){filled}", cells(self.reserve))
        } else {
            format!("spans {extent} ({} cells)", cells(va + fa))
        };
        Err(OpenError::too_large(format!(
            "the .xls workbook is too large to read safely: sheet '{name}' {size}, and all sheets together may hold at most {} cells (about {} MiB); \
             delete the stray values far from the tables (or save the workbook as .xlsx) and resubmit",
            cells(limits.max_dense_cells),
            (limits.max_dense_cells * DENSE_CELL_BYTES) >> 20,
        ))
        .on_sheet(name))
    }
}

/// The cells a DIMENSIONS record makes calamine reserve, decoded the way calamine decodes it
/// (0 for a record calamine reports as damaged).
fn dimensions(d: &[u8], name: &str) -> Result<u64, OpenError> {
    let (rf, rl, mut cf, cl) = match d.len() {
        10 => (u16_at(d, 0), u16_at(d, 2), u16_at(d, 4), u16_at(d, 6)),
        14 | 16 => (u32_at(d, 0), u32_at(d, 4), u16_at(d, 8), u16_at(d, 10)),
        _ => return Ok(0),
    };
    if cf > 0xFF || cl < cf {
        cf = 0;
    }
    let (start, end) = if rl >= 1 && cl >= 1 { ((rf, cf), (rl - 1, cl - 1)) } else { ((rf, cf), (rf, cf)) };
    if end.0 < start.0 {
        return Err(OpenError::unreadable_because(
            super::sniff::XLS_DAMAGED,
            format!("sheet '{name}' has a damaged DIMENSIONS record"),
        ));
    }
    // With `cl == cf` calamine's column count wraps to zero in a release build: no reserve.
    let cols = end.1.wrapping_sub(start.1).wrapping_add(1) as u64;
    Ok((end.0 - start.0) as u64 * cols + cols)
}
