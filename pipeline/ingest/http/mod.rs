//! HTTP(S) ingest of BCF returns listed in a manifest.
//!
//! A submission server publishes a manifest JSON such as
//! `{"files": [{"path": "2023-25/Kent.xlsx", "sha256": "…", "bytes": 123}]}`.
//! [`fetch_manifest`] fetches it, resolves every `path` against the manifest's
//! URL and downloads each file into a local content-addressed store:
//!
//! ```text
//! store_dir/
//!   objects/<sha256>   one file per distinct body, named by its SHA-256
//!   tmp/               bodies being streamed (removed or renamed when done)
//!   index.json         file URL -> {etag, last_modified, sha256, bytes}
//! ```
//!
//! Every download (send, stream, hash, persist) is one attempt inside a retry
//! with exponential backoff and jitter (`backon`). Transient failures
//! (connection errors, connect/read/total timeouts, a body slower than the
//! low-speed limit, 408, 429, 5xx and bodies shorter than their
//! `Content-Length`) are retried; everything else is final. `index.json` lets
//! a later call send `If-None-Match` / `If-Modified-Since`, so unchanged files
//! come back as `Stored { not_modified: true, .. }` from a `304` without a body.
//!
//! Requests stay where they were sent: a redirect is followed only to the
//! manifest's own origin (scheme, host and port), so never from https to
//! http and never to another host; manifest paths that would leave the
//! manifest's folder are refused without a request. The manifest is read as a
//! stream with a cap on its size and on its entries, and a path listed twice
//! is an error on the repeated entry.
//!
//! TLS uses rustls with the `ring` provider: [`fetch_manifest`] installs it
//! itself, and [`install_crypto_provider`] is public for callers that build
//! their own reqwest clients.

mod download;
mod manifest;
mod retry;
mod store;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::contract::{Phase, Progress};
use futures_util::stream::{self, StreamExt};
use reqwest::Url;
use serde::{Deserialize, Serialize};

/// Tuning for [`fetch_manifest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpOptions {
    /// Files downloaded at once (values below 1 are treated as 1).
    pub concurrency: usize,
    /// Limit on establishing a TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// Limit on waiting for the next piece of the response (headers or body).
    pub read_timeout: Duration,
    /// Limit on one whole attempt: request, body, hashing and persisting.
    pub total_timeout: Duration,
    /// Retries after the first attempt (so `max_retries + 1` attempts at most).
    pub max_retries: u32,
    /// Delay before the first retry; doubled (with jitter) each time.
    pub initial_backoff: Duration,
    /// Cap on any delay between attempts, `Retry-After` included.
    pub max_backoff: Duration,
    /// Largest body accepted; a larger one fails the file without retry.
    pub max_file_bytes: u64,
    /// A body that brings fewer than this many bytes in any `low_speed_window` is cut off
    /// (a server trickling a byte at a time never trips the read timeout).
    pub low_speed_bytes: u64,
    pub low_speed_window: Duration,
    /// Most files a manifest may list.
    pub max_manifest_entries: usize,
    /// Largest manifest accepted.
    pub max_manifest_bytes: u64,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            concurrency: 8,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            total_timeout: Duration::from_secs(300),
            max_retries: 4,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_file_bytes: 256 * 1024 * 1024,
            low_speed_bytes: 1024,
            low_speed_window: Duration::from_secs(30),
            max_manifest_entries: 10_000,
            max_manifest_bytes: 16 * 1024 * 1024,
        }
    }
}

/// One file listed in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// Path relative to the manifest's URL, e.g. `2023-25/Kent.xlsx`.
    pub path: String,
    /// Expected SHA-256 of the body (hex, any case).
    #[serde(default)]
    pub sha256: Option<String>,
    /// Expected size of the body in bytes.
    #[serde(default)]
    pub bytes: Option<u64>,
}

/// What became of one manifest entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownloadOutcome {
    /// The body is in the store at `local` (`store_dir/objects/<sha256>`).
    Stored {
        local: PathBuf,
        sha256: String,
        bytes: u64,
        /// True when the server answered `304 Not Modified` and the stored copy was kept.
        not_modified: bool,
    },
    /// The file could not be fetched; `reason` is meant for people.
    Failed { reason: String },
}

/// The result for one manifest entry, in manifest order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    /// The entry's `path` as written in the manifest.
    pub path: String,
    /// The URL it resolved to (empty when the path was refused).
    pub url: String,
    /// Requests made for this file (0 when none was made).
    pub attempts: u32,
    pub outcome: DownloadOutcome,
}

/// Errors that stop a whole [`fetch_manifest`] call.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("invalid manifest URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("could not build the HTTP client: {0}")]
    Client(String),
    #[error("could not fetch the manifest {url}: {reason}")]
    ManifestFetch { url: String, reason: String },
    #[error("could not parse the manifest {url}: {reason}")]
    ManifestParse { url: String, reason: String },
    #[error("could not prepare the store at {path}: {source}")]
    Store {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("fetch_manifest_blocking: {0}")]
    Runtime(String),
}

/// Install rustls' `ring` crypto provider as the process default.
///
/// Idempotent: when a provider is already installed (by this function or
/// anyone else) it does nothing.
pub fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race with another installer is fine: some provider is set.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// Fetch the manifest at `manifest_url` and download every file it lists into
/// the content-addressed store at `store_dir`.
///
/// Results come back in manifest order. `Err` only when the manifest itself
/// cannot be fetched (after retries) or parsed, or when the store directories
/// cannot be created; a failing file is an `Ok` entry with
/// [`DownloadOutcome::Failed`].
pub async fn fetch_manifest(
    manifest_url: &str,
    store_dir: &Path,
    opts: &HttpOptions,
) -> Result<Vec<Downloaded>, HttpError> {
    fetch_manifest_telling(manifest_url, store_dir, opts, None).await
}

/// [`fetch_manifest`], telling `progress` of each file downloaded (or failed).
pub async fn fetch_manifest_telling(
    manifest_url: &str,
    store_dir: &Path,
    opts: &HttpOptions,
    progress: Option<&Progress>,
) -> Result<Vec<Downloaded>, HttpError> {
    install_crypto_provider();
    let base = Url::parse(manifest_url)
        .map_err(|e| HttpError::InvalidUrl { url: manifest_url.to_string(), reason: e.to_string() })?;
    if base.scheme() != "http" && base.scheme() != "https" {
        return Err(HttpError::InvalidUrl {
            url: manifest_url.to_string(),
            reason: format!("scheme {:?} is not http or https", base.scheme()),
        });
    }
    let client = client(opts, &base)?;
    let store = store::Store::new(store_dir);
    for dir in [&store.root, &store.objects, &store.tmp] {
        tokio::fs::create_dir_all(dir).await.map_err(|source| HttpError::Store { path: dir.clone(), source })?;
    }
    let entries = manifest::fetch(&client, &base, opts).await?;
    tracing::info!(url = %base, files = entries.len(), "fetched manifest");
    let index = store.load_index().await;
    let ctx = download::Ctx { client: &client, opts, store: &store, index: &index, base: &base };
    let entries = manifest::once_each(entries);
    let (done, total) = (std::sync::atomic::AtomicU64::new(0), entries.len() as u64);
    let results: Vec<(Downloaded, Option<(String, store::IndexEntry)>)> = stream::iter(entries)
        .map(|entry| download::entry(&ctx, entry))
        .buffered(opts.concurrency.max(1))
        .inspect(|_| {
            if let Some(p) = progress {
                p.step(Phase::Downloading, &done, total);
            }
        })
        .collect()
        .await;
    let mut new_index = index.clone();
    let mut out = Vec::with_capacity(results.len());
    for (downloaded, update) in results {
        if let Some((url, entry)) = update {
            new_index.insert(url, entry);
        }
        out.push(downloaded);
    }
    if new_index != index {
        if let Err(e) = store.write_index(&new_index).await {
            tracing::error!(path = %store.index.display(), error = %e, "could not write the download index");
        }
    }
    Ok(out)
}

/// The HTTP client: timeouts, and redirects followed only within the manifest's origin.
fn client(opts: &HttpOptions, base: &Url) -> Result<reqwest::Client, HttpError> {
    let origin = base.origin();
    let policy = reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= 5 {
            return attempt.error("more than 5 redirects");
        }
        if attempt.url().origin() != origin {
            let to = attempt.url().origin().ascii_serialization();
            return attempt
                .error(format!("the server redirected to {to}, another host or scheme, which bcf does not follow"));
        }
        attempt.follow()
    });
    reqwest::Client::builder()
        .connect_timeout(opts.connect_timeout)
        .read_timeout(opts.read_timeout)
        .redirect(policy)
        .build()
        .map_err(|e| HttpError::Client(retry::error_chain(&e)))
}

/// [`fetch_manifest`] on a fresh single-threaded tokio runtime, for callers
/// without one. Returns `Err(HttpError::Runtime)` when called from inside a
/// tokio runtime (use the async function there).
pub fn fetch_manifest_blocking(
    manifest_url: &str,
    store_dir: &Path,
    opts: &HttpOptions,
    progress: Option<&Progress>,
) -> Result<Vec<Downloaded>, HttpError> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(HttpError::Runtime("called from inside a tokio runtime; await fetch_manifest instead".to_string()));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| HttpError::Runtime(format!("could not start a tokio runtime: {e}")))?;
    rt.block_on(fetch_manifest_telling(manifest_url, store_dir, opts, progress))
}

#[cfg(test)]
mod tests {
    use super::retry::{fmt_bytes, fmt_duration};
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(fmt_bytes(256 * 1024 * 1024), "256 MiB");
        assert_eq!(fmt_bytes(1024), "1 KiB");
        assert_eq!(fmt_bytes(1000), "1000 bytes");
        assert_eq!(fmt_duration(Duration::from_millis(300)), "300 ms");
        assert_eq!(fmt_duration(Duration::from_secs(30)), "30 s");
        assert_eq!(fmt_duration(Duration::from_millis(1500)), "1.5 s");
    }

    #[test]
    fn the_defaults_cut_a_trickle_within_a_minute_and_cap_the_manifest() {
        let o = HttpOptions::default();
        // A body of one byte a second brings 30 bytes in the window: under the limit.
        assert!(o.low_speed_window <= Duration::from_secs(60) && o.low_speed_bytes > o.low_speed_window.as_secs());
        assert_eq!(o.max_manifest_entries, 10_000);
        install_crypto_provider();
        install_crypto_provider();
        assert!(rustls::crypto::CryptoProvider::get_default().is_some());
    }
}
