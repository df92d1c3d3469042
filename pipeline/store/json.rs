//! Stage results and bookkeeping as JSON files: written atomically, read back with an error
//! that names the file and says how to recover when it is damaged.

use super::atomic::{write_atomic, Durability};
use crate::error::RunError;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::io::{self, Write};
use std::path::Path;

/// Writes `value` to `path` as JSON, atomically.
pub fn save<T: Serialize>(path: &Path, value: &T, durability: Durability) -> Result<(), RunError> {
    write_atomic(path, durability, |w| serde_json::to_writer(w, value).map_err(io::Error::other))
        .map_err(RunError::io("write", path))
}

/// Room kept after a record (as white space, which JSON ignores), so a longer record can be
/// written over it in place when the disk is full.
pub const ROOM: usize = 16 * 1024;

/// [`save`] with [`ROOM`] bytes of white space after the JSON.
pub fn save_with_room<T: Serialize>(path: &Path, value: &T, durability: Durability) -> Result<(), RunError> {
    write_atomic(path, durability, |w| {
        serde_json::to_writer(&mut *w, value).map_err(io::Error::other)?;
        w.write_all(&[b' '; ROOM])?;
        w.write_all(b"\n")
    })
    .map_err(RunError::io("write", path))
}

/// Writes `value` over the file at `path` in place, padded to the file's old length, so no new
/// block of the disk is needed when the new JSON fits in the old file (with its room).
pub fn overwrite_in_place<T: Serialize>(path: &Path, value: &T) -> io::Result<()> {
    let mut json = serde_json::to_vec(value).map_err(io::Error::other)?;
    let mut file = std::fs::OpenOptions::new().write(true).open(path)?;
    let old = file.metadata()?.len() as usize;
    if json.len() > old {
        return Err(io::Error::new(io::ErrorKind::StorageFull, "the record is longer than the room kept for it"));
    }
    json.resize(old, b' ');
    file.write_all(&json)?;
    file.sync_all()
}

/// Reads `path`; `Ok(None)` when it does not exist. A file that does not parse is
/// [`RunError::Damaged`], with `remedy` as the advice.
pub fn load<T: DeserializeOwned>(path: &Path, remedy: &str) -> Result<Option<T>, RunError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(RunError::io("read", path)(e)),
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| RunError::Damaged {
        path: path.to_path_buf(),
        detail: e.to_string(),
        remedy: remedy.to_string(),
    })
}
