//! `datapackage.json`: a Frictionless Data Package describing every output table and column,
//! made from the tables' declarations, so catalogues and BI tools can read the outputs without
//! the README.

use crate::tables::columns::{Described, Kind};
use serde_json::{json, Value};

/// Frictionless field types for our Arrow types.
fn frictionless(kind: Kind) -> &'static str {
    match kind {
        Kind::Utf8 => "string",
        Kind::Int32 | Kind::Int64 => "integer",
        Kind::Money | Kind::Float64 => "number",
        Kind::Date32 => "date",
        Kind::Utf8List => "array",
    }
}

fn resource(table: &Described, path: Value) -> Value {
    let mut fields: Vec<Value> = Vec::new();
    if let Some((name, doc)) = table.partition {
        fields.push(json!({ "name": name, "type": "string", "arrowType": "utf8", "description": doc }));
    }
    fields.extend(table.columns.iter().map(|(n, kind, _, d)| {
        json!({ "name": n, "type": frictionless(*kind), "arrowType": kind.arrow_name(), "description": d })
    }));
    json!({
        "name": table.name,
        "path": path,
        "format": "parquet",
        "mediatype": "application/vnd.apache.parquet",
        "description": table.title,
        "schema": { "fields": fields }
    })
}

/// The package over `tables`, each with the files written for it (relative paths).
pub fn package(tables: &[(Described, Vec<String>)]) -> String {
    let resources: Vec<Value> = tables
        .iter()
        .map(|(t, files)| {
            let path = match (&t.partition, files.as_slice()) {
                (None, [one]) => json!(one),
                _ => Value::Array(files.iter().map(|f| json!(f)).collect()),
            };
            resource(t, path)
        })
        .collect();
    let pkg = json!({
        "profile": "data-package",
        "name": "bcf-outputs",
        "title": "Better Care Fund returns: normalised lines, schemes and national totals",
        "version": crate::tables::parquet::SCHEMA_VERSION,
        "resources": resources,
    });
    serde_json::to_string_pretty(&pkg).unwrap_or_default() + "\n"
}
