//! What one stage hands the next within a command; a stage run alone reads it back from what
//! the earlier stages persisted.

use crate::error::RunError;
use crate::ingest::{Disposition, InputFile};
use crate::model::FinancialYear;
use crate::reference::Areas;
use crate::schema::SchemaSet;
use crate::store::Store;
use crate::tables::Tables;
use crate::validate::persist::Validation;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashSet;

#[derive(Default)]
pub struct Handoff {
    pub inputs: Option<Vec<InputFile>>,
    /// The validation, what the decisions did, and the digest naming it.
    validated: Option<(Validation, String)>,
    tables: Option<(Tables, String)>,
    /// The last publish's summary, when the outputs were up to date.
    pub summary: Option<Tables>,
}

impl Handoff {
    /// The input files: this command's ingest, or the last one's.
    pub fn inputs(&mut self, store: &Store, stage: &'static str) -> Result<Vec<InputFile>, RunError> {
        if self.inputs.is_none() {
            self.inputs = Some(crate::ingest::stage::load(store, stage)?);
        }
        Ok(self.inputs.clone().unwrap_or_default())
    }

    pub fn validated(&mut self, inputs: Vec<InputFile>, validation: crate::validate::stage::Validation) {
        let list = validation.files.into_iter().map(|f| f.validated).collect();
        self.inputs = Some(inputs);
        self.validated = Some(((list, validation.decisions), validation.digest));
        self.tables = None;
    }

    /// The tables of the validation, and its digest: built from this command's validation or
    /// from what the last one persisted.
    pub fn tables(
        &mut self,
        store: &Store,
        schemas: &SchemaSet,
        areas: &Areas,
        stage: &'static str,
    ) -> Result<(&mut Tables, String), RunError> {
        let entry = match self.tables.take() {
            Some(entry) => entry,
            None => {
                let inputs = self.inputs(store, stage)?;
                let (validated, digest) = match self.validated.take() {
                    Some(v) => v,
                    None => load_validated(store, stage)?,
                };
                (crate::normalise::stage::tables_of(&inputs, validated, schemas, areas), digest)
            }
        };
        let (tables, digest) = self.tables.insert(entry);
        Ok((tables, digest.clone()))
    }

    /// The tables to be published, if this command built them.
    pub fn published_tables(&self) -> Option<&Tables> {
        self.tables.as_ref().map(|(t, _)| t)
    }

    /// What the command saw, with national totals, for its summary.
    pub fn into_tables(mut self, store: &Store, schemas: &SchemaSet, areas: &Areas, baseline: FinancialYear) -> Tables {
        if let Some(summary) = self.summary.take() {
            return summary;
        }
        if self.tables.is_none() && (self.validated.is_some() || store.validate_path().exists()) {
            let _ = self.tables(store, schemas, areas, "summary");
        }
        let Some((mut tables, _)) = self.tables else { return Tables::default() };
        if tables.national.is_empty() {
            tables.area_totals = crate::aggregate::area_totals(&tables, schemas);
            tables.national = crate::aggregate::national_totals(&tables, areas, baseline);
        }
        tables
    }
}

fn load_validated(store: &Store, stage: &'static str) -> Result<(Validation, String), RunError> {
    let path = store.validate_path();
    let validated = crate::validate::persist::load(&path, &store.cache_path())?
        .ok_or_else(|| RunError::MissingStage { stage, before: "validate", path: path.clone() })?;
    let digest = crate::validate::persist::current_digest(&path).unwrap_or_default();
    Ok((validated, digest))
}

/// The files a scoped rerun re-reads: those of the last validation in scope.
pub fn in_scope(store: &Store, scope: &super::Scope) -> HashSet<String> {
    if scope.is_empty() {
        return HashSet::new();
    }
    let previous = crate::validate::persist::load(&store.validate_path(), &store.cache_path()).ok().flatten();
    previous
        .map(|(files, _)| files)
        .unwrap_or_default()
        .into_iter()
        .filter(|v| scope.matches(v.parsed.area_code.as_deref(), v.parsed.template_id.as_deref()))
        .map(|v| v.source_file)
        .collect()
}

/// What the published outputs depend on: every input's path, content and disposition, the
/// schemas, the tool, the limits, the baseline and the decisions file.
#[derive(Serialize)]
struct Fingerprinted<'a> {
    inputs: Vec<(&'a str, &'a str, &'a Disposition)>,
    schemas: String,
    tool_version: &'a str,
    limits: &'a crate::workbook::Limits,
    baseline: FinancialYear,
    decisions: Option<&'a str>,
}

pub fn fingerprint(
    inputs: &[InputFile],
    schemas: &SchemaSet,
    cfg: &super::RunConfig,
    decisions: &crate::validate::decisions::Decisions,
) -> String {
    let f = Fingerprinted {
        inputs: inputs.iter().map(|f| (f.source_file.as_str(), f.sha256.as_str(), &f.disposition)).collect(),
        schemas: schemas.fingerprint(),
        tool_version: env!("CARGO_PKG_VERSION"),
        limits: &cfg.limits,
        baseline: cfg.baseline,
        decisions: decisions.sha256.as_deref(),
    };
    hex::encode(Sha256::digest(serde_json::to_vec(&f).unwrap_or_default()))
}

/// `OUT/.bcf/summary.json`: what a publish held that the next run compares itself with (and
/// an up-to-date run reports), and which snapshot it describes.
#[derive(Serialize, serde::Deserialize)]
pub struct Summary {
    pub snapshot: String,
    pub tables: Tables,
}

/// The part of a publish's tables its summary keeps.
pub fn summary(t: &Tables) -> Tables {
    Tables {
        submissions: t.submissions.clone(),
        coverage: t.coverage.clone(),
        decisions: t.decisions.clone(),
        national: t.national.clone(),
        area_totals: t.area_totals.clone(),
        ..Tables::default()
    }
}

/// The current publish's summary, if it describes the snapshot now current (a command killed
/// between publishing and writing the summary leaves none to compare with).
pub fn previous_publish(store: &Store) -> Option<Tables> {
    let summary: Summary = crate::store::json::load(&store.summary_path(), "").ok().flatten()?;
    let published = store.layout().published().ok()?;
    (published.current()?.id == summary.snapshot).then_some(summary.tables)
}
