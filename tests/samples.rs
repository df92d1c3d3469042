//! The bundled samples (every family, with plans and year-end returns that overlap) give
//! exactly the results in `fixtures/expected/`, read back from Parquet. The expected CSVs may
//! list their rows in any order: both sides are sorted by their keys before comparing.

use crate::support::{fixtures, published, read_csv, read_parquet, run_on, tree_bytes};
use std::collections::{BTreeMap, BTreeSet};

#[test]
fn submissions_match_expected() {
    let (out, _) = run_on(&fixtures().join("samples"));
    let by_file =
        |rows: &mut Vec<BTreeMap<String, String>>| rows.sort_by(|a, b| a["source_file"].cmp(&b["source_file"]));
    let mut got: Vec<BTreeMap<String, String>> = read_parquet(&published(out.path()).join("submissions.parquet"));
    let mut expected = read_csv(&fixtures().join("expected/submissions.csv"));
    by_file(&mut got);
    by_file(&mut expected);
    assert_eq!(got.len(), expected.len(), "one row per input file");
    for (g, e) in got.iter().zip(&expected) {
        for col in ["source_file", "template_id", "area_code", "status"] {
            assert_eq!(g[col], e[col], "{col} of {}", e["source_file"]);
        }
        assert_eq!(g["sha256"].len(), 64);
        assert_eq!(g["error_count"], "0");
        assert_eq!(g["warning_count"], "0");
    }
}

#[test]
fn lines_by_source_match_expected() {
    let (out, _) = run_on(&fixtures().join("samples"));
    let mut sums: BTreeMap<(String, String, String), i128> = BTreeMap::new();
    let mut partitions = BTreeSet::new();
    for entry in std::fs::read_dir(published(out.path()).join("lines")).unwrap() {
        let dir = entry.unwrap().path();
        let name = dir.file_name().unwrap().to_str().unwrap().to_string();
        let year = name.strip_prefix("financial_year=").expect("hive folder").to_string();
        partitions.insert(year.clone());
        for row in read_parquet(&dir.join("part-0.parquet")) {
            assert!(!row.contains_key("financial_year"), "partition column is left out of the file");
            let pence: i128 = row["amount_gbp"].replace('.', "").parse().unwrap();
            *sums.entry((year.clone(), row["basis"].clone(), row["funding_source"].clone())).or_default() += pence;
        }
    }
    let expected = read_csv(&fixtures().join("expected/lines_by_source.csv"));
    let years: BTreeSet<String> = expected.iter().map(|r| r["financial_year"].clone()).collect();
    assert_eq!(partitions, years, "one partition per financial year");
    let got: Vec<(String, String, String, String)> =
        sums.into_iter().map(|((y, b, s), p)| (y, b, s, bcf::model::Pence(p).to_string())).collect();
    let mut want: Vec<(String, String, String, String)> = expected
        .iter()
        .map(|r| {
            (r["financial_year"].clone(), r["basis"].clone(), r["funding_source"].clone(), r["amount_gbp"].clone())
        })
        .collect();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn national_totals_match_expected() {
    let (out, _) = run_on(&fixtures().join("samples"));
    let by_period = |rows: &mut Vec<BTreeMap<String, String>>| {
        rows.sort_by(|a, b| (&a["financial_year"], &a["basis"]).cmp(&(&b["financial_year"], &b["basis"])))
    };
    let mut got = read_parquet(&published(out.path()).join("national_totals.parquet"));
    let mut expected = read_csv(&fixtures().join("expected/national_totals.csv"));
    by_period(&mut got);
    by_period(&mut expected);
    assert_eq!(got.len(), expected.len());
    for (g, e) in got.iter().zip(&expected) {
        for (col, want) in e {
            assert_eq!(&g[col], want, "{col} for {} {}", e["financial_year"], e["basis"]);
        }
        assert_eq!(g["baseline_year"], "2015-16");
    }
}

#[test]
fn a_year_two_templates_cover_is_counted_once_from_the_later_submission() {
    let (out, t) = run_on(&fixtures().join("samples"));
    let coverage = read_parquet(&published(out.path()).join("coverage.parquet"));
    let kent = coverage
        .iter()
        .find(|r| r["area_code"] == "E10000016" && r["financial_year"] == "2024-25" && r["basis"] == "plan")
        .unwrap();
    assert_eq!(kent["status"], "included");
    assert_eq!(kent["template_id"], "bcf-year-end-2024-25", "the year-end return is the later submission");
    assert_eq!(kent["replaced_files"], "2023-25/BCF 2023-25 - Kent.xlsx");
    let plan_files: BTreeSet<&str> = t
        .lines
        .iter()
        .filter(|l| l.financial_year.to_string() == "2024-25" && l.basis == bcf::model::Basis::Plan)
        .map(|l| &*l.source_file)
        .collect();
    assert!(
        plan_files.iter().all(|f| f.starts_with("2024-25/")),
        "no 2023-25 plan line counts for 2024-25: {plan_files:?}"
    );
    // Every (area, year, basis) counts once: coverage rows are unique and agree with the totals.
    let mut seen = BTreeSet::new();
    for r in &coverage {
        assert!(seen.insert((r["area_code"].clone(), r["financial_year"].clone(), r["basis"].clone())), "{r:?}");
    }
    for n in &t.national {
        let included = t.coverage.iter().filter(|c| c.financial_year == n.financial_year && c.basis == n.basis);
        let included = included.filter(|c| c.status == bcf::validate::submissions::CoverStatus::Included).count();
        assert_eq!(included as i32, n.areas_included, "{} {}", n.financial_year, n.basis);
    }
}

#[test]
fn another_baseline_year_changes_only_the_ratio() {
    let out = tempfile::tempdir().unwrap();
    let mut cfg = bcf::run::RunConfig::new(fixtures().join("samples"), out.path());
    cfg.baseline = bcf::model::FinancialYear(2020);
    let t = bcf::run::run_all(&cfg).unwrap();
    let row = |y: i32, b| t.national_row(bcf::model::FinancialYear(y), b).unwrap().clone();
    let plan = bcf::model::Basis::Plan;
    assert_eq!(row(2020, plan).voluntary_vs_baseline_ratio, Some(1.0));
    assert_eq!(row(2020, plan).baseline_year.to_string(), "2020-21");
    let r = row(2015, plan).voluntary_vs_baseline_ratio.unwrap();
    assert!((r - 8641681218.0 / 17829315366.0).abs() < 1e-12);
    // A baseline year with no returns leaves the ratio null.
    cfg.baseline = bcf::model::FinancialYear(2010);
    let t = bcf::run::run_all(&cfg).unwrap();
    assert!(t.national.iter().all(|r| r.voluntary_vs_baseline_ratio.is_none()));
}

#[test]
fn same_inputs_give_byte_identical_outputs() {
    let (a, t) = run_on(&fixtures().join("samples"));
    let (b, _) = run_on(&fixtures().join("samples"));
    let (ta, tb) = (tree_bytes(&published(a.path())), tree_bytes(&published(b.path())));
    let parquet: Vec<&String> = ta.keys().filter(|k| k.ends_with(".parquet")).collect();
    let partitions = t.line_years().len() + t.scheme_years().len();
    let whole = bcf::tables::described().iter().filter(|d| d.partition.is_none()).count();
    assert_eq!(
        parquet.len(),
        whole + partitions,
        "each table, and a partition of lines and schemes per year: {parquet:?}"
    );
    assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
    for (k, bytes) in &ta {
        assert!(*bytes == tb[k], "{k} differs between two runs");
    }
}

/// The national report counts the files without findings; each area's page lists its files.
#[test]
fn report_has_the_totals_and_every_file_is_on_its_areas_page() {
    let (out, t) = run_on(&fixtures().join("samples"));
    let dir = published(out.path());
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(report.contains("£222,581,396.18"), "2015-16 total pooled in the report");
    let accepted = t.submissions.iter().filter(|s| s.status == bcf::model::Status::Accepted).count();
    assert!(report.contains(&format!("Files without findings: {accepted} accepted")), "{report}");
    for s in &t.submissions {
        let Some(code) = &s.area_code else { continue };
        let page = std::fs::read_to_string(dir.join(format!("areas/{code}.html"))).unwrap();
        let escaped = s.source_file.replace('&', "&amp;").replace('\'', "&#39;");
        assert!(page.contains(&escaped), "{} on its area's page", s.source_file);
    }
}
