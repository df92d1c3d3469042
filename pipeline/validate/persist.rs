//! `OUT/.bcf/validate.json`, the validate stage's result: per validated file its status, how its
//! parse was had, where the parse is (the parse cache, by key, or written out here when it is
//! not cached) and the findings the rules across files added to it.

use super::decisions::DecisionRow;
use super::stage::FileParse;
use super::ParsedFile;
use super::Validated;
use crate::contract::ParseHow;
use crate::error::RunError;
use crate::model::{Acceptance, Finding, Status};
use crate::store::cache::ParseCache;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A validation read back: the files, and what the decisions did.
pub type Validation = (Vec<Validated>, Vec<DecisionRow>);

/// What `validate.json` holds.
#[derive(Debug, Serialize, Deserialize)]
pub struct Saved {
    /// What each of the national team's decisions did.
    pub decisions: Vec<DecisionRow>,
    pub files: Vec<Entry>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Entry {
    pub source_file: String,
    pub sha256: String,
    pub status: Status,
    pub how: ParseHow,
    pub parse: Stored,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cross_findings: Vec<Finding>,
    /// Findings a decision accepted, by position among all the file's findings (a cached
    /// parse holds the findings as read, before any decision).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accepted: Vec<(usize, Acceptance)>,
}

/// Where an entry's parse is.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stored {
    Cached { cache_key: String },
    Inline { parsed: Box<ParsedFile> },
}

/// The entries for `validate.json`.
pub fn entries(files: &[FileParse]) -> Vec<Entry> {
    files
        .iter()
        .map(|f| {
            let v = &f.validated;
            let (parse, cross_findings) = match &f.cache_key {
                Some(key) => (Stored::Cached { cache_key: key.clone() }, v.parsed.findings[f.own_findings..].to_vec()),
                None => (Stored::Inline { parsed: Box::new(v.parsed.clone()) }, Vec::new()),
            };
            let accepted = v
                .parsed
                .findings
                .iter()
                .enumerate()
                .filter_map(|(i, x)| Some((i, (**x.accepted.as_ref()?).clone())))
                .collect();
            Entry {
                source_file: v.source_file.clone(),
                sha256: v.sha256.clone(),
                status: v.status,
                how: f.how,
                parse,
                cross_findings,
                accepted,
            }
        })
        .collect()
}

/// The last validation, each parse read back from the cache where it is kept, and what the
/// decisions did; `None` if there is none. A parse the cache no longer holds is
/// [`RunError::ParseGone`].
pub fn load(validate_json: &Path, cache_path: &Path) -> Result<Option<Validation>, RunError> {
    let Some(saved) = crate::store::json::load::<Saved>(validate_json, "run `bcf validate` again")? else {
        return Ok(None);
    };
    let entries = saved.files;
    // Opened by the first entry that needs it.
    let mut cache: Option<ParseCache> = None;
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        let mut parsed = match e.parse {
            Stored::Inline { parsed } => *parsed,
            Stored::Cached { cache_key } => {
                let cache = cache.get_or_insert_with(|| ParseCache::open(cache_path));
                cache.get::<ParsedFile>(&cache_key, &e.sha256).ok_or_else(|| RunError::ParseGone {
                    path: cache_path.to_path_buf(),
                    file: e.source_file.clone(),
                })?
            }
        };
        parsed.findings.extend(e.cross_findings);
        for (i, acceptance) in e.accepted {
            parsed.findings.accept_at(i, acceptance);
        }
        out.push(Validated { source_file: e.source_file, sha256: e.sha256, parsed, status: e.status });
    }
    Ok(Some((out, saved.decisions)))
}

/// Writes `validate.json`; the SHA-256 of what was written, which names this validation.
pub fn save(path: &Path, saved: &Saved) -> Result<String, RunError> {
    let bytes = serde_json::to_vec(saved).map_err(|e| RunError::io("write", path)(std::io::Error::other(e)))?;
    crate::store::atomic::write_bytes_atomic(path, &bytes, crate::store::atomic::Durability::Synced)
        .map_err(RunError::io("write", path))?;
    Ok(digest(&bytes))
}

/// The SHA-256 naming the validation now in `validate.json`, if there is one.
pub fn current_digest(path: &Path) -> Option<String> {
    std::fs::read(path).ok().map(|b| digest(&b))
}

fn digest(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}
