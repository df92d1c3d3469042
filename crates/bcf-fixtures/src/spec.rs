//! A return or an allocations workbook, declaratively, as the people and software filling the
//! templates in would type it; [`ReturnSpec::typical`] makes a consistent one.

use crate::family::Family;
use bcf::model::{Basis, Pence};
use std::collections::BTreeMap;
use std::fmt;

/// One money cell as an area typed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Amount {
    /// A number cell (formatted `£#,##0.00`, as the templates are).
    Number(Pence),
    /// Text, e.g. `£1,234,567`, ` 1234567 `, `TBC`.
    Text(String),
    /// A formula (`=1200000+34567`) with its cached result; `None`: saved without one.
    Formula { formula: String, cached: Option<Pence> },
    /// Nothing typed.
    Blank,
}

impl Amount {
    pub fn pounds(pounds: i64) -> Amount {
        Amount::Number(Pence::from_pounds(pounds))
    }

    pub fn pence(pence: i128) -> Amount {
        Amount::Number(Pence(pence))
    }

    /// What the pipeline reads from this cell when it reads it as an amount (§3): numbers,
    /// cached formula results, and text after stripping `£`, commas and spaces. `None` for a
    /// blank cell or text that is not an amount.
    pub fn value(&self) -> Option<Pence> {
        match self {
            Amount::Number(p) => Some(*p),
            Amount::Text(t) => bcf::money::parse_text(t).ok().flatten(),
            Amount::Formula { cached, .. } => *cached,
            Amount::Blank => None,
        }
    }

    /// The same amount typed as text in one of the styles of §3.
    pub fn text(p: Pence, style: TextStyle) -> Amount {
        Amount::Text(text_amount(p, style))
    }

    /// The same amount as a formula `=a+b` whose cached value is the amount.
    pub fn formula(p: Pence) -> Amount {
        let tail = Pence(p.0.rem_euclid(10_000_000));
        let head = Pence(p.0 - tail.0);
        Amount::Formula { formula: format!("={}+{}", plain(head), plain(tail)), cached: Some(p) }
    }
}

/// How an amount is typed as text (catalogue §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextStyle {
    /// `£1,234,567` (`£1,234,567.89` when there are pence).
    PoundsWithCommas,
    /// `1,234,567.00`.
    CommasTwoDecimals,
    /// ` 1234567 ` (surrounding spaces).
    Padded,
    /// `1234567.5`: plain, no trailing zeros.
    Plain,
}

impl TextStyle {
    pub const ALL: [TextStyle; 4] =
        [TextStyle::PoundsWithCommas, TextStyle::CommasTwoDecimals, TextStyle::Padded, TextStyle::Plain];
}

/// Pence as the shortest plain decimal: `1234567`, `1234567.5`, `1234567.89`.
fn plain(p: Pence) -> String {
    let s = p.to_string();
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// Formats pence as a person would type them in the given style.
pub fn text_amount(p: Pence, style: TextStyle) -> String {
    match style {
        TextStyle::PoundsWithCommas => {
            let g = p.to_gbp();
            g.strip_suffix(".00").map(str::to_string).unwrap_or(g)
        }
        TextStyle::CommasTwoDecimals => p.to_gbp().replacen('£', "", 1),
        TextStyle::Padded => format!(" {} ", plain(p)),
        TextStyle::Plain => plain(p),
    }
}

/// What a section's total cell holds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Total {
    /// The template's SUM formula, its cached value the sum of the lines as read.
    #[default]
    Sum,
    /// The SUM formula with a stale cached value.
    StaleSum(Pence),
    /// The SUM formula saved without a cached value.
    SumNotCalculated,
    /// Something typed over the formula.
    Typed(Amount),
}

/// The submission date cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateCell {
    /// A date cell formatted `dd/mm/yyyy`.
    Date(u16, u8, u8),
    /// Text, e.g. `17/06/2023` or `next week`.
    Text(String),
    Blank,
}

/// One contributor's row in an income section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub contributor: String,
    /// One per amount column ([`Family::columns`]); missing ones are blank, extra ones ignored.
    pub amounts: Vec<Amount>,
    /// One-table templates only: the source column's text typed, instead of the section's.
    pub contribution_type: Option<String>,
}

impl Line {
    pub fn new(contributor: impl Into<String>, amounts: Vec<Amount>) -> Line {
        Line { contributor: contributor.into(), amounts, contribution_type: None }
    }
}

/// An income section: a funding source's lines and its total row. In a one-table template the
/// sections are one table (each row naming its source) with one total row, which
/// [`ReturnSpec::bcf_total`] sets; a section's own `total` is not used there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// A funding source id, e.g. `dfg` (see [`Family::sources`]).
    pub funding_source: String,
    pub lines: Vec<Line>,
    /// One per amount column; missing ones are [`Total::Sum`].
    pub total: Vec<Total>,
}

impl Section {
    pub fn new(funding_source: impl Into<String>, lines: Vec<Line>) -> Section {
        Section { funding_source: funding_source.into(), lines, total: Vec::new() }
    }
}

/// A scheme ID as typed: text (`"1"`) or a number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemeId {
    Text(String),
    Number(i64),
}

/// One row of the expenditure scheme table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheme {
    pub id: SchemeId,
    pub name: String,
    pub scheme_type: String,
    pub area_of_spend: String,
    pub commissioner: String,
    pub provider: String,
    /// As typed in "Source of Funding" (see [`Family::scheme_source_label`]).
    pub source_of_funding: String,
    /// One per amount column of the scheme table.
    pub amounts: Vec<Amount>,
    pub new_or_existing: String,
    /// Values in the schema's extra columns, by field name (a default text for any missing).
    pub extra: BTreeMap<String, String>,
}

/// Habits of real returns that change the layout (catalogue §3). The default is none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Habits {
    /// Cover, income and expenditure sheet names end with a space.
    pub trailing_space_sheet_names: bool,
    /// A `Notes` sheet before the template's sheets and a `Sheet1` after them.
    pub extra_sheets: bool,
    /// Extra rows inserted inside every income section (and a one-table template's table).
    pub rows_inserted_in_sections: u32,
    /// Extra empty rows inserted after every income section's total row (one-table templates:
    /// between the groups of lines of different sources).
    pub rows_inserted_between_sections: u32,
    /// A blank row between consecutive income lines and between consecutive schemes.
    pub blank_rows_between_lines: bool,
    /// The income tables and the scheme table start this many rows lower than in the template.
    pub table_offset_rows: u32,
    /// A number far outside any table, written on the cover, income and expenditure sheets:
    /// 0-based (row, column), e.g. `(1048575, 16383)` for XFD1048576.
    pub stray_value: Option<(u32, u32)>,
}

/// A return, declaratively. [`ReturnSpec::typical`] makes a consistent one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnSpec {
    pub family: Family,
    /// As typed in the cover's HWB name cell; empty: the cell is left blank.
    pub hwb_name: String,
    pub submission_date: DateCell,
    /// In sheet order is usual, but any order is written in the template's order. A section
    /// left out is absent from the sheet (header, rows and total); a one-table template always
    /// has its table.
    pub sections: Vec<Section>,
    pub schemes: Vec<Scheme>,
    /// Answers to the template's Yes/No questions, by the funding source each asks about.
    pub answers: BTreeMap<String, String>,
    /// The one-table template's total row, or the last grand total (the pooled budget); one per
    /// amount column, missing ones [`Total::Sum`] (the sum of the section totals as cached).
    pub bcf_total: Vec<Total>,
    /// Replaces the cover title (to make a workbook no family matches).
    pub title: Option<String>,
    /// Values of cover fields the pipeline does not use (completed by, e-mail, …), by label.
    pub other_cover_fields: BTreeMap<String, String>,
    pub habits: Habits,
}

/// A cell the writer put something in, as findings and lines report it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CellRef {
    pub sheet: String,
    /// A1 style.
    pub cell: String,
}

impl fmt::Display for CellRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}!{}", self.sheet, self.cell)
    }
}

/// Where [`ReturnSpec::write`] put things, so tests can name exact cells.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layout {
    pub cover_sheet: String,
    pub income_sheet: String,
    pub expenditure_sheet: String,
    pub hwb_name: Option<CellRef>,
    pub submission_date: Option<CellRef>,
    /// `[section]`: the section's header label cell (one-table templates: the table's).
    pub headers: Vec<Option<CellRef>>,
    /// `[section][line][column]`, sections as in `ReturnSpec::sections`.
    pub lines: Vec<Vec<Vec<CellRef>>>,
    /// `[section][column]`: the section's total cells (one-table templates: the table's).
    pub totals: Vec<Vec<CellRef>>,
    /// Grand totals by label, one cell per column (one-table templates: the table's total).
    pub grand_totals: BTreeMap<String, Vec<CellRef>>,
    /// The answer cell of each Yes/No question, by the funding source it asks about.
    pub questions: BTreeMap<String, CellRef>,
    /// `[scheme][column]`.
    pub schemes: Vec<Vec<CellRef>>,
}

impl Layout {
    /// The cell of a line's amount: the `line`-th line of the section of `source`.
    pub fn line(&self, spec: &ReturnSpec, source: &str, line: usize, column: usize) -> CellRef {
        let s = spec
            .sections
            .iter()
            .position(|s| s.funding_source == source)
            .unwrap_or_else(|| panic!("no {source} section in the spec"));
        self.lines[s][line][column].clone()
    }

    /// The total cell of the section of `source`.
    pub fn total(&self, spec: &ReturnSpec, source: &str, column: usize) -> CellRef {
        let s = spec
            .sections
            .iter()
            .position(|s| s.funding_source == source)
            .unwrap_or_else(|| panic!("no {source} section in the spec"));
        self.totals[s][column].clone()
    }
}

/// A deterministic pseudo-random sequence (SplitMix64): the same seed, the same fixtures on
/// every platform.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let span = (hi - lo) as u64 + 1;
        lo + (self.next_u64() % span) as i64
    }

    /// True with probability `per_mille / 1000`.
    pub fn chance(&mut self, per_mille: u32) -> bool {
        self.next_u64() % 1000 < per_mille as u64
    }
}

/// FNV-1a: a stable hash of text, for seeding per area.
pub fn stable_hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A scheme ID, name and other descriptive values, drawn by index.
const SCHEME_NAMES: &[&str] = &[
    "Carers Support",
    "Frailty Hub",
    "Falls Prevention",
    "Discharge to Assess Beds",
    "Integrated Discharge Team",
    "Night Sitting",
    "Home First",
    "Community Equipment Service",
    "Rapid Response",
    "Reablement",
    "Home Adaptations",
    "Mental Health Crisis Support",
    "Protecting Social Care",
    "Stroke Early Supported Discharge",
];
pub(crate) const SCHEME_TYPES: &[&str] = &[
    "Assistive Technologies and Equipment",
    "Carers Services",
    "Community Based Schemes",
    "DFG Related Schemes",
    "Home Care or Domiciliary Care",
    "Integrated Care Planning and Navigation",
    "Reablement in a persons own home",
];
pub(crate) const AREAS_OF_SPEND: &[&str] =
    &["Social Care", "Community Health", "Mental Health", "Acute", "Primary Care"];
pub(crate) const PROVIDERS: &[&str] = &[
    "Local Authority",
    "NHS Community Provider",
    "NHS Acute Provider",
    "Private Sector",
    "Charity / Voluntary Sector",
];

fn pick<'a>(list: &[&'a str], i: u64) -> &'a str {
    list[(i % list.len() as u64) as usize]
}

/// `x * num / den`, rounded down to whole pounds when `whole_pounds`.
fn scale(p: i128, num: i128, den: i128, whole_pounds: bool) -> i128 {
    let v = p * num / den;
    if whole_pounds {
        v / 100 * 100
    } else {
        v
    }
}

impl ReturnSpec {
    /// A blank return of a family: no sections, no schemes, no habits.
    pub fn empty(family: &Family, hwb_name: impl Into<String>) -> ReturnSpec {
        ReturnSpec {
            family: family.clone(),
            hwb_name: hwb_name.into(),
            submission_date: DateCell::Blank,
            sections: Vec::new(),
            schemes: Vec::new(),
            answers: BTreeMap::new(),
            bcf_total: Vec::new(),
            title: None,
            other_cover_fields: BTreeMap::new(),
            habits: Habits::default(),
        }
    }

    /// A consistent return for an area: every section of the family (voluntary ones may be
    /// empty), mandatory amounts in whole pounds and voluntary ones with pence, totals right,
    /// the questions answered to match, planned expenditure equal to income per source, and a
    /// submission date when such a return is due (a plan before its first year is out, a
    /// year-end return after its year). Deterministic in `(family, hwb_name, seed)`.
    pub fn typical(family: &Family, hwb_name: &str, seed: u64) -> ReturnSpec {
        let mut rng = Rng::new(seed ^ stable_hash(hwb_name) ^ stable_hash(family.id()));
        let sections =
            family.sources().iter().map(|source| typical_section(family, source, hwb_name.trim(), &mut rng)).collect();
        let years = family.years();
        let (y, m) = match (family.has_actuals(), years.last(), years.first()) {
            (true, Some(last), _) => (last.0 + 1, 5),
            (false, _, Some(first)) => (first.0, 6),
            _ => (2020, 6),
        };
        let mut spec = ReturnSpec {
            submission_date: DateCell::Date(y as u16, m, rng.range(1, 28) as u8),
            sections,
            ..ReturnSpec::empty(family, hwb_name)
        };
        spec.answer_questions();
        spec.rebuild_schemes();
        spec
    }

    /// Sets the Yes/No answers to match the lines below each question.
    pub fn answer_questions(&mut self) {
        let has = |src: &str| {
            self.sections
                .iter()
                .filter(|s| s.funding_source == src)
                .flat_map(|s| &s.lines)
                .flat_map(|l| &l.amounts)
                .any(|a| a.value().is_some_and(|p| p.0 != 0))
        };
        let questions = &self.family.income().questions;
        self.answers = questions
            .iter()
            .map(|q| {
                let answer = if has(&q.funding_source) { &q.answers.yes } else { &q.answers.no };
                (q.funding_source.clone(), answer.clone())
            })
            .collect();
    }

    /// Replaces the schemes with ones that spend exactly the income of every source in every
    /// column (one to three schemes per source, split 5:3:2). Call after changing lines.
    pub fn rebuild_schemes(&mut self) {
        let ncols = self.family.expenditure().amount_columns.len();
        let totals = self.income_by_column();
        let mut schemes = Vec::new();
        for source in self.family.sources() {
            let Some(label) = self.family.scheme_label(&source) else { continue };
            let cols: Vec<Pence> =
                (0..ncols).map(|c| totals.get(&(source.to_string(), c)).copied().unwrap_or_default()).collect();
            if cols.iter().all(|p| p.0 == 0) {
                continue;
            }
            let h = stable_hash(&format!("{}{source}", self.hwb_name));
            let first_id = schemes.len() as i64 + 1;
            schemes.extend(split_schemes(&cols, h, first_id, label));
        }
        self.schemes = schemes;
    }

    /// Sum of the lines' values per (source, amount column index).
    fn income_by_column(&self) -> BTreeMap<(String, usize), Pence> {
        let mut out: BTreeMap<(String, usize), Pence> = BTreeMap::new();
        let ncols = self.family.columns().len();
        for s in &self.sections {
            for l in &s.lines {
                for (c, a) in l.amounts.iter().enumerate().take(ncols) {
                    if let Some(p) = a.value() {
                        *out.entry((s.funding_source.clone(), c)).or_default() += p;
                    }
                }
            }
        }
        out
    }

    /// What the pipeline should read as this return's lines, summed per (source, financial
    /// year, basis): the value of every amount that is an amount.
    pub fn income_totals(&self) -> BTreeMap<(String, bcf::model::FinancialYear, Basis), Pence> {
        let cols = self.family.columns();
        self.income_by_column().into_iter().map(|((src, c), p)| ((src, cols[c].year, cols[c].basis), p)).collect()
    }

    /// Every line amount, mutably (to apply a habit to all of them).
    pub fn line_amounts_mut(&mut self) -> impl Iterator<Item = &mut Amount> {
        self.sections.iter_mut().flat_map(|s| s.lines.iter_mut()).flat_map(|l| l.amounts.iter_mut())
    }

    /// The section of a source, mutably.
    pub fn section_mut(&mut self, source: &str) -> Option<&mut Section> {
        self.sections.iter_mut().find(|s| s.funding_source == source)
    }

    /// Writes the workbook (`.xlsx` content, whatever the extension) and says where things are.
    pub fn write(&self, path: &std::path::Path) -> std::io::Result<Layout> {
        crate::write::write_return(self, path)
    }
}

/// One source's section of a typical return: one to three lines, in pence, calibrated so a
/// national corpus is of the order of the published figures.
fn typical_section(family: &Family, source: &str, place: &str, rng: &mut Rng) -> Section {
    let voluntary = family.voluntary(source);
    let (count, lo, hi) = if voluntary {
        (if rng.chance(330) { 0 } else { rng.range(1, 2) }, 1_000_000, 19_000_000)
    } else {
        (rng.range(1, 3), 500_000, 12_000_000)
    };
    let columns = family.columns();
    let mut lines = Vec::new();
    for i in 0..count as usize {
        let mut first = rng.range(lo, hi) as i128 * 100;
        if voluntary {
            first += rng.range(0, 99) as i128;
        }
        let mut amounts = vec![Amount::Number(Pence(first))];
        for (c, period) in columns.iter().enumerate().skip(1) {
            let p = match (period.basis, voluntary) {
                // An outturn of a mandatory stream is its allocation.
                (Basis::Actual, false) => first,
                (Basis::Actual, true) => {
                    scale(first, rng.range(950, 1050) as i128, 1000, false) + rng.range(0, 99) as i128
                }
                // A later planned year grows by 0-8%.
                (Basis::Plan, _) => {
                    let p = scale(first, rng.range(1000, 1080) as i128, 1000, !voluntary);
                    if voluntary {
                        p + (c as i128 * 7) % 100
                    } else {
                        p
                    }
                }
            };
            amounts.push(Amount::Number(Pence(p)));
        }
        let contributor = if i == 0 {
            format!("{place} {}", if voluntary { "Council" } else { "Partner" })
        } else {
            format!("{place} Partner {}", i + 1)
        };
        lines.push(Line::new(contributor, amounts));
    }
    Section::new(source, lines)
}

/// Schemes spending `cols` (one amount per expenditure column), split 5:3:2 into one to three.
fn split_schemes(cols: &[Pence], h: u64, first_id: i64, label: &str) -> Vec<Scheme> {
    let k = 1 + (h % 3) as usize;
    let weights: &[i128] = match k {
        1 => &[1],
        2 => &[5, 3],
        _ => &[5, 3, 2],
    };
    let sum_w: i128 = weights.iter().sum();
    (0..k)
        .map(|j| {
            let amounts = cols
                .iter()
                .map(|total| {
                    let whole = total.0 % 100 == 0;
                    let share = if j + 1 == k {
                        total.0 - weights[..j].iter().map(|w| scale(total.0, *w, sum_w, whole)).sum::<i128>()
                    } else {
                        scale(total.0, weights[j], sum_w, whole)
                    };
                    Amount::Number(Pence(share))
                })
                .collect();
            let n = h.wrapping_add(j as u64 * 7);
            Scheme {
                id: SchemeId::Text((first_id + j as i64).to_string()),
                name: pick(SCHEME_NAMES, n).to_string(),
                scheme_type: pick(SCHEME_TYPES, n / 3).to_string(),
                area_of_spend: pick(AREAS_OF_SPEND, n / 5).to_string(),
                commissioner: pick(&["LA", "Joint", "CCG"], n / 7).to_string(),
                provider: pick(PROVIDERS, n / 11).to_string(),
                source_of_funding: label.to_string(),
                amounts,
                new_or_existing: pick(&["New", "Existing"], n / 13).to_string(),
                extra: BTreeMap::new(),
            }
        })
        .collect()
}

/// One area's row of an allocations workbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocationRow {
    pub code: String,
    pub name: String,
    pub region: String,
    /// One per column of [`AllocationsSpec::columns`]; missing or `None`: blank.
    pub amounts: Vec<Option<Pence>>,
}

/// An allocations workbook (catalogue §2.5), laid out from the allocations schema: a title,
/// a header row, one row per area, then the total row.
#[derive(Debug, Clone)]
pub struct AllocationsSpec {
    pub title: String,
    /// (stream title, financial year): the column `<stream> <yyyy-yy><suffix>`.
    pub columns: Vec<(String, bcf::model::FinancialYear)>,
    pub rows: Vec<AllocationRow>,
    /// Whether the total row (`England`) is written.
    pub england_total: bool,
    pub layout: bcf::schema::AllocationsSpec,
    pub recognise_title: String,
}

impl AllocationsSpec {
    /// The allocations workbook for a family's years and mandatory streams, with no rows yet.
    pub fn for_family(family: &Family, schemas: &bcf::schema::SchemaSet) -> Option<AllocationsSpec> {
        let template = schemas.templates.iter().find(|t| t.kind == bcf::schema::TemplateKind::Allocations)?;
        let layout = template.allocations.clone()?;
        let sources = family.sources();
        // One title per stream the family pools (the first the schema lists for it).
        let mut streams: Vec<(&String, &String)> = Vec::new();
        for (title, src) in &layout.streams {
            if sources.iter().any(|s| **s == **src) && !streams.iter().any(|(_, s)| *s == src) {
                streams.push((title, src));
            }
        }
        let years = family.years();
        let columns = years.iter().flat_map(|y| streams.iter().map(move |(t, _)| ((*t).clone(), *y))).collect();
        let names: Vec<String> = years.iter().map(|y| y.to_string()).collect();
        Some(AllocationsSpec {
            title: format!("{} by Health and Wellbeing Board, {}", template.recognise.title, names.join(" and ")),
            columns,
            rows: Vec::new(),
            england_total: true,
            recognise_title: template.recognise.title.clone(),
            layout,
        })
    }

    /// The funding source a column's stream is.
    pub fn source_of(&self, stream: &str) -> Option<&str> {
        self.layout.streams.get(stream).map(String::as_str)
    }

    /// Adds a row for an area whose allocations are exactly the planned lines of `spec` for
    /// each stream (so its minimum check passes).
    pub fn add_matching(&mut self, code: &str, name: &str, spec: &ReturnSpec) {
        let totals = spec.income_totals();
        let amounts = self
            .columns
            .iter()
            .map(|(stream, year)| {
                let src = self.source_of(stream)?;
                Some(totals.get(&(src.to_string(), *year, Basis::Plan)).copied().unwrap_or_default())
            })
            .collect();
        self.rows.push(AllocationRow {
            code: code.to_string(),
            name: name.to_string(),
            region: String::new(),
            amounts,
        });
    }

    /// The column index of a stream (by its source) and year, if the workbook has it.
    pub fn column(&self, source: &str, year: bcf::model::FinancialYear) -> Option<usize> {
        self.columns.iter().position(|(s, y)| self.source_of(s) == Some(source) && *y == year)
    }

    pub fn write(&self, path: &std::path::Path) -> std::io::Result<()> {
        crate::write::write_allocations(self, path)
    }
}

/// Published minimum allocations: (area code, financial year, funding source) → amount.
pub type Allocated = BTreeMap<(String, bcf::model::FinancialYear, String), Pence>;

impl ReturnSpec {
    /// The planned amounts of this return's streams that have published allocations: what an
    /// allocations workbook must hold for its minimum check to pass.
    pub fn allocations(&self, schemas: &bcf::schema::SchemaSet) -> Vec<(bcf::model::FinancialYear, String, Pence)> {
        let streams: std::collections::BTreeSet<&str> = schemas
            .templates
            .iter()
            .filter_map(|t| t.allocations.as_ref())
            .flat_map(|a| a.streams.values().map(String::as_str))
            .collect();
        let totals = self.income_totals();
        let mut out = Vec::new();
        for year in self.family.years() {
            for source in self.family.sources().iter().filter(|s| streams.contains(&***s)) {
                let p = totals.get(&(source.to_string(), year, Basis::Plan)).copied().unwrap_or_default();
                out.push((year, source.to_string(), p));
            }
        }
        out
    }

    /// Makes each allocated stream's lines, in every column of an allocated year, add up to
    /// the published allocation (the first line holds it, the others are left blank), as a
    /// later template restating an allocated year must. Text and formula amounts stay text and
    /// formulas.
    pub fn restate_allocations(&mut self, code: &str, allocated: &Allocated) {
        let columns = self.family.columns();
        let ncols = columns.len();
        let mut restated = false;
        for section in &mut self.sections {
            for (c, period) in columns.iter().enumerate() {
                let key = (code.to_string(), period.year, section.funding_source.clone());
                let Some(&p) = allocated.get(&key) else { continue };
                restated = true;
                if section.lines.is_empty() {
                    section.lines.push(Line::new("Allocated", vec![Amount::Blank; ncols]));
                }
                for (i, line) in section.lines.iter_mut().enumerate() {
                    line.amounts.resize(ncols, Amount::Blank);
                    line.amounts[c] = match (i, &line.amounts[c]) {
                        (0, Amount::Text(_)) => Amount::text(p, TextStyle::PoundsWithCommas),
                        (0, Amount::Formula { .. }) => Amount::formula(p),
                        (0, _) => Amount::Number(p),
                        _ => Amount::Blank,
                    };
                }
            }
        }
        if restated {
            self.answer_questions();
            self.rebuild_schemes();
        }
    }
}

impl AllocationsSpec {
    /// One workbook holding the given allocations: a column per stream and year, a row per
    /// area (named from `names`). `None` if the schemas have no allocations template.
    pub fn from_allocated(
        schemas: &bcf::schema::SchemaSet,
        allocated: &Allocated,
        names: &BTreeMap<String, String>,
    ) -> Option<AllocationsSpec> {
        let template = schemas.templates.iter().find(|t| t.kind == bcf::schema::TemplateKind::Allocations)?;
        let layout = template.allocations.clone()?;
        let title_of = |source: &str| layout.streams.iter().find(|(_, s)| *s == source).map(|(t, _)| t.clone());
        let mut columns: Vec<(String, bcf::model::FinancialYear)> = Vec::new();
        for (_, year, source) in allocated.keys() {
            if let Some(title) = title_of(source) {
                if !columns.contains(&(title.clone(), *year)) {
                    columns.push((title, *year));
                }
            }
        }
        columns.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
        let codes: std::collections::BTreeSet<&String> = allocated.keys().map(|(c, _, _)| c).collect();
        let rows = codes
            .into_iter()
            .map(|code| AllocationRow {
                code: code.clone(),
                name: names.get(code).cloned().unwrap_or_default(),
                region: String::new(),
                amounts: columns
                    .iter()
                    .map(|(title, year)| {
                        let source = layout.streams.get(title)?;
                        allocated.get(&(code.clone(), *year, source.clone())).copied()
                    })
                    .collect(),
            })
            .collect();
        let years: std::collections::BTreeSet<String> = columns.iter().map(|(_, y)| y.to_string()).collect();
        Some(AllocationsSpec {
            title: format!(
                "{} by Health and Wellbeing Board, {}",
                template.recognise.title,
                years.into_iter().collect::<Vec<_>>().join(", ")
            ),
            columns,
            rows,
            england_total: true,
            recognise_title: template.recognise.title.clone(),
            layout,
        })
    }
}
