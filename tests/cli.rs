//! Exit codes and messages a scheduler relies on.

use crate::support::{bcf, fixtures};
use std::process::Command;

#[test]
fn help_documents_the_commands() {
    let out = bcf(&["--help"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for word in ["run", "schemas", "Exit codes"] {
        assert!(text.contains(word), "--help mentions {word}: {text}");
    }
    let out = bcf(&["run", "--help"]);
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in ["--input", "--out", "--baseline", "--fail-on-rejected", "--max-inflated-bytes"] {
        assert!(text.contains(flag), "run --help mentions {flag}");
    }
}

#[test]
fn bad_arguments_exit_2() {
    assert_eq!(bcf(&["run"]).status.code(), Some(2));
    assert_eq!(bcf(&["frobnicate"]).status.code(), Some(2));
}

#[test]
fn a_run_that_cannot_complete_exits_1_with_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope");
    let out = bcf(&["run", "--input", missing.to_str().unwrap(), "--out", tmp.path().join("o").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "one-line reason: {err}");
    assert!(err.contains("nope"));

    // The output folder is a file: unwritable.
    let file = tmp.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let samples = fixtures().join("samples");
    let out = bcf(&["run", "--input", samples.to_str().unwrap(), "--out", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));

    let out = bcf(&[
        "run",
        "--input",
        samples.to_str().unwrap(),
        "--out",
        tmp.path().join("o").to_str().unwrap(),
        "--baseline",
        "2015",
    ]);
    assert_eq!(out.status.code(), Some(2), "a baseline that is not a year is a bad argument");
    assert!(String::from_utf8_lossy(&out.stderr).contains("\"2015\" is not a financial year"));
}

#[test]
fn rejected_returns_exit_0_unless_asked() {
    let input = tempfile::tempdir().unwrap();
    std::fs::write(input.path().join("broken.xlsx"), b"this is not a workbook").unwrap();
    std::fs::write(input.path().join("notes.txt"), b"skipped").unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let args = ["run", "--input", input.path().to_str().unwrap(), "--out", out_dir.path().to_str().unwrap()];
    let out = bcf(&args);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 rejected"));
    let mut strict = args.to_vec();
    strict.push("--fail-on-rejected");
    assert_eq!(bcf(&strict).status.code(), Some(3));
}

/// A file name can hold terminal escapes (retitle the window, clear it, ring the bell): logs,
/// `bcf status` and error lines show them escaped, never send them.
#[test]
fn names_areas_typed_never_reach_a_terminal_as_control_characters() {
    let input = tempfile::tempdir().unwrap();
    let evil = "Kent\u{1b}]0;pwned\u{7}\u{1b}[2J.xlsx";
    std::fs::write(input.path().join(evil), b"not a workbook").unwrap();
    let out = tempfile::tempdir().unwrap();
    let run = Command::new(crate::support::bcf_bin())
        .args(["run", "--input"])
        .arg(input.path())
        .arg("--out")
        .arg(out.path())
        .env("BCF_LOG", "info")
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let status = Command::new(crate::support::bcf_bin()).args(["status", "--out"]).arg(out.path()).output().unwrap();
    for (what, bytes) in [("logs", &run.stderr), ("stdout", &run.stdout), ("status", &status.stdout)] {
        let text = String::from_utf8_lossy(bytes);
        assert!(!bytes.iter().any(|&b| b == 0x1b || b == 0x07), "{what} sent a control character: {text:?}");
    }
    assert!(String::from_utf8_lossy(&run.stderr).contains("Kent\\u{1b}]0;pwned"), "the name is shown, escaped");
}

/// `--baseline` naming a year no return covers warns, naming the years that could be used;
/// a covered baseline gives no warning. Totals far from national say so under the table.
#[test]
fn a_baseline_year_without_returns_warns_and_totals_far_from_national_say_so() {
    let input = fixtures().join("samples");
    let out = tempfile::tempdir().unwrap();
    let run = |baseline: &str| {
        let o = bcf(&[
            "run",
            "--input",
            input.to_str().unwrap(),
            "--out",
            out.path().to_str().unwrap(),
            "--baseline",
            baseline,
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
    };
    let (stdout, stderr) = run("2016-17");
    assert!(
        stderr.contains("bcf: warning: --baseline 2016-17: no accepted return covers 2016-17 (plan), so no multiple of it can be given; years with plans: 2015-16, 2017-18"),
        "{stderr}"
    );
    assert!(stdout.contains("note: not national totals: every year sums at most 4 of the"), "{stdout}");
    let (_, stderr) = run("2015-16");
    assert!(!stderr.contains("--baseline"), "{stderr}");
}

/// `make demo` ends by pointing at the report with the chart and area pages.
#[test]
fn make_demo_points_at_the_html_report() {
    let makefile = std::fs::read_to_string(crate::support::project_root().join("Makefile")).unwrap();
    let demo = makefile.split("\ndemo:").nth(1).expect("a demo target");
    let recipe: Vec<&str> = demo.lines().skip(1).take_while(|l| l.starts_with('\t')).collect();
    let last = recipe.last().expect("a recipe");
    assert!(last.contains("/current/report.html") && !last.contains("report.md"), "{last}");
}
