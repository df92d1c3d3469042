//! `datapackage.json`: a Frictionless Data Package describing every output table and column,
//! so catalogues and BI tools can read the outputs without the README.

use serde_json::{json, Value};

type Col = (&'static str, &'static str, &'static str);

const MONEY: &str = "decimal128(18,2)";

const NATIONAL: &[Col] = &[
    ("financial_year", "utf8", "Financial year, e.g. 2015-16"),
    ("basis", "utf8", "plan or actual"),
    ("areas_expected", "int32", "Health and Wellbeing Boards that exist that year"),
    ("areas_included", "int32", "Areas whose accepted submission covers this year and basis"),
    (
        "mandated_minimum_gbp",
        MONEY,
        "Sum of mandatory streams: nhs_minimum, dfg, social_care_capital, ibcf, la_discharge, icb_discharge",
    ),
    ("voluntary_la_gbp", MONEY, "Sum of la_additional"),
    ("voluntary_nhs_gbp", MONEY, "Sum of nhs_additional"),
    ("voluntary_above_minimum_gbp", MONEY, "voluntary_la_gbp + voluntary_nhs_gbp"),
    ("total_pooled_gbp", MONEY, "mandated_minimum_gbp + voluntary_above_minimum_gbp"),
    ("baseline_year", "utf8", "Baseline year of the comparison (plan basis)"),
    ("voluntary_vs_baseline_ratio", "float64", "Voluntary total / the baseline year's; null without a baseline"),
];

const SUBMISSIONS: &[Col] = &[
    ("source_file", "utf8", "Path relative to the input root, /-separated"),
    ("sha256", "utf8", "SHA-256 of the file's bytes (hex)"),
    ("bytes", "int64", "File size in bytes"),
    ("template_id", "utf8", "Template family; null if not recognised"),
    ("area_code", "utf8", "ONS code of the HWB; null for allocations and unmatched areas"),
    ("area_name", "utf8", "HWB name as in areas.csv"),
    ("status", "utf8", "accepted, accepted_with_warnings, rejected, superseded, duplicate or skipped"),
    ("error_count", "int32", "Findings of severity error"),
    ("warning_count", "int32", "Findings of severity warning"),
    ("submission_date", "utf8", "Cover submission date, ISO yyyy-mm-dd"),
];

const FINDINGS: &[Col] = &[
    ("source_file", "utf8", "As in submissions"),
    ("rule", "utf8", "Validation rule id (catalogue §5)"),
    ("severity", "utf8", "error or warning"),
    ("sheet", "utf8", "Sheet name; null when not about a sheet"),
    ("cell", "utf8", "A1-style cell; null when not about one cell"),
    ("message", "utf8", "What was found and what to do"),
];

const LINES: &[Col] = &[
    ("financial_year", "utf8", "Hive partition column (folder name)"),
    ("basis", "utf8", "plan or actual"),
    ("area_code", "utf8", "ONS code of the HWB"),
    ("area_name", "utf8", "HWB name"),
    ("template_id", "utf8", "Template family"),
    ("funding_source", "utf8", "Funding source id"),
    ("contributor", "utf8", "Contributing organisation as typed"),
    ("amount_gbp", MONEY, "Amount in pounds"),
    ("source_file", "utf8", "File the amount was read from"),
    ("sheet", "utf8", "Sheet the amount was read from"),
    ("cell", "utf8", "Cell the amount was read from"),
];

const SCHEMES: &[Col] = &[
    ("financial_year", "utf8", "Hive partition column (folder name)"),
    ("basis", "utf8", "plan or actual"),
    ("area_code", "utf8", "ONS code of the HWB"),
    ("template_id", "utf8", "Template family"),
    ("scheme_id", "utf8", "Scheme ID as typed"),
    ("scheme_name", "utf8", "Scheme name"),
    ("scheme_type", "utf8", "Scheme type"),
    ("area_of_spend", "utf8", "Area of spend"),
    ("commissioner", "utf8", "Commissioner"),
    ("provider", "utf8", "Provider"),
    ("funding_source", "utf8", "Funding source id; null if not mapped"),
    ("amount_gbp", MONEY, "Expenditure in pounds"),
    ("source_file", "utf8", "File the amount was read from"),
    ("sheet", "utf8", "Sheet the amount was read from"),
    ("cell", "utf8", "Cell the amount was read from"),
];

/// Frictionless field types for our Arrow types.
fn frictionless(arrow: &str) -> &'static str {
    match arrow {
        "utf8" => "string",
        "int32" | "int64" => "integer",
        _ => "number",
    }
}

fn resource(name: &str, path: Value, description: &str, cols: &[Col]) -> Value {
    json!({
        "name": name,
        "path": path,
        "format": "parquet",
        "mediatype": "application/vnd.apache.parquet",
        "description": description,
        "schema": {
            "fields": cols.iter().map(|(n, t, d)| json!({
                "name": n, "type": frictionless(t), "arrowType": t, "description": d
            })).collect::<Vec<_>>()
        }
    })
}

/// The package; `years` are the partitions written, so `path` lists real files.
pub fn package(line_years: &[String], scheme_years: &[String]) -> String {
    let parts = |table: &str, years: &[String]| {
        Value::Array(years.iter().map(|y| json!(format!("{table}/financial_year={y}/part-0.parquet"))).collect())
    };
    let pkg = json!({
        "profile": "data-package",
        "name": "bcf-outputs",
        "title": "Better Care Fund returns: normalised lines, schemes and national totals",
        "version": crate::normalise::parquet::SCHEMA_VERSION,
        "resources": [
            resource("national_totals", json!("national_totals.parquet"), "One row per financial year and basis", NATIONAL),
            resource("submissions", json!("submissions.parquet"), "One row per input file", SUBMISSIONS),
            resource("findings", json!("findings.parquet"), "Every validation finding", FINDINGS),
            resource("lines", parts("lines", line_years), "Income lines of accepted submissions, Hive-partitioned by financial_year", LINES),
            resource("schemes", parts("schemes", scheme_years), "Scheme amounts of accepted submissions, Hive-partitioned by financial_year", SCHEMES),
        ]
    });
    serde_json::to_string_pretty(&pkg).unwrap_or_default() + "\n"
}
