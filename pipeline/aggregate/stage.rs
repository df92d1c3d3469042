//! The aggregate stage: national totals, the reports and the feedback files, written into the
//! staging folder beside normalise's tables, which together make the next publish.

use crate::contract::{counts, Counts, Stage};
use crate::error::RunError;
use crate::model::{Date, FinancialYear};
use crate::normalise::stage::{staged_for, StagingState};
use crate::reference::Areas;
use crate::report::digest::Publication;
use crate::report::{areas, datapackage, excel, feedback, html, markdown};
use crate::schema::SchemaSet;
use crate::store::atomic::Durability;
use crate::store::{json, Store};
use crate::tables::{self, parquet, Tables};
use std::io;
use std::path::Path;

/// What aggregating needs besides the tables.
pub struct Settings<'a> {
    /// The year voluntary pooling is compared with.
    pub baseline: FinancialYear,
    /// The date the publish's pages and workbook show.
    pub date: Date,
    /// The last publish's tables, to say what changed; `None` for the first publish.
    pub previous: Option<&'a Tables>,
}

/// Adds the national and area totals to `tables`, and what changed since the last publish,
/// and writes the aggregate outputs beside the staged tables of the same validation.
pub fn stage(
    store: &Store,
    tables: &mut Tables,
    validation: &str,
    reference: (&SchemaSet, &Areas),
    settings: &Settings<'_>,
) -> Result<Counts, RunError> {
    let (schemas, areas) = reference;
    let Some(mut state) = staged_for(store, validation) else {
        return Err(RunError::MissingStage { stage: "aggregate", before: "normalise", path: store.layout().staging() });
    };
    tables.area_totals = super::area_totals(tables, schemas);
    tables.national = super::national_totals(tables, areas, settings.baseline);
    tables.changes = settings.previous.map(|p| super::changes::compare(p, tables));
    let staging = store.layout().staging();
    // The publish these outputs become: the lock is held until then, so no other takes its id.
    let publication = Publication { date: settings.date, snapshot: store.layout().next_snapshot_id()? };
    let feedback_files = write_outputs(&staging, tables, schemas, &publication)
        .map_err(RunError::io("write the outputs in", &staging))?;
    state.stages.push(Stage::Aggregate);
    json::save(&store.staging_state_path(), &state, Durability::Synced)?;
    let changes = tables.changes.as_ref().map_or(0, Vec::len);
    Ok(counts(&[("national_rows", tables.national.len()), ("feedback_files", feedback_files), ("changes", changes)]))
}

/// Whether the staging folder holds a whole publish for this validation.
pub fn complete(store: &Store, validation: &str) -> bool {
    staged_for(store, validation).is_some_and(|s: StagingState| s.stages.contains(&Stage::Aggregate))
}

/// The national totals, reports, feedback files and data package; how many feedback files.
fn write_outputs(dir: &Path, t: &Tables, schemas: &SchemaSet, publication: &Publication) -> io::Result<usize> {
    let provenance = parquet::Provenance::of(schemas);
    let feedback = feedback::by_area(t, schemas);
    let area_pages = areas::pages(t, publication);
    crate::parallel::all(vec![
        Box::new(|| std::fs::write(dir.join("report.html"), html::page(t, schemas, publication))),
        Box::new(|| write_pages(&dir.join("areas"), &area_pages)),
        Box::new(|| std::fs::write(dir.join("report.md"), markdown::markdown(t, schemas, publication))),
        Box::new(|| {
            let bytes = excel::workbook(t, schemas, publication).map_err(std::io::Error::other)?;
            std::fs::write(dir.join(excel::FILE_NAME), bytes)
        }),
        Box::new(|| write_feedback(&dir.join("feedback"), &feedback)),
        Box::new(|| parquet::write_table(&tables::NATIONAL, dir, &t.national, &provenance)),
        Box::new(|| parquet::write_table(&tables::AREA_TOTALS, dir, &t.area_totals, &provenance)),
        Box::new(|| parquet::write_table(&tables::CHANGES, dir, t.changes.as_deref().unwrap_or_default(), &provenance)),
    ])?;
    let feedback_files: Vec<String> = feedback.iter().map(|f| format!("feedback/{}", f.file_name)).collect();
    let pages: Vec<String> = area_pages.iter().map(|(name, _)| format!("areas/{name}")).collect();
    let package = datapackage::package(dir, &described(dir, t), &feedback_files, &pages)?;
    std::fs::write(dir.join("datapackage.json"), package)?;
    Ok(feedback.len())
}

fn write_pages(folder: &Path, pages: &[(String, String)]) -> io::Result<()> {
    std::fs::create_dir_all(folder)?;
    pages.iter().try_for_each(|(name, page)| std::fs::write(folder.join(name), page))
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
        files(&tables::COVER_FIELDS, dir, &t.cover_fields),
        files(&tables::SCHEME_FIELDS, dir, &t.scheme_fields),
        files(&tables::FUNDING_SOURCES, dir, &t.funding_sources),
        files(&tables::COVERAGE, dir, &t.coverage),
        files(&tables::DECISIONS, dir, &t.decisions),
        files(&tables::AREA_TOTALS, dir, &t.area_totals),
        files(&tables::CHANGES, dir, t.changes.as_deref().unwrap_or_default()),
    ]
}
