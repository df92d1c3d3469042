//! Nothing around a run can corrupt it (issue 15): one writer per output folder, a cache that
//! checks what it returns, bcf touching only what it wrote, per-file problems staying per
//! file, and honest bookkeeping after a failure.

use crate::support::{bcf, bcf_bin, fixtures, fs, held_at, ok, published, published_bytes, record, samples_copy};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// A clean run's published outputs.
fn clean(input: &Path) -> BTreeMap<String, Vec<u8>> {
    let out = tempfile::tempdir().unwrap();
    ok(&["run", "--input", input.to_str().unwrap(), "--out", out.path().to_str().unwrap()]);
    published_bytes(out.path())
}

/// `bcf ARGS` (a command that waits) started while `holder` holds the folder, then `holder`
/// killed: its lock dies with it. What the waiting command did.
fn after_killing(mut holder: std::process::Child, args: &[&str]) -> std::process::Output {
    let waiting = Command::new(bcf_bin()).args(args).env("BCF_LOG", "warn").stderr(Stdio::piped()).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    holder.kill().unwrap();
    holder.wait().unwrap();
    waiting.wait_with_output().unwrap()
}

#[test]
fn a_second_writer_is_refused_at_once_or_waits_with_wait() {
    let input = fixtures().join("samples");
    let out = tempfile::tempdir().unwrap();
    let (i, o) = (input.to_str().unwrap(), out.path().to_str().unwrap());
    let first = held_at(&["run", "--input", i, "--out", o], "after-validate");
    let second = bcf(&["run", "--input", i, "--out", o]);
    assert_eq!(second.status.code(), Some(1));
    let err = String::from_utf8_lossy(&second.stderr);
    let pid = first.id().to_string();
    assert!(
        err.contains(&format!("another bcf (pid {pid}")) && err.contains("`bcf run`") && err.contains("--wait"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let status = ok(&["status", "--out", o]);
    assert!(status.contains(&format!("a command is writing this folder now: `bcf run`, pid {pid}")), "{status}");
    // With --wait, the second runs once the first is gone (killed here: its lock dies with it).
    let done = after_killing(first, &["run", "--wait", "--input", i, "--out", o]);
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    assert_eq!(published_bytes(out.path()), clean(&input));
}

/// A rerun started while the folder's first run is still writing has no record to repeat yet:
/// it is refused naming that run, or with --wait it waits for the run to end, then repeats what
/// that run left undone.
#[test]
fn a_rerun_during_the_first_run_names_it_or_waits_for_it() {
    let input = fixtures().join("samples");
    let out = tempfile::tempdir().unwrap();
    let (i, o) = (input.to_str().unwrap(), out.path().to_str().unwrap());
    let first = held_at(&["run", "--input", i, "--out", o], "after-validate");
    let refused = bcf(&["rerun", "--out", o]);
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("another bcf (pid {}", first.id())) && err.contains("--wait"), "{err}");
    let done = after_killing(first, &["rerun", "--wait", "--out", o]);
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    assert_eq!(published_bytes(out.path()), clean(&input), "the rerun finished what the killed run began");
}

/// Runs and reruns started together over the same folder, with different inputs, some waiting
/// and some not: every publish is one input's whole outputs, no cache record lies, and a plain
/// run afterwards equals a clean one.
#[test]
fn overlapping_runs_and_reruns_never_mix_outputs_or_poison_the_cache() {
    let all = samples_copy(|_| true);
    let some = samples_copy(|r| r.starts_with("2020-21") || r.starts_with("2023-25") || r.starts_with("allocations"));
    let (clean_all, clean_some) = (clean(all.path()), clean(some.path()));
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap();
    for trial in 0..6u64 {
        let mut children = Vec::new();
        for k in 0..3u64 {
            let input = if (trial + k) % 2 == 0 { all.path() } else { some.path() };
            let mut cmd = Command::new(bcf_bin());
            match (trial + k) % 3 {
                0 => cmd.args(["run", "--wait", "--input", input.to_str().unwrap(), "--out", o]),
                1 => cmd.args(["run", "--input", input.to_str().unwrap(), "--out", o]),
                _ => cmd.args(["rerun", "--wait", "--out", o]),
            };
            children.push(cmd.env("BCF_LOG", "error").stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap());
            std::thread::sleep(Duration::from_millis((trial * 37 + k * 53) % 120));
        }
        for c in children {
            let o = c.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&o.stderr);
            // Refused: another writer held the lock, or a rerun came first into an empty folder
            // (or waited for a first run that was refused in turn).
            let refused = err.contains("another bcf")
                || err.contains("holds no bcf outputs")
                || err.contains("ended without one");
            assert!(o.status.success() || refused, "exit {:?}: {err}", o.status);
        }
        let now = published_bytes(out.path());
        assert!(now == clean_all || now == clean_some, "trial {trial}: the published outputs are one input's, whole");
        for snapshot in
            fs::files(&out.path().join("snapshots")).iter().filter(|p| p.ends_with("national_totals.parquet"))
        {
            let dir = snapshot.parent().unwrap();
            let kept = crate::support::comparable(fs::tree_bytes(dir));
            assert!(kept == clean_all || kept == clean_some, "trial {trial}: {} is one input's, whole", dir.display());
        }
    }
    ok(&["run", "--input", all.path().to_str().unwrap(), "--out", o]);
    assert_eq!(published_bytes(out.path()), clean_all, "a plain run afterwards equals a clean run");
    ok(&["rerun", "--out", o, "--area", "E10000016"]);
    assert_eq!(published_bytes(out.path()), clean_all, "Kent's files re-read: the cache agreed with them");
}

#[test]
fn a_persons_files_in_the_output_folder_are_kept() {
    let input = fixtures().join("samples");
    let out = tempfile::tempdir().unwrap();
    let (i, o) = (input.to_str().unwrap(), out.path().to_str().unwrap());
    ok(&["run", "--input", i, "--out", o, "--keep", "1"]);
    let mine = [
        "Letter to Kent.docx",
        "feedback/Letter to Kent.docx",
        "lines/financial_year=2010-11/notes.txt",
        "snapshots/README.txt",
        "snapshots/000001/feedback/Letter to Camden.docx",
        ".bcf/notes.txt",
    ];
    for m in mine {
        let p = out.path().join(m);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, m).unwrap();
    }
    // New publishes replace snapshot 000001, which bcf then removes: all but the person's file.
    let fewer = samples_copy(|r| r.starts_with("2015-16"));
    ok(&["run", "--input", fewer.path().to_str().unwrap(), "--out", o, "--keep", "1"]);
    ok(&["run", "--input", i, "--out", o, "--keep", "1"]);
    for m in mine {
        assert_eq!(std::fs::read_to_string(out.path().join(m)).unwrap(), m, "{m} is kept");
    }
    let left: Vec<String> =
        fs::files(&out.path().join("snapshots/000001")).iter().map(|p| fs::rel(out.path(), p)).collect();
    assert_eq!(left, ["snapshots/000001/feedback/Letter to Camden.docx"], "only what bcf did not write is left");
    assert_eq!(published_bytes(out.path()), clean(&input));
}

#[test]
fn folders_that_would_let_a_run_read_or_overwrite_itself_are_refused() {
    let input = samples_copy(|_| true);
    let i = input.path().to_str().unwrap();
    let before = fs::tree_bytes(input.path());
    for out in [input.path().to_path_buf(), input.path().join("out"), input.path().join("2023-25")] {
        let o = bcf(&["run", "--input", i, "--out", out.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(1), "{}", out.display());
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("would read its own outputs"), "{err}");
    }
    assert_eq!(fs::tree_bytes(input.path()), before, "nothing touched");
    let o = bcf(&["run", "--input", input.path().join("2023-25").to_str().unwrap(), "--out", i]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("lies inside --out"));

    // A non-empty folder bcf never wrote to: refused, unless forced; its files are kept.
    let share = tempfile::tempdir().unwrap();
    std::fs::write(share.path().join("Budget 2024.xlsx"), b"someone's").unwrap();
    let s = share.path().to_str().unwrap();
    let o = bcf(&["run", "--input", i, "--out", s]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("Budget 2024.xlsx") && err.contains("--force"), "{err}");
    assert!(!share.path().join(".bcf").exists(), "nothing created");
    ok(&["run", "--force", "--input", i, "--out", s]);
    assert_eq!(std::fs::read(share.path().join("Budget 2024.xlsx")).unwrap(), b"someone's");
    ok(&["run", "--input", i, "--out", s]);
}

#[cfg(unix)]
#[test]
fn links_in_the_output_folder_are_never_written_through() {
    let input = fixtures().join("samples");
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(elsewhere.path().join("mail-out.csv"), b"kept").unwrap();
    let out = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), out.path().join("snapshots")).unwrap();
    std::fs::create_dir(out.path().join(".bcf")).unwrap();
    let o = bcf(&["run", "--input", input.to_str().unwrap(), "--out", out.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is a link"), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(fs::files(elsewhere.path()).len(), 1, "nothing written through the link");

    // OUT/current as a folder of someone's: refused, kept.
    let out = tempfile::tempdir().unwrap();
    std::fs::create_dir(out.path().join(".bcf")).unwrap();
    std::fs::create_dir(out.path().join("current")).unwrap();
    std::fs::write(out.path().join("current/notes.txt"), b"mine").unwrap();
    let o = bcf(&["run", "--input", input.to_str().unwrap(), "--out", out.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is not the link bcf makes"));
    assert_eq!(std::fs::read(out.path().join("current/notes.txt")).unwrap(), b"mine");
}

/// Whether this process runs as root (which reads any file, whatever its permissions).
fn root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| s.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false)
}

#[cfg(unix)]
#[test]
fn a_file_or_folder_that_cannot_be_read_is_a_row_and_the_run_completes() {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    fs::copy_tree(&fixtures().join("samples"), &input, |r| r.starts_with("2015-16") || r.starts_with("allocations"));
    let returns = fs::files(&input).len();
    std::fs::write(input.join(std::ffi::OsStr::from_bytes(b"Caf\xe9 return.xlsx")), b"x").unwrap();
    std::fs::write(input.join("locked.xlsx"), b"x").unwrap();
    std::fs::create_dir(input.join("private")).unwrap();
    std::fs::write(input.join("private/Kent.xlsx"), b"x").unwrap();
    assert!(Command::new("mkfifo").arg(input.join("pipe.xlsx")).status().unwrap().success());
    std::os::unix::fs::symlink("/etc/passwd", input.join("linked.xlsx")).unwrap();
    std::fs::set_permissions(input.join("locked.xlsx"), std::fs::Permissions::from_mode(0o000)).unwrap();
    std::fs::set_permissions(input.join("private"), std::fs::Permissions::from_mode(0o000)).unwrap();
    let out = dir.path().join("out");
    // Permissions bind only an ordinary user: as root, the run drops to nobody.
    let mut cmd = if root() {
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        for p in fs::files(&input) {
            let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644));
        }
        std::fs::set_permissions(input.join("locked.xlsx"), std::fs::Permissions::from_mode(0o000)).unwrap();
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"]).arg(bcf_bin());
        c
    } else {
        Command::new(bcf_bin())
    };
    let o = cmd.args(["run", "--input"]).arg(&input).arg("--out").arg(&out).env("BCF_LOG", "warn").output().unwrap();
    let _ = std::fs::set_permissions(input.join("private"), std::fs::Permissions::from_mode(0o755));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let t = crate::support::read_parquet(&published(&out).join("submissions.parquet"));
    let row = |name: &str| {
        t.iter().find(|r| r["source_file"] == name).unwrap_or_else(|| panic!("a row for {name}: {t:#?}")).clone()
    };
    assert_eq!(row("Caf\\xE9 return.xlsx")["status"], "rejected");
    assert_eq!(row("locked.xlsx")["status"], "rejected");
    assert_eq!(row("private/")["status"], "rejected");
    assert_eq!(row("pipe.xlsx")["status"], "skipped");
    assert_eq!(row("linked.xlsx")["status"], "skipped");
    let findings = crate::support::read_parquet(&published(&out).join("findings.parquet"));
    let message = |name: &str| {
        findings.iter().find(|f| f["source_file"] == name).map(|f| f["message"].clone()).unwrap_or_default()
    };
    assert!(message("Caf\\xE9 return.xlsx").contains("not valid text (UTF-8)"), "{findings:#?}");
    assert!(message("locked.xlsx").contains("permission denied"), "{findings:#?}");
    assert!(message("private/").contains("folder cannot be read"), "{findings:#?}");
    let accepted = t.iter().filter(|r| r["status"] == "accepted").count();
    assert_eq!(accepted, returns, "every return that could be read counts");
}

#[test]
fn a_file_changed_after_ingest_is_not_cached_and_a_rerun_retries_it() {
    let input = samples_copy(|r| r.starts_with("2015-16") || r.starts_with("allocations"));
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap();
    ok(&["ingest", "--input", input.path().to_str().unwrap(), "--out", o]);
    let kent = input.path().join("2015-16/Kent BCF 2015-16 Planning Template.xlsx");
    let bytes = std::fs::read(&kent).unwrap();
    std::fs::write(&kent, b"half-saved").unwrap();
    ok(&["validate", "--out", o]);
    let r = record(out.path());
    let kent_rec = r["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["source_file"] == "2015-16/Kent BCF 2015-16 Planning Template.xlsx")
        .unwrap();
    assert_eq!(kent_rec["parse"], "failed");
    assert!(kent_rec["first_error"].as_str().unwrap().contains("changed while bcf was reading it"), "{kent_rec}");
    std::fs::write(&kent, bytes).unwrap();
    let status = ok(&["status", "--out", o]);
    assert!(
        status.contains("rerun would run: validate, normalise, aggregate")
            || status.contains("rerun would run: normalise"),
        "{status}"
    );
    ok(&["rerun", "--out", o]);
    ok(&["rerun", "--out", o]);
    let r = record(out.path());
    assert!(r["files"].as_array().unwrap().iter().all(|f| f["status"] == "accepted"), "{r}");
}

#[test]
fn after_a_failure_the_record_says_failed_and_temporary_files_are_swept() {
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap();
    ok(&["run", "--input", fixtures().join("samples").to_str().unwrap(), "--out", o]);
    std::fs::write(out.path().join(".run.json.bcf-tmp-999999-0"), b"").unwrap();
    std::fs::write(out.path().join(".bcf/.validate.json.bcf-tmp-999999-3"), b"{").unwrap();
    // A manifest URL nobody answers: the run fails in ingest.
    let f = bcf(&["run", "--input", "http://127.0.0.1:9/manifest.json", "--out", o, "--http-retries", "0"]);
    assert_eq!(f.status.code(), Some(1));
    assert!(
        !out.path().join(".run.json.bcf-tmp-999999-0").exists()
            && !out.path().join(".bcf/.validate.json.bcf-tmp-999999-3").exists()
    );
    let r = record(out.path());
    assert_eq!(r["status"], "failed");
    assert!(r["error"].as_str().unwrap().contains("cannot fetch the manifest"), "{r}");
    assert_eq!(r["stages"][0]["status"], "failed");
    let status = ok(&["status", "--out", o]);
    assert!(status.contains(": failed") && status.contains("cannot fetch the manifest"), "{status}");
    assert!(published(out.path()).join("national_totals.parquet").exists(), "the last publish stands");
}

#[test]
fn a_damaged_journal_says_how_to_recover() {
    let out = tempfile::tempdir().unwrap();
    let (i, o) = (fixtures().join("samples"), out.path().to_str().unwrap());
    ok(&["run", "--input", i.to_str().unwrap(), "--out", o]);
    std::fs::write(out.path().join(".bcf/publish.json"), b"{\"snapshot\": {\"id\": ").unwrap();
    let f = bcf(&["run", "--input", i.to_str().unwrap(), "--out", o]);
    assert_eq!(f.status.code(), Some(1));
    let err = String::from_utf8_lossy(&f.stderr);
    assert!(err.contains("publish.json is damaged") && err.contains("still points at the last whole publish"), "{err}");
    assert!(err.contains("delete the damaged file and run again"), "{err}");
    std::fs::remove_file(out.path().join(".bcf/publish.json")).unwrap();
    ok(&["run", "--input", i.to_str().unwrap(), "--out", o]);
}

/// A BI tool reading `OUT/current` while publishes run: each time it resolves `current` once
/// and reads the national totals and the lines beneath it, it gets one publish's files, whole.
#[test]
fn a_reader_during_publishes_sees_one_publish_whole() {
    let all = samples_copy(|_| true);
    let some = samples_copy(|r| r.starts_with("2020-21") || r.starts_with("2023-25") || r.starts_with("allocations"));
    let consistent = |tree: &BTreeMap<String, Vec<u8>>| -> BTreeMap<String, Vec<u8>> {
        tree.iter()
            .filter(|(k, _)| *k == "national_totals.parquet" || k.starts_with("lines/"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let (want_all, want_some) = (consistent(&clean(all.path())), consistent(&clean(some.path())));
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap().to_string();
    ok(&["run", "--input", all.path().to_str().unwrap(), "--out", &o]);
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (done, current) = (done.clone(), out.path().join("current"));
        std::thread::spawn(move || {
            let (mut whole, mut gone) = (0, 0);
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let Ok(snapshot) = std::fs::canonicalize(&current) else { continue };
                // A snapshot pruned while it was read (`--keep`) is gone, never mixed: its listing
                // afterwards no longer matches what was read.
                let read = std::panic::catch_unwind(|| {
                    let tree = fs::tree_bytes(&snapshot);
                    let listed: Vec<String> = fs::files(&snapshot).iter().map(|p| fs::rel(&snapshot, p)).collect();
                    (tree, listed)
                });
                let (tree, listed) = read.unwrap_or_default();
                if tree.is_empty() || !tree.keys().eq(listed.iter()) {
                    gone += 1;
                    continue;
                }
                let seen = consistent(&tree);
                assert!(
                    seen == want_all || seen == want_some,
                    "{}: totals and lines of one publish",
                    snapshot.display()
                );
                whole += 1;
            }
            (whole, gone)
        })
    };
    for k in 0..6 {
        let input = if k % 2 == 0 { some.path() } else { all.path() };
        ok(&["run", "--input", input.to_str().unwrap(), "--out", &o, "--keep", "2"]);
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let (whole, _gone) = reader.join().expect("the reader never saw a mixed publish");
    assert!(whole > 0, "the reader read while publishes ran");
}
