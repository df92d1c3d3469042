//! `bcf-national.xlsx`: the publish as a workbook for readers who live in Excel. Sheets:
//! the national totals, each area's figures per year and basis, coverage (areas × years,
//! coloured as in the report), the changes since the last publish, the findings per area, and
//! notes saying what the figures are and which publish this is.
//!
//! Money is a number in pounds with a `£#,##0.00` format: a double holds every penny of any
//! BCF sum exactly (2^53 pence is £90 trillion). Every text cell is a string cell, whatever
//! its first character, so nothing an area typed becomes a formula, link or macro; control
//! characters are shown escaped. Header rows are frozen, each table has an autofilter and its
//! columns fit their contents. The document's creation time is fixed: the workbook's bytes
//! depend on the tables and the publish only.

use super::digest::{self, Publication};
use crate::model::Pence;
use crate::schema::SchemaSet;
use crate::tables::parquet::SCHEMA_VERSION;
use crate::tables::{NationalColumn, Tables};
use crate::validate::submissions::CoverStatus;
use rust_xlsxwriter::{Color, DocProperties, ExcelDateTime, Format, FormatBorder, Workbook, Worksheet, XlsxError};
use std::collections::BTreeMap;

/// The workbook's file name in a snapshot.
pub const FILE_NAME: &str = "bcf-national.xlsx";

/// Excel's limit on the characters of a cell.
const MAX_CELL_CHARS: usize = 32_767;
/// Columns no wider than this many characters when fitted (long messages wrap in Excel's bar).
const MAX_COLUMN_WIDTH_PX: u32 = 480;

/// The workbook's bytes.
pub fn workbook(t: &Tables, schemas: &SchemaSet, publication: &Publication) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let created = ExcelDateTime::from_ymd(2015, 4, 1)?;
    wb.set_properties(
        &DocProperties::new()
            .set_title("Better Care Fund national figures")
            .set_author("bcf")
            .set_creation_datetime(&created),
    );
    let styles = Styles::new();
    totals_sheet(wb.add_worksheet(), t, &styles)?;
    areas_sheet(wb.add_worksheet(), t, schemas, &styles)?;
    coverage_sheet(wb.add_worksheet(), t, &styles)?;
    changes_sheet(wb.add_worksheet(), t, &styles)?;
    findings_sheet(wb.add_worksheet(), t, &styles)?;
    notes_sheet(wb.add_worksheet(), t, schemas, publication, &styles)?;
    wb.save_to_buffer()
}

/// The formats of the workbook.
struct Styles {
    header: Format,
    money: Format,
    ratio: Format,
    included: Format,
    rejected: Format,
    missing: Format,
    wrap: Format,
}

impl Styles {
    fn new() -> Styles {
        Styles {
            header: Format::new()
                .set_bold()
                .set_background_color(Color::RGB(0xF3F5F9))
                .set_border_bottom(FormatBorder::Thin),
            money: Format::new().set_num_format("£#,##0.00"),
            ratio: Format::new().set_num_format("0.00\"×\""),
            included: Format::new().set_font_color(Color::RGB(0x1F7A3A)),
            rejected: Format::new()
                .set_bold()
                .set_font_color(Color::RGB(0xB3261E))
                .set_background_color(Color::RGB(0xFBEAE9)),
            missing: Format::new().set_font_color(Color::RGB(0x5B6473)),
            wrap: Format::new().set_text_wrap(),
        }
    }
}

/// A string cell: what an area typed stays text, with control characters escaped and cut at
/// Excel's cell limit.
fn text(ws: &mut Worksheet, row: u32, col: u16, s: &str) -> Result<(), XlsxError> {
    let shown = super::escape::for_terminal(s);
    ws.write_string(row, col, shown.chars().take(MAX_CELL_CHARS).collect::<String>())?;
    Ok(())
}

fn money(ws: &mut Worksheet, row: u32, col: u16, p: Pence, styles: &Styles) -> Result<(), XlsxError> {
    // Exact: the nearest double to a number of pence over 100 shows as that number of pence.
    ws.write_number_with_format(row, col, p.0 as f64 / 100.0, &styles.money)?;
    Ok(())
}

/// The header row, frozen, with an autofilter over `rows` data rows; then columns fitted.
fn table(ws: &mut Worksheet, headers: &[&str], rows: u32, styles: &Styles) -> Result<(), XlsxError> {
    for (i, h) in headers.iter().enumerate() {
        ws.write_string_with_format(0, i as u16, *h, &styles.header)?;
    }
    ws.set_freeze_panes(1, 0)?;
    ws.autofilter(0, 0, rows, headers.len() as u16 - 1)?;
    ws.set_autofit_max_width(MAX_COLUMN_WIDTH_PX);
    ws.autofit();
    Ok(())
}

fn totals_sheet(ws: &mut Worksheet, t: &Tables, styles: &Styles) -> Result<(), XlsxError> {
    ws.set_name("National totals")?;
    let mut headers = vec!["Financial year", "Basis", "Areas included", "Areas expected"];
    headers.extend(NationalColumn::ALL.iter().map(|c| c.label()));
    headers.extend(["Baseline year", "Voluntary vs baseline"]);
    for (i, r) in t.national.iter().enumerate() {
        let row = i as u32 + 1;
        text(ws, row, 0, &r.financial_year.to_string())?;
        text(ws, row, 1, r.basis.as_str())?;
        ws.write_number(row, 2, r.areas_included)?;
        ws.write_number(row, 3, r.areas_expected)?;
        for (j, c) in NationalColumn::ALL.iter().enumerate() {
            money(ws, row, 4 + j as u16, c.of(r), styles)?;
        }
        text(ws, row, 9, &r.baseline_year.to_string())?;
        if let Some(x) = r.voluntary_vs_baseline_ratio {
            ws.write_number_with_format(row, 10, x, &styles.ratio)?;
        }
    }
    table(ws, &headers, t.national.len() as u32, styles)
}

fn areas_sheet(ws: &mut Worksheet, t: &Tables, schemas: &SchemaSet, styles: &Styles) -> Result<(), XlsxError> {
    ws.set_name("Areas")?;
    let mut headers = vec!["Area code", "Area name", "Financial year", "Basis"];
    headers.extend(NationalColumn::ALL.iter().map(|c| c.label()));
    headers.extend(["Template", "Source file"]);
    let mut rows: Vec<_> = t.area_totals.iter().collect();
    rows.sort_by(|a, b| {
        (&a.area_name, &a.area_code, a.financial_year, a.basis).cmp(&(
            &b.area_name,
            &b.area_code,
            b.financial_year,
            b.basis,
        ))
    });
    for (i, r) in rows.iter().enumerate() {
        let row = i as u32 + 1;
        text(ws, row, 0, &r.area_code)?;
        text(ws, row, 1, &r.area_name)?;
        text(ws, row, 2, &r.financial_year.to_string())?;
        text(ws, row, 3, r.basis.as_str())?;
        for (j, c) in NationalColumn::ALL.iter().enumerate() {
            money(ws, row, 4 + j as u16, r.of(*c), styles)?;
        }
        text(ws, row, 9, schemas.template_name(&r.template_id))?;
        text(ws, row, 10, &r.source_file)?;
    }
    table(ws, &headers, rows.len() as u32, styles)
}

/// Areas × years and bases, each cell included, rejected or missing, coloured as in the report.
fn coverage_sheet(ws: &mut Worksheet, t: &Tables, styles: &Styles) -> Result<(), XlsxError> {
    ws.set_name("Coverage")?;
    let periods: Vec<(String, _, _)> =
        t.national.iter().map(|r| (format!("{} {}", r.financial_year, r.basis), r.financial_year, r.basis)).collect();
    let mut by_area: BTreeMap<(&str, &str), BTreeMap<_, CoverStatus>> = BTreeMap::new();
    for c in &t.coverage {
        by_area.entry((&c.area_name, &c.area_code)).or_default().insert((c.financial_year, c.basis), c.status);
    }
    let mut headers = vec!["Area name", "Area code"];
    headers.extend(periods.iter().map(|(h, _, _)| h.as_str()));
    for (i, ((name, code), cells)) in by_area.iter().enumerate() {
        let row = i as u32 + 1;
        text(ws, row, 0, name)?;
        text(ws, row, 1, code)?;
        for (j, (_, year, basis)) in periods.iter().enumerate() {
            let (word, format) = match cells.get(&(*year, *basis)) {
                Some(CoverStatus::Included) => ("included", &styles.included),
                Some(CoverStatus::Rejected) => ("rejected", &styles.rejected),
                Some(CoverStatus::Missing) => ("missing", &styles.missing),
                None => continue,
            };
            ws.write_string_with_format(row, 2 + j as u16, word, format)?;
        }
    }
    table(ws, &headers, by_area.len() as u32, styles)
}

fn changes_sheet(ws: &mut Worksheet, t: &Tables, styles: &Styles) -> Result<(), XlsxError> {
    ws.set_name("Changes")?;
    let headers = [
        "Change",
        "Description",
        "Financial year",
        "Basis",
        "Area code",
        "Area name",
        "File",
        "Measure",
        "Previous",
        "Current",
        "Change (£)",
        "Reason",
    ];
    let rows = t.changes.as_deref().unwrap_or_default();
    for (i, r) in rows.iter().enumerate() {
        let row = i as u32 + 1;
        text(ws, row, 0, r.kind.as_str())?;
        text(ws, row, 1, &r.description)?;
        let opt = |v: Option<String>| v.unwrap_or_default();
        text(ws, row, 2, &opt(r.financial_year.map(|y| y.to_string())))?;
        text(ws, row, 3, r.basis.map_or("", |b| b.as_str()))?;
        text(ws, row, 4, r.area_code.as_deref().unwrap_or(""))?;
        text(ws, row, 5, r.area_name.as_deref().unwrap_or(""))?;
        text(ws, row, 6, r.source_file.as_deref().unwrap_or(""))?;
        text(ws, row, 7, r.measure.map_or("", |m| m.label()))?;
        for (col, value) in [(8, r.previous), (9, r.current), (10, r.change())] {
            if let (Some(p), true) = (value, r.measure.is_some()) {
                money(ws, row, col, p, styles)?;
            }
        }
        text(ws, row, 11, r.reason.as_deref().unwrap_or(""))?;
    }
    if t.changes.is_none() {
        text(ws, 1, 1, "Nothing to compare with: this is the first publish in this output folder.")?;
    }
    table(ws, &headers, rows.len().max(1) as u32, styles)
}

fn findings_sheet(ws: &mut Worksheet, t: &Tables, styles: &Styles) -> Result<(), XlsxError> {
    ws.set_name("Findings by area")?;
    let headers = [
        "Area code",
        "Area name",
        "Files with findings",
        "Rejected files",
        "Errors",
        "Warnings",
        "Accepted by a decision",
        "First error: file",
        "First error: where",
        "First error",
    ];
    let rows = digest::by_area(t);
    for (i, a) in rows.iter().enumerate() {
        let row = i as u32 + 1;
        text(ws, row, 0, a.area_code)?;
        text(ws, row, 1, a.area_name)?;
        for (col, n) in [(2, a.files), (3, a.rejected_files), (4, a.errors), (5, a.warnings), (6, a.accepted)] {
            ws.write_number(row, col, n as u32)?;
        }
        if let Some(f) = a.first_error {
            text(ws, row, 7, &f.source_file)?;
            text(ws, row, 8, &f.location())?;
            text(ws, row, 9, &f.message)?;
        }
    }
    table(ws, &headers, rows.len() as u32, styles)
}

fn notes_sheet(
    ws: &mut Worksheet,
    t: &Tables,
    schemas: &SchemaSet,
    publication: &Publication,
    styles: &Styles,
) -> Result<(), XlsxError> {
    ws.set_name("Notes")?;
    let baseline = t.national.first().map(|r| r.baseline_year.to_string()).unwrap_or_default();
    let revision = schemas.catalogue_revision.map_or("not stated".to_string(), |r| r.to_string());
    let coverage = digest::coverage_note(&t.national)
        .map_or("every year includes at least three quarters of the areas expected".to_string(), |n| {
            super::html::capitalised(&n)
        });
    let notes: [(&str, String); 10] = [
        ("What this is", "The Better Care Fund's national figures: the money Health and Wellbeing Boards pooled, from the returns that count, exact to the penny.".into()),
        ("Mandated minimum", "The contributions each area must pool (NHS minimum and the grants the fund requires), summed from the returns' lines.".into()),
        ("Voluntary above minimum", "What local authorities (LA) and the NHS pooled beyond the minimum; the sum of the two voluntary columns.".into()),
        ("Total pooled", "Mandated minimum plus voluntary above the minimum.".into()),
        ("Voluntary vs baseline", format!("Voluntary pooling as a multiple of {baseline}'s plan.")),
        ("Coverage", coverage),
        ("Published", publication.date.to_string()),
        ("Snapshot", publication.snapshot.clone()),
        ("Catalogue revision", revision),
        ("Data", format!("The Parquet tables beside this workbook (schema version {SCHEMA_VERSION}) hold every line, finding and file; each national figure is the sum of the lines in lines/.")),
    ];
    ws.write_string_with_format(0, 0, "Note", &styles.header)?;
    ws.write_string_with_format(0, 1, "", &styles.header)?;
    for (i, (key, value)) in notes.iter().enumerate() {
        text(ws, i as u32 + 1, 0, key)?;
        ws.write_string_with_format(i as u32 + 1, 1, value.as_str(), &styles.wrap)?;
    }
    ws.set_column_width(0, 24)?;
    ws.set_column_width(1, 100)?;
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}
