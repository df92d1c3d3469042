//! One validator, three faces: every workbook in `fixtures/` gets the same findings (rule,
//! severity, sheet, cell, message) from the national run, `bcf check` and the self-check page
//! in headless Chromium; the page is used as a person would (file://, network off, no request,
//! axe-core, 1,280 px and phone width) and survives files past its limits; `bcf check` keeps
//! its exit codes and agrees with the national run on a faulty national corpus.
//!
//! The page tests need `make selfcheck` (the WebAssembly validator, `BCF_SELFCHECK_PKG`),
//! Debian's Chromium and `tests/selfcheck/node_modules` (`make node-deps`); `make test` makes
//! all three.

use crate::support::{bcf, bcf_bin, fixtures, fs, project_root, published, read_parquet};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// (rule, severity, sheet, cell, message): what the three faces must agree on.
type Said = (String, String, String, String, String);

fn said(rule: &str, severity: &str, sheet: &str, cell: &str, message: &str) -> Said {
    (rule.into(), severity.into(), sheet.into(), cell.into(), message.into())
}

/// Rules only the national run can apply (they need other files).
const CROSS_FILE: [&str; 1] = ["submission-conflict"];

/// The folder holding the validator (`make selfcheck`).
fn pkg() -> PathBuf {
    let pkg = std::env::var_os("BCF_SELFCHECK_PKG")
        .map(PathBuf::from)
        .unwrap_or_else(|| project_root().join("out/selfcheck/pkg"));
    assert!(pkg.join("bcf_selfcheck.wasm").exists(), "{}: run `make selfcheck` first (make test does)", pkg.display());
    pkg
}

/// A self-check page built from the validator with `args` (allocations, limits).
fn page(dir: &Path, args: &[&str]) -> PathBuf {
    let out = dir.join("bcf-selfcheck.html");
    let pkg = pkg();
    let mut all = vec!["selfcheck-page", "--pkg", pkg.to_str().unwrap(), "--out", out.to_str().unwrap()];
    all.extend_from_slice(args);
    let run = bcf(&all);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    out
}

/// Runs `tests/selfcheck/run_page.mjs` and returns its report.
fn drive(args: &[&str]) -> Value {
    let dir = project_root().join("tests/selfcheck");
    assert!(dir.join("node_modules/playwright-core").exists(), "run `make node-deps` first (make test does)");
    let out = Command::new("node").arg(dir.join("run_page.mjs")).args(args).output().expect("node runs");
    assert!(out.status.success(), "run_page.mjs {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    assert_eq!(report["startState"], "ready", "the page started: {report}");
    assert_eq!(report["errors"], Value::Array(vec![]), "no script error: {report}");
    assert_eq!(report["violations"], Value::Array(vec![]), "nothing the page's policy refused: {report}");
    let page_url = report["pageUrl"].as_str().unwrap();
    for url in report["requests"].as_array().unwrap() {
        let url = url.as_str().unwrap();
        assert!(url == page_url || url.starts_with("blob:"), "the page asked for nothing but itself: {url}");
    }
    report
}

/// Every file in `fixtures/` with a workbook's extension, relative to `fixtures/`.
fn fixture_workbooks() -> Vec<String> {
    let root = fixtures();
    let exts = bcf::workbook::WORKBOOK_EXTENSIONS;
    fs::files(&root)
        .into_iter()
        .map(|p| fs::rel(&root, &p))
        .filter(|rel| rel.rsplit_once('.').is_some_and(|(_, e)| exts.iter().any(|x| x.eq_ignore_ascii_case(e))))
        .collect()
}

/// What the national run (the `bcf` binary, as in production) said of each file on its own:
/// (status on its own, findings without the cross-file rules). A duplicate says what the file
/// it copies said.
fn national(input: &Path) -> BTreeMap<String, (String, Vec<Said>)> {
    let out = tempfile::tempdir().unwrap();
    let run = bcf(&["run", "--input", input.to_str().unwrap(), "--out", out.path().to_str().unwrap()]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let current = published(out.path());
    let findings = read_parquet(&current.join("findings.parquet"));
    let submissions = read_parquet(&current.join("submissions.parquet"));
    let of = |file: &str| -> Vec<Said> {
        findings
            .iter()
            .filter(|f| f["source_file"] == file && !CROSS_FILE.contains(&f["rule"].as_str()))
            .map(|f| said(&f["rule"], &f["severity"], &f["sheet"], &f["cell"], &f["message"]))
            .collect()
    };
    let own_status = |status: &str, own: &[Said]| match status {
        "skipped" => "skipped".to_string(),
        _ if own.iter().any(|f| f.1 == "error") => "rejected".into(),
        _ if own.is_empty() => "accepted".into(),
        _ => "accepted_with_warnings".into(),
    };
    submissions
        .iter()
        .map(|s| {
            let file = s["source_file"].as_str();
            let copied = s["status_reason"].strip_prefix("byte-identical to ").and_then(|r| r.split(", which").next());
            let own = of(copied.filter(|_| s["status"] == "duplicate").unwrap_or(file));
            (file.to_string(), (own_status(&s["status"], &own), own))
        })
        .collect()
}

fn said_of(check: &Value) -> Vec<Said> {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    check["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            said(&text(&f["rule"]), &text(&f["severity"]), &text(&f["sheet"]), &text(&f["cell"]), &text(&f["message"]))
        })
        .collect()
}

/// `bcf check --format json` on files relative to `dir`: its `files`, and its exit code.
fn check_json(dir: &Path, files: &[String], allocations: &Path) -> (Vec<Value>, i32) {
    let out = Command::new(bcf_bin())
        .current_dir(dir)
        .env("BCF_LOG", "warn")
        .args(["check", "--format", "json", "--allocations", allocations.to_str().unwrap()])
        .args(files)
        .output()
        .expect("bcf runs");
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON on standard output");
    (json["files"].as_array().unwrap().clone(), out.status.code().unwrap_or(-1))
}

#[test]
fn the_national_run_bcf_check_and_the_page_give_every_fixture_the_same_findings() {
    let files = fixture_workbooks();
    assert!(files.len() >= 50, "the fixtures hold the samples, formats, hostile, encrypted and blank workbooks");
    let national = national(&fixtures());
    let allocations = fixtures().join("samples/allocations");
    let (checked, _) = check_json(&fixtures(), &files, &allocations);
    assert_eq!(checked.len(), files.len());
    let tmp = tempfile::tempdir().unwrap();
    let page = page(tmp.path(), &["--allocations", allocations.to_str().unwrap()]);
    let mut args = vec!["check".to_string(), page.display().to_string()];
    args.extend(files.iter().map(|f| fixtures().join(f).display().to_string()));
    let report = drive(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let in_page = report["results"].as_array().unwrap();
    for ((file, check), shown) in files.iter().zip(&checked).zip(in_page) {
        let (status, own) = &national[file];
        assert_eq!(check["file"], file.as_str());
        assert_eq!(&said_of(check), own, "{file}: bcf check and the national run");
        assert_eq!(check["status"], status.as_str(), "{file}: the status it would get on its own");
        let mut from_page = shown["answer"].clone();
        let name = Path::new(file).file_name().unwrap().to_string_lossy();
        assert_eq!(from_page["file"], name.as_ref());
        from_page["file"] = check["file"].clone();
        assert_eq!(&from_page, check, "{file}: the page's window.bcfCheck is exactly bcf check's JSON");
    }
}

#[test]
fn a_person_checks_a_return_in_the_page_offline_and_sees_the_verdict_and_findings_by_sheet() {
    let tmp = tempfile::tempdir().unwrap();
    let allocations = fixtures().join("samples/allocations");
    let page = page(tmp.path(), &["--allocations", allocations.to_str().unwrap()]);
    // A return with an amount typed as text, and a total typed over its lines.
    let family = crate::support::family("bcf-planning-2023-25");
    let mut spec = bcf_fixtures::ReturnSpec::typical(&family, "Kent", 3);
    let dfg = spec.section_mut("dfg").unwrap();
    dfg.lines[0].amounts[0] = bcf_fixtures::Amount::Text("TBC".into());
    let file = tmp.path().join("Kent BCF 2023-25 draft.xlsx");
    spec.write(&file).unwrap();
    let sample = fixtures().join("samples/2023-25/BCF 2023-25 - Kent.xlsx");
    let shots = project_root().join("out/selfcheck-artifacts");
    let report = drive(&[
        "ui",
        page.to_str().unwrap(),
        file.to_str().unwrap(),
        shots.to_str().unwrap(),
        sample.to_str().unwrap(),
    ]);
    let ui = &report["ui"];
    assert_eq!(ui["state"], "done");
    assert_eq!(ui["verdict"], "Will be rejected");
    let income = &family.spec().income.as_ref().unwrap().sheet;
    let sheets: Vec<&str> = ui["sheets"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    assert!(sheets.contains(&format!("Sheet “{income}”").as_str()), "grouped by sheet: {sheets:?}");
    let rows = ui["rows"].as_array().unwrap();
    let tbc =
        rows.iter().find(|r| r[2].as_str().unwrap().contains("\"TBC\" is not an amount")).expect("the TBC finding");
    assert!(tbc[1].as_str().unwrap().starts_with("Error"), "{tbc}");
    assert!(tbc[3].as_str().unwrap().contains("Enter the amount as a number of pounds"), "what to do: {tbc}");
    assert!(tbc[0].as_str().unwrap().starts_with('C'), "the cell: {tbc}");
    assert_eq!(ui["buttons"], serde_json::json!(["Print", "Save as CSV", "Save as JSON"]));
    assert!(ui["privacy"].as_str().unwrap().contains("never leaves this computer"));
    assert!(ui["allocations"].as_str().unwrap().contains("2023-24"), "the page says which allocations it holds");
    for (shown, width) in [("widest1280", 1280.0), ("widest375", 375.0), ("scrollWidth375", 375.0)] {
        assert!(ui[shown].as_f64().unwrap() <= width, "{shown}: {}", ui[shown]);
    }
    assert_eq!(ui["axe"], Value::Array(vec![]), "axe-core finds nothing: {}", ui["axe"]);
    assert_eq!(report["second"]["verdict"], "Ready to send", "the next file is checked too");
}

#[test]
fn a_file_past_the_pages_memory_or_time_limit_gets_a_too_large_finding_and_the_next_file_is_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = fixtures().join("samples/2023-25/BCF 2023-25 - Kent.xlsx");
    let far = fixtures().join("hostile/far-corner.xls");
    let small = page(&tmp.path().join("memory"), &["--memory-mib", "64"]);
    let report = drive(&["check", small.to_str().unwrap(), far.to_str().unwrap(), sample.to_str().unwrap()]);
    let results = report["results"].as_array().unwrap();
    let refused = &results[0]["answer"];
    assert_eq!(refused["status"], "rejected");
    assert_eq!(refused["findings"][0]["rule"], "file-too-large");
    let message = refused["findings"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("needs more memory to read than the self-check page's limit for one file (64 MiB)"),
        "{message}"
    );
    assert_eq!(results[1]["answer"]["status"], "accepted_with_warnings", "a fresh worker checks the next file");
    let slow = page(&tmp.path().join("time"), &["--time-limit-ms", "1"]);
    let report = drive(&["check", slow.to_str().unwrap(), sample.to_str().unwrap()]);
    let message = report["results"][0]["answer"]["findings"][0]["message"].as_str().unwrap();
    assert!(message.contains("takes longer to check than the self-check page allows (0.001 seconds)"), "{message}");
}

#[test]
fn bcf_check_gives_each_return_of_a_faulty_national_corpus_its_national_findings() {
    let corpus = tempfile::tempdir().unwrap();
    let (schemas, areas) = crate::support::reference();
    let family = crate::support::family("bcf-planning-2023-25");
    let written =
        bcf_fixtures::national_corpus(corpus.path(), 7, schemas, areas, std::slice::from_ref(&family)).unwrap();
    bcf_fixtures::faulty_returns(corpus.path(), &family, 7).unwrap();
    let national = national(corpus.path());
    let files: Vec<String> = national.keys().cloned().collect();
    let allocations = corpus.path().join(Path::new(&written.allocations[0]).parent().unwrap());
    let (checked, code) = check_json(corpus.path(), &files, &allocations);
    assert_eq!(code, 3, "some returns would be rejected");
    for (file, check) in files.iter().zip(&checked) {
        let (status, own) = &national[file];
        assert_eq!(&said_of(check), own, "{file}");
        assert_eq!(check["status"], status.as_str(), "{file}");
    }
    assert!(national.values().any(|(s, _)| s == "rejected"), "the corpus has faulty returns");
}

#[test]
fn bcf_check_exit_codes_say_ready_rejected_unreadable_or_bad_arguments() {
    let sample = fixtures().join("samples/2023-25/BCF 2023-25 - Kent.xlsx");
    let allocations = fixtures().join("samples/allocations");
    let code = |args: &[&str]| bcf(args).status.code();
    let sample = sample.to_str().unwrap();
    let allocations = allocations.to_str().unwrap();
    assert_eq!(code(&["check", sample, "--allocations", allocations]), Some(0), "accepted");
    let blank = fixtures().join("blank/bcf-planning-2023-25.xlsx");
    assert_eq!(code(&["check", sample, blank.to_str().unwrap()]), Some(3), "one would be rejected");
    assert_eq!(code(&["check", "no such file.xlsx", sample]), Some(1), "a file that is not there");
    assert_eq!(code(&["check", fixtures().to_str().unwrap()]), Some(1), "a folder");
    assert_eq!(code(&["check"]), Some(2), "no file named");
    assert_eq!(code(&["check", sample, "--allocations", sample]), Some(2), "a return is not allocations");
    let out = bcf(&["check", sample, "--allocations", sample]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not an allocations workbook"), "{err}");
    let human = String::from_utf8_lossy(&bcf(&["check", sample, blank.to_str().unwrap()]).stdout).into_owned();
    assert!(human.contains("Will be rejected") && human.contains("Ready to send"), "{human}");
    assert!(
        human.contains("submission-conflict") && human.contains("only in the national run"),
        "says what it cannot check: {human}"
    );
    assert!(human.contains("what to do:"), "{human}");
}

/// The validator can reach nothing outside its own memory: it imports the function the page
/// gives it to report a panic's message, and the placeholders zip's random-number source
/// (getrandom, used only to write encrypted zips) links in, which the page answers with
/// functions that refuse. Any other import (a host call that could fetch, say) fails here.
#[test]
fn the_validator_imports_nothing_but_its_panic_report() {
    let wasm = std::fs::read(pkg().join("bcf_selfcheck.wasm")).unwrap();
    assert_eq!(&wasm[..8], b"\0asm\x01\0\0\0", "a WebAssembly module");
    let imports = wasm_imports(&wasm);
    assert!(imports.contains(&("bcf".to_string(), "reader_panicked".to_string())), "{imports:?}");
    let placeholder = |(module, name): &(String, String)| match module.as_str() {
        "__wbindgen_placeholder__" => {
            name.starts_with("__wbg_getRandomValues_")
                || ["__wbindgen_object_drop_ref", "__wbindgen_describe"].contains(&name.as_str())
        }
        "__wbindgen_externref_xform__" => name.starts_with("__wbindgen_externref_"),
        _ => false,
    };
    let other: Vec<_> = imports.iter().filter(|i| i.0 != "bcf" && !placeholder(i)).collect();
    assert!(other.is_empty(), "imports the page does not provide: {other:?}");
}

/// A module's imports, (module, name), from its import section.
fn wasm_imports(wasm: &[u8]) -> Vec<(String, String)> {
    fn leb(b: &[u8], at: &mut usize) -> u64 {
        let (mut v, mut shift) = (0u64, 0);
        loop {
            let byte = b[*at];
            *at += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return v;
            }
            shift += 7;
        }
    }
    fn name(b: &[u8], at: &mut usize) -> String {
        let n = leb(b, at) as usize;
        *at += n;
        String::from_utf8_lossy(&b[*at - n..*at]).into_owned()
    }
    let mut at = 8;
    while at < wasm.len() {
        let id = wasm[at];
        at += 1;
        let size = leb(wasm, &mut at) as usize;
        if id != 2 {
            at += size;
            continue;
        }
        let mut imports = Vec::new();
        for _ in 0..leb(wasm, &mut at) {
            let (module, field) = (name(wasm, &mut at), name(wasm, &mut at));
            let kind = wasm[at];
            at += 1;
            match kind {
                0 => _ = leb(wasm, &mut at),
                1 | 2 => {
                    at += usize::from(kind == 1); // a table's element type
                    let flags = leb(wasm, &mut at);
                    leb(wasm, &mut at);
                    if flags & 1 == 1 {
                        leb(wasm, &mut at);
                    }
                }
                _ => at += 2, // a global: value type and mutability
            }
            imports.push((module, field));
        }
        return imports;
    }
    Vec::new()
}
