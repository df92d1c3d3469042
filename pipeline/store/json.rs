//! Stage results and bookkeeping as JSON files: written atomically, read back with an error
//! that names the file and says how to recover when it is damaged.

use super::atomic::{write_atomic, Durability};
use crate::error::RunError;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::io;
use std::path::Path;

/// Writes `value` to `path` as JSON, atomically.
pub fn save<T: Serialize>(path: &Path, value: &T, durability: Durability) -> Result<(), RunError> {
    write_atomic(path, durability, |w| serde_json::to_writer(w, value).map_err(io::Error::other))
        .map_err(RunError::io("write", path))
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
