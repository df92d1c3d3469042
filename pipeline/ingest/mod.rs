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
    match Path::new(name).extension().and_then(|e| e.to_str()) {
        Some(e) if WORKBOOK_EXTENSIONS.iter().any(|w| w.eq_ignore_ascii_case(e)) => None,
        Some(e) => Some(format!("not a workbook (.{})", e.to_ascii_lowercase())),
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
    let known: HashMap<&str, &InputFile> = previous.iter().map(|f| (f.source_file.as_str(), f)).collect();
    let found = walk(root, "", &known)?;
    let files_found = found.len() as u64;
    use rayon::prelude::*;
    // Files whose hash holds are passed on as they are; only the others are read, in parallel.
    let mut files = Vec::with_capacity(found.len());
    let mut new = Vec::new();
    for f in found {
        match f {
            Found::Unchanged(file) => files.push(file),
            Found::New { source_file, path } => new.push((source_file, path)),
        }
    }
    let hashed = new
        .into_par_iter()
        .map(|(source_file, path)| {
            let hashed_at_ns = now_ns();
            let mut file = File::open(&path)?;
            let meta = file.metadata()?;
            let stat = FileStat::of(&meta).map(|s| FileStat { hashed_at_ns, ..s });
            let (sha256, bytes, content) = match read_ahead {
                Some(_) if meta.len() <= READ_AHEAD_MAX_BYTES => hash_whole(&mut file, meta.len())?,
                _ => hash_reader(&mut file).map(|(sha256, bytes)| (sha256, bytes, None))?,
            };
            let file = InputFile { source_file, path, bytes, sha256, disposition: Disposition::Workbook, stat };
            let kept =
                read_ahead.zip(content).and_then(|(read, bytes)| read(FileRead { file: &file, bytes, files_found }));
            Ok((file, kept))
        })
        .collect::<io::Result<Vec<_>>>()?;
    let mut kept = Vec::new();
    for (file, k) in hashed {
        files.push(file);
        kept.extend(k);
    }
    Ok((classify(files), kept))
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
    // The first workbook with each hash, by index: the files are read here, written below.
    let mut first_by_hash: HashMap<&str, usize> = HashMap::with_capacity(files.len());
    let decided: Vec<Option<Disposition>> = files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            if f.disposition != Disposition::Workbook {
                return None;
            }
            let name = f.source_file.rsplit('/').next().unwrap_or_default();
            if let Some(reason) = skip_reason(name) {
                return Some(Disposition::Skipped(reason));
            }
            match first_by_hash.entry(f.sha256.as_str()) {
                std::collections::hash_map::Entry::Occupied(first) => {
                    Some(Disposition::Duplicate(files[*first.get()].source_file.clone()))
                }
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(i);
                    None
                }
            }
        })
        .collect();
    for (f, d) in files.iter_mut().zip(decided) {
        if let Some(d) = d {
            f.disposition = d;
        }
    }
    files
}

/// Whether `--input` names a manifest URL rather than a folder.
pub fn is_url(input: &str) -> bool {
    input.starts_with("http://") || input.starts_with("https://")
}

/// A file found under the input root.
enum Found {
    /// As the last ingest recorded it, stat and all: its hash is taken from there.
    Unchanged(InputFile),
    /// New or changed since: to be hashed.
    New { source_file: String, path: PathBuf },
}

/// The files under `dir`, whose source paths start with `prefix`, in no particular order;
/// folders are walked in parallel. A file `known` from the last ingest is statted here, from
/// its folder (cheaper than by path), to see whether its hash still holds.
fn walk(dir: &Path, prefix: &str, known: &HashMap<&str, &InputFile>) -> io::Result<Vec<Found>> {
    let mut found = Vec::new();
    let mut folders = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let source_file = format!("{prefix}{}", entry.file_name().to_string_lossy());
        // Symbolic links are not followed: a link can loop or leave the input tree.
        let ft = entry.file_type()?;
        if ft.is_dir() {
            folders.push((entry.path(), source_file + "/"));
        } else if ft.is_file() {
            let path = entry.path();
            let hash_holds = match known.get(source_file.as_str()) {
                Some(then) if then.path == path => match (then.stat, FileStat::of(&entry.metadata()?)) {
                    (Some(stat), Some(now)) if stat.still_holds(&now) => Some((then.sha256.clone(), now.len, stat)),
                    _ => None,
                },
                _ => None,
            };
            found.push(match hash_holds {
                Some((sha256, bytes, stat)) => Found::Unchanged(InputFile {
                    source_file,
                    path,
                    bytes,
                    sha256,
                    disposition: Disposition::Workbook,
                    stat: Some(stat),
                }),
                None => Found::New { source_file, path },
            });
        }
    }
    use rayon::prelude::*;
    let nested: Vec<Vec<Found>> =
        folders.into_par_iter().map(|(dir, prefix)| walk(&dir, &prefix, known)).collect::<io::Result<_>>()?;
    found.extend(nested.into_iter().flatten());
    Ok(found)
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
        std::fs::create_dir_all(dir.path().join("x/y")).unwrap();
        std::fs::write(dir.path().join("x/y/b.xlsx"), b"second").unwrap();
        let first = discover(dir.path(), &[]).unwrap();
        assert!(first.iter().all(|f| f.stat.is_some()), "stats are recorded");
        // The files as found, with hashes that give reuse away, as if hashed the given time
        // after they last changed (or, given none, when they really were).
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
        assert_eq!(again.iter().map(|f| f.sha256.as_str()).collect::<Vec<_>>(), ["kept-a.xlsx", "kept-x/y/b.xlsx"]);
        // Just hashed, a file is hashed again: a second write in the same clock tick would not show.
        let fresh = discover(dir.path(), &marked(None)).unwrap();
        assert_eq!(fresh[0].sha256, first[0].sha256);
        std::fs::write(dir.path().join("x/y/b.xlsx"), b"secoND").unwrap(); // same size, new content
        let changed = discover(dir.path(), &settled).unwrap();
        assert_eq!(changed[0].sha256, "kept-a.xlsx");
        assert_eq!(changed[1].sha256, hash_file(&dir.path().join("x/y/b.xlsx")).unwrap().0);
        assert_ne!(changed[1].sha256, first[1].sha256);
    }

    #[cfg(unix)]
    #[test]
    fn folders_are_walked_to_any_depth_and_links_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("elsewhere.xlsx"), b"outside").unwrap();
        for (path, bytes) in [("z.xlsx", "1"), ("2023-24/a.xlsx", "2"), ("2023-24/late/b.xlsx", "3"), ("A/c.ods", "4")]
        {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, bytes).unwrap();
        }
        std::os::unix::fs::symlink(outside.path(), dir.path().join("linked-folder")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("elsewhere.xlsx"), dir.path().join("linked.xlsx")).unwrap();
        std::os::unix::fs::symlink(dir.path(), dir.path().join("2023-24/loop")).unwrap();
        let found = discover(dir.path(), &[]).unwrap();
        let sources: Vec<&str> = found.iter().map(|f| f.source_file.as_str()).collect();
        assert_eq!(sources, ["2023-24/a.xlsx", "2023-24/late/b.xlsx", "A/c.ods", "z.xlsx"], "sorted bytewise");
        assert!(found.iter().all(|f| f.path == dir.path().join(&f.source_file)));
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
