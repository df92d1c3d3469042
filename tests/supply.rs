//! Catalogue §6.1: templates that cover the same year. Per area, year and basis exactly one
//! accepted submission supplies the figures (the latest submission date; on a tie the template
//! later in §2), `coverage.parquet` says which and what it replaced, and `bcf explain` says why.

use crate::habits::kit::*;
use crate::support::{bcf_bin, family, submission};
use bcf::model::{Basis, FinancialYear, Status};
use bcf::tables::{CoverageRow, Tables};
use bcf::validate::submissions::CoverStatus;
use bcf_fixtures::{Amount, DateCell, Family, Line, ReturnSpec};
use std::process::Command;

fn plan() -> Family {
    family("bcf-planning-2023-25")
}

fn year_end() -> Family {
    family("bcf-year-end-2024-25")
}

const Y2024: FinancialYear = FinancialYear(2024);

/// A typical return of `family` for an area, submitted on `date`, with its own seed (so its
/// planned voluntary figures differ from another family's for the same year).
fn add(world: &mut World, file: &str, family: &Family, name: &str, date: DateCell, seed: u64) -> ReturnSpec {
    let mut spec = ReturnSpec::typical(family, name, seed);
    spec.submission_date = date;
    world.add(file, &code_of(name, family), &mut spec);
    spec
}

fn cover<'a>(t: &'a Tables, name: &str, year: FinancialYear, basis: Basis) -> &'a CoverageRow {
    let code = code_of(name, &plan());
    t.coverage
        .iter()
        .find(|c| c.area_code == code && c.financial_year == year && c.basis == basis)
        .unwrap_or_else(|| panic!("a coverage row for {name} {year} {basis}"))
}

/// The 2024-25 planned figures a spec gives, by funding source.
fn planned_2024(spec: &ReturnSpec) -> Vec<(String, bcf::model::Pence)> {
    let mut v: Vec<_> = spec
        .income_totals()
        .into_iter()
        .filter(|((_, y, b), _)| *y == Y2024 && *b == Basis::Plan)
        .map(|((s, _, _), p)| (s, p))
        .collect();
    v.sort();
    v
}

fn explain(out: &std::path::Path, name: &str, year: &str) -> String {
    let code = code_of(name, &plan());
    let o = Command::new(bcf_bin())
        .args(["explain", "--out"])
        .arg(out)
        .args(["--area", &code, "--year", year])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Barnsley's year-end comes after its plan, Leeds' before it: each area's 2024-25 plan is
/// counted once, from its later submission, and the national totals are what summing each
/// area's supplying submission gives.
#[test]
fn a_plan_and_a_year_end_for_the_same_year_count_once_and_the_later_wins() {
    let mut world = World::new();
    let b_plan = add(&mut world, "plans/Barnsley.xlsx", &plan(), "Barnsley", DateCell::Date(2023, 6, 20), 11);
    let b_ye = add(&mut world, "year-end/Barnsley.xlsx", &year_end(), "Barnsley", DateCell::Date(2025, 5, 1), 12);
    let l_plan = add(&mut world, "plans/Leeds.xlsx", &plan(), "Leeds", DateCell::Date(2023, 6, 20), 13);
    let l_ye = add(&mut world, "year-end/Leeds.xlsx", &year_end(), "Leeds", DateCell::Date(2023, 5, 1), 14);
    assert_ne!(planned_2024(&b_plan), planned_2024(&b_ye), "the two templates plan 2024-25 differently");
    assert_ne!(planned_2024(&l_plan), planned_2024(&l_ye));
    let (out, t) = world.run();
    for file in ["plans/Barnsley.xlsx", "year-end/Barnsley.xlsx", "plans/Leeds.xlsx", "year-end/Leeds.xlsx"] {
        assert_eq!(submission(&t, file).status, Status::Accepted, "{file}: overlapping is not an error");
    }
    let (b_code, l_code) = (code_of("Barnsley", &plan()), code_of("Leeds", &plan()));
    let all =
        [(b_code.as_str(), &b_plan), (b_code.as_str(), &b_ye), (l_code.as_str(), &l_plan), (l_code.as_str(), &l_ye)];
    assert_eq!(national_of(&t), expected_national(all), "each area's figures from its supplying submission");

    let b = cover(&t, "Barnsley", Y2024, Basis::Plan);
    assert_eq!((b.status, b.source_file.as_deref()), (CoverStatus::Included, Some("year-end/Barnsley.xlsx")));
    assert_eq!(b.replaced_files, ["plans/Barnsley.xlsx"]);
    let l = cover(&t, "Leeds", Y2024, Basis::Plan);
    assert_eq!((l.status, l.source_file.as_deref()), (CoverStatus::Included, Some("plans/Leeds.xlsx")));
    assert_eq!(l.replaced_files, ["year-end/Leeds.xlsx"]);
    let l_actual = cover(&t, "Leeds", Y2024, Basis::Actual);
    assert_eq!(
        l_actual.source_file.as_deref(),
        Some("year-end/Leeds.xlsx"),
        "the earlier year-end still supplies actuals"
    );
    assert_eq!(
        cover(&t, "Barnsley", FinancialYear(2023), Basis::Plan).source_file.as_deref(),
        Some("plans/Barnsley.xlsx")
    );

    // lines hold exactly the figures that count: none of an overlapped submission's.
    let from = |file: &str| {
        t.lines
            .iter()
            .filter(|l| *l.source_file == *file && l.financial_year == Y2024 && l.basis == Basis::Plan)
            .count()
    };
    assert_eq!(from("plans/Barnsley.xlsx"), 0);
    assert_eq!(from("year-end/Leeds.xlsx"), 0);
    assert!(from("year-end/Barnsley.xlsx") > 0 && from("plans/Leeds.xlsx") > 0);

    let why = explain(out.path(), "Barnsley", "2024-25");
    assert!(
        why.contains("2024-25 plan: supplied by year-end/Barnsley.xlsx (bcf-year-end-2024-25, submitted 2025-05-01)"),
        "{why}"
    );
    assert!(why.contains("why: the latest accepted submission covering it"), "{why}");
    assert!(
        why.contains("not used: plans/Barnsley.xlsx (overlapped: another submission supplies this year and basis); decided by date: the supplier was submitted 2025-05-01, this 2023-06-20"),
        "{why}"
    );
    let why = explain(out.path(), "Leeds", "2024-25");
    assert!(why.contains("2024-25 plan: supplied by plans/Leeds.xlsx"), "{why}");
    assert!(
        why.contains("not used: year-end/Leeds.xlsx (overlapped: another submission supplies this year and basis); decided by date: the supplier was submitted 2023-06-20, this 2023-05-01"),
        "{why}"
    );
}

/// A plan and a year-end submitted the same day: the template later in the catalogue supplies
/// the year, and `bcf explain` says that the catalogue, not the date, decided.
#[test]
fn on_the_same_date_the_template_later_in_the_catalogue_supplies_and_explain_says_so() {
    let mut world = World::new();
    add(&mut world, "plans/Barnsley.xlsx", &plan(), "Barnsley", DateCell::Date(2025, 5, 1), 11);
    add(&mut world, "year-end/Barnsley.xlsx", &year_end(), "Barnsley", DateCell::Date(2025, 5, 1), 12);
    let (out, t) = world.run();
    let b = cover(&t, "Barnsley", Y2024, Basis::Plan);
    assert_eq!(b.source_file.as_deref(), Some("year-end/Barnsley.xlsx"));
    let why = explain(out.path(), "Barnsley", "2024-25");
    assert!(
        why.contains(&format!(
            "not used: plans/Barnsley.xlsx (overlapped: another submission supplies this year and basis); decided by the catalogue: both submitted 2025-05-01, and {} comes after {} in the catalogue",
            year_end().id(),
            plan().id()
        )),
        "{why}"
    );
}

/// A later year-end that is rejected supplies nothing: the plan's 2024-25 figures stand, and
/// the year's actuals are `rejected` in the register.
#[test]
fn a_rejected_year_end_leaves_the_plan_standing() {
    let mut world = World::new();
    let b_plan = add(&mut world, "plans/Barnsley.xlsx", &plan(), "Barnsley", DateCell::Date(2023, 6, 20), 11);
    let mut bad = ReturnSpec::typical(&year_end(), "Barnsley", 12);
    bad.submission_date = DateCell::Date(2025, 5, 1);
    let columns = year_end().columns().len();
    let mut amounts = vec![Amount::Blank; columns];
    amounts[0] = Amount::Text("TBC".into());
    bad.section_mut("la_additional").unwrap().lines.push(Line::new("Barnsley Council (late entry)", amounts));
    world.add("year-end/Barnsley.xlsx", &code_of("Barnsley", &plan()), &mut bad);
    let (out, t) = world.run();
    assert_eq!(submission(&t, "year-end/Barnsley.xlsx").status, Status::Rejected);
    let b_code = code_of("Barnsley", &plan());
    assert_eq!(national_of(&t), expected_national([(b_code.as_str(), &b_plan)]));
    let plan_2024 = cover(&t, "Barnsley", Y2024, Basis::Plan);
    assert_eq!(
        (plan_2024.status, plan_2024.source_file.as_deref()),
        (CoverStatus::Included, Some("plans/Barnsley.xlsx"))
    );
    assert!(plan_2024.replaced_files.is_empty(), "a rejected file replaces nothing");
    let actual = cover(&t, "Barnsley", Y2024, Basis::Actual);
    assert_eq!((actual.status, actual.source_file.as_deref()), (CoverStatus::Rejected, Some("year-end/Barnsley.xlsx")));
    let why = explain(out.path(), "Barnsley", "2024-25");
    assert!(why.contains("2024-25 actual: nothing counts: year-end/Barnsley.xlsx"), "{why}");
    assert!(why.contains("amount-not-numeric"), "{why}");
}
