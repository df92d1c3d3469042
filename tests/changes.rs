//! What changed since the last publish (`changes.parquet`, the report's "Since the last run",
//! one line on standard error): a second run after adding, replacing and deleting returns
//! gives exactly those changes, with each national figure's move attributed to the areas that
//! moved it by the right amounts; a run with nothing changed gives none.

use crate::habits::kit::*;
use crate::support::{bcf, family, published, read_parquet};
use bcf::model::{Basis, FinancialYear, Pence};
use bcf::run::{run_all, RunConfig};
use bcf::tables::{ChangeKind, ChangeRow, NationalColumn, Tables};
use bcf_fixtures::{DateCell, Family, ReturnSpec};
use std::collections::BTreeMap;
use std::path::Path;

const Y2024: FinancialYear = FinancialYear(2024);

fn plan() -> Family {
    family("bcf-planning-2023-25")
}

fn year_end() -> Family {
    family("bcf-year-end-2024-25")
}

fn spec(family: &Family, name: &str, seed: u64, date: DateCell) -> ReturnSpec {
    let mut s = ReturnSpec::typical(family, name, seed);
    s.submission_date = date;
    s
}

/// A spec's voluntary pooling for 2024-25 plan (what an area adds to that national figure).
fn voluntary_2024(s: &ReturnSpec) -> Pence {
    let totals = s.income_totals();
    let voluntary =
        totals.iter().filter(|((src, y, b), _)| *y == Y2024 && *b == Basis::Plan && s.family.voluntary(src));
    Pence::sum(voluntary.map(|(_, p)| p))
}

fn run(input: &Path, out: &Path) -> Tables {
    run_all(&RunConfig::new(input, out)).expect("run completes")
}

fn of_kind(t: &Tables, kind: ChangeKind) -> Vec<&ChangeRow> {
    t.changes.as_deref().unwrap_or_default().iter().filter(|r| r.kind == kind).collect()
}

fn files_of(t: &Tables, kind: ChangeKind) -> Vec<String> {
    of_kind(t, kind).iter().filter_map(|r| r.source_file.clone()).collect()
}

#[test]
fn a_second_run_says_what_was_added_replaced_and_deleted_and_who_moved_each_figure() {
    let mut world = World::new();
    let date = DateCell::Date(2023, 6, 20);
    let mut kent = spec(&plan(), "Kent", 1, date.clone());
    let mut camden = spec(&plan(), "Camden", 2, date.clone());
    let mut barnsley = spec(&plan(), "Barnsley", 3, date.clone());
    let mut leeds = spec(&plan(), "Leeds", 4, date.clone());
    world.add("Kent.xlsx", &code_of("Kent", &plan()), &mut kent);
    world.add("Camden.xlsx", &code_of("Camden", &plan()), &mut camden);
    world.add("Barnsley.xlsx", &code_of("Barnsley", &plan()), &mut barnsley);
    world.add("Leeds.xlsx", &code_of("Leeds", &plan()), &mut leeds);
    // Wakefield arrives later; its allocations are published from the start.
    let mut wakefield = spec(&plan(), "Wakefield", 6, date);
    wakefield.restate_allocations(&code_of("Wakefield", &plan()), &world.allocated);
    world.allocate(&code_of("Wakefield", &plan()), &wakefield);
    world.allocations().write(&world.path("allocations/allocations.xlsx")).unwrap();

    let out = tempfile::tempdir().unwrap();
    let first = run(world.dir.path(), out.path());
    assert_eq!(first.changes, None, "the first publish has nothing to compare with");

    let mut kent_ye = spec(&year_end(), "Kent", 7, DateCell::Date(2025, 5, 1));
    world.add("Kent year-end.xlsx", &code_of("Kent", &plan()), &mut kent_ye);
    let mut camden2 = spec(&plan(), "Camden", 5, DateCell::Date(2023, 7, 1));
    world.add("Camden.xlsx", &code_of("Camden", &plan()), &mut camden2);
    std::fs::remove_file(world.path("Barnsley.xlsx")).unwrap();
    world.add("Wakefield.xlsx", &code_of("Wakefield", &plan()), &mut wakefield);
    let second = run(world.dir.path(), out.path());

    assert_eq!(files_of(&second, ChangeKind::FileNew), ["Kent year-end.xlsx", "Wakefield.xlsx"]);
    assert_eq!(files_of(&second, ChangeKind::FileResubmitted), ["Camden.xlsx"]);
    assert_eq!(files_of(&second, ChangeKind::FileWithdrawn), ["Barnsley.xlsx"]);
    assert!(
        files_of(&second, ChangeKind::FileStatusChanged).is_empty()
            && files_of(&second, ChangeKind::FileSuperseded).is_empty()
    );
    let areas = |kind| -> Vec<(String, String)> {
        let rows = of_kind(&second, kind);
        rows.iter()
            .map(|r| (r.area_name.clone().unwrap(), format!("{} {}", r.financial_year.unwrap(), r.basis.unwrap())))
            .collect()
    };
    assert_eq!(
        areas(ChangeKind::AreaDropped),
        [("Barnsley".into(), "2023-24 plan".into()), ("Barnsley".into(), "2024-25 plan".into())]
    );
    let included = areas(ChangeKind::AreaIncluded);
    assert!(included.contains(&("Wakefield".into(), "2024-25 plan".into())), "{included:?}");
    assert!(included.contains(&("Kent".into(), "2024-25 actual".into())), "the year-end's actuals: {included:?}");
    assert!(!included.iter().any(|(a, _)| a == "Camden" || a == "Leeds"), "{included:?}");

    // Every national move equals the difference of the two publishes, its parts sum to it, and
    // each part is what the returns say.
    for total in of_kind(&second, ChangeKind::TotalChanged) {
        let (y, b, c) = (total.financial_year.unwrap(), total.basis.unwrap(), total.measure.unwrap());
        let national = |t: &Tables| t.national_row(y, b).map(|r| c.of(r)).unwrap_or_default();
        assert_eq!(total.change(), Some(national(&second) - national(&first)), "{}", total.description);
        let parts = of_kind(&second, ChangeKind::AreaContribution);
        let parts = parts.iter().filter(|p| (p.financial_year, p.basis, p.measure) == (Some(y), Some(b), Some(c)));
        assert_eq!(Pence::sum(&parts.filter_map(|p| p.change()).collect::<Vec<_>>()), total.change().unwrap());
    }
    let part = |name: &str| -> (Pence, String) {
        let rows = of_kind(&second, ChangeKind::AreaContribution);
        let r = rows
            .iter()
            .find(|r| {
                r.area_name.as_deref() == Some(name)
                    && (r.financial_year, r.basis, r.measure)
                        == (Some(Y2024), Some(Basis::Plan), Some(NationalColumn::VoluntaryAboveMinimum))
            })
            .unwrap_or_else(|| panic!("{name} moved 2024-25 plan voluntary"));
        (r.change().unwrap(), r.reason.clone().unwrap())
    };
    assert_eq!(
        part("Kent"),
        (voluntary_2024(&kent_ye) - voluntary_2024(&kent), "bcf-year-end-2024-25 supplied".into())
    );
    assert_eq!(part("Camden"), (voluntary_2024(&camden2) - voluntary_2024(&camden), "resubmitted".into()));
    assert_eq!(part("Barnsley"), (Pence(0) - voluntary_2024(&barnsley), "dropped out".into()));
    assert_eq!(part("Wakefield"), (voluntary_2024(&wakefield), "now included".into()));
    let rows = of_kind(&second, ChangeKind::AreaContribution);
    assert!(!rows.iter().any(|r| r.area_name.as_deref() == Some("Leeds")), "Leeds did not move");
    let headline = of_kind(&second, ChangeKind::TotalChanged)
        .into_iter()
        .find(|r| {
            (r.financial_year, r.basis, r.measure)
                == (Some(Y2024), Some(Basis::Plan), Some(NationalColumn::VoluntaryAboveMinimum))
        })
        .unwrap();
    assert!(headline.description.starts_with("2024-25 plan voluntary above minimum "), "{}", headline.description);
    let named: Vec<&str> = ["Kent", "Camden", "Barnsley", "Wakefield"]
        .into_iter()
        .filter(|a| headline.description.contains(&format!("{a} ")))
        .collect();
    assert_eq!(named.len(), 3, "the three largest movers are named: {}", headline.description);
    assert!(headline.description.ends_with("and 1 more area"), "{}", headline.description);

    // Each area's figures sum to the national totals.
    for r in &second.national {
        for c in NationalColumn::ALL {
            let areas =
                second.area_totals.iter().filter(|a| (a.financial_year, a.basis) == (r.financial_year, r.basis));
            assert_eq!(
                Pence::sum(&areas.map(|a| a.of(c)).collect::<Vec<_>>()),
                c.of(r),
                "{} {} {c:?}",
                r.financial_year,
                r.basis
            );
        }
    }

    // The published file holds the same rows, exact; the reports lead with them.
    let dir = published(out.path());
    let parquet = read_parquet(&dir.join("changes.parquet"));
    assert_eq!(parquet.len(), second.changes.as_ref().unwrap().len());
    let money: BTreeMap<String, String> = parquet
        .iter()
        .filter(|r| {
            r["kind"] == "total_changed"
                && r["measure"] == "voluntary_above_minimum_gbp"
                && r["financial_year"] == "2024-25"
                && r["basis"] == "plan"
        })
        .map(|r| (r["kind"].clone(), r["change_gbp"].clone()))
        .collect();
    assert_eq!(money["total_changed"], headline.change().unwrap().to_string());
    for report in ["report.html", "report.md"] {
        let text = std::fs::read_to_string(dir.join(report)).unwrap();
        let since = text.find("Since the last run").unwrap_or_else(|| panic!("{report} has the section"));
        let totals = text.find("National totals").unwrap();
        assert!(
            since < text[totals + 20..].find("National totals").map_or(usize::MAX, |i| i + totals + 20),
            "{report}"
        );
        assert!(text.contains("Barnsley.xlsx"), "{report} names the withdrawn file");
    }
}

#[test]
fn a_run_with_nothing_changed_reports_no_changes() {
    let input = crate::support::samples_copy(|_| true);
    let out = tempfile::tempdir().unwrap();
    let (i, o) = (input.path().to_str().unwrap(), out.path().to_str().unwrap());
    let first = bcf(&["run", "--input", i, "--out", o]);
    assert!(String::from_utf8_lossy(&first.stderr).contains("nothing to compare with"));
    let html = std::fs::read_to_string(published(out.path()).join("report.html")).unwrap();
    assert!(html.contains("Nothing to compare with"), "the first report says so");
    let again = bcf(&["run", "--input", i, "--out", o]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("since the last publish: no changes"));
    // Publishing the same validation again (stages rerun) compares and finds nothing.
    assert!(bcf(&["normalise", "--out", o]).status.success());
    let agg = bcf(&["aggregate", "--out", o]);
    assert!(agg.status.success(), "{}", String::from_utf8_lossy(&agg.stderr));
    assert!(String::from_utf8_lossy(&agg.stderr).contains("since the last publish: no changes"));
    assert!(read_parquet(&published(out.path()).join("changes.parquet")).is_empty());
    let html = std::fs::read_to_string(published(out.path()).join("report.html")).unwrap();
    assert!(html.contains("No changes since the last publish"), "the report says so");
}
