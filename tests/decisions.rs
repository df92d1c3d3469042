//! Decisions the national team records (`--decisions FILE`): an accepted finding keeps its row,
//! marked, and stops rejecting its file; decisions that match nothing or name a file no longer
//! in the input are reported; refused rules and malformed files stop the run before anything
//! is published; the decisions are part of the run's inputs.

use crate::habits::kit::*;
use crate::support::{bcf, published, read_parquet, record, submission};
use bcf::model::{FinancialYear, Status};
use bcf::run::{run_all, RunConfig};
use bcf::tables::Tables;
use bcf_fixtures::{DateCell, Family, ReturnSpec};
use std::path::Path;

fn f() -> Family {
    crate::support::family("bcf-planning-2023-25")
}

/// Kent (clean), Barnsley (its DFG allocation £1.01 above its lines: minimum-mismatch) and
/// two Leeds returns with the same date (submission-conflict on each).
fn world() -> (World, String) {
    let mut world = World::new();
    for (file, name, seed) in [("Kent.xlsx", "Kent", 1), ("Barnsley.xlsx", "Barnsley", 2)] {
        let mut spec = ReturnSpec::typical(&f(), name, seed);
        world.add(file, &code_of(name, &f()), &mut spec);
    }
    for (file, seed) in [("Leeds-a.xlsx", 3), ("Leeds-b.xlsx", 4)] {
        let mut spec = ReturnSpec::typical(&f(), "Leeds", seed);
        spec.submission_date = DateCell::Date(2023, 6, 20);
        world.add(file, &code_of("Leeds", &f()), &mut spec);
    }
    let key = (code_of("Barnsley", &f()), FinancialYear(2023), "dfg".to_string());
    world.allocated.get_mut(&key).unwrap().0 += 101;
    world.allocations().write(&world.path("allocations/allocations.xlsx")).unwrap();
    let mismatch_cell = {
        let (_o, t) = run(&world, None);
        let m: Vec<_> = t.findings.iter().filter(|x| x.source_file == "Barnsley.xlsx").collect();
        assert_eq!(m.len(), 1, "{m:?}");
        m[0].location()
    };
    (world, mismatch_cell)
}

fn run(world: &World, decisions: Option<&Path>) -> (tempfile::TempDir, Tables) {
    let out = tempfile::tempdir().unwrap();
    let mut cfg = RunConfig::new(world.dir.path(), out.path());
    cfg.decisions = decisions.map(Path::to_path_buf);
    let t = run_all(&cfg).expect("run completes");
    (out, t)
}

fn sha(t: &Tables, file: &str) -> String {
    submission(t, file).sha256.clone()
}

fn entry(sha256: &str, rule: &str, cell: Option<&str>, reason: &str) -> String {
    let cell = cell.map(|c| format!("cell = {c:?}\n")).unwrap_or_default();
    format!("[[accept]]\nsha256 = \"{sha256}\"\nrule = \"{rule}\"\n{cell}reason = \"{reason}\"\nby = \"A. Analyst\"\ndate = 2025-05-03\n\n")
}

#[test]
fn accepted_findings_keep_their_rows_and_stop_rejecting_and_the_rest_is_reported() {
    let (world, cell) = world();
    let (_o, before) = run(&world, None);
    assert_eq!(submission(&before, "Barnsley.xlsx").status, Status::Rejected);
    assert_eq!(submission(&before, "Leeds-a.xlsx").status, Status::Rejected);
    let gone = "ab".repeat(32);
    let text = [
        entry(&sha(&before, "Barnsley.xlsx"), "minimum-mismatch", Some(&cell), "DFG revised by letter of 2 May"),
        entry(&sha(&before, "Leeds-b.xlsx"), "submission-conflict", None, "Leeds-b is the agreed return"),
        entry(&sha(&before, "Kent.xlsx"), "total-mismatch", None, "nothing to accept"),
        entry(&gone, "minimum-mismatch", None, "a file since replaced"),
    ]
    .concat();
    let file = world.dir.path().with_extension("decisions.toml");
    std::fs::write(&file, text).unwrap();
    let (out, t) = run(&world, Some(&file));

    let barnsley = submission(&t, "Barnsley.xlsx");
    assert_eq!(barnsley.status, Status::AcceptedWithWarnings);
    assert_eq!((barnsley.error_count, barnsley.accepted_count), (0, 1));
    assert_eq!(submission(&t, "Leeds-b.xlsx").status, Status::AcceptedWithWarnings);
    assert_eq!(submission(&t, "Leeds-a.xlsx").status, Status::Rejected, "only Leeds-b's conflict was accepted");
    assert!(t.lines.iter().any(|l| &*l.source_file == "Barnsley.xlsx"), "the accepted return counts");
    assert!(t.lines.iter().any(|l| &*l.source_file == "Leeds-b.xlsx"));
    let included =
        |t: &Tables| t.national.iter().find(|r| r.financial_year == FinancialYear(2023)).unwrap().areas_included;
    assert_eq!(included(&t), included(&before) + 2);

    let dir = published(out.path());
    let findings = read_parquet(&dir.join("findings.parquet"));
    let accepted: Vec<_> = findings.iter().filter(|r| r["decision"] == "accepted").collect();
    assert_eq!(accepted.len(), 2, "{findings:?}");
    let b = accepted.iter().find(|r| r["source_file"] == "Barnsley.xlsx").unwrap();
    assert_eq!(
        (b["rule"].as_str(), b["decision_reason"].as_str(), b["decision_by"].as_str(), b["decision_date"].as_str()),
        ("minimum-mismatch", "DFG revised by letter of 2 May", "A. Analyst", "2025-05-03")
    );
    let decisions = read_parquet(&dir.join("decisions.parquet"));
    let outcomes: Vec<(&str, &str)> =
        decisions.iter().map(|r| (r["outcome"].as_str(), r["findings_accepted"].as_str())).collect();
    assert_eq!(outcomes, [("applied", "1"), ("applied", "1"), ("matched_nothing", "0"), ("file_not_in_input", "0")]);

    let r = record(out.path());
    assert_eq!(r["decisions"].as_array().unwrap().len(), 4);
    assert_eq!(r["config"]["decisions_sha256"].as_str().unwrap().len(), 64);
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    for report in [&html, &md] {
        assert!(report.contains("DFG revised by letter of 2 May") && report.contains("a file since replaced"));
        assert!(report.contains("matched nothing") && report.contains("not in the input"), "outcomes are said");
    }
}

#[test]
fn a_decision_for_another_cell_accepts_nothing() {
    let (world, _cell) = world();
    let (_o, before) = run(&world, None);
    let file = world.dir.path().with_extension("decisions.toml");
    std::fs::write(&file, entry(&sha(&before, "Barnsley.xlsx"), "minimum-mismatch", Some("5. Income!Z99"), "r"))
        .unwrap();
    let (_o, t) = run(&world, Some(&file));
    assert_eq!(submission(&t, "Barnsley.xlsx").status, Status::Rejected);
    assert_eq!(t.decisions[0].outcome.as_str(), "matched_nothing");
}

/// The binary with `--decisions`, over a folder already published once.
fn run_cli(world: &World, out: &Path, decisions: &Path) -> std::process::Output {
    let (input, out) = (world.dir.path().to_str().unwrap(), out.to_str().unwrap());
    bcf(&["run", "--input", input, "--out", out, "--decisions", decisions.to_str().unwrap()])
}

#[test]
fn refused_rules_and_malformed_files_stop_the_run_before_anything_is_published() {
    let (world, _cell) = world();
    let out = tempfile::tempdir().unwrap();
    let (input, out_s) = (world.dir.path().to_str().unwrap(), out.path().to_str().unwrap());
    assert!(bcf(&["run", "--input", input, "--out", out_s]).status.success());
    let before = crate::support::published_bytes_all(out.path());
    let sha = "c".repeat(64);
    let cases = [
        (entry(&sha, "amount-negative", None, "r"), "findings of amount-negative cannot be accepted"),
        (entry(&sha, "file-unreadable", None, "r"), "findings of file-unreadable cannot be accepted"),
        (entry(&sha, "no-such-rule", None, "r"), "\"no-such-rule\" is not a rule id"),
        (entry("3f1c", "minimum-mismatch", None, "r"), "is not a SHA-256"),
        (entry(&sha, "minimum-mismatch", None, ""), "say why (reason)"),
        (entry(&sha, "minimum-mismatch", None, "r").replace("2025-05-03", "2025-02-30"), "not a valid decisions file"),
        (entry(&sha, "minimum-mismatch", None, "r").replace("by =", "who ="), "not a valid decisions file"),
        ("[[accept]\nsha256 = 1".to_string(), "not a valid decisions file"),
    ];
    let file = world.dir.path().with_extension("decisions.toml");
    for (text, said) in cases {
        std::fs::write(&file, format!("{}{text}", entry(&sha, "total-mismatch", None, "fine"))).unwrap();
        let o = run_cli(&world, out.path(), &file);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{text}: {stderr}");
        assert!(stderr.contains("decisions file") && stderr.contains(said), "{text}: {stderr}");
        if said.contains("cannot be accepted") || said.contains("rule id") {
            assert!(
                stderr.contains("line 8") && stderr.contains("minimum-mismatch"),
                "where, and what may be: {stderr}"
            );
        }
        assert_eq!(crate::support::published_bytes_all(out.path()), before, "{text}: nothing published");
    }
    let missing = world.dir.path().with_extension("nowhere.toml");
    let o = run_cli(&world, out.path(), &missing);
    assert!(String::from_utf8_lossy(&o.stderr).contains("check the --decisions path"));
}

#[test]
fn decisions_are_inputs_a_changed_file_republishes_and_the_same_file_is_up_to_date() {
    let (world, cell) = world();
    let (_o, t) = run(&world, None);
    let file = world.dir.path().with_extension("decisions.toml");
    std::fs::write(&file, entry(&sha(&t, "Barnsley.xlsx"), "minimum-mismatch", Some(&cell), "letter")).unwrap();
    let out = tempfile::tempdir().unwrap();
    let snapshot = |o: &std::process::Output| {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        record(out.path())["snapshot"].as_str().map(str::to_string)
    };
    let first = snapshot(&run_cli(&world, out.path(), &file));
    let again = run_cli(&world, out.path(), &file);
    assert!(String::from_utf8_lossy(&again.stdout).contains("up to date") || snapshot(&again) == first);
    assert_eq!(crate::support::stage_count(out.path(), "normalise", "up_to_date"), 1, "same decisions: up to date");
    std::fs::write(&file, entry(&sha(&t, "Barnsley.xlsx"), "minimum-mismatch", Some(&cell), "letter of 2 May"))
        .unwrap();
    let changed = snapshot(&run_cli(&world, out.path(), &file));
    assert_ne!(changed, first, "a changed decisions file publishes again");
    let rows = read_parquet(&published(out.path()).join("findings.parquet"));
    assert!(rows.iter().any(|r| r["decision_reason"] == "letter of 2 May"));
}

/// Accepting a finding in a folder already published is a change like any other: the area now
/// counts, moved by "accepted by a decision"; and `bcf rerun` keeps the decisions it recorded.
#[test]
fn a_new_decision_shows_as_a_change_and_reruns_keep_it() {
    let (world, cell) = world();
    let out = tempfile::tempdir().unwrap();
    let (i, o) = (world.dir.path().to_str().unwrap(), out.path().to_str().unwrap());
    assert!(bcf(&["run", "--input", i, "--out", o]).status.success());
    let before = read_parquet(&published(out.path()).join("submissions.parquet"));
    let barnsley = before.iter().find(|r| r["source_file"] == "Barnsley.xlsx").unwrap();
    let file = world.dir.path().with_extension("decisions.toml");
    std::fs::write(&file, entry(&barnsley["sha256"], "minimum-mismatch", Some(&cell), "letter of 2 May")).unwrap();
    let o2 = run_cli(&world, out.path(), &file);
    assert!(o2.status.success(), "{}", String::from_utf8_lossy(&o2.stderr));
    let changes = read_parquet(&published(out.path()).join("changes.parquet"));
    let status = changes.iter().find(|r| r["kind"] == "file_status_changed").expect("Barnsley's status changed");
    assert_eq!(
        (status["source_file"].as_str(), status["current_status"].as_str()),
        ("Barnsley.xlsx", "accepted_with_warnings")
    );
    assert!(changes.iter().any(|r| r["kind"] == "area_included" && r["area_name"] == "Barnsley"));
    let parts: Vec<_> = changes.iter().filter(|r| r["kind"] == "area_contribution").collect();
    assert!(!parts.is_empty() && parts.iter().all(|r| r["reason"] == "accepted by a decision"), "{parts:?}");

    let code = code_of("Barnsley", &f());
    let rerun = bcf(&["rerun", "--out", o, "--area", &code]);
    assert!(rerun.status.success(), "{}", String::from_utf8_lossy(&rerun.stderr));
    let after = read_parquet(&published(out.path()).join("submissions.parquet"));
    let barnsley = after.iter().find(|r| r["source_file"] == "Barnsley.xlsx").unwrap();
    assert_eq!(barnsley["status"], "accepted_with_warnings", "the rerun applied the recorded decisions");
    assert!(read_parquet(&published(out.path()).join("changes.parquet")).is_empty(), "and nothing changed");
}
