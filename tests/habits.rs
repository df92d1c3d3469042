//! One test per habit of real returns (catalogue §3), on workbooks built by `bcf::fixtures`:
//! each habit must be read exactly as the plain return would be.

use crate::support::{findings_of, run_on, submission};
use bcf::fixtures::{
    national_corpus, AllocationsSpec, Amount, DateCell, Family, Layout, Line, ReturnSpec, TextStyle, Total,
};
use bcf::model::{Basis, Pence};
use bcf::reference::{AreaMatch, Areas};
use bcf::tables::Tables;
use std::collections::BTreeMap;

/// Helpers shared with `rules.rs`: building a folder of returns and checking what came out.
pub(crate) mod kit {
    use super::*;
    use bcf::model::FinancialYear;

    pub fn areas() -> Areas {
        Areas::load(&bcf::schema::default_dir().join("reference").join("areas.csv")).expect("areas.csv")
    }

    /// The code an area name resolves to for a family's years.
    pub fn code_of(name: &str, family: Family) -> String {
        let years: Vec<FinancialYear> = family.years().iter().filter_map(|y| FinancialYear::parse(y)).collect();
        match areas().match_name(name, &years) {
            AreaMatch::Found { code, .. } => code,
            other => panic!("{name} does not resolve for {family}: {other:?}"),
        }
    }

    /// A line as the pipeline should report it: (source, year, basis, amount, sheet!cell).
    pub type ExpectedLine = (String, String, String, Pence, String);

    /// Every amount of a spec the pipeline should read as a line, with the cell it sits in.
    pub fn expected_lines(spec: &ReturnSpec, layout: &Layout) -> Vec<ExpectedLine> {
        let cols = spec.family.columns();
        let mut out = Vec::new();
        for (s, section) in spec.sections.iter().enumerate() {
            for (l, line) in section.lines.iter().enumerate() {
                for (c, a) in line.amounts.iter().enumerate().take(cols.len()) {
                    if let Some(p) = a.value() {
                        out.push((
                            section.funding_source.clone(),
                            cols[c].0.to_string(),
                            cols[c].1.as_str().to_string(),
                            p,
                            layout.lines[s][l][c].to_string(),
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
                (
                    l.funding_source.to_string(),
                    l.financial_year.to_string(),
                    l.basis.to_string(),
                    l.amount,
                    format!("{}!{}", l.sheet, l.cell),
                )
            })
            .collect();
        out.sort();
        out
    }

    /// (mandated minimum, voluntary LA, voluntary NHS, areas) per (year, basis).
    pub type National = BTreeMap<(String, String), (Pence, Pence, Pence, i32)>;

    /// The national totals a set of contributing returns should give (catalogue §7).
    pub fn expected_national<'a>(specs: impl IntoIterator<Item = &'a ReturnSpec>) -> National {
        let mut out = National::new();
        for spec in specs {
            for &(year, basis) in spec.family.columns() {
                out.entry((year.to_string(), basis.as_str().to_string())).or_default().3 += 1;
            }
            for ((src, year, basis), p) in spec.income_totals() {
                let e = out.entry((year, basis.as_str().to_string())).or_default();
                match src.as_str() {
                    "la_additional" => e.1 += p,
                    "nhs_additional" => e.2 += p,
                    _ => e.0 += p,
                }
            }
        }
        out
    }

    /// The national totals the pipeline reported, for the periods in `like` (others must be 0).
    pub fn national_of(t: &Tables) -> National {
        t.national
            .iter()
            .filter(|r| r.areas_included > 0 || r.total_pooled.0 != 0)
            .map(|r| {
                assert_eq!(r.total_pooled, r.mandated_minimum + r.voluntary_above_minimum);
                assert_eq!(r.voluntary_above_minimum, r.voluntary_la + r.voluntary_nhs);
                (
                    (r.financial_year.clone(), r.basis.clone()),
                    (r.mandated_minimum, r.voluntary_la, r.voluntary_nhs, r.areas_included),
                )
            })
            .collect()
    }

    /// A folder of returns plus the allocations workbooks that match them.
    pub struct World {
        pub dir: tempfile::TempDir,
        allocations: BTreeMap<Family, AllocationsSpec>,
        /// Families whose allocations workbook is left out.
        pub without_allocations: Vec<Family>,
    }

    impl World {
        pub fn new() -> World {
            World {
                dir: tempfile::tempdir().expect("temp dir"),
                allocations: BTreeMap::new(),
                without_allocations: Vec::new(),
            }
        }

        pub fn path(&self, file: &str) -> std::path::PathBuf {
            let p = self.dir.path().join(file);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent).expect("mkdir");
            }
            p
        }

        /// Writes a return; its area gets allocations equal to its minimum lines (unless the
        /// area already has a row, e.g. for a resubmission).
        pub fn add(&mut self, file: &str, code: &str, spec: &ReturnSpec) -> Layout {
            let layout = spec.write(&self.path(file)).expect("write return");
            self.allocate(code, spec);
            layout
        }

        /// Gives an area allocations equal to a spec's minimum lines.
        pub fn allocate(&mut self, code: &str, spec: &ReturnSpec) {
            let a = self.allocations.entry(spec.family).or_insert_with(|| AllocationsSpec::for_family(spec.family));
            if !a.rows.iter().any(|r| r.code == code) {
                a.add_matching(code, "", spec);
            }
        }

        pub fn allocations_mut(&mut self, family: Family) -> &mut AllocationsSpec {
            self.allocations.entry(family).or_insert_with(|| AllocationsSpec::for_family(family))
        }

        /// Writes the allocations workbooks and runs the pipeline.
        pub fn run(&self) -> (tempfile::TempDir, Tables) {
            for (family, a) in &self.allocations {
                if self.without_allocations.contains(family) {
                    continue;
                }
                let file = format!("allocations/Better Care Fund allocations {family}.xlsx");
                a.write(&self.path(&file)).expect("write allocations");
            }
            run_on(self.dir.path())
        }
    }

    /// A return is accepted with no findings and its lines are exactly the spec's.
    pub fn assert_clean(t: &Tables, file: &str, spec: &ReturnSpec, layout: &Layout) {
        assert_eq!(findings_of(t, file), vec![], "{file}");
        assert_eq!(submission(t, file).status, "accepted", "{file}");
        assert_eq!(lines_of(t, file), expected_lines(spec, layout), "{file}");
    }
}

use kit::*;

/// Every family's typical return, with matching allocations, is accepted with no findings,
/// and the national totals are its lines'.
#[test]
fn typical_returns_of_every_family_are_accepted_cleanly() {
    let specs = Family::ALL.into_iter().enumerate().flat_map(|(i, family)| {
        ["Kent", "Camden"].map(|name| (name, ReturnSpec::typical(family, name, 40 + i as u64)))
    });
    let (t, _) = run_clean(specs.collect());
    for s in t.submissions.iter().filter(|s| s.template_id.as_deref() == Some("bcf-allocations")) {
        assert_eq!(s.status, "accepted", "{}", s.source_file);
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

/// A typical return of every family with `edit` applied, run together: each must be accepted
/// with no findings, its lines exactly the spec's (amounts and cells), and the national totals
/// exactly theirs.
fn every_family(name: &str, edit: impl Fn(&mut ReturnSpec)) -> (Tables, Vec<(String, ReturnSpec, Layout)>) {
    let specs = Family::ALL.into_iter().enumerate().map(|(i, family)| {
        let mut spec = ReturnSpec::typical(family, name, 200 + i as u64);
        edit(&mut spec);
        (name, spec)
    });
    run_clean(specs.collect())
}

/// Writes each (area name, return) as `<family>/<name>.xlsx`, runs them together and checks
/// each is accepted with no findings, its lines exactly the spec's, and the national totals
/// exactly theirs.
fn run_clean(specs: Vec<(&str, ReturnSpec)>) -> (Tables, Vec<(String, ReturnSpec, Layout)>) {
    let mut world = World::new();
    let mut written = Vec::new();
    for (name, spec) in specs {
        let file = format!("{}/{name}.xlsx", spec.family);
        let layout = world.add(&file, &code_of(name, spec.family), &spec);
        written.push((file, spec, layout));
    }
    let (_out, t) = world.run();
    for (file, spec, layout) in &written {
        assert_clean(&t, file, spec, layout);
    }
    assert_eq!(national_of(&t), expected_national(written.iter().map(|w| &w.1)));
    (t, written)
}

fn line_amount(t: &Tables, cell: &bcf::fixtures::CellRef) -> Pence {
    let found: Vec<Pence> =
        t.lines.iter().filter(|l| *l.sheet == *cell.sheet && l.cell == cell.cell).map(|l| l.amount).collect();
    assert_eq!(found.len(), 1, "one line at {cell}: {found:?}");
    found[0]
}

#[test]
fn numbers_typed_as_text() {
    let mut world = World::new();
    let mut spec = ReturnSpec::typical(Family::Planning2023, "Kent", 3);
    spec.section_mut("dfg").unwrap().lines[0].amounts =
        vec![Amount::Text("£1,234,567".into()), Amount::Text("1,234,567.00".into())];
    spec.section_mut("ibcf").unwrap().lines[0].amounts =
        vec![Amount::Text(" 1234567 ".into()), Amount::Text("1234567.5".into())];
    spec.rebuild_schemes();
    let layout = world.add("Kent.xlsx", "E10000016", &spec);
    let (_out, t) = world.run();
    assert_clean(&t, "Kent.xlsx", &spec, &layout);
    for (source, col, pence) in
        [("dfg", 0, 123456700), ("dfg", 1, 123456700), ("ibcf", 0, 123456700), ("ibcf", 1, 123456750)]
    {
        assert_eq!(line_amount(&t, &layout.line(&spec, source, 0, col)), Pence(pence), "{source} {col}");
    }
    assert_eq!(layout.line(&spec, "dfg", 0, 0).to_string(), "5. Income!C8");

    // Every amount of every family, lines and schemes, in the four styles in turn.
    every_family("Camden", |s| {
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
    let mut spec = ReturnSpec::typical(Family::Planning2023, "Kent", 3);
    spec.section_mut("dfg").unwrap().lines[0].amounts[0] =
        Amount::Formula { formula: "=1200000+34567".into(), cached: Some(Pence(123456700)) };
    spec.rebuild_schemes();
    let layout = world.add("Kent.xlsx", "E10000016", &spec);
    let (_out, t) = world.run();
    assert_clean(&t, "Kent.xlsx", &spec, &layout);
    assert_eq!(line_amount(&t, &layout.line(&spec, "dfg", 0, 0)), Pence(123456700));

    every_family("Camden", |s| {
        for a in s.line_amounts_mut() {
            if let Amount::Number(p) = *a {
                *a = Amount::formula(p);
            }
        }
    });
}

#[test]
fn rows_inserted_inside_and_between_sections() {
    let (_t, written) = every_family("Kent", |s| {
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
    let (_t, written) = every_family("Kent", |s| s.habits.blank_rows_between_lines = true);
    for (file, spec, layout) in &written {
        assert_ne!(layout.schemes, plain_layout(spec).schemes, "{file}");
    }
}

#[test]
fn tables_a_few_rows_lower_than_the_template() {
    let (_t, written) = every_family("Kent", |s| s.habits.table_offset_rows = 4);
    let (_, spec, layout) = &written[3];
    assert_eq!(layout.line(spec, "dfg", 0, 0).to_string(), "5. Income!C12");
    assert_eq!(layout.schemes[0][0].to_string(), "6. Expenditure!M24");
}

#[test]
fn extra_sheets_added() {
    every_family("Kent", |s| s.habits.extra_sheets = true);
}

#[test]
fn sheet_names_with_a_trailing_space() {
    let (t, written) = every_family("Kent", |s| s.habits.trailing_space_sheet_names = true);
    let (file, _, _) = &written[3];
    // Lines name the sheet as the workbook does.
    assert!(t.lines.iter().filter(|l| *l.source_file == **file).all(|l| &*l.sheet == "5. Income "));
}

#[test]
fn hwb_name_in_another_case_spacing_ampersand_or_alternative_name() {
    let family = Family::Planning2023;
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
        let mut spec = ReturnSpec::typical(family, official, 5);
        spec.hwb_name = typed.to_string();
        let layout = world.add(file, code, &spec);
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
    assert_eq!(national_of(&t), expected_national(written.iter().map(|w| &w.3)));
}

#[test]
fn north_yorkshire_resolves_to_the_area_of_the_return_years() {
    let mut world = World::new();
    let mut written = Vec::new();
    for (family, code) in
        [(Family::Planning2017, "E10000023"), (Family::YearEnd2020, "E10000023"), (Family::Planning2023, "E06000065")]
    {
        let spec = ReturnSpec::typical(family, "North Yorkshire", 9);
        let file = format!("North Yorkshire {family}.xlsx");
        let layout = world.add(&file, code, &spec);
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
    for (family, stray) in Family::ALL.into_iter().zip(strays) {
        let mut spec = ReturnSpec::typical(family, "Kent", 11);
        spec.habits.stray_value = Some(stray);
        let file = format!("{family}.xlsx");
        let layout = world.add(&file, "E10000016", &spec);
        written.push((file, spec, layout));
    }
    let (_out, t) = world.run();
    for (file, spec, layout) in &written {
        assert_clean(&t, file, spec, layout);
    }
    assert_eq!(national_of(&t), expected_national(written.iter().map(|w| &w.1)));
    assert!(t.lines.iter().all(|l| l.amount != Pence(123456)));
    assert!(t.schemes.iter().all(|s| s.amount != Pence(123456)));
}

#[test]
fn stored_total_that_disagrees_with_its_lines_warns_and_the_lines_are_used() {
    let mut world = World::new();
    let mut later = ReturnSpec::typical(Family::Planning2023, "Kent", 13);
    let dfg = later.income_totals()[&("dfg".to_string(), "2023-24".to_string(), Basis::Plan)];
    // A stale cached value of the SUM formula.
    later.section_mut("dfg").unwrap().total = vec![Total::StaleSum(dfg + Pence::from_pounds(1000))];
    let later_layout = world.add("Kent 2023-25.xlsx", "E10000016", &later);
    let mut early = ReturnSpec::typical(Family::Planning2015, "Kent", 13);
    let all = Pence::sum(early.income_totals().values());
    // A number typed over the BCF Total formula.
    early.bcf_total = vec![Total::Typed(Amount::Number(all + Pence(101)))];
    let early_layout = world.add("Kent 2015-16.xlsx", "E10000016", &early);
    let (_out, t) = world.run();

    assert_eq!(submission(&t, "Kent 2023-25.xlsx").status, "accepted_with_warnings");
    let mut want = vec![
        ("total-mismatch".to_string(), later_layout.total(&later, "dfg", 0).to_string()),
        ("total-mismatch".to_string(), later_layout.grand_totals["Total BCF Pooled Budget"][0].to_string()),
    ];
    want.sort();
    let mut got = findings_of(&t, "Kent 2023-25.xlsx");
    got.sort();
    assert_eq!(got, want);
    assert_eq!(lines_of(&t, "Kent 2023-25.xlsx"), expected_lines(&later, &later_layout));

    assert_eq!(submission(&t, "Kent 2015-16.xlsx").status, "accepted_with_warnings");
    assert_eq!(
        findings_of(&t, "Kent 2015-16.xlsx"),
        vec![("total-mismatch".to_string(), "2. HWB Funding Sources!E27".to_string())]
    );
    assert_eq!(lines_of(&t, "Kent 2015-16.xlsx"), expected_lines(&early, &early_layout));
    // National totals come from the lines, never the stored totals.
    assert_eq!(national_of(&t), expected_national([&later, &early]));
    assert!(t.findings.iter().all(|f| f.severity == "warning"));
}

#[test]
fn pence_are_exact_to_the_penny() {
    let mut world = World::new();
    let mut spec = ReturnSpec::typical(Family::Planning2023, "Kent", 17);
    let la = spec.section_mut("la_additional").unwrap();
    la.lines = vec![
        Line::new("Kent County Council", vec![Amount::pence(10), Amount::pence(9_876_543_219)]),
        Line::new("Kent County Council (2)", vec![Amount::pence(20), Amount::Text("1234567.89".into())]),
        Line::new("Kent County Council (3)", vec![Amount::pence(12_345_678_901), Amount::formula(Pence(1))]),
    ];
    spec.answer_questions();
    spec.rebuild_schemes();
    let layout = world.add("Kent.xlsx", "E10000016", &spec);
    let (_out, t) = world.run();
    assert_clean(&t, "Kent.xlsx", &spec, &layout);
    let la_lines = |year: &str| -> Vec<Pence> {
        let mut v: Vec<Pence> = t
            .lines
            .iter()
            .filter(|l| &*l.funding_source == "la_additional" && *l.financial_year == *year)
            .map(|l| l.amount)
            .collect();
        v.sort();
        v
    };
    assert_eq!(la_lines("2023-24"), vec![Pence(10), Pence(20), Pence(12_345_678_901)]);
    assert_eq!(la_lines("2024-25"), vec![Pence(1), Pence(123_456_789), Pence(9_876_543_219)]);
    let row = t.national.iter().find(|r| r.financial_year == "2023-24" && r.basis == "plan").unwrap();
    // 0.10 + 0.20 is 0.30 here, not 0.30000000000000004.
    assert_eq!(row.voluntary_la, Pence(12_345_678_931));
    let row = t.national.iter().find(|r| r.financial_year == "2024-25").unwrap();
    assert_eq!(row.voluntary_la, Pence(10_000_000_009));
}

/// The return `fixtures/formats/` holds in four formats (see fixtures/README.md).
fn formats_spec() -> ReturnSpec {
    ReturnSpec::typical(Family::Planning2023, "Barnsley", 2023)
}

const FORMATS_STEM: &str = "BCF 2023-25 - Barnsley";

/// Rebuilds `fixtures/formats/`: the xlsx from `formats_spec`, the xls and ods converted from
/// it by LibreOffice. Run by hand: `cargo test --test main habits::regenerate_format_fixtures
/// -- --ignored`.
#[test]
#[ignore = "rewrites fixtures/formats/ and needs LibreOffice (soffice)"]
fn regenerate_format_fixtures() {
    let dir = crate::support::fixtures().join("formats");
    std::fs::create_dir_all(&dir).unwrap();
    let xlsx = dir.join(format!("{FORMATS_STEM}.xlsx"));
    formats_spec().write(&xlsx).unwrap();
    for to in ["xls", "ods"] {
        let status = std::process::Command::new("soffice")
            .args(["--headless", "--convert-to", to, "--outdir"])
            .arg(&dir)
            .arg(&xlsx)
            .status()
            .expect("soffice");
        assert!(status.success(), "soffice --convert-to {to}");
    }
}

#[test]
fn files_saved_as_xls_ods_and_xlsm_read_like_the_xlsx() {
    let spec = formats_spec();
    let scratch = tempfile::tempdir().unwrap();
    let layout = spec.write(&scratch.path().join("layout.xlsx")).unwrap();
    let formats = crate::support::fixtures().join("formats");
    let xlsx = formats.join(format!("{FORMATS_STEM}.xlsx"));
    assert_eq!(
        std::fs::read(&xlsx).unwrap(),
        std::fs::read(scratch.path().join("layout.xlsx")).unwrap(),
        "fixtures/formats is stale: regenerate it (fixtures/README.md)"
    );
    for ext in ["xlsx", "xlsm", "xls", "ods"] {
        let mut world = World::new();
        let source = if ext == "xlsm" { xlsx.clone() } else { formats.join(format!("{FORMATS_STEM}.{ext}")) };
        let file = format!("{FORMATS_STEM}.{ext}");
        std::fs::copy(&source, world.path(&file)).unwrap();
        world.allocate("E08000016", &spec);
        let (_out, t) = world.run();
        assert_clean(&t, &file, &spec, &layout);
        assert_eq!(submission(&t, &file).area_code.as_deref(), Some("E08000016"), "{ext}");
        assert_eq!(submission(&t, &file).submission_date, submission(&t, &file).submission_date);
        assert_eq!(national_of(&t), expected_national([&spec]), "{ext}");
    }
}

#[test]
fn the_same_spec_gives_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    for family in Family::ALL {
        let mut spec = ReturnSpec::typical(family, "Kent", 1);
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
    let mut spec = ReturnSpec::typical(Family::Planning2023, "Kent", 1);
    spec.habits.table_offset_rows = u32::MAX;
    assert!(spec.write(&path).is_err());
    let mut spec = ReturnSpec::typical(Family::Planning2023, "Kent", 1);
    spec.habits.stray_value = Some((u32::MAX, u32::MAX));
    assert!(spec.write(&path).is_err());
    let mut spec = ReturnSpec::typical(Family::Planning2023, "Kent", 1);
    spec.submission_date = DateCell::Date(2023, 2, 30);
    assert!(spec.write(&path).is_err());
    let mut spec = ReturnSpec::typical(Family::Planning2023, "Kent", 1);
    spec.sections.push(bcf::fixtures::Section::new("social_care_capital", vec![]));
    assert!(spec.write(&path).is_err());
    let mut spec = ReturnSpec::typical(Family::Planning2015, "Kent", 1);
    spec.habits.rows_inserted_in_sections = u32::MAX;
    spec.habits.blank_rows_between_lines = true;
    assert!(spec.write(&path).is_err());
}

/// A national corpus of two families: every return accepted, every area counted once per year,
/// and the national totals exactly the returns'.
#[test]
fn national_corpus_is_accepted_and_complete() {
    let dir = tempfile::tempdir().unwrap();
    let summary = national_corpus(dir.path(), 42, &areas(), &[Family::Planning2017, Family::Planning2023]).unwrap();
    assert_eq!(summary.allocations.len(), 2);
    assert_eq!(summary.returns_per_year["2017-18"], 151);
    assert_eq!(summary.returns_per_year["2023-24"], 152);
    let with_habit = summary.returns.iter().filter(|r| r.habit.is_some()).count();
    assert!((10..=60).contains(&with_habit), "{with_habit} of {} returns with a habit", summary.returns.len());
    assert!(summary.habit_counts().len() >= 6, "{:?}", summary.habit_counts());

    let (_out, t) = run_on(dir.path());
    for r in &summary.returns {
        let s = submission(&t, &r.source_file);
        assert!(
            s.status == "accepted" || s.status == "accepted_with_warnings",
            "{}: {} {:?}",
            r.source_file,
            s.status,
            findings_of(&t, &r.source_file)
        );
        assert_eq!(s.area_code.as_deref(), Some(r.area_code.as_str()), "{}", r.source_file);
    }
    for row in &t.national {
        assert_eq!(
            row.areas_included as usize, summary.returns_per_year[&row.financial_year],
            "{}",
            row.financial_year
        );
        let basis = if row.basis == "plan" { Basis::Plan } else { Basis::Actual };
        let e = summary.expected[&(row.financial_year.clone(), basis)];
        assert_eq!(
            (row.mandated_minimum, row.voluntary_la, row.voluntary_nhs),
            (e.mandated_minimum, e.voluntary_la, e.voluntary_nhs),
            "{}",
            row.financial_year
        );
    }
    assert_eq!(t.national.len(), 4);
}

/// `bcf fixtures` writes the corpus `national_corpus` does, and refuses an unknown family.
#[test]
fn bcf_fixtures_command_writes_a_corpus() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(crate::support::bcf_bin())
        .args(["fixtures", "--seed", "3", "--families", "2020-21", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("150 returns"));
    let again = tempfile::tempdir().unwrap();
    let summary = national_corpus(again.path(), 3, &areas(), &[Family::YearEnd2020]).unwrap();
    for r in &summary.returns {
        let a = std::fs::read(dir.path().join(&r.source_file)).unwrap();
        assert_eq!(a, std::fs::read(again.path().join(&r.source_file)).unwrap(), "{}", r.source_file);
    }
    assert!(dir.path().join("allocations/Better Care Fund allocations 2020-21.xlsx").is_file());

    let bad = std::process::Command::new(crate::support::bcf_bin())
        .args(["fixtures", "--families", "2019-20", "--out"])
        .arg(dir.path().join("x"))
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
