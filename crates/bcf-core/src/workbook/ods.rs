//! A streaming ODS reader: `content.xml` is read event by event into the sparse grid.
//!
//! calamine's ODS reader parses every sheet on open into dense ranges and expands
//! `table:number-columns-repeated` / `number-rows-repeated` cell by cell, and `<text:s
//! text:c="…"/>` space by space: a content.xml of a few kilobytes can ask it for gigabytes.
//! Here a repeated *empty* cell or row only moves the position (LibreOffice ends every sheet
//! with a million repeated empty rows), a repeated *filled* cell is stored once per
//! repetition but counts against the sheet's cell limit, and text is capped per cell. Only
//! the sheets asked for are read: one pass over content.xml lists the sheet names, and each
//! sheet read is one more pass that stops at the end of its table. quick-xml is an event
//! reader (no recursion), and end-name checking is off, so nesting depth costs nothing.

use super::{Cell, Limits, OpenError, Sheet, Value};
use crate::model::CellPos;
use quick_xml::events::{BytesStart, Event};
use std::io::{BufReader, Cursor};

/// An ODS workbook: its bytes and sheet names; sheets are read on demand.
pub struct Ods {
    bytes: Vec<u8>,
    names: Vec<String>,
    limits: Limits,
}

fn bad(e: impl std::fmt::Display) -> OpenError {
    OpenError::unreadable_because(
        "the .ods workbook is damaged or truncated; open it in LibreOffice or Excel, save it again as .xlsx and resubmit",
        e,
    )
}

/// Runs `f` over content.xml's events. The archive lives inside the closure's frame.
fn with_content<T>(
    bytes: &[u8],
    f: impl FnOnce(&mut quick_xml::Reader<BufReader<&mut dyn std::io::Read>>) -> Result<T, OpenError>,
) -> Result<T, OpenError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(bad)?;
    let index = (0..zip.len())
        .find(|&i| zip.name_for_index(i).and_then(|n| n.ok()).is_some_and(|n| n.eq_ignore_ascii_case("content.xml")))
        .ok_or_else(|| bad("content.xml is missing"))?;
    let mut entry = zip.by_index(index).map_err(bad)?;
    let mut r = quick_xml::Reader::from_reader(BufReader::new(&mut entry as &mut dyn std::io::Read));
    let c = r.config_mut();
    c.check_end_names = false;
    c.trim_text(false);
    c.check_comments = false;
    f(&mut r)
}

fn attr(e: &BytesStart<'_>, key: &str) -> Option<String> {
    e.attributes().flatten().find(|a| a.key.as_ref() == key).map(|a| {
        a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map(|v| v.into_owned())
            .unwrap_or_else(|_| a.value.to_string())
    })
}

fn repeat(e: &BytesStart<'_>, key: &str) -> u32 {
    attr(e, key).and_then(|v| v.trim().parse::<u64>().ok()).map_or(1, |n| n.clamp(1, u32::MAX as u64) as u32)
}

impl Ods {
    pub fn open(bytes: Vec<u8>, limits: Limits) -> Result<Ods, OpenError> {
        let names = with_content(&bytes, |r| {
            let mut names = Vec::new();
            let mut depth = 0usize;
            let mut buf = Vec::new();
            loop {
                match r.read_event_into(&mut buf).map_err(bad)? {
                    Event::Start(e) if e.name().as_ref() == "table:table" => {
                        if depth == 0 {
                            names.push(attr(&e, "table:name").unwrap_or_default());
                        }
                        depth += 1;
                    }
                    Event::Empty(e) if e.name().as_ref() == "table:table" && depth == 0 => {
                        names.push(attr(&e, "table:name").unwrap_or_default());
                    }
                    Event::End(e) if e.name().as_ref() == "table:table" => depth = depth.saturating_sub(1),
                    Event::Eof => break,
                    _ => (),
                }
                buf.clear();
            }
            Ok(names)
        })?;
        Ok(Ods { bytes, names, limits })
    }

    pub fn sheet_names(&self) -> Vec<String> {
        self.names.clone()
    }

    /// Reads the first top-level table called `name` into a sparse grid.
    pub fn read_sheet(&self, name: &str) -> Result<Sheet, OpenError> {
        let limits = self.limits;
        with_content(&self.bytes, |r| {
            let mut sheet = Sheet::new(name);
            let mut buf = Vec::new();
            // Find the table.
            loop {
                match r.read_event_into(&mut buf).map_err(bad)? {
                    Event::Start(e)
                        if e.name().as_ref() == "table:table" && attr(&e, "table:name").as_deref() == Some(name) =>
                    {
                        break
                    }
                    Event::Empty(e)
                        if e.name().as_ref() == "table:table" && attr(&e, "table:name").as_deref() == Some(name) =>
                    {
                        return Ok(sheet)
                    }
                    Event::Eof => return Err(OpenError::unreadable(format!("sheet '{name}' is missing"))),
                    _ => (),
                }
                buf.clear();
            }
            read_table(r, &mut sheet, &limits)?;
            Ok(sheet)
        })
    }
}

/// Reads rows until the end of the current table.
fn read_table(
    r: &mut quick_xml::Reader<BufReader<&mut dyn std::io::Read>>,
    sheet: &mut Sheet,
    limits: &Limits,
) -> Result<(), OpenError> {
    let mut buf = Vec::new();
    let mut row: u32 = 0;
    let mut row_repeat: u32 = 1;
    let mut col: u32 = 0;
    let mut row_cells: Vec<(u32, Cell)> = Vec::new();
    let mut nested = 0usize; // tables inside cells: skipped
    loop {
        let (start, e) = match r.read_event_into(&mut buf).map_err(bad)? {
            Event::Start(e) => (true, e),
            Event::Empty(e) => (false, e),
            Event::End(e) => {
                match e.name().as_ref() {
                    "table:table" if nested == 0 => return Ok(()),
                    "table:table" => nested -= 1,
                    "table:table-row" if nested == 0 => {
                        for k in 0..row_repeat {
                            if row_cells.is_empty() {
                                break;
                            }
                            for (c, cell) in &row_cells {
                                sheet.add(CellPos::new(row.saturating_add(k), *c), cell.clone(), limits)?;
                            }
                        }
                        row_cells.clear();
                        row = row.saturating_add(row_repeat);
                        row_repeat = 1;
                    }
                    _ => (),
                }
                buf.clear();
                continue;
            }
            Event::Eof => return Err(bad("content.xml ends inside a table")),
            _ => {
                buf.clear();
                continue;
            }
        };
        let name = e.name();
        if nested > 0 {
            if start && name.as_ref() == "table:table" {
                nested += 1;
            }
        } else {
            match name.as_ref() {
                "table:table" if start => nested += 1,
                "table:table-row" if start => {
                    row_repeat = repeat(&e, "table:number-rows-repeated");
                    col = 0;
                    row_cells.clear();
                }
                "table:table-row" => row = row.saturating_add(repeat(&e, "table:number-rows-repeated")),
                "table:table-cell" | "table:covered-table-cell" => {
                    let reps = repeat(&e, "table:number-columns-repeated");
                    let content = if start { read_cell_text(r, name.as_ref())? } else { String::new() };
                    let cell = cell_from(&e, content);
                    if cell.value != Value::Empty || cell.formula {
                        for k in 0..reps {
                            if sheet.len() + row_cells.len() >= limits.max_cells_per_sheet {
                                return Err(sheet.too_many(limits));
                            }
                            row_cells.push((col.saturating_add(k), cell.clone()));
                        }
                    }
                    col = col.saturating_add(reps);
                }
                _ => (),
            }
        }
        buf.clear();
    }
}

/// The text content of a cell (paragraphs joined by new lines), up to its end tag.
/// Annotations (comments) are skipped; text beyond Excel's cell limit is dropped.
fn read_cell_text(
    r: &mut quick_xml::Reader<BufReader<&mut dyn std::io::Read>>,
    end: &str,
) -> Result<String, OpenError> {
    let end = end.to_string();
    let mut s = String::new();
    let mut chars = 0usize;
    let mut paragraphs = 0usize;
    let mut skip = 0usize; // inside office:annotation
    let mut buf = Vec::new();
    let mut push = |s: &mut String, t: &str| {
        for ch in t.chars() {
            if chars >= super::MAX_CELL_CHARS {
                return;
            }
            s.push(ch);
            chars += 1;
        }
    };
    loop {
        match r.read_event_into(&mut buf).map_err(bad)? {
            Event::End(e) if e.name().as_ref() == end.as_str() && skip == 0 => return Ok(s),
            Event::Start(e) if e.name().as_ref() == "office:annotation" => skip += 1,
            Event::End(e) if e.name().as_ref() == "office:annotation" => skip = skip.saturating_sub(1),
            _ if skip > 0 => (),
            Event::Start(e) if e.name().as_ref() == "text:p" => {
                if paragraphs > 0 {
                    push(&mut s, "\n");
                }
                paragraphs += 1;
            }
            Event::Empty(e) if e.name().as_ref() == "text:p" => {
                if paragraphs > 0 {
                    push(&mut s, "\n");
                }
                paragraphs += 1;
            }
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == "text:s" => {
                // `push` stops at the cell limit; never build more spaces than that.
                let n = (repeat(&e, "text:c") as usize).min(super::MAX_CELL_CHARS);
                push(&mut s, &" ".repeat(n));
            }
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == "text:tab" => push(&mut s, "\t"),
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == "text:line-break" => push(&mut s, "\n"),
            Event::Text(t) => push(&mut s, &t.xml10_content()),
            Event::CData(t) => push(&mut s, &t.xml10_content()),
            Event::GeneralRef(g) => {
                let c = match g.resolve_char_ref() {
                    Ok(Some(c)) => Some(c),
                    _ => match g.as_ref() {
                        "amp" => Some('&'),
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "quot" => Some('"'),
                        "apos" => Some('\''),
                        _ => None,
                    },
                };
                if let Some(c) = c {
                    push(&mut s, c.encode_utf8(&mut [0; 4]));
                }
            }
            Event::Eof => return Err(bad("content.xml ends inside a cell")),
            _ => (),
        }
        buf.clear();
    }
}

/// A cell's value from its attributes (and its text, for strings and errors).
fn cell_from(e: &BytesStart<'_>, text: String) -> Cell {
    let formula = attr(e, "table:formula").is_some_and(|f| !f.trim().is_empty());
    let error = attr(e, "calcext:value-type").as_deref() == Some("error");
    let value = match attr(e, "office:value-type").as_deref() {
        _ if error => Value::Error(text),
        Some("float" | "percentage" | "currency") => match attr(e, "office:value") {
            Some(v) => match v.trim().parse::<f64>() {
                Ok(x) => Value::Number(x),
                Err(_) => Value::Text(v),
            },
            None => Value::Empty,
        },
        Some("date") => attr(e, "office:date-value").map_or(Value::Empty, Value::DateIso),
        Some("time") => attr(e, "office:time-value").map_or(Value::Empty, Value::Text),
        Some("boolean") => {
            attr(e, "office:boolean-value").map_or(Value::Empty, |b| Value::Bool(b == "true" || b == "TRUE"))
        }
        Some("string") => match attr(e, "office:string-value") {
            Some(v) => Value::Text(v),
            None => Value::Text(text),
        },
        _ if !text.is_empty() => Value::Text(text),
        _ => Value::Empty,
    };
    Cell { value, formula }
}
