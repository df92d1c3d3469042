//! `datapackage.json`: a Frictionless Data Package describing every file of a publish, made
//! from the tables' declarations, so catalogues, BI tools and `frictionless validate` can read
//! the outputs without the README.
//!
//! One resource per file: a partitioned table's files are one resource each (`lines-2023-24`),
//! whose fields are the file's own columns; the partition value, which lives only in the
//! folder name, is given as the resource's `partition` property with its type. Every resource
//! carries its size and SHA-256, so a reader can check it holds the files described: as the
//! standard `bytes` and `hash` on the CSV and report resources, and as `bcf:bytes` and
//! `bcf:hash` on Parquet ones, because Frictionless reads Parquet through pyarrow without
//! measuring the bytes and so reports any declared `bytes` or `hash` there as a mismatch.

use crate::tables::columns::{Described, Kind};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::io;
use std::path::Path;

/// Frictionless field types for our Arrow types. A list has no Frictionless type that a
/// Parquet reader's value satisfies, so it is `any`, with its Arrow type alongside.
fn frictionless(kind: Kind) -> &'static str {
    match kind {
        Kind::Utf8 => "string",
        Kind::Int32 | Kind::Int64 => "integer",
        Kind::Money | Kind::Float64 => "number",
        Kind::Date32 => "date",
        Kind::Utf8List => "any",
    }
}

/// `bytes` and `hash` of a published file.
fn integrity(dir: &Path, rel: &str) -> io::Result<(u64, String)> {
    let bytes = std::fs::read(dir.join(rel))?;
    Ok((bytes.len() as u64, format!("sha256:{}", hex::encode(Sha256::digest(&bytes)))))
}

fn table_schema(table: &Described) -> Value {
    let fields: Vec<Value> = table
        .columns
        .iter()
        .map(|(n, kind, nullable, d)| {
            let mut f =
                json!({ "name": n, "type": frictionless(*kind), "arrowType": kind.arrow_name(), "description": d });
            if !nullable {
                f["constraints"] = json!({ "required": true });
            }
            f
        })
        .collect();
    let mut schema = json!({ "fields": fields });
    if !table.primary_key.is_empty() {
        schema["primaryKey"] = json!(table.primary_key);
    }
    schema
}

/// One resource per Parquet file of `table`.
fn parquet_resources(dir: &Path, table: &Described, files: &[String]) -> io::Result<Vec<Value>> {
    files
        .iter()
        .map(|rel| {
            let (bytes, hash) = integrity(dir, rel)?;
            let mut r = json!({
                "name": table.name,
                "path": rel,
                "format": "parquet",
                "mediatype": "application/vnd.apache.parquet",
                "description": table.title,
                "bcf:bytes": bytes,
                "bcf:hash": hash,
                "schema": table_schema(table),
            });
            if let Some((name, doc)) = table.partition {
                // `lines/financial_year=2023-24/part-0.parquet` → 2023-24.
                let value = rel.split('/').find_map(|part| part.strip_prefix(&format!("{name}="))).unwrap_or_default();
                r["name"] = json!(format!("{}-{value}", table.name));
                r["partition"] = json!({ name: value, "type": "string", "description": doc });
            }
            Ok(r)
        })
        .collect()
}

/// A feedback CSV: every column text.
fn feedback_resource(dir: &Path, rel: &str) -> io::Result<Value> {
    let (bytes, hash) = integrity(dir, rel)?;
    let stem = rel.trim_start_matches("feedback/").trim_end_matches(".csv").to_lowercase();
    let fields: Vec<Value> = super::feedback::COLUMNS
        .iter()
        .map(|(name, doc)| json!({ "name": name, "type": "string", "description": doc }))
        .collect();
    Ok(json!({
        "name": format!("feedback-{stem}"),
        "path": rel,
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8-sig",
        "description": "One area's findings, with what to do about each (opened by areas in Excel)",
        "bytes": bytes,
        "hash": hash,
        "schema": { "fields": fields },
    }))
}

/// A report: a document, not a table.
fn report_resource(dir: &Path, rel: &str, format: &str, description: &str) -> io::Result<Value> {
    let mediatype = match format {
        "html" => "text/html",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => "text/markdown",
    };
    let (bytes, hash) = integrity(dir, rel)?;
    Ok(json!({
        "name": rel.to_lowercase().replace(['.', '/'], "-"),
        "path": rel,
        "type": "file",
        "format": format,
        "mediatype": mediatype,
        "description": description,
        "bytes": bytes,
        "hash": hash,
    }))
}

/// The package over the files in `dir`: `tables` with the Parquet files written for each,
/// the feedback CSVs and the reports (all paths relative to `dir`, `/`-separated).
pub fn package(
    dir: &Path,
    tables: &[(Described, Vec<String>)],
    feedback: &[String],
    area_pages: &[String],
) -> io::Result<String> {
    let mut resources = Vec::new();
    for (t, files) in tables {
        resources.extend(parquet_resources(dir, t, files)?);
    }
    for rel in feedback {
        resources.push(feedback_resource(dir, rel)?);
    }
    let report = "The run's report: the publish, changes since the last run, national totals, who to chase, rejected returns, findings by rule, coverage and decisions";
    resources.push(report_resource(dir, "report.html", "html", report)?);
    resources.push(report_resource(dir, "report.md", "md", report)?);
    resources.push(report_resource(
        dir,
        super::excel::FILE_NAME,
        "xlsx",
        "The publish for Excel: national totals, each area's figures, coverage, changes, findings per area and notes",
    )?);
    for rel in area_pages {
        resources.push(report_resource(
            dir,
            rel,
            "html",
            "One area's page: its figures, coverage, files, findings and decisions",
        )?);
    }
    let pkg = json!({
        "profile": "data-package",
        "name": "bcf-outputs",
        "title": "Better Care Fund returns: normalised lines, schemes and national totals",
        "version": crate::tables::parquet::SCHEMA_VERSION,
        "resources": resources,
    });
    serde_json::to_string_pretty(&pkg).map(|s| s + "\n").map_err(io::Error::other)
}
