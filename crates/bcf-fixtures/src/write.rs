//! Lays a spec out as a workbook with rust_xlsxwriter, where its template's schema puts things.

use crate::spec::{
    AllocationsSpec, Amount, CellRef, DateCell, Layout, ReturnSpec, SchemeId, Total, AREAS_OF_SPEND, PROVIDERS,
    SCHEME_TYPES,
};
use bcf::model::{column_letters, CellPos, Pence};
use bcf::schema::{FieldKind, FieldRole};
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Formula, Workbook, Worksheet};
use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::path::Path;

/// The cached result written for a formula "saved without a cached value"; removed from the
/// sheet XML after saving, as rust_xlsxwriter always writes a `<v>` element.
const NO_CACHE: &str = "BCF_FIXTURE_NO_CACHED_VALUE";

/// Column B, where labels go; C is the first amount column.
const COL_B: u16 = 1;
const COL_C: u16 = 2;

fn xlsx_err(e: rust_xlsxwriter::XlsxError) -> io::Error {
    io::Error::other(e.to_string())
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// A0-based row that fits a worksheet, or an error (never a panic or a wrap-around).
fn row_of(r: u64) -> io::Result<u32> {
    if r < 1_048_576 {
        Ok(r as u32)
    } else {
        Err(invalid(format!("row {} is beyond the last row of a worksheet", r + 1)))
    }
}

fn a1(row: u32, col: u16) -> String {
    CellPos::new(row, col as u32).a1()
}

/// Writes cells, remembering whether any formula was saved without a cached value.
struct Writer {
    money: Format,
    date: Format,
    no_cache: bool,
}

impl Writer {
    fn new() -> Writer {
        Writer {
            money: Format::new().set_num_format("£#,##0.00"),
            date: Format::new().set_num_format("dd/mm/yyyy"),
            no_cache: false,
        }
    }

    fn text(&self, ws: &mut Worksheet, row: u32, col: u16, s: &str) -> io::Result<()> {
        ws.write_string(row, col, s).map_err(xlsx_err)?;
        Ok(())
    }

    fn cached(&mut self, cached: Option<Pence>) -> String {
        match cached {
            Some(p) => p.to_string(),
            None => {
                self.no_cache = true;
                NO_CACHE.to_string()
            }
        }
    }

    fn formula(
        &mut self,
        ws: &mut Worksheet,
        row: u32,
        col: u16,
        formula: &str,
        cached: Option<Pence>,
    ) -> io::Result<()> {
        let result = self.cached(cached);
        ws.write_formula_with_format(row, col, Formula::new(formula).set_result(result), &self.money)
            .map_err(xlsx_err)?;
        Ok(())
    }

    /// A formula whose cached result is text (e.g. `"Yes"`, or a name).
    fn text_formula(&self, ws: &mut Worksheet, row: u32, col: u16, formula: &str, result: &str) -> io::Result<()> {
        ws.write_formula(row, col, Formula::new(formula).set_result(result)).map_err(xlsx_err)?;
        Ok(())
    }

    fn amount(&mut self, ws: &mut Worksheet, row: u32, col: u16, a: &Amount) -> io::Result<()> {
        match a {
            Amount::Number(p) => {
                ws.write_number_with_format(row, col, p.0 as f64 / 100.0, &self.money).map_err(xlsx_err)?;
            }
            Amount::Text(t) => {
                ws.write_string_with_format(row, col, t, &self.money).map_err(xlsx_err)?;
            }
            Amount::Formula { formula, cached } => {
                self.formula(ws, row, col, formula, *cached)?;
            }
            Amount::Blank => {}
        }
        Ok(())
    }

    /// A total cell; returns the value Excel would have cached there (for grand totals).
    fn total(
        &mut self,
        ws: &mut Worksheet,
        row: u32,
        col: u16,
        sum_formula: &str,
        lines: Pence,
        total: &Total,
    ) -> io::Result<Pence> {
        match total {
            Total::Sum => {
                self.formula(ws, row, col, sum_formula, Some(lines))?;
                Ok(lines)
            }
            Total::StaleSum(p) => {
                self.formula(ws, row, col, sum_formula, Some(*p))?;
                Ok(*p)
            }
            Total::SumNotCalculated => {
                self.formula(ws, row, col, sum_formula, None)?;
                Ok(lines)
            }
            Total::Typed(a) => {
                self.amount(ws, row, col, a)?;
                Ok(a.value().unwrap_or_default())
            }
        }
    }
}

fn fixed_properties() -> io::Result<DocProperties> {
    let created = ExcelDateTime::from_ymd(2024, 1, 1).map_err(xlsx_err)?;
    Ok(DocProperties::new().set_author("bcf fixtures").set_creation_datetime(&created))
}

/// Cover values for fields the pipeline does not use, in field order.
const OTHER_COVER_VALUES: [&str; 4] = ["Jo Bloggs", "jo.bloggs@example.gov.uk", "Cllr A Chair", "Yes"];

pub(crate) fn write_return(spec: &ReturnSpec, path: &Path) -> io::Result<Layout> {
    let family = &spec.family;
    check_sections(spec)?;
    let (cover, income, expenditure) =
        (family.cover().sheet.clone(), family.income().sheet.clone(), family.expenditure().sheet.clone());
    let special = [cover.as_str(), income.as_str(), expenditure.as_str()];
    let sheet_name = |s: &str| -> String {
        if spec.habits.trailing_space_sheet_names && special.contains(&s) {
            format!("{s} ")
        } else {
            s.to_string()
        }
    };
    let mut layout = Layout {
        cover_sheet: sheet_name(&cover),
        income_sheet: sheet_name(&income),
        expenditure_sheet: sheet_name(&expenditure),
        headers: spec.sections.iter().map(|_| None).collect(),
        lines: spec.sections.iter().map(|_| Vec::new()).collect(),
        totals: spec.sections.iter().map(|_| Vec::new()).collect(),
        ..Layout::default()
    };
    let mut wb = Workbook::new();
    wb.set_properties(&fixed_properties()?);
    let mut w = Writer::new();
    if spec.habits.extra_sheets {
        let ws = named_sheet(&mut wb, "Notes")?;
        w.text(ws, 1, COL_B, "Notes")?;
        w.text(ws, 3, COL_B, "Figures agreed with the finance team; see the narrative plan.")?;
    }
    for name in family.sheets() {
        let ws = named_sheet(&mut wb, &sheet_name(&name))?;
        if name == cover {
            write_cover(&mut w, ws, spec, &mut layout)?;
        } else if name == income && family.one_table() {
            write_income_table(&mut w, ws, spec, &mut layout)?;
        } else if name == income {
            write_income(&mut w, ws, spec, &mut layout)?;
        } else if name == expenditure {
            write_expenditure(&mut w, ws, spec, &mut layout)?;
        } else {
            write_filler(&w, ws, &name)?;
        }
        if let (Some((r, c)), true) = (spec.habits.stray_value, special.contains(&name.as_str())) {
            let c = u16::try_from(c).map_err(|_| invalid(format!("column {c} is too far")))?;
            ws.write_number(r, c, 1234.56).map_err(xlsx_err)?;
        }
    }
    let ws = named_sheet(&mut wb, "Lists")?;
    write_lists(&w, ws, spec)?;
    ws.set_hidden(true);
    if spec.habits.extra_sheets {
        let ws = named_sheet(&mut wb, "Sheet1")?;
        w.text(ws, 0, 0, "check")?;
        ws.write_number(0, 1, 12345.67).map_err(xlsx_err)?;
    }
    save(&mut wb, w.no_cache, path)?;
    Ok(layout)
}

fn named_sheet<'a>(wb: &'a mut Workbook, name: &str) -> io::Result<&'a mut Worksheet> {
    let ws = wb.add_worksheet();
    ws.set_name(name).map_err(xlsx_err)?;
    Ok(ws)
}

/// Every section must be one the family's income sheet has, once.
fn check_sections(spec: &ReturnSpec) -> io::Result<()> {
    let sources = spec.family.sources();
    for (i, s) in spec.sections.iter().enumerate() {
        let known = sources.iter().any(|k| **k == *s.funding_source);
        // A one-table row may name its own source, whatever its section.
        let typed = spec.family.one_table() && s.lines.iter().all(|l| l.contribution_type.is_some());
        if !known && !typed {
            return Err(invalid(format!("the {} income sheet has no section for `{}`", spec.family, s.funding_source)));
        }
        if spec.sections[..i].iter().any(|o| o.funding_source == s.funding_source) {
            return Err(invalid(format!("two sections for `{}`; put the lines in one", s.funding_source)));
        }
    }
    Ok(())
}

fn write_cover(w: &mut Writer, ws: &mut Worksheet, spec: &ReturnSpec, layout: &mut Layout) -> io::Result<()> {
    let family = &spec.family;
    let tc = family.title_column();
    w.text(ws, 1, tc, spec.title.as_deref().unwrap_or(&family.spec().recognise.title))?;
    w.text(ws, 2, tc, "Version 1.0")?;
    let (label_col, value_col) = (family.cover_column(), family.cover_column() + 1);
    let mut others = OTHER_COVER_VALUES.iter();
    for (i, field) in family.cover().fields.iter().enumerate() {
        let r = 6 + 2 * i as u32;
        w.text(ws, r, label_col, &field.label)?;
        let cell = Some(CellRef { sheet: layout.cover_sheet.clone(), cell: a1(r, value_col) });
        match (field.role, field.kind) {
            (Some(FieldRole::AreaName), _) => {
                if !spec.hwb_name.is_empty() {
                    w.text(ws, r, value_col, &spec.hwb_name)?;
                    layout.hwb_name = cell;
                }
            }
            (Some(FieldRole::SubmissionDate), _) => {
                write_date(w, ws, r, value_col, &spec.submission_date)?;
                layout.submission_date = cell.filter(|_| spec.submission_date != DateCell::Blank);
            }
            (None, FieldKind::Date) => write_date(w, ws, r, value_col, &DateCell::Date(2020, 1, 1))?,
            (None, FieldKind::Text) => {
                let value = spec.other_cover_fields.get(&field.label).map(String::as_str);
                let value = value.or_else(|| others.next().copied()).unwrap_or_default();
                if !value.is_empty() {
                    w.text(ws, r, value_col, value)?;
                }
            }
        }
    }
    Ok(())
}

fn write_date(w: &Writer, ws: &mut Worksheet, r: u32, c: u16, date: &DateCell) -> io::Result<()> {
    match date {
        DateCell::Date(y, m, d) => {
            let dt = ExcelDateTime::from_ymd(*y, *m, *d).map_err(xlsx_err)?;
            ws.write_datetime_with_format(r, c, &dt, &w.date).map_err(xlsx_err)?;
        }
        DateCell::Text(t) => w.text(ws, r, c, t)?,
        DateCell::Blank => {}
    }
    Ok(())
}

/// Lines of a section, laid out from `first` (0-based): the row of each line.
fn line_rows(first: u32, n: usize, blank_between: bool) -> io::Result<Vec<u32>> {
    let step = if blank_between { 2 } else { 1 };
    (0..n).map(|i| row_of(first as u64 + i as u64 * step)).collect()
}

/// The income sheet's heading, and the first row of its tables.
fn income_heading(w: &mut Writer, ws: &mut Worksheet, spec: &ReturnSpec, layout: &Layout) -> io::Result<u32> {
    w.text(ws, 1, COL_B, "Income")?;
    w.text(ws, 3, COL_B, "Selected Health and Wellbeing Board:")?;
    if let Some(hwb) = &layout.hwb_name {
        w.text_formula(ws, 3, COL_C, &format!("='{}'!{}", hwb.sheet, hwb.cell), spec.hwb_name.trim())?;
    }
    row_of(5 + spec.habits.table_offset_rows as u64)
}

fn write_income(w: &mut Writer, ws: &mut Worksheet, spec: &ReturnSpec, layout: &mut Layout) -> io::Result<()> {
    let family = &spec.family;
    let inc = family.income();
    let mut row = income_heading(w, ws, spec, layout)?;
    // Per source: its total row (0-based) and the values cached there, per column.
    let mut totals: BTreeMap<String, (u32, Vec<Pence>)> = BTreeMap::new();
    for section_spec in &inc.sections {
        let source = section_spec.funding_source.as_deref().unwrap_or_default();
        let Some(si) = spec.sections.iter().position(|s| s.funding_source == source) else { continue };
        if let Some(q) = inc.questions.iter().find(|q| q.funding_source == source) {
            row = write_question(w, ws, spec, q, row, layout)?;
        }
        let (total_row, cached) =
            write_section(w, ws, spec, si, &section_spec.header, &section_spec.total, row, layout)?;
        totals.insert(source.to_string(), (total_row, cached));
        row = row_of(total_row as u64 + 2 + spec.habits.rows_inserted_between_sections as u64)?;
    }
    let last = inc.grand_totals.len().saturating_sub(1);
    for (gi, g) in inc.grand_totals.iter().enumerate() {
        let parts: Vec<&(u32, Vec<Pence>)> = g.funding_sources.iter().filter_map(|s| totals.get(&**s)).collect();
        let stored = if gi == last { spec.bcf_total.clone() } else { Vec::new() };
        let cells =
            write_grand_total(w, ws, &g.label, &parts, &stored, row, family.columns().len(), &layout.income_sheet)?;
        layout.grand_totals.insert(g.label.clone(), cells);
        row = row_of(row as u64 + 2)?;
    }
    Ok(())
}

fn write_question(
    w: &mut Writer,
    ws: &mut Worksheet,
    spec: &ReturnSpec,
    q: &bcf::schema::QuestionSpec,
    row: u32,
    layout: &mut Layout,
) -> io::Result<u32> {
    let years: Vec<String> = spec.family.years().iter().map(|y| y.to_string()).collect();
    w.text(ws, row, COL_B, &format!("{} in {}? If yes, please detail below", q.label_prefix, years.join(" and ")))?;
    if let Some(a) = spec.answers.get(&q.funding_source) {
        w.text(ws, row, COL_C, a)?;
    }
    layout
        .questions
        .insert(q.funding_source.clone(), CellRef { sheet: layout.income_sheet.clone(), cell: a1(row, COL_C) });
    row_of(row as u64 + 2)
}

/// A section from its header row; its total row and the values cached there.
#[allow(clippy::too_many_arguments)]
fn write_section(
    w: &mut Writer,
    ws: &mut Worksheet,
    spec: &ReturnSpec,
    si: usize,
    header: &str,
    total_label: &str,
    row: u32,
    layout: &mut Layout,
) -> io::Result<(u32, Vec<Pence>)> {
    let family = &spec.family;
    let inc = family.income();
    let ncols = inc.amount_columns.len();
    let section = &spec.sections[si];
    w.text(ws, row, COL_B, header)?;
    for (c, col) in inc.amount_columns.iter().enumerate() {
        w.text(ws, row, COL_C + c as u16, &col.title)?;
    }
    for (k, title) in inc.ignored_columns.iter().enumerate() {
        w.text(ws, row, COL_C + (ncols + k) as u16, title)?;
    }
    let first = row_of(row as u64 + 1)?;
    let rows = line_rows(first, section.lines.len(), spec.habits.blank_rows_between_lines)?;
    let mut sums = vec![Pence::ZERO; ncols];
    let mut cells = Vec::new();
    for (line, &r) in section.lines.iter().zip(&rows) {
        if !line.contributor.is_empty() {
            w.text(ws, r, COL_B, &line.contributor)?;
        }
        let mut line_cells = Vec::new();
        for (c, sum) in sums.iter_mut().enumerate() {
            let col = COL_C + c as u16;
            if let Some(a) = line.amounts.get(c) {
                w.amount(ws, r, col, a)?;
                *sum += a.value().unwrap_or_default();
            }
            line_cells.push(CellRef { sheet: layout.income_sheet.clone(), cell: a1(r, col) });
        }
        cells.push(line_cells);
    }
    let used = rows.last().map_or(0, |l| l - first + 1);
    let preformatted = if family.voluntary(&section.funding_source) { 5 } else { 3 };
    let room = (preformatted + spec.habits.rows_inserted_in_sections).max(used);
    let total_row = row_of(first as u64 + room as u64)?;
    w.text(ws, total_row, COL_B, total_label)?;
    let mut cached = Vec::new();
    let mut total_cells = Vec::new();
    for (c, sum) in sums.iter().enumerate() {
        let col = COL_C + c as u16;
        let letter = column_letters(col as u32);
        let formula = format!("=SUM({letter}{}:{letter}{})", first + 1, total_row);
        let t = section.total.get(c).cloned().unwrap_or_default();
        cached.push(w.total(ws, total_row, col, &formula, *sum, &t)?);
        total_cells.push(CellRef { sheet: layout.income_sheet.clone(), cell: a1(total_row, col) });
    }
    layout.headers[si] = Some(CellRef { sheet: layout.income_sheet.clone(), cell: a1(row, COL_B) });
    layout.lines[si] = cells;
    layout.totals[si] = total_cells;
    Ok((total_row, cached))
}

#[allow(clippy::too_many_arguments)]
fn write_grand_total(
    w: &mut Writer,
    ws: &mut Worksheet,
    label: &str,
    parts: &[&(u32, Vec<Pence>)],
    stored: &[Total],
    row: u32,
    ncols: usize,
    sheet: &str,
) -> io::Result<Vec<CellRef>> {
    w.text(ws, row, COL_B, label)?;
    let mut cells = Vec::new();
    for c in 0..ncols {
        let col = COL_C + c as u16;
        let letter = column_letters(col as u32);
        let formula = if parts.is_empty() {
            "=0".to_string()
        } else {
            let terms: Vec<String> = parts.iter().map(|(r, _)| format!("{letter}{}", r + 1)).collect();
            format!("={}", terms.join("+"))
        };
        let value = Pence::sum(parts.iter().map(|(_, v)| &v[c]));
        w.total(ws, row, col, &formula, value, &stored.get(c).cloned().unwrap_or_default())?;
        cells.push(CellRef { sheet: sheet.to_string(), cell: a1(row, col) });
    }
    Ok(cells)
}

/// A one-table income sheet: a header (the label, the source column, the amounts, then the
/// columns not read), the lines grouped by source, and one total row.
fn write_income_table(w: &mut Writer, ws: &mut Worksheet, spec: &ReturnSpec, layout: &mut Layout) -> io::Result<()> {
    let family = &spec.family;
    let inc = family.income();
    let table = &inc.sections[0];
    let header = income_heading(w, ws, spec, layout)?;
    let source_title = table.funding_source_column.as_deref().unwrap_or_default();
    let mut titles = vec![table.header.as_str(), source_title];
    titles.extend(inc.amount_columns.iter().map(|c| c.title.as_str()));
    titles.extend(inc.ignored_columns.iter().map(String::as_str));
    for (i, t) in titles.iter().enumerate() {
        w.text(ws, header, COL_B + i as u16, t)?;
    }
    let amount_col = COL_B + 2;
    let order: Vec<usize> = family
        .sources()
        .iter()
        .filter_map(|src| spec.sections.iter().position(|s| s.funding_source == **src))
        .chain(
            (0..spec.sections.len())
                .filter(|&i| !family.sources().iter().any(|s| **s == *spec.sections[i].funding_source)),
        )
        .collect();
    let first = header + 1;
    let step: u64 = if spec.habits.blank_rows_between_lines { 2 } else { 1 };
    let mut next = first as u64;
    let mut last: Option<u32> = None;
    let mut sum = Pence::ZERO;
    for si in order {
        let section = &spec.sections[si];
        if last.is_some() && !section.lines.is_empty() {
            next += spec.habits.rows_inserted_between_sections as u64;
        }
        let mut cells = Vec::new();
        for line in &section.lines {
            let r = row_of(next)?;
            next += step;
            last = Some(r);
            let kind =
                line.contribution_type.clone().or_else(|| family.row_label(&section.funding_source).map(String::from));
            let kind = kind.ok_or_else(|| invalid(format!("no row label for `{}`", section.funding_source)))?;
            if !line.contributor.is_empty() {
                w.text(ws, r, COL_B, &line.contributor)?;
            }
            w.text(ws, r, COL_B + 1, &kind)?;
            if let Some(a) = line.amounts.first() {
                w.amount(ws, r, amount_col, a)?;
                sum += a.value().unwrap_or_default();
            }
            cells.push(vec![CellRef { sheet: layout.income_sheet.clone(), cell: a1(r, amount_col) }]);
        }
        layout.lines[si] = cells;
    }
    let used = last.map_or(0, |l| l - first + 1);
    let room = 20u32.saturating_add(spec.habits.rows_inserted_in_sections).max(used);
    let total_row = row_of(first as u64 + room as u64 + 1)?;
    w.text(ws, total_row, COL_B, &table.total)?;
    let letter = column_letters(amount_col as u32);
    let formula = format!("=SUM({letter}{}:{letter}{})", first + 1, first + room);
    w.total(ws, total_row, amount_col, &formula, sum, &spec.bcf_total.first().cloned().unwrap_or_default())?;
    let cell = CellRef { sheet: layout.income_sheet.clone(), cell: a1(total_row, amount_col) };
    for t in layout.totals.iter_mut() {
        *t = vec![cell.clone()];
    }
    let header_cell = CellRef { sheet: layout.income_sheet.clone(), cell: a1(header, COL_B) };
    for h in layout.headers.iter_mut() {
        *h = Some(header_cell.clone());
    }
    layout.grand_totals.insert(table.total.clone(), vec![cell]);
    Ok(())
}

fn write_expenditure(w: &mut Writer, ws: &mut Worksheet, spec: &ReturnSpec, layout: &mut Layout) -> io::Result<()> {
    let e = spec.family.expenditure();
    w.text(ws, 1, COL_B, "Expenditure")?;
    let header = row_of(17 + spec.habits.table_offset_rows as u64)?;
    let c = &e.columns;
    let mut titles: Vec<(&str, Field)> = vec![(c.scheme_id.as_str(), Field::Id), (c.scheme_name.as_str(), Field::Name)];
    let optional = [
        (&c.scheme_type, Field::Type),
        (&c.area_of_spend, Field::Spend),
        (&c.commissioner, Field::Commissioner),
        (&c.provider, Field::Provider),
    ];
    titles.extend(optional.into_iter().filter_map(|(t, f)| Some((t.as_deref()?, f))));
    titles.push((c.funding_source.as_str(), Field::Source));
    titles.extend(e.amount_columns.iter().enumerate().map(|(i, a)| (a.title.as_str(), Field::Amount(i))));
    titles.extend(e.extra_columns.iter().enumerate().map(|(i, x)| (x.title.as_str(), Field::Extra(i))));
    for (i, (title, _)) in titles.iter().enumerate() {
        w.text(ws, header, COL_B + i as u16, title)?;
    }
    let rows = line_rows(header + 1, spec.schemes.len(), spec.habits.blank_rows_between_lines)?;
    for (k, (scheme, &r)) in spec.schemes.iter().zip(&rows).enumerate() {
        let mut cells = Vec::new();
        for (i, (_, field)) in titles.iter().enumerate() {
            let col = COL_B + i as u16;
            let text = match field {
                Field::Id => {
                    match &scheme.id {
                        SchemeId::Text(t) => w.text(ws, r, col, t)?,
                        SchemeId::Number(n) => {
                            ws.write_number(r, col, *n as f64).map_err(xlsx_err)?;
                        }
                    }
                    continue;
                }
                Field::Amount(n) => {
                    if let Some(a) = scheme.amounts.get(*n) {
                        w.amount(ws, r, col, a)?;
                    }
                    cells.push(CellRef { sheet: layout.expenditure_sheet.clone(), cell: a1(r, col) });
                    continue;
                }
                Field::Extra(n) => {
                    let x = &e.extra_columns[*n];
                    let value = scheme.extra.get(&x.field).cloned().unwrap_or_else(|| format!("{} {}", x.title, k + 1));
                    w.text(ws, r, col, &value)?;
                    continue;
                }
                Field::Name => &scheme.name,
                Field::Type => &scheme.scheme_type,
                Field::Spend => &scheme.area_of_spend,
                Field::Commissioner => &scheme.commissioner,
                Field::Provider => &scheme.provider,
                Field::Source => &scheme.source_of_funding,
            };
            if !text.is_empty() {
                w.text(ws, r, col, text)?;
            }
        }
        layout.schemes.push(cells);
    }
    Ok(())
}

/// A column of the scheme table.
#[derive(Clone, Copy)]
enum Field {
    Id,
    Name,
    Type,
    Spend,
    Commissioner,
    Provider,
    Source,
    Amount(usize),
    /// One of the schema's extra columns, by index.
    Extra(usize),
}

/// Guidance and narrative sheets: a title and a few answered questions.
fn write_filler(w: &Writer, ws: &mut Worksheet, name: &str) -> io::Result<()> {
    let title = name.split_once(". ").map_or(name, |(_, t)| t);
    w.text(ws, 1, COL_B, title)?;
    w.text(ws, 3, COL_B, "This sheet is completed as part of the narrative plan.")?;
    for q in 1..=12u32 {
        w.text(ws, 4 + q, COL_B, &format!("Question {q}"))?;
        w.text(ws, 4 + q, COL_C, "Yes")?;
    }
    Ok(())
}

/// The hidden drop-down lists sheet.
fn write_lists(w: &Writer, ws: &mut Worksheet, spec: &ReturnSpec) -> io::Result<()> {
    for (c, t) in [
        (0u16, "Health and Wellbeing Boards"),
        (3, "Scheme types"),
        (4, "Area of spend"),
        (5, "Provider"),
        (6, "Source of Funding"),
    ] {
        w.text(ws, 0, c, t)?;
    }
    let name = spec.hwb_name.trim();
    if !name.is_empty() {
        w.text(ws, 1, 0, name)?;
    }
    let labels: Vec<&str> = spec.family.expenditure().funding_source_values.keys().map(String::as_str).collect();
    for (c, list) in [(3u16, SCHEME_TYPES), (4, AREAS_OF_SPEND), (5, PROVIDERS), (6, labels.as_slice())] {
        for (i, v) in list.iter().enumerate() {
            w.text(ws, 1 + i as u32, c, v)?;
        }
    }
    Ok(())
}

pub(crate) fn write_allocations(spec: &AllocationsSpec, path: &Path) -> io::Result<()> {
    let a = &spec.layout;
    let mut wb = Workbook::new();
    wb.set_properties(&fixed_properties()?);
    let mut w = Writer::new();
    let whole = Format::new().set_num_format("#,##0");
    {
        let ws = named_sheet(&mut wb, "Contents")?;
        w.text(ws, 1, COL_B, &spec.recognise_title)?;
        w.text(
            ws,
            3,
            COL_B,
            "Minimum contributions to be pooled by each Health and Wellbeing Board. Figures are in pounds.",
        )?;
    }
    let ws = named_sheet(&mut wb, &a.sheet)?;
    w.text(ws, 1, COL_B, &spec.title)?;
    let header = 4u32;
    for (i, t) in [a.code_column.as_str(), a.name_column.as_str(), "Region"].iter().enumerate() {
        w.text(ws, header, COL_B + i as u16, t)?;
    }
    const FIRST_AMOUNT: u16 = 4; // E
    if spec.columns.len() > 16_000 {
        return Err(invalid("too many allocation columns".into()));
    }
    for (i, (stream, year)) in spec.columns.iter().enumerate() {
        w.text(ws, header, FIRST_AMOUNT + i as u16, &format!("{stream} {year}{}", a.column_suffix))?;
    }
    let mut sums = vec![Pence::ZERO; spec.columns.len()];
    let mut r = header;
    for row in &spec.rows {
        r = row_of(r as u64 + 1)?;
        w.text(ws, r, COL_B, &row.code)?;
        w.text(ws, r, COL_B + 1, &row.name)?;
        if !row.region.is_empty() {
            w.text(ws, r, COL_B + 2, &row.region)?;
        }
        for (i, p) in row.amounts.iter().enumerate().take(spec.columns.len()) {
            if let Some(p) = p {
                ws.write_number_with_format(r, FIRST_AMOUNT + i as u16, p.0 as f64 / 100.0, &whole)
                    .map_err(xlsx_err)?;
                sums[i] += *p;
            }
        }
    }
    if spec.england_total {
        let t = row_of(r as u64 + 1)?;
        w.text(ws, t, COL_B + 1, &a.total_row_name)?;
        for (i, sum) in sums.iter().enumerate() {
            let col = FIRST_AMOUNT + i as u16;
            let letter = column_letters(col as u32);
            let formula = format!("=SUM({letter}{}:{letter}{})", header + 2, r + 1);
            let result = w.cached(Some(*sum));
            ws.write_formula_with_format(t, col, Formula::new(formula).set_result(result), &whole).map_err(xlsx_err)?;
        }
    }
    save(&mut wb, w.no_cache, path)
}

fn save(wb: &mut Workbook, strip_no_cache: bool, path: &Path) -> io::Result<()> {
    let bytes = wb.save_to_buffer().map_err(xlsx_err)?;
    let bytes = if strip_no_cache { strip_cached_sentinels(&bytes)? } else { bytes };
    std::fs::write(path, bytes)
}

/// Removes the [`NO_CACHE`] results (and the `t="str"` that came with them) from every
/// worksheet of a saved workbook, leaving `<c r="C9"><f>…</f></c>`: a formula with no cached
/// value, as a workbook saved without calculating holds it.
fn strip_cached_sentinels(xlsx: &[u8]) -> io::Result<Vec<u8>> {
    let zip_err = |e: zip::result::ZipError| io::Error::other(e.to_string());
    let mut archive = zip::ZipArchive::new(io::Cursor::new(xlsx)).map_err(zip_err)?;
    let mut out = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(zip_err)?;
        let name = entry.name().map_err(zip_err)?.to_string();
        let mut data = Vec::new();
        entry.read_to_end(&mut data)?;
        if name.starts_with("xl/worksheets/") && name.ends_with(".xml") {
            if let Ok(text) = String::from_utf8(data.clone()) {
                data = strip_sentinels_xml(&text).into_bytes();
            }
        }
        out.start_file(name, options).map_err(zip_err)?;
        out.write_all(&data)?;
    }
    Ok(out.finish().map_err(zip_err)?.into_inner())
}

fn strip_sentinels_xml(xml: &str) -> String {
    let marker = format!("<v>{NO_CACHE}</v>");
    let mut out = String::with_capacity(xml.len());
    let mut rest = xml;
    while let Some(i) = rest.find(&marker) {
        let before = &rest[..i];
        match before.rfind("<c ") {
            Some(c) => {
                out.push_str(&before[..c]);
                out.push_str(&before[c..].replacen(" t=\"str\"", "", 1));
            }
            None => out.push_str(before),
        }
        rest = &rest[i + marker.len()..];
    }
    out.push_str(rest);
    out
}

/// A workbook of one sheet (`Sheet1`) holding `text` in A1: a spreadsheet that is no return.
pub fn write_plain_sheet(path: &Path, text: &str) -> io::Result<()> {
    let mut wb = Workbook::new();
    wb.set_properties(&fixed_properties()?);
    wb.add_worksheet().write_string(0, 0, text).map_err(xlsx_err)?;
    save(&mut wb, false, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentinels_are_stripped_with_their_type() {
        let xml = format!(
            r#"<c r="C8" s="1" t="str"><f>1+1</f><v>{NO_CACHE}</v></c><c r="C9" t="str"><f>A1</f><v>x</v></c>"#
        );
        assert_eq!(
            strip_sentinels_xml(&xml),
            r#"<c r="C8" s="1"><f>1+1</f></c><c r="C9" t="str"><f>A1</f><v>x</v></c>"#
        );
    }
}
