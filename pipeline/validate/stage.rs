//! The validate stage over the input: for each workbook, its parse from the cache, or the file
//! read (once, whole), checked against the hash ingest took, and parsed, with a panic caught at
//! the file boundary; then the rules across files.

use super::decisions::{DecisionRow, Decisions};
use super::{cross, Validated};
use super::{Context, ParsedFile, PARSE_FORMAT};
use crate::contract::{counts, Counts, ParseHow, Phase, Progress};
use crate::error::RunError;
use crate::ingest::{unreadable_reason, Disposition, InputFile};
use crate::model::{Finding, Rule, Status};
use crate::store::cache::ParseCache;
use crate::store::Store;
use crate::workbook::Limits;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::AtomicU64;
use tracing::{info, info_span, warn};

/// Where workbooks are parsed.
#[derive(Debug, Clone)]
pub enum ParseMode {
    /// In this process, on its threads.
    InProcess,
    /// `.xls` in worker processes started from this executable (the `bcf` binary), sized and
    /// counted under the run's memory budget; the rest in process: see [`super::worker`].
    XlsInWorkers(std::sync::Arc<super::worker::Pool>),
}

/// What a parse depends on: its cache key is the hash of these.
#[derive(Serialize)]
struct KeyParts<'a> {
    sha256: &'a str,
    schemas: &'a str,
    tool_version: &'a str,
    limits: &'a Limits,
    parse_format: u32,
}

/// The cache key of one file's parse.
pub fn cache_key(sha256: &str, schemas_fingerprint: &str, limits: &Limits) -> String {
    let parts = KeyParts {
        sha256,
        schemas: schemas_fingerprint,
        tool_version: env!("CARGO_PKG_VERSION"),
        limits,
        parse_format: PARSE_FORMAT,
    };
    let json = serde_json::to_vec(&parts).unwrap_or_default();
    hex::encode(Sha256::digest(json))
}

/// One file's validation, before the rules across files.
pub struct FileParse {
    pub validated: Validated,
    pub how: ParseHow,
    /// Its key in the parse cache, if it is there.
    pub cache_key: Option<String>,
    /// How many of its findings are the parse's own (the rest the rules across files added).
    pub own_findings: usize,
}

/// What the stage is given besides the input files.
pub struct Settings<'a> {
    pub ctx: Context<'a>,
    /// Files parsed again whatever the cache holds (a scoped rerun).
    pub forced: HashSet<String>,
    pub mode: &'a ParseMode,
    pub progress: Option<&'a Progress>,
    pub decisions: &'a Decisions,
    /// The files' bytes held in memory at once, under the run's budget.
    pub holding: &'a Holding,
}

/// Bytes of files held in memory at once, across the threads reading them: at most a quarter
/// of the run's memory budget, so memory follows the budget and not the number of cores. A
/// file larger than that share is read alone.
#[derive(Debug)]
pub struct Holding {
    cap: u64,
    held: std::sync::Mutex<u64>,
    freed: std::sync::Condvar,
}

impl Holding {
    pub fn new(budget: &crate::budget::Budget) -> Holding {
        Holding { cap: (budget.mib << 20) / 4, held: Default::default(), freed: Default::default() }
    }

    /// Room for a file of `bytes`, held until dropped.
    fn hold(&self, bytes: u64) -> Held<'_> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        while *held > 0 && *held + bytes > self.cap {
            held = self.freed.wait(held).unwrap_or_else(|p| p.into_inner());
        }
        *held += bytes;
        Held(self, bytes)
    }
}

struct Held<'a>(&'a Holding, u64);

impl Drop for Held<'_> {
    fn drop(&mut self) {
        *self.0.held.lock().unwrap_or_else(|p| p.into_inner()) -= self.1;
        self.0.freed.notify_all();
    }
}

/// Validates every workbook among `inputs` (in their order), applies the rules across files and
/// the decisions; what each decision did.
pub fn validate_all(
    inputs: &[InputFile],
    run: &Settings<'_>,
    cache: &ParseCache,
) -> (Vec<FileParse>, Vec<DecisionRow>) {
    let fingerprint = run.ctx.schemas.fingerprint();
    let total = inputs.iter().filter(|f| f.disposition == Disposition::Workbook).count() as u64;
    let done = AtomicU64::new(0);
    type Meta = (ParseHow, Option<String>, usize);
    let (mut list, meta): (Vec<Validated>, Vec<Meta>) = inputs
        .par_iter()
        .filter_map(|f| {
            let parse = validate_one(f, run, cache, &fingerprint)?;
            if let (Some(p), Disposition::Workbook) = (run.progress, &f.disposition) {
                p.step(Phase::Validating, &done, total);
            }
            let own = parse.validated.parsed.findings.len();
            Some((parse.validated, (parse.how, parse.cache_key, own)))
        })
        .unzip();
    let decisions = cross::apply(&mut list, run.ctx.schemas, run.decisions);
    let parses = list.into_iter().zip(meta);
    let files = parses
        .map(|(validated, (how, cache_key, own_findings))| FileParse { validated, how, cache_key, own_findings })
        .collect();
    (files, decisions)
}

/// One input file's parse; `None` for files that are not validated (skipped, duplicates).
fn validate_one(f: &InputFile, run: &Settings<'_>, cache: &ParseCache, fingerprint: &str) -> Option<FileParse> {
    let validated = |parsed| Validated {
        source_file: f.source_file.clone(),
        sha256: f.sha256.clone(),
        parsed,
        status: Status::Rejected,
    };
    let unparsed = |finding| FileParse {
        validated: validated(ParsedFile::failed(finding)),
        how: ParseHow::None,
        cache_key: None,
        own_findings: 1,
    };
    match &f.disposition {
        Disposition::Skipped(_) | Disposition::Duplicate(_) => None,
        Disposition::DownloadFailed(reason) => {
            Some(unparsed(Finding::file(Rule::DownloadFailed, format!("the file could not be downloaded: {reason}"))))
        }
        Disposition::Unreadable(reason) => Some(unparsed(Finding::file(Rule::FileUnreadable, reason.clone()))),
        Disposition::Workbook => {
            let key = cache_key(&f.sha256, fingerprint, &run.ctx.limits);
            let cached = (!run.forced.contains(&f.source_file)).then(|| cache.get::<ParsedFile>(&key, &f.sha256));
            let (parsed, how) = match cached.flatten() {
                Some(parsed) => (parsed, ParseHow::Cached),
                None => parse_and_cache(f, run, cache, &key),
            };
            let cache_key = (how != ParseHow::Failed).then_some(key);
            let own_findings = parsed.findings.len();
            Some(FileParse { validated: validated(parsed), how, cache_key, own_findings })
        }
    }
}

/// Reads and parses a file, and caches the parse of those bytes. A file that cannot be read,
/// or whose bytes are no longer those ingest hashed, is not cached: `bcf rerun` retries it.
fn parse_and_cache(f: &InputFile, run: &Settings<'_>, cache: &ParseCache, key: &str) -> (ParsedFile, ParseHow) {
    let _span = info_span!("file", source_file = %f.source_file).entered();
    let _held = run.holding.hold(f.bytes.min(run.ctx.limits.max_inflated_bytes));
    let bytes = match read_as_hashed(f, &run.ctx.limits) {
        Ok(bytes) => bytes,
        Err(finding) => return (ParsedFile::failed(finding), ParseHow::Failed),
    };
    let parsed = match parse_bytes(bytes, &run.ctx, run.mode) {
        Ok(parsed) => parsed,
        Err(finding) => return (ParsedFile::failed(finding), ParseHow::Failed),
    };
    info!(
        target: crate::contract::FILE_EVENTS,
        template = parsed.template_id.as_deref().unwrap_or("-"),
        findings = parsed.findings.len(),
        lines = parsed.lines.len(),
        "validated"
    );
    match serde_json::value::to_raw_value(&parsed) {
        Ok(json) => {
            if let Err(e) = cache.put(key, &f.sha256, &json) {
                warn!(error = %e, "cannot write the parse cache; the file will be parsed again next time");
            }
        }
        Err(e) => warn!(error = %e, "cannot store the parse"),
    }
    crate::store::checkpoint("during-parse");
    (parsed, ParseHow::Parsed)
}

/// Parses a workbook's bytes as the national run does: an `.xls` in a worker process (with
/// [`ParseMode::XlsInWorkers`]), the rest in this process with a panic caught at the file
/// boundary. `Err` is a finding about the machine or the run's budget, not the file (no worker
/// could be started, or one ran out of a memory limit not bcf's own), so it is never cached.
pub fn parse_bytes(bytes: Vec<u8>, ctx: &Context<'_>, mode: &ParseMode) -> Result<ParsedFile, Finding> {
    match mode {
        ParseMode::XlsInWorkers(pool) if super::worker::is_xls(&bytes) => pool.parse(&ctx.limits, bytes),
        _ if super::worker::is_xls(&bytes) => {
            let _one_at_a_time = XLS_GATE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            Ok(parse_catching_panics(bytes, ctx))
        }
        _ => Ok(parse_catching_panics(bytes, ctx)),
    }
}

/// calamine holds an `.xls` as dense ranges for as long as it is open (up to
/// `Limits::max_dense_cells` × 32 bytes). Read in this process (the library's
/// [`ParseMode::InProcess`]), one `.xls` is open at a time, so the peak memory of a run is one
/// big `.xls` plus the other threads' bounded sparse sheets, however many arrive together.
static XLS_GATE: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The file's bytes, if they are still those ingest hashed.
fn read_as_hashed(f: &InputFile, limits: &Limits) -> Result<Vec<u8>, Finding> {
    use std::io::Read;
    let max = limits.max_inflated_bytes;
    // A file past the limit is refused on its size, never read in.
    if std::fs::metadata(&f.path).is_ok_and(|m| m.len() > max) {
        return Err(super::oversized_file(limits));
    }
    let mut bytes = Vec::new();
    let read = std::fs::File::open(&f.path).and_then(|file| file.take(max + 1).read_to_end(&mut bytes));
    if let Err(e) = read {
        return Err(Finding::file(Rule::FileUnreadable, unreadable_reason(&e)).with_detail(Some(e.to_string())));
    }
    if bytes.len() as u64 > max {
        return Err(super::oversized_file(limits));
    }
    if hex::encode(Sha256::digest(&bytes)) != f.sha256 {
        return Err(Finding::file(
            Rule::FileUnreadable,
            "the file changed while bcf was reading it (it was being saved or replaced): run again once it is saved",
        ));
    }
    Ok(bytes)
}

/// Parses bytes, turning a panic in a reader into a finding on this file: one file never stops
/// the run. The panic is a property of the bytes, so its finding is cached like any other.
pub fn parse_catching_panics(bytes: Vec<u8>, ctx: &Context<'_>) -> ParsedFile {
    let parsed = {
        let _reading = ReadingAFile::enter();
        std::panic::catch_unwind(AssertUnwindSafe(|| super::parse(bytes, ctx)))
    };
    parsed.unwrap_or_else(|panic| {
        let what = super::panic_message(panic.as_ref());
        warn!(%what, "a reader failed on this file; it is reported as unreadable");
        ParsedFile::failed(super::reader_failed(Some(&what)))
    })
}

thread_local! {
    static READING_A_FILE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Marks this thread as reading an untrusted file, while it lives.
struct ReadingAFile;

impl ReadingAFile {
    fn enter() -> ReadingAFile {
        READING_A_FILE.with(|r| r.set(true));
        ReadingAFile
    }
}

impl Drop for ReadingAFile {
    fn drop(&mut self) {
        READING_A_FILE.with(|r| r.set(false));
    }
}

/// Installs the process's panic hook: a panic while a file is read is that file's problem,
/// reported as one warning line naming it (by [`parse_catching_panics`]), with the panic and
/// its backtrace only at debug level; any other panic is bcf's own bug and is shown as usual.
pub fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if READING_A_FILE.with(|r| r.get()) {
            let backtrace = std::backtrace::Backtrace::force_capture();
            tracing::debug!(%info, %backtrace, "a reader panicked");
        } else {
            default(info);
        }
    }));
}

/// What the validate stage hands on.
pub struct Validation {
    pub files: Vec<FileParse>,
    pub decisions: Vec<DecisionRow>,
    /// Names this validation (the SHA-256 of `validate.json`).
    pub digest: String,
}

/// The validate stage: every workbook of the last ingest, its result kept in `validate.json`
/// and the parse cache.
pub fn stage(inputs: &[InputFile], store: &Store, settings: &Settings<'_>) -> Result<(Validation, Counts), RunError> {
    let cache = ParseCache::open(&store.cache_path());
    let (files, decisions) = validate_all(inputs, settings, &cache);
    let keys: HashSet<String> = files.iter().filter_map(|f| f.cache_key.clone()).collect();
    cache.finish(&keys).map_err(RunError::io("write the parse cache", store.cache_path()))?;
    let saved = super::persist::Saved { decisions, files: super::persist::entries(&files) };
    let digest = super::persist::save(&store.validate_path(), &saved)?;
    let counts = stage_counts(&files, &saved.decisions);
    Ok((Validation { files, decisions: saved.decisions, digest }, counts))
}

fn stage_counts(files: &[FileParse], decisions: &[DecisionRow]) -> Counts {
    let how = |h: ParseHow| files.iter().filter(|f| f.how == h).count();
    let status = |s: Status| files.iter().filter(|f| f.validated.status == s).count();
    let applied = decisions.iter().filter(|d| d.outcome == super::decisions::Outcome::Applied).count();
    let mut c = counts(&[
        ("workbooks", files.len()),
        ("parsed", how(ParseHow::Parsed) + how(ParseHow::Failed)),
        ("cached", how(ParseHow::Cached)),
        ("accepted", status(Status::Accepted)),
        ("accepted_with_warnings", status(Status::AcceptedWithWarnings)),
        ("rejected", status(Status::Rejected)),
        ("superseded", status(Status::Superseded)),
    ]);
    if !decisions.is_empty() {
        c.extend(counts(&[("decisions", decisions.len()), ("decisions_applied", applied)]));
    }
    c
}

/// One input file's line in the run record (`run.json`'s `files`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileRecord {
    pub source_file: String,
    pub sha256: String,
    pub status: Status,
    pub parse: ParseHow,
    pub error_count: i32,
    pub warning_count: i32,
    pub first_error: Option<String>,
}

/// The per-file records of a validation: every input file, in input order.
pub fn file_records(inputs: &[InputFile], parses: &[FileParse]) -> Vec<FileRecord> {
    use crate::model::Severity;
    let by_source: std::collections::HashMap<&str, &FileParse> =
        parses.iter().map(|p| (p.validated.source_file.as_str(), p)).collect();
    inputs
        .iter()
        .map(|f| {
            let p = by_source.get(f.source_file.as_str());
            let findings = p.map(|p| &p.validated.parsed.findings[..]).unwrap_or_default();
            let open = || findings.iter().filter(|x| x.accepted.is_none());
            let count = |s| open().filter(|x| x.severity() == s).count() as i32;
            let first_error = open().find(|x| x.severity() == Severity::Error).map(|x| {
                let at = x.location();
                if at.is_empty() {
                    x.message.clone()
                } else {
                    format!("{at}: {}", x.message)
                }
            });
            FileRecord {
                source_file: f.source_file.clone(),
                sha256: f.sha256.clone(),
                status: super::status_of(&f.disposition, p.map(|p| &p.validated)),
                parse: p.map_or(ParseHow::None, |p| p.how),
                error_count: count(Severity::Error),
                warning_count: count(Severity::Warning),
                first_error,
            }
        })
        .collect()
}
