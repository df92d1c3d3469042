//! What analysts read: the HTML report, feedback files, explain, the data package and JSON logs.

use crate::support::{bcf_bin, fixtures, published, read_parquet, run_on};
use std::collections::BTreeMap;
use std::process::Command;

/// `data-total="year/basis/column"` → `data-value` from the report page.
fn report_totals(html: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for part in html.split("data-total=\"").skip(1) {
        let key = part.split('"').next().unwrap().to_string();
        let value = part.split("data-value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
        out.insert(key, value);
    }
    out
}

#[test]
fn report_numbers_equal_national_totals_parquet() {
    let (out, _) = run_on(&fixtures().join("samples"));
    let html = std::fs::read_to_string(published(out.path()).join("report.html")).unwrap();
    let got = report_totals(&html);
    let rows = read_parquet(&published(out.path()).join("national_totals.parquet"));
    let columns = [
        "mandated_minimum_gbp",
        "voluntary_la_gbp",
        "voluntary_nhs_gbp",
        "voluntary_above_minimum_gbp",
        "total_pooled_gbp",
    ];
    assert_eq!(got.len(), rows.len() * columns.len());
    for r in &rows {
        for c in columns {
            let key = format!("{}/{}/{}", r["financial_year"], r["basis"], c);
            assert_eq!(got.get(&key), Some(&r[c]), "{key}");
        }
    }
    // Shown with thousands separators too.
    assert!(html.contains("£222,581,396.18"));
    assert!(html.contains("<svg"), "a chart");
    assert!(html.contains("4 of 151"), "coverage against expected");
    // 4 areas of 151 are not national totals, and the heading says so.
    let note = html.find("id=\"coverage-note\"").expect("a coverage note");
    assert!(
        note < html.find("id=\"totals\"").unwrap() && html[note..].contains("Not national totals"),
        "{}",
        &html[note..note + 300]
    );
    // The coverage grid is the register: its counts and marks are coverage.parquet's.
    let coverage = read_parquet(&published(out.path()).join("coverage.parquet"));
    // Three labelled count rows, one cell per year and basis in the national table's order.
    for (label, status) in [("Areas included ✓", "included"), ("Rejected ✗", "rejected"), ("Missing ·", "missing")]
    {
        let mut row = format!("<tr class=\"counts\"><th class=\"count label\" scope=\"row\">{label}</th>");
        for r in &rows {
            let n = coverage
                .iter()
                .filter(|c| {
                    c["financial_year"] == r["financial_year"] && c["basis"] == r["basis"] && c["status"] == status
                })
                .count();
            row.push_str(&format!("<th class=\"mark count\">{n}</th>"));
        }
        assert!(html.contains(&format!("{row}</tr>")), "{row}");
    }
    for (status, mark) in [("included", "✓"), ("rejected", "✗"), ("missing", "·")] {
        let cells = html.matches(&format!("<td class=\"mark {status}\">{mark}</td>")).count();
        assert_eq!(cells, coverage.iter().filter(|c| c["status"] == status).count(), "{status} cells");
    }
    assert!(html.contains("York") && html.contains("Wakefield"));
}

#[test]
fn report_page_is_self_contained() {
    let (out, _) = run_on(&fixtures().join("samples"));
    let html = std::fs::read_to_string(published(out.path()).join("report.html")).unwrap().to_lowercase();
    for banned in ["<script", "<link", "@import", "url(", "<img", "<iframe", "@font-face", "src="] {
        assert!(!html.contains(banned), "report.html must not contain {banned}");
    }
    // The only URL is the SVG namespace, which is never fetched.
    let urls = html.matches("http://").count() + html.matches("https://").count();
    assert_eq!(urls, html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count());
    assert!(html.contains("@media print"));
}

#[test]
fn feedback_files_say_what_to_do() {
    let input = tempfile::tempdir().unwrap();
    std::fs::write(input.path().join("Kent return.xlsx"), b"<html><table><tr><td>1</td></tr></table></html>").unwrap();
    let (out, t) = run_on(input.path());
    assert_eq!(t.submissions[0].status, bcf::model::Status::Rejected);
    let rows = crate::support::read_csv(&published(out.path()).join("feedback/unmatched.csv"));
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["rule"], "file-unreadable");
    assert_eq!(rows[0]["source_file"], "Kent return.xlsx");
    assert!(rows[0]["found"].contains("HTML"), "{:?}", rows[0]);
    assert!(rows[0]["what_to_do"].contains("save it as .xlsx"), "{:?}", rows[0]);
    // An area with nothing to do gets no feedback file; one expected for the latest year with
    // no return gets one line saying so and what to send.
    let (samples, t) = run_on(&fixtures().join("samples"));
    let feedback = published(samples.path()).join("feedback");
    let latest = t.coverage.iter().map(|c| c.financial_year).max().unwrap();
    let with_findings: std::collections::BTreeSet<&str> =
        t.findings.iter().filter_map(|f| crate::support::submission(&t, &f.source_file).area_code.as_deref()).collect();
    let covered = |code: &str| {
        t.coverage.iter().any(|c| c.area_code == code && c.financial_year == latest && c.status.as_str() == "included")
    };
    let clean: Vec<&str> =
        t.coverage.iter().map(|c| c.area_code.as_str()).filter(|c| covered(c) && !with_findings.contains(c)).collect();
    assert!(!clean.is_empty(), "the samples have an area with nothing to do");
    for code in clean {
        assert!(!feedback.join(format!("{code}.csv")).exists(), "{code} has nothing to do");
    }
    let missing: Vec<&bcf::tables::CoverageRow> =
        t.coverage.iter().filter(|c| c.financial_year == latest && c.status.as_str() == "missing").collect();
    assert!(missing.len() > 100, "most areas send no sample return");
    for c in missing.iter().filter(|c| !with_findings.contains(c.area_code.as_str())) {
        let rows = crate::support::read_csv(&feedback.join(format!("{}.csv", c.area_code)));
        assert_eq!(rows.len(), 1, "{}", c.area_code);
        assert_eq!((rows[0]["status"].as_str(), rows[0]["area_name"].as_str()), ("missing", c.area_name.as_str()));
        assert!(rows[0]["found"].contains(&format!("no return covering {latest}")), "{:?}", rows[0]);
        assert!(rows[0]["what_to_do"].starts_with("Send the "), "{:?}", rows[0]);
    }
}

fn explain(out: &std::path::Path, args: &[&str]) -> String {
    let o = Command::new(bcf_bin()).arg("explain").arg("--out").arg(out).args(args).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn explain_an_area_lists_every_line_with_its_cell() {
    let (out, t) = run_on(&fixtures().join("samples"));
    for (code, year) in
        [("E10000016", "2020-21"), ("E09000007", "2015-16"), ("E06000052", "2018-19"), ("E06000063", "2024-25")]
    {
        let text = explain(out.path(), &["--area", code, "--year", year]);
        let lines: Vec<_> =
            t.lines.iter().filter(|l| *l.area_code == *code && l.financial_year.to_string() == year).collect();
        assert!(!lines.is_empty());
        for l in &lines {
            let want = format!("{}!{}", l.sheet, l.cell);
            let row = text
                .lines()
                .find(|r| r.trim_start().starts_with(&format!("{want} ")))
                .unwrap_or_else(|| panic!("{want} in\n{text}"));
            assert!(row.trim_end().ends_with(&l.amount.to_gbp()), "{row}");
        }
        let total: i128 = lines.iter().filter(|l| l.basis == bcf::model::Basis::Plan).map(|l| l.amount.0).sum();
        let plan = text.split("\nplan\n").nth(1).expect("a plan section");
        let contributes = plan.lines().find(|r| r.trim_start().starts_with("total_pooled_gbp")).unwrap();
        assert!(contributes.contains(&bcf::model::Pence(total).to_gbp()), "{contributes}");
    }
    let none = explain(out.path(), &["--area", "E06000001", "--year", "2015-16"]);
    assert!(none.contains("contributes nothing"), "{none}");
}

#[test]
fn explain_a_total_ranks_areas_and_adds_up() {
    let (out, t) = run_on(&fixtures().join("samples"));
    let text = explain(out.path(), &["--total", "voluntary_above_minimum_gbp", "--year", "2020-21", "--basis", "plan"]);
    let national = t.national_row(bcf::model::FinancialYear(2020), bcf::model::Basis::Plan).unwrap();
    assert!(text.starts_with(&format!(
        "voluntary_above_minimum_gbp, 2020-21 plan: {}",
        national.voluntary_above_minimum.to_gbp()
    )));
    let ranked: Vec<&str> =
        text.lines().filter(|l| l.trim_start().chars().next().is_some_and(|c| c.is_ascii_digit())).collect();
    assert_eq!(ranked.len(), 4);
    assert!(ranked[0].contains("Kent"), "largest first: {text}");
    let amounts: Vec<i128> = ranked
        .iter()
        .map(|l| {
            l.split_whitespace().find(|w| w.starts_with('£')).unwrap().replace(['£', ',', '.'], "").parse().unwrap()
        })
        .collect();
    assert!(amounts.windows(2).all(|w| w[0] >= w[1]));
    assert_eq!(amounts.iter().sum::<i128>(), national.voluntary_above_minimum.0);
    let bad = Command::new(bcf_bin())
        .args(["explain", "--out"])
        .arg(out.path())
        .args(["--total", "nope", "--year", "2020-21"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2), "an unknown total is a bad argument");
    // --out names the run: there is no default folder to explain by mistake.
    let no_out =
        Command::new(bcf_bin()).args(["explain", "--total", "total_pooled_gbp", "--year", "2020-21"]).output().unwrap();
    assert_eq!(no_out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_out.stderr).contains("--out"), "says --out is needed");
}

/// A total lists every area whose return counts for the year, an area that adds £0 too, and
/// says how many areas count nothing because they are rejected or missing.
#[test]
fn explain_a_total_lists_every_area_that_counts_and_those_that_do_not() {
    let (out, t) = run_on(&fixtures().join("samples"));
    let text = explain(out.path(), &["--total", "voluntary_la_gbp", "--year", "2023-24", "--basis", "plan"]);
    let national = t.national_row(bcf::model::FinancialYear(2023), bcf::model::Basis::Plan).unwrap();
    let missing = t.coverage.iter().filter(|c| c.financial_year.0 == 2023 && c.status.as_str() == "missing").count();
    assert!(
        text.starts_with(&format!(
            "voluntary_la_gbp, 2023-24 plan: {} from {} of {} areas (0 rejected and {missing} missing count nothing)",
            national.voluntary_la.to_gbp(),
            national.areas_included,
            national.areas_expected
        )),
        "{text}"
    );
    let ranked: Vec<&str> =
        text.lines().filter(|l| l.trim_start().chars().next().is_some_and(|c| c.is_ascii_digit())).collect();
    assert_eq!(ranked.len(), national.areas_included as usize, "every area that counts: {text}");
    assert!(ranked.iter().any(|l| l.contains(" £0.00 ")), "an area adding £0 is listed: {text}");
}

#[test]
fn datapackage_describes_every_output_file_and_column() {
    let (out, _) = run_on(&fixtures().join("samples"));
    let dir = published(out.path());
    let pkg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("datapackage.json")).unwrap()).unwrap();
    let resources = pkg["resources"].as_array().unwrap();
    let described: Vec<&str> = resources.iter().map(|r| r["path"].as_str().unwrap()).collect();
    let on_disk: Vec<String> =
        crate::support::fs::files(&dir).iter().map(|p| crate::support::fs::rel(&dir, p)).collect();
    let mut want: Vec<&str> = on_disk.iter().map(String::as_str).filter(|p| *p != "datapackage.json").collect();
    let mut got = described.clone();
    want.sort();
    got.sort();
    assert_eq!(got, want, "one resource per published file");
    for r in resources.iter().filter(|r| r["format"] == "parquet") {
        let p = r["path"].as_str().unwrap();
        let file = std::fs::File::open(dir.join(p)).unwrap();
        let schema =
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap().schema().clone();
        let in_file: Vec<(String, String)> =
            schema.fields().iter().map(|f| (f.name().clone(), arrow_name(f.data_type()))).collect();
        let declared: Vec<(String, String)> = r["schema"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["name"].as_str().unwrap().to_string(), f["arrowType"].as_str().unwrap().to_string()))
            .collect();
        assert_eq!(declared, in_file, "{p}: the file's columns and types, in order");
    }
}

/// An Arrow type as `datapackage.json`'s `arrowType` names it.
fn arrow_name(t: &arrow_schema::DataType) -> String {
    use arrow_schema::DataType::*;
    match t {
        Utf8 => "utf8".into(),
        Int32 => "int32".into(),
        Int64 => "int64".into(),
        Float64 => "float64".into(),
        Date32 => "date32".into(),
        Decimal128(p, s) => format!("decimal128({p},{s})"),
        List(item) => format!("list<{}>", arrow_name(item.data_type())),
        other => format!("{other:?}"),
    }
}

/// `bcf FLAGS run` on the samples into `out`, with the environment's log filter removed.
fn run_samples(flags: &[&str], out: &std::path::Path) -> std::process::Output {
    Command::new(bcf_bin())
        .args(flags)
        .args(["run", "--input"])
        .arg(fixtures().join("samples"))
        .arg("--out")
        .arg(out)
        .env_remove("BCF_LOG")
        .output()
        .unwrap()
}

#[test]
fn json_logs_parse_line_by_line() {
    let out = tempfile::tempdir().unwrap();
    let o = run_samples(&["--log-format", "json"], out.path());
    assert!(o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    let mut files = 0;
    for line in stderr.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(v["level"].is_string() && v["timestamp"].is_string(), "{line}");
        if v["message"] == "validated" {
            files += 1;
            assert!(v["span"]["source_file"].is_string(), "per-file span: {line}");
        }
    }
    let workbooks = crate::support::fs::files(&crate::support::fixtures().join("samples"))
        .iter()
        .filter(|p| bcf::workbook::skip_reason(&p.file_name().unwrap().to_string_lossy()).is_none())
        .count();
    assert_eq!(files, workbooks, "one per workbook in fixtures/samples");
    let quiet = run_samples(&["--quiet"], out.path());
    assert!(quiet.stderr.is_empty(), "--quiet: {}", String::from_utf8_lossy(&quiet.stderr));
}
