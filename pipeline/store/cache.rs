//! The parse cache: each file's parse, kept between runs in one append-only log
//! (`OUT/.bcf/cache.log`), so an unchanged file is not parsed again.
//!
//! A record is one line: `{"key":…,"sha256":…,"check":…,"parse":{…}}`. `key` says what the
//! parse depends on (see `validate::stage::cache_key`), `sha256` is the file it is a parse of,
//! and `check` is the SHA-256 of key, sha256 and parse together. A record is used only if its
//! check holds and its `sha256` is the file's, so a line cut short by a kill, or bytes from
//! anywhere mixed into it, is ignored and the file parsed again: the cache can lose a parse,
//! never return the wrong one. Records reach the log whole, in single writes, by the one
//! process holding the output folder's lock.

use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Records are written in batches of about this many bytes: a killed run loses at most one
/// batch of parses, which the next run makes again.
const BATCH_BYTES: usize = 256 * 1024;

#[derive(Deserialize)]
struct Record<'a> {
    key: &'a str,
    sha256: &'a str,
    check: &'a str,
    #[serde(borrow)]
    parse: &'a RawValue,
}

fn check_of(key: &str, sha256: &str, parse: &str) -> String {
    let mut h = Sha256::new();
    for part in [key, sha256, parse] {
        h.update(part.as_bytes());
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

struct Entry {
    sha256: String,
    parse: Box<RawValue>,
}

/// The cache, opened for a run: every sound record of the log, and the log for appending.
pub struct ParseCache {
    path: PathBuf,
    entries: HashMap<String, Entry>,
    /// Lines in the log when it was opened, sound or not.
    lines: usize,
    pending: Mutex<Pending>,
}

/// Records not yet written, the log once a record needs it, and how many records were added.
#[derive(Default)]
struct Pending {
    batch: Vec<u8>,
    log: Option<File>,
    added: usize,
}

/// The records of a log that hold: by key, the last sound one. And the log's line count.
fn read_log(path: &Path) -> (HashMap<String, Entry>, usize) {
    let mut entries = HashMap::new();
    let mut lines = 0;
    let Ok(file) = File::open(path) else { return (entries, 0) };
    for line in BufReader::new(file).split(b'\n') {
        let Ok(line) = line else { break };
        lines += 1;
        let Ok(r) = serde_json::from_slice::<Record<'_>>(&line) else { continue };
        if r.check == check_of(r.key, r.sha256, r.parse.get()) {
            entries.insert(r.key.to_string(), Entry { sha256: r.sha256.to_string(), parse: r.parse.to_owned() });
        }
    }
    (entries, lines)
}

impl ParseCache {
    pub fn open(path: &Path) -> ParseCache {
        let (entries, lines) = read_log(path);
        ParseCache { path: path.to_path_buf(), entries, lines, pending: Mutex::default() }
    }

    /// The parse stored under `key` for the file with this SHA-256, read back; `None` if there
    /// is none, it is of another file, or it no longer reads as a `T`.
    pub fn get<T: serde::de::DeserializeOwned>(&self, key: &str, sha256: &str) -> Option<T> {
        let e = self.entries.get(key).filter(|e| e.sha256 == sha256)?;
        serde_json::from_str(e.parse.get()).ok()
    }

    pub fn contains(&self, key: &str, sha256: &str) -> bool {
        self.entries.get(key).is_some_and(|e| e.sha256 == sha256)
    }

    /// Adds a parse (JSON) for the file with this SHA-256. Written to the log in batches.
    pub fn put(&self, key: &str, sha256: &str, parse: &RawValue) -> io::Result<()> {
        if !is_hex(key) || !is_hex(sha256) {
            return Err(io::Error::other("cache keys and hashes are hexadecimal"));
        }
        let check = check_of(key, sha256, parse.get());
        let line =
            format!("{{\"key\":\"{key}\",\"sha256\":\"{sha256}\",\"check\":\"{check}\",\"parse\":{}}}\n", parse.get());
        let mut pending = self.pending.lock().map_err(|_| io::Error::other("the parse cache is poisoned"))?;
        pending.batch.extend_from_slice(line.as_bytes());
        pending.added += 1;
        if pending.batch.len() >= BATCH_BYTES {
            write_batch(&self.path, &mut pending)?;
        }
        Ok(())
    }

    /// Writes what is pending and syncs the log; then, once the log holds more than twice as
    /// many lines as `keep` (the keys of the files in the input), rewrites it with only those.
    pub fn finish(self, keep: &HashSet<String>) -> io::Result<()> {
        let mut pending = self.pending.into_inner().map_err(|_| io::Error::other("the parse cache is poisoned"))?;
        write_batch(&self.path, &mut pending)?;
        if let Some(log) = &pending.log {
            log.sync_all()?;
        }
        if self.lines + pending.added > 2 * keep.len() + 16 {
            compact(&self.path, keep)?;
        }
        Ok(())
    }
}

/// Appends the pending records to the log in one write.
fn write_batch(path: &Path, pending: &mut Pending) -> io::Result<()> {
    if pending.batch.is_empty() {
        return Ok(());
    }
    if pending.log.is_none() {
        pending.log = Some(open_for_append(path)?);
    }
    let log = pending.log.as_mut().expect("opened above");
    log.write_all(&pending.batch)?;
    pending.batch.clear();
    Ok(())
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The log opened for appending, with a line a kill cut short ended first, so the next record
/// starts on a line of its own.
fn open_for_append(path: &Path) -> io::Result<File> {
    let mut log = OpenOptions::new().create(true).append(true).read(true).open(path)?;
    let len = log.metadata()?.len();
    if len > 0 {
        let mut last = [0u8; 1];
        log.seek(SeekFrom::Start(len - 1))?;
        log.read_exact(&mut last)?;
        if last[0] != b'\n' {
            log.write_all(b"\n")?;
        }
    }
    Ok(log)
}

/// Rewrites the log with the sound records of `keep` only.
fn compact(path: &Path, keep: &HashSet<String>) -> io::Result<()> {
    let (entries, _) = read_log(path);
    let mut kept: Vec<(&String, &Entry)> = entries.iter().filter(|(k, _)| keep.contains(*k)).collect();
    kept.sort_by(|a, b| a.0.cmp(b.0));
    super::atomic::write_atomic(path, super::atomic::Durability::Synced, |w| {
        for (key, e) in kept {
            let check = check_of(key, &e.sha256, e.parse.get());
            writeln!(
                w,
                "{{\"key\":\"{key}\",\"sha256\":\"{}\",\"check\":\"{check}\",\"parse\":{}}}",
                e.sha256,
                e.parse.get()
            )?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(json: &str) -> Box<RawValue> {
        RawValue::from_string(json.to_string()).unwrap()
    }

    #[test]
    fn a_record_is_returned_only_for_its_own_file_and_only_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.log");
        let cache = ParseCache::open(&path);
        cache.put("aa", "11", &raw(r#"{"area":"Kent"}"#)).unwrap();
        cache.put("bb", "22", &raw(r#"{"area":"Camden"}"#)).unwrap();
        cache.finish(&["aa".to_string(), "bb".to_string()].into()).unwrap();

        let cache = ParseCache::open(&path);
        assert_eq!(cache.get::<serde_json::Value>("aa", "11").unwrap()["area"], "Kent");
        assert!(cache.get::<serde_json::Value>("aa", "22").is_none(), "the key of another file's parse");
        drop(cache);

        // A line that pairs one record's key with another's parse, and a line cut short.
        let text = std::fs::read_to_string(&path).unwrap();
        let forged = text.lines().next().unwrap().replace("Kent", "Rotherham");
        std::fs::write(&path, format!("{forged}\n{}\n{{\"key\":\"cc\",\"sha", text.lines().nth(1).unwrap())).unwrap();
        let cache = ParseCache::open(&path);
        assert!(cache.get::<serde_json::Value>("aa", "11").is_none(), "a record whose check fails is ignored");
        assert_eq!(cache.get::<serde_json::Value>("bb", "22").unwrap()["area"], "Camden");
        cache.put("dd", "44", &raw("{}")).unwrap();
        cache.finish(&["bb".to_string(), "dd".to_string()].into()).unwrap();
        let cache = ParseCache::open(&path);
        assert!(cache.contains("dd", "44"), "appended after the cut line, on a line of its own");
    }

    #[test]
    fn the_log_is_compacted_to_the_files_in_the_input() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.log");
        let cache = ParseCache::open(&path);
        for i in 0..40 {
            cache.put(&format!("{i:02x}"), "ab", &raw("{}")).unwrap();
        }
        cache.finish(&["01".to_string()].into()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 1);
        assert!(ParseCache::open(&path).contains("01", "ab"));
    }
}
