//! The validate stage over the input: for each workbook, its parse from the cache, or the file
//! read (once, whole), checked against the hash ingest took, and parsed, with a panic caught at
//! the file boundary; then the rules across files.

use super::cross::{self, Validated};
use super::decisions::{DecisionRow, Decisions};
use super::{Context, ParsedFile, PARSE_FORMAT};
use crate::error::RunError;
use crate::ingest::{unreadable_reason, Disposition, InputFile};
use crate::model::{Finding, Rule, Status};
use crate::run::record::{counts, Counts, ParseHow};
use crate::run::Progress;
use crate::store::cache::ParseCache;
use crate::store::Store;
use crate::workbook::Limits;
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use tracing::{info, info_span, warn};

/// Where workbooks are parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseMode {
    /// In this process, on its threads.
    InProcess,
    /// `.xls` in worker processes started from this executable (the `bcf` binary), the rest
    /// in process: see [`super::worker`].
    XlsInWorkers { exe: std::path::PathBuf },
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
                (p.0)(done.fetch_add(1, Ordering::Relaxed) + 1, total);
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
    let bytes = match read_as_hashed(f, &run.ctx.limits) {
        Ok(bytes) => bytes,
        Err(finding) => return (ParsedFile::failed(finding), ParseHow::Failed),
    };
    let parsed = match run.mode {
        ParseMode::XlsInWorkers { exe } if super::worker::is_xls(&bytes) => {
            match super::worker::parse(exe, &run.ctx.schemas.root, &run.ctx.limits, bytes) {
                Ok(parsed) => parsed,
                Err(why) => {
                    let message = "bcf could not start a process to read this .xls workbook; run again (the machine may be short of processes or memory)";
                    let finding = Finding::file(Rule::FileUnreadable, message).with_detail(Some(why));
                    return (ParsedFile::failed(finding), ParseHow::Failed);
                }
            }
        }
        _ => parse_catching_panics(bytes, &run.ctx),
    };
    info!(
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

/// The file's bytes, if they are still those ingest hashed.
fn read_as_hashed(f: &InputFile, limits: &Limits) -> Result<Vec<u8>, Finding> {
    use std::io::Read;
    let max = limits.max_inflated_bytes;
    let mut bytes = Vec::new();
    let read = std::fs::File::open(&f.path).and_then(|file| file.take(max + 1).read_to_end(&mut bytes));
    if let Err(e) = read {
        return Err(Finding::file(Rule::FileUnreadable, unreadable_reason(&e)).with_detail(Some(e.to_string())));
    }
    if bytes.len() as u64 > max {
        let msg = format!("the file is larger than the {} MiB limit for a workbook; remove stray content, save it as .xlsx and resubmit", max >> 20);
        return Err(Finding::file(Rule::FileTooLarge, msg));
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
        let what = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown cause".into());
        warn!(%what, "a reader failed on this file; it is reported as unreadable");
        ParsedFile::failed(
            Finding::file(
                Rule::FileUnreadable,
                "the workbook has a structure bcf cannot read (a reader failed on it); open it in Excel, save it again as .xlsx and resubmit",
            )
            .with_detail(Some(format!("reader panicked: {what}"))),
        )
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
