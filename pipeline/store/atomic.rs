//! Files that appear whole or not at all. A file is written under a temporary name that says
//! it is bcf's and whose process made it (`.<name>.bcf-tmp-<pid>-<n>`), then renamed; the next
//! command removes temporary files a killed one left.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// What every temporary name bcf makes contains.
pub const TMP_MARK: &str = ".bcf-tmp-";

/// Whether to wait for the disk before the rename: a synced file survives a power cut whole;
/// any file survives a killed process whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    Synced,
    Unsynced,
}

/// A temporary name beside `path`, unique to this process and call.
pub fn temp_path(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}{TMP_MARK}{}-{n}", std::process::id()))
}

/// Writes `path` through a temporary file and a rename, so readers see the old file or the
/// whole new one. The temporary file is removed if writing fails.
pub fn write_atomic(
    path: &Path,
    durability: Durability,
    fill: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>,
) -> io::Result<()> {
    let tmp = temp_path(path);
    let result = write_then_rename(&tmp, path, durability, fill);
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn write_then_rename(
    tmp: &Path,
    path: &Path,
    durability: Durability,
    fill: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>,
) -> io::Result<()> {
    let mut w = BufWriter::new(File::create(tmp)?);
    fill(&mut w)?;
    let file = w.into_inner().map_err(|e| e.into_error())?;
    if durability == Durability::Synced {
        file.sync_all()?;
    }
    drop(file);
    std::fs::rename(tmp, path)
}

/// [`write_atomic`] of bytes.
pub fn write_bytes_atomic(path: &Path, bytes: &[u8], durability: Durability) -> io::Result<()> {
    write_atomic(path, durability, |w| w.write_all(bytes))
}

/// Removes the temporary files that killed commands left directly in `dir` (never following
/// a link); how many.
pub fn remove_stray_temps(dir: &Path) -> io::Result<usize> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    for entry in rd {
        let entry = entry?;
        let ours = entry.file_name().to_str().is_some_and(|n| n.starts_with('.') && n.contains(TMP_MARK));
        if ours && !entry.file_type()?.is_dir() {
            std::fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Puts a file's data and metadata on disk.
pub fn sync_file(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_all()
}

/// Syncs a folder, so the names created or renamed in it survive a power cut.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Syncs many files, up to 32 at a time: their waits for the disk overlap (a publish holds a
/// page per area, about 150 small files). The threads need little stack; where one cannot be
/// started (a process short of memory), its files are synced on this thread.
pub fn sync_files(paths: &[PathBuf]) -> io::Result<()> {
    const AT_ONCE: usize = 32;
    let per_thread = paths.len().div_ceil(AT_ONCE).max(1);
    let sync_all = |chunk: &[PathBuf]| chunk.iter().try_for_each(|p| sync_file(p));
    std::thread::scope(|scope| {
        let mut workers = Vec::new();
        for chunk in paths.chunks(per_thread) {
            match std::thread::Builder::new().stack_size(64 * 1024).spawn_scoped(scope, move || sync_all(chunk)) {
                Ok(worker) => workers.push(worker),
                Err(_) => sync_all(chunk)?,
            }
        }
        workers
            .into_iter()
            .try_for_each(|w| w.join().unwrap_or_else(|_| Err(io::Error::other("a sync thread panicked"))))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_no_file_and_strays_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.json");
        write_bytes_atomic(&path, b"old", Durability::Synced).unwrap();
        let failed = write_atomic(&path, Durability::Unsynced, |w| {
            w.write_all(b"half")?;
            Err(io::Error::other("disk full"))
        });
        assert!(failed.is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file is left");
        std::fs::write(temp_path(&path), b"killed mid-write").unwrap();
        std::fs::write(dir.path().join(".notes.txt"), b"a person's").unwrap();
        assert_eq!(remove_stray_temps(dir.path()).unwrap(), 1);
        assert!(dir.path().join(".notes.txt").exists(), "only bcf's temporary names are removed");
    }
}
