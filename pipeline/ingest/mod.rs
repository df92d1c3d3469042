//! Ingest: find every file under the input root, hash it, and decide which files are
//! workbooks to validate, which are skipped and which duplicate another (catalogue §1).

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// Extensions of the workbooks returns arrive as. Content decides the reader; the extension
/// only decides whether a file is meant to be a workbook at all.
pub const WORKBOOK_EXTENSIONS: [&str; 5] = ["xlsx", "xlsm", "xls", "ods", "xlsb"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// A workbook to validate.
    Workbook,
    /// Not a return: why.
    Skipped(String),
    /// Byte-identical to this earlier file (by source path), which is processed instead.
    Duplicate(String),
}

#[derive(Debug, Clone)]
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
    let ext = Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
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
    found.sort_by(|a: &(String, PathBuf), b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut first_by_hash: HashMap<String, String> = HashMap::new();
    let mut out = Vec::with_capacity(found.len());
    for (source_file, path) in found {
        let (sha256, bytes) = hash_file(&path)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let disposition = match skip_reason(&name) {
            Some(reason) => Disposition::Skipped(reason),
            None => match first_by_hash.get(&sha256) {
                Some(first) => Disposition::Duplicate(first.clone()),
                None => {
                    first_by_hash.insert(sha256.clone(), source_file.clone());
                    Disposition::Workbook
                }
            },
        };
        out.push(InputFile {
            source_file,
            path,
            bytes,
            sha256,
            disposition,
        });
    }
    Ok(out)
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
            let source = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
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
