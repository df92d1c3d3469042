//! Publishing: each publish is a folder of its own under `OUT/snapshots/`, made visible in one
//! step by swapping the `OUT/current` link.
//!
//! ```text
//! OUT/current -> snapshots/000007     what readers open (swapped by rename: atomic)
//! OUT/snapshots/000007/…              one publish, never changed once visible
//! OUT/.bcf/staging/…                  the next publish, being written
//! OUT/.bcf/publish.json               the journal of a publish in progress
//! OUT/.bcf/published.json             every snapshot bcf keeps, with the files it wrote there
//! ```
//!
//! The staging folder is filled and synced, the journal written, then the staging folder is
//! renamed to its snapshot's name, the link swapped, and `published.json` updated. A command
//! killed at any point leaves `OUT/current` on the old snapshot or the new one, each whole;
//! the next command finds the journal and finishes the publish. A reader that resolves
//! `OUT/current` once sees one publish only, and keeps it readable while the last `keep`
//! publishes are kept. bcf removes only the files it listed as written into a snapshot.

use super::atomic::{self, Durability};
use super::json;
use crate::error::RunError;
use serde::{Deserialize, Serialize};
use std::io;
use std::path::{Path, PathBuf};

/// One published snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Its folder's name under `OUT/snapshots/`, e.g. `000007`.
    pub id: String,
    /// The run that published it (as in `run.json`).
    pub run_id: String,
    /// What its outputs were made from; `None` when they may change for the same inputs.
    pub fingerprint: Option<String>,
    /// Every file bcf wrote into it, relative and `/`-separated.
    pub files: Vec<String>,
}

/// `OUT/.bcf/published.json`: the snapshots bcf keeps, oldest first; the last is current.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    pub snapshots: Vec<Snapshot>,
}

impl Published {
    pub fn current(&self) -> Option<&Snapshot> {
        self.snapshots.last()
    }

    /// The id the next snapshot takes.
    fn next_id(&self, snapshots_dir: &Path) -> String {
        let on_disk = std::fs::read_dir(snapshots_dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u64>().ok()));
        let listed = self.snapshots.iter().filter_map(|s| s.id.parse::<u64>().ok());
        format!("{:06}", on_disk.chain(listed).max().map_or(1, |n| n + 1))
    }
}

/// Paths of the publishing machinery under one output folder.
#[derive(Debug, Clone)]
pub struct Layout {
    pub out: PathBuf,
    pub state: PathBuf,
}

impl Layout {
    pub fn staging(&self) -> PathBuf {
        self.state.join("staging")
    }
    pub fn snapshots(&self) -> PathBuf {
        self.out.join("snapshots")
    }
    /// The id the next publish will take (see [`publish`]).
    pub fn next_snapshot_id(&self) -> Result<String, RunError> {
        Ok(self.published()?.next_id(&self.snapshots()))
    }

    pub fn current_link(&self) -> PathBuf {
        self.out.join("current")
    }
    fn journal(&self) -> PathBuf {
        self.state.join("publish.json")
    }
    fn published_path(&self) -> PathBuf {
        self.state.join("published.json")
    }

    pub fn published(&self) -> Result<Published, RunError> {
        let remedy = format!(
            "bcf will keep every snapshot it can no longer account for: delete {} and run again to publish afresh",
            self.published_path().display()
        );
        Ok(json::load(&self.published_path(), &remedy)?.unwrap_or_default())
    }

    /// The folder `OUT/current` points at, if any.
    pub fn current_dir(&self) -> Option<PathBuf> {
        let target = std::fs::read_link(self.current_link()).ok()?;
        let dir = self.out.join(target);
        dir.is_dir().then_some(dir)
    }
}

/// A publish in progress: what the next command finishes if this one is killed.
#[derive(Debug, Serialize, Deserialize)]
struct Journal {
    snapshot: Snapshot,
}

/// Files under `dir`, relative and `/`-separated, sorted (links are not followed).
pub fn list_files(dir: &Path) -> io::Result<Vec<String>> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> io::Result<()> {
        for e in std::fs::read_dir(dir)? {
            let e = e?;
            let path = e.path();
            if e.file_type()?.is_dir() {
                walk(root, &path, out)?;
            } else {
                let rel = path.strip_prefix(root).unwrap_or(&path);
                out.push(rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out)?;
    out.sort();
    Ok(out)
}

/// Publishes the staging folder as the next snapshot and keeps the newest `keep`.
pub fn publish(layout: &Layout, run_id: &str, fingerprint: Option<String>, keep: usize) -> Result<Snapshot, RunError> {
    let staging = layout.staging();
    let files = list_files(&staging).map_err(RunError::io("list", &staging))?;
    let paths: Vec<PathBuf> = files.iter().map(|f| staging.join(f)).collect();
    atomic::sync_files(&paths).map_err(RunError::io("sync the outputs in", &staging))?;
    let published = layout.published()?;
    let id = published.next_id(&layout.snapshots());
    let snapshot = Snapshot { id, run_id: run_id.to_string(), fingerprint, files };
    json::save(&layout.journal(), &Journal { snapshot: snapshot.clone() }, Durability::Synced)?;
    roll_forward(layout, published, snapshot.clone())?;
    prune(layout, keep)?;
    Ok(snapshot)
}

/// Finishes a publish a killed command left half done; whether there was one.
pub fn recover(layout: &Layout) -> Result<bool, RunError> {
    let remedy = format!(
        "{} still points at the last whole publish; delete the damaged file and run again",
        layout.current_link().display()
    );
    let Some(journal) = json::load::<Journal>(&layout.journal(), &remedy)? else {
        return Ok(false);
    };
    roll_forward(layout, layout.published()?, journal.snapshot)?;
    Ok(true)
}

fn roll_forward(layout: &Layout, mut published: Published, snapshot: Snapshot) -> Result<(), RunError> {
    let dir = layout.snapshots().join(&snapshot.id);
    if !dir.exists() {
        super::guard::real_dir_or_create(&layout.snapshots())?;
        std::fs::rename(layout.staging(), &dir).map_err(RunError::io("move the staged outputs to", &dir))?;
        atomic::sync_dir(&layout.snapshots()).map_err(RunError::io("sync", layout.snapshots()))?;
    }
    crate::store::checkpoint("during-publish");
    swap_current(layout, &snapshot.id)?;
    crate::store::checkpoint("during-publish-after-swap");
    published.snapshots.retain(|s| s.id != snapshot.id);
    published.snapshots.push(snapshot);
    json::save(&layout.published_path(), &published, Durability::Synced)?;
    std::fs::remove_file(layout.journal()).map_err(RunError::io("remove", layout.journal()))
}

/// Points `OUT/current` at `snapshots/<id>` in one rename.
fn swap_current(layout: &Layout, id: &str) -> Result<(), RunError> {
    let link = layout.current_link();
    if let Ok(meta) = std::fs::symlink_metadata(&link) {
        if !meta.file_type().is_symlink() {
            return Err(RunError::Refused(format!(
                "{} is not the link bcf makes to its latest outputs; move it away and run again",
                link.display()
            )));
        }
    }
    let tmp = atomic::temp_path(&link);
    let target = Path::new("snapshots").join(id);
    make_link(&target, &tmp).map_err(RunError::io("create the link", &tmp))?;
    std::fs::rename(&tmp, &link).map_err(RunError::io("replace", &link))?;
    atomic::sync_dir(&layout.out).map_err(RunError::io("sync", &layout.out))
}

#[cfg(unix)]
fn make_link(target: &Path, at: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(target, at)
}

#[cfg(not(unix))]
fn make_link(_target: &Path, _at: &Path) -> io::Result<()> {
    Err(io::Error::other("snapshot publishing needs symbolic links"))
}

/// Removes all but the newest `keep` snapshots (never the current one): only the files bcf
/// listed as written there, then the folders they leave empty.
pub fn prune(layout: &Layout, keep: usize) -> Result<(), RunError> {
    let mut published = layout.published()?;
    let excess = published.snapshots.len().saturating_sub(keep.max(1));
    if excess == 0 {
        return Ok(());
    }
    let old: Vec<Snapshot> = published.snapshots.drain(..excess).collect();
    // Forgotten first: a kill midway leaves files bcf no longer claims, never claims on files gone.
    json::save(&layout.published_path(), &published, Durability::Synced)?;
    for s in old {
        remove_snapshot(&layout.snapshots(), &s)
            .map_err(RunError::io("remove the old snapshot", layout.snapshots().join(&s.id)))?;
    }
    Ok(())
}

fn remove_snapshot(snapshots: &Path, s: &Snapshot) -> io::Result<()> {
    let root = snapshots.join(&s.id);
    if !super::guard::is_real_dir(&root) {
        return Ok(()); // gone, or replaced by something bcf did not make
    }
    let mut folders = std::collections::BTreeSet::new();
    for rel in &s.files {
        let path = root.join(rel);
        if !super::guard::parents_are_real_dirs(&root, rel) {
            continue;
        }
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let mut dir = Path::new(rel).parent();
        while let Some(d) = dir.filter(|d| !d.as_os_str().is_empty()) {
            folders.insert(d.to_path_buf());
            dir = d.parent();
        }
    }
    // Deepest first; a folder that still holds something (a person's file) stays.
    for d in folders.iter().rev() {
        let _ = std::fs::remove_dir(root.join(d));
    }
    let _ = std::fs::remove_dir(&root);
    Ok(())
}
