//! Parquet writing: fixed schemas, Decimal128(18,2) money, Hive partitions by financial year,
//! deterministic bytes, and files that appear only by atomic rename.

use crate::model::Pence;
use crate::tables::{LineRow, NationalRow, SchemeRow, Tables};
use arrow_array::builder::StringBuilder;
use arrow_array::{ArrayRef, Decimal128Array, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Bumped when a table's columns change.
pub const SCHEMA_VERSION: &str = "1";

/// One column's values, borrowing text from the rows.
enum Col<'a> {
    Text(Vec<&'a str>),
    OptText(Vec<Option<&'a str>>),
    Int32(Vec<i32>),
    Int64(Vec<i64>),
    Money(Vec<Pence>),
    OptFloat(Vec<Option<f64>>),
}

fn batch(cols: Vec<(&str, Col<'_>)>) -> io::Result<RecordBatch> {
    let mut fields = Vec::new();
    let mut arrays: Vec<ArrayRef> = Vec::new();
    for (name, col) in cols {
        let (field, array): (Field, ArrayRef) = match col {
            Col::Text(v) => (Field::new(name, DataType::Utf8, false), Arc::new(strings(v.into_iter().map(Some)))),
            Col::OptText(v) => (Field::new(name, DataType::Utf8, true), Arc::new(strings(v.into_iter()))),
            Col::Int32(v) => (Field::new(name, DataType::Int32, false), Arc::new(Int32Array::from(v))),
            Col::Int64(v) => (Field::new(name, DataType::Int64, false), Arc::new(Int64Array::from(v))),
            Col::Money(v) => {
                let arr = Decimal128Array::from(v.into_iter().map(|p| p.0).collect::<Vec<i128>>())
                    .with_precision_and_scale(18, 2)
                    .map_err(io::Error::other)?;
                arr.validate_decimal_precision(18)
                    .map_err(|e| io::Error::other(format!("{name}: amount too large for decimal(18,2): {e}")))?;
                (Field::new(name, DataType::Decimal128(18, 2), false), Arc::new(arr))
            }
            Col::OptFloat(v) => (Field::new(name, DataType::Float64, true), Arc::new(Float64Array::from(v))),
        };
        fields.push(field);
        arrays.push(array);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).map_err(io::Error::other)
}

/// A string array sized once from its values (arrow's `From<Vec<&str>>` grows its buffer as it
/// goes, which costs ten times as much).
fn strings<'a>(values: impl Iterator<Item = Option<&'a str>> + Clone) -> StringArray {
    let bytes = values.clone().map(|v| v.map_or(0, str::len)).sum();
    let mut b = StringBuilder::with_capacity(values.size_hint().0, bytes);
    for v in values {
        b.append_option(v);
    }
    b.finish()
}

fn properties(table: &str) -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_dictionary_enabled(true)
        // Amounts are nearly all distinct: a dictionary would only cost the hashing.
        .set_column_dictionary_enabled(ColumnPath::from("amount_gbp"), false)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_created_by(format!("bcf {}", env!("CARGO_PKG_VERSION")))
        .set_key_value_metadata(Some(vec![
            KeyValue::new("bcf.table".to_string(), table.to_string()),
            KeyValue::new("bcf.schema_version".to_string(), SCHEMA_VERSION.to_string()),
        ]))
        .build()
}

/// Writes a batch to `path` in the staging folder, which no reader sees: staged files are
/// synced to disk together when they are published (`State::publish`), not one by one here.
pub fn write_staged(path: &Path, table: &str, batch: &RecordBatch) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let file = io::BufWriter::with_capacity(256 * 1024, File::create(path)?);
    let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(properties(table))).map_err(io::Error::other)?;
    writer.write(batch).map_err(io::Error::other)?;
    writer.into_inner().map_err(io::Error::other)?.flush()
}

/// Writes a text output into the staging folder (see [`write_staged`]).
pub fn write_staged_text(path: &Path, text: &str) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text)
}

/// Writes a file by way of a temporary file in the same folder and a rename, so readers see
/// the old file or the whole new one. `sync`: wait for the disk before the rename, so a power
/// cut cannot leave the new name on a partly written file (a killed process never can).
pub fn write_file_atomic(
    path: &Path,
    sync: bool,
    fill: impl FnOnce(&mut io::BufWriter<File>) -> io::Result<()>,
) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = tmp_path(path);
    let mut w = io::BufWriter::with_capacity(256 * 1024, File::create(&tmp)?);
    fill(&mut w)?;
    let f = w.into_inner().map_err(|e| e.into_error())?;
    if sync {
        f.sync_all()?;
    }
    drop(f);
    std::fs::rename(&tmp, path)
}

fn tmp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

pub fn submissions_batch(t: &Tables) -> io::Result<RecordBatch> {
    let s = &t.submissions;
    batch(vec![
        ("source_file", Col::Text(s.iter().map(|r| r.source_file.as_str()).collect())),
        ("sha256", Col::Text(s.iter().map(|r| r.sha256.as_str()).collect())),
        ("bytes", Col::Int64(s.iter().map(|r| r.bytes).collect())),
        ("template_id", Col::OptText(s.iter().map(|r| r.template_id.as_deref()).collect())),
        ("area_code", Col::OptText(s.iter().map(|r| r.area_code.as_deref()).collect())),
        ("area_name", Col::OptText(s.iter().map(|r| r.area_name.as_deref()).collect())),
        ("status", Col::Text(s.iter().map(|r| r.status.as_str()).collect())),
        ("error_count", Col::Int32(s.iter().map(|r| r.error_count).collect())),
        ("warning_count", Col::Int32(s.iter().map(|r| r.warning_count).collect())),
        ("submission_date", Col::OptText(s.iter().map(|r| r.submission_date.as_deref()).collect())),
    ])
}

pub fn findings_batch(t: &Tables) -> io::Result<RecordBatch> {
    let f = &t.findings;
    batch(vec![
        ("source_file", Col::Text(f.iter().map(|r| r.source_file.as_str()).collect())),
        ("rule", Col::Text(f.iter().map(|r| r.rule.as_str()).collect())),
        ("severity", Col::Text(f.iter().map(|r| r.severity.as_str()).collect())),
        ("sheet", Col::OptText(f.iter().map(|r| r.sheet.as_deref()).collect())),
        ("cell", Col::OptText(f.iter().map(|r| r.cell.as_deref()).collect())),
        ("message", Col::Text(f.iter().map(|r| r.message.as_str()).collect())),
    ])
}

pub fn national_batch(rows: &[NationalRow]) -> io::Result<RecordBatch> {
    let money = |f: fn(&NationalRow) -> Pence| Col::Money(rows.iter().map(f).collect());
    batch(vec![
        ("financial_year", Col::Text(rows.iter().map(|r| r.financial_year.as_str()).collect())),
        ("basis", Col::Text(rows.iter().map(|r| &*r.basis).collect())),
        ("areas_expected", Col::Int32(rows.iter().map(|r| r.areas_expected).collect())),
        ("areas_included", Col::Int32(rows.iter().map(|r| r.areas_included).collect())),
        ("mandated_minimum_gbp", money(|r| r.mandated_minimum)),
        ("voluntary_la_gbp", money(|r| r.voluntary_la)),
        ("voluntary_nhs_gbp", money(|r| r.voluntary_nhs)),
        ("voluntary_above_minimum_gbp", money(|r| r.voluntary_above_minimum)),
        ("total_pooled_gbp", money(|r| r.total_pooled)),
        ("baseline_year", Col::Text(rows.iter().map(|r| r.baseline_year.as_str()).collect())),
        ("voluntary_vs_baseline_ratio", Col::OptFloat(rows.iter().map(|r| r.voluntary_vs_baseline_ratio).collect())),
    ])
}

fn lines_batch(rows: &[&LineRow]) -> io::Result<RecordBatch> {
    batch(vec![
        ("basis", Col::Text(rows.iter().map(|r| &*r.basis).collect())),
        ("area_code", Col::Text(rows.iter().map(|r| &*r.area_code).collect())),
        ("area_name", Col::Text(rows.iter().map(|r| &*r.area_name).collect())),
        ("template_id", Col::Text(rows.iter().map(|r| &*r.template_id).collect())),
        ("funding_source", Col::Text(rows.iter().map(|r| &*r.funding_source).collect())),
        ("contributor", Col::OptText(rows.iter().map(|r| r.contributor.as_deref()).collect())),
        ("amount_gbp", Col::Money(rows.iter().map(|r| r.amount).collect())),
        ("source_file", Col::Text(rows.iter().map(|r| &*r.source_file).collect())),
        ("sheet", Col::Text(rows.iter().map(|r| &*r.sheet).collect())),
        ("cell", Col::Text(rows.iter().map(|r| r.cell.as_str()).collect())),
    ])
}

fn schemes_batch(rows: &[&SchemeRow]) -> io::Result<RecordBatch> {
    let opt = |f: fn(&SchemeRow) -> Option<&str>| Col::OptText(rows.iter().map(|r| f(r)).collect());
    batch(vec![
        ("basis", Col::Text(rows.iter().map(|r| &*r.basis).collect())),
        ("area_code", Col::Text(rows.iter().map(|r| &*r.area_code).collect())),
        ("template_id", Col::Text(rows.iter().map(|r| &*r.template_id).collect())),
        ("scheme_id", opt(|r| r.scheme_id.as_deref())),
        ("scheme_name", opt(|r| r.scheme_name.as_deref())),
        ("scheme_type", opt(|r| r.scheme_type.as_deref())),
        ("area_of_spend", opt(|r| r.area_of_spend.as_deref())),
        ("commissioner", opt(|r| r.commissioner.as_deref())),
        ("provider", opt(|r| r.provider.as_deref())),
        ("funding_source", opt(|r| r.funding_source.as_deref())),
        ("amount_gbp", Col::Money(rows.iter().map(|r| r.amount).collect())),
        ("source_file", Col::Text(rows.iter().map(|r| &*r.source_file).collect())),
        ("sheet", Col::Text(rows.iter().map(|r| &*r.sheet).collect())),
        ("cell", Col::Text(rows.iter().map(|r| r.cell.as_str()).collect())),
    ])
}

/// Writes one Hive-partitioned table (`DIR/financial_year=YYYY-YY/part-0.parquet`, the
/// partition column left out of the files).
fn partitions<'a, R: Sync>(
    dir: &Path,
    table: &'static str,
    rows: &'a [R],
    year: fn(&R) -> &str,
    to_batch: fn(&[&R]) -> io::Result<RecordBatch>,
) -> Vec<FileJob<'a>> {
    crate::tables::group_by(rows, year)
        .into_iter()
        .map(|(y, rs)| {
            let path = dir.join(format!("financial_year={y}")).join("part-0.parquet");
            let job: FileJob<'a> = (path, table, rs.len(), Box::new(move || to_batch(&rs)));
            job
        })
        .collect()
}

/// One Parquet file to write: where, which table, its rows, and how to build its batch.
type FileJob<'a> = (PathBuf, &'static str, usize, Box<dyn Fn() -> io::Result<RecordBatch> + Send + Sync + 'a>);

/// Writes the per-file tables (submissions, findings, lines, schemes) under `out`, one file
/// per table and partition, in parallel, telling `written` of each file as it is complete.
pub fn write_data(out: &Path, t: &Tables, written: &(dyn Fn(PathBuf) + Sync)) -> io::Result<()> {
    use rayon::prelude::*;
    let mut jobs: Vec<FileJob<'_>> = vec![
        (out.join("submissions.parquet"), "submissions", t.submissions.len(), Box::new(|| submissions_batch(t))),
        (out.join("findings.parquet"), "findings", t.findings.len(), Box::new(|| findings_batch(t))),
    ];
    jobs.extend(partitions(&out.join("lines"), "lines", &t.lines, |r| &r.financial_year, lines_batch));
    jobs.extend(partitions(&out.join("schemes"), "schemes", &t.schemes, |r| &r.financial_year, schemes_batch));
    // Largest first, each taken by the next free thread: the threads finish together.
    jobs.sort_by_key(|job| std::cmp::Reverse(job.2));
    jobs.into_iter()
        .par_bridge()
        .try_for_each(|(path, table, _, batch)| write_staged(&path, table, &batch()?).map(|()| written(path)))
}

pub fn write_national(out: &Path, rows: &[NationalRow]) -> io::Result<()> {
    write_staged(&out.join("national_totals.parquet"), "national_totals", &national_batch(rows)?)
}

/// Partition folders under `out` that `t` no longer produces (relative paths).
pub fn stale_partitions(out: &Path, t: &Tables) -> io::Result<Vec<String>> {
    let mut stale = Vec::new();
    for (table, years) in [("lines", t.line_years()), ("schemes", t.scheme_years())] {
        let dir = out.join(table);
        let Ok(rd) = std::fs::read_dir(&dir) else { continue };
        for entry in rd {
            let name = entry?.file_name().to_string_lossy().into_owned();
            if name.strip_prefix("financial_year=").is_some_and(|y| !years.contains(y)) {
                stale.push(format!("{table}/{name}"));
            }
        }
    }
    stale.sort();
    Ok(stale)
}
