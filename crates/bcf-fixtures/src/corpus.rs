//! A national corpus: one return per area and family, plus the allocations workbooks that
//! match them; a deterministic share of the habits of real returns (catalogue §3); some areas
//! resubmitting a corrected return; and, wherever two families cover the same year (a plan and
//! a year-end return), both returns for every area, the later supplying the figures (§6.1).

use crate::family::Family;
use crate::spec::{stable_hash, Allocated, AllocationsSpec, Amount, DateCell, ReturnSpec, Rng, TextStyle};
use bcf::model::{FinancialYear, Pence, Period};
use bcf::reference::{AreaMatch, Areas};
use bcf::schema::SchemaSet;
use std::collections::BTreeMap;
use std::io;
use std::path::Path;

/// A habit of §3 the corpus gives some returns. Every one leaves the return `accepted`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Habit {
    /// Every other amount typed as text (`£1,234,567`, `1,234,567.00`, ` 1234567 `, `1234567.5`).
    TextAmounts,
    /// Every third line amount a formula `=a+b` with its cached value.
    FormulaAmounts,
    /// Rows inserted inside and between income sections.
    InsertedRows,
    /// Blank rows between lines and between schemes.
    BlankRows,
    /// Every table three rows lower than in the template.
    TableOffset,
    /// Sheet names with a trailing space.
    TrailingSpaceSheetNames,
    /// `Notes` and `Sheet1` added.
    ExtraSheets,
    /// The HWB name in capitals, lower case, with extra spaces, or with `&` for `and`.
    NameVariant,
    /// A number at XFD1048576 on the cover, income and expenditure sheets.
    StrayValue,
}

impl Habit {
    pub const ALL: [Habit; 9] = [
        Habit::TextAmounts,
        Habit::FormulaAmounts,
        Habit::InsertedRows,
        Habit::BlankRows,
        Habit::TableOffset,
        Habit::TrailingSpaceSheetNames,
        Habit::ExtraSheets,
        Habit::NameVariant,
        Habit::StrayValue,
    ];
}

/// One return the corpus wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorpusReturn {
    pub template_id: String,
    /// Relative to the corpus folder, `/`-separated (the pipeline's `source_file`).
    pub source_file: String,
    pub area_code: String,
    pub area_name: String,
    /// The HWB name as typed on the cover.
    pub typed_name: String,
    pub habit: Option<Habit>,
    /// Whether a later return of the same area and template replaces it.
    pub superseded: bool,
}

/// National totals the pipeline should report for a period (catalogue §7).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExpectedTotals {
    pub mandated_minimum: Pence,
    pub voluntary_la: Pence,
    pub voluntary_nhs: Pence,
    pub areas: usize,
}

/// What [`national_corpus`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorpusSummary {
    pub returns: Vec<CorpusReturn>,
    /// Relative paths of the allocations workbooks.
    pub allocations: Vec<String>,
    /// Per period: what each area's supplying return adds up to.
    pub expected: BTreeMap<Period, ExpectedTotals>,
}

impl CorpusSummary {
    /// How many returns have each habit.
    pub fn habit_counts(&self) -> BTreeMap<Habit, usize> {
        let mut m = BTreeMap::new();
        for h in self.returns.iter().filter_map(|r| r.habit) {
            *m.entry(h).or_default() += 1;
        }
        m
    }
}

/// Per mille of returns given a habit, and of areas resubmitting a family's return.
const HABIT_PER_MILLE: u32 = 100;
const RESUBMIT_PER_MILLE: u32 = 50;

/// What decides between returns covering the same period: submission date, then catalogue
/// order.
type Rank = (String, u32);

/// What the corpus keeps while it writes: allocations already published, and per (area,
/// period) the supplying return's (rank, sums) so far.
#[derive(Default)]
struct Book {
    allocated: Allocated,
    /// (area, period) → ((submission date, catalogue order), sums per source).
    supplied: BTreeMap<(String, Period), (Rank, BTreeMap<String, Pence>)>,
}

/// Writes one return per area existing in all of a family's years, for every family, into
/// `<out_dir>/<family>/BCF <family> - <area>.xlsx` (resubmissions under `resubmitted/`), and
/// per family an allocations workbook for the years no earlier family's covered, whose
/// allocations are exactly the returns' minimum lines. The same seed gives the same files.
pub fn national_corpus(
    out_dir: &Path,
    seed: u64,
    schemas: &SchemaSet,
    areas: &Areas,
    families: &[Family],
) -> io::Result<CorpusSummary> {
    national_corpus_with_faults(out_dir, seed, schemas, areas, families, 0)
}

/// [`national_corpus`], and `faulty_percent` per cent of the areas of the latest family (the
/// collection in progress) sending a late resubmission with findings (see
/// [`crate::faulty::late_with_finding`]) under `<out_dir>/faulty/`. The summary's
/// `expected` is the corpus's without them.
pub fn national_corpus_with_faults(
    out_dir: &Path,
    seed: u64,
    schemas: &SchemaSet,
    areas: &Areas,
    families: &[Family],
    faulty_percent: u64,
) -> io::Result<CorpusSummary> {
    let mut summary = CorpusSummary::default();
    let mut book = Book::default();
    std::fs::create_dir_all(out_dir)?;
    let mut families: Vec<&Family> = families.iter().collect();
    families.sort_by_key(|f| f.spec().catalogue_order);
    families.dedup_by_key(|f| f.id().to_string());
    let latest = families.last().map(|f| f.id().to_string());
    for family in families {
        let faulty = if Some(family.id()) == latest.as_deref() { faulty_percent } else { 0 };
        let mut ctx = FamilyRun { out_dir, seed, schemas, areas, book: &mut book, summary: &mut summary };
        write_family(&mut ctx, family, faulty)?;
    }
    for ((_, period), (_, sums)) in &book.supplied {
        let e = summary.expected.entry(*period).or_default();
        e.areas += 1;
        for (source, p) in sums {
            match schemas.funding_sources.get(source) {
                Some(bcf::schema::TotalCategory::VoluntaryLa) => e.voluntary_la += *p,
                Some(bcf::schema::TotalCategory::VoluntaryNhs) => e.voluntary_nhs += *p,
                _ => e.mandated_minimum += *p,
            }
        }
    }
    Ok(summary)
}

/// What writing a family needs from the corpus around it.
struct FamilyRun<'a> {
    out_dir: &'a Path,
    seed: u64,
    schemas: &'a SchemaSet,
    areas: &'a Areas,
    book: &'a mut Book,
    summary: &'a mut CorpusSummary,
}

fn write_family(ctx: &mut FamilyRun<'_>, family: &Family, faulty_percent: u64) -> io::Result<()> {
    let (out_dir, seed, schemas, areas) = (ctx.out_dir, ctx.seed, ctx.schemas, ctx.areas);
    let (book, summary) = (&mut *ctx.book, &mut *ctx.summary);
    let years = family.years();
    let mut members: Vec<_> = areas.areas.iter().filter(|a| years.iter().all(|y| a.exists_in(*y))).collect();
    members.sort_by(|a, b| a.code.cmp(&b.code));
    let dir = out_dir.join(family.label());
    std::fs::create_dir_all(&dir)?;
    let mut allocations = AllocationsSpec::for_family(family, schemas);
    if let Some(a) = &mut allocations {
        a.columns.retain(|(stream, year)| {
            !book
                .allocated
                .keys()
                .any(|(_, y, s)| y == year && Some(s.as_str()) == a.layout.streams.get(stream).map(String::as_str))
        });
    }
    let mut names = std::collections::BTreeSet::new();
    let mut faulty_index = 0;
    for area in members {
        let area_seed = seed ^ stable_hash(&area.code);
        let mut rng = Rng::new(area_seed.rotate_left(17) ^ stable_hash(family.id()));
        let mut spec = ReturnSpec::typical(family, &area.name, area_seed);
        spec.other_cover_fields.insert("ONS code".into(), area.code.clone());
        spec.restate_allocations(&area.code, &book.allocated);
        let habit = rng.chance(HABIT_PER_MILLE).then(|| Habit::ALL[rng.range(0, Habit::ALL.len() as i64 - 1) as usize]);
        let habit = habit.filter(|h| apply(*h, &mut spec, &mut rng, areas, &years, &area.code));
        if let Some(a) = &mut allocations {
            a.add_matching(&area.code, &area.name, &spec);
        }
        let mut file = format!("BCF {} - {}.xlsx", family.label(), file_safe(&area.name));
        if !names.insert(file.clone()) {
            file = format!("BCF {} - {} ({}).xlsx", family.label(), file_safe(&area.name), area.code);
            names.insert(file.clone());
        }
        let resubmission = rng.chance(RESUBMIT_PER_MILLE).then(|| resubmit(&spec, &mut rng));
        spec.write(&dir.join(&file))?;
        let record = |file: &str, spec: &ReturnSpec, superseded| CorpusReturn {
            template_id: family.id().to_string(),
            source_file: format!("{}/{file}", family.label()),
            area_code: area.code.clone(),
            area_name: area.name.clone(),
            typed_name: spec.hwb_name.clone(),
            habit,
            superseded,
        };
        summary.returns.push(record(&file, &spec, resubmission.is_some()));
        let last = match resubmission {
            Some(later) => {
                std::fs::create_dir_all(dir.join("resubmitted"))?;
                let file = format!("resubmitted/{}", file.replace(".xlsx", " v2.xlsx"));
                later.write(&dir.join(&file))?;
                summary.returns.push(CorpusReturn { habit: None, ..record(&file, &later, false) });
                later
            }
            None => spec,
        };
        if (seed ^ stable_hash(&area.code)) % 100 < faulty_percent {
            let (file, faulty) = crate::faulty::late_with_finding(&last, faulty_index);
            faulty_index += 1;
            std::fs::create_dir_all(out_dir.join("faulty"))?;
            faulty.write(
                &out_dir.join("faulty").join(file.replace(".xlsx", &format!(" - {}.xlsx", file_safe(&area.name)))),
            )?;
        }
        supply(book, &area.code, &last);
    }
    if let Some(a) = allocations.filter(|a| !a.columns.is_empty()) {
        for row in &a.rows {
            for ((stream, year), p) in a.columns.iter().zip(&row.amounts) {
                if let (Some(src), Some(p)) = (a.source_of(stream), p) {
                    book.allocated.insert((row.code.clone(), *year, src.to_string()), *p);
                }
            }
        }
        let alloc_dir = out_dir.join("allocations");
        std::fs::create_dir_all(&alloc_dir)?;
        let file = format!("Better Care Fund allocations {}.xlsx", family.label());
        a.write(&alloc_dir.join(&file))?;
        summary.allocations.push(format!("allocations/{file}"));
    }
    Ok(())
}

/// A later return correcting the voluntary contributions (the minimum stays as allocated).
fn resubmit(spec: &ReturnSpec, rng: &mut Rng) -> ReturnSpec {
    let mut later = spec.clone();
    later.habits = Default::default();
    later.hwb_name = spec.hwb_name.trim().to_string();
    if let DateCell::Date(y, m, d) = spec.submission_date {
        // A week later.
        if let Some(date) = bcf::model::Date::from_ymd(y as i64, m as i64, d as i64) {
            let (y, m, d) = bcf::model::Date { days: date.days + 7 }.ymd();
            later.submission_date = DateCell::Date(y as u16, m as u8, d as u8);
        }
    }
    let bump = rng.range(1_000, 90_000) as i128 * 100;
    for section in later.sections.iter_mut().filter(|s| spec.family.voluntary(&s.funding_source)) {
        for a in section.lines.iter_mut().flat_map(|l| l.amounts.iter_mut()) {
            if let Amount::Number(p) = a {
                *a = Amount::Number(Pence(p.0 + bump));
            }
        }
    }
    later.answer_questions();
    later.rebuild_schemes();
    later
}

/// Records what a return supplies, where it is the latest covering each of its periods.
fn supply(book: &mut Book, code: &str, spec: &ReturnSpec) {
    let date = match &spec.submission_date {
        DateCell::Date(y, m, d) => format!("{y:04}-{m:02}-{d:02}"),
        _ => String::new(),
    };
    let rank = (date, spec.family.spec().catalogue_order);
    let mut sums: BTreeMap<Period, BTreeMap<String, Pence>> = BTreeMap::new();
    for ((source, year, basis), p) in spec.income_totals() {
        *sums.entry(Period { year, basis }).or_default().entry(source).or_default() += p;
    }
    for period in spec.family.columns() {
        let key = (code.to_string(), period);
        let sums = sums.remove(&period).unwrap_or_default();
        if book.supplied.get(&key).is_none_or(|(r, _)| *r < rank) {
            book.supplied.insert(key, (rank.clone(), sums));
        }
    }
}

/// A file name part without path separators or control characters.
fn file_safe(name: &str) -> String {
    name.chars().map(|c| if c == '/' || c == '\\' || c.is_control() { '-' } else { c }).collect()
}

/// Gives a return a habit; false if it cannot (then the return is left as it was).
fn apply(
    habit: Habit,
    spec: &mut ReturnSpec,
    rng: &mut Rng,
    areas: &Areas,
    years: &[FinancialYear],
    code: &str,
) -> bool {
    match habit {
        Habit::TextAmounts => {
            let mut all: Vec<&mut Amount> = Vec::new();
            all.extend(spec.sections.iter_mut().flat_map(|s| s.lines.iter_mut()).flat_map(|l| l.amounts.iter_mut()));
            all.extend(spec.schemes.iter_mut().flat_map(|s| s.amounts.iter_mut()));
            for (i, a) in all.into_iter().enumerate().filter(|(i, _)| i % 2 == 0) {
                if let Amount::Number(p) = *a {
                    *a = Amount::text(p, TextStyle::ALL[(i / 2) % TextStyle::ALL.len()]);
                }
            }
        }
        Habit::FormulaAmounts => {
            for (i, a) in spec.line_amounts_mut().enumerate() {
                if let (0, Amount::Number(p)) = (i % 3, &*a) {
                    *a = Amount::formula(*p);
                }
            }
        }
        Habit::InsertedRows => {
            spec.habits.rows_inserted_in_sections = 2;
            spec.habits.rows_inserted_between_sections = 1;
        }
        Habit::BlankRows => spec.habits.blank_rows_between_lines = true,
        Habit::TableOffset => spec.habits.table_offset_rows = 3,
        Habit::TrailingSpaceSheetNames => spec.habits.trailing_space_sheet_names = true,
        Habit::ExtraSheets => spec.habits.extra_sheets = true,
        Habit::NameVariant => return name_variant(spec, rng, areas, years, code),
        Habit::StrayValue => spec.habits.stray_value = Some((1_048_575, 16_383)),
    }
    true
}

fn name_variant(spec: &mut ReturnSpec, rng: &mut Rng, areas: &Areas, years: &[FinancialYear], code: &str) -> bool {
    let name = spec.hwb_name.clone();
    let variants = [
        name.to_uppercase(),
        name.to_lowercase(),
        format!("  {}  ", name.replace(' ', "  ")),
        name.replace(" and ", " & "),
    ];
    let start = rng.range(0, variants.len() as i64 - 1) as usize;
    let found = (0..variants.len()).map(|k| &variants[(start + k) % variants.len()]).find(|v| {
        **v != name && matches!(areas.match_name(v, years), AreaMatch::Found { code: ref c, .. } if c == code)
    });
    match found {
        Some(v) => {
            spec.hwb_name = v.clone();
            true
        }
        None => false,
    }
}
