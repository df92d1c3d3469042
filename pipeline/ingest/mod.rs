//! Ingest: find every file under the input root (or in a manifest), hash it, and decide which
//! files are workbooks to validate, which are skipped and which duplicate another (catalogue
//! §1). A file that cannot be listed or read is a row of its own, never the end of the run.

pub mod http;
pub mod stage;
mod walk;

pub use crate::workbook::{skip_reason, WORKBOOK_EXTENSIONS};
pub use walk::escape_name;

use crate::contract::{Phase, Progress};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Disposition {
    /// A workbook to validate.
    Workbook,
    /// Not a return: why.
    Skipped(String),
    /// Byte-identical to this earlier file (by source path), which is processed instead.
    Duplicate(String),
    /// Could not be listed or read: why, and what to do.
    Unreadable(String),
    /// Listed in a manifest but not downloaded: why.
    DownloadFailed(String),
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InputFile {
    /// Path relative to the input root, `/`-separated (a name that is not valid text has its
    /// other bytes as `\xNN`).
    pub source_file: String,
    #[serde(with = "os_path")]
    pub path: PathBuf,
    pub bytes: u64,
    pub sha256: String,
    pub disposition: Disposition,
    /// The file's size, times and inode when it was hashed: while they stay the same, the next
    /// ingest takes the hash from here instead of reading the file again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stat: Option<FileStat>,
}

/// Paths as JSON: text where they are text, otherwise their bytes in hex.
mod os_path {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::path::{Path, PathBuf};

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Text(String),
        Bytes { hex: String },
    }

    pub fn serialize<S: Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
        match path.to_str() {
            Some(t) => Stored::Text(t.to_string()),
            None => Stored::Bytes { hex: hex::encode(path.as_os_str().as_encoded_bytes()) },
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
        match Stored::deserialize(d)? {
            Stored::Text(t) => Ok(PathBuf::from(t)),
            Stored::Bytes { hex } => from_bytes(hex::decode(hex).map_err(serde::de::Error::custom)?),
        }
    }

    #[cfg(unix)]
    fn from_bytes<E: serde::de::Error>(bytes: Vec<u8>) -> Result<PathBuf, E> {
        use std::os::unix::ffi::OsStringExt;
        Ok(PathBuf::from(std::ffi::OsString::from_vec(bytes)))
    }

    #[cfg(not(unix))]
    fn from_bytes<E: serde::de::Error>(bytes: Vec<u8>) -> Result<PathBuf, E> {
        String::from_utf8(bytes).map(PathBuf::from).map_err(E::custom)
    }
}

/// What says a file on disk is unchanged: any write changes its ctime (which no tool can set),
/// and a file replaced by another has a new inode. Times are ns since the epoch in an `i64`
/// (years 1677 to 2262, saturating beyond).
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

/// Every file under `root`, sorted bytewise by source path, hashed and classified. A file
/// whose stat is as `previous` (the last ingest) recorded it keeps that hash unread. Only an
/// unreadable `root` is an error.
pub fn discover(root: &Path, previous: &[InputFile]) -> io::Result<Vec<InputFile>> {
    discover_telling(root, previous, None)
}

/// [`discover`], telling `progress` of each file hashed.
pub fn discover_telling(
    root: &Path,
    previous: &[InputFile],
    progress: Option<&Progress>,
) -> io::Result<Vec<InputFile>> {
    let known: HashMap<&str, &InputFile> = previous.iter().map(|f| (f.source_file.as_str(), f)).collect();
    let found = walk::walk(root, "", &known)?;
    let mut files = Vec::with_capacity(found.len());
    let mut new = Vec::new();
    for f in found {
        match f {
            walk::Found::Unchanged(file) | walk::Found::Other(file) => files.push(file),
            walk::Found::New { source_file, path } => new.push((source_file, path)),
        }
    }
    let (done, total) = (AtomicU64::new(0), new.len() as u64);
    files.par_extend(new.into_par_iter().map(|(source_file, path)| {
        let file = hashed(source_file, path);
        if let Some(p) = progress {
            p.step(Phase::Hashing, &done, total);
        }
        file
    }));
    Ok(classify(files))
}

/// A new or changed file, hashed; one that cannot be read says why.
fn hashed(source_file: String, path: PathBuf) -> InputFile {
    let hashed_at_ns = now_ns();
    let read = File::open(&path).and_then(|mut file| {
        let meta = file.metadata()?;
        let stat = FileStat::of(&meta).map(|s| FileStat { hashed_at_ns, ..s });
        let (sha256, bytes) = hash_reader(&mut file)?;
        Ok((sha256, bytes, stat))
    });
    let (sha256, bytes, stat, disposition) = match read {
        Ok((sha256, bytes, stat)) => (sha256, bytes, stat, Disposition::Workbook),
        Err(e) => (String::new(), 0, None, Disposition::Unreadable(unreadable_reason(&e))),
    };
    InputFile { source_file, path, bytes, sha256, disposition, stat }
}

/// Why a file could not be read, in terms of what to do about it.
pub fn unreadable_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => {
            "the file disappeared while bcf was reading it (moved, or a temporary file): if it was replaced, run again"
                .into()
        }
        io::ErrorKind::PermissionDenied => {
            "the file cannot be read (permission denied): make it readable to the account bcf runs as, then run again"
                .into()
        }
        _ => format!("the file cannot be read ({e}): copy it into the input folder again and run again"),
    }
}

/// The files of a manifest, downloaded: the manifest's `path` is the source file, so the
/// outputs equal those of a folder run over the same files.
pub fn from_downloads(downloads: Vec<http::Downloaded>) -> Vec<InputFile> {
    let files = downloads
        .into_iter()
        .map(|d| {
            let (path, bytes, sha256, disposition) = match d.outcome {
                http::DownloadOutcome::Stored { local, sha256, bytes, .. } => {
                    (local, bytes, sha256, Disposition::Workbook)
                }
                http::DownloadOutcome::Failed { reason } => {
                    (PathBuf::new(), 0, String::new(), Disposition::DownloadFailed(reason))
                }
            };
            InputFile { source_file: d.path, path, bytes, sha256, disposition, stat: None }
        })
        .collect();
    classify(files)
}

/// Sorts by source path (bytewise) and decides skipped and duplicate files (catalogue §1).
fn classify(mut files: Vec<InputFile>) -> Vec<InputFile> {
    files.sort_by(|a, b| a.source_file.as_bytes().cmp(b.source_file.as_bytes()));
    let mut first_by_hash: HashMap<String, String> = HashMap::with_capacity(files.len());
    for f in &mut files {
        // A folder's row (`name/`) is judged by what happened to it, not by a file name.
        let folder = f.source_file.ends_with('/');
        let name = f.source_file.rsplit('/').next().unwrap_or_default();
        let skip = skip_reason(name).filter(|_| !folder);
        match (&f.disposition, skip) {
            (Disposition::Workbook | Disposition::Unreadable(_), Some(reason)) => {
                f.disposition = Disposition::Skipped(reason)
            }
            (Disposition::Workbook, None) => {
                if let Some(first) = first_by_hash.get(&f.sha256) {
                    f.disposition = Disposition::Duplicate(first.clone());
                } else {
                    first_by_hash.insert(f.sha256.clone(), f.source_file.clone());
                }
            }
            _ => {}
        }
    }
    files
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
    }

    #[cfg(unix)]
    #[test]
    fn links_pipes_and_odd_names_are_rows_and_never_followed() {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;
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
        std::fs::write(dir.path().join(OsStr::from_bytes(b"Caf\xe9.xlsx")), b"5").unwrap();
        let fifo = dir.path().join("pipe.xlsx");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let found = discover(dir.path(), &[]).unwrap();
        let rows: Vec<(&str, &str)> = found
            .iter()
            .map(|f| {
                let kind = match &f.disposition {
                    Disposition::Workbook => "workbook",
                    Disposition::Skipped(_) => "skipped",
                    Disposition::Unreadable(_) => "unreadable",
                    _ => "other",
                };
                (f.source_file.as_str(), kind)
            })
            .collect();
        assert_eq!(
            rows,
            [
                ("2023-24/a.xlsx", "workbook"),
                ("2023-24/late/b.xlsx", "workbook"),
                ("2023-24/loop", "skipped"),
                ("A/c.ods", "workbook"),
                ("Caf\\xE9.xlsx", "unreadable"),
                ("linked-folder", "skipped"),
                ("linked.xlsx", "skipped"),
                ("pipe.xlsx", "skipped"),
                ("z.xlsx", "workbook"),
            ],
            "sorted bytewise, one row each"
        );
        let json = serde_json::to_string(&found).unwrap();
        let back: Vec<InputFile> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, found, "raw names survive ingest.json");
    }

    #[test]
    fn a_lock_file_that_vanishes_before_it_is_read_is_still_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let gone = hashed("2023-25/~$Kent.xlsx".into(), dir.path().join("~$Kent.xlsx"));
        assert!(matches!(&gone.disposition, Disposition::Unreadable(m) if m.contains("disappeared")));
        let vanished = hashed("2023-25/Kent.xlsx".into(), dir.path().join("Kent.xlsx"));
        let files = classify(vec![gone, vanished]);
        assert!(
            matches!(&files[0].disposition, Disposition::Unreadable(_)),
            "a return that vanished is a row that says so"
        );
        assert!(matches!(&files[1].disposition, Disposition::Skipped(m) if m.contains("lock file")));
    }

    #[cfg(unix)]
    #[test]
    fn a_file_that_cannot_be_read_is_a_row_that_says_so() {
        use std::os::unix::fs::PermissionsExt;
        if running_as_root() {
            return; // root reads any file
        }
        let dir = tempfile::tempdir().unwrap();
        let locked = dir.path().join("locked.xlsx");
        std::fs::write(&locked, b"x").unwrap();
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
        let found = discover(dir.path(), &[]).unwrap();
        assert!(matches!(&found[0].disposition, Disposition::Unreadable(m) if m.contains("permission denied")));
    }

    #[cfg(unix)]
    fn running_as_root() -> bool {
        std::fs::read_to_string("/proc/self/status")
            .map(|s| s.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0")))
            .unwrap_or(false)
    }
}
