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
//! (connection errors, connect/read/total timeouts, 408, 429, 5xx and bodies
//! shorter than their `Content-Length`) are retried; everything else is final.
//! `index.json` lets a later call send `If-None-Match` / `If-Modified-Since`,
//! so unchanged files come back as `Stored { not_modified: true, .. }` from a
//! `304` without a body.
//!
//! TLS uses rustls with the `ring` provider: [`fetch_manifest`] installs it
//! itself, and [`install_crypto_provider`] is public for callers that build
//! their own reqwest clients.

use std::collections::BTreeMap;
use std::error::Error as StdError;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use backon::{ExponentialBuilder, Retryable};
use futures_util::stream::{self, StreamExt};
use reqwest::header::{
    HeaderMap, HeaderValue, CONTENT_LENGTH, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, RETRY_AFTER,
};
use reqwest::{StatusCode, Url};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

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

#[derive(Debug, Deserialize)]
struct Manifest {
    files: Vec<ManifestEntry>,
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
    install_crypto_provider();
    let base = Url::parse(manifest_url)
        .map_err(|e| HttpError::InvalidUrl { url: manifest_url.to_string(), reason: e.to_string() })?;
    if base.scheme() != "http" && base.scheme() != "https" {
        return Err(HttpError::InvalidUrl {
            url: manifest_url.to_string(),
            reason: format!("scheme {:?} is not http or https", base.scheme()),
        });
    }
    let client = reqwest::Client::builder()
        .connect_timeout(opts.connect_timeout)
        .read_timeout(opts.read_timeout)
        .build()
        .map_err(|e| HttpError::Client(error_chain(&e)))?;

    let store = Store::new(store_dir);
    for dir in [&store.root, &store.objects, &store.tmp] {
        tokio::fs::create_dir_all(dir).await.map_err(|source| HttpError::Store { path: dir.clone(), source })?;
    }

    let manifest = fetch_manifest_body(&client, &base, opts).await?;
    let manifest: Manifest = serde_json::from_slice(&manifest)
        .map_err(|e| HttpError::ManifestParse { url: base.to_string(), reason: e.to_string() })?;
    tracing::info!(url = %base, files = manifest.files.len(), "fetched manifest");

    let index = store.load_index().await;
    let ctx = Ctx { client: &client, opts, store: &store, index: &index, base: &base };
    let results: Vec<(Downloaded, Option<(String, IndexEntry)>)> = stream::iter(manifest.files)
        .map(|entry| download_entry(&ctx, entry))
        .buffered(opts.concurrency.max(1))
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

/// [`fetch_manifest`] on a fresh single-threaded tokio runtime, for callers
/// without one. Returns `Err(HttpError::Runtime)` when called from inside a
/// tokio runtime (use the async function there).
pub fn fetch_manifest_blocking(
    manifest_url: &str,
    store_dir: &Path,
    opts: &HttpOptions,
) -> Result<Vec<Downloaded>, HttpError> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(HttpError::Runtime("called from inside a tokio runtime; await fetch_manifest instead".to_string()));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| HttpError::Runtime(format!("could not start a tokio runtime: {e}")))?;
    rt.block_on(fetch_manifest(manifest_url, store_dir, opts))
}

// ---------------------------------------------------------------------------
// Store and index

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct IndexEntry {
    etag: Option<String>,
    last_modified: Option<String>,
    sha256: String,
    bytes: u64,
}

type Index = BTreeMap<String, IndexEntry>;

struct Store {
    root: PathBuf,
    objects: PathBuf,
    tmp: PathBuf,
    index: PathBuf,
}

impl Store {
    fn new(root: &Path) -> Store {
        Store {
            root: root.to_path_buf(),
            objects: root.join("objects"),
            tmp: root.join("tmp"),
            index: root.join("index.json"),
        }
    }

    fn object(&self, sha256: &str) -> PathBuf {
        self.objects.join(sha256)
    }

    fn temp_path(&self, suffix: &str) -> PathBuf {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        self.tmp.join(format!("{}-{n}-{nanos:09}.{suffix}", std::process::id()))
    }

    /// The index, or an empty one when it is missing or unreadable.
    async fn load_index(&self) -> Index {
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
    async fn write_index(&self, index: &Index) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(index).map_err(std::io::Error::other)?;
        let mut temp = TempFile::create(self.temp_path("index")).await?;
        temp.file.write_all(&json).await?;
        temp.file.flush().await?;
        temp.file.sync_all().await?;
        temp.persist(&self.index).await
    }

    /// Whether the object for `entry` is present with the recorded size.
    async fn has_object(&self, entry: &IndexEntry) -> bool {
        match tokio::fs::metadata(self.object(&entry.sha256)).await {
            Ok(meta) => meta.is_file() && meta.len() == entry.bytes,
            Err(_) => false,
        }
    }
}

/// A file in `tmp/` that is removed on drop unless it was persisted.
struct TempFile {
    path: PathBuf,
    file: tokio::fs::File,
    persisted: bool,
}

impl TempFile {
    async fn create(path: PathBuf) -> std::io::Result<TempFile> {
        let file = tokio::fs::OpenOptions::new().write(true).create_new(true).open(&path).await?;
        Ok(TempFile { path, file, persisted: false })
    }

    async fn persist(mut self, to: &Path) -> std::io::Result<()> {
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

// ---------------------------------------------------------------------------
// Downloading

struct Ctx<'a> {
    client: &'a reqwest::Client,
    opts: &'a HttpOptions,
    store: &'a Store,
    index: &'a Index,
    base: &'a Url,
}

/// Why one attempt failed.
#[derive(Debug)]
enum AttemptError {
    /// Worth another attempt; `retry_after` comes from the server.
    Transient { reason: String, retry_after: Option<Duration> },
    /// Retrying cannot help.
    Final(String),
}

impl AttemptError {
    fn transient(reason: impl Into<String>) -> AttemptError {
        AttemptError::Transient { reason: reason.into(), retry_after: None }
    }

    fn reason(&self) -> &str {
        match self {
            AttemptError::Transient { reason, .. } | AttemptError::Final(reason) => reason,
        }
    }
}

/// A successful attempt.
struct Fetched {
    sha256: String,
    bytes: u64,
    not_modified: bool,
    etag: Option<String>,
    last_modified: Option<String>,
}

/// Run `attempt` under the retry policy. Returns the result and the number of
/// attempts made. A final failure's reason mentions the attempt count when
/// there was more than one.
async fn with_retries<T, F, Fut>(opts: &HttpOptions, what: &str, url: &str, attempt: F) -> (Result<T, String>, u32)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, AttemptError>>,
{
    let attempts = AtomicU32::new(0);
    let backoff = ExponentialBuilder::default()
        .with_min_delay(opts.initial_backoff)
        .with_max_delay(opts.max_backoff)
        .with_max_times(opts.max_retries as usize)
        .with_jitter();
    let max_backoff = opts.max_backoff;
    let total = opts.total_timeout;
    let (attempts_ref, attempt_ref) = (&attempts, &attempt);
    let result = (move || async move {
        attempts_ref.fetch_add(1, Ordering::Relaxed);
        match tokio::time::timeout(total, attempt_ref()).await {
            Ok(result) => result,
            Err(_) => {
                Err(AttemptError::transient(format!("attempt exceeded the total timeout of {}", fmt_duration(total))))
            }
        }
    })
    .retry(backoff)
    .when(|e: &AttemptError| matches!(e, AttemptError::Transient { .. }))
    .adjust(move |e: &AttemptError, delay: Option<Duration>| {
        // `None` means the retry budget is spent: keep it that way.
        let delay = delay?;
        let delay = match e {
            AttemptError::Transient { retry_after: Some(after), .. } => *after,
            _ => delay,
        };
        Some(delay.min(max_backoff))
    })
    .notify(|e: &AttemptError, delay: Duration| {
        tracing::warn!(
            what,
            url,
            attempt = attempts.load(Ordering::Relaxed),
            reason = e.reason(),
            delay = %fmt_duration(delay),
            "retrying"
        );
    })
    .await;
    let n = attempts.load(Ordering::Relaxed);
    let result = result.map_err(|e| match e {
        AttemptError::Transient { reason, .. } if n > 1 => {
            format!("{reason}; gave up after {n} attempts")
        }
        other => other.reason().to_string(),
    });
    (result, n)
}

async fn fetch_manifest_body(client: &reqwest::Client, url: &Url, opts: &HttpOptions) -> Result<Vec<u8>, HttpError> {
    let (result, _) = with_retries(opts, "manifest", url.as_str(), || async {
        let resp = client.get(url.clone()).send().await.map_err(|e| classify_send_error(&e, opts))?;
        let status = resp.status();
        if status != StatusCode::OK {
            return Err(classify_status(status, resp.headers()));
        }
        let declared = declared_within_limit(resp.headers(), opts, "manifest")?;
        let mut body = Vec::new();
        let mut stream = resp.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| classify_body_error(&e, body.len() as u64, declared, opts))?;
            if body.len() as u64 + chunk.len() as u64 > opts.max_file_bytes {
                return Err(AttemptError::Final(format!(
                    "manifest exceeded the {} limit",
                    fmt_bytes(opts.max_file_bytes)
                )));
            }
            body.extend_from_slice(&chunk);
        }
        if let Some(len) = declared {
            if body.len() as u64 != len {
                return Err(truncated(body.len() as u64, Some(len)));
            }
        }
        Ok(body)
    })
    .await;
    result.map_err(|reason| HttpError::ManifestFetch { url: url.to_string(), reason })
}

/// Download one manifest entry. Returns its result and, when it was stored,
/// the index entry to record under its URL.
async fn download_entry(ctx: &Ctx<'_>, entry: ManifestEntry) -> (Downloaded, Option<(String, IndexEntry)>) {
    let failed = |url: String, attempts: u32, reason: String| {
        tracing::error!(path = %entry.path, url = %url, attempts, reason = %reason, "download failed");
        (Downloaded { path: entry.path.clone(), url, attempts, outcome: DownloadOutcome::Failed { reason } }, None)
    };

    let url = match resolve_path(ctx.base, &entry.path) {
        Ok(url) => url,
        Err(reason) => return failed(String::new(), 0, reason),
    };
    let url_str = url.to_string();
    let expected_sha = match &entry.sha256 {
        Some(sha) if !is_sha256_hex(sha) => {
            return failed(url_str, 0, format!("the manifest's sha256 {sha:?} is not 64 hexadecimal digits"))
        }
        Some(sha) => Some(sha.to_ascii_lowercase()),
        None => None,
    };

    // Conditional request only when the recorded object is still what the
    // manifest asks for and is still in the store.
    let mut previous = ctx.index.get(&url_str).filter(|prev| {
        (prev.etag.is_some() || prev.last_modified.is_some())
            && expected_sha.as_ref().is_none_or(|sha| *sha == prev.sha256)
            && entry.bytes.is_none_or(|b| b == prev.bytes)
    });
    if let Some(prev) = previous {
        if !ctx.store.has_object(prev).await {
            previous = None;
        }
    }
    // Set when a 304 arrives for an object that has since vanished: later
    // attempts then ask for the full body.
    let unconditional = AtomicBool::new(previous.is_none());

    let job = Job {
        ctx,
        url: &url,
        expected_sha: expected_sha.as_deref(),
        expected_bytes: entry.bytes,
        previous,
        unconditional: &unconditional,
    };
    let (result, attempts) = with_retries(ctx.opts, "file", &url_str, || job.attempt()).await;
    match result {
        Ok(fetched) => {
            tracing::info!(
                path = %entry.path,
                url = %url_str,
                bytes = fetched.bytes,
                attempts,
                not_modified = fetched.not_modified,
                sha256 = %fetched.sha256,
                "stored"
            );
            let index_entry = IndexEntry {
                etag: fetched.etag,
                last_modified: fetched.last_modified,
                sha256: fetched.sha256.clone(),
                bytes: fetched.bytes,
            };
            (
                Downloaded {
                    path: entry.path.clone(),
                    url: url_str.clone(),
                    attempts,
                    outcome: DownloadOutcome::Stored {
                        local: ctx.store.object(&fetched.sha256),
                        sha256: fetched.sha256,
                        bytes: fetched.bytes,
                        not_modified: fetched.not_modified,
                    },
                },
                Some((url_str, index_entry)),
            )
        }
        Err(reason) => failed(url_str, attempts, reason),
    }
}

struct Job<'a> {
    ctx: &'a Ctx<'a>,
    url: &'a Url,
    expected_sha: Option<&'a str>,
    expected_bytes: Option<u64>,
    previous: Option<&'a IndexEntry>,
    unconditional: &'a AtomicBool,
}

impl Job<'_> {
    /// One whole attempt: send, stream to a temp file while hashing, check,
    /// and rename into `objects/`.
    async fn attempt(&self) -> Result<Fetched, AttemptError> {
        let opts = self.ctx.opts;
        let mut request = self.ctx.client.get(self.url.clone());
        let conditional = match self.previous {
            Some(prev) if !self.unconditional.load(Ordering::Relaxed) => Some(prev),
            _ => None,
        };
        if let Some(prev) = conditional {
            if let Some(etag) = header_value(prev.etag.as_deref()) {
                request = request.header(IF_NONE_MATCH, etag);
            }
            if let Some(date) = header_value(prev.last_modified.as_deref()) {
                request = request.header(IF_MODIFIED_SINCE, date);
            }
        }
        let resp = request.send().await.map_err(|e| classify_send_error(&e, opts))?;
        let status = resp.status();
        let etag = header_string(resp.headers(), ETAG.as_str());
        let last_modified = header_string(resp.headers(), LAST_MODIFIED.as_str());

        if status == StatusCode::NOT_MODIFIED {
            let Some(prev) = conditional else {
                return Err(AttemptError::Final(
                    "HTTP 304 Not Modified to a request that was not conditional".to_string(),
                ));
            };
            if !self.ctx.store.has_object(prev).await {
                self.unconditional.store(true, Ordering::Relaxed);
                return Err(AttemptError::transient(
                    "HTTP 304 Not Modified but the stored copy has gone; asking again for the full body",
                ));
            }
            return Ok(Fetched {
                sha256: prev.sha256.clone(),
                bytes: prev.bytes,
                not_modified: true,
                etag: etag.or_else(|| prev.etag.clone()),
                last_modified: last_modified.or_else(|| prev.last_modified.clone()),
            });
        }
        if status != StatusCode::OK {
            return Err(classify_status(status, resp.headers()));
        }

        let declared = declared_within_limit(resp.headers(), opts, "body")?;
        if let Some(len) = declared {
            if let Some(expected) = self.expected_bytes {
                if expected != len {
                    return Err(AttemptError::Final(format!(
                        "server announced {len} bytes but the manifest says {expected}"
                    )));
                }
            }
        }

        let store = self.ctx.store;
        let mut temp = TempFile::create(store.temp_path("part")).await.map_err(|e| {
            AttemptError::Final(format!("could not create a temporary file in {}: {e}", store.tmp.display()))
        })?;
        let write_err =
            |e: std::io::Error| AttemptError::Final(format!("could not write {}: {e}", temp_display(&store.tmp)));

        let mut hasher = Sha256::new();
        let mut received: u64 = 0;
        let mut stream = resp.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| classify_body_error(&e, received, declared, opts))?;
            received = received.saturating_add(chunk.len() as u64);
            if received > opts.max_file_bytes {
                return Err(AttemptError::Final(format!("body exceeded the {} limit", fmt_bytes(opts.max_file_bytes))));
            }
            if let Some(expected) = self.expected_bytes {
                if received > expected {
                    return Err(AttemptError::Final(format!(
                        "body is longer than the {expected} bytes the manifest says"
                    )));
                }
            }
            hasher.update(&chunk);
            temp.file.write_all(&chunk).await.map_err(write_err)?;
        }
        if let Some(len) = declared {
            if received != len {
                return Err(truncated(received, Some(len)));
            }
        }
        if let Some(expected) = self.expected_bytes {
            if received != expected {
                return Err(AttemptError::Final(format!("body has {received} bytes but the manifest says {expected}")));
            }
        }
        let sha256 = hex::encode(hasher.finalize());
        if let Some(expected) = self.expected_sha {
            if !expected.eq_ignore_ascii_case(&sha256) {
                return Err(AttemptError::Final(format!("SHA-256 {sha256} disagrees with the manifest's {expected}")));
            }
        }
        temp.file.flush().await.map_err(write_err)?;
        temp.file.sync_all().await.map_err(write_err)?;
        let object = store.object(&sha256);
        temp.persist(&object)
            .await
            .map_err(|e| AttemptError::Final(format!("could not move the body to {}: {e}", object.display())))?;
        Ok(Fetched { sha256, bytes: received, not_modified: false, etag, last_modified })
    }
}

fn temp_display(dir: &Path) -> String {
    format!("a temporary file in {}", dir.display())
}

/// Resolve a manifest path against the manifest URL, refusing anything that
/// is not a plain relative path below the manifest's directory.
fn resolve_path(base: &Url, path: &str) -> Result<Url, String> {
    let refuse = |why: &str| Err(format!("unsafe manifest path {path:?}: {why}"));
    if path.is_empty() {
        return refuse("it is empty");
    }
    if path.starts_with('/') {
        return refuse("it is absolute");
    }
    if path.contains('\\') {
        return refuse("it contains a backslash");
    }
    if path.chars().any(|c| c.is_control()) {
        return refuse("it contains a control character");
    }
    if path.contains(['?', '#']) {
        return refuse("it contains '?' or '#'");
    }
    if path.contains(':') {
        return refuse("it contains ':' (it could name a scheme or a drive)");
    }
    for segment in path.split('/') {
        if segment.is_empty() {
            return refuse("it has an empty segment");
        }
        // URL parsing treats "%2e" as "." as well.
        let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
        if decoded == "." || decoded == ".." {
            return refuse("it has a '.' or '..' segment");
        }
    }
    let url = base.join(path).map_err(|e| format!("unsafe manifest path {path:?}: {e}"))?;
    // Belt and braces: the result must stay on the manifest's origin, below
    // the manifest's directory.
    let dir = base.path().rfind('/').map_or("/", |i| &base.path()[..=i]);
    if url.origin() != base.origin() || !url.path().starts_with(dir) {
        return refuse("it resolves outside the manifest's directory");
    }
    Ok(url)
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn header_value(value: Option<&str>) -> Option<HeaderValue> {
    value.and_then(|v| HeaderValue::from_str(v).ok())
}

fn header_string(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok())
}

/// The announced `Content-Length`, refused at once when beyond the size cap (`what`: "manifest"
/// or "body", for the message).
fn declared_within_limit(headers: &HeaderMap, opts: &HttpOptions, what: &str) -> Result<Option<u64>, AttemptError> {
    let declared = content_length(headers);
    match declared {
        Some(len) if len > opts.max_file_bytes => Err(AttemptError::Final(format!(
            "{what} of {len} bytes exceeds the {} limit",
            fmt_bytes(opts.max_file_bytes)
        ))),
        _ => Ok(declared),
    }
}

/// `Retry-After` in seconds (HTTP dates are not honoured: the backoff applies).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

fn status_text(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("HTTP {} {reason}", status.as_u16()),
        None => format!("HTTP {}", status.as_u16()),
    }
}

fn classify_status(status: StatusCode, headers: &HeaderMap) -> AttemptError {
    let text = status_text(status);
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::REQUEST_TIMEOUT {
        AttemptError::Transient { reason: text, retry_after: retry_after(headers) }
    } else {
        AttemptError::Final(text)
    }
}

fn classify_send_error(e: &reqwest::Error, opts: &HttpOptions) -> AttemptError {
    if e.is_timeout() {
        if e.is_connect() {
            AttemptError::transient(format!(
                "connect timed out (no connection within {})",
                fmt_duration(opts.connect_timeout)
            ))
        } else {
            AttemptError::transient(format!("read timed out (no response within {})", fmt_duration(opts.read_timeout)))
        }
    } else if e.is_connect() {
        AttemptError::transient(format!("connection failed: {}", root_cause(e)))
    } else if e.is_redirect() || e.is_builder() {
        AttemptError::Final(format!("request refused: {}", root_cause(e)))
    } else {
        AttemptError::transient(format!("request failed: {}", root_cause(e)))
    }
}

fn classify_body_error(e: &reqwest::Error, received: u64, declared: Option<u64>, opts: &HttpOptions) -> AttemptError {
    if e.is_timeout() {
        AttemptError::transient(format!(
            "read timed out (no data for {} after {received} bytes)",
            fmt_duration(opts.read_timeout)
        ))
    } else {
        truncated(received, declared)
    }
}

fn truncated(received: u64, declared: Option<u64>) -> AttemptError {
    match declared {
        Some(total) => AttemptError::transient(format!("connection closed after {received} of {total} bytes")),
        None => {
            AttemptError::transient(format!("connection closed after {received} bytes, before the body was complete"))
        }
    }
}

/// The innermost error's message (the most specific), e.g. "Connection refused (os error 111)".
fn root_cause(e: &(dyn StdError + 'static)) -> String {
    let mut current = e;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

/// Every message in the error chain, joined with ": ".
fn error_chain(e: &(dyn StdError + 'static)) -> String {
    let mut out = e.to_string();
    let mut current = e.source();
    while let Some(next) = current {
        out.push_str(": ");
        out.push_str(&next.to_string());
        current = next.source();
    }
    out
}

fn fmt_bytes(n: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    const GIB: u64 = 1024 * 1024 * 1024;
    if n >= GIB && n.is_multiple_of(GIB) {
        format!("{} GiB", n / GIB)
    } else if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else if n >= KIB && n.is_multiple_of(KIB) {
        format!("{} KiB", n / KIB)
    } else {
        format!("{n} bytes")
    }
}

fn fmt_duration(d: Duration) -> String {
    if d.as_millis() < 1000 {
        format!("{} ms", d.as_millis())
    } else if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_safe_paths_and_refuses_unsafe_ones() {
        let base = Url::parse("http://127.0.0.1:8080/returns/manifest.json").unwrap();
        assert_eq!(
            resolve_path(&base, "2023-25/Kent.xlsx").unwrap().as_str(),
            "http://127.0.0.1:8080/returns/2023-25/Kent.xlsx"
        );
        assert_eq!(
            resolve_path(&base, "East Sussex.xlsx").unwrap().as_str(),
            "http://127.0.0.1:8080/returns/East%20Sussex.xlsx"
        );
        for bad in [
            "",
            "/etc/passwd",
            "../x.xlsx",
            "a/../../x",
            "a//b",
            "a/",
            "a\\b",
            "./a",
            "%2e%2e/x",
            "a/%2E%2e/x",
            "http://evil.example/x",
            "//evil.example/x",
            "a?b",
            "a#b",
            "C:/x",
            "a\nb",
        ] {
            assert!(resolve_path(&base, bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn formats() {
        assert_eq!(fmt_bytes(256 * 1024 * 1024), "256 MiB");
        assert_eq!(fmt_bytes(1024), "1 KiB");
        assert_eq!(fmt_bytes(1000), "1000 bytes");
        assert_eq!(fmt_duration(Duration::from_millis(300)), "300 ms");
        assert_eq!(fmt_duration(Duration::from_secs(30)), "30 s");
        assert_eq!(fmt_duration(Duration::from_millis(1500)), "1.5 s");
        assert!(is_sha256_hex(&"aB".repeat(32)));
        assert!(!is_sha256_hex("abc"));
    }

    #[test]
    fn default_options() {
        let o = HttpOptions::default();
        assert_eq!(o.concurrency, 8);
        assert_eq!(o.max_retries, 4);
        assert_eq!(o.max_file_bytes, 256 * 1024 * 1024);
        install_crypto_provider();
        install_crypto_provider();
        assert!(rustls::crypto::CryptoProvider::get_default().is_some());
    }
}
