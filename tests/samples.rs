//! The bundled samples give exactly the results in `fixtures/expected/`, read back from Parquet.

use crate::support::{fixtures, read_csv, read_parquet, run_on, tree_bytes};
use std::collections::BTreeMap;

#[test]
fn submissions_match_expected() {
    let (out, _) = run_on(&fixtures().join("samples"));
    let got: Vec<BTreeMap<String, String>> = read_parquet(&out.path().join("submissions.parquet"));
    let expected = read_csv(&fixtures().join("expected/submissions.csv"));
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
    let mut partitions = 0;
    for entry in std::fs::read_dir(out.path().join("lines")).unwrap() {
        let dir = entry.unwrap().path();
        let year = dir
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .strip_prefix("financial_year=")
            .expect("hive folder")
            .to_string();
        partitions += 1;
        for row in read_parquet(&dir.join("part-0.parquet")) {
            assert!(!row.contains_key("financial_year"), "partition column is left out of the file");
            let pence: i128 = row["amount_gbp"].replace('.', "").parse().unwrap();
            *sums.entry((year.clone(), row["basis"].clone(), row["funding_source"].clone())).or_default() += pence;
        }
    }
    assert_eq!(partitions, 6, "one partition per financial year");
    let expected = read_csv(&fixtures().join("expected/lines_by_source.csv"));
    let got: Vec<(String, String, String, String)> =
        sums.into_iter().map(|((y, b, s), p)| (y, b, s, bcf::model::Pence(p).to_string())).collect();
    let want: Vec<(String, String, String, String)> = expected
        .iter()
        .map(|r| {
            (r["financial_year"].clone(), r["basis"].clone(), r["funding_source"].clone(), r["amount_gbp"].clone())
        })
        .collect();
    assert_eq!(got, want);
}

#[test]
fn national_totals_match_expected() {
    let (out, _) = run_on(&fixtures().join("samples"));
    let mut got = read_parquet(&out.path().join("national_totals.parquet"));
    got.sort_by(|a, b| (&a["financial_year"], &a["basis"]).cmp(&(&b["financial_year"], &b["basis"])));
    let expected = read_csv(&fixtures().join("expected/national_totals.csv"));
    assert_eq!(got.len(), expected.len());
    for (g, e) in got.iter().zip(&expected) {
        for (col, want) in e {
            assert_eq!(&g[col], want, "{col} for {} {}", e["financial_year"], e["basis"]);
        }
        assert_eq!(g["baseline_year"], "2015-16");
    }
}

#[test]
fn another_baseline_year_changes_only_the_ratio() {
    let out = tempfile::tempdir().unwrap();
    let mut cfg = bcf::run::RunConfig::new(fixtures().join("samples"), out.path());
    cfg.baseline_year = "2020-21".into();
    let t = bcf::run::run(&cfg).unwrap();
    let row = |y: &str, b: &str| t.national.iter().find(|r| r.financial_year == y && r.basis == b).unwrap().clone();
    assert_eq!(row("2020-21", "plan").voluntary_vs_baseline_ratio, Some(1.0));
    assert_eq!(row("2020-21", "plan").baseline_year, "2020-21");
    let r = row("2015-16", "plan").voluntary_vs_baseline_ratio.unwrap();
    assert!((r - 8641681218.0 / 17829315366.0).abs() < 1e-12);
    // A baseline year with no returns leaves the ratio null.
    cfg.baseline_year = "2010-11".into();
    let t = bcf::run::run(&cfg).unwrap();
    assert!(t.national.iter().all(|r| r.voluntary_vs_baseline_ratio.is_none()));
}

#[test]
fn same_inputs_give_byte_identical_outputs() {
    let (a, _) = run_on(&fixtures().join("samples"));
    let (b, _) = run_on(&fixtures().join("samples"));
    let (ta, tb) = (tree_bytes(a.path()), tree_bytes(b.path()));
    let parquet: Vec<&String> = ta.keys().filter(|k| k.ends_with(".parquet")).collect();
    assert_eq!(parquet.len(), 3 + 6 + 6, "three tables and six partitions of lines and of schemes: {parquet:?}");
    for k in parquet {
        assert!(ta[k] == tb[k], "{k} differs between two runs");
    }
}

#[test]
fn report_lists_totals_and_every_file() {
    let (out, t) = run_on(&fixtures().join("samples"));
    let report = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    assert!(report.contains("£222,581,396.18"), "2015-16 total pooled in the report");
    for s in &t.submissions {
        assert!(report.contains(&s.source_file), "{} in the report", s.source_file);
    }
}
