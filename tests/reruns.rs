//! Stage reruns, incremental runs and crash safety (SIGKILL at known points).

use crate::support::{bcf, fixtures, ok, published, published_bytes, record, samples_copy, stage_count};
use std::collections::BTreeMap;
use std::path::Path;

/// A clean run over `input` into a fresh folder: the reference outputs.
fn clean_outputs(input: &Path) -> BTreeMap<String, Vec<u8>> {
    let out = tempfile::tempdir().unwrap();
    ok(&["run", "--input", input.to_str().unwrap(), "--out", out.path().to_str().unwrap()]);
    published_bytes(out.path())
}

/// The published outputs, or none before the first publish.
fn visible(out: &Path) -> BTreeMap<String, Vec<u8>> {
    if out.join("current").exists() {
        published_bytes(out)
    } else {
        BTreeMap::new()
    }
}

/// Starts `bcf run` that stops at `point`, waits for it to get there, and kills it (SIGKILL).
pub fn run_killed_at(input: &Path, out: &Path, point: &str) {
    let mut child =
        crate::support::held_at(&["run", "--input", input.to_str().unwrap(), "--out", out.to_str().unwrap()], point);
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
}

#[test]
fn killed_runs_leave_outputs_intact_and_the_next_run_matches_a_clean_run() {
    let all = samples_copy(|_| true);
    let reference = clean_outputs(all.path());
    let some = samples_copy(|r| r.starts_with("2015-16") || r.starts_with("allocations"));
    let points = [
        "during-ingest",
        "during-parse",
        "after-validate",
        "during-normalise",
        "after-normalise",
        "during-publish",
        "during-publish-after-swap",
    ];
    for point in points {
        let out = tempfile::tempdir().unwrap();
        // Outputs published by an earlier run over fewer files.
        ok(&["run", "--input", some.path().to_str().unwrap(), "--out", out.path().to_str().unwrap()]);
        let before = published_bytes(out.path());
        run_killed_at(all.path(), out.path(), point);
        let after_kill = visible(out.path());
        // Whatever the moment, readers see one whole publish: the old one, or the new one.
        assert!(after_kill == before || after_kill == reference, "{point}: the visible outputs are one whole publish");
        if !point.starts_with("during-publish") {
            assert_eq!(after_kill, before, "{point}: published outputs untouched");
        }
        crate::support::read_parquet(&published(out.path()).join("national_totals.parquet"));
        let status = ok(&["status", "--out", out.path().to_str().unwrap()]);
        assert!(status.contains("interrupted"), "{point}: status shows the killed run:\n{status}");
        ok(&["run", "--input", all.path().to_str().unwrap(), "--out", out.path().to_str().unwrap()]);
        assert_eq!(published_bytes(out.path()), reference, "{point}: the next run equals a clean run");
    }
}

#[test]
fn rerun_executes_only_unfinished_stages() {
    let out = tempfile::tempdir().unwrap();
    let input = fixtures().join("samples");
    run_killed_at(&input, out.path(), "after-validate");
    let status = ok(&["status", "--out", out.path().to_str().unwrap()]);
    assert!(status.contains("rerun would run: normalise, aggregate"), "{status}");
    let stdout = ok(&["rerun", "--out", out.path().to_str().unwrap()]);
    assert!(stdout.contains("rerunning: normalise, aggregate"), "{stdout}");
    assert_eq!(published_bytes(out.path()), clean_outputs(&input));
    let r = record(out.path());
    assert_eq!(r["command"], "rerun");
    assert!(r["stages"].as_array().unwrap().iter().all(|s| s["status"] == "success"), "{r}");
    assert!(ok(&["rerun", "--out", out.path().to_str().unwrap()]).contains("nothing to rerun"));
}

/// How many sample files there are (workbooks, all of them).
fn sample_count() -> u64 {
    crate::support::fs::files(&fixtures().join("samples")).len() as u64
}

#[test]
fn a_changed_file_is_the_only_one_parsed_again() {
    let input = samples_copy(|_| true);
    let n = sample_count();
    let out = tempfile::tempdir().unwrap();
    let args = ["run", "--input", input.path().to_str().unwrap(), "--out", out.path().to_str().unwrap()];
    ok(&args);
    assert_eq!(stage_count(out.path(), "validate", "parsed"), n);
    let first = record(out.path());
    let snapshot = first["snapshot"].clone();

    ok(&args);
    assert_eq!(stage_count(out.path(), "validate", "parsed"), 0, "nothing changed: nothing parsed");
    assert_eq!(stage_count(out.path(), "validate", "cached"), n);
    assert_eq!(stage_count(out.path(), "normalise", "up_to_date"), 1, "outputs already match the inputs");
    let r = record(out.path());
    assert_eq!(r["status"], "success");
    assert_eq!(r["snapshot"], snapshot, "nothing was published again");
    for s in r["stages"].as_array().unwrap() {
        assert_eq!(s["status"], "success", "{s}");
        assert!(s["started_at"].is_string() && s["finished_at"].is_string(), "{s}");
    }
    let mut carried = first["files"].clone();
    for f in carried.as_array_mut().unwrap().iter_mut().filter(|f| f["parse"] == "parsed") {
        f["parse"] = "cached".into();
    }
    assert_eq!(r["files"], carried, "every file's record is carried over, its parse now cached");

    // Same workbook, different bytes: re-zipped without compression.
    let kent = input.path().join("2023-25/BCF 2023-25 - Kent.xlsx");
    rezip_stored(&kent);
    ok(&args);
    assert_eq!(stage_count(out.path(), "validate", "parsed"), 1);
    assert_eq!(published_bytes(out.path()), clean_outputs(input.path()), "incremental equals clean");
    let r = record(out.path());
    let kent_rec =
        r["files"].as_array().unwrap().iter().find(|f| f["source_file"] == "2023-25/BCF 2023-25 - Kent.xlsx").unwrap();
    assert_eq!(kent_rec["parse"], "parsed");
}

#[test]
fn scoped_reruns_reparse_only_their_files_and_never_double_count() {
    let input = fixtures().join("samples");
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap();
    let t = ok(&["run", "--input", input.to_str().unwrap(), "--out", o]);
    assert!(t.contains("accepted"), "{t}");
    let reference = published_bytes(out.path());
    let kent_files = crate::support::fs::files(&input)
        .iter()
        .filter(|p| p.file_name().unwrap().to_string_lossy().contains("Kent"))
        .count() as u64;

    let stdout = ok(&["rerun", "--out", o, "--area", "E10000016"]);
    assert!(stdout.contains("rerunning: validate, normalise, aggregate"), "{stdout}");
    assert_eq!(stage_count(out.path(), "validate", "parsed"), kent_files, "Kent's returns");
    assert_eq!(published_bytes(out.path()), reference, "totals unchanged, nothing counted twice");

    ok(&["rerun", "--out", o, "--template", "bcf-planning-2023-25"]);
    assert_eq!(stage_count(out.path(), "validate", "parsed"), 4);
    ok(&["rerun", "--out", o, "--area", "E10000016", "--template", "bcf-planning-2015-16"]);
    assert_eq!(stage_count(out.path(), "validate", "parsed"), 1);
    assert_eq!(published_bytes(out.path()), reference);
}

#[test]
fn stages_run_alone_equal_a_whole_run() {
    let input = fixtures().join("samples");
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap();
    let fail = bcf(&["validate", "--out", o]);
    assert_eq!(fail.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&fail.stderr).contains("bcf ingest"), "says what to run first");
    let ingested = ok(&["ingest", "--input", input.to_str().unwrap(), "--out", o]);
    assert!(ingested.contains(&format!("{} workbooks", sample_count())), "{ingested}");
    ok(&["validate", "--out", o]);
    assert!(!out.path().join("current").exists(), "validate publishes nothing");
    let fail = bcf(&["aggregate", "--out", o]);
    assert!(
        String::from_utf8_lossy(&fail.stderr).contains("run `bcf normalise` first"),
        "aggregate needs normalise's tables"
    );
    ok(&["normalise", "--out", o]);
    assert!(!out.path().join("current").exists(), "normalise stages its tables for the next publish");
    ok(&["aggregate", "--out", o]);
    assert_eq!(published_bytes(out.path()), clean_outputs(&input));
}

/// A whole run and the stages run one by one give the same outputs and records, and a
/// duplicate, a lock file or a file that is no workbook is never parsed.
#[test]
fn a_whole_run_equals_stages_run_alone() {
    let input = samples_copy(|_| true);
    let n = sample_count();
    let kent = input.path().join("2023-25/BCF 2023-25 - Kent.xlsx");
    std::fs::create_dir_all(input.path().join("copies")).unwrap();
    std::fs::copy(&kent, input.path().join("copies/Kent again.xlsx")).unwrap();
    std::fs::copy(&kent, input.path().join("2023-25/~$BCF 2023-25 - Kent.xlsx")).unwrap();
    std::fs::write(input.path().join("notes.txt"), "not a return").unwrap();
    let i = input.path().to_str().unwrap();

    let whole = tempfile::tempdir().unwrap();
    ok(&["run", "--input", i, "--out", whole.path().to_str().unwrap()]);
    assert_eq!(stage_count(whole.path(), "ingest", "duplicates"), 1);
    assert_eq!(stage_count(whole.path(), "ingest", "skipped"), 2);
    assert_eq!(stage_count(whole.path(), "validate", "parsed"), n, "the duplicate is not parsed");
    let r = record(whole.path());
    let parse_of =
        |name: &str| r["files"].as_array().unwrap().iter().find(|f| f["source_file"] == name).unwrap()["parse"].clone();
    assert_eq!(parse_of("copies/Kent again.xlsx"), "none");
    assert_eq!(parse_of("notes.txt"), "none");
    assert_eq!(parse_of("2023-25/BCF 2023-25 - Kent.xlsx"), "parsed");

    let alone = tempfile::tempdir().unwrap();
    let o = alone.path().to_str().unwrap();
    ok(&["ingest", "--input", i, "--out", o]);
    ok(&["validate", "--out", o]);
    assert_eq!(stage_count(alone.path(), "validate", "parsed"), n);
    ok(&["normalise", "--out", o]);
    ok(&["aggregate", "--out", o]);
    assert_eq!(published_bytes(whole.path()), published_bytes(alone.path()));
    assert_eq!(record(alone.path())["files"], r["files"], "the same record of every file");

    // Run again after one file changed: only that one is parsed. Its old copy is no longer a
    // duplicate, and its parse, like the others', comes from the cache.
    rezip_stored(&kent);
    ok(&["run", "--input", i, "--out", whole.path().to_str().unwrap()]);
    assert_eq!(stage_count(whole.path(), "ingest", "duplicates"), 0);
    assert_eq!(stage_count(whole.path(), "validate", "parsed"), 1);
    assert_eq!(stage_count(whole.path(), "validate", "cached"), n);
}

#[test]
fn findings_the_cross_file_rules_add_survive_a_stage_run_alone() {
    // Two Kent returns, byte-different but with the same submission date, conflict.
    let input = samples_copy(|r| r.starts_with("2015-16") || r.starts_with("allocations"));
    let kent = input.path().join("2015-16/Kent BCF 2015-16 Planning Template.xlsx");
    let copy = input.path().join("2015-16/Kent copy.xlsx");
    std::fs::copy(&kent, &copy).unwrap();
    rezip_stored(&copy);
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap();
    ok(&["ingest", "--input", input.path().to_str().unwrap(), "--out", o]);
    ok(&["validate", "--out", o]);
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join(".bcf/validate.json")).unwrap()).unwrap();
    let added: Vec<&str> = state["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["parse"].get("cached").is_some())
        .flat_map(|e| e["cross_findings"].as_array().into_iter().flatten())
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(added, ["submission-conflict", "submission-conflict"], "kept beside the cached parses");
    ok(&["normalise", "--out", o]);
    ok(&["aggregate", "--out", o]);
    assert_eq!(published_bytes(out.path()), clean_outputs(input.path()));
}

#[test]
fn validate_json_refers_to_the_parse_cache_and_says_so_when_it_is_gone() {
    let input = fixtures().join("samples");
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap();
    ok(&["ingest", "--input", input.to_str().unwrap(), "--out", o]);
    ok(&["validate", "--out", o]);
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join(".bcf/validate.json")).unwrap()).unwrap();
    let entries = state["files"].as_array().unwrap();
    assert!(entries.iter().all(|e| e["parse"].get("cached").is_some()), "every readable parse is in the cache");
    std::fs::remove_file(out.path().join(".bcf/cache.log")).unwrap();
    let fail = bcf(&["normalise", "--out", o]);
    assert_eq!(fail.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&fail.stderr);
    assert!(
        stderr.contains("is no longer in the parse cache") && stderr.contains("run `bcf validate` again"),
        "{stderr}"
    );
    ok(&["validate", "--out", o]);
    ok(&["normalise", "--out", o]);
    ok(&["aggregate", "--out", o]);
    assert_eq!(published_bytes(out.path()), clean_outputs(&input));
}

#[test]
fn run_record_format() {
    let out = tempfile::tempdir().unwrap();
    ok(&["run", "--input", fixtures().join("samples").to_str().unwrap(), "--out", out.path().to_str().unwrap()]);
    let r = record(out.path());
    assert_eq!(r["format"], "bcf-run/1");
    assert_eq!(r["tool_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(r["status"], "success");
    assert!(r["run_id"].as_str().unwrap().len() > 10);
    assert!(r["started_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(r["config"]["baseline_year"], "2015-16");
    assert_eq!(r["snapshot"], "000001");
    let stages: Vec<&str> = r["stages"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(stages, ["ingest", "validate", "normalise", "aggregate"]);
    for s in r["stages"].as_array().unwrap() {
        assert_eq!(s["status"], "success");
        assert!(s["duration_ms"].is_u64());
    }
    let lines = crate::support::fs::files(&published(out.path()).join("lines"))
        .iter()
        .map(|p| crate::support::read_parquet(p).len() as u64)
        .sum::<u64>();
    assert_eq!(stage_count(out.path(), "normalise", "lines"), lines);
    let schemas = r["schemas"].as_object().unwrap();
    let path = crate::support::project_root().join("schemas/templates/bcf-planning-2023-25.toml");
    let bytes = std::fs::read(path).unwrap();
    use sha2::Digest;
    assert_eq!(schemas["templates/bcf-planning-2023-25.toml"], hex::encode(sha2::Sha256::digest(bytes)));
    let files = r["files"].as_array().unwrap();
    assert_eq!(files.len() as u64, sample_count());
    assert!(files
        .iter()
        .all(|f| f["status"] == "accepted" && f["parse"] == "parsed" && f["sha256"].as_str().unwrap().len() == 64));
}

/// Rewrites a zip (xlsx) with every entry stored uncompressed: same content, new bytes.
fn rezip_stored(path: &Path) {
    use std::io::{Read, Write};
    let src = std::fs::read(path).unwrap();
    let mut zin = zip::ZipArchive::new(std::io::Cursor::new(src)).unwrap();
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut zout = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        for i in 0..zin.len() {
            let mut f = zin.by_index(i).unwrap();
            let name = f.name().unwrap().to_string();
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap();
            zout.start_file(name, opts).unwrap();
            zout.write_all(&data).unwrap();
        }
        zout.finish().unwrap();
    }
    std::fs::write(path, buf.into_inner()).unwrap();
}

#[test]
fn a_cache_record_cut_short_by_a_kill_is_ignored() {
    let input = samples_copy(|r| r.starts_with("2015-16") || r.starts_with("allocations"));
    let out = tempfile::tempdir().unwrap();
    let args = ["run", "--input", input.path().to_str().unwrap(), "--out", out.path().to_str().unwrap()];
    ok(&args);
    let log = out.path().join(".bcf/cache.log");
    let n = crate::support::fs::files(input.path()).len();
    let lines = std::fs::read_to_string(&log).unwrap().lines().count();
    assert_eq!(lines, n, "one cache record per parsed workbook");
    // A killed run can leave half a record; a changed file forces validation past the fast path.
    use std::io::Write;
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(b"{\"key\":\"abc\",\"sha256\":\"12")
        .unwrap();
    rezip_stored(&input.path().join("2015-16/Barnsley_BCF_2015_16.xlsx"));
    ok(&args);
    assert_eq!(stage_count(out.path(), "validate", "parsed"), 1);
    assert_eq!(stage_count(out.path(), "validate", "cached"), n as u64 - 1);
    assert_eq!(published_bytes(out.path()), clean_outputs(input.path()));
    // The record written after the broken line was kept: nothing to parse now.
    rezip_stored(&input.path().join("2015-16/Kent BCF 2015-16 Planning Template.xlsx"));
    ok(&args);
    assert_eq!(stage_count(out.path(), "validate", "parsed"), 1, "only Kent; Barnsley came from the cache");
}
