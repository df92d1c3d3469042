//! One attempt's failures, classified as worth retrying or not, and the retry policy itself
//! (exponential backoff with jitter, `Retry-After` honoured); the low-speed limit; and the
//! wording of what went wrong.

use super::HttpOptions;
use backon::{ExponentialBuilder, Retryable};
use futures_util::{Stream, StreamExt};
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_LENGTH, RETRY_AFTER};
use reqwest::StatusCode;
use std::error::Error as StdError;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Why one attempt failed.
#[derive(Debug)]
pub enum AttemptError {
    /// Worth another attempt; `retry_after` comes from the server.
    Transient { reason: String, retry_after: Option<Duration> },
    /// Retrying cannot help.
    Final(String),
}

impl AttemptError {
    pub fn transient(reason: impl Into<String>) -> AttemptError {
        AttemptError::Transient { reason: reason.into(), retry_after: None }
    }

    pub fn reason(&self) -> &str {
        match self {
            AttemptError::Transient { reason, .. } | AttemptError::Final(reason) => reason,
        }
    }
}

/// Run `attempt` under the retry policy. Returns the result and the number of
/// attempts made. A final failure's reason mentions the attempt count when
/// there was more than one.
pub async fn with_retries<T, F, Fut>(opts: &HttpOptions, what: &str, url: &str, attempt: F) -> (Result<T, String>, u32)
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

/// The low-speed limit: a body must bring at least `low_speed_bytes` in every
/// `low_speed_window`, or the attempt is cut off (and retried).
pub struct Speed {
    window: Duration,
    min_bytes: u64,
    started: Instant,
    bytes: u64,
}

impl Speed {
    pub fn new(opts: &HttpOptions) -> Speed {
        Speed { window: opts.low_speed_window, min_bytes: opts.low_speed_bytes, started: Instant::now(), bytes: 0 }
    }

    /// The stream's next chunk, unless the window closes first with too few bytes in it.
    pub async fn next<S, T, E>(&mut self, stream: &mut S) -> Result<Option<Result<T, E>>, AttemptError>
    where
        S: Stream<Item = Result<T, E>> + Unpin,
        T: AsRef<[u8]>,
    {
        loop {
            let left = self.window.saturating_sub(self.started.elapsed());
            match tokio::time::timeout(left, stream.next()).await {
                Ok(item) => {
                    if let Some(Ok(chunk)) = &item {
                        self.bytes += chunk.as_ref().len() as u64;
                    }
                    self.check()?;
                    return Ok(item);
                }
                Err(_) => self.check()?,
            }
        }
    }

    /// At the end of a window: too slow is an error, else a new window starts.
    fn check(&mut self) -> Result<(), AttemptError> {
        if self.started.elapsed() < self.window {
            return Ok(());
        }
        if self.bytes < self.min_bytes {
            return Err(AttemptError::transient(format!(
                "the download slowed to {} in {} (the limit is {} per {})",
                fmt_bytes(self.bytes),
                fmt_duration(self.window),
                fmt_bytes(self.min_bytes),
                fmt_duration(self.window)
            )));
        }
        self.started = Instant::now();
        self.bytes = 0;
        Ok(())
    }
}

pub fn header_value(value: Option<&str>) -> Option<HeaderValue> {
    value.and_then(|v| HeaderValue::from_str(v).ok())
}

pub fn header_string(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

pub fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok())
}

/// The announced `Content-Length`, refused at once when beyond the size cap (`what`: "manifest"
/// or "body", for the message).
pub fn declared_within_limit(headers: &HeaderMap, opts: &HttpOptions, what: &str) -> Result<Option<u64>, AttemptError> {
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
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

pub fn status_text(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("HTTP {} {reason}", status.as_u16()),
        None => format!("HTTP {}", status.as_u16()),
    }
}

pub fn classify_status(status: StatusCode, headers: &HeaderMap) -> AttemptError {
    let text = status_text(status);
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::REQUEST_TIMEOUT {
        AttemptError::Transient { reason: text, retry_after: retry_after(headers) }
    } else {
        AttemptError::Final(text)
    }
}

pub fn classify_send_error(e: &reqwest::Error, opts: &HttpOptions) -> AttemptError {
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

pub fn classify_body_error(
    e: &reqwest::Error,
    received: u64,
    declared: Option<u64>,
    opts: &HttpOptions,
) -> AttemptError {
    if e.is_timeout() {
        AttemptError::transient(format!(
            "read timed out (no data for {} after {received} bytes)",
            fmt_duration(opts.read_timeout)
        ))
    } else {
        truncated(received, declared)
    }
}

pub fn truncated(received: u64, declared: Option<u64>) -> AttemptError {
    match declared {
        Some(total) => AttemptError::transient(format!("connection closed after {received} of {total} bytes")),
        None => {
            AttemptError::transient(format!("connection closed after {received} bytes, before the body was complete"))
        }
    }
}

/// The innermost error's message (the most specific), e.g. "Connection refused (os error 111)".
pub fn root_cause(e: &(dyn StdError + 'static)) -> String {
    let mut current = e;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

/// Every message in the error chain, joined with ": ".
pub fn error_chain(e: &(dyn StdError + 'static)) -> String {
    let mut out = e.to_string();
    let mut current = e.source();
    while let Some(next) = current {
        out.push_str(": ");
        out.push_str(&next.to_string());
        current = next.source();
    }
    out
}

pub fn fmt_bytes(n: u64) -> String {
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

pub fn fmt_duration(d: Duration) -> String {
    if d.as_millis() < 1000 {
        format!("{} ms", d.as_millis())
    } else if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}
