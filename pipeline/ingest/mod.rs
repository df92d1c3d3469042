//! Ingest: find every file under the input root, hash it, and decide which files are
//! workbooks to validate, which are skipped and which duplicate another (catalogue §1).

pub mod http;

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// Extensions of the workbooks returns arrive as. Content decides the reader; the extension
/// only decides whether a file is meant to be a workbook at all.
pub const WORKBOOK_EXTENSIONS: [&str; 5] = ["xlsx", "xlsm", "xls", "ods", "xlsb"];

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Disposition {
    /// A workbook to validate.
    Workbook,
    /// Not a return: why.
    Skipped(String),
    /// Byte-identical to this earlier file (by source path), which is processed instead.
    Duplicate(String),
    /// Listed in a manifest but not downloaded: why.
    DownloadFailed(String),
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct InputFile {
    /// Path relative to the input root, `/`-separated.
    pub source_file: String,
    pub path: PathBuf,
    pub bytes: u64,
    pub sha256: String,
    pub disposition: Disposition,
}

/// Why a file is not a workbook to read, judged by its name alone.
pub fn skip_reason(name: &str) -> Option<String> {
    if name.starts_with("~$") {
        return Some("an Office lock file".into());
    }
    let ext = Path::new(name).extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    match ext {
        Some(e) if WORKBOOK_EXTENSIONS.contains(&e.as_str()) => None,
        Some(e) => Some(format!("not a workbook (.{e})")),
        None => Some("not a workbook (no extension)".into()),
    }
}

/// Every file under `root`, sorted bytewise by source path, hashed and classified.
pub fn discover(root: &Path) -> io::Result<Vec<InputFile>> {
    let mut found = Vec::new();
    walk(root, root, &mut found)?;
    use rayon::prelude::*;
    let files = found
        .into_par_iter()
        .map(|(source_file, path)| {
            let (sha256, bytes) = hash_file(&path)?;
            Ok(InputFile { source_file, path, bytes, sha256, disposition: Disposition::Workbook })
        })
        .collect::<io::Result<Vec<_>>>()?;
    Ok(classify(files))
}

/// The files of a manifest, downloaded: the manifest's `path` is the source file, so the
/// outputs equal those of a folder run over the same files.
pub fn from_downloads(downloads: Vec<http::Downloaded>) -> Vec<InputFile> {
    let files = downloads
        .into_iter()
        .map(|d| match d.outcome {
            http::DownloadOutcome::Stored { local, sha256, bytes, .. } => {
                InputFile { source_file: d.path, path: local, bytes, sha256, disposition: Disposition::Workbook }
            }
            http::DownloadOutcome::Failed { reason } => InputFile {
                source_file: d.path,
                path: PathBuf::new(),
                bytes: 0,
                sha256: String::new(),
                disposition: Disposition::DownloadFailed(reason),
            },
        })
        .collect();
    classify(files)
}

/// Sorts by source path (bytewise) and decides skipped and duplicate files (catalogue §1).
fn classify(mut files: Vec<InputFile>) -> Vec<InputFile> {
    files.sort_by(|a, b| a.source_file.as_bytes().cmp(b.source_file.as_bytes()));
    let mut first_by_hash: HashMap<String, String> = HashMap::new();
    for f in &mut files {
        if f.disposition != Disposition::Workbook {
            continue;
        }
        let name = f.source_file.rsplit('/').next().unwrap_or_default();
        f.disposition = match skip_reason(name) {
            Some(reason) => Disposition::Skipped(reason),
            None => match first_by_hash.get(&f.sha256) {
                Some(first) => Disposition::Duplicate(first.clone()),
                None => {
                    first_by_hash.insert(f.sha256.clone(), f.source_file.clone());
                    Disposition::Workbook
                }
            },
        };
    }
    files
}

/// Whether `--input` names a manifest URL rather than a folder.
pub fn is_url(input: &str) -> bool {
    input.starts_with("http://") || input.starts_with("https://")
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        // Symbolic links are not followed: a link can loop or leave the input tree.
        let ft = entry.file_type()?;
        if ft.is_dir() {
            walk(root, &path, out)?;
        } else if ft.is_file() {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            let source = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
            out.push((source, path));
        }
    }
    Ok(())
}

/// SHA-256 (hex) and size of a file, streamed.
pub fn hash_file(path: &Path) -> io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut f = File::open(path)?;
    let bytes = io::copy(&mut f, &mut hasher)?;
    Ok((hex::encode(hasher.finalize()), bytes))
}
