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
/// and a file replaced by another has a new inode. Times are ns since the epoch in an `i64`
/// (years 1677 to 2262, saturating beyond), which `ingest.json` reads back fast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileStat {
    pub len: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
    pub inode: u64,
    pub device: u64,
    /// When the hash was taken (ns since the epoch).
    pub hashed_at_ns: i64,
}

impl FileStat {
    /// A file's stat now, where the platform gives one; `hashed_at_ns` is left for the caller.
    fn of(meta: &std::fs::Metadata) -> Option<FileStat> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let ns = |s: i64, n: i64| s.saturating_mul(1_000_000_000).saturating_add(n);
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
        const SETTLED_NS: i64 = 1_000_000_000;
        let same = FileStat { hashed_at_ns: self.hashed_at_ns, ..*now };
        same == *self && now.ctime_ns.max(now.mtime_ns).saturating_add(SETTLED_NS) < self.hashed_at_ns
    }
}

fn now_ns() -> i64 {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since_epoch.map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
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
    Ok(discover_reading(root, previous, None::<&ReadAhead<'_, ()>>)?.0)
}

/// What ingest hands a file's bytes to as it hashes them (see [`discover_reading`]).
pub type ReadAhead<'a, T> = dyn Fn(FileRead<'_>) -> Option<T> + Sync + 'a;

/// A file ingest has just read whole and hashed.
pub struct FileRead<'a> {
    /// Not yet classified: its disposition is still `Workbook`.
    pub file: &'a InputFile,
    pub bytes: Vec<u8>,
    /// Files found under the root, for progress.
    pub files_found: u64,
}

/// Files up to this size are read whole to be hashed when a [`ReadAhead`] wants their bytes.
pub const READ_AHEAD_MAX_BYTES: u64 = crate::workbook::sniff::IN_MEMORY_MAX_BYTES;

/// [`discover`], handing each file it reads whole (one it hashes, of at most
/// [`READ_AHEAD_MAX_BYTES`]) to `read_ahead` with its bytes, before it is classified: a run
/// that validates next parses the bytes while they are in memory, so each file is read once.
/// Returns the files and what `read_ahead` kept, in no particular order.
pub fn discover_reading<T: Send>(
    root: &Path,
    previous: &[InputFile],
    read_ahead: Option<&ReadAhead<'_, T>>,
) -> io::Result<(Vec<InputFile>, Vec<T>)> {
    let mut found = Vec::new();
    walk(root, root, &mut found)?;
    let files_found = found.len() as u64;
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
            let (sha256, bytes, stat, content) = match unchanged {
                Some((sha256, bytes, then)) => (sha256, bytes, Some(then), None),
                None => {
                    let hashed_at_ns = now_ns();
                    let mut file = File::open(&path)?;
                    let meta = file.metadata()?;
                    let stat = FileStat::of(&meta).map(|s| FileStat { hashed_at_ns, ..s });
                    let (sha256, bytes, content) = match read_ahead {
                        Some(_) if meta.len() <= READ_AHEAD_MAX_BYTES => hash_whole(&mut file, meta.len())?,
                        _ => hash_reader(&mut file).map(|(sha256, bytes)| (sha256, bytes, None))?,
                    };
                    (sha256, bytes, stat, content)
                }
            };
            let file = InputFile { source_file, path, bytes, sha256, disposition: Disposition::Workbook, stat };
            let kept =
                read_ahead.zip(content).and_then(|(read, bytes)| read(FileRead { file: &file, bytes, files_found }));
            Ok((file, kept))
        })
        .collect::<io::Result<Vec<_>>>()?;
    let (files, kept): (Vec<InputFile>, Vec<Option<T>>) = files.into_iter().unzip();
    Ok((classify(files), kept.into_iter().flatten().collect()))
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

/// SHA-256 (hex), size and bytes of a file of about `len` bytes, read whole. A file that grew
/// since its size was taken is hashed streaming, and its bytes not kept.
fn hash_whole(file: &mut File, len: u64) -> io::Result<(String, u64, Option<Vec<u8>>)> {
    use io::Read;
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(READ_AHEAD_MAX_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > READ_AHEAD_MAX_BYTES {
        let mut hasher = Sha256::new();
        hasher.update(&bytes);
        let rest = io::copy(file, &mut hasher)?;
        return Ok((hex::encode(hasher.finalize()), bytes.len() as u64 + rest, None));
    }
    let sha256 = hex::encode(Sha256::digest(&bytes));
    Ok((sha256, bytes.len() as u64, Some(bytes)))
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
        let marked = |hashed_after_change_ns: Option<i64>| -> Vec<InputFile> {
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

    #[test]
    fn files_read_whole_are_handed_on_with_their_bytes_and_others_are_not() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.xlsx"), b"first").unwrap();
        std::fs::write(dir.path().join("b.txt"), b"").unwrap();
        let big = vec![7u8; READ_AHEAD_MAX_BYTES as usize + 1];
        std::fs::write(dir.path().join("big.xlsx"), &big).unwrap();
        let handed = |r: FileRead<'_>| {
            assert_eq!(hex::encode(Sha256::digest(&r.bytes)), r.file.sha256, "the bytes hashed");
            assert_eq!(r.files_found, 3);
            Some((r.file.source_file.clone(), r.bytes))
        };
        let (files, mut kept) = discover_reading(dir.path(), &[], Some(&handed)).unwrap();
        kept.sort();
        assert_eq!(kept, [("a.xlsx".to_string(), b"first".to_vec()), ("b.txt".to_string(), Vec::new())]);
        assert_eq!(
            files.iter().find(|f| f.source_file == "big.xlsx").unwrap().sha256,
            hex::encode(Sha256::digest(&big))
        );
        let plain = discover(dir.path(), &[]).unwrap();
        let summary = |fs: &[InputFile]| -> Vec<(String, String, Disposition)> {
            fs.iter().map(|f| (f.source_file.clone(), f.sha256.clone(), f.disposition.clone())).collect()
        };
        assert_eq!(summary(&files), summary(&plain), "the same files as without reading ahead");
        // A file whose hash ingest keeps from last time is not read, so not handed on.
        let settled: Vec<InputFile> = files
            .iter()
            .map(|f| InputFile {
                stat: f.stat.map(|s| FileStat { hashed_at_ns: s.ctime_ns + 10_000_000_000, ..s }),
                ..f.clone()
            })
            .collect();
        let (_, kept) = discover_reading(dir.path(), &settled, Some(&handed)).unwrap();
        assert!(kept.is_empty());
    }
}
