//! `bcf status`: the last run as a person reads it — what ran, what failed and why, whether a
//! command is writing now or died midway, and what `bcf rerun` would do.

use crate::error::RunError;
use crate::ingest::{Disposition, InputFile};
use crate::model::Status;
use crate::run::record::{RunRecord, RunStatus, StageStatus};
use crate::run::{rerun_plan, shown_status, Scope};
use crate::store::{Store, Writer};
use crate::validate::stage::cache_key;
use crate::workbook::Limits;
use std::fmt::Write;
use std::path::Path;

pub fn describe(out: &Path) -> Result<String, RunError> {
    let (store, writer) = Store::open_for_reading(out)?;
    let Some(mut r) = crate::run::last_record(&store) else {
        return Err(RunError::Refused(format!("no run record in {}: run `bcf run` first", out.display())));
    };
    let active = writer != Writer::None;
    let mut s = String::new();
    let run_status = match (r.status, active) {
        (RunStatus::Running, false) => "interrupted (the command stopped before it finished: run `bcf rerun`)",
        (RunStatus::Running, true) => "running",
        (RunStatus::Success, _) => "success",
        (RunStatus::Failed, _) => "failed",
    };
    format_line_to!(s, "last run {} ({}): {run_status}", r.run_id, r.command);
    if let Writer::Active(Some(h)) = &writer {
        format_line_to!(
            s,
            "  a command is writing this folder now: `bcf {}`, pid {}, started {}",
            h.command,
            h.pid,
            h.started_at
        );
    }
    let _ =
        writeln!(s, "  started {}  finished {}", r.started_at, r.finished_at.as_deref().unwrap_or("(not finished)"));
    format_line_to!(s, "  input {}  tool {}", r.config.input, r.tool_version);
    if let Some(e) = &r.error {
        format_line_to!(s, "  error: {e}");
    }
    if let Some(dir) = store.layout().current_dir() {
        format_line_to!(s, "  published: {}", dir.display());
    }
    stages(&mut s, &r, active);
    files(&mut s, &r);
    if !active {
        // An interrupted stage is one a rerun runs again.
        for st in r.stages.iter_mut().filter(|st| matches!(st.status, StageStatus::Running | StageStatus::Pending)) {
            st.status = StageStatus::Failed;
        }
        rerun(&mut s, &store, &r);
    }
    Ok(crate::report::escape::for_terminal(&s))
}

fn stages(s: &mut String, r: &RunRecord, active: bool) {
    format_line_to!(s, "stages:");
    for st in &r.stages {
        let counts = st.counts.iter().map(|(k, v)| format!("{v} {k}")).collect::<Vec<_>>().join(", ");
        let ms = st.duration_ms.map(|m| format!("{m} ms")).unwrap_or_default();
        format_line_to!(s, "  {:<10} {:<11} {:>9}  {}", st.name.name(), shown_status(st.status, active), ms, counts);
        if let Some(e) = &st.error {
            format_line_to!(s, "             {e}");
        }
    }
}

fn files(s: &mut String, r: &RunRecord) {
    let rejected: Vec<_> = r.files.iter().filter(|f| f.status == Status::Rejected).collect();
    format_line_to!(s, "files: {} ({} rejected)", r.files.len(), rejected.len());
    for f in rejected.iter().take(50) {
        format_line_to!(s, "  rejected {}: {}", f.source_file, f.first_error.as_deref().unwrap_or("see findings"));
    }
    if rejected.len() > 50 {
        format_line_to!(s, "  … and {} more (see OUT/current/findings.parquet)", rejected.len() - 50);
    }
}

fn rerun(s: &mut String, store: &Store, r: &RunRecord) {
    let plan = rerun_plan(r, &Scope::default());
    if plan.is_empty() {
        format_line_to!(s, "rerun: nothing to do (every stage succeeded)");
        return;
    }
    let names: Vec<&str> = plan.iter().map(|p| p.name()).collect();
    format_line_to!(s, "rerun would run: {}", names.join(", "));
    if let Some(n) = unparsed_files(store, r) {
        format_line_to!(s, "  and parse {n} file(s) not yet in the cache");
    }
}

/// Workbooks of the last ingest with no parse in the cache for the current schemas.
fn unparsed_files(store: &Store, r: &RunRecord) -> Option<usize> {
    let inputs: Vec<InputFile> = crate::store::json::load(&store.ingest_path(), "").ok()??;
    let schemas = crate::load::schemas(Path::new(&r.config.schemas_dir)).ok()?;
    let limits = Limits { max_inflated_bytes: r.config.max_inflated_bytes, ..Limits::default() };
    let fp = schemas.fingerprint();
    let cache = crate::store::cache::ParseCache::open(&store.cache_path());
    let missing = inputs.iter().filter(|f| f.disposition == Disposition::Workbook);
    Some(missing.filter(|f| !cache.contains(&cache_key(&f.sha256, &fp, &limits), &f.sha256)).count())
}
