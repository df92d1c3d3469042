//! Outputs read back by real clients: pyarrow, DuckDB and Frictionless (installed by `make venv`).

use crate::support::{client, families, fixtures, project_root, published, reference, run_on};
use std::path::Path;
use std::process::Command;

#[test]
fn pyarrow_and_duckdb_read_types_and_hive_partitions() {
    let (out, _) = run_on(&fixtures().join("samples"));
    let stdout = client("check_outputs.py", &[&published(out.path()), &fixtures().join("expected")]);
    assert!(stdout.contains("clients OK"));
}

#[test]
fn frictionless_validates_the_package_of_the_samples() {
    let (out, _) = run_on(&fixtures().join("samples"));
    assert!(client("check_package.py", &[&published(out.path())]).contains("package OK"));
}

/// A national corpus of every family, plus a file whose name a spreadsheet would run as a
/// formula (it lands in `feedback/unmatched.csv`): the package validates, every row.
#[test]
fn frictionless_validates_the_package_of_a_national_corpus_with_feedback() {
    let input = tempfile::tempdir().unwrap();
    let (schemas, areas) = reference();
    bcf_fixtures::national_corpus(input.path(), 7, schemas, areas, &families()).unwrap();
    std::fs::write(input.path().join("=cmd|' -C calc'!A0.xlsx"), b"not a workbook").unwrap();
    let (out, t) = run_on(input.path());
    assert!(t.findings.iter().any(|f| f.source_file.starts_with("=cmd")), "the planted file has a finding");
    let dir = published(out.path());
    assert!(dir.join("feedback/unmatched.csv").is_file());
    assert!(client("check_package.py", &[&dir]).contains("package OK"));
}

/// Readers query `OUT/current` as the README shows (resolving it once per query) while bcf
/// publishes again and again: not one query fails or sees a publish half-made.
#[test]
fn a_thousand_queries_written_as_the_readme_shows_all_succeed_during_twenty_publishes() {
    let input = crate::support::samples_copy(|_| true);
    let out = tempfile::tempdir().unwrap();
    let run = |keep: &str| {
        let o = crate::support::bcf(&[
            "run",
            "--input",
            input.path().to_str().unwrap(),
            "--out",
            out.path().to_str().unwrap(),
            "--keep",
            keep,
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    run("3");
    let stop = out.path().with_extension("stop");
    let python = std::env::var("BCF_PYTHON").unwrap_or_else(|_| "python3".into());
    let reader = Command::new(&python)
        .arg(project_root().join("tests/clients/read_during_publishes.py"))
        .args([out.path(), Path::new("1000"), &stop])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the test venv's Python runs");
    // Each publish differs from the last: one sample file comes and goes.
    let moved = input.path().join("2023-25/Camden BCF 2023-25 Planning Template.xlsx");
    let aside = input.path().with_extension("aside.xlsx");
    for i in 0..20 {
        if i % 2 == 0 {
            std::fs::rename(&moved, &aside).unwrap()
        } else {
            std::fs::rename(&aside, &moved).unwrap()
        }
        run("3");
    }
    std::fs::write(&stop, b"").unwrap();
    let said = reader.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&said.stdout);
    let queries: usize = said.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap_or(0);
    assert!(queries >= 1000, "{said}");
    assert!(said.contains(" errors 0"), "every query succeeded: {said}");
}
