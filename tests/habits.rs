//! One test per habit of real returns (catalogue §3), on workbooks built by `bcf_fixtures`
//! from the schemas: each habit must be read exactly as the plain return would be, in every
//! family.

use crate::support::{families, family, findings_of, run_on, submission};
use bcf::model::{Basis, FinancialYear, Pence, Period, Status};
use bcf::reference::AreaMatch;
use bcf::tables::Tables;
use bcf_fixtures::{
    national_corpus, Allocated, AllocationsSpec, Amount, DateCell, Family, Layout, Line, ReturnSpec, TextStyle, Total,
};
use std::collections::BTreeMap;

/// Helpers shared with `rules.rs`: building a folder of returns and checking what came out.
pub(crate) mod kit {
    use super::*;
    pub use crate::support::areas;

    /// The code an area name resolves to for a family's years.
    pub fn code_of(name: &str, family: &Family) -> String {
        match areas().match_name(name, &family.years()) {
            AreaMatch::Found { code, .. } => code,
            other => panic!("{name} does not resolve for {family}: {other:?}"),
        }
    }

    /// A line as the pipeline should report it: (source, year, basis, amount, sheet!cell).
    pub type ExpectedLine = (String, String, String, Pence, String);

    /// Every amount of a spec the pipeline should read as a line, with the cell it sits in,
    /// for the periods the file supplies (all of them, unless another submission covers one).
    pub fn expected_lines(spec: &ReturnSpec, layout: &Layout) -> Vec<ExpectedLine> {
        expected_lines_for(spec, layout, &|_| true)
    }

    pub fn expected_lines_for(
        spec: &ReturnSpec,
        layout: &Layout,
        supplies: &dyn Fn(Period) -> bool,
    ) -> Vec<ExpectedLine> {
        let cols = spec.family.columns();
        let mut out = Vec::new();
        for (s, section) in spec.sections.iter().enumerate() {
            for (l, line) in section.lines.iter().enumerate() {
                for (c, a) in line.amounts.iter().enumerate().take(cols.len()) {
                    if let (Some(p), true) = (a.value(), supplies(cols[c])) {
                        let cell = layout.lines[s][l][c].to_string();
                        out.push((
                            section.funding_source.clone(),
                            cols[c].year.to_string(),
                            cols[c].basis.to_string(),
                            p,
                            cell,
                        ));
                    }
                }
            }
        }
        out.sort();
        out
    }

    /// The lines the pipeline reported for one file.
    pub fn lines_of(t: &Tables, file: &str) -> Vec<ExpectedLine> {
        let mut out: Vec<ExpectedLine> = t
            .lines
            .iter()
            .filter(|l| *l.source_file == *file)
            .map(|l| {
                let at = format!("{}!{}", l.sheet, l.cell);
                (l.funding_source.to_string(), l.financial_year.to_string(), l.basis.to_string(), l.amount, at)
            })
            .collect();
        out.sort();
        out
    }

    /// (mandated minimum, voluntary LA, voluntary NHS, areas) per (year, basis).
    pub type National = BTreeMap<(String, String), (Pence, Pence, Pence, i32)>;

    /// The national totals contributing returns should give (catalogue §7): each area's figures
    /// for a period from the latest of its returns covering it (§6.1).
    pub fn expected_national<'a>(specs: impl IntoIterator<Item = (&'a str, &'a ReturnSpec)>) -> National {
        let (schemas, _) = crate::support::reference();
        let mut supplier: BTreeMap<(&str, Period), &ReturnSpec> = BTreeMap::new();
        for (code, spec) in specs {
            for period in spec.family.columns() {
                let slot = supplier.entry((code, period)).or_insert(spec);
                if rank(spec) > rank(slot) {
                    *slot = spec;
                }
            }
        }
        let mut out = National::new();
        for ((_, period), spec) in supplier {
            let e = out.entry((period.year.to_string(), period.basis.to_string())).or_default();
            e.3 += 1;
            for ((src, year, basis), p) in spec.income_totals() {
                if (Period { year, basis }) != period {
                    continue;
                }
                match schemas.funding_sources.get(&src) {
                    Some(bcf::schema::TotalCategory::VoluntaryLa) => e.1 += p,
                    Some(bcf::schema::TotalCategory::VoluntaryNhs) => e.2 += p,
                    _ => e.0 += p,
                }
            }
        }
        out
    }

    /// What decides between returns covering the same period: date, then catalogue order.
    pub fn rank(spec: &ReturnSpec) -> (String, u32) {
        let date = match &spec.submission_date {
            DateCell::Date(y, m, d) => format!("{y:04}-{m:02}-{d:02}"),
            _ => String::new(),
        };
        (date, spec.family.spec().catalogue_order)
    }

    /// The national totals the pipeline reported, for the periods with something in them.
    pub fn national_of(t: &Tables) -> National {
        t.national
            .iter()
            .filter(|r| r.areas_included > 0 || r.total_pooled.0 != 0)
            .map(|r| {
                assert_eq!(r.total_pooled, r.mandated_minimum + r.voluntary_above_minimum);
                assert_eq!(r.voluntary_above_minimum, r.voluntary_la + r.voluntary_nhs);
                let key = (r.financial_year.to_string(), r.basis.to_string());
                (key, (r.mandated_minimum, r.voluntary_la, r.voluntary_nhs, r.areas_included))
            })
            .collect()
    }

    /// A folder of returns plus one allocations workbook matching them: an area's allocations
    /// for a year are the first return's covering it, which later returns restate.
    pub struct World {
        pub dir: tempfile::TempDir,
        pub allocated: Allocated,
        names: BTreeMap<String, String>,
        /// Leave the allocations workbook out.
        pub without_allocations: bool,
    }

    impl World {
        pub fn new() -> World {
            World {
                dir: tempfile::tempdir().expect("temp dir"),
                allocated: Allocated::new(),
                names: BTreeMap::new(),
                without_allocations: false,
            }
        }

        pub fn path(&self, file: &str) -> std::path::PathBuf {
            let p = self.dir.path().join(file);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent).expect("mkdir");
            }
            p
        }

        /// Writes a return; its area gets allocations equal to its minimum lines for the years
        /// not yet allocated (a return restating an allocated year is made to agree).
        pub fn add(&mut self, file: &str, code: &str, spec: &mut ReturnSpec) -> Layout {
            spec.restate_allocations(code, &self.allocated);
            let layout = spec.write(&self.path(file)).expect("write return");
            self.allocate(code, spec);
            layout
        }

        /// Gives an area allocations equal to a spec's minimum lines, where it has none yet.
        pub fn allocate(&mut self, code: &str, spec: &ReturnSpec) {
            self.names.entry(code.to_string()).or_insert_with(|| spec.hwb_name.trim().to_string());
            for (year, source, p) in spec.allocations(&crate::support::reference().0) {
                self.allocated.entry((code.to_string(), year, source)).or_insert(p);
            }
        }

        /// The allocations workbook as it will be written.
        pub fn allocations(&self) -> AllocationsSpec {
            AllocationsSpec::from_allocated(&crate::support::reference().0, &self.allocated, &self.names)
                .expect("an allocations schema")
        }

        /// Writes the allocations workbook (or `a`, if given) and runs the pipeline.
        pub fn run_with(&self, a: Option<AllocationsSpec>) -> (tempfile::TempDir, Tables) {
            if !self.without_allocations {
                let a = a.unwrap_or_else(|| self.allocations());
                a.write(&self.path("allocations/Better Care Fund allocations.xlsx")).expect("write allocations");
            }
            run_on(self.dir.path())
        }

        pub fn run(&self) -> (tempfile::TempDir, Tables) {
            self.run_with(None)
        }
    }

    /// A return is accepted with no findings and its lines are exactly the spec's.
    pub fn assert_clean(t: &Tables, file: &str, spec: &ReturnSpec, layout: &Layout) {
        assert_eq!(findings_of(t, file), vec![], "{file}");
        assert_eq!(submission(t, file).status, Status::Accepted, "{file}");
        assert_eq!(lines_of(t, file), expected_lines(spec, layout), "{file}");
    }
}

use kit::*;

/// Areas that exist in every year of every family, one per family in `every_family`.
const AREAS: [&str; 8] = ["Kent", "Camden", "Barnsley", "York", "Leeds", "Norfolk", "Wakefield", "Sheffield"];

/// Every family's typical return, with matching allocations, is accepted with no findings,
/// and the national totals are its lines'.
#[test]
fn typical_returns_of_every_family_are_accepted_cleanly() {
    let specs: Vec<(&str, ReturnSpec)> = families()
        .iter()
        .enumerate()
        .flat_map(|(i, family)| ["Kent", "Camden"].map(|name| (name, ReturnSpec::typical(family, name, 40 + i as u64))))
        .collect();
    let (t, _) = run_clean(specs);
    for s in t.submissions.iter().filter(|s| s.template_id.as_deref() == Some("bcf-allocations")) {
        assert_eq!(s.status, Status::Accepted, "{}", s.source_file);
    }
    assert!(t.findings.is_empty(), "{:#?}", t.findings);
}

/// The same return written without its habits: where its cells would have been.
fn plain_layout(spec: &ReturnSpec) -> Layout {
    let dir = tempfile::tempdir().unwrap();
    let mut plain = spec.clone();
    plain.habits = Default::default();
    plain.write(&dir.path().join("plain.xlsx")).unwrap()
}

/// A typical return of every family, each for an area of its own, with `edit` applied, run
/// together: each must be accepted with no findings, its lines exactly the spec's (amounts and
/// cells), and the national totals exactly theirs.
fn every_family(edit: impl Fn(&mut ReturnSpec)) -> (Tables, Vec<(String, ReturnSpec, Layout)>) {
    let specs = families().into_iter().enumerate().map(|(i, family)| {
        let mut spec = ReturnSpec::typical(&family, AREAS[i % AREAS.len()], 200 + i as u64);
        edit(&mut spec);
        (AREAS[i % AREAS.len()], spec)
    });
    run_clean(specs.collect())
}

/// The written return of a family, from `every_family`'s list.
fn of<'a>(written: &'a [(String, ReturnSpec, Layout)], id: &str) -> &'a (String, ReturnSpec, Layout) {
    written.iter().find(|w| w.1.family.id() == id).unwrap()
}

/// Writes each (area name, return) as `<family>/<name>.xlsx`, runs them together and checks
/// each is accepted with no findings, its lines exactly the spec's, and the national totals
/// exactly theirs.
fn run_clean(specs: Vec<(&str, ReturnSpec)>) -> (Tables, Vec<(String, ReturnSpec, Layout)>) {
    let mut world = World::new();
    let mut written = Vec::new();
    for (name, mut spec) in specs {
        let file = format!("{}/{name}.xlsx", spec.family.label());
        let code = code_of(name, &spec.family);
        let layout = world.add(&file, &code, &mut spec);
        written.push((file, code, spec, layout));
    }
    let (_out, t) = world.run();
    let supplies = |code: &str, spec: &ReturnSpec, p: Period| {
        written.iter().filter(|w| w.1 == code && w.2.family.columns().contains(&p)).all(|w| rank(&w.2) <= rank(spec))
    };
    for (file, code, spec, layout) in &written {
        assert_eq!(findings_of(&t, file), vec![], "{file}");
        assert_eq!(submission(&t, file).status, Status::Accepted, "{file}");
        assert_eq!(lines_of(&t, file), expected_lines_for(spec, layout, &|p| supplies(code, spec, p)), "{file}");
    }
    assert_eq!(national_of(&t), expected_national(written.iter().map(|w| (w.1.as_str(), &w.2))));
    (t, written.into_iter().map(|(f, _, s, l)| (f, s, l)).collect())
}

fn line_amount(t: &Tables, cell: &bcf_fixtures::CellRef) -> Pence {
    let found: Vec<Pence> =
        t.lines.iter().filter(|l| *l.sheet == *cell.sheet && l.cell == cell.cell).map(|l| l.amount).collect();
    assert_eq!(found.len(), 1, "one line at {cell}: {found:?}");
    found[0]
}

#[test]
fn numbers_typed_as_text() {
    let mut world = World::new();
    let mut spec = ReturnSpec::typical(&family("bcf-planning-2023-25"), "Kent", 3);
    spec.section_mut("dfg").unwrap().lines[0].amounts =
        vec![Amount::Text("£1,234,567".into()), Amount::Text("1,234,567.00".into())];
    spec.section_mut("ibcf").unwrap().lines[0].amounts =
        vec![Amount::Text(" 1234567 ".into()), Amount::Text("1234567.5".into())];
    spec.rebuild_schemes();
    let layout = world.add("Kent.xlsx", "E10000016", &mut spec);
    let (_out, t) = world.run();
    assert_clean(&t, "Kent.xlsx", &spec, &layout);
    for (source, col, pence) in
        [("dfg", 0, 123456700), ("dfg", 1, 123456700), ("ibcf", 0, 123456700), ("ibcf", 1, 123456750)]
    {
        assert_eq!(line_amount(&t, &layout.line(&spec, source, 0, col)), Pence(pence), "{source} {col}");
    }
    assert_eq!(layout.line(&spec, "dfg", 0, 0).to_string(), "5. Income!C7");

    // Every amount of every family, lines and schemes, in the four styles in turn.
    every_family(|s| {
        let mut i = 0;
        let lines = s.sections.iter_mut().flat_map(|x| x.lines.iter_mut()).flat_map(|l| l.amounts.iter_mut());
        let schemes = s.schemes.iter_mut().flat_map(|x| x.amounts.iter_mut());
        for a in lines.chain(schemes) {
            if let Amount::Number(p) = *a {
                *a = Amount::text(p, TextStyle::ALL[i % 4]);
                i += 1;
            }
        }
    });
}

#[test]
fn amounts_as_formulas_with_cached_values() {
    let mut world = World::new();
    let mut spec = ReturnSpec::typical(&family("bcf-planning-2023-25"), "Kent", 3);
    spec.section_mut("dfg").unwrap().lines[0].amounts[0] =
        Amount::Formula { formula: "=1200000+34567".into(), cached: Some(Pence(123456700)) };
    spec.rebuild_schemes();
    let layout = world.add("Kent.xlsx", "E10000016", &mut spec);
    let (_out, t) = world.run();
    assert_clean(&t, "Kent.xlsx", &spec, &layout);
    assert_eq!(line_amount(&t, &layout.line(&spec, "dfg", 0, 0)), Pence(123456700));

    every_family(|s| {
        for a in s.line_amounts_mut() {
            if let Amount::Number(p) = *a {
                *a = Amount::formula(p);
            }
        }
    });
}

#[test]
fn rows_inserted_inside_and_between_sections() {
    let (_t, written) = every_family(|s| {
        s.habits.rows_inserted_in_sections = 3;
        s.habits.rows_inserted_between_sections = 2;
        // More contributors than the section has pre-formatted rows: rows inserted.
        let cols = s.family.columns().len();
        let dfg = s.section_mut("dfg").unwrap();
        for i in 0..6 {
            dfg.lines.push(Line::new(format!("District Council {i}"), vec![Amount::pounds(100_000 + i); cols]));
        }
        s.rebuild_schemes();
    });
    for (file, spec, layout) in &written {
        assert_ne!(layout.lines, plain_layout(spec).lines, "{file}: the habit moved nothing");
    }
}

#[test]
fn blank_rows_inside_tables() {
    let (_t, written) = every_family(|s| s.habits.blank_rows_between_lines = true);
    for (file, spec, layout) in &written {
        assert_ne!(layout.schemes, plain_layout(spec).schemes, "{file}");
    }
}

#[test]
fn tables_a_few_rows_lower_than_the_template() {
    let (_t, written) = every_family(|s| s.habits.table_offset_rows = 4);
    let (_, spec, layout) = of(&written, "bcf-planning-2023-25");
    let plain = plain_layout(spec);
    assert_eq!(layout.line(spec, "dfg", 0, 0).to_string(), "5. Income!C11");
    assert_eq!(plain.line(spec, "dfg", 0, 0).to_string(), "5. Income!C7");
    assert_ne!(layout.schemes, plain.schemes);
}

#[test]
fn extra_sheets_added() {
    every_family(|s| s.habits.extra_sheets = true);
}

#[test]
fn sheet_names_with_a_trailing_space() {
    let (t, written) = every_family(|s| s.habits.trailing_space_sheet_names = true);
    let (file, _, _) = of(&written, "bcf-planning-2023-25");
    // Lines name the sheet as the workbook does.
    assert!(t.lines.iter().filter(|l| *l.source_file == **file).all(|l| &*l.sheet == "5. Income "));
}

#[test]
fn hwb_name_in_another_case_spacing_ampersand_or_alternative_name() {
    let family = family("bcf-planning-2023-25");
    let cases = [
        ("case.xlsx", "Barking and Dagenham", "BARKING AND DAGENHAM", "E09000002"),
        ("spaces.xlsx", "Brighton and Hove", "  Brighton   and  Hove ", "E06000043"),
        ("ampersand.xlsx", "Kensington and Chelsea", "Kensington & Chelsea", "E09000020"),
        ("alternative.xlsx", "Hammersmith and Fulham", "london borough of hammersmith and fulham", "E09000013"),
        ("cornwall.xlsx", "Cornwall and Isles of Scilly", "Cornwall", "E06000052"),
    ];
    let mut world = World::new();
    let mut written = Vec::new();
    for (file, official, typed, code) in cases {
        let mut spec = ReturnSpec::typical(&family, official, 5);
        spec.hwb_name = typed.to_string();
        let layout = world.add(file, code, &mut spec);
        written.push((file, official, code, spec, layout));
    }
    let (_out, t) = world.run();
    for (file, official, code, spec, layout) in &written {
        assert_clean(&t, file, spec, layout);
        let s = submission(&t, file);
        assert_eq!(s.area_code.as_deref(), Some(*code), "{file}");
        assert_eq!(s.area_name.as_deref(), Some(*official), "{file}");
        assert!(t.lines.iter().filter(|l| *l.source_file == **file).all(|l| *l.area_code == **code));
    }
    assert_eq!(national_of(&t), expected_national(written.iter().map(|w| (w.2, &w.3))));
}

#[test]
fn north_yorkshire_resolves_to_the_area_of_the_return_years() {
    let mut world = World::new();
    let mut written = Vec::new();
    for (id, code) in [
        ("bcf-planning-2017-19", "E10000023"),
        ("bcf-year-end-2020-21", "E10000023"),
        ("bcf-planning-2023-25", "E06000065"),
    ] {
        let mut spec = ReturnSpec::typical(&family(id), "North Yorkshire", 9);
        let file = format!("North Yorkshire {id}.xlsx");
        let layout = world.add(&file, code, &mut spec);
        written.push((file, code, spec, layout));
    }
    let (_out, t) = world.run();
    for (file, code, spec, layout) in &written {
        assert_clean(&t, file, spec, layout);
        assert_eq!(submission(&t, file).area_code.as_deref(), Some(*code), "{file}");
    }
}

#[test]
fn stray_values_far_outside_any_table_are_ignored() {
    let strays = [(1_048_575, 16_383), (700, 3), (1_048_575, 0), (0, 16_383)];
    let mut world = World::new();
    let mut written = Vec::new();
    for (i, family) in families().iter().enumerate() {
        let mut spec = ReturnSpec::typical(family, AREAS[i], 11);
        spec.habits.stray_value = Some(strays[i % strays.len()]);
        let file = format!("{}.xlsx", family.label());
        let code = code_of(AREAS[i], family);
        let layout = world.add(&file, &code, &mut spec);
        written.push((file, code, spec, layout));
    }
    let (_out, t) = world.run();
    for (file, _, spec, layout) in &written {
        assert_clean(&t, file, spec, layout);
    }
    assert_eq!(national_of(&t), expected_national(written.iter().map(|w| (w.1.as_str(), &w.2))));
    assert!(t.lines.iter().all(|l| l.amount != Pence(123456)));
    assert!(t.schemes.iter().all(|s| s.amount != Pence(123456)));
}

#[test]
fn stored_total_that_disagrees_with_its_lines_warns_and_the_lines_are_used() {
    let mut world = World::new();
    let mut later = ReturnSpec::typical(&family("bcf-planning-2023-25"), "Kent", 13);
    let dfg = later.income_totals()[&("dfg".to_string(), FinancialYear(2023), Basis::Plan)];
    // A stale cached value of the SUM formula.
    later.section_mut("dfg").unwrap().total = vec![Total::StaleSum(dfg + Pence::from_pounds(1000))];
    let later_layout = world.add("Kent 2023-25.xlsx", "E10000016", &mut later);
    let mut early = ReturnSpec::typical(&family("bcf-planning-2015-16"), "Kent", 13);
    let all = Pence::sum(early.income_totals().values());
    // A number typed over the BCF Total formula.
    early.bcf_total = vec![Total::Typed(Amount::Number(all + Pence(101)))];
    let early_layout = world.add("Kent 2015-16.xlsx", "E10000016", &mut early);
    let (_out, t) = world.run();

    assert_eq!(submission(&t, "Kent 2023-25.xlsx").status, Status::AcceptedWithWarnings);
    let mut want = vec![
        ("total-mismatch".to_string(), later_layout.total(&later, "dfg", 0).to_string()),
        ("total-mismatch".to_string(), later_layout.grand_totals["Total BCF Pooled Budget"][0].to_string()),
    ];
    want.sort();
    let mut got = findings_of(&t, "Kent 2023-25.xlsx");
    got.sort();
    assert_eq!(got, want);
    assert_eq!(lines_of(&t, "Kent 2023-25.xlsx"), expected_lines(&later, &later_layout));

    assert_eq!(submission(&t, "Kent 2015-16.xlsx").status, Status::AcceptedWithWarnings);
    assert_eq!(
        findings_of(&t, "Kent 2015-16.xlsx"),
        vec![("total-mismatch".to_string(), early_layout.grand_totals["BCF Total"][0].to_string())]
    );
    assert_eq!(lines_of(&t, "Kent 2015-16.xlsx"), expected_lines(&early, &early_layout));
    // National totals come from the lines, never the stored totals.
    assert_eq!(national_of(&t), expected_national([("E10000016", &later), ("E10000016", &early)]));
    assert!(t.findings.iter().all(|f| f.severity == bcf::model::Severity::Warning));
}

#[test]
fn pence_are_exact_to_the_penny() {
    let mut world = World::new();
    let mut spec = ReturnSpec::typical(&family("bcf-planning-2023-25"), "Kent", 17);
    let la = spec.section_mut("la_additional").unwrap();
    la.lines = vec![
        Line::new("Kent County Council", vec![Amount::pence(10), Amount::pence(9_876_543_219)]),
        Line::new("Kent County Council (2)", vec![Amount::pence(20), Amount::Text("1234567.89".into())]),
        Line::new("Kent County Council (3)", vec![Amount::pence(12_345_678_901), Amount::formula(Pence(1))]),
    ];
    spec.answer_questions();
    spec.rebuild_schemes();
    let layout = world.add("Kent.xlsx", "E10000016", &mut spec);
    let (_out, t) = world.run();
    assert_clean(&t, "Kent.xlsx", &spec, &layout);
    let la_lines = |year: &str| -> Vec<Pence> {
        let mut v: Vec<Pence> = t
            .lines
            .iter()
            .filter(|l| &*l.funding_source == "la_additional" && l.financial_year.to_string() == year)
            .map(|l| l.amount)
            .collect();
        v.sort();
        v
    };
    assert_eq!(la_lines("2023-24"), vec![Pence(10), Pence(20), Pence(12_345_678_901)]);
    assert_eq!(la_lines("2024-25"), vec![Pence(1), Pence(123_456_789), Pence(9_876_543_219)]);
    let row = t.national_row(FinancialYear(2023), Basis::Plan).unwrap();
    // 0.10 + 0.20 is 0.30 here, not 0.30000000000000004.
    assert_eq!(row.voluntary_la, Pence(12_345_678_931));
    let row = t.national_row(FinancialYear(2024), Basis::Plan).unwrap();
    assert_eq!(row.voluntary_la, Pence(10_000_000_009));
}

/// `fixtures/formats/` holds one return (written by the generator of its day) as .xlsx, and as
/// .xls and .ods converted from it by LibreOffice (see fixtures/README.md); the same bytes
/// named .xlsm make a fourth. Each must give the same area, date, lines and totals.
#[test]
fn files_saved_as_xls_ods_and_xlsm_read_like_the_xlsx() {
    const STEM: &str = "BCF 2023-25 - Barnsley";
    let formats = crate::support::fixtures().join("formats");
    let run = |ext: &str| {
        let input = tempfile::tempdir().unwrap();
        let source = formats.join(format!("{STEM}.{}", if ext == "xlsm" { "xlsx" } else { ext }));
        let file = format!("{STEM}.{ext}");
        std::fs::copy(&source, input.path().join(&file)).unwrap();
        let (_out, t) = run_on(input.path());
        let s = submission(&t, &file);
        assert!(s.status.contributes(), "{ext}: {:#?}", t.findings);
        (s.area_code.clone(), s.submission_date, lines_of(&t, &file), national_of(&t))
    };
    let xlsx = run("xlsx");
    assert_eq!(xlsx.0.as_deref(), Some("E08000016"));
    assert!(xlsx.2.len() > 10, "{:?}", xlsx.2);
    for ext in ["xlsm", "xls", "ods"] {
        assert_eq!(run(ext), xlsx, "{ext} reads like the xlsx");
    }
}

#[test]
fn the_same_spec_gives_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    for family in families() {
        let mut spec = ReturnSpec::typical(&family, "Kent", 1);
        spec.section_mut("dfg").unwrap().total = vec![Total::SumNotCalculated];
        spec.habits.extra_sheets = true;
        let a = dir.path().join("a.xlsx");
        let b = dir.path().join("b.xlsx");
        spec.write(&a).unwrap();
        spec.clone().write(&b).unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap(), "{family}");
    }
}

#[test]
fn specs_that_cannot_be_written_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.xlsx");
    let mut spec = ReturnSpec::typical(&family("bcf-planning-2023-25"), "Kent", 1);
    spec.habits.table_offset_rows = u32::MAX;
    assert!(spec.write(&path).is_err());
    let mut spec = ReturnSpec::typical(&family("bcf-planning-2023-25"), "Kent", 1);
    spec.habits.stray_value = Some((u32::MAX, u32::MAX));
    assert!(spec.write(&path).is_err());
    let mut spec = ReturnSpec::typical(&family("bcf-planning-2023-25"), "Kent", 1);
    spec.submission_date = DateCell::Date(2023, 2, 30);
    assert!(spec.write(&path).is_err());
    let mut spec = ReturnSpec::typical(&family("bcf-planning-2023-25"), "Kent", 1);
    spec.sections.push(bcf_fixtures::Section::new("social_care_capital", vec![]));
    assert!(spec.write(&path).is_err());
    let mut spec = ReturnSpec::typical(&family("bcf-planning-2015-16"), "Kent", 1);
    spec.habits.rows_inserted_in_sections = u32::MAX;
    spec.habits.blank_rows_between_lines = true;
    assert!(spec.write(&path).is_err());
}

/// A national corpus of every family: every return accepted or superseded by its own
/// resubmission, every area counted once per year and basis even where a plan and a year-end
/// return both cover it, and the national totals exactly the supplying returns'.
#[test]
fn national_corpus_is_accepted_and_complete() {
    let dir = tempfile::tempdir().unwrap();
    let (schemas, areas) = crate::support::reference();
    let summary = national_corpus(dir.path(), 42, schemas, areas, &families()).unwrap();
    let with_habit = summary.returns.iter().filter(|r| r.habit.is_some()).count();
    assert!((40..=150).contains(&with_habit), "{with_habit} of {} returns with a habit", summary.returns.len());
    assert!(summary.habit_counts().len() >= 8, "{:?}", summary.habit_counts());
    assert!(summary.returns.iter().any(|r| r.superseded), "some areas resubmit");

    let (_out, t) = run_on(dir.path());
    for r in &summary.returns {
        let s = submission(&t, &r.source_file);
        let want = if r.superseded { Status::Superseded } else { Status::Accepted };
        assert_eq!(s.status, want, "{}: {:?}", r.source_file, findings_of(&t, &r.source_file));
        assert_eq!(s.area_code.as_deref(), Some(r.area_code.as_str()), "{}", r.source_file);
    }
    assert_eq!(t.national.len(), summary.expected.len());
    for row in &t.national {
        let e = summary.expected[&Period { year: row.financial_year, basis: row.basis }];
        assert_eq!(row.areas_included as usize, e.areas, "{} {}", row.financial_year, row.basis);
        let got = (row.mandated_minimum, row.voluntary_la, row.voluntary_nhs);
        assert_eq!(got, (e.mandated_minimum, e.voluntary_la, e.voluntary_nhs), "{} {}", row.financial_year, row.basis);
    }
}

#[test]
fn the_same_seed_gives_the_same_corpus() {
    let (schemas, areas) = crate::support::reference();
    let fams = [family("bcf-year-end-2020-21")];
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let summary = national_corpus(a.path(), 3, schemas, areas, &fams).unwrap();
    national_corpus(b.path(), 3, schemas, areas, &fams).unwrap();
    assert_eq!(crate::support::tree_bytes(a.path()), crate::support::tree_bytes(b.path()));
    assert!(summary.returns.len() >= 150);
    assert_eq!(summary.allocations.len(), 1);
}
