//! Sequences the stages, persists what each produced under `OUT/.bcf/`, keeps the run record
//! and publishes outputs. No stage logic lives here.
//!
//! Every command first finishes any publish a killed command left half done, so outputs are
//! always whole files from one publish or the next.

use crate::aggregate;
use crate::ingest::http::HttpOptions;
use crate::ingest::{self, Disposition, InputFile};
use crate::model::{Finding, Rule, Status};
use crate::normalise;
use crate::record::{self, FileRecord, RunConfigRecord, RunRecord};
use crate::reference::Areas;
use crate::schema::{self, SchemaSet};
use crate::state::{self, State};
use crate::tables::Tables;
use crate::validate::{self, cross::Validated, Context, ParsedFile};
use crate::workbook::Limits;
use rayon::prelude::*;
use serde_json::value::RawValue;
use std::collections::{BTreeMap, HashMap};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tracing::{info, info_span, warn};

/// Everything a run needs to know.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// A folder, or the http(s) URL of a manifest.
    pub input: PathBuf,
    pub out: PathBuf,
    pub baseline_year: String,
    pub schemas_dir: PathBuf,
    pub limits: Limits,
    /// For a manifest URL as `input`.
    pub http: HttpOptions,
    /// Reports per-file progress (e.g. a terminal progress bar).
    pub progress: Option<Progress>,
}

/// A callback told `(files done, files in all)` as validation proceeds.
#[derive(Clone)]
pub struct Progress(pub std::sync::Arc<dyn Fn(u64, u64) + Send + Sync>);

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}

impl RunConfig {
    pub fn new(input: impl Into<PathBuf>, out: impl Into<PathBuf>) -> Self {
        RunConfig {
            input: input.into(),
            out: out.into(),
            baseline_year: "2015-16".into(),
            schemas_dir: schema::default_dir(),
            limits: Limits::default(),
            http: HttpOptions::default(),
            progress: None,
        }
    }

    fn record(&self) -> RunConfigRecord {
        RunConfigRecord {
            input: self.input.to_string_lossy().into_owned(),
            out: self.out.to_string_lossy().into_owned(),
            baseline_year: self.baseline_year.clone(),
            schemas_dir: self.schemas_dir.to_string_lossy().into_owned(),
            max_inflated_bytes: self.limits.max_inflated_bytes,
        }
    }

    /// The configuration a previous run recorded (for `bcf rerun`).
    pub fn from_record(r: &RunConfigRecord) -> RunConfig {
        let mut cfg = RunConfig::new(&r.input, &r.out);
        cfg.baseline_year = r.baseline_year.clone();
        cfg.schemas_dir = PathBuf::from(&r.schemas_dir);
        cfg.limits.max_inflated_bytes = r.max_inflated_bytes;
        cfg
    }
}

/// The pipeline's stages, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    Ingest,
    Validate,
    Normalise,
    Aggregate,
}

impl Stage {
    pub const ALL: [Stage; 4] = [Stage::Ingest, Stage::Validate, Stage::Normalise, Stage::Aggregate];

    pub fn name(self) -> &'static str {
        record::STAGES[self as usize]
    }

    pub fn from_name(s: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|st| st.name() == s)
    }
}

/// Files a rerun re-parses regardless of the cache.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub area: Option<String>,
    pub template: Option<String>,
}

impl Scope {
    pub fn is_empty(&self) -> bool {
        self.area.is_none() && self.template.is_none()
    }

    fn matches(&self, p: &ParsedFile) -> bool {
        !self.is_empty()
            && self.area.as_ref().is_none_or(|a| p.area_code.as_ref() == Some(a))
            && self.template.as_ref().is_none_or(|t| p.template_id.as_ref() == Some(t))
    }
}

/// Why a run could not complete (never a bad return: those are findings).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("schema problems:\n{}", .0.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    Schemas(Vec<schema::SchemaProblem>),
    #[error("reference data: {0}")]
    Reference(String),
    #[error("cannot read the input folder {path}: {source}")]
    Input { path: PathBuf, source: std::io::Error },
    #[error("cannot fetch the manifest: {0}")]
    Manifest(String),
    #[error("cannot write the outputs under {path}: {source}")]
    Output { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Config(String),
    #[error("nothing to {stage}: run `bcf {before}` first ({path} is missing)")]
    MissingStage { stage: &'static str, before: &'static str, path: PathBuf },
    #[error("{path} refers to the parse of {file}, which is no longer in the parse cache: run `bcf validate` again")]
    ParseGone { path: PathBuf, file: String },
}

/// What a command did.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub tables: Tables,
    pub record: RunRecord,
    /// Files parsed this time (the rest came from the cache).
    pub parsed: usize,
    pub cached: usize,
}

/// Loads the schemas and the reference areas they ship with.
pub fn load_reference(schemas_dir: &Path) -> Result<(SchemaSet, Areas), RunError> {
    let schemas = schema::load(schemas_dir).map_err(RunError::Schemas)?;
    let areas = Areas::load(&schemas_dir.join("reference").join("areas.csv")).map_err(RunError::Reference)?;
    Ok((schemas, areas))
}

/// Validates one file, turning a panic into a finding so one file never stops the run.
pub fn validate_one(input: &InputFile, ctx: &Context<'_>) -> ParsedFile {
    validate_read(input, None, ctx)
}

/// [`validate_one`] on the file's bytes, when ingest has read them already.
pub fn validate_read(input: &InputFile, bytes: Option<Vec<u8>>, ctx: &Context<'_>) -> ParsedFile {
    let _span = info_span!("file", source_file = %input.source_file).entered();
    let parse = AssertUnwindSafe(|| validate::parse_file_from(&input.path, bytes, ctx));
    let parsed = std::panic::catch_unwind(parse).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown cause".into());
        warn!(%what, "reading the file panicked");
        ParsedFile {
            findings: vec![Finding::file(
                Rule::FileUnreadable,
                format!("the workbook could not be read (internal error: {what}); please report this file"),
            )],
            transient: true,
            ..Default::default()
        }
    });
    info!(
        template = parsed.template_id.as_deref().unwrap_or("-"),
        findings = parsed.findings.len(),
        lines = parsed.lines.len(),
        "validated"
    );
    parsed
}

/// Runs every stage over the input and publishes every output. Returns the tables written.
pub fn run(cfg: &RunConfig) -> Result<Tables, RunError> {
    run_stages(cfg, &Stage::ALL, &Scope::default(), "run").map(|o| o.tables)
}

/// Runs some stages, each reading what the previous one persisted, then publishes.
pub fn run_stages(cfg: &RunConfig, stages: &[Stage], scope: &Scope, command: &str) -> Result<Outcome, RunError> {
    if crate::model::FinancialYear::parse(&cfg.baseline_year).is_none() {
        return Err(RunError::Config(format!("--baseline {} is not a financial year like 2015-16", cfg.baseline_year)));
    }
    let state = State::new(&cfg.out);
    let out_err = |source| RunError::Output { path: cfg.out.clone(), source };
    let record_path = cfg.out.join("run.json");
    // The schemas load while the output folder is readied and the last run record read.
    let (reference, previous) = rayon::join(
        || load_reference(&cfg.schemas_dir),
        || -> Result<Option<RunRecord>, RunError> {
            std::fs::create_dir_all(&state.dir).map_err(out_err)?;
            if state.recover().map_err(out_err)? {
                info!("finished a publish that an earlier command left half done");
            }
            state.clear_staging().map_err(out_err)?;
            Ok(state.load(&record_path).ok().flatten())
        },
    );
    let previous = previous?;
    let (schemas, areas) = reference?;
    let mut rec = RunRecord::new(command, cfg.record(), schemas.file_hashes.clone());
    if let Some(p) = &previous {
        if !stages.contains(&Stage::Ingest) {
            rec.carry_stages_from(p);
            rec.files = p.files.clone();
        }
    }
    for s in stages {
        let st = rec.stage(s.name());
        st.status = "pending".into();
        st.error = None;
    }
    // The record (per file, a few hundred kB) is saved once per stage boundary: each stage is
    // marked running in the save before it starts, the first in this one.
    if let Some(&first) = stages.first() {
        mark_running(&mut rec, first);
    }
    let save_record = |rec: &RunRecord| state.save_unsynced(&record_path, rec).map_err(out_err);
    save_record(&rec)?;

    let mut outcome = Outcome { tables: Tables::default(), record: rec.clone(), parsed: 0, cached: 0 };
    let mut stale = Vec::new();
    let publishes = stages.iter().any(|s| matches!(s, Stage::Normalise | Stage::Aggregate));
    let mut memo = Memo {
        rows_wanted: stages.contains(&Stage::Normalise),
        // Ingest parses what it reads when this command validates next, with nothing in scope.
        read_ahead: stages.windows(2).any(|w| w == [Stage::Ingest, Stage::Validate]) && scope.is_empty(),
        syncer: publishes.then(state::Syncer::default),
        ..Default::default()
    };
    let full_run = stages == Stage::ALL && scope.is_empty();
    let mut fingerprint = None;
    let mut up_to_date = false;
    let result = (|| -> Result<(), RunError> {
        for (i, &stage) in stages.iter().enumerate() {
            let started = Instant::now();
            if up_to_date {
                // Same inputs, schemas, tool and settings as the published outputs: nothing to do.
                let st = rec.stage(stage.name());
                st.status = "success".into();
                st.started_at = Some(record::now());
                st.finished_at = st.started_at.clone();
                st.duration_ms = Some(0);
                st.counts = counts(&[("up_to_date", 1)]);
                if stage == Stage::Validate {
                    let n = previous.as_ref().map_or(0, |p| p.files.iter().filter(|f| f.parse != "none").count());
                    st.counts.extend(counts(&[("parsed", 0), ("cached", n)]));
                    rec.files = previous.as_ref().map(|p| p.files.clone()).unwrap_or_default();
                    for f in rec.files.iter_mut().filter(|f| f.parse == "parsed") {
                        f.parse = "cached".into();
                    }
                    outcome.cached = n;
                }
                continue;
            }
            let _span = info_span!("stage", stage = stage.name()).entered();
            let counts = match stage {
                Stage::Ingest => {
                    let c = stage_ingest(cfg, &state, &schemas, &areas, &mut memo)?;
                    if full_run {
                        let fp = run_fingerprint(memo.inputs.as_deref().unwrap_or_default(), &schemas, cfg);
                        up_to_date = state.published_fingerprint().as_deref() == Some(fp.as_str())
                            && ["submissions.parquet", "national_totals.parquet"]
                                .iter()
                                .all(|f| cfg.out.join(f).exists());
                        fingerprint = Some(fp);
                    }
                    c
                }
                Stage::Validate => {
                    let (counts, parsed, cached) =
                        stage_validate(cfg, &state, &schemas, &areas, scope, &mut rec, &mut memo)?;
                    outcome.parsed = parsed;
                    outcome.cached = cached;
                    counts
                }
                Stage::Normalise => {
                    let (counts, _, st) = stage_normalise(&state, &mut memo)?;
                    stale.extend(st);
                    counts
                }
                Stage::Aggregate => {
                    let (counts, tables, st) = stage_aggregate(cfg, &state, &schemas, &areas, &mut memo)?;
                    outcome.tables = tables;
                    stale.extend(st);
                    counts
                }
            };
            let st = rec.stage(stage.name());
            st.status = "success".into();
            st.finished_at = Some(record::now());
            st.duration_ms = Some(started.elapsed().as_millis() as u64);
            st.counts = counts;
            info!(stage = stage.name(), ms = started.elapsed().as_millis() as u64, "stage done");
            // Up to date, the stages left finish at once: the record is saved as the command ends.
            if !up_to_date {
                if let Some(&next) = stages.get(i + 1) {
                    mark_running(&mut rec, next);
                }
                save_record(&rec)?;
            }
            state::checkpoint(&format!("after-{}", stage.name()));
        }
        if !up_to_date && stages.iter().any(|s| matches!(s, Stage::Normalise | Stage::Aggregate)) {
            let _span = info_span!("publish").entered();
            // Until this publish completes, the outputs match no fingerprint.
            state.set_published_fingerprint(None).map_err(out_err)?;
            if full_run {
                let summary = Tables {
                    submissions: outcome.tables.submissions.clone(),
                    national: outcome.tables.national.clone(),
                    ..Default::default()
                };
                save_state(&state, state.summary_path(), &summary, &mut memo).map_err(out_err)?;
            }
            state.publish(std::mem::take(&mut stale), memo.syncer.take()).map_err(out_err)?;
            if full_run {
                // A file whose read failed may read next time: never call such outputs up to date.
                let retry = rec.files.iter().any(|f| f.parse == "failed");
                state.set_published_fingerprint(fingerprint.as_deref().filter(|_| !retry)).map_err(out_err)?;
            }
        }
        Ok(())
    })();
    if let Some(syncer) = memo.syncer.take() {
        // No publish waited for it (a stage failed, or the outputs were up to date).
        if let Err(e) = syncer.finish() {
            warn!(error = %e, "cannot sync the state files");
        }
    }
    match &result {
        Ok(()) => rec.status = "success".into(),
        Err(e) => {
            rec.status = "failed".into();
            rec.error = Some(e.to_string());
            for st in rec.stages.iter_mut().filter(|s| s.status == "running") {
                st.status = "failed".into();
                st.error = Some(e.to_string());
                st.finished_at = Some(record::now());
            }
        }
    }
    rec.finished_at = Some(record::now());
    // Metadata only: the data outputs are already published (or untouched). Outputs that were
    // up to date are summed up from the last run's summary, read meanwhile.
    let (_, summary) = rayon::join(
        || save_record(&rec),
        || up_to_date.then(|| state.load::<Tables>(&state.summary_path()).ok().flatten().unwrap_or_default()),
    );
    result?;
    outcome.record = rec;
    if let Some(summary) = summary {
        outcome.tables = summary;
    }
    if outcome.tables.submissions.is_empty() {
        // Commands that stop before aggregating still report what they see.
        outcome.tables = match memo.tables.take() {
            Some(mut t) => {
                t.national = aggregate::national_totals(&t, &schemas, &areas, &cfg.baseline_year);
                t
            }
            None => current_tables(cfg, &state, &schemas, &areas).unwrap_or_default(),
        };
    }
    Ok(outcome)
}

fn mark_running(rec: &mut RunRecord, stage: Stage) {
    let st = rec.stage(stage.name());
    st.status = "running".into();
    st.started_at = Some(record::now());
}

/// What earlier stages of this command produced, so later ones need not read it back.
#[derive(Default)]
struct Memo {
    /// The command goes on to normalise: validate builds the rows as it persists its output.
    rows_wanted: bool,
    /// Present when the command ends by publishing: stages write their state files and staged
    /// outputs without waiting for the disk and queue them here, and the publish waits for them.
    syncer: Option<state::Syncer>,
    inputs: Option<Vec<InputFile>>,
    /// Ingest parses each file it reads, while the bytes are in memory (see [`read_ahead`]).
    read_ahead: bool,
    /// Parses made by ingest, by source file.
    parsed_ahead: HashMap<String, Parse>,
    /// The parse cache, once ingest has opened it for those parses.
    cache: Option<state::ParseCache>,
    /// Files parsed so far (names the test checkpoints).
    parses: AtomicU64,
    validated: Option<Vec<Validated>>,
    tables: Option<Tables>,
}

impl Memo {
    /// Queues a staged output to be synced before the publish (a command that does not
    /// publish has no syncer, and its stage files are synced as they are saved).
    fn sync_later(&self, path: PathBuf) {
        if let Some(s) = &self.syncer {
            s.sync(path)
        }
    }
}

/// One hash over everything the outputs depend on: every input's path, content and
/// disposition, the schemas, the tool version, the limits and the baseline.
fn run_fingerprint(inputs: &[InputFile], schemas: &SchemaSet, cfg: &RunConfig) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for f in inputs {
        h.update(format!("{}\0{}\0{:?}\n", f.source_file, f.sha256, f.disposition).as_bytes());
    }
    h.update(schemas.fingerprint().as_bytes());
    h.update(format!("{}\0{:?}\0{}", env!("CARGO_PKG_VERSION"), cfg.limits, cfg.baseline_year).as_bytes());
    hex::encode(h.finalize())
}

/// Named counts a stage reports in the run record.
type Counts = BTreeMap<String, u64>;

/// A publishing stage's counts, the tables it wrote, and the output paths it retired.
type Staged = (Counts, Tables, Vec<String>);

fn counts(pairs: &[(&str, usize)]) -> Counts {
    pairs.iter().map(|(k, v)| (k.to_string(), *v as u64)).collect()
}

fn stage_ingest(
    cfg: &RunConfig,
    state: &State,
    schemas: &SchemaSet,
    areas: &Areas,
    memo: &mut Memo,
) -> Result<Counts, RunError> {
    // The last ingest's hashes serve files whose stat has not changed since.
    let previous: Vec<InputFile> = state.load(&state.ingest_path()).ok().flatten().unwrap_or_default();
    let inputs = if memo.read_ahead && cfg.input.is_dir() {
        read_ahead(cfg, state, schemas, areas, &previous, memo)?
    } else {
        ingest_inputs(cfg, &previous)?
    };
    state::checkpoint("during-ingest");
    let n = |f: fn(&Disposition) -> bool| inputs.iter().filter(|i| f(&i.disposition)).count();
    let c = counts(&[
        ("files", inputs.len()),
        ("workbooks", n(|d| *d == Disposition::Workbook)),
        ("skipped", n(|d| matches!(d, Disposition::Skipped(_)))),
        ("duplicates", n(|d| matches!(d, Disposition::Duplicate(_)))),
        ("download_failed", n(|d| matches!(d, Disposition::DownloadFailed(_)))),
    ]);
    if inputs != previous {
        // (Unchanged, it is already on disk: nothing to write or wait for.)
        save_state(state, state.ingest_path(), &inputs, memo)
            .map_err(|source| RunError::Output { path: cfg.out.clone(), source })?;
    }
    info!(files = inputs.len(), "ingested");
    memo.inputs = Some(inputs);
    Ok(c)
}

/// A parse made this run: where validate.json finds it and how it was had (`parsed`, or
/// `failed` for a caught panic, which is never cached).
struct Parse {
    source_file: String,
    /// Its key in the parse cache.
    key: String,
    parsed: ParsedFile,
    json: ParseJson,
    how: &'static str,
}

/// Parses a file and appends the parse to the cache under `key`.
fn parse_and_cache(
    f: &InputFile,
    bytes: Option<Vec<u8>>,
    ctx: &Context<'_>,
    cache: &state::ParseCache,
    key: String,
    parses: &AtomicU64,
) -> Parse {
    let p = validate_read(f, bytes, ctx);
    let json = to_json(&p);
    // Once in the log, the JSON is not kept: validate.json refers to it. A failed cache
    // write only costs a re-parse next time.
    let put = if p.transient { None } else { Some(cache.put(&key, &json)) };
    let json = match put {
        Some(Ok(())) => ParseJson::Cached(key.clone()),
        Some(Err(e)) => {
            warn!(error = %e, "cannot write the parse cache");
            ParseJson::Inline(json)
        }
        None => ParseJson::Inline(json),
    };
    let n = parses.fetch_add(1, Ordering::Relaxed) + 1;
    state::checkpoint(&format!("during-parse-{n}"));
    // A caught panic may not recur: `bcf rerun` retries such files.
    let how = if p.transient { "failed" } else { "parsed" };
    Parse { source_file: f.source_file.clone(), key, parsed: p, json, how }
}

/// Ingest for a command that validates next: each file ingest reads to hash is parsed from the
/// same bytes, unless its parse is in the cache or its name says it is no workbook, so the two
/// stages read every file once and overlap. Validate takes these parses as its own (a
/// duplicate's is dropped); the parses and the parse cache, if a file needed it, go to `memo`.
fn read_ahead(
    cfg: &RunConfig,
    state: &State,
    schemas: &SchemaSet,
    areas: &Areas,
    previous: &[InputFile],
    memo: &mut Memo,
) -> Result<Vec<InputFile>, RunError> {
    let parses = &memo.parses;
    let fingerprint = schemas.fingerprint();
    let ctx = Context { schemas, areas, limits: cfg.limits };
    // Opened by the first file that needs it: a rerun that reads no file never loads the log.
    let cache: std::sync::OnceLock<Option<state::ParseCache>> = std::sync::OnceLock::new();
    let done = AtomicU64::new(0);
    let read = |r: ingest::FileRead<'_>| -> Option<Parse> {
        let name = r.file.source_file.rsplit('/').next().unwrap_or_default();
        if ingest::skip_reason(name).is_some() {
            return None;
        }
        // A log that cannot be opened is validate's error to report.
        let cache = cache.get_or_init(|| state.open_cache().ok()).as_ref()?;
        let key = state::cache_key(&r.file.sha256, &fingerprint, &cfg.limits);
        let parse = (!cache.contains(&key)).then(|| parse_and_cache(r.file, Some(r.bytes), &ctx, cache, key, parses));
        if let Some(progress) = &cfg.progress {
            (progress.0)(done.fetch_add(1, Ordering::Relaxed) + 1, r.files_found);
        }
        parse
    };
    let (inputs, parsed) = ingest::discover_reading(&cfg.input, previous, Some(&read))
        .map_err(|source| RunError::Input { path: cfg.input.clone(), source })?;
    memo.cache = cache.into_inner().flatten();
    memo.parsed_ahead = parsed.into_iter().map(|p| (p.source_file.clone(), p)).collect();
    Ok(inputs)
}

fn load_stage<T: serde::de::DeserializeOwned>(
    state: &State,
    path: PathBuf,
    stage: &'static str,
    before: &'static str,
) -> Result<T, RunError> {
    state.load(&path).map_err(|source| RunError::Output { path: path.clone(), source })?.ok_or(RunError::MissingStage {
        stage,
        before,
        path,
    })
}

fn stage_validate(
    cfg: &RunConfig,
    state: &State,
    schemas: &SchemaSet,
    areas: &Areas,
    scope: &Scope,
    rec: &mut RunRecord,
    memo: &mut Memo,
) -> Result<(Counts, usize, usize), RunError> {
    let inputs: Vec<InputFile> = match memo.inputs.take() {
        Some(i) => i,
        None => load_stage(state, state.ingest_path(), "validate", "ingest")?,
    };
    // Files a scoped rerun must re-parse: those the last validation put in scope.
    let previous: Vec<Validated> =
        if scope.is_empty() { Vec::new() } else { load_validated(state).ok().flatten().unwrap_or_default() };
    let cache = match memo.cache.take() {
        Some(cache) => cache,
        None => state.open_cache().map_err(|source| RunError::Output { path: cfg.out.clone(), source })?,
    };
    let forced: std::collections::HashSet<&str> =
        previous.iter().filter(|v| scope.matches(&v.parsed)).map(|v| v.source_file.as_str()).collect();
    let fingerprint = schemas.fingerprint();
    let ctx = Context { schemas, areas, limits: cfg.limits };
    let total = inputs.iter().filter(|f| f.disposition == Disposition::Workbook).count() as u64;
    // Each workbook with the parse ingest made of it, if any (a duplicate's is dropped here).
    let mut ahead = std::mem::take(&mut memo.parsed_ahead);
    let inputs_ahead: Vec<(&InputFile, Option<Parse>)> = inputs
        .iter()
        .map(|f| (f, (f.disposition == Disposition::Workbook).then(|| ahead.remove(&f.source_file)).flatten()))
        .collect();
    drop(ahead);
    let done = AtomicU64::new(inputs_ahead.iter().filter(|(_, a)| a.is_some()).count() as u64);
    let parses = &memo.parses;
    // Each parse comes back with where validate.json finds it, and its cache key (the log is
    // compacted to the current files' keys).
    let mut validated: Vec<FileResult> = inputs_ahead
        .into_par_iter()
        .filter_map(|(f, ahead)| {
            let mut cache_key = None;
            let (parsed, json, how) = match &f.disposition {
                Disposition::Workbook => {
                    let parse = ahead.unwrap_or_else(|| {
                        let key = state::cache_key(&f.sha256, &fingerprint, &cfg.limits);
                        let hit = if forced.contains(f.source_file.as_str()) { None } else { cache.get(&key) };
                        let parse = match hit {
                            Some(parsed) => {
                                let json = ParseJson::Cached(key.clone());
                                Parse { source_file: f.source_file.clone(), key, parsed, json, how: "cached" }
                            }
                            None => parse_and_cache(f, None, &ctx, &cache, key, parses),
                        };
                        let d = done.fetch_add(1, Ordering::Relaxed) + 1;
                        if let Some(progress) = &cfg.progress {
                            (progress.0)(d, total);
                        }
                        parse
                    });
                    cache_key = Some(parse.key);
                    (parse.parsed, parse.json, parse.how)
                }
                Disposition::DownloadFailed(reason) => {
                    let p = ParsedFile {
                        findings: vec![Finding::file(
                            Rule::DownloadFailed,
                            format!("the file could not be downloaded: {reason}"),
                        )],
                        ..Default::default()
                    };
                    let json = ParseJson::Inline(to_json(&p));
                    (p, json, "none")
                }
                Disposition::Skipped(_) | Disposition::Duplicate(_) => return None,
            };
            let v = Validated {
                source_file: f.source_file.clone(),
                sha256: f.sha256.clone(),
                parsed,
                status: Status::Rejected,
            };
            Some((v, json, how, cache_key))
        })
        .collect();
    let keys: std::collections::HashSet<String> = validated.iter_mut().filter_map(|v| v.3.take()).collect();
    if let Err(e) = cache.compact_if_large(&keys) {
        warn!(error = %e, "cannot compact the parse cache");
    }
    // validate.json refers to parses in the log: it goes to disk with validate.json.
    match &mut memo.syncer {
        Some(syncer) => syncer.sync(state.cache_log_path()),
        None => state::sync_files(&[state.cache_log_path()])
            .map_err(|source| RunError::Output { path: state.cache_log_path(), source })?,
    }
    let how: BTreeMap<String, &str> = validated.iter().map(|(v, _, h, _)| (v.source_file.clone(), *h)).collect();
    let (mut list, mut json): (Vec<Validated>, Vec<ParseJson>) = validated.drain(..).map(|(v, j, _, _)| (v, j)).unzip();
    // The cross-file rules only add findings: a parse in the cache stays there, with the
    // findings added beside it; a parse written out is written again, whole.
    let findings_before: Vec<usize> = list.iter().map(|v| v.parsed.findings.len()).collect();
    validate::cross::apply(&mut list, schemas);
    list.par_iter().zip(json.par_iter_mut()).zip(&findings_before).for_each(|((v, j), &before)| {
        if v.parsed.findings.len() != before && matches!(j, ParseJson::Inline(_)) {
            *j = ParseJson::Inline(to_json(&v.parsed));
        }
    });
    let by_source: BTreeMap<&str, &Validated> = list.iter().map(|v| (v.source_file.as_str(), v)).collect();
    rec.files = inputs
        .iter()
        .map(|f| {
            let v = by_source.get(f.source_file.as_str());
            let status = normalise::status_of(&f.disposition, v.copied());
            let findings = v.map(|v| v.parsed.findings.as_slice()).unwrap_or_default();
            let count = |s| findings.iter().filter(|x| x.severity() == s).count() as i32;
            FileRecord {
                source_file: f.source_file.clone(),
                sha256: f.sha256.clone(),
                status: status.as_str().into(),
                parse: how.get(&f.source_file).copied().unwrap_or("none").into(),
                error_count: count(crate::model::Severity::Error),
                warning_count: count(crate::model::Severity::Warning),
                first_error: findings
                    .iter()
                    .find(|x| x.severity() == crate::model::Severity::Error)
                    .map(|x| format!("{}: {}", x.location(), x.message).trim_start_matches(": ").to_string()),
            }
        })
        .collect();
    let parsed = how.values().filter(|h| matches!(**h, "parsed" | "failed")).count();
    let cached = how.values().filter(|h| **h == "cached").count();
    let status_count = |s: Status| list.iter().filter(|v| v.status == s).count();
    let c = counts(&[
        ("workbooks", list.len()),
        ("parsed", parsed),
        ("cached", cached),
        ("accepted", status_count(Status::Accepted)),
        ("accepted_with_warnings", status_count(Status::AcceptedWithWarnings)),
        ("rejected", status_count(Status::Rejected)),
        ("superseded", status_count(Status::Superseded)),
    ]);
    // Owned, so the parses can move into rows while validate.json is written.
    let persisted: Vec<ValidatedJson<Box<RawValue>>> = list
        .iter()
        .zip(json)
        .zip(findings_before)
        .map(|((v, j), before)| {
            let (parsed, cache_key, cross_findings) = match j {
                ParseJson::Inline(json) => (Some(json), None, Vec::new()),
                ParseJson::Cached(key) => (None, Some(key), v.parsed.findings[before..].to_vec()),
            };
            ValidatedJson {
                source_file: v.source_file.clone(),
                sha256: v.sha256.clone(),
                parsed,
                cache_key,
                cross_findings,
                status: v.status,
            }
        })
        .collect();
    let out_err = |source| RunError::Output { path: cfg.out.clone(), source };
    if memo.rows_wanted {
        // The next stage's rows are built while validate.json is written: one thread's work,
        // and the rows need only the parses. The run record's files are serialised meanwhile.
        let files = &rec.files;
        let (saved, tables) = rayon::join(
            || {
                let saved = save_state(state, state.validate_path(), &persisted, memo);
                files.serialise_now();
                saved
            },
            || normalise::build(&inputs, list),
        );
        saved.map_err(out_err)?;
        memo.tables = Some(tables);
    } else {
        save_state(state, state.validate_path(), &persisted, memo).map_err(out_err)?;
        memo.validated = Some(list);
    }
    memo.inputs = Some(inputs);
    Ok((c, parsed, cached))
}

/// Saves a stage's state file: synced now, or, when the command ends by publishing, written
/// now and synced by the publish together with the outputs.
fn save_state<T: serde::Serialize>(state: &State, path: PathBuf, value: &T, memo: &mut Memo) -> std::io::Result<()> {
    let Some(syncer) = &mut memo.syncer else {
        return state.save(&path, value);
    };
    state.save_unsynced(&path, value)?;
    syncer.sync(path);
    Ok(())
}

/// A parse as JSON. Serialising these types cannot fail (string keys, no non-finite floats).
fn to_json(p: &ParsedFile) -> Box<RawValue> {
    serde_json::value::to_raw_value(p).expect("a parse serialises to JSON")
}

/// One file's parse, where validate.json finds it, how it was had (`parsed`, `cached`, …)
/// and its cache key.
type FileResult = (Validated, ParseJson, &'static str, Option<String>);

/// Where `validate.json` finds a file's parse: in the parse cache (most), or written out.
enum ParseJson {
    Cached(String),
    Inline(Box<RawValue>),
}

/// A [`Validated`] as `validate.json` holds it: its parse is either there, already serialised,
/// or in the parse cache under `cache_key` (so the run need not keep every parse's JSON) with
/// the findings the cross-file rules added to it.
#[derive(serde::Serialize, serde::Deserialize)]
struct ValidatedJson<P> {
    source_file: String,
    sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    parsed: Option<P>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cache_key: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    cross_findings: Vec<crate::model::Finding>,
    status: Status,
}

/// The last validation as `validate.json` holds it, each parse read from it or from the parse
/// cache; `None` if there is none.
fn load_validated(state: &State) -> Result<Option<Vec<Validated>>, RunError> {
    let path = state.validate_path();
    let Some(entries) = state
        .load::<Vec<ValidatedJson<ParsedFile>>>(&path)
        .map_err(|source| RunError::Output { path: path.clone(), source })?
    else {
        return Ok(None);
    };
    let cache = entries.iter().any(|e| e.parsed.is_none()).then(|| state.read_cache());
    let mut validated = Vec::with_capacity(entries.len());
    for e in entries {
        let parsed = match (e.parsed, e.cache_key.as_deref().zip(cache.as_ref())) {
            (Some(p), _) => Some(p),
            (None, Some((key, cache))) => cache.get::<ParsedFile>(key),
            (None, None) => None,
        };
        let Some(mut parsed) = parsed else {
            return Err(RunError::ParseGone { path, file: e.source_file });
        };
        parsed.findings.extend(e.cross_findings);
        validated.push(Validated { source_file: e.source_file, sha256: e.sha256, parsed, status: e.status });
    }
    Ok(Some(validated))
}

/// The tables of the last validation, without national totals: from this command's earlier
/// stages if they ran, else from what they persisted.
fn validated_tables(state: &State, stage: &'static str, memo: &mut Memo) -> Result<Tables, RunError> {
    if let Some(t) = memo.tables.take() {
        return Ok(t);
    }
    let inputs: Vec<InputFile> = match memo.inputs.take() {
        Some(i) => i,
        None => load_stage(state, state.ingest_path(), stage, "ingest")?,
    };
    let validated: Vec<Validated> = match memo.validated.take() {
        Some(v) => v,
        None => load_validated(state)?.ok_or(RunError::MissingStage {
            stage,
            before: "validate",
            path: state.validate_path(),
        })?,
    };
    Ok(normalise::build(&inputs, validated))
}

fn stage_normalise(state: &State, memo: &mut Memo) -> Result<Staged, RunError> {
    let tables = validated_tables(state, "normalise", memo)?;
    let staging = state.staging();
    let err = |source| RunError::Output { path: staging.clone(), source };
    // Each file is queued to be synced as soon as it is written.
    let memo_now = &*memo;
    normalise::parquet::write_data(&staging, &tables, &|path| memo_now.sync_later(path)).map_err(err)?;
    state::checkpoint("during-normalise");
    let stale = normalise::parquet::stale_partitions(&state.out, &tables).map_err(err)?;
    let c = counts(&[
        ("submissions", tables.submissions.len()),
        ("findings", tables.findings.len()),
        ("lines", tables.lines.len()),
        ("schemes", tables.schemes.len()),
    ]);
    memo.tables = Some(tables);
    Ok((c, Tables::default(), stale))
}

fn stage_aggregate(
    cfg: &RunConfig,
    state: &State,
    schemas: &SchemaSet,
    areas: &Areas,
    memo: &mut Memo,
) -> Result<Staged, RunError> {
    let mut tables = validated_tables(state, "aggregate", memo)?;
    tables.national = aggregate::national_totals(&tables, schemas, areas, &cfg.baseline_year);
    let staging = state.staging();
    let err = |source| RunError::Output { path: staging.clone(), source };
    // Each output is queued to be synced as soon as it is written.
    let memo_now = &*memo;
    let written = |path: PathBuf| memo_now.sync_later(path);
    let write = |rel: &str, text: &str| {
        let path = staging.join(rel);
        normalise::parquet::write_staged_text(&path, text).map(|()| written(path))
    };
    let t = &tables;
    let feedback = aggregate::feedback::by_area(t);
    // The outputs are independent: rendered and written side by side, the longest first, each
    // by the next free thread (the feedback files are many, so both threads can share them).
    type Job<'a> = Box<dyn Fn() -> std::io::Result<()> + Send + Sync + 'a>;
    let jobs: Vec<Job<'_>> = vec![
        Box::new(|| {
            // One folder for them all: created once, not looked up per file.
            let folder = staging.join("feedback");
            std::fs::create_dir_all(&folder)?;
            feedback.par_iter().try_for_each(|area| {
                let path = folder.join(&area.file_name);
                std::fs::write(&path, area.csv()).map(|()| written(path))
            })
        }),
        Box::new(|| write("report.html", &aggregate::html::page(t, areas))),
        Box::new(|| write("report.md", &aggregate::report::markdown(t))),
        Box::new(|| {
            let line_years: Vec<String> = t.line_years().into_iter().map(str::to_string).collect();
            let scheme_years: Vec<String> = t.scheme_years().into_iter().map(str::to_string).collect();
            write("datapackage.json", &aggregate::datapackage::package(&line_years, &scheme_years))
        }),
        Box::new(|| {
            normalise::parquet::write_national(&staging, &t.national)?;
            written(staging.join("national_totals.parquet"));
            Ok(())
        }),
    ];
    let done = jobs.iter().par_bridge().try_for_each(|job| job());
    drop(jobs);
    done.map_err(err)?;
    // Feedback files of areas that no longer have findings are removed on publish.
    let mut stale = Vec::new();
    if let Ok(rd) = std::fs::read_dir(cfg.out.join("feedback")) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !feedback.iter().any(|a| a.file_name == name) {
                stale.push(format!("feedback/{name}"));
            }
        }
    }
    let c = counts(&[("national_rows", tables.national.len()), ("feedback_files", feedback.len())]);
    Ok((c, tables, stale))
}

/// The tables as the persisted stages have them now (national totals included).
fn current_tables(cfg: &RunConfig, state: &State, schemas: &SchemaSet, areas: &Areas) -> Result<Tables, RunError> {
    persisted_tables(&state.out, "status", schemas, areas, &cfg.baseline_year)
}

/// Every table, national totals included, from what the last run persisted under `out`.
pub fn persisted_tables(
    out: &Path,
    command: &'static str,
    schemas: &SchemaSet,
    areas: &Areas,
    baseline_year: &str,
) -> Result<Tables, RunError> {
    let mut t = validated_tables(&State::new(out), command, &mut Memo::default())?;
    t.national = aggregate::national_totals(&t, schemas, areas, baseline_year);
    Ok(t)
}

/// The input files: a folder walked, or a manifest's files downloaded into `OUT/.bcf/downloads`.
/// A walked file unchanged since `previous` (the last ingest) keeps its hash unread.
pub fn ingest_inputs(cfg: &RunConfig, previous: &[InputFile]) -> Result<Vec<InputFile>, RunError> {
    let input = cfg.input.to_string_lossy();
    if ingest::is_url(&input) {
        let store = State::new(&cfg.out).dir.join("downloads");
        let downloads = ingest::http::fetch_manifest_blocking(&input, &store, &cfg.http)
            .map_err(|e| RunError::Manifest(e.to_string()))?;
        return Ok(ingest::from_downloads(downloads));
    }
    if !cfg.input.is_dir() {
        return Err(RunError::Input {
            path: cfg.input.clone(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "not a folder"),
        });
    }
    ingest::discover(&cfg.input, previous).map_err(|source| RunError::Input { path: cfg.input.clone(), source })
}

/// The stages `bcf rerun` would run after `last`: from the first that did not succeed; with a
/// scope, validation onwards.
pub fn rerun_plan(last: &RunRecord, scope: &Scope) -> Vec<Stage> {
    if !scope.is_empty() {
        let ingest_ok = last.stages.iter().any(|s| s.name == "ingest" && s.status == "success");
        return Stage::ALL.into_iter().filter(|s| !ingest_ok || *s != Stage::Ingest).collect();
    }
    let first = last.stages.iter().position(|s| s.status != "success");
    // Files whose read failed for a reason that may not recur are never cached: validating
    // again retries exactly those.
    let failed_files = last.files.iter().any(|f| f.parse == "failed");
    match first {
        Some(i) => Stage::ALL[i..].to_vec(),
        None if failed_files => Stage::ALL[Stage::Validate as usize..].to_vec(),
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{FileRecord, RunConfigRecord, RunRecord};

    fn record(statuses: [&str; 4], failed_file: bool) -> RunRecord {
        let cfg = RunConfigRecord {
            input: "in".into(),
            out: "out".into(),
            baseline_year: "2015-16".into(),
            schemas_dir: "schemas".into(),
            max_inflated_bytes: 1,
        };
        let mut r = RunRecord::new("run", cfg, Default::default());
        for (st, status) in r.stages.iter_mut().zip(statuses) {
            st.status = status.into();
        }
        r.files.push(FileRecord {
            source_file: "a.xlsx".into(),
            sha256: "00".into(),
            status: "rejected".into(),
            parse: if failed_file { "failed" } else { "parsed" }.into(),
            error_count: 1,
            warning_count: 0,
            first_error: None,
        });
        r
    }

    #[test]
    fn rerun_plans() {
        let none = Scope::default();
        assert_eq!(rerun_plan(&record(["success"; 4], false), &none), Vec::<Stage>::new());
        assert_eq!(
            rerun_plan(&record(["success", "success", "running", "pending"], false), &none),
            [Stage::Normalise, Stage::Aggregate]
        );
        assert_eq!(rerun_plan(&record(["failed", "not_run", "not_run", "not_run"], false), &none), Stage::ALL);
        assert_eq!(
            rerun_plan(&record(["success"; 4], true), &none),
            [Stage::Validate, Stage::Normalise, Stage::Aggregate],
            "a file whose read failed is retried"
        );
        let kent = Scope { area: Some("E10000016".into()), template: None };
        assert_eq!(
            rerun_plan(&record(["success"; 4], false), &kent),
            [Stage::Validate, Stage::Normalise, Stage::Aggregate]
        );
    }
}
