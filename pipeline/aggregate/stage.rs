//! The aggregate stage: national totals, the reports and the feedback files, written into the
//! staging folder beside normalise's tables, which together make the next publish.

use crate::error::RunError;
use crate::model::FinancialYear;
use crate::normalise::stage::{staged_for, StagingState};
use crate::reference::Areas;
use crate::report::{datapackage, feedback, html, markdown};
use crate::run::record::{counts, Counts};
use crate::run::Stage;
use crate::schema::SchemaSet;
use crate::store::atomic::Durability;
use crate::store::{json, Store};
use crate::tables::{self, parquet, Tables};
use std::io;
use std::path::Path;

/// Adds the national totals to `tables` and writes the aggregate outputs beside the staged
/// tables of the same validation.
pub fn stage(
    store: &Store,
    tables: &mut Tables,
    validation: &str,
    reference: (&SchemaSet, &Areas),
    baseline: FinancialYear,
) -> Result<Counts, RunError> {
    let (schemas, areas) = reference;
    let Some(mut state) = staged_for(store, validation) else {
        return Err(RunError::MissingStage { stage: "aggregate", before: "normalise", path: store.layout().staging() });
    };
    tables.national = super::national_totals(tables, schemas, areas, baseline);
    let staging = store.layout().staging();
    let feedback_files =
        write_outputs(&staging, tables, schemas).map_err(RunError::io("write the outputs in", &staging))?;
    state.stages.push(Stage::Aggregate);
    json::save(&store.staging_state_path(), &state, Durability::Synced)?;
    Ok(counts(&[("national_rows", tables.national.len()), ("feedback_files", feedback_files)]))
}

/// Whether the staging folder holds a whole publish for this validation.
pub fn complete(store: &Store, validation: &str) -> bool {
    staged_for(store, validation).is_some_and(|s: StagingState| s.stages.contains(&Stage::Aggregate))
}

/// The national totals, reports, feedback files and data package; how many feedback files.
fn write_outputs(dir: &Path, t: &Tables, schemas: &SchemaSet) -> io::Result<usize> {
    let provenance = parquet::Provenance::of(schemas);
    let feedback = feedback::by_area(t);
    crate::parallel::all(vec![
        Box::new(|| std::fs::write(dir.join("report.html"), html::page(t))),
        Box::new(|| std::fs::write(dir.join("report.md"), markdown::markdown(t))),
        Box::new(|| write_feedback(&dir.join("feedback"), &feedback)),
        Box::new(|| parquet::write_table(&tables::NATIONAL, dir, &t.national, &provenance)),
    ])?;
    let feedback_files: Vec<String> = feedback.iter().map(|f| format!("feedback/{}", f.file_name)).collect();
    std::fs::write(dir.join("datapackage.json"), datapackage::package(dir, &described(dir, t), &feedback_files)?)?;
    Ok(feedback.len())
}

fn write_feedback(folder: &Path, feedback: &[feedback::AreaFeedback<'_>]) -> io::Result<()> {
    if feedback.is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(folder)?;
    feedback.iter().try_for_each(|area| std::fs::write(folder.join(&area.file_name), area.csv()?))
}

/// Every table, with the files written for it (relative to `dir`).
fn described(dir: &Path, t: &Tables) -> Vec<(tables::columns::Described, Vec<String>)> {
    fn files<R>(
        def: &tables::columns::TableDef<R>,
        dir: &Path,
        rows: &[R],
    ) -> (tables::columns::Described, Vec<String>) {
        let rel = parquet::files(def, dir, rows).into_iter().filter_map(|(p, _)| {
            let rel = p.strip_prefix(dir).ok()?;
            Some(rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"))
        });
        (def.describe(), rel.collect())
    }
    vec![
        files(&tables::NATIONAL, dir, &t.national),
        files(&tables::SUBMISSIONS, dir, &t.submissions),
        files(&tables::FINDINGS, dir, &t.findings),
        files(&tables::LINES, dir, &t.lines),
        files(&tables::SCHEMES, dir, &t.schemes),
        files(&tables::COVERAGE, dir, &t.coverage),
    ]
}
