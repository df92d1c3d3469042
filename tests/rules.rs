//! One test per validation rule of catalogue §5 (and the statuses of §1 and §6), on workbooks
//! built by `bcf_fixtures`. Every test runs the bad file beside two clean returns and checks
//! the bad file's status and exact findings, and that the clean returns and the national
//! totals are exactly what they would be without it.
//!
//! Not here: `download-failed` (tests/http.rs), `file-unreadable` and `file-too-large`
//! (tests/hostile.rs).

use crate::habits::kit::*;
use crate::support::{family, submission};
use bcf::model::{Basis, FinancialYear, Pence, Status};
use bcf::tables::Tables;
use bcf_fixtures::{Amount, CellRef, DateCell, Family, Layout, Line, ReturnSpec, Total};

/// The family the rules are tried on; its sheets are named by its schema.
fn f() -> Family {
    family("bcf-planning-2023-25")
}

fn income() -> String {
    f().income().sheet.clone()
}

type Found = (String, String, String);

/// A file's findings as sorted (rule, severity, sheet!cell).
fn findings(t: &Tables, file: &str) -> Vec<Found> {
    let mut v: Vec<Found> = t
        .findings
        .iter()
        .filter(|f| f.source_file == file)
        .map(|f| (f.rule.id().to_string(), f.severity.as_str().to_string(), f.location()))
        .collect();
    v.sort();
    v
}

fn expect(items: &[(&str, &str, &str)]) -> Vec<Found> {
    let mut v: Vec<Found> = items.iter().map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string())).collect();
    v.sort();
    v
}

/// The message of a file's (only) finding of a rule.
fn message(t: &Tables, file: &str, rule: &str) -> String {
    let m: Vec<&str> = t
        .findings
        .iter()
        .filter(|f| f.source_file == file && f.rule.id() == rule)
        .map(|f| f.message.as_str())
        .collect();
    assert_eq!(m.len(), 1, "{file}: {rule}: {m:?}");
    m[0].to_string()
}

fn status(t: &Tables, file: &str) -> Status {
    submission(t, file).status
}

/// The cell one row below a cell reference (`5. Income!B11` → `5. Income!C12` with `col`).
fn below(cell: &CellRef, col: &str) -> String {
    let row: u32 = cell.cell.trim_start_matches(|c: char| c.is_ascii_alphabetic()).parse().unwrap();
    format!("{}!{col}{}", cell.sheet, row + 1)
}

/// Two clean returns (Kent, Camden) beside which every bad file is run.
struct Base {
    world: World,
    clean: Vec<(String, String, ReturnSpec, Layout)>,
}

impl Base {
    fn new() -> Base {
        let mut world = World::new();
        let mut clean = Vec::new();
        for (i, name) in ["Kent", "Camden"].into_iter().enumerate() {
            let mut spec = ReturnSpec::typical(&f(), name, 100 + i as u64);
            let file = format!("clean/{name}.xlsx");
            let code = code_of(name, &f());
            let layout = world.add(&file, &code, &mut spec);
            clean.push((file, code, spec, layout));
        }
        Base { world, clean }
    }

    /// A typical 2023-25 return of an area, after `edit`; written and given allocations that
    /// match its minimum lines as edited.
    fn add(&mut self, file: &str, name: &str, edit: impl FnOnce(&mut ReturnSpec)) -> (ReturnSpec, Layout) {
        self.add_family(file, &f(), name, edit)
    }

    fn add_family(
        &mut self,
        file: &str,
        family: &Family,
        name: &str,
        edit: impl FnOnce(&mut ReturnSpec),
    ) -> (ReturnSpec, Layout) {
        let mut spec = ReturnSpec::typical(family, name, 7);
        edit(&mut spec);
        let layout = self.world.add(file, &code_of(name, family), &mut spec);
        (spec, layout)
    }

    /// Writes a return without giving its area allocations.
    fn write(&mut self, file: &str, spec: &ReturnSpec) -> Layout {
        spec.write(&self.world.path(file)).expect("write")
    }

    /// The clean returns are untouched, and the national totals are those of the clean returns
    /// plus `contributing` (area code, spec).
    fn check(&self, t: &Tables, contributing: &[(&str, &ReturnSpec)]) {
        for (file, _, spec, layout) in &self.clean {
            assert_clean(t, file, spec, layout);
        }
        let all = self.clean.iter().map(|c| (c.1.as_str(), &c.2)).chain(contributing.iter().copied());
        assert_eq!(national_of(t), expected_national(all));
    }
}

/// A rejected file has no lines in the outputs.
fn assert_no_lines(t: &Tables, file: &str) {
    assert!(lines_of(t, file).is_empty(), "{file} contributed lines");
    assert!(t.schemes.iter().all(|s| *s.source_file != *file), "{file} contributed schemes");
}

#[test]
fn template_unknown_title_of_no_family() {
    let mut b = Base::new();
    b.add("bad.xlsx", "Barnsley", |s| s.title = Some("Better Care Fund 2019-20 Planning Template".into()));
    let (_o, t) = b.world.run();
    assert_eq!(status(&t, "bad.xlsx"), Status::Rejected);
    assert_eq!(findings(&t, "bad.xlsx"), expect(&[("template-unknown", "error", "2. Cover!B2")]));
    assert!(message(&t, "bad.xlsx", "template-unknown").contains("Better Care Fund 2019-20 Planning Template"));
    assert_eq!(submission(&t, "bad.xlsx").template_id, None);
    assert_no_lines(&t, "bad.xlsx");
    b.check(&t, &[]);
}

#[test]
fn template_unknown_workbook_with_no_template_sheets() {
    let b = Base::new();
    bcf_fixtures::write_plain_sheet(&b.world.path("budget.xlsx"), "Budget").unwrap();
    let (_o, t) = b.world.run();
    assert_eq!(status(&t, "budget.xlsx"), Status::Rejected);
    assert_eq!(findings(&t, "budget.xlsx"), expect(&[("template-unknown", "error", "")]));
    assert!(message(&t, "budget.xlsx", "template-unknown").contains("'Sheet1'"));
    b.check(&t, &[]);
}

#[test]
fn field_missing_hwb_name() {
    let mut b = Base::new();
    let mut spec = ReturnSpec::typical(&f(), "Barnsley", 7);
    spec.hwb_name = String::new();
    b.write("bad.xlsx", &spec);
    let (_o, t) = b.world.run();
    assert_eq!(status(&t, "bad.xlsx"), Status::Rejected);
    let hwb = format!("{}!C7", f().cover().sheet);
    assert_eq!(findings(&t, "bad.xlsx"), expect(&[("field-missing", "error", &hwb)]));
    assert!(message(&t, "bad.xlsx", "field-missing").contains("Health and Wellbeing Board"));
    assert_no_lines(&t, "bad.xlsx");
    b.check(&t, &[]);
}

#[test]
fn field_missing_submission_date() {
    let mut b = Base::new();
    b.add("bad.xlsx", "Barnsley", |s| s.submission_date = DateCell::Blank);
    let (_o, t) = b.world.run();
    assert_eq!(status(&t, "bad.xlsx"), Status::Rejected);
    let date = date_cell();
    assert_eq!(findings(&t, "bad.xlsx"), expect(&[("field-missing", "error", &date)]));
    assert!(message(&t, "bad.xlsx", "field-missing").contains("Date of submission"));
    assert_no_lines(&t, "bad.xlsx");
    b.check(&t, &[]);
}

#[test]
fn field_missing_required_income_section_absent() {
    let mut b = Base::new();
    b.add("bad.xlsx", "Barnsley", |s| {
        s.sections.retain(|s| s.funding_source != "ibcf");
        s.rebuild_schemes();
    });
    let (_o, t) = b.world.run();
    assert_eq!(status(&t, "bad.xlsx"), Status::Rejected);
    assert_eq!(findings(&t, "bad.xlsx"), expect(&[("field-missing", "error", &income())]));
    assert!(message(&t, "bad.xlsx", "field-missing").contains("iBCF Contribution"));
    assert_no_lines(&t, "bad.xlsx");
    b.check(&t, &[]);
}

#[test]
fn field_missing_required_income_section_empty() {
    let mut b = Base::new();
    let (spec, layout) = b.add("bad.xlsx", "Barnsley", |s| {
        s.section_mut("ibcf").unwrap().lines.clear();
        s.rebuild_schemes();
    });
    let header =
        layout.headers[spec.sections.iter().position(|s| s.funding_source == "ibcf").unwrap()].clone().unwrap();
    let (_o, t) = b.world.run();
    assert_eq!(status(&t, "bad.xlsx"), Status::Rejected);
    assert_eq!(findings(&t, "bad.xlsx"), vec![("field-missing".into(), "error".into(), below(&header, "C"))]);
    assert!(message(&t, "bad.xlsx", "field-missing").contains("iBCF Contribution"));
    assert_no_lines(&t, "bad.xlsx");
    b.check(&t, &[]);
}

#[test]
fn date_invalid_text_that_is_not_a_date() {
    let mut b = Base::new();
    b.add("words.xlsx", "Barnsley", |s| s.submission_date = DateCell::Text("next week".into()));
    b.add("feb30.xlsx", "Leeds", |s| s.submission_date = DateCell::Text("30/02/2023".into()));
    b.add("typed.xlsx", "Sheffield", |s| s.submission_date = DateCell::Text("17/06/2023".into()));
    let (_o, t) = b.world.run();
    for (file, typed) in [("words.xlsx", "next week"), ("feb30.xlsx", "30/02/2023")] {
        assert_eq!(status(&t, file), Status::Rejected);
        assert_eq!(findings(&t, file), expect(&[("date-invalid", "error", &date_cell())]));
        assert!(message(&t, file, "date-invalid").contains(typed));
        assert_no_lines(&t, file);
    }
    // A date typed as dd/mm/yyyy text is a date.
    assert_eq!(status(&t, "typed.xlsx"), Status::Accepted);
    assert_eq!(submission(&t, "typed.xlsx").submission_date.map(|d| d.to_string()).as_deref(), Some("2023-06-17"));
    let typed = ReturnSpec::typical(&f(), "Sheffield", 7);
    b.check(&t, &[("E08000019", &typed)]);
}

#[test]
fn area_unknown() {
    let mut b = Base::new();
    let spec = ReturnSpec::typical(&f(), "Gotham", 7);
    b.write("bad.xlsx", &spec);
    let (_o, t) = b.world.run();
    assert_eq!(status(&t, "bad.xlsx"), Status::Rejected);
    assert_eq!(findings(&t, "bad.xlsx"), expect(&[("area-unknown", "error", &format!("{}!C7", f().cover().sheet))]));
    assert!(message(&t, "bad.xlsx", "area-unknown").contains("\"Gotham\""));
    assert_eq!(submission(&t, "bad.xlsx").area_code, None);
    assert_no_lines(&t, "bad.xlsx");
    b.check(&t, &[]);
}

#[test]
fn area_not_in_year_cumberland_in_2017_19() {
    let mut b = Base::new();
    let spec = ReturnSpec::typical(&family("bcf-planning-2017-19"), "Cumberland", 7);
    let layout = b.write("bad.xlsx", &spec);
    let (_o, t) = b.world.run();
    assert_eq!(status(&t, "bad.xlsx"), Status::Rejected);
    assert_eq!(
        findings(&t, "bad.xlsx"),
        expect(&[("area-not-in-year", "error", &layout.hwb_name.unwrap().to_string())])
    );
    let m = message(&t, "bad.xlsx", "area-not-in-year");
    assert!(m.contains("Cumberland") && m.contains("2023-24"), "{m}");
    assert_no_lines(&t, "bad.xlsx");
    b.check(&t, &[]);
}

/// Adds a line to a return's `la_additional` section and returns its index there.
fn push_la_line(spec: &mut ReturnSpec, amounts: Vec<Amount>) -> usize {
    let section = spec.section_mut("la_additional").unwrap();
    section.lines.push(Line::new("Barnsley Council (late entry)", amounts));
    section.lines.len() - 1
}

#[test]
fn amount_not_numeric() {
    let mut b = Base::new();
    let mut i = 0;
    let (spec, layout) = b.add("bad.xlsx", "Barnsley", |s| {
        i = push_la_line(s, vec![Amount::Text("TBC".into()), Amount::Blank]);
    });
    let cell = layout.line(&spec, "la_additional", i, 0);
    let (_o, t) = b.world.run();
    assert_eq!(status(&t, "bad.xlsx"), Status::Rejected);
    assert_eq!(findings(&t, "bad.xlsx"), vec![("amount-not-numeric".into(), "error".into(), cell.to_string())]);
    assert!(cell.to_string().starts_with(&format!("{}!C", income())));
    assert!(message(&t, "bad.xlsx", "amount-not-numeric").contains("\"TBC\""));
    assert_no_lines(&t, "bad.xlsx");
    b.check(&t, &[]);
}

/// The cached totals of the area's software include a bad amount the pipeline does not read,
/// so the section total and the pooled budget also disagree with the lines read.
fn with_total_warnings(spec: &ReturnSpec, layout: &Layout, first: Found) -> Vec<Found> {
    let mut v = vec![
        first,
        ("total-mismatch".into(), "warning".into(), layout.total(spec, "la_additional", 0).to_string()),
        ("total-mismatch".into(), "warning".into(), layout.grand_totals["Total BCF Pooled Budget"][0].to_string()),
    ];
    v.sort();
    v
}

#[test]
fn amount_negative() {
    let mut b = Base::new();
    let mut i = 0;
    let (spec, layout) = b.add("bad.xlsx", "Barnsley", |s| {
        i = push_la_line(s, vec![Amount::pounds(-1000), Amount::Blank]);
    });
    let cell = layout.line(&spec, "la_additional", i, 0).to_string();
    let (_o, t) = b.world.run();
    assert_eq!(status(&t, "bad.xlsx"), Status::Rejected);
    assert_eq!(
        findings(&t, "bad.xlsx"),
        with_total_warnings(&spec, &layout, ("amount-negative".into(), "error".into(), cell))
    );
    assert!(message(&t, "bad.xlsx", "amount-negative").contains("-£1,000.00"));
    assert_no_lines(&t, "bad.xlsx");
    b.check(&t, &[]);
}

#[test]
fn amount_out_of_range_above_one_billion() {
    let mut b = Base::new();
    let mut i = 0;
    let (spec, layout) = b.add("bad.xlsx", "Barnsley", |s| {
        i = push_la_line(s, vec![Amount::pence(100_000_000_001), Amount::Blank]);
    });
    let cell = layout.line(&spec, "la_additional", i, 0).to_string();
    // Exactly £1,000,000,000.00 is in range.
    let (edge, _) = b.add("edge.xlsx", "Leeds", |s| {
        s.section_mut("la_additional").unwrap().lines.clear();
        push_la_line(s, vec![Amount::pounds(1_000_000_000), Amount::Blank]);
        s.answer_questions();
        s.rebuild_schemes();
    });
    let (_o, t) = b.world.run();
    assert_eq!(status(&t, "bad.xlsx"), Status::Rejected);
    assert_eq!(
        findings(&t, "bad.xlsx"),
        with_total_warnings(&spec, &layout, ("amount-out-of-range".into(), "error".into(), cell))
    );
    assert!(message(&t, "bad.xlsx", "amount-out-of-range").contains("£1,000,000,000.01"));
    assert_no_lines(&t, "bad.xlsx");
    assert_eq!(findings(&t, "edge.xlsx"), vec![]);
    assert_eq!(status(&t, "edge.xlsx"), Status::Accepted);
    b.check(&t, &[("E08000035", &edge)]);
}

#[test]
fn formula_not_calculated_on_a_line_but_not_on_a_total() {
    let mut b = Base::new();
    let mut i = 0;
    let (spec, layout) = b.add("bad.xlsx", "Barnsley", |s| {
        i = push_la_line(s, vec![Amount::Formula { formula: "=1200000+34567".into(), cached: None }, Amount::Blank]);
    });
    let cell = layout.line(&spec, "la_additional", i, 0).to_string();
    // Totals are recomputed from lines, so an uncalculated total is no error.
    let (totals, totals_layout) = b.add("totals.xlsx", "Leeds", |s| {
        s.section_mut("dfg").unwrap().total = vec![Total::SumNotCalculated, Total::SumNotCalculated];
        s.bcf_total = vec![Total::SumNotCalculated];
    });
    let (_o, t) = b.world.run();
    assert_eq!(status(&t, "bad.xlsx"), Status::Rejected);
    assert_eq!(findings(&t, "bad.xlsx"), vec![("formula-not-calculated".into(), "error".into(), cell)]);
    assert!(message(&t, "bad.xlsx", "formula-not-calculated").contains("formula"));
    assert_no_lines(&t, "bad.xlsx");
    assert_clean(&t, "totals.xlsx", &totals, &totals_layout);
    b.check(&t, &[("E08000035", &totals)]);
}

#[test]
fn minimum_mismatch_beyond_one_pound_and_not_at_one_pound() {
    let mut b = Base::new();
    let (bad, bad_layout) = b.add("bad.xlsx", "Barnsley", |_| {});
    let (edge, edge_layout) = b.add("edge.xlsx", "Leeds", |_| {});
    for (code, extra) in [(code_of("Barnsley", &f()), 101), (code_of("Leeds", &f()), 100)] {
        let a = b.world.allocated.get_mut(&(code, FinancialYear(2023), "dfg".to_string())).unwrap();
        a.0 += extra;
    }
    let (_o, t) = b.world.run();
    let cell = bad_layout.total(&bad, "dfg", 0).to_string();
    assert_eq!(status(&t, "bad.xlsx"), Status::Rejected);
    assert_eq!(findings(&t, "bad.xlsx"), vec![("minimum-mismatch".into(), "error".into(), cell)]);
    let lines = bad.income_totals()[&("dfg".to_string(), FinancialYear(2023), Basis::Plan)];
    let m = message(&t, "bad.xlsx", "minimum-mismatch");
    assert!(m.contains(&lines.to_gbp()) && m.contains(&(lines + Pence(101)).to_gbp()), "{m}");
    let named = crate::support::reference().0.source_name("dfg");
    assert!(m.starts_with(&format!("the {named} lines for 2023-24 (plan)")), "the stream by its description: {m}");
    assert_no_lines(&t, "bad.xlsx");
    assert_clean(&t, "edge.xlsx", &edge, &edge_layout);
    b.check(&t, &[("E08000035", &edge)]);
}

#[test]
fn submission_conflict_same_area_same_latest_date() {
    let mut b = Base::new();
    b.add("one.xlsx", "Barnsley", |s| s.submission_date = DateCell::Date(2023, 6, 20));
    b.add("two.xlsx", "Barnsley", |s| {
        s.submission_date = DateCell::Date(2023, 6, 20);
        s.sections[0].lines[0].contributor.push_str(" (revised)");
    });
    let (_o, t) = b.world.run();
    for (file, other) in [("one.xlsx", "two.xlsx"), ("two.xlsx", "one.xlsx")] {
        assert_eq!(status(&t, file), Status::Rejected);
        assert_eq!(findings(&t, file), expect(&[("submission-conflict", "error", "")]));
        let m = message(&t, file, "submission-conflict");
        assert!(m.contains(other) && m.contains("2023-06-20"), "{m}");
        let template = crate::support::reference().0.template_name(f().id()).to_string();
        assert!(m.contains(&format!("another {template} return")), "the template by its description: {m}");
        assert_no_lines(&t, file);
    }
    b.check(&t, &[]);
}

#[test]
fn superseded_by_a_later_submission() {
    let mut b = Base::new();
    b.add("early.xlsx", "Barnsley", |s| {
        s.submission_date = DateCell::Date(2023, 5, 1);
        push_la_line(s, vec![Amount::pounds(5_000_000), Amount::pounds(5_000_000)]);
        s.answer_questions();
        s.rebuild_schemes();
    });
    let (late, late_layout) = b.add("late.xlsx", "Barnsley", |s| s.submission_date = DateCell::Date(2023, 6, 20));
    let (_o, t) = b.world.run();
    assert_eq!(status(&t, "early.xlsx"), Status::Superseded);
    assert_eq!(findings(&t, "early.xlsx"), vec![]);
    assert_no_lines(&t, "early.xlsx");
    assert_clean(&t, "late.xlsx", &late, &late_layout);
    b.check(&t, &[("E08000016", &late)]);
}

#[test]
fn rejected_latest_submission_is_not_replaced_by_an_earlier_one() {
    let mut b = Base::new();
    b.add("early.xlsx", "Barnsley", |s| s.submission_date = DateCell::Date(2023, 5, 1));
    b.add("late.xlsx", "Barnsley", |s| {
        s.submission_date = DateCell::Date(2023, 6, 20);
        push_la_line(s, vec![Amount::Text("TBC".into()), Amount::Blank]);
    });
    let (_o, t) = b.world.run();
    assert_eq!(status(&t, "late.xlsx"), Status::Rejected);
    assert_eq!(findings(&t, "late.xlsx").iter().map(|f| f.0.as_str()).collect::<Vec<_>>(), ["amount-not-numeric"]);
    assert_eq!(status(&t, "early.xlsx"), Status::Superseded);
    assert_no_lines(&t, "early.xlsx");
    assert_no_lines(&t, "late.xlsx");
    b.check(&t, &[]);
}

#[test]
fn duplicate_byte_identical_copy_keeps_the_bytewise_first_path() {
    let mut b = Base::new();
    let (spec, layout) = b.add("Z/Barnsley.xlsx", "Barnsley", |_| {});
    std::fs::copy(b.world.path("Z/Barnsley.xlsx"), b.world.path("a copy/Barnsley.xlsx")).unwrap();
    let (_o, t) = b.world.run();
    // 'Z' (0x5A) sorts before 'a' (0x61) bytewise, though not in a case-insensitive order.
    assert_clean(&t, "Z/Barnsley.xlsx", &spec, &layout);
    assert_eq!(status(&t, "a copy/Barnsley.xlsx"), Status::Duplicate);
    assert_eq!(findings(&t, "a copy/Barnsley.xlsx"), vec![]);
    assert_no_lines(&t, "a copy/Barnsley.xlsx");
    assert_eq!(submission(&t, "a copy/Barnsley.xlsx").sha256, submission(&t, "Z/Barnsley.xlsx").sha256);
    assert_eq!(
        submission(&t, "a copy/Barnsley.xlsx").status_reason.as_deref(),
        Some("byte-identical to Z/Barnsley.xlsx, which is processed instead")
    );
    assert_eq!(submission(&t, "Z/Barnsley.xlsx").status_reason, None);
    b.check(&t, &[("E08000016", &spec)]);
}

#[test]
fn skipped_text_lock_and_thumbnail_files() {
    let b = Base::new();
    std::fs::write(b.world.path("notes.txt"), "Kent resubmits next week\n").unwrap();
    std::fs::write(b.world.path("clean/~$Kent.xlsx"), b"\x0bJo Bloggs").unwrap();
    std::fs::write(b.world.path("Thumbs.db"), [0xD0, 0xCF, 0x11, 0xE0, 0, 0, 0, 0]).unwrap();
    let (_o, t) = b.world.run();
    for (file, why) in [
        ("notes.txt", "not a workbook (.txt)"),
        ("clean/~$Kent.xlsx", "an Office lock file"),
        ("Thumbs.db", "not a workbook (.db)"),
    ] {
        assert_eq!(status(&t, file), Status::Skipped, "{file}");
        let reason = submission(&t, file).status_reason.clone().unwrap_or_default();
        assert!(reason.starts_with(why), "{file}: {reason}");
        assert_eq!(findings(&t, file), vec![], "{file}");
        assert_eq!(submission(&t, file).template_id, None);
    }
    b.check(&t, &[]);
}

#[test]
fn total_mismatch_stale_or_typed_totals_warn_and_lines_are_used() {
    let mut b = Base::new();
    let (spec, layout) = b.add("stale.xlsx", "Barnsley", |s| {
        let t = s.income_totals();
        let get = |src: &str, year: i32| t[&(src.to_string(), FinancialYear(year), Basis::Plan)];
        let dfg = get("dfg", 2023);
        let nhs = get("nhs_minimum", 2024);
        let ibcf = get("ibcf", 2023);
        // A stale cached SUM; a number typed over a SUM; and one within the £1 tolerance.
        s.section_mut("dfg").unwrap().total = vec![Total::StaleSum(dfg + Pence(50_000))];
        s.section_mut("nhs_minimum").unwrap().total =
            vec![Total::Sum, Total::Typed(Amount::Number(Pence(nhs.0 - 200)))];
        s.section_mut("ibcf").unwrap().total = vec![Total::Typed(Amount::Number(ibcf + Pence(100)))];
    });
    let (_o, t) = b.world.run();
    assert_eq!(status(&t, "stale.xlsx"), Status::AcceptedWithWarnings);
    let w = |c: &CellRef| ("total-mismatch".to_string(), "warning".to_string(), c.to_string());
    let mut want = vec![
        w(&layout.total(&spec, "dfg", 0)),
        w(&layout.grand_totals["Total BCF Pooled Budget"][0]),
        w(&layout.total(&spec, "nhs_minimum", 1)),
        w(&layout.grand_totals["Total NHS Contribution"][1]),
        w(&layout.grand_totals["Total BCF Pooled Budget"][1]),
    ];
    want.sort();
    assert_eq!(findings(&t, "stale.xlsx"), want);
    let m: Vec<&str> = t
        .findings
        .iter()
        .filter(|f| f.cell.as_deref() == Some(layout.total(&spec, "dfg", 0).cell.as_str()))
        .map(|f| f.message.as_str())
        .collect();
    assert!(m[0].contains("lines are used"), "{m:?}");
    // The lines are used, exactly.
    assert_eq!(lines_of(&t, "stale.xlsx"), expected_lines(&spec, &layout));
    b.check(&t, &[("E08000016", &spec)]);
}

#[test]
fn additional_flag_inconsistent_yes_without_lines_and_no_with_lines() {
    let mut b = Base::new();
    let (yes, yes_layout) = b.add("yes.xlsx", "Barnsley", |s| {
        s.section_mut("la_additional").unwrap().lines.clear();
        s.rebuild_schemes();
        s.answers.insert("la_additional".into(), "Yes".into());
    });
    let (no, no_layout) = b.add("no.xlsx", "Leeds", |s| {
        let section = s.section_mut("nhs_additional").unwrap();
        section.lines.push(Line::new("NHS Leeds ICB", vec![Amount::pence(123_456_789), Amount::pence(98_765_432)]));
        s.rebuild_schemes();
        s.answer_questions();
        s.answers.insert("nhs_additional".into(), "No".into());
    });
    let (_o, t) = b.world.run();
    for (file, cell) in
        [("yes.xlsx", &yes_layout.questions["la_additional"]), ("no.xlsx", &no_layout.questions["nhs_additional"])]
    {
        assert_eq!(status(&t, file), Status::AcceptedWithWarnings);
        let cell = cell.to_string();
        assert!(cell.starts_with(&format!("{}!C", income())));
        assert_eq!(findings(&t, file), vec![("additional-flag-inconsistent".into(), "warning".into(), cell)]);
    }
    assert!(message(&t, "no.xlsx", "additional-flag-inconsistent").contains("amounts are used"));
    assert_eq!(lines_of(&t, "no.xlsx"), expected_lines(&no, &no_layout));
    b.check(&t, &[("E08000016", &yes), ("E08000035", &no)]);
}

#[test]
fn expenditure_income_mismatch_per_source() {
    let mut b = Base::new();
    let (spec, layout) = b.add("spend.xlsx", "Barnsley", |s| {
        let first = &mut s.schemes[0];
        let p = first.amounts[0].value().unwrap();
        first.amounts[0] = Amount::Number(p + Pence(500));
    });
    let source = f().expenditure().funding_source_values[&spec.schemes[0].source_of_funding].to_string();
    let (_o, t) = b.world.run();
    assert_eq!(status(&t, "spend.xlsx"), Status::AcceptedWithWarnings);
    let sheet = f().expenditure().sheet.clone();
    assert_eq!(findings(&t, "spend.xlsx"), expect(&[("expenditure-income-mismatch", "warning", &sheet)]));
    let m = message(&t, "spend.xlsx", "expenditure-income-mismatch");
    let named = crate::support::reference().0.source_name(&source);
    assert!(m.contains(&format!("funded by the {named} in 2023-24")), "the source by its description: {m}");
    assert_eq!(lines_of(&t, "spend.xlsx"), expected_lines(&spec, &layout));
    b.check(&t, &[("E08000016", &spec)]);
}

#[test]
fn allocation_missing_when_no_workbook_covers_the_year() {
    let mut b = Base::new();
    let spec = ReturnSpec::typical(&family("bcf-year-end-2020-21"), "Barnsley", 7);
    let layout = b.write("eoy.xlsx", &spec);
    let (_o, t) = b.world.run();
    assert_eq!(status(&t, "eoy.xlsx"), Status::AcceptedWithWarnings);
    assert_eq!(findings(&t, "eoy.xlsx"), expect(&[("allocation-missing", "warning", "")]));
    assert!(message(&t, "eoy.xlsx", "allocation-missing").contains("2020-21"));
    assert_eq!(lines_of(&t, "eoy.xlsx"), expected_lines(&spec, &layout));
    b.check(&t, &[("E08000016", &spec)]);
}

/// Every rule this file covers, so a new rule in the catalogue shows up here.
#[test]
fn every_rule_but_the_hostile_and_http_ones_has_a_test_here() {
    let source = include_str!("rules.rs");
    for rule in bcf::model::Rule::all() {
        let id = rule.id();
        if matches!(id, "download-failed" | "file-unreadable" | "file-too-large") {
            continue;
        }
        let test_name = format!("#[test]\nfn {}", id.replace('-', "_"));
        assert!(source.contains(&test_name), "no test named {test_name}…");
    }
}

/// The cover's submission date cell of the rules' family.
fn date_cell() -> String {
    let spec = ReturnSpec::typical(&f(), "Barnsley", 7);
    let dir = tempfile::tempdir().unwrap();
    spec.write(&dir.path().join("x.xlsx")).unwrap().submission_date.unwrap().to_string()
}

/// A sheet of thousands of identical faults gives the first few findings and one that counts
/// the rest, in `findings.parquet` and in the area's feedback file alike.
#[test]
fn a_flood_of_findings_is_bounded_per_rule_and_file() {
    let mut b = Base::new();
    b.add("flood.xlsx", "Barnsley", |s| {
        for _ in 0..3_000 {
            push_la_line(s, vec![Amount::pence(100_000_000_001), Amount::Blank]);
        }
    });
    let (out, t) = b.world.run();
    assert_eq!(status(&t, "flood.xlsx"), Status::Rejected);
    let flood: Vec<&bcf::tables::FindingRow> =
        t.findings.iter().filter(|f| f.source_file == "flood.xlsx" && f.rule.id() == "amount-out-of-range").collect();
    assert_eq!(flood.len(), bcf::model::MAX_PER_RULE + 1, "the first ones and one that counts the rest");
    let rest = flood.last().unwrap();
    let left_out = 3_000 - bcf::model::MAX_PER_RULE;
    assert!(rest.message.starts_with(&format!("{left_out} more findings of this kind")), "{}", rest.message);
    let csv = crate::support::read_csv(&crate::support::published(out.path()).join("feedback/E08000016.csv"));
    assert_eq!(csv.iter().filter(|r| r["rule"] == "amount-out-of-range").count(), bcf::model::MAX_PER_RULE + 1);
    assert_no_lines(&t, "flood.xlsx");
    b.check(&t, &[]);
}
