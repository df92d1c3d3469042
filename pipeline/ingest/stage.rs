//! The ingest stage: the input files found (or downloaded), hashed and classified, and kept in
//! `OUT/.bcf/ingest.json` for the stages after it.

use super::{discover_telling, from_downloads, http, Disposition, InputFile};
use crate::contract::{counts, Counts, Input, Progress};
use crate::error::RunError;
use crate::store::atomic::Durability;
use crate::store::{json, Store};

/// Finds the input files; a walked file unchanged since the last ingest keeps its hash unread.
pub fn ingest(
    input: &Input,
    store: &Store,
    http_options: &http::HttpOptions,
    progress: Option<&Progress>,
) -> Result<(Vec<InputFile>, Counts), RunError> {
    let previous: Vec<InputFile> =
        json::load(&store.ingest_path(), "it is rebuilt by the next ingest").unwrap_or_default().unwrap_or_default();
    let inputs = match input {
        Input::Folder(root) => {
            discover_telling(root, &previous, progress).map_err(RunError::io("read the input folder", root))?
        }
        Input::Manifest(url) => {
            let downloads = http::fetch_manifest_blocking(url, &store.downloads(), http_options, progress)
                .map_err(|e| RunError::Manifest { url: url.clone(), reason: e.to_string() })?;
            from_downloads(downloads)
        }
    };
    crate::store::checkpoint("during-ingest");
    if inputs != previous {
        json::save(&store.ingest_path(), &inputs, Durability::Synced)?;
    }
    tracing::info!(files = inputs.len(), "ingested");
    let counts = counts_of(&inputs);
    Ok((inputs, counts))
}

fn counts_of(inputs: &[InputFile]) -> Counts {
    let n = |f: fn(&Disposition) -> bool| inputs.iter().filter(|i| f(&i.disposition)).count();
    counts(&[
        ("files", inputs.len()),
        ("workbooks", n(|d| *d == Disposition::Workbook)),
        ("skipped", n(|d| matches!(d, Disposition::Skipped(_)))),
        ("duplicates", n(|d| matches!(d, Disposition::Duplicate(_)))),
        ("unreadable", n(|d| matches!(d, Disposition::Unreadable(_)))),
        ("download_failed", n(|d| matches!(d, Disposition::DownloadFailed(_)))),
    ])
}

/// The last ingest's files.
pub fn load(store: &Store, stage: &'static str) -> Result<Vec<InputFile>, RunError> {
    let path = store.ingest_path();
    json::load(&path, "run `bcf ingest` again")?.ok_or(RunError::MissingStage { stage, before: "ingest", path })
}
