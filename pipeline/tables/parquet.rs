//! Writing a table as Parquet from its declared columns: fixed schemas, `decimal128(18,2)`
//! money, Hive partitions by financial year, and deterministic bytes (no times or run ids).

use super::columns::{Cell, Column, Kind, TableDef};
use crate::model::FinancialYear;
use arrow_array::builder::{
    Date32Builder, Decimal128Builder, Float64Builder, Int32Builder, Int64Builder, ListBuilder, StringBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Bumped when a table's columns change (2: `submission_date` became a `date32`).
pub const SCHEMA_VERSION: &str = "4";

/// The writer as Parquet readers expect to see it: `<app> version <x> (build <y>)`.
pub const CREATED_BY: &str = concat!("bcf version ", env!("CARGO_PKG_VERSION"), " (build ", env!("BCF_BUILD"), ")");

/// What every file says of where it came from, beside `bcf.table`: the schema version and the
/// SHA-256 of each template schema file the run read (a JSON object by relative path).
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    template_schemas: String,
}

impl Provenance {
    pub fn of(schemas: &crate::schema::SchemaSet) -> Provenance {
        Provenance { template_schemas: serde_json::to_string(&schemas.file_hashes).unwrap_or_default() }
    }

    /// The key-value pairs, in a fixed order.
    fn metadata(&self, table: &str) -> Vec<(String, String)> {
        vec![
            ("bcf.table".to_string(), table.to_string()),
            ("bcf.schema_version".to_string(), SCHEMA_VERSION.to_string()),
            ("bcf.template_schemas".to_string(), self.template_schemas.clone()),
        ]
    }
}

fn data_type(kind: Kind) -> DataType {
    match kind {
        Kind::Utf8 => DataType::Utf8,
        Kind::Int32 => DataType::Int32,
        Kind::Int64 => DataType::Int64,
        Kind::Money => DataType::Decimal128(18, 2),
        Kind::Float64 => DataType::Float64,
        Kind::Date32 => DataType::Date32,
        Kind::Utf8List => DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
    }
}

fn mismatch(column: &str, cell: &Cell<'_>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("column {column} cannot hold {cell:?}"))
}

/// One column's values as an Arrow array.
fn array<R>(column: &Column<R>, rows: &[&R]) -> io::Result<ArrayRef> {
    let cells = rows.iter().map(|r| (column.get)(r));
    let bad = |c: &Cell<'_>| mismatch(column.name, c);
    Ok(match column.kind {
        Kind::Utf8 => {
            let mut b = StringBuilder::with_capacity(rows.len(), rows.len() * 16);
            for c in cells {
                match c {
                    Cell::Str(s) => b.append_value(s),
                    Cell::OptStr(s) => b.append_option(s),
                    Cell::Year(y) => b.append_value(y.to_string()),
                    Cell::OptYear(y) => b.append_option(y.map(|y| y.to_string())),
                    Cell::OptDate(d) => b.append_option(d.map(|d| d.to_string())),
                    other => return Err(bad(&other)),
                }
            }
            Arc::new(b.finish())
        }
        Kind::Int32 => {
            let mut b = Int32Builder::with_capacity(rows.len());
            for c in cells {
                let Cell::I32(v) = c else { return Err(bad(&c)) };
                b.append_value(v);
            }
            Arc::new(b.finish())
        }
        Kind::Int64 => {
            let mut b = Int64Builder::with_capacity(rows.len());
            for c in cells {
                let Cell::I64(v) = c else { return Err(bad(&c)) };
                b.append_value(v);
            }
            Arc::new(b.finish())
        }
        Kind::Money => money_array(column.name, cells)?,
        Kind::Float64 => {
            let mut b = Float64Builder::with_capacity(rows.len());
            for c in cells {
                let Cell::OptF64(v) = c else { return Err(bad(&c)) };
                b.append_option(v);
            }
            Arc::new(b.finish())
        }
        Kind::Date32 => {
            let mut b = Date32Builder::with_capacity(rows.len());
            for c in cells {
                let Cell::OptDate(d) = c else { return Err(bad(&c)) };
                b.append_option(d.map(|d| d.days));
            }
            Arc::new(b.finish())
        }
        Kind::Utf8List => {
            let mut b = ListBuilder::new(StringBuilder::new());
            for c in cells {
                let Cell::StrList(items) = c else { return Err(bad(&c)) };
                for item in items {
                    b.values().append_value(item);
                }
                b.append(true);
            }
            Arc::new(b.finish())
        }
    })
}

fn money_array<'a>(name: &str, cells: impl Iterator<Item = Cell<'a>>) -> io::Result<ArrayRef> {
    let mut b = Decimal128Builder::new();
    for c in cells {
        match c {
            Cell::Money(p) => b.append_value(p.0),
            Cell::OptMoney(p) => b.append_option(p.map(|p| p.0)),
            other => return Err(mismatch(name, &other)),
        }
    }
    let arr = b.finish().with_precision_and_scale(18, 2).map_err(io::Error::other)?;
    arr.validate_decimal_precision(18)
        .map_err(|e| io::Error::other(format!("{name}: amount too large for decimal(18,2): {e}")))?;
    Ok(Arc::new(arr))
}

/// The table's rows as one batch with its declared schema, whose metadata (in the Arrow
/// schema that Parquet readers show, as well as the file footer) says what it is.
pub fn batch<R>(def: &TableDef<R>, rows: &[&R], provenance: &Provenance) -> io::Result<RecordBatch> {
    let fields: Vec<Field> = def.columns.iter().map(|c| Field::new(c.name, data_type(c.kind), c.nullable)).collect();
    let arrays = def.columns.iter().map(|c| array(c, rows)).collect::<io::Result<Vec<_>>>()?;
    let metadata: std::collections::HashMap<String, String> = provenance.metadata(def.name).into_iter().collect();
    RecordBatch::try_new(Arc::new(Schema::new_with_metadata(fields, metadata)), arrays).map_err(io::Error::other)
}

fn properties(table: &str, provenance: &Provenance) -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_dictionary_enabled(true)
        // Amounts are nearly all distinct: a dictionary would only cost the hashing.
        .set_column_dictionary_enabled(ColumnPath::from("amount_gbp"), false)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_created_by(CREATED_BY.to_string())
        .set_key_value_metadata(Some(
            provenance.metadata(table).into_iter().map(|(k, v)| KeyValue::new(k, v)).collect(),
        ))
        .build()
}

/// Writes a batch to `path` (a new file in the staging folder, which no reader sees).
pub fn write_batch(path: &Path, table: &str, batch: &RecordBatch, provenance: &Provenance) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let file = io::BufWriter::new(File::create(path)?);
    let mut writer =
        ArrowWriter::try_new(file, batch.schema(), Some(properties(table, provenance))).map_err(io::Error::other)?;
    writer.write(batch).map_err(io::Error::other)?;
    writer.into_inner().map_err(io::Error::other)?.flush()
}

/// The files of one table under `dir`, and the rows of each: `<name>.parquet`, or for a
/// partitioned table `<name>/financial_year=YYYY-YY/part-0.parquet` per year.
pub fn files<'a, R>(def: &TableDef<R>, dir: &Path, rows: &'a [R]) -> Vec<(PathBuf, Vec<&'a R>)> {
    match &def.partition {
        None => vec![(dir.join(format!("{}.parquet", def.name)), rows.iter().collect())],
        Some(p) => {
            let mut by_year: BTreeMap<FinancialYear, Vec<&R>> = BTreeMap::new();
            for r in rows {
                by_year.entry((p.get)(r)).or_default().push(r);
            }
            by_year
                .into_iter()
                .map(|(y, rows)| (dir.join(def.name).join(format!("{}={y}", p.name)).join("part-0.parquet"), rows))
                .collect()
        }
    }
}

/// Writes one table under `dir`.
pub fn write_table<R: Sync>(def: &TableDef<R>, dir: &Path, rows: &[R], provenance: &Provenance) -> io::Result<()> {
    use rayon::prelude::*;
    files(def, dir, rows)
        .into_par_iter()
        .try_for_each(|(path, rows)| write_batch(&path, def.name, &batch(def, &rows, provenance)?, provenance))
}
