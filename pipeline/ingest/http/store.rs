//! The local content-addressed store of downloaded bodies, and the index of what each URL
//! last returned (for conditional requests).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexEntry {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub sha256: String,
    pub bytes: u64,
}

pub type Index = BTreeMap<String, IndexEntry>;

pub struct Store {
    pub root: PathBuf,
    pub objects: PathBuf,
    pub tmp: PathBuf,
    pub index: PathBuf,
}

impl Store {
    pub fn new(root: &Path) -> Store {
        Store {
            root: root.to_path_buf(),
            objects: root.join("objects"),
            tmp: root.join("tmp"),
            index: root.join("index.json"),
        }
    }

    pub fn object(&self, sha256: &str) -> PathBuf {
        self.objects.join(sha256)
    }

    pub fn temp_path(&self, suffix: &str) -> PathBuf {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        self.tmp.join(format!("{}-{n}-{nanos:09}.{suffix}", std::process::id()))
    }

    /// The index, or an empty one when it is missing or unreadable.
    pub async fn load_index(&self) -> Index {
        match tokio::fs::read(&self.index).await {
            Ok(raw) => match serde_json::from_slice(&raw) {
                Ok(index) => index,
                Err(e) => {
                    tracing::warn!(path = %self.index.display(), error = %e, "ignoring unreadable download index");
                    Index::new()
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Index::new(),
            Err(e) => {
                tracing::warn!(path = %self.index.display(), error = %e, "ignoring unreadable download index");
                Index::new()
            }
        }
    }

    /// Write the index atomically: a temp file in `tmp/`, then a rename.
    pub async fn write_index(&self, index: &Index) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(index).map_err(std::io::Error::other)?;
        let mut temp = TempFile::create(self.temp_path("index")).await?;
        temp.file.write_all(&json).await?;
        temp.file.flush().await?;
        temp.file.sync_all().await?;
        temp.persist(&self.index).await
    }

    /// Whether the object for `entry` is present with the recorded size.
    pub async fn has_object(&self, entry: &IndexEntry) -> bool {
        match tokio::fs::metadata(self.object(&entry.sha256)).await {
            Ok(meta) => meta.is_file() && meta.len() == entry.bytes,
            Err(_) => false,
        }
    }
}

/// A file in `tmp/` that is removed on drop unless it was persisted.
pub struct TempFile {
    path: PathBuf,
    pub file: tokio::fs::File,
    persisted: bool,
}

impl TempFile {
    pub async fn create(path: PathBuf) -> std::io::Result<TempFile> {
        let file = tokio::fs::OpenOptions::new().write(true).create_new(true).open(&path).await?;
        Ok(TempFile { path, file, persisted: false })
    }

    pub async fn persist(mut self, to: &Path) -> std::io::Result<()> {
        tokio::fs::rename(&self.path, to).await?;
        self.persisted = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.persisted {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}
