//! The edges of a run: files other readers read are read here too (or refused with the right
//! cause), one memory budget holds for the whole run, and the decisions file, odd names, a
//! read-only output folder, a full disk and typed control characters each get what a person
//! would expect.

use crate::support::hostile_gen::{self as gen};
use crate::support::{bcf, bcf_bin, fixtures, published, run_on, samples_copy, submission};
use bcf::model::Status;
use bcf::tables::Tables;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One file run alone through the pipeline (the library), named `name`.
fn alone(name: &str, bytes: &[u8]) -> Tables {
    let input = tempfile::tempdir().unwrap();
    std::fs::write(input.path().join(name), bytes).unwrap();
    run_on(input.path()).1
}

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(rel)).unwrap_or_else(|e| panic!("fixtures/{rel}: {e}"))
}

/// The money lines a run found, as text.
fn lines(t: &Tables) -> Vec<String> {
    let mut v: Vec<String> = t
        .lines
        .iter()
        .map(|l| format!("{} {} {} {} {}!{}", l.financial_year, l.basis, l.funding_source, l.amount, l.sheet, l.cell))
        .collect();
    v.sort();
    v
}

fn only_finding(t: &Tables, name: &str) -> (String, String) {
    let f: Vec<_> = t.findings.iter().filter(|f| f.source_file == name).collect();
    assert_eq!(f.len(), 1, "{name}: {f:#?}");
    (f[0].rule.id().to_string(), f[0].message.clone())
}

#[test]
fn files_other_readers_read_are_read_and_formats_too_old_are_named() {
    let kent = lines(&alone("Kent.xlsx", &std::fs::read(gen::kent_path()).unwrap()));
    assert!(!kent.is_empty());
    // Saved as an Excel template: still a return.
    let template = alone("Kent.xltx", &fixture("hostile/saved-as-template.xltx"));
    assert!(submission(&template, "Kent.xltx").status.contributes());
    assert_eq!(lines(&template), kent);
    // Standard (not Agile) encryption with Excel's default password, the algorithm named or
    // left to the flags: decrypted and read; with a password of its own: refused, so saying.
    for name in ["default-password-standard.xlsx", "default-password-standard-flags.xlsx"] {
        let t = alone(name, &fixture(&format!("encrypted/{name}")));
        assert_eq!(lines(&t), kent, "{name} decrypts to Kent");
    }
    let own = alone("own.xlsx", &fixture("encrypted/own-password-standard.xlsx"));
    let (rule, message) = only_finding(&own, "own.xlsx");
    assert_eq!(rule, "file-unreadable");
    assert!(message.contains("password-protected") && message.contains("Encrypt with Password"), "{message}");
    // A workbook in the compound file's mini stream, its last mini block cut short: read (it
    // is no BCF template, and the finding lists the sheets it read).
    let mini = alone("small.xls", &fixture("hostile/xls-mini-stream-short.xls"));
    let (rule, message) = only_finding(&mini, "small.xls");
    assert_eq!(rule, "template-unknown", "{message}");
    assert!(message.contains("its sheets are 'Sheet1'"), "{message}");
    // Excel 2.x and 4.0 workbooks: named, with what to do.
    for (name, version) in [("excel-2-worksheet.xls", "2.x"), ("excel-4-worksheet.xls", "4.0")] {
        let t = alone(name, &fixture(&format!("hostile/{name}")));
        let (rule, message) = only_finding(&t, name);
        assert_eq!(rule, "file-unreadable");
        assert!(message.starts_with(&format!("an Excel {version} workbook, a format too old")), "{message}");
        assert!(message.contains("save it as an Excel workbook (.xlsx)"), "{message}");
    }
}

#[test]
fn a_finding_about_a_damaged_sheet_names_the_sheet_in_its_sheet_column() {
    let kent = std::fs::read(gen::kent_path()).unwrap();
    let entries = gen::unzip(&kent);
    let cover = gen::xlsx_sheet_path(&entries, "2. Cover");
    let damaged = gen::rewrite_zip(&kent, |name, bytes| {
        Some(if name == cover { b"<worksheet><sheetData><row r=\"1\"><c r=\"A1\" t=\"s\"><v>".to_vec() } else { bytes })
    });
    let t = alone("damaged.xlsx", &damaged);
    let f = t.findings.iter().find(|f| f.source_file == "damaged.xlsx").expect("a finding");
    assert_eq!(f.rule.id(), "file-unreadable");
    assert!(f.message.contains("the sheet '2. Cover' is damaged"), "{}", f.message);
    assert_eq!(f.sheet.as_deref(), Some("2. Cover"), "the sheet column says which sheet");
}

/// Runs `bcf` and samples the resident memory of it and every process it starts, every few
/// milliseconds; its output and the peak of the whole tree, in bytes.
fn run_measured(mut cmd: Command) -> (std::process::Output, u64) {
    let child = cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let pid = child.id();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut peak = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(tree_rss(pid));
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            peak
        })
    };
    let out = child.wait_with_output().unwrap();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    (out, sampler.join().unwrap())
}

/// The resident bytes of `pid` and its descendants, from /proc.
fn tree_rss(pid: u32) -> u64 {
    let mut procs: Vec<(u32, u32)> = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(p) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let ppid = stat.rsplit(')').next().and_then(|r| r.split_whitespace().nth(1)).and_then(|v| v.parse().ok());
        procs.extend(ppid.map(|pp| (p, pp)));
    }
    let mut tree = vec![pid];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(procs.iter().filter(|(_, pp)| *pp == parent).map(|(p, _)| *p));
        i += 1;
    }
    let rss = |p: u32| -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{p}/status")).unwrap_or_default();
        let kb = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok());
        kb.unwrap_or(0) * 1024
    };
    tree.into_iter().map(rss).sum()
}

/// The samples and three wide-range `.xls` (each ~1 GB to read), in a fresh input folder.
fn samples_and_three_wide_xls() -> tempfile::TempDir {
    let input = samples_copy(|_| true);
    for name in ["far-corner.xls", "far-corner-camden.xls", "far-corner-barnsley.xls"] {
        std::fs::write(input.path().join(name), fixture(&format!("hostile/{name}"))).unwrap();
    }
    input
}

fn run_cmd(input: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(bcf_bin());
    cmd.args(["run", "--input"]).arg(input).arg("--out").arg(out).args(extra).env("BCF_LOG", "warn");
    cmd
}

#[test]
fn three_wide_xls_under_a_run_budget_keep_the_whole_process_tree_within_it_and_are_read_when_it_grows() {
    let input = samples_and_three_wide_xls();
    let out = tempfile::tempdir().unwrap();
    let (o, peak) = run_measured(run_cmd(input.path(), out.path(), &["--memory-budget", "1024"]));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(peak < 1024 << 20, "bcf and its workers together peaked at {} MiB", peak >> 20);
    let current = published(out.path());
    let subs = crate::support::read_parquet(&current.join("submissions.parquet"));
    let files = crate::support::fs::files(input.path()).len();
    assert_eq!(subs.len(), files, "every file a status");
    let findings = crate::support::read_parquet(&current.join("findings.parquet"));
    for wide in ["far-corner.xls", "far-corner-camden.xls", "far-corner-barnsley.xls"] {
        let f = findings.iter().find(|f| f["source_file"] == wide && f["rule"] == "file-too-large").expect(wide);
        assert!(
            f["message"]
                .contains("the run's memory budget (640 MiB for one file, of 1,024 MiB, set by --memory-budget)"),
            "names the budget and where it came from: {}",
            f["message"]
        );
    }
    // The budget is the run's, not the files': lifted, the three are read (not taken from
    // the cache). (Each is a second return of its area on the same date as the sample's, so
    // the two conflict: that is a rule across files, found once the file is read.)
    let o = run_cmd(input.path(), out.path(), &["--memory-budget", "8192"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(crate::support::stage_count(out.path(), "validate", "parsed") >= 3);
    let current = published(out.path());
    let subs = crate::support::read_parquet(&current.join("submissions.parquet"));
    let findings = crate::support::read_parquet(&current.join("findings.parquet"));
    for wide in ["far-corner.xls", "far-corner-camden.xls", "far-corner-barnsley.xls"] {
        let s = subs.iter().find(|s| s["source_file"] == wide).unwrap();
        assert_eq!(s["template_id"], "bcf-planning-2023-25", "{wide} was read: {s:?}");
        let rules: Vec<&str> =
            findings.iter().filter(|f| f["source_file"] == wide).map(|f| f["rule"].as_str()).collect();
        assert_eq!(rules, ["submission-conflict"], "{wide}: only the conflict with the sample of its area");
    }
}

/// A memory cgroup of 1 GiB (where the test may make one: root, with the v1 memory controller
/// or cgroup v2): bcf finds the limit itself, the kernel kills nothing, every file a status.
#[test]
fn inside_a_1_gib_memory_cgroup_bcf_takes_its_limit_as_the_budget_and_the_kernel_kills_nothing() {
    let Some(cgroup) = Cgroup::make(1 << 30) else {
        eprintln!(
            "no memory cgroup can be made here (not root, or no memory controller): the budget test above stands"
        );
        return;
    };
    let input = samples_and_three_wide_xls();
    let out = tempfile::tempdir().unwrap();
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("echo $$ > '{}' && exec \"$0\" \"$@\"", cgroup.procs().display()))
        .arg(bcf_bin())
        .args(["run", "--input"])
        .arg(input.path())
        .arg("--out")
        .arg(out.path())
        .env("BCF_LOG", "warn");
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(cgroup.oom_kills(), 0, "the kernel killed nothing");
    assert!(cgroup.peak() < 1 << 30, "peak {} MiB", cgroup.peak() >> 20);
    let current = published(out.path());
    let subs = crate::support::read_parquet(&current.join("submissions.parquet"));
    assert_eq!(subs.len(), crate::support::fs::files(input.path()).len(), "every file a status");
    let findings = crate::support::read_parquet(&current.join("findings.parquet"));
    let wide = findings
        .iter()
        .find(|f| f["source_file"] == "far-corner.xls" && f["rule"] == "file-too-large")
        .expect("refused");
    assert!(wide["message"].contains("the container's memory limit"), "{}", wide["message"]);
}

/// A memory cgroup made for one test, removed after it.
struct Cgroup {
    dir: PathBuf,
    v2: bool,
}

impl Cgroup {
    fn make(limit: u64) -> Option<Cgroup> {
        let name = format!("bcf-test-{}", std::process::id());
        let (v1, v2) = (Path::new("/sys/fs/cgroup/memory"), Path::new("/sys/fs/cgroup"));
        let (dir, v2, file) = if v1.join("memory.limit_in_bytes").exists() {
            (v1.join(&name), false, "memory.limit_in_bytes")
        } else if v2.join("cgroup.controllers").exists() {
            (v2.join(&name), true, "memory.max")
        } else {
            return None;
        };
        std::fs::create_dir(&dir).ok()?;
        let cgroup = Cgroup { dir, v2 };
        std::fs::write(cgroup.dir.join(file), limit.to_string()).ok()?;
        if !v2 {
            let _ = std::fs::write(cgroup.dir.join("memory.memsw.limit_in_bytes"), limit.to_string());
        }
        Some(cgroup)
    }

    fn procs(&self) -> PathBuf {
        self.dir.join("cgroup.procs")
    }

    fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.dir.join(file)).unwrap_or_default()
    }

    fn oom_kills(&self) -> u64 {
        let text = if self.v2 { self.read("memory.events") } else { self.read("memory.oom_control") };
        text.lines().find_map(|l| l.strip_prefix("oom_kill ")).and_then(|n| n.trim().parse().ok()).unwrap_or(0)
    }

    fn peak(&self) -> u64 {
        let file = if self.v2 { "memory.peak" } else { "memory.max_usage_in_bytes" };
        self.read(file).trim().parse().unwrap_or(0)
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.dir);
    }
}

#[test]
fn a_decisions_file_that_is_not_a_regular_file_or_too_big_or_too_wordy_is_refused_at_once() {
    let input = samples_copy(|rel| rel.starts_with("2023-25/"));
    let tmp = tempfile::tempdir().unwrap();
    let refused = |decisions: &Path, why: &str| {
        let out = tmp.path().join("out");
        let o = bcf(&[
            "run",
            "--input",
            input.path().to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--decisions",
            decisions.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(1), "{why}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(why), "{why}: {err}");
        assert!(!out.join("current").exists(), "nothing published");
    };
    let fifo = tmp.path().join("decisions.fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    refused(&fifo, "not a regular file");
    refused(Path::new("/dev/zero"), "not a regular file");
    refused(tmp.path(), "not a regular file");
    let big = tmp.path().join("big.toml");
    std::fs::write(&big, vec![b' '; 17 << 20]).unwrap();
    refused(&big, "larger than 16 MiB");
    let wordy = tmp.path().join("wordy.toml");
    let entry = |reason: &str| {
        format!("[[accept]]\nsha256 = \"{}\"\nrule = \"total-mismatch\"\nreason = \"{reason}\"\nby = \"A. Analyst\"\ndate = 2025-05-03\n\n", "ab".repeat(32))
    };
    std::fs::write(&wordy, entry("fine") + &entry(&"x".repeat(3000))).unwrap();
    refused(&wordy, "the [[accept]] entry at line 8: reason is 3000 characters; keep it under 2000");
    // Thirty thousand decisions are read (in one pass: this took minutes when the check was
    // quadratic).
    let many = tmp.path().join("many.toml");
    std::fs::write(&many, entry("agreed").repeat(30_000)).unwrap();
    let decisions = bcf::validate::decisions::load(Some(&many)).expect("a good file");
    assert_eq!(decisions.list.len(), 30_000);
}

#[cfg(unix)]
#[test]
fn a_return_in_a_folder_whose_name_is_not_text_gets_its_own_row_and_no_two_names_read_the_same() {
    use std::os::unix::ffi::OsStrExt;
    let input = tempfile::tempdir().unwrap();
    let kent = std::fs::read(gen::kent_path()).unwrap();
    let folder = input.path().join(std::ffi::OsStr::from_bytes(b"Caf\xe9 returns"));
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(folder.join("Kent.xlsx"), &kent).unwrap();
    std::fs::write(folder.join("notes.txt"), b"notes").unwrap();
    std::fs::write(input.path().join(std::ffi::OsStr::from_bytes(b"Caf\xe9 return.xlsx")), b"x").unwrap();
    std::fs::write(input.path().join("Caf\\xE9 return.xlsx"), &kent[..kent.len() / 2]).unwrap();
    let (_out, t) = run_on(input.path());
    let inside = submission(&t, "Caf\\xE9 returns/Kent.xlsx");
    assert_eq!(inside.status, Status::Rejected);
    let f = t.findings.iter().find(|f| f.source_file == "Caf\\xE9 returns/Kent.xlsx").expect("a finding naming it");
    assert!(f.message.contains("the folder name Caf\\xE9 returns is not valid text (UTF-8)"), "{}", f.message);
    assert_eq!(submission(&t, "Caf\\xE9 returns/notes.txt").status, Status::Skipped);
    let names: Vec<&str> = t.submissions.iter().map(|s| s.source_file.as_str()).collect();
    let mut unique = names.clone();
    unique.dedup();
    assert_eq!(names.len(), unique.len(), "one row per file: {names:?}");
    let bad =
        t.findings.iter().find(|f| f.source_file == "Caf\\xE9 return.xlsx").expect("the badly named file's finding");
    assert!(bad.message.contains("not valid text"), "{}", bad.message);
    let literal =
        t.findings.iter().find(|f| f.source_file == "Caf\\\\xE9 return.xlsx").expect("the literal name's own row");
    assert!(literal.message.contains("damaged or truncated"), "{}", literal.message);
}

/// `bcf status` and `bcf explain` only read: a user who may only read the output folder (here
/// the unprivileged `nobody`, through setpriv) uses both.
#[cfg(unix)]
#[test]
fn status_and_explain_work_for_a_user_who_may_only_read_the_output_folder() {
    use std::os::unix::fs::PermissionsExt;
    if !crate::support::is_root() {
        eprintln!("not root: cannot run bcf as another user here");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = dir.path().join("out");
    let input = samples_copy(|rel| rel.starts_with("2023-25/"));
    let o = bcf(&["run", "--input", input.path().to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(o.status.success());
    Command::new("chmod").args(["-R", "a+rX,go-w"]).arg(&out).status().unwrap();
    let as_reader = |args: &[&str]| {
        let o = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(bcf_bin())
            .args(args)
            .env("BCF_LOG", "warn")
            .output()
            .unwrap();
        assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let out_s = out.to_str().unwrap();
    assert!(as_reader(&["status", "--out", out_s]).contains("last run"));
    let explained = as_reader(&["explain", "--out", out_s, "--area", "E10000016", "--year", "2023-24"]);
    assert!(explained.contains("Kent"), "{explained}");
}

/// A disk that fills up while bcf writes: `bcf status` says so — which disk, what is free,
/// what a publish takes — never that the run was interrupted, however full the disk was.
#[cfg(unix)]
#[test]
fn a_full_disk_is_reported_as_a_full_disk_where_and_how_much() {
    if !crate::support::is_root() {
        eprintln!("not root: cannot mount a small disk here");
        return;
    }
    let input = samples_copy(|_| true);
    let mount = tempfile::tempdir().unwrap();
    let mounted =
        Command::new("mount").args(["-t", "tmpfs", "-o", "size=6m", "tmpfs"]).arg(mount.path()).status().unwrap();
    assert!(mounted.success(), "root can mount a tmpfs");
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(mount.path().to_path_buf());
    let mut reported = 0;
    for free_kib in [64, 256, 512, 1024, 1536, 2048] {
        let out = mount.path().join("out");
        let _ = std::fs::remove_dir_all(&out);
        let filler = mount.path().join("filler");
        let _ = std::fs::remove_file(&filler);
        let total_kib = 6 * 1024;
        std::fs::write(&filler, vec![0u8; (total_kib - free_kib) << 10]).unwrap();
        let o = bcf(&["run", "--input", input.path().to_str().unwrap(), "--out", out.to_str().unwrap()]);
        if o.status.success() {
            continue; // it fitted
        }
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("is full"), "{free_kib} KiB free: {err}");
        if !out.join("run.json").exists() {
            continue; // not even the record fitted: nothing to report on
        }
        let status = String::from_utf8_lossy(&bcf(&["status", "--out", out.to_str().unwrap()]).stdout).into_owned();
        assert!(!status.contains("interrupted"), "{free_kib} KiB free: {status}");
        assert!(
            status.contains("failed") && status.contains("is full") && status.contains(" free)"),
            "{free_kib} KiB free: {status}"
        );
        reported += 1;
    }
    assert!(reported >= 3, "the disk filled at several points of a run ({reported} reported)");
}

#[test]
fn control_characters_typed_in_a_return_reach_no_published_text_file() {
    let family = crate::support::family("bcf-planning-2023-25");
    let mut spec = bcf_fixtures::ReturnSpec::typical(&family, "Kent", 5);
    spec.hwb_name = "Kent\x1b]0;owned\x07\x1b[2J".into();
    let input = tempfile::tempdir().unwrap();
    spec.write(&input.path().join("Kent \x1b[31mred.xlsx")).unwrap();
    let (out, t) = run_on(input.path());
    assert!(!t.findings.is_empty(), "the name is no area's: a finding quotes it");
    let current = published(out.path());
    for file in crate::support::fs::files(&current) {
        let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("");
        if ["md", "html", "csv", "json"].contains(&ext) {
            let bytes = std::fs::read(&file).unwrap();
            assert!(!bytes.contains(&0x1b) && !bytes.contains(&0x07), "{}: a control character", file.display());
        }
    }
    let report = std::fs::read_to_string(current.join("report.md")).unwrap();
    assert!(report.contains("\\u{1b}"), "shown, escaped, instead");
}
