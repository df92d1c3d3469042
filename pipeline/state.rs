//! What a run keeps under `OUT/.bcf/` so stages can run alone, resume and skip unchanged work:
//! each stage's persisted result, the per-file parse cache, a staging folder and the publish
//! journal that makes a set of outputs visible by atomic renames.
//!
//! Layout:
//! ```text
//! OUT/.bcf/ingest.json       the input files (ingest's result)
//! OUT/.bcf/validate.json     every workbook's status, and its parse or the parse's cache key (validate's result)
//! OUT/.bcf/cache.jsonl      every file's parse, keyed by content hash + schemas + tool version + limits
//! OUT/.bcf/staging/…         outputs being written, not yet visible
//! OUT/.bcf/publish.json      the journal of a publish in progress (rolled forward if found)
//! OUT/.bcf/downloads/        the HTTP store (objects/<sha256>, index.json)
//! ```

use crate::normalise::parquet::write_file_atomic;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::fs::OpenOptions;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Debug, Clone)]
pub struct State {
    pub out: PathBuf,
    pub dir: PathBuf,
}

impl State {
    pub fn new(out: &Path) -> State {
        State { out: out.to_path_buf(), dir: out.join(".bcf") }
    }

    pub fn ingest_path(&self) -> PathBuf {
        self.dir.join("ingest.json")
    }

    pub fn validate_path(&self) -> PathBuf {
        self.dir.join("validate.json")
    }

    /// Submissions and national totals of the last full publish, for an up-to-date run.
    pub fn summary_path(&self) -> PathBuf {
        self.dir.join("summary.json")
    }

    pub fn staging(&self) -> PathBuf {
        self.dir.join("staging")
    }

    fn journal_path(&self) -> PathBuf {
        self.dir.join("publish.json")
    }

    pub fn cache_log_path(&self) -> PathBuf {
        self.dir.join("cache.jsonl")
    }

    /// Writes `value` as JSON, atomically and synced to disk.
    pub fn save<T: Serialize>(&self, path: &Path, value: &T) -> io::Result<()> {
        write_json(path, value, true)
    }

    /// [`State::save`] without waiting for the disk: for the run record, metadata rewritten at
    /// every stage boundary. A killed process still leaves a whole file.
    pub fn save_unsynced<T: Serialize>(&self, path: &Path, value: &T) -> io::Result<()> {
        write_json(path, value, false)
    }

    /// `Ok(None)` when the file does not exist.
    pub fn load<T: DeserializeOwned>(&self, path: &Path) -> io::Result<Option<T>> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| io::Error::other(format!("{} is damaged: {e}", path.display()))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every entry of the parse cache log, by key, and the log's line count. Later lines win;
    /// a line cut short by a killed run is skipped.
    fn cache_entries(&self) -> (HashMap<String, Box<RawValue>>, usize) {
        let mut entries = HashMap::new();
        let mut lines = 0;
        if let Ok(file) = std::fs::File::open(self.cache_log_path()) {
            for line in BufReader::new(file).lines() {
                let Ok(line) = line else { break };
                lines += 1;
                if let Ok(e) = serde_json::from_str::<CacheEntry<Box<RawValue>>>(&line) {
                    entries.insert(e.key, e.value);
                }
            }
        }
        (entries, lines)
    }

    /// The parse cache for reading only (as a later stage resolves `validate.json`).
    pub fn read_cache(&self) -> ReadCache {
        ReadCache { entries: self.cache_entries().0 }
    }

    /// Opens the parse cache: every entry of the log, and the log for appending.
    pub fn open_cache(&self) -> io::Result<ParseCache> {
        std::fs::create_dir_all(&self.dir)?;
        let (entries, lines) = self.cache_entries();
        let mut log = OpenOptions::new().create(true).append(true).open(self.cache_log_path())?;
        // End a line cut short by a kill, so the next entry starts on a line of its own.
        let len = log.metadata()?.len();
        if len > 0 {
            let mut last = [0u8; 1];
            let mut f = std::fs::File::open(self.cache_log_path())?;
            std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(len - 1))?;
            std::io::Read::read_exact(&mut f, &mut last)?;
            if last[0] != b'\n' {
                log.write_all(b"\n")?;
            }
        }
        let log = Mutex::new(BufWriter::with_capacity(CACHE_BUFFER_BYTES, log));
        Ok(ParseCache { entries: ReadCache { entries }, lines, log, path: self.cache_log_path() })
    }

    fn fingerprint_path(&self) -> PathBuf {
        self.dir.join("published.fingerprint")
    }

    /// The fingerprint of the inputs and settings behind the published outputs, if any.
    pub fn published_fingerprint(&self) -> Option<String> {
        std::fs::read_to_string(self.fingerprint_path()).ok().map(|s| s.trim().to_string())
    }

    pub fn set_published_fingerprint(&self, fp: Option<&str>) -> io::Result<()> {
        match fp {
            // Not synced: a fingerprint lost or cut short by a power cut only costs a full run.
            Some(fp) => write_file_atomic(&self.fingerprint_path(), false, |w| w.write_all(fp.as_bytes())),
            None => match std::fs::remove_file(self.fingerprint_path()) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            },
        }
    }

    /// Removes every file from the staging folder (left over from a killed run). Its folders
    /// stay: removing a folder costs a journalled write, and the next run writes into them.
    pub fn clear_staging(&self) -> io::Result<()> {
        fn walk(dir: &Path) -> io::Result<()> {
            let rd = match std::fs::read_dir(dir) {
                Ok(rd) => rd,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(e),
            };
            for e in rd {
                let e = e?;
                if e.file_type()?.is_dir() {
                    walk(&e.path())?;
                } else {
                    std::fs::remove_file(e.path())?;
                }
            }
            Ok(())
        }
        walk(&self.staging())
    }

    /// Makes every staged file visible under `OUT/` by rename, and removes `stale` output paths
    /// (partitions no longer produced). A journal written first lets a killed publish be
    /// finished by the next command, so readers only ever see whole files. `syncer` holds the
    /// files this command wrote without waiting for the disk: every one of them, and every
    /// staged file, is on disk before the journal is written.
    pub fn publish(&self, stale: Vec<String>, syncer: Option<Syncer>) -> io::Result<()> {
        let synced = syncer.map(Syncer::finish).transpose()?.unwrap_or_default();
        let files = list_files(&self.staging())?;
        let rest: Vec<PathBuf> =
            files.iter().map(|rel| self.staging().join(rel)).filter(|p| !synced.contains(p)).collect();
        sync_files(&rest)?;
        let journal = Journal { files, stale };
        self.save(&self.journal_path(), &journal)?;
        self.roll_forward(journal)
    }

    /// Finishes a publish that a killed command left half done. Call before anything else.
    pub fn recover(&self) -> io::Result<bool> {
        match self.load::<Journal>(&self.journal_path())? {
            Some(j) => self.roll_forward(j).map(|_| true),
            None => Ok(false),
        }
    }

    fn roll_forward(&self, j: Journal) -> io::Result<()> {
        let staging = self.staging();
        // Folders known to exist, so each is created (or found) once, not once per file.
        let mut folders: HashSet<PathBuf> = HashSet::from([self.out.clone()]);
        for rel in &j.files {
            let to = self.out.join(rel);
            if let Some(parent) = to.parent() {
                if !folders.contains(parent) {
                    std::fs::create_dir_all(parent)?;
                    folders.insert(parent.to_path_buf());
                }
            }
            match std::fs::rename(staging.join(rel), &to) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue, // moved before an interruption
                moved => moved?,
            }
            checkpoint("during-publish");
        }
        for rel in &j.stale {
            let p = self.out.join(rel);
            let removed = if p.is_dir() { std::fs::remove_dir_all(&p) } else { std::fs::remove_file(&p) };
            if let Err(e) = removed {
                if e.kind() != io::ErrorKind::NotFound {
                    return Err(e);
                }
            }
        }
        std::fs::remove_file(self.journal_path())?;
        self.clear_staging()
    }
}

fn write_json<T: Serialize>(path: &Path, value: &T, sync: bool) -> io::Result<()> {
    write_file_atomic(path, sync, |w| serde_json::to_writer(w, value).map_err(io::Error::other))
}

/// One line of the parse cache log (written by [`ParseCache::put`]).
#[derive(Deserialize)]
struct CacheEntry<T> {
    key: String,
    value: T,
}

/// Parses buffered before they are appended to the log: a killed run loses at most this much
/// (a few dozen returns), and a run writes the log in a few large writes, not one per file.
const CACHE_BUFFER_BYTES: usize = 256 * 1024;

/// Each file's parse, keyed by [`cache_key`], in one append-only JSON-lines log
/// (`OUT/.bcf/cache.jsonl`): one file for the whole corpus (a file per return costs more in
/// inode creation than the parse), still resumable after a kill because parses are appended
/// as they finish (in [`CACHE_BUFFER_BYTES`] batches). A parse is serialised once, for the
/// log; `validate.json` refers to it there by key.
pub struct ParseCache {
    entries: ReadCache,
    /// Lines in the log when it was opened.
    lines: usize,
    log: Mutex<BufWriter<std::fs::File>>,
    path: PathBuf,
}

/// The parse cache's entries, read only.
pub struct ReadCache {
    entries: HashMap<String, Box<RawValue>>,
}

impl ReadCache {
    /// The entry under `key`, read back; `None` if absent or no longer readable.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        serde_json::from_str(self.entries.get(key)?.get()).ok()
    }

    pub fn contains(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }
}

impl ParseCache {
    /// The entry under `key`, read back; `None` if absent or no longer readable.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        self.entries.get(key)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.entries.contains(key)
    }

    /// Appends one parse, as a JSON line (a kill may cut the last line short; reading skips it).
    pub fn put(&self, key: &str, value: &RawValue) -> io::Result<()> {
        // A [`CacheEntry`] line, written straight from the JSON already made; keys are hex.
        debug_assert!(key.bytes().all(|b| b.is_ascii_hexdigit()), "cache keys need no escaping");
        let mut log = self.log.lock().map_err(|_| io::Error::other("cache lock poisoned"))?;
        for part in [r#"{"key":""#, key, r#"","value":"#, value.get(), "}\n"] {
            log.write_all(part.as_bytes())?;
        }
        Ok(())
    }

    /// Drops entries of inputs that are gone once the log holds more than twice as many lines
    /// as `keep` (the current inputs' keys), so it stays bounded at amortised cost.
    pub fn compact_if_large(self, keep: &HashSet<String>) -> io::Result<()> {
        #[derive(Deserialize)]
        struct KeyOnly {
            key: String,
        }
        let mut log = self.log.into_inner().map_err(|_| io::Error::other("cache lock poisoned"))?;
        log.flush()?;
        drop(log);
        if self.lines <= 2 * keep.len() + 16 {
            return Ok(());
        }
        let mut last: HashMap<String, String> = HashMap::new();
        for line in BufReader::new(std::fs::File::open(&self.path)?).lines() {
            let Ok(line) = line else { break };
            if let Ok(k) = serde_json::from_str::<KeyOnly>(&line) {
                if keep.contains(&k.key) {
                    last.insert(k.key, line);
                }
            }
        }
        let tmp = self.path.with_extension("jsonl.tmp");
        let mut w = BufWriter::new(std::fs::File::create(&tmp)?);
        for line in last.values() {
            w.write_all(line.as_bytes())?;
            w.write_all(b"\n")?;
        }
        w.flush()?;
        drop(w);
        std::fs::rename(tmp, &self.path)
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Journal {
    files: Vec<String>,
    stale: Vec<String>,
}

/// Syncs files to disk in the background as they are written, so the waits for the disk
/// overlap the work that follows instead of adding up at the end. Its threads start with the
/// first file queued: a command with nothing to write starts none.
#[derive(Default)]
pub struct Syncer {
    queue: std::sync::OnceLock<SyncQueue>,
    queued: Mutex<HashSet<PathBuf>>,
    /// The first failed sync made without a sync thread.
    failed: Mutex<Option<io::Error>>,
}

/// The sync threads and the queue that feeds them; closing the queue stops them.
struct SyncQueue {
    sender: std::sync::mpsc::Sender<PathBuf>,
    workers: Vec<std::thread::JoinHandle<io::Result<()>>>,
}

impl SyncQueue {
    /// Syncs in flight at once. Each mostly waits for the disk, so more threads finish sooner:
    /// with eight, twice the bench corpus's ~200 outputs were on disk in 6–7 ms, not 8–12.
    const WORKERS: usize = 8;
    /// A sync thread only opens and syncs files: a small stack is plenty, and keeps the
    /// process's address space within the documented bound (docs/hostile-files.md).
    const STACK_BYTES: usize = 128 * 1024;

    /// Starts the threads that can be started (none, if the system refuses threads).
    fn start() -> SyncQueue {
        let (sender, rx) = std::sync::mpsc::channel::<PathBuf>();
        let rx = std::sync::Arc::new(Mutex::new(rx));
        let workers = (0..Self::WORKERS)
            .filter_map(|_| {
                let rx = rx.clone();
                let thread = std::thread::Builder::new().name("bcf-sync".into()).stack_size(Self::STACK_BYTES);
                thread
                    .spawn(move || loop {
                        let next = rx.lock().map_err(|_| io::Error::other("the sync queue is poisoned"))?.recv();
                        let Ok(path) = next else { return Ok(()) };
                        sync_file(&path)?;
                    })
                    .ok()
            })
            .collect();
        SyncQueue { sender, workers }
    }
}

impl Syncer {
    /// Queues a written file to be synced (once, however often it is queued). Writers on any
    /// thread queue each file as they finish it, so its sync overlaps the writing of the next.
    pub fn sync(&self, path: PathBuf) {
        if let Ok(mut queued) = self.queued.lock() {
            if queued.insert(path.clone()) {
                // The workers only stop once the queue is closed, in `finish` (or on an error).
                if let Err(unsent) = self.queue.get_or_init(SyncQueue::start).sender.send(path) {
                    // No sync thread is running: the file is synced here instead.
                    if let Err(e) = sync_file(&unsent.0) {
                        if let Ok(mut failed) = self.failed.lock() {
                            failed.get_or_insert(e);
                        }
                    }
                }
            }
        }
    }

    /// Waits for every queued file; the paths synced (all that were queued), or the first error.
    pub fn finish(mut self) -> io::Result<HashSet<PathBuf>> {
        let mut first_err = self.failed.get_mut().ok().and_then(Option::take);
        if let Some(SyncQueue { sender, workers }) = self.queue.take() {
            drop(sender);
            for w in workers {
                if let Err(e) = w.join().unwrap_or_else(|_| Err(io::Error::other("a sync thread panicked"))) {
                    first_err = first_err.or(Some(e));
                }
            }
        }
        let queued =
            std::mem::take(&mut self.queued).into_inner().map_err(|_| io::Error::other("the sync queue is poisoned"));
        first_err.map_or(queued, Err)
    }
}

/// Puts a written file's data and metadata on disk.
fn sync_file(path: &Path) -> io::Result<()> {
    std::fs::File::open(path)?.sync_all()
}

/// Syncs files to disk, several at once: the waits overlap, so a publish of dozens of files
/// costs about one sync, not one per file.
pub fn sync_files(paths: &[PathBuf]) -> io::Result<()> {
    const AT_ONCE: usize = 8;
    let per_thread = paths.len().div_ceil(AT_ONCE).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = paths
            .chunks(per_thread)
            .map(|chunk| scope.spawn(move || chunk.iter().try_for_each(|p| sync_file(p))))
            .collect();
        workers
            .into_iter()
            .try_for_each(|w| w.join().unwrap_or_else(|_| Err(io::Error::other("a sync thread panicked"))))
    })
}

/// Files under `dir`, relative and `/`-separated, sorted; temporary files are left out.
fn list_files(dir: &Path) -> io::Result<Vec<String>> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> io::Result<()> {
        let rd = match std::fs::read_dir(dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        for e in rd {
            let p = e?.path();
            if p.is_dir() {
                walk(root, &p, out)?;
            } else if !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
                let rel = p.strip_prefix(root).unwrap_or(&p);
                out.push(rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out)?;
    out.sort();
    Ok(out)
}

/// The cache key of one file's parse: its content, the schemas, the tool, the limits and the
/// form parses are stored in.
pub fn cache_key(sha256: &str, schemas_fingerprint: &str, limits: &crate::workbook::Limits) -> String {
    let mut h = Sha256::new();
    for part in [
        sha256,
        schemas_fingerprint,
        env!("CARGO_PKG_VERSION"),
        &format!("{limits:?}"),
        crate::normalise::parquet::SCHEMA_VERSION,
        crate::validate::PARSE_FORMAT,
    ] {
        h.update(part.as_bytes());
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

/// A test hook: `BCF_TEST_HANG_AT=<point>` makes the process announce the point on standard
/// error and stop there, so a test can kill it with SIGKILL at a known moment.
pub fn checkpoint(point: &str) {
    if std::env::var("BCF_TEST_HANG_AT").is_ok_and(|p| p == point) {
        eprintln!("BCF_TEST_HANG_AT reached {point}");
        loop {
            std::thread::sleep(std::time::Duration::from_secs(60));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_syncer_syncs_each_queued_file_once_and_reports_a_failed_sync() {
        assert!(Syncer::default().finish().unwrap().is_empty(), "nothing queued, nothing started");
        let dir = tempfile::tempdir().unwrap();
        let files: Vec<PathBuf> = (0..20).map(|i| dir.path().join(format!("{i}.json"))).collect();
        let syncer = Syncer::default();
        std::thread::scope(|s| {
            for chunk in files.chunks(5) {
                let syncer = &syncer;
                s.spawn(move || {
                    for f in chunk {
                        std::fs::write(f, b"{}").unwrap();
                        syncer.sync(f.clone());
                        syncer.sync(f.clone());
                    }
                });
            }
        });
        assert_eq!(syncer.finish().unwrap(), files.iter().cloned().collect::<HashSet<_>>());
        let failing = Syncer::default();
        failing.sync(dir.path().join("never-written.json"));
        assert_eq!(failing.finish().unwrap_err().kind(), io::ErrorKind::NotFound);
    }
}
