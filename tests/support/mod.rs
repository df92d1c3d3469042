//! Shared test helpers: running the pipeline (as a library or as the `bcf` binary) into a
//! temporary folder, the project's schemas and families, and reading outputs back.
#![allow(dead_code)]

pub mod hostile_gen;

use bcf::reference::Areas;
use bcf::run::{run_all, RunConfig};
use bcf::schema::SchemaSet;
use bcf::tables::Tables;
use bcf_fixtures::Family;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

pub fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixtures() -> PathBuf {
    project_root().join("fixtures")
}

pub fn bcf_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_bcf"))
}

/// The project's schemas and reference areas, loaded once.
pub fn reference() -> &'static (SchemaSet, Areas) {
    static REF: OnceLock<(SchemaSet, Areas)> = OnceLock::new();
    REF.get_or_init(|| bcf::load::all(&project_root().join("schemas")).expect("the project's schemas load"))
}

pub fn areas() -> &'static Areas {
    &reference().1
}

/// A return family of the project's schemas, by template id.
pub fn family(id: &str) -> Family {
    Family::find(&reference().0, id).unwrap_or_else(|| panic!("no template {id} in schemas/"))
}

/// Every return family in `schemas/`, in catalogue order.
pub fn families() -> Vec<Family> {
    Family::all(&reference().0)
}

/// Whether the tests run as root (who may mount, make cgroups and act as another user).
pub fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("Uid:")).and_then(|v| v.split_whitespace().next()) == Some("0")
}

/// A workbook file opened by the validation core, with the default limits.
pub fn workbook(path: &Path) -> bcf::workbook::Workbook {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bcf::workbook::Workbook::open(bytes, bcf::workbook::Limits::default()).expect("a readable workbook")
}

/// Runs the whole pipeline over `input` into a fresh temporary output folder.
pub fn run_on(input: &Path) -> (tempfile::TempDir, Tables) {
    let out = tempfile::tempdir().expect("temp dir");
    // A fixed publish date: two runs either side of midnight still publish the same bytes.
    let cfg = RunConfig { publish_date: bcf::model::Date::from_ymd(2026, 4, 1), ..RunConfig::new(input, out.path()) };
    let tables = run_all(&cfg).expect("run completes");
    (out, tables)
}

/// The folder `OUT/current` points at: the published outputs.
pub fn published(out: &Path) -> PathBuf {
    std::fs::canonicalize(out.join("current")).unwrap_or_else(|e| panic!("{}/current: {e}", out.display()))
}

/// Runs the `bcf` binary with warnings-only logs.
pub fn bcf(args: &[&str]) -> Output {
    Command::new(bcf_bin()).args(args).env("BCF_LOG", "warn").output().expect("bcf runs")
}

/// Runs `bcf`, requires success, and returns its standard output.
pub fn ok(args: &[&str]) -> String {
    let out = bcf(args);
    assert!(out.status.success(), "bcf {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The submission row of one file.
pub fn submission<'a>(t: &'a Tables, source_file: &str) -> &'a bcf::tables::SubmissionRow {
    t.submissions
        .iter()
        .find(|s| s.source_file == source_file)
        .unwrap_or_else(|| panic!("no submission row for {source_file}: {:#?}", t.submissions))
}

/// The findings of one file as (rule id, sheet!cell) pairs.
pub fn findings_of(t: &Tables, source_file: &str) -> Vec<(String, String)> {
    t.findings
        .iter()
        .filter(|f| f.source_file == source_file)
        .map(|f| (f.rule.id().to_string(), f.location()))
        .collect()
}

/// Reads a CSV file into rows of strings keyed by header (a UTF-8 BOM is skipped).
pub fn read_csv(path: &Path) -> Vec<BTreeMap<String, String>> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(&bytes);
    let mut rdr = csv::Reader::from_reader(bytes);
    let headers = rdr.headers().expect("headers").clone();
    rdr.records()
        .map(|r| {
            let r = r.expect("record");
            headers.iter().zip(r.iter()).map(|(h, v)| (h.to_string(), v.to_string())).collect()
        })
        .collect()
}

/// Reads a Parquet file into rows of display strings (null → empty), by column name.
pub fn read_parquet(path: &Path) -> Vec<BTreeMap<String, String>> {
    use arrow_array::{
        Array, Date32Array, Decimal128Array, Float64Array, Int32Array, Int64Array, ListArray, StringArray,
    };
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let reader = ParquetRecordBatchReaderBuilder::try_new(file).expect("parquet").build().expect("reader");
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.expect("batch");
        let schema = batch.schema();
        for i in 0..batch.num_rows() {
            let mut row = BTreeMap::new();
            for (f, col) in schema.fields().iter().zip(batch.columns()) {
                let any = col.as_any();
                let v = if col.is_null(i) {
                    String::new()
                } else if let Some(a) = any.downcast_ref::<StringArray>() {
                    a.value(i).to_string()
                } else if let Some(a) = any.downcast_ref::<Decimal128Array>() {
                    a.value_as_string(i)
                } else if let Some(a) = any.downcast_ref::<Int32Array>() {
                    a.value(i).to_string()
                } else if let Some(a) = any.downcast_ref::<Int64Array>() {
                    a.value(i).to_string()
                } else if let Some(a) = any.downcast_ref::<Float64Array>() {
                    format!("{:.6}", a.value(i))
                } else if let Some(a) = any.downcast_ref::<Date32Array>() {
                    bcf::model::Date { days: a.value(i) }.to_string()
                } else if let Some(a) = any.downcast_ref::<ListArray>() {
                    let items = a.value(i);
                    let items = items.as_any().downcast_ref::<StringArray>().expect("a list of strings");
                    (0..items.len()).map(|k| items.value(k)).collect::<Vec<_>>().join("|")
                } else {
                    panic!("unexpected column type {:?}", f.data_type())
                };
                row.insert(f.name().clone(), v);
            }
            rows.push(row);
        }
    }
    rows
}

/// Walking and copying folders, without following links.
pub mod fs {
    use std::path::{Path, PathBuf};

    /// Every file under `dir`, sorted.
    pub fn files(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut todo = vec![dir.to_path_buf()];
        while let Some(d) = todo.pop() {
            for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
                let e = e.unwrap();
                if e.file_type().unwrap().is_dir() {
                    todo.push(e.path());
                } else {
                    out.push(e.path());
                }
            }
        }
        out.sort();
        out
    }

    /// A path relative to `root`, `/`-separated.
    pub fn rel(root: &Path, p: &Path) -> String {
        p.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/")
    }

    /// Every file under `dir`, relative path → bytes.
    pub fn tree_bytes(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
        files(dir).into_iter().map(|p| (rel(dir, &p), std::fs::read(&p).unwrap())).collect()
    }

    /// Copies the files under `from` whose relative path passes `keep` to `to`.
    pub fn copy_tree(from: &Path, to: &Path, keep: impl Fn(&str) -> bool) {
        for p in files(from) {
            let rel = rel(from, &p);
            if keep(&rel) {
                let dest = to.join(&rel);
                std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
                std::fs::copy(&p, &dest).unwrap();
            }
        }
    }
}

pub use fs::tree_bytes;

/// The published outputs of `out` as relative path → bytes (the current snapshot's files),
/// less what depends on the previous publish rather than the inputs: `changes.parquet`, the
/// reports' "Since the last run" section, every page's publish line (its date and snapshot),
/// the workbook's notes on the publish, and the data package's sizes and hashes of those. Two
/// runs of the same inputs compare equal whatever was published before each.
pub fn published_bytes(out: &Path) -> BTreeMap<String, Vec<u8>> {
    comparable(fs::tree_bytes(&published(out)))
}

/// A snapshot's files (relative path → bytes) less what depends on the previous publish (see
/// [`published_bytes`]).
pub fn comparable(mut files: BTreeMap<String, Vec<u8>>) -> BTreeMap<String, Vec<u8>> {
    files.remove("changes.parquet");
    for (name, from, to) in [
        ("report.html", "<h2 id=\"since\">", "<h2 id=\"totals\">"),
        ("report.md", "## Since the last run", "\n## National totals"),
    ] {
        if let Some(bytes) = files.get_mut(name) {
            let text = String::from_utf8(std::mem::take(bytes)).expect("a report is UTF-8");
            let (a, b) = (text.find(from).expect(from), text.find(to).expect(to));
            *bytes = format!("{}{}", &text[..a], &text[b..]).into_bytes();
        }
    }
    for (name, bytes) in files.iter_mut().filter(|(n, _)| n.ends_with(".html") || n.ends_with(".md")) {
        let text = String::from_utf8(std::mem::take(bytes)).expect("a page is UTF-8");
        let publish_line = |l: &&str| l.starts_with("<p class=\"published\"") || l.starts_with("Published ");
        assert!(text.lines().any(|l| publish_line(&l)), "{name} names its publish");
        *bytes = text.lines().filter(|l| !publish_line(l)).collect::<Vec<_>>().join("\n").into_bytes();
    }
    if let Some(bytes) = files.get_mut(WORKBOOK) {
        *bytes = workbook_without_publish(bytes).into_bytes();
    }
    if let Some(bytes) = files.get_mut("datapackage.json") {
        let mut pkg: serde_json::Value = serde_json::from_slice(bytes).expect("datapackage.json");
        for r in pkg["resources"].as_array_mut().expect("resources") {
            let path = r["path"].as_str().unwrap_or("");
            let about_the_publish = [".html", ".md", ".xlsx"].iter().any(|e| path.ends_with(e));
            if about_the_publish || r["name"] == "changes" {
                let r = r.as_object_mut().unwrap();
                for key in ["bytes", "hash", "bcf:bytes", "bcf:hash"] {
                    r.remove(key);
                }
            }
        }
        *bytes = serde_json::to_vec(&pkg).unwrap();
    }
    files
}

/// Runs a script of `tests/clients/` with the test venv's Python; its stdout.
pub fn client(script: &str, args: &[&Path]) -> String {
    let python = std::env::var("BCF_PYTHON").unwrap_or_else(|_| "python3".into());
    let result = Command::new(&python)
        .arg(project_root().join("tests/clients").join(script))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e} (set BCF_PYTHON; `make venv` installs the clients)"));
    let stdout = String::from_utf8_lossy(&result.stdout).into_owned();
    assert!(result.status.success(), "{script} failed:\n{stdout}\n{}", String::from_utf8_lossy(&result.stderr));
    stdout
}

/// The national workbook's file name in a snapshot.
pub const WORKBOOK: &str = "bcf-national.xlsx";

/// The workbook's cells as text, sheet by sheet, less the notes that name the publish (its date
/// and snapshot), and less "Since the last publish" (the changes sheet).
pub fn workbook_without_publish(bytes: &[u8]) -> String {
    use calamine::{Reader, Xlsx};
    let mut wb = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("the workbook opens");
    let mut out = String::new();
    for name in wb.sheet_names() {
        if name == "Changes" {
            continue;
        }
        let range = wb.worksheet_range(&name).expect("a sheet reads");
        out.push_str(&format!("# {name}\n"));
        for row in range.rows() {
            let cells: Vec<String> = row.iter().map(|c| c.to_string()).collect();
            if name == "Notes" && ["Published", "Snapshot"].contains(&cells[0].as_str()) {
                continue;
            }
            out.push_str(&cells.join("\t"));
            out.push('\n');
        }
    }
    out
}

/// Every published file of `out`, as relative path → bytes.
pub fn published_bytes_all(out: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::tree_bytes(&published(out))
}

/// The samples copied into a fresh folder, the files kept by `keep`.
pub fn samples_copy(keep: impl Fn(&str) -> bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::copy_tree(&fixtures().join("samples"), dir.path(), keep);
    dir
}

/// `OUT/run.json` as JSON.
pub fn record(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap()
}

/// One count of one stage in the run record.
pub fn stage_count(out: &Path, stage: &str, key: &str) -> u64 {
    let r = record(out);
    let st = r["stages"].as_array().unwrap().iter().find(|s| s["name"] == stage).unwrap().clone();
    st["counts"][key].as_u64().unwrap_or_else(|| panic!("{stage}.{key} in {st}"))
}

/// `bcf ARGS` started with a hang point, returned once it is there (holding the lock).
pub fn held_at(args: &[&str], point: &str) -> std::process::Child {
    let mut child = std::process::Command::new(bcf_bin())
        .args(args)
        .env("BCF_LOG", "warn")
        .env("BCF_TEST_HANG_AT", point)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    use std::io::BufRead;
    let reached =
        std::io::BufReader::new(stderr).lines().map_while(Result::ok).any(|l| l.contains("BCF_TEST_HANG_AT reached"));
    assert!(reached, "reached {point}");
    child
}
