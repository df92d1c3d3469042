//! `bcf status`: the last run as a person reads it — what ran, what failed and why, and what
//! `bcf rerun` would do.

use crate::ingest::{Disposition, InputFile};
use crate::record::RunRecord;
use crate::run::{rerun_plan, Scope};
use crate::state::{cache_key, State};
use crate::workbook::Limits;
use std::fmt::Write;
use std::path::Path;

pub fn describe(out: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(out.join("run.json"))
        .map_err(|e| format!("no run record in {} ({e}); run `bcf run` first", out.display()))?;
    let r: RunRecord = serde_json::from_str(&text).map_err(|e| format!("run.json is damaged: {e}"))?;
    let mut s = String::new();
    let _ = writeln!(s, "last run {} ({}): {}", r.run_id, r.command, r.status);
    let _ =
        writeln!(s, "  started {}  finished {}", r.started_at, r.finished_at.as_deref().unwrap_or("(not finished)"));
    let _ = writeln!(s, "  input {}  tool {}", r.config.input, r.tool_version);
    if let Some(e) = &r.error {
        let _ = writeln!(s, "  error: {e}");
    }
    let _ = writeln!(s, "stages:");
    for st in &r.stages {
        let counts = st.counts.iter().map(|(k, v)| format!("{v} {k}")).collect::<Vec<_>>().join(", ");
        let ms = st.duration_ms.map(|m| format!("{m} ms")).unwrap_or_default();
        let _ = writeln!(s, "  {:<10} {:<8} {:>9}  {}", st.name, st.status, ms, counts);
        if let Some(e) = &st.error {
            let _ = writeln!(s, "             {e}");
        }
    }
    let rejected: Vec<_> = r.files.iter().filter(|f| f.status == "rejected").collect();
    let _ = writeln!(s, "files: {} ({} rejected)", r.files.len(), rejected.len());
    for f in rejected {
        let _ = writeln!(s, "  rejected {}: {}", f.source_file, f.first_error.as_deref().unwrap_or("see findings"));
    }
    let plan = rerun_plan(&r, &Scope::default());
    if plan.is_empty() {
        let _ = writeln!(s, "rerun: nothing to do (every stage succeeded)");
    } else {
        let names: Vec<&str> = plan.iter().map(|p| p.name()).collect();
        let _ = writeln!(s, "rerun would run: {}", names.join(", "));
        if let Some(n) = unparsed_files(out, &r) {
            let _ = writeln!(s, "  and parse {n} file(s) not yet in the cache");
        }
    }
    Ok(s)
}

/// Workbooks of the last ingest with no parse in the cache for the current schemas.
fn unparsed_files(out: &Path, r: &RunRecord) -> Option<usize> {
    let state = State::new(out);
    let inputs: Vec<InputFile> = state.load(&state.ingest_path()).ok()??;
    let schemas = crate::schema::load(Path::new(&r.config.schemas_dir)).ok()?;
    let limits = Limits { max_inflated_bytes: r.config.max_inflated_bytes, ..Limits::default() };
    let fp = schemas.fingerprint();
    let cache = state.read_cache();
    Some(
        inputs
            .iter()
            .filter(|f| f.disposition == Disposition::Workbook)
            .filter(|f| !cache.contains(&cache_key(&f.sha256, &fp, &limits)))
            .count(),
    )
}
