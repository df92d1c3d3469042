//! Downloading one manifest entry: a conditional request when the store already holds what
//! the manifest asks for, the body streamed to a temporary file while hashed (under the size
//! cap and the low-speed limit), checked against the manifest, and renamed into the store.

use super::manifest::{is_sha256_hex, resolve_path, Entry};
use super::retry::{
    classify_body_error, classify_send_error, classify_status, declared_within_limit, fmt_bytes, header_string,
    header_value, truncated, with_retries, AttemptError, Speed,
};
use super::store::{Index, IndexEntry, Store, TempFile};
use super::{DownloadOutcome, Downloaded, HttpOptions, ManifestEntry};
use reqwest::header::{ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};
use reqwest::{Response, StatusCode, Url};
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::io::AsyncWriteExt;

pub struct Ctx<'a> {
    pub client: &'a reqwest::Client,
    pub opts: &'a HttpOptions,
    pub store: &'a Store,
    pub index: &'a Index,
    pub base: &'a Url,
}

/// A successful attempt.
struct Fetched {
    sha256: String,
    bytes: u64,
    not_modified: bool,
    etag: Option<String>,
    last_modified: Option<String>,
}

/// One entry's result and, when it was stored, the index entry to record under its URL.
pub async fn entry(ctx: &Ctx<'_>, entry: Entry) -> (Downloaded, Option<(String, IndexEntry)>) {
    match entry {
        Entry::Download(e) => download(ctx, e).await,
        Entry::Repeated { path, index, first } => {
            let reason = format!(
                "the manifest lists {path} again (entry {index}; it was entry {first}): only the first was downloaded; remove the repeated entry"
            );
            let path = format!("{path} (entry {index})");
            (Downloaded { path, url: String::new(), attempts: 0, outcome: DownloadOutcome::Failed { reason } }, None)
        }
    }
}

async fn download(ctx: &Ctx<'_>, entry: ManifestEntry) -> (Downloaded, Option<(String, IndexEntry)>) {
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
    let previous = previous_copy(ctx, &url_str, expected_sha.as_deref(), entry.bytes).await;
    // Set when a 304 arrives for an object that has since vanished: later attempts then ask
    // for the full body.
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
        Ok(f) => {
            tracing::info!(target: crate::contract::FILE_EVENTS, path = %entry.path, url = %url_str, bytes = f.bytes, attempts, not_modified = f.not_modified, "stored");
            let index_entry =
                IndexEntry { etag: f.etag, last_modified: f.last_modified, sha256: f.sha256.clone(), bytes: f.bytes };
            let outcome = DownloadOutcome::Stored {
                local: ctx.store.object(&f.sha256),
                sha256: f.sha256,
                bytes: f.bytes,
                not_modified: f.not_modified,
            };
            (
                Downloaded { path: entry.path.clone(), url: url_str.clone(), attempts, outcome },
                Some((url_str, index_entry)),
            )
        }
        Err(reason) => failed(url_str, attempts, reason),
    }
}

/// The stored copy a conditional request may rely on: only when it is still what the manifest
/// asks for and is still in the store.
async fn previous_copy<'a>(ctx: &Ctx<'a>, url: &str, sha: Option<&str>, bytes: Option<u64>) -> Option<&'a IndexEntry> {
    let prev = ctx.index.get(url).filter(|prev| {
        (prev.etag.is_some() || prev.last_modified.is_some())
            && sha.is_none_or(|sha| sha == prev.sha256)
            && bytes.is_none_or(|b| b == prev.bytes)
    })?;
    ctx.store.has_object(prev).await.then_some(prev)
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
    /// One whole attempt: send, stream to a temp file while hashing, check, and rename into
    /// `objects/`.
    async fn attempt(&self) -> Result<Fetched, AttemptError> {
        let conditional = self.previous.filter(|_| !self.unconditional.load(Ordering::Relaxed));
        let resp = self.send(conditional).await?;
        let etag = header_string(resp.headers(), ETAG.as_str());
        let last_modified = header_string(resp.headers(), LAST_MODIFIED.as_str());
        match resp.status() {
            StatusCode::NOT_MODIFIED => self.not_modified(conditional, etag, last_modified).await,
            StatusCode::OK => {
                let (sha256, bytes) = self.store_body(resp).await?;
                Ok(Fetched { sha256, bytes, not_modified: false, etag, last_modified })
            }
            status => Err(classify_status(status, resp.headers())),
        }
    }

    async fn send(&self, conditional: Option<&IndexEntry>) -> Result<Response, AttemptError> {
        let mut request = self.ctx.client.get(self.url.clone());
        if let Some(prev) = conditional {
            if let Some(etag) = header_value(prev.etag.as_deref()) {
                request = request.header(IF_NONE_MATCH, etag);
            }
            if let Some(date) = header_value(prev.last_modified.as_deref()) {
                request = request.header(IF_MODIFIED_SINCE, date);
            }
        }
        request.send().await.map_err(|e| classify_send_error(&e, self.ctx.opts))
    }

    async fn not_modified(
        &self,
        conditional: Option<&IndexEntry>,
        etag: Option<String>,
        last_modified: Option<String>,
    ) -> Result<Fetched, AttemptError> {
        let Some(prev) = conditional else {
            return Err(AttemptError::Final("HTTP 304 Not Modified to a request that was not conditional".to_string()));
        };
        if !self.ctx.store.has_object(prev).await {
            self.unconditional.store(true, Ordering::Relaxed);
            return Err(AttemptError::transient(
                "HTTP 304 Not Modified but the stored copy has gone; asking again for the full body",
            ));
        }
        Ok(Fetched {
            sha256: prev.sha256.clone(),
            bytes: prev.bytes,
            not_modified: true,
            etag: etag.or_else(|| prev.etag.clone()),
            last_modified: last_modified.or_else(|| prev.last_modified.clone()),
        })
    }

    /// Streams the body into the store; its SHA-256 and size.
    async fn store_body(&self, resp: Response) -> Result<(String, u64), AttemptError> {
        let opts = self.ctx.opts;
        let declared = declared_within_limit(resp.headers(), opts, "body")?;
        if let (Some(len), Some(expected)) = (declared, self.expected_bytes) {
            if expected != len {
                return Err(AttemptError::Final(format!(
                    "server announced {len} bytes but the manifest says {expected}"
                )));
            }
        }
        let store = self.ctx.store;
        let mut temp = TempFile::create(store.temp_path("part")).await.map_err(|e| {
            AttemptError::Final(format!("could not create a temporary file in {}: {e}", store.tmp.display()))
        })?;
        let (sha256, received) = self.stream_to(resp, &mut temp, declared).await?;
        if let Some(expected) = self.expected_sha {
            if !expected.eq_ignore_ascii_case(&sha256) {
                return Err(AttemptError::Final(format!("SHA-256 {sha256} disagrees with the manifest's {expected}")));
            }
        }
        let write_err = |e: std::io::Error| {
            AttemptError::Final(format!("could not write a temporary file in {}: {e}", store.tmp.display()))
        };
        temp.file.flush().await.map_err(write_err)?;
        temp.file.sync_all().await.map_err(write_err)?;
        let object = store.object(&sha256);
        temp.persist(&object)
            .await
            .map_err(|e| AttemptError::Final(format!("could not move the body to {}: {e}", object.display())))?;
        Ok((sha256, received))
    }

    /// Copies the body into `temp`, hashing it, under the size cap and the low-speed limit.
    async fn stream_to(
        &self,
        resp: Response,
        temp: &mut TempFile,
        declared: Option<u64>,
    ) -> Result<(String, u64), AttemptError> {
        let opts = self.ctx.opts;
        let mut hasher = Sha256::new();
        let mut received: u64 = 0;
        let mut stream = resp.bytes_stream();
        let mut speed = Speed::new(opts);
        while let Some(chunk) = speed.next(&mut stream).await? {
            let chunk = chunk.map_err(|e| classify_body_error(&e, received, declared, opts))?;
            received = received.saturating_add(chunk.len() as u64);
            if received > opts.max_file_bytes {
                return Err(AttemptError::Final(format!("body exceeded the {} limit", fmt_bytes(opts.max_file_bytes))));
            }
            if self.expected_bytes.is_some_and(|expected| received > expected) {
                let expected = self.expected_bytes.unwrap_or_default();
                return Err(AttemptError::Final(format!("body is longer than the {expected} bytes the manifest says")));
            }
            hasher.update(&chunk);
            temp.file
                .write_all(&chunk)
                .await
                .map_err(|e| AttemptError::Final(format!("could not write a temporary file: {e}")))?;
        }
        if declared.is_some_and(|len| received != len) {
            return Err(truncated(received, declared));
        }
        if let Some(expected) = self.expected_bytes.filter(|&e| e != received) {
            return Err(AttemptError::Final(format!("body has {received} bytes but the manifest says {expected}")));
        }
        Ok((hex::encode(hasher.finalize()), received))
    }
}
