//! The normalise stage: the rows of every per-file table, written as Parquet into the staging
//! folder of the next publish.

use crate::contract::{counts, Counts, Stage};
use crate::error::RunError;
use crate::ingest::InputFile;
use crate::reference::Areas;
use crate::schema::SchemaSet;
use crate::store::atomic::Durability;
use crate::store::{json, Store};
use crate::tables::{self, parquet, Tables};
use crate::validate::submissions;
use serde::{Deserialize, Serialize};

/// `OUT/.bcf/staging.json`: which validation the staging folder was made from, and which
/// stages have written their outputs there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagingState {
    pub validation: String,
    pub stages: Vec<Stage>,
}

/// The rows of every table but the national totals, from a validation.
pub fn tables_of(
    inputs: &[InputFile],
    validation: crate::validate::persist::Validation,
    schemas: &SchemaSet,
    areas: &Areas,
) -> Tables {
    let (validated, decisions) = validation;
    let supply = submissions::supply(&validated, schemas);
    let periods = super::coverage::periods(&validated, schemas);
    let coverage = super::coverage_rows(&periods, &supply, areas);
    let tables = super::build(inputs, validated, &supply, coverage, decisions);
    Tables { funding_sources: super::funding_source_rows(schemas), ..tables }
}

/// Writes the per-file tables into a fresh staging folder.
pub fn stage(store: &Store, tables: &Tables, validation: &str, schemas: &SchemaSet) -> Result<Counts, RunError> {
    let staging = store.layout().staging();
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(RunError::io("clear the staging folder", &staging))?;
    }
    std::fs::create_dir_all(&staging).map_err(RunError::io("create", &staging))?;
    let write_err = RunError::io("write the outputs in", &staging);
    write_data(&staging, tables, &parquet::Provenance::of(schemas)).map_err(write_err)?;
    crate::store::checkpoint("during-normalise");
    let state = StagingState { validation: validation.to_string(), stages: vec![Stage::Normalise] };
    json::save(&store.staging_state_path(), &state, Durability::Synced)?;
    Ok(counts(&[
        ("submissions", tables.submissions.len()),
        ("findings", tables.findings.len()),
        ("lines", tables.lines.len()),
        ("schemes", tables.schemes.len()),
        ("cover_fields", tables.cover_fields.len()),
        ("scheme_fields", tables.scheme_fields.len()),
        ("coverage", tables.coverage.len()),
        ("decisions", tables.decisions.len()),
    ]))
}

/// The tables are independent: each is written by the next free thread.
fn write_data(dir: &std::path::Path, t: &Tables, p: &parquet::Provenance) -> std::io::Result<()> {
    crate::parallel::all(vec![
        Box::new(|| parquet::write_table(&tables::LINES, dir, &t.lines, p)),
        Box::new(|| parquet::write_table(&tables::SCHEMES, dir, &t.schemes, p)),
        Box::new(|| parquet::write_table(&tables::COVER_FIELDS, dir, &t.cover_fields, p)),
        Box::new(|| parquet::write_table(&tables::SCHEME_FIELDS, dir, &t.scheme_fields, p)),
        Box::new(|| parquet::write_table(&tables::FUNDING_SOURCES, dir, &t.funding_sources, p)),
        Box::new(|| parquet::write_table(&tables::SUBMISSIONS, dir, &t.submissions, p)),
        Box::new(|| parquet::write_table(&tables::FINDINGS, dir, &t.findings, p)),
        Box::new(|| parquet::write_table(&tables::COVERAGE, dir, &t.coverage, p)),
        Box::new(|| parquet::write_table(&tables::DECISIONS, dir, &t.decisions, p)),
    ])
}

/// The staging folder's state, if it was made from the validation named `validation`.
pub fn staged_for(store: &Store, validation: &str) -> Option<StagingState> {
    let state: StagingState = json::load(&store.staging_state_path(), "").ok().flatten()?;
    (state.validation == validation && store.layout().staging().is_dir()).then_some(state)
}

/// Every table, national totals included, from what the last validation persisted.
pub fn persisted_tables(
    store: &Store,
    schemas: &SchemaSet,
    areas: &Areas,
    baseline: crate::model::FinancialYear,
) -> Result<Tables, RunError> {
    let inputs = crate::ingest::stage::load(store, "explain")?;
    let path = store.validate_path();
    let validated = crate::validate::persist::load(&path, &store.cache_path())?.ok_or(RunError::MissingStage {
        stage: "explain",
        before: "validate",
        path,
    })?;
    let mut t = tables_of(&inputs, validated, schemas, areas);
    t.area_totals = crate::aggregate::area_totals(&t, schemas);
    t.national = crate::aggregate::national_totals(&t, areas, baseline);
    Ok(t)
}
