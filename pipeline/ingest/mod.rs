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

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InputFile {
    /// Path relative to the input root, `/`-separated.
    pub source_file: String,
    pub path: PathBuf,
    pub bytes: u64,
    pub sha256: String,
    pub disposition: Disposition,
    /// The file's size, times and inode when it was hashed: while they stay the same, the next
    /// ingest takes the hash from here instead of reading the file again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stat: Option<FileStat>,
}

/// What says a file on disk is unchanged: any write changes its ctime (which no tool can set),
/// and a file replaced by another has a new inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileStat {
    pub len: u64,
    pub mtime_ns: i128,
    pub ctime_ns: i128,
    pub inode: u64,
    pub device: u64,
    /// When the hash was taken (ns since the epoch).
    pub hashed_at_ns: i128,
}

impl FileStat {
    /// A file's stat now, where the platform gives one; `hashed_at_ns` is left for the caller.
    fn of(meta: &std::fs::Metadata) -> Option<FileStat> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let ns = |s: i64, n: i64| s as i128 * 1_000_000_000 + n as i128;
            Some(FileStat {
                len: meta.len(),
                mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
                ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
                inode: meta.ino(),
                device: meta.dev(),
                hashed_at_ns: 0,
            })
        }
        #[cfg(not(unix))]
        {
            let _ = meta;
            None
        }
    }

    /// Whether a hash taken under `self` still holds for a file whose stat is now `now`. A file
    /// changed within a second of being hashed is hashed again: file times tick coarsely, so a
    /// second write in the same tick would not show.
    fn still_holds(&self, now: &FileStat) -> bool {
        const SETTLED_NS: i128 = 1_000_000_000;
        let same = FileStat { hashed_at_ns: self.hashed_at_ns, ..*now };
        same == *self && now.ctime_ns.max(now.mtime_ns) + SETTLED_NS < self.hashed_at_ns
    }
}

fn now_ns() -> i128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i128)
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

/// Every file under `root`, sorted bytewise by source path, hashed and classified. A file
/// whose stat is as `previous` (the last ingest) recorded it keeps that hash unread.
pub fn discover(root: &Path, previous: &[InputFile]) -> io::Result<Vec<InputFile>> {
    let mut found = Vec::new();
    walk(root, root, &mut found)?;
    let known: HashMap<(&str, &Path), (&FileStat, &str)> = previous
        .iter()
        .filter_map(|f| Some(((f.source_file.as_str(), f.path.as_path()), (f.stat.as_ref()?, f.sha256.as_str()))))
        .collect();
    use rayon::prelude::*;
    let files = found
        .into_par_iter()
        .map(|(source_file, path)| {
            let unchanged = match known.get(&(source_file.as_str(), path.as_path())) {
                Some((then, sha256)) => FileStat::of(&std::fs::metadata(&path)?)
                    .filter(|now| then.still_holds(now))
                    .map(|now| (sha256.to_string(), now.len, **then)),
                None => None,
            };
            let (sha256, bytes, stat) = match unchanged {
                Some((sha256, bytes, then)) => (sha256, bytes, Some(then)),
                None => {
                    let hashed_at_ns = now_ns();
                    let mut file = File::open(&path)?;
                    let stat = FileStat::of(&file.metadata()?).map(|s| FileStat { hashed_at_ns, ..s });
                    let (sha256, bytes) = hash_reader(&mut file)?;
                    (sha256, bytes, stat)
                }
            };
            Ok(InputFile { source_file, path, bytes, sha256, disposition: Disposition::Workbook, stat })
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
            http::DownloadOutcome::Stored { local, sha256, bytes, .. } => InputFile {
                source_file: d.path,
                path: local,
                bytes,
                sha256,
                disposition: Disposition::Workbook,
                stat: None,
            },
            http::DownloadOutcome::Failed { reason } => InputFile {
                source_file: d.path,
                path: PathBuf::new(),
                bytes: 0,
                sha256: String::new(),
                disposition: Disposition::DownloadFailed(reason),
                stat: None,
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
    hash_reader(&mut File::open(path)?)
}

fn hash_reader(r: &mut impl io::Read) -> io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let bytes = io::copy(r, &mut hasher)?;
    Ok((hex::encode(hasher.finalize()), bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unchanged_file_keeps_its_hash_unread_and_a_changed_one_is_hashed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.xlsx"), b"first").unwrap();
        std::fs::write(dir.path().join("b.xlsx"), b"second").unwrap();
        let first = discover(dir.path(), &[]).unwrap();
        assert!(first.iter().all(|f| f.stat.is_some()), "stats are recorded");
        // As if hashed long after the files last changed, with hashes that give reuse away.
        let marked = |hashed_after_change_ns: Option<i128>| -> Vec<InputFile> {
            first
                .iter()
                .map(|f| InputFile {
                    sha256: format!("kept-{}", f.source_file),
                    stat: f.stat.map(|s| FileStat {
                        hashed_at_ns: hashed_after_change_ns.map_or(s.hashed_at_ns, |d| s.ctime_ns.max(s.mtime_ns) + d),
                        ..s
                    }),
                    ..f.clone()
                })
                .collect()
        };
        // As if hashed long after the files last changed, with hashes that give reuse away.
        let settled = marked(Some(10_000_000_000));
        let again = discover(dir.path(), &settled).unwrap();
        assert_eq!(again.iter().map(|f| f.sha256.as_str()).collect::<Vec<_>>(), ["kept-a.xlsx", "kept-b.xlsx"]);
        // Just hashed, a file is hashed again: a second write in the same clock tick would not show.
        let fresh = discover(dir.path(), &marked(None)).unwrap();
        assert_eq!(fresh[0].sha256, first[0].sha256);
        std::fs::write(dir.path().join("b.xlsx"), b"secoND").unwrap(); // same size, new content
        let changed = discover(dir.path(), &settled).unwrap();
        assert_eq!(changed[0].sha256, "kept-a.xlsx");
        assert_eq!(changed[1].sha256, hash_file(&dir.path().join("b.xlsx")).unwrap().0);
        assert_ne!(changed[1].sha256, first[1].sha256);
    }
}
