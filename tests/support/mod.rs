//! Shared test helpers: running the pipeline into a temporary folder and reading outputs.
#![allow(dead_code)]

pub mod hostile_gen;

use bcf::run::{run, RunConfig};
use bcf::tables::Tables;
use std::path::{Path, PathBuf};

pub fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixtures() -> PathBuf {
    project_root().join("fixtures")
}

pub fn bcf_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_bcf"))
}

/// Runs the whole pipeline over `input` into a fresh temporary output folder.
pub fn run_on(input: &Path) -> (tempfile::TempDir, Tables) {
    let out = tempfile::tempdir().expect("temp dir");
    let tables = run(&RunConfig::new(input, out.path())).expect("run completes");
    (out, tables)
}

/// The submission row of one file.
pub fn submission<'a>(t: &'a Tables, source_file: &str) -> &'a bcf::tables::SubmissionRow {
    t.submissions
        .iter()
        .find(|s| s.source_file == source_file)
        .unwrap_or_else(|| panic!("no submission row for {source_file}: {:#?}", t.submissions))
}

/// The findings of one file as (rule, sheet!cell) pairs.
pub fn findings_of(t: &Tables, source_file: &str) -> Vec<(String, String)> {
    t.findings.iter().filter(|f| f.source_file == source_file).map(|f| (f.rule.clone(), f.location())).collect()
}

/// Reads a CSV file into rows of strings keyed by header.
pub fn read_csv(path: &Path) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut rdr = csv::Reader::from_path(path).expect("csv");
    let headers = rdr.headers().expect("headers").clone();
    rdr.records()
        .map(|r| {
            let r = r.expect("record");
            headers.iter().zip(r.iter()).map(|(h, v)| (h.to_string(), v.to_string())).collect()
        })
        .collect()
}

/// Reads a Parquet file into rows of display strings (null → empty), by column name.
pub fn read_parquet(path: &Path) -> Vec<std::collections::BTreeMap<String, String>> {
    use arrow_array::{Array, Decimal128Array, Float64Array, Int32Array, Int64Array, StringArray};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let reader = ParquetRecordBatchReaderBuilder::try_new(file).expect("parquet").build().expect("reader");
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.expect("batch");
        let schema = batch.schema();
        for i in 0..batch.num_rows() {
            let mut row = std::collections::BTreeMap::new();
            for (f, col) in schema.fields().iter().zip(batch.columns()) {
                let v = if col.is_null(i) {
                    String::new()
                } else if let Some(a) = col.as_any().downcast_ref::<StringArray>() {
                    a.value(i).to_string()
                } else if let Some(a) = col.as_any().downcast_ref::<Decimal128Array>() {
                    a.value_as_string(i)
                } else if let Some(a) = col.as_any().downcast_ref::<Int32Array>() {
                    a.value(i).to_string()
                } else if let Some(a) = col.as_any().downcast_ref::<Int64Array>() {
                    a.value(i).to_string()
                } else if let Some(a) = col.as_any().downcast_ref::<Float64Array>() {
                    format!("{:.6}", a.value(i))
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

/// Every file under `dir`, relative path → bytes.
pub fn tree_bytes(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).expect("read_dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
                out.insert(rel, std::fs::read(&p).expect("read"));
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}
