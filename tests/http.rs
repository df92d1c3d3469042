//! Tests for `bcf::ingest::http` against a small hand-written HTTP/1.1 server
//! bound to 127.0.0.1:0 inside each test. No other network is used.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bcf::ingest::http::{
    fetch_manifest, fetch_manifest_blocking, install_crypto_provider, DownloadOutcome, Downloaded, HttpError,
    HttpOptions,
};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

// ---------------------------------------------------------------------------
// Test server

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Hit {
    path: String,
    headers: HashMap<String, String>,
    at: Instant,
    status: u16,
}

/// How the server answers one request.
enum Reply {
    /// A complete response with `Content-Length`.
    Full { status: u16, headers: Vec<(String, String)>, body: Vec<u8> },
    /// A 200 without `Content-Length`: the body ends when the connection closes.
    UntilClose { body: Vec<u8> },
    /// A 200 announcing `content_length` bytes, sending only `body`, then closing.
    Truncated { content_length: usize, body: Vec<u8> },
    /// A 200 announcing `content_length` bytes, sending `body`, then going quiet for `pause`.
    Stall { content_length: usize, body: Vec<u8>, pause: Duration },
    /// `reply` after waiting `delay`.
    Slow { delay: Duration, reply: Box<Reply> },
    /// A 200 announcing `content_length` bytes and sending one byte every `every`.
    Trickle { content_length: usize, every: Duration },
}

impl Reply {
    fn ok(body: &[u8]) -> Reply {
        Reply::Full { status: 200, headers: Vec::new(), body: body.to_vec() }
    }

    fn status(status: u16) -> Reply {
        Reply::Full { status, headers: Vec::new(), body: format!("status {status}").into_bytes() }
    }

    fn status_code(&self) -> u16 {
        match self {
            Reply::Full { status, .. } => *status,
            Reply::Slow { reply, .. } => reply.status_code(),
            _ => 200,
        }
    }
}

/// The request being answered: its path, headers and how many times this path
/// has been requested so far (1 for the first request).
struct Request<'a> {
    path: &'a str,
    headers: &'a HashMap<String, String>,
    nth: u32,
}

type Handler = Arc<dyn Fn(&Request<'_>) -> Reply + Send + Sync>;

struct TestServer {
    base: String,
    hits: Arc<Mutex<Vec<Hit>>>,
    max_in_flight: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    async fn start(handler: impl Fn(&Request<'_>) -> Reply + Send + Sync + 'static) -> TestServer {
        let handler: Handler = Arc::new(handler);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let hits = Arc::new(Mutex::new(Vec::new()));
        let counts = Arc::new(Mutex::new(HashMap::<String, u32>::new()));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let max_in_flight = Arc::new(AtomicUsize::new(0));
        let task = {
            let hits = hits.clone();
            let max_in_flight = max_in_flight.clone();
            tokio::spawn(async move {
                while let Ok((socket, _)) = listener.accept().await {
                    let handler = handler.clone();
                    let hits = hits.clone();
                    let counts = counts.clone();
                    let in_flight = in_flight.clone();
                    let max_in_flight = max_in_flight.clone();
                    tokio::spawn(async move {
                        let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                        max_in_flight.fetch_max(now, Ordering::SeqCst);
                        serve(socket, handler, hits, counts).await;
                        in_flight.fetch_sub(1, Ordering::SeqCst);
                    });
                }
            })
        };
        TestServer { base: format!("http://{addr}"), hits, max_in_flight, task }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().expect("hits lock").clone()
    }

    fn hits_for(&self, path: &str) -> Vec<Hit> {
        self.hits().into_iter().filter(|h| h.path == path).collect()
    }

    fn clear_hits(&self) {
        self.hits.lock().expect("hits lock").clear();
    }
}

/// Serve one request on one connection, then close it.
async fn serve(
    mut socket: TcpStream,
    handler: Handler,
    hits: Arc<Mutex<Vec<Hit>>>,
    counts: Arc<Mutex<HashMap<String, u32>>>,
) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > 64 * 1024 {
            return;
        }
        match tokio::time::timeout(Duration::from_secs(5), socket.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => return,
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let path = percent_decode(request_line.split(' ').nth(1).unwrap_or_default());
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let nth = {
        let mut counts = counts.lock().expect("counts lock");
        let n = counts.entry(path.clone()).or_insert(0);
        *n += 1;
        *n
    };
    let at = Instant::now();
    let mut reply = handler(&Request { path: &path, headers: &headers, nth });
    hits.lock().expect("hits lock").push(Hit { path, headers, at, status: reply.status_code() });
    while let Reply::Slow { delay, reply: inner } = reply {
        tokio::time::sleep(delay).await;
        reply = *inner;
    }
    let _ = write_reply(&mut socket, reply).await;
}

/// `/a%20b` → `/a b`, as a real server maps URLs to file names.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn write_reply(socket: &mut TcpStream, reply: Reply) -> std::io::Result<()> {
    let head = |status: u16, length: Option<usize>, extra: &[(String, String)]| {
        let mut h = format!("HTTP/1.1 {status} {}\r\nConnection: close\r\n", reason(status));
        if let Some(length) = length {
            h.push_str(&format!("Content-Length: {length}\r\n"));
        }
        for (k, v) in extra {
            h.push_str(&format!("{k}: {v}\r\n"));
        }
        h.push_str("\r\n");
        h.into_bytes()
    };
    match reply {
        Reply::Full { status, headers, body } => {
            let length = if status == 304 { None } else { Some(body.len()) };
            socket.write_all(&head(status, length, &headers)).await?;
            if status != 304 {
                socket.write_all(&body).await?;
            }
        }
        Reply::UntilClose { body } => {
            socket.write_all(&head(200, None, &[])).await?;
            socket.write_all(&body).await?;
        }
        Reply::Truncated { content_length, body } => {
            socket.write_all(&head(200, Some(content_length), &[])).await?;
            socket.write_all(&body).await?;
        }
        Reply::Trickle { content_length, every } => {
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {content_length}\r\nConnection: close\r\n\r\n");
            socket.write_all(head.as_bytes()).await?;
            for _ in 0..content_length {
                socket.write_all(b"x").await?;
                socket.flush().await?;
                tokio::time::sleep(every).await;
            }
        }
        Reply::Stall { content_length, body, pause } => {
            socket.write_all(&head(200, Some(content_length), &[])).await?;
            socket.write_all(&body).await?;
            socket.flush().await?;
            tokio::time::sleep(pause).await;
        }
        Reply::Slow { .. } => {}
    }
    socket.flush().await?;
    socket.shutdown().await
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        304 => "Not Modified",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

// ---------------------------------------------------------------------------
// Helpers

fn sha_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Deterministic test content of `n` bytes.
fn content(seed: u8, n: usize) -> Vec<u8> {
    (0..n).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

fn manifest_json(files: &[(&str, Option<&[u8]>)]) -> Vec<u8> {
    let files: Vec<serde_json::Value> = files
        .iter()
        .map(|(path, body)| match body {
            Some(body) => serde_json::json!({
                "path": path, "sha256": sha_hex(body), "bytes": body.len()
            }),
            None => serde_json::json!({ "path": path }),
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({ "files": files })).expect("manifest json")
}

/// A handler serving a manifest at /returns/manifest.json and fixed files
/// below /returns/, with ETags and `If-None-Match` support.
fn static_site(manifest: Vec<u8>, files: Vec<(&str, Vec<u8>)>) -> impl Fn(&Request<'_>) -> Reply {
    let files: HashMap<String, Vec<u8>> = files.into_iter().map(|(p, b)| (format!("/returns/{p}"), b)).collect();
    move |req: &Request<'_>| {
        if req.path == "/returns/manifest.json" {
            return Reply::ok(&manifest);
        }
        match files.get(req.path) {
            Some(body) => {
                let etag = format!("\"{}\"", &sha_hex(body)[..16]);
                if req.headers.get("if-none-match") == Some(&etag) {
                    return Reply::Full { status: 304, headers: vec![("ETag".into(), etag)], body: Vec::new() };
                }
                Reply::Full {
                    status: 200,
                    headers: vec![
                        ("ETag".into(), etag),
                        ("Last-Modified".into(), "Wed, 01 May 2024 09:00:00 GMT".into()),
                    ],
                    body: body.clone(),
                }
            }
            None => Reply::status(404),
        }
    }
}

fn fast_opts() -> HttpOptions {
    HttpOptions {
        concurrency: 4,
        connect_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_secs(2),
        total_timeout: Duration::from_secs(10),
        max_retries: 3,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(50),
        max_file_bytes: 1024 * 1024,
        ..HttpOptions::default()
    }
}

fn failed_reason(d: &Downloaded) -> &str {
    match &d.outcome {
        DownloadOutcome::Failed { reason } => reason,
        other => panic!("{} expected to fail, got {other:?}", d.path),
    }
}

fn files_in(dir: &Path) -> Vec<String> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().to_string()).collect(),
        Err(_) => Vec::new(),
    }
}

async fn run(server: &TestServer, store: &Path, opts: &HttpOptions) -> Vec<Downloaded> {
    install_crypto_provider();
    fetch_manifest(&server.url("/returns/manifest.json"), store, opts).await.expect("manifest fetched")
}

/// A server with one file, `/returns/f.xlsx`, answered by `file`; the manifest
/// lists it with `body`'s checksum and size when given.
async fn one_file_server(
    body: Option<Vec<u8>>,
    file: impl Fn(&Request<'_>) -> Reply + Send + Sync + 'static,
) -> TestServer {
    let manifest = manifest_json(&[("f.xlsx", body.as_deref())]);
    TestServer::start(move |req: &Request<'_>| {
        if req.path == "/returns/manifest.json" {
            Reply::ok(&manifest)
        } else if req.path == "/returns/f.xlsx" {
            file(req)
        } else {
            Reply::status(404)
        }
    })
    .await
}

// ---------------------------------------------------------------------------
// Tests

#[tokio::test]
async fn clean_manifest_of_three_files_is_stored_in_order() {
    let bodies = [content(1, 5000), content(2, 1), content(3, 70_000)];
    let manifest = manifest_json(&[
        ("2023-25/Kent.xlsx", Some(&bodies[0])),
        ("2023-25/East Sussex.xlsx", Some(&bodies[1])),
        ("2024-26/Kent.xlsx", Some(&bodies[2])),
    ]);
    let site = static_site(
        manifest,
        vec![
            ("2023-25/Kent.xlsx", bodies[0].clone()),
            ("2023-25/East Sussex.xlsx", bodies[1].clone()),
            ("2024-26/Kent.xlsx", bodies[2].clone()),
        ],
    );
    // The first file is slow so that later ones finish first: order must hold.
    let server = TestServer::start(move |req: &Request<'_>| {
        let reply = site(req);
        if req.path == "/returns/2023-25/Kent.xlsx" {
            Reply::Slow { delay: Duration::from_millis(200), reply: Box::new(reply) }
        } else {
            reply
        }
    })
    .await;
    let store = tempfile::tempdir().expect("tempdir");
    let results = run(&server, store.path(), &fast_opts()).await;

    let paths: Vec<&str> = results.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(paths, ["2023-25/Kent.xlsx", "2023-25/East Sussex.xlsx", "2024-26/Kent.xlsx"]);
    for (d, body) in results.iter().zip(&bodies) {
        assert_eq!(d.attempts, 1, "{d:?}");
        match &d.outcome {
            DownloadOutcome::Stored { local, sha256, bytes, not_modified } => {
                assert_eq!(*sha256, sha_hex(body));
                assert_eq!(*bytes, body.len() as u64);
                assert!(!not_modified);
                assert_eq!(*local, store.path().join("objects").join(sha256));
                assert_eq!(std::fs::read(local).expect("object"), *body);
            }
            other => panic!("{}: {other:?}", d.path),
        }
    }
    assert_eq!(results[1].url, server.url("/returns/2023-25/East%20Sussex.xlsx"));
    assert_eq!(files_in(&store.path().join("objects")).len(), 3);
    assert!(files_in(&store.path().join("tmp")).is_empty());
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(store.path().join("index.json")).expect("index.json"))
            .expect("index parses");
    let entry = &index[server.url("/returns/2024-26/Kent.xlsx")];
    assert_eq!(entry["sha256"], sha_hex(&bodies[2]));
    assert_eq!(entry["bytes"], 70_000);
    assert!(entry["etag"].is_string());
    assert_eq!(entry["last_modified"], "Wed, 01 May 2024 09:00:00 GMT");
}

#[tokio::test]
async fn service_unavailable_then_ok_takes_two_attempts() {
    let body = content(4, 3000);
    let served = body.clone();
    let server =
        one_file_server(
            Some(body.clone()),
            move |req: &Request<'_>| {
                if req.nth == 1 {
                    Reply::status(503)
                } else {
                    Reply::ok(&served)
                }
            },
        )
        .await;
    let store = tempfile::tempdir().expect("tempdir");
    let results = run(&server, store.path(), &fast_opts()).await;
    assert_eq!(results[0].attempts, 2);
    assert!(matches!(&results[0].outcome, DownloadOutcome::Stored { bytes: 3000, .. }));
    assert_eq!(server.hits_for("/returns/f.xlsx").len(), 2);
}

#[tokio::test]
async fn too_many_requests_honours_retry_after() {
    let body = content(5, 100);
    let served = body.clone();
    let server = one_file_server(Some(body), move |req: &Request<'_>| {
        if req.nth == 1 {
            Reply::Full { status: 429, headers: vec![("Retry-After".into(), "1".into())], body: b"slow down".to_vec() }
        } else {
            Reply::ok(&served)
        }
    })
    .await;
    let store = tempfile::tempdir().expect("tempdir");
    let opts = HttpOptions { max_backoff: Duration::from_secs(5), ..fast_opts() };
    let results = run(&server, store.path(), &opts).await;
    assert_eq!(results[0].attempts, 2);
    assert!(matches!(results[0].outcome, DownloadOutcome::Stored { .. }));
    let hits = server.hits_for("/returns/f.xlsx");
    assert_eq!(hits.len(), 2);
    let gap = hits[1].at.duration_since(hits[0].at);
    assert!(gap >= Duration::from_millis(900), "retried after {gap:?}");
}

#[tokio::test]
async fn retry_after_is_capped_by_max_backoff() {
    let body = content(6, 100);
    let served = body.clone();
    let server = one_file_server(Some(body), move |req: &Request<'_>| {
        if req.nth == 1 {
            Reply::Full { status: 503, headers: vec![("Retry-After".into(), "3600".into())], body: Vec::new() }
        } else {
            Reply::ok(&served)
        }
    })
    .await;
    let store = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    let results = run(&server, store.path(), &fast_opts()).await;
    assert_eq!(results[0].attempts, 2);
    assert!(matches!(results[0].outcome, DownloadOutcome::Stored { .. }));
    // Capped at 50 ms, so nowhere near an hour; the bound is deliberately loose.
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[tokio::test]
async fn stalled_body_hits_the_read_timeout() {
    let body = content(7, 4000);
    let server = one_file_server(Some(body.clone()), move |_req: &Request<'_>| Reply::Stall {
        content_length: 4000,
        body: body[..1000].to_vec(),
        pause: Duration::from_secs(5),
    })
    .await;
    let store = tempfile::tempdir().expect("tempdir");
    let opts = HttpOptions { read_timeout: Duration::from_millis(300), max_retries: 1, ..fast_opts() };
    let results = run(&server, store.path(), &opts).await;
    let reason = failed_reason(&results[0]);
    assert!(reason.contains("read timed out"), "{reason}");
    assert_eq!(results[0].attempts, 2);
    assert!(files_in(&store.path().join("objects")).is_empty());
    assert!(files_in(&store.path().join("tmp")).is_empty());
}

#[tokio::test]
async fn total_timeout_bounds_each_attempt() {
    let body = content(21, 100);
    let served = body.clone();
    let server = one_file_server(Some(body), move |_req: &Request<'_>| Reply::Slow {
        delay: Duration::from_secs(3),
        reply: Box::new(Reply::ok(&served)),
    })
    .await;
    let store = tempfile::tempdir().expect("tempdir");
    let opts = HttpOptions {
        read_timeout: Duration::from_secs(10),
        total_timeout: Duration::from_millis(200),
        max_retries: 1,
        ..fast_opts()
    };
    let results = run(&server, store.path(), &opts).await;
    let reason = failed_reason(&results[0]);
    assert!(reason.contains("total timeout of 200 ms"), "{reason}");
    assert_eq!(results[0].attempts, 2);
}

#[tokio::test]
async fn truncated_body_is_retried_then_fails() {
    let body = content(8, 5000);
    let server = one_file_server(None, move |_req: &Request<'_>| Reply::Truncated {
        content_length: 5000,
        body: body[..1200].to_vec(),
    })
    .await;
    let store = tempfile::tempdir().expect("tempdir");
    let opts = HttpOptions { max_retries: 2, ..fast_opts() };
    let results = run(&server, store.path(), &opts).await;
    let reason = failed_reason(&results[0]);
    assert!(reason.contains("connection closed after 1200 of 5000 bytes"), "{reason}");
    assert_eq!(results[0].attempts, 3);
    assert_eq!(server.hits_for("/returns/f.xlsx").len(), 3);
    assert!(files_in(&store.path().join("objects")).is_empty());
    assert!(files_in(&store.path().join("tmp")).is_empty());
}

#[tokio::test]
async fn truncated_once_then_complete_is_stored() {
    let body = content(9, 5000);
    let served = body.clone();
    let server = one_file_server(Some(body.clone()), move |req: &Request<'_>| {
        if req.nth == 1 {
            Reply::Truncated { content_length: 5000, body: served[..1200].to_vec() }
        } else {
            Reply::ok(&served)
        }
    })
    .await;
    let store = tempfile::tempdir().expect("tempdir");
    let results = run(&server, store.path(), &fast_opts()).await;
    assert_eq!(results[0].attempts, 2);
    match &results[0].outcome {
        DownloadOutcome::Stored { local, .. } => {
            assert_eq!(std::fs::read(local).expect("object"), body)
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn checksum_mismatch_fails_and_keeps_nothing() {
    let listed = content(10, 2000);
    let mut served = listed.clone();
    served[1000] ^= 0xff;
    let server = one_file_server(Some(listed.clone()), move |_req: &Request<'_>| Reply::ok(&served)).await;
    let store = tempfile::tempdir().expect("tempdir");
    let results = run(&server, store.path(), &fast_opts()).await;
    let reason = failed_reason(&results[0]);
    assert!(reason.starts_with("SHA-256 "), "{reason}");
    assert!(reason.contains(&format!("disagrees with the manifest's {}", sha_hex(&listed))), "{reason}");
    assert_eq!(results[0].attempts, 1);
    assert!(files_in(&store.path().join("objects")).is_empty());
    assert!(files_in(&store.path().join("tmp")).is_empty());
}

#[tokio::test]
async fn manifest_checksum_is_compared_case_insensitively() {
    let body = content(11, 300);
    let manifest = serde_json::to_vec(&serde_json::json!({
        "files": [{ "path": "f.xlsx", "sha256": sha_hex(&body).to_uppercase() }]
    }))
    .expect("json");
    let server = TestServer::start(static_site(manifest, vec![("f.xlsx", body.clone())])).await;
    let store = tempfile::tempdir().expect("tempdir");
    let results = run(&server, store.path(), &fast_opts()).await;
    match &results[0].outcome {
        DownloadOutcome::Stored { sha256, .. } => assert_eq!(*sha256, sha_hex(&body)),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn not_found_fails_after_exactly_one_attempt() {
    let server = one_file_server(None, |_req: &Request<'_>| Reply::status(404)).await;
    let store = tempfile::tempdir().expect("tempdir");
    let results = run(&server, store.path(), &fast_opts()).await;
    assert_eq!(failed_reason(&results[0]), "HTTP 404 Not Found");
    assert_eq!(results[0].attempts, 1);
    assert_eq!(server.hits_for("/returns/f.xlsx").len(), 1);
}

#[tokio::test]
async fn oversize_body_with_content_length_fails_without_retry() {
    let body = content(12, 4096);
    let server = one_file_server(None, move |_req: &Request<'_>| Reply::ok(&body)).await;
    let store = tempfile::tempdir().expect("tempdir");
    let opts = HttpOptions { max_file_bytes: 1024, ..fast_opts() };
    let results = run(&server, store.path(), &opts).await;
    let reason = failed_reason(&results[0]);
    assert!(reason.contains("exceeds the 1 KiB limit"), "{reason}");
    assert_eq!(results[0].attempts, 1);
    assert!(files_in(&store.path().join("objects")).is_empty());
}

#[tokio::test]
async fn oversize_body_without_content_length_is_cut_off_while_streaming() {
    let body = content(13, 64 * 1024);
    let server = one_file_server(None, move |_req: &Request<'_>| Reply::UntilClose { body: body.clone() }).await;
    let store = tempfile::tempdir().expect("tempdir");
    let opts = HttpOptions { max_file_bytes: 1024, ..fast_opts() };
    let results = run(&server, store.path(), &opts).await;
    let reason = failed_reason(&results[0]);
    assert_eq!(reason, "body exceeded the 1 KiB limit");
    assert_eq!(results[0].attempts, 1);
    assert!(files_in(&store.path().join("objects")).is_empty());
    assert!(files_in(&store.path().join("tmp")).is_empty());
}

#[tokio::test]
async fn body_without_content_length_is_stored() {
    let body = content(14, 10_000);
    let served = body.clone();
    let server =
        one_file_server(Some(body), move |_req: &Request<'_>| Reply::UntilClose { body: served.clone() }).await;
    let store = tempfile::tempdir().expect("tempdir");
    let results = run(&server, store.path(), &fast_opts()).await;
    assert!(matches!(results[0].outcome, DownloadOutcome::Stored { bytes: 10_000, .. }));
}

#[tokio::test]
async fn size_disagreeing_with_manifest_fails_without_retry() {
    let body = content(15, 500);
    let manifest = serde_json::to_vec(&serde_json::json!({
        "files": [{ "path": "f.xlsx", "bytes": 499 }]
    }))
    .expect("json");
    let server = TestServer::start(static_site(manifest, vec![("f.xlsx", body)])).await;
    let store = tempfile::tempdir().expect("tempdir");
    let results = run(&server, store.path(), &fast_opts()).await;
    let reason = failed_reason(&results[0]);
    assert!(reason.contains("manifest says 499"), "{reason}");
    assert_eq!(results[0].attempts, 1);
}

#[tokio::test]
async fn second_call_gets_not_modified_for_every_file() {
    let bodies = [content(16, 1000), content(17, 2000), content(18, 3000)];
    let manifest = manifest_json(&[("a.xlsx", Some(&bodies[0])), ("b.xlsx", Some(&bodies[1])), ("c.xlsx", None)]);
    let server = TestServer::start(static_site(
        manifest,
        vec![("a.xlsx", bodies[0].clone()), ("b.xlsx", bodies[1].clone()), ("c.xlsx", bodies[2].clone())],
    ))
    .await;
    let store = tempfile::tempdir().expect("tempdir");
    let first = run(&server, store.path(), &fast_opts()).await;
    assert!(first.iter().all(|d| matches!(d.outcome, DownloadOutcome::Stored { not_modified: false, .. })));

    server.clear_hits();
    let second = run(&server, store.path(), &fast_opts()).await;
    let file_hits: Vec<Hit> = server.hits().into_iter().filter(|h| h.path != "/returns/manifest.json").collect();
    assert_eq!(file_hits.len(), 3);
    assert_eq!(file_hits.iter().filter(|h| h.status == 200).count(), 0);
    assert!(file_hits.iter().all(|h| h.headers.contains_key("if-none-match")
        && h.headers.get("if-modified-since").map(String::as_str) == Some("Wed, 01 May 2024 09:00:00 GMT")));
    for ((a, b), body) in first.iter().zip(&second).zip(&bodies) {
        assert_eq!(b.attempts, 1);
        match (&a.outcome, &b.outcome) {
            (
                DownloadOutcome::Stored { local: la, sha256: sa, .. },
                DownloadOutcome::Stored { local, sha256, bytes, not_modified },
            ) => {
                assert!(*not_modified, "{b:?}");
                assert_eq!(sha256, sa);
                assert_eq!(local, la);
                assert_eq!(*bytes, body.len() as u64);
                assert_eq!(std::fs::read(local).expect("object"), *body);
            }
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn missing_object_is_downloaded_again_not_trusted_to_304() {
    let body = content(19, 1234);
    let manifest = manifest_json(&[("a.xlsx", Some(&body))]);
    let server = TestServer::start(static_site(manifest, vec![("a.xlsx", body.clone())])).await;
    let store = tempfile::tempdir().expect("tempdir");
    run(&server, store.path(), &fast_opts()).await;
    std::fs::remove_dir_all(store.path().join("objects")).expect("remove objects");

    server.clear_hits();
    let again = run(&server, store.path(), &fast_opts()).await;
    assert!(matches!(again[0].outcome, DownloadOutcome::Stored { not_modified: false, bytes: 1234, .. }));
    let hits = server.hits_for("/returns/a.xlsx");
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].status, 200);
    assert!(!hits[0].headers.contains_key("if-none-match"));
}

#[tokio::test]
async fn unsafe_manifest_paths_fail_without_any_request() {
    let good = content(20, 100);
    let manifest = serde_json::to_vec(&serde_json::json!({ "files": [
        { "path": "../secret.xlsx" },
        { "path": "/etc/secret.xlsx" },
        { "path": "2023-25\\secret.xlsx" },
        { "path": "2023-25//secret.xlsx" },
        { "path": "2023-25/%2e%2e/%2e%2e/secret.xlsx" },
        { "path": "http://127.0.0.1:1/secret.xlsx" },
        { "path": "ok.xlsx" },
    ]}))
    .expect("json");
    let server = TestServer::start(static_site(manifest, vec![("ok.xlsx", good)])).await;
    let store = tempfile::tempdir().expect("tempdir");
    let results = run(&server, store.path(), &fast_opts()).await;
    assert_eq!(results.len(), 7);
    for d in &results[..6] {
        let reason = failed_reason(d);
        assert!(reason.starts_with("unsafe manifest path"), "{reason}");
        assert_eq!(d.attempts, 0);
        assert_eq!(d.url, "");
    }
    assert!(matches!(results[6].outcome, DownloadOutcome::Stored { .. }));
    let paths: Vec<String> = server.hits().into_iter().map(|h| h.path).collect();
    assert!(!paths.iter().any(|p| p.contains("secret")), "{paths:?}");
    assert_eq!(paths.len(), 2, "{paths:?}");
}

#[tokio::test]
async fn manifest_that_404s_is_an_error() {
    let server = TestServer::start(|_req: &Request<'_>| Reply::status(404)).await;
    let store = tempfile::tempdir().expect("tempdir");
    install_crypto_provider();
    let err = fetch_manifest(&server.url("/returns/manifest.json"), store.path(), &fast_opts())
        .await
        .expect_err("a missing manifest is an error");
    assert!(matches!(err, HttpError::ManifestFetch { .. }), "{err:?}");
    assert!(err.to_string().contains("HTTP 404 Not Found"), "{err}");
    assert_eq!(server.hits().len(), 1);
}

#[tokio::test]
async fn manifest_that_keeps_failing_with_503_is_an_error_after_retries() {
    let server = TestServer::start(|_req: &Request<'_>| Reply::status(503)).await;
    let store = tempfile::tempdir().expect("tempdir");
    let err =
        fetch_manifest(&server.url("/returns/manifest.json"), store.path(), &fast_opts()).await.expect_err("error");
    assert!(err.to_string().contains("gave up after 4 attempts"), "{err}");
    assert_eq!(server.hits().len(), 4);
}

#[tokio::test]
async fn manifest_that_is_not_json_is_an_error() {
    let server = TestServer::start(|_req: &Request<'_>| Reply::ok(b"<html>nope</html>")).await;
    let store = tempfile::tempdir().expect("tempdir");
    let err =
        fetch_manifest(&server.url("/returns/manifest.json"), store.path(), &fast_opts()).await.expect_err("error");
    assert!(matches!(err, HttpError::ManifestParse { .. }), "{err:?}");
}

#[tokio::test]
async fn unreachable_server_is_an_error_after_retries() {
    // A port that was just free: nothing listens there any more.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let store = tempfile::tempdir().expect("tempdir");
    let opts = HttpOptions { max_retries: 1, ..fast_opts() };
    let err = fetch_manifest(&format!("http://{addr}/manifest.json"), store.path(), &opts).await.expect_err("error");
    // (Matching on the variant only: in theory another test could grab the port.)
    assert!(matches!(err, HttpError::ManifestFetch { .. }), "{err:?}");
}

#[tokio::test]
async fn invalid_manifest_url_is_an_error() {
    let store = tempfile::tempdir().expect("tempdir");
    for url in ["not a url", "ftp://127.0.0.1/manifest.json"] {
        let err = fetch_manifest(url, store.path(), &fast_opts()).await.expect_err("error");
        assert!(matches!(err, HttpError::InvalidUrl { .. }), "{err:?}");
    }
}

#[tokio::test]
async fn concurrency_is_bounded() {
    let names: Vec<String> = (0..6).map(|i| format!("f{i}.xlsx")).collect();
    let bodies: Vec<Vec<u8>> = (0..6).map(|i| content(30 + i, 200)).collect();
    let listed: Vec<(&str, Option<&[u8]>)> =
        names.iter().zip(&bodies).map(|(n, b)| (n.as_str(), Some(b.as_slice()))).collect();
    let site =
        static_site(manifest_json(&listed), names.iter().map(String::as_str).zip(bodies.iter().cloned()).collect());
    let server = TestServer::start(move |req: &Request<'_>| Reply::Slow {
        delay: Duration::from_millis(100),
        reply: Box::new(site(req)),
    })
    .await;
    let store = tempfile::tempdir().expect("tempdir");
    let opts = HttpOptions { concurrency: 2, ..fast_opts() };
    let results = run(&server, store.path(), &opts).await;
    assert!(results.iter().all(|d| matches!(d.outcome, DownloadOutcome::Stored { .. })));
    let max = server.max_in_flight.load(Ordering::SeqCst);
    assert!((1..=2).contains(&max), "{max} requests at once");
}

#[test]
fn blocking_wrapper_works_outside_a_runtime() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let body = content(40, 777);
    let manifest = manifest_json(&[("a.xlsx", Some(&body))]);
    let server = rt.block_on(TestServer::start(static_site(manifest, vec![("a.xlsx", body)])));
    let store = tempfile::tempdir().expect("tempdir");
    let results = fetch_manifest_blocking(&server.url("/returns/manifest.json"), store.path(), &fast_opts(), None)
        .expect("fetched");
    assert!(matches!(results[0].outcome, DownloadOutcome::Stored { bytes: 777, .. }));
    drop(server);
}

#[tokio::test]
async fn blocking_wrapper_refuses_to_run_inside_a_runtime() {
    let store = tempfile::tempdir().expect("tempdir");
    let err =
        fetch_manifest_blocking("http://127.0.0.1:1/m.json", store.path(), &fast_opts(), None).expect_err("error");
    assert!(matches!(err, HttpError::Runtime(_)), "{err:?}");
}

/// Runs the pipeline on a manifest URL on a plain thread (the blocking fetch refuses to run
/// inside the test's runtime, which is busy serving).
async fn pipeline_on_url(url: String, out: PathBuf) -> bcf::tables::Tables {
    tokio::task::spawn_blocking(move || {
        std::thread::spawn(move || {
            let mut cfg = bcf::run::RunConfig::new(url, out);
            cfg.http = fast_opts();
            cfg.http.max_file_bytes = 16 * 1024 * 1024;
            bcf::run::run_all(&cfg).expect("run completes")
        })
        .join()
        .expect("pipeline thread")
    })
    .await
    .expect("blocking task")
}

fn sample_files() -> Vec<(String, Vec<u8>)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/samples");
    crate::support::fs::tree_bytes(&root).into_iter().collect()
}

fn published_outputs(out: &Path) -> Vec<(String, Vec<u8>)> {
    crate::support::published_bytes(out).into_iter().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifest_run_equals_the_folder_run() {
    let files = sample_files();
    assert!(files.len() > 20, "every sample: {}", files.len());
    let refs: Vec<(&str, Option<&[u8]>)> = files.iter().map(|(p, b)| (p.as_str(), Some(b.as_slice()))).collect();
    let manifest = manifest_json(&refs);
    let site: Vec<(&str, Vec<u8>)> = files.iter().map(|(p, b)| (p.as_str(), b.clone())).collect();
    // The handler needs 'static paths.
    let site: Vec<(&'static str, Vec<u8>)> =
        site.into_iter().map(|(p, b)| (&*Box::leak(p.to_string().into_boxed_str()), b)).collect();
    let server = TestServer::start(static_site(manifest, site)).await;

    let http_out = tempfile::tempdir().expect("tmp");
    let t = pipeline_on_url(server.url("/returns/manifest.json"), http_out.path().to_path_buf()).await;
    assert!(t.submissions.iter().all(|s| s.status == bcf::model::Status::Accepted), "{:?}", t.submissions);

    let folder_out = tempfile::tempdir().expect("tmp");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/samples");
    bcf::run::run_all(&bcf::run::RunConfig::new(root, folder_out.path())).expect("folder run");
    let (a, b) = (published_outputs(http_out.path()), published_outputs(folder_out.path()));
    assert_eq!(a.len(), b.len());
    for ((pa, da), (pb, db)) in a.iter().zip(&b) {
        assert_eq!(pa, pb);
        assert!(da == db, "{pa} differs between the manifest run and the folder run");
    }

    // A rerun downloads nothing: every file answers 304.
    server.clear_hits();
    pipeline_on_url(server.url("/returns/manifest.json"), http_out.path().to_path_buf()).await;
    let file_hits: Vec<Hit> = server.hits().into_iter().filter(|h| h.path != "/returns/manifest.json").collect();
    assert_eq!(file_hits.len(), files.len());
    assert!(file_hits.iter().all(|h| h.status == 304), "{file_hits:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_downloads_are_findings_and_the_run_completes() {
    let files = sample_files();
    let (good_path, good) = files.iter().find(|(p, _)| p.contains("York")).expect("york").clone();
    let wrong = b"not what the manifest says".to_vec();
    let manifest = serde_json::to_vec(&serde_json::json!({ "files": [
        { "path": good_path, "sha256": sha_hex(&good) },
        { "path": "2023-25/Missing.xlsx" },
        { "path": "2023-25/Tampered.xlsx", "sha256": sha_hex(b"something else") },
    ]}))
    .expect("json");
    let good_path: &'static str = Box::leak(good_path.into_boxed_str());
    let server =
        TestServer::start(static_site(manifest, vec![(good_path, good), ("2023-25/Tampered.xlsx", wrong)])).await;
    let out = tempfile::tempdir().expect("tmp");
    let t = pipeline_on_url(server.url("/returns/manifest.json"), out.path().to_path_buf()).await;
    let status = |p: &str| t.submissions.iter().find(|s| s.source_file == p).map(|s| s.status).expect("row");
    // Alone, without allocations, the return is accepted with an allocation-missing warning.
    assert_eq!(status(good_path), bcf::model::Status::AcceptedWithWarnings);
    for p in ["2023-25/Missing.xlsx", "2023-25/Tampered.xlsx"] {
        assert_eq!(status(p), bcf::model::Status::Rejected);
        let f = t.findings.iter().find(|f| f.source_file == p).expect("finding");
        assert_eq!(f.rule, bcf::model::Rule::DownloadFailed);
    }
    let tampered = t.findings.iter().find(|f| f.source_file == "2023-25/Tampered.xlsx").expect("finding");
    assert!(tampered.message.contains("SHA-256"), "{}", tampered.message);
    let missing = t.findings.iter().find(|f| f.source_file == "2023-25/Missing.xlsx").expect("finding");
    assert!(missing.message.contains("404"), "{}", missing.message);
}

// ---------------------------------------------------------------------------
// Staying where it was sent; bounded manifests

fn redirect(to: &str) -> Reply {
    Reply::Full { status: 302, headers: vec![("Location".into(), to.into())], body: Vec::new() }
}

#[tokio::test]
async fn a_redirect_to_another_port_is_not_followed_for_files_or_the_manifest() {
    let elsewhere = TestServer::start(|_req: &Request<'_>| Reply::ok(b"internal service")).await;
    let target = elsewhere.url("/admin");
    let t = target.clone();
    let server = one_file_server(None, move |_req: &Request<'_>| redirect(&t)).await;
    let store = tempfile::tempdir().expect("tempdir");
    let results = run(&server, store.path(), &fast_opts()).await;
    let reason = failed_reason(&results[0]);
    assert!(reason.contains("redirected") && reason.contains("does not follow"), "{reason}");
    assert_eq!(results[0].attempts, 1, "a refused redirect is not retried");
    assert!(elsewhere.hits().is_empty(), "nothing reached the other port");

    let manifest_redirects = TestServer::start(move |_req: &Request<'_>| redirect(&target)).await;
    let err = fetch_manifest(&manifest_redirects.url("/returns/manifest.json"), store.path(), &fast_opts())
        .await
        .expect_err("the manifest's redirect is refused");
    assert!(err.to_string().contains("does not follow"), "{err}");
    assert!(elsewhere.hits().is_empty());
}

#[tokio::test]
async fn a_redirect_within_the_same_origin_is_followed() {
    let body = content(31, 700);
    let manifest = manifest_json(&[("f.xlsx", Some(&body))]);
    let server = TestServer::start(move |req: &Request<'_>| match req.path {
        "/returns/manifest.json" => Reply::ok(&manifest),
        "/returns/f.xlsx" => redirect("/returns/moved/f.xlsx"),
        "/returns/moved/f.xlsx" => Reply::ok(&body),
        _ => Reply::status(404),
    })
    .await;
    let store = tempfile::tempdir().expect("tempdir");
    let results = run(&server, store.path(), &fast_opts()).await;
    assert!(matches!(&results[0].outcome, DownloadOutcome::Stored { bytes: 700, .. }), "{:?}", results[0]);
}

#[tokio::test]
async fn a_body_of_one_byte_a_second_is_cut_by_the_low_speed_limit() {
    let server = one_file_server(None, |_req: &Request<'_>| Reply::Trickle {
        content_length: 10_000,
        every: Duration::from_millis(500),
    })
    .await;
    let store = tempfile::tempdir().expect("tempdir");
    let window = Duration::from_secs(2);
    let opts = HttpOptions { low_speed_bytes: 100, low_speed_window: window, max_retries: 0, ..fast_opts() };
    let started = Instant::now();
    let results = run(&server, store.path(), &opts).await;
    let reason = failed_reason(&results[0]);
    assert!(reason.contains("slowed to") && reason.contains("the limit is 100 bytes per 2 s"), "{reason}");
    assert!(started.elapsed() < window * 3, "cut after {:?}", started.elapsed());
    assert!(files_in(&store.path().join("tmp")).is_empty(), "the partial body is removed");
}

#[tokio::test]
async fn a_manifest_over_the_entry_cap_is_refused_as_it_streams() {
    let files: Vec<serde_json::Value> =
        (0..50_000).map(|i| serde_json::json!({ "path": format!("{i}.xlsx") })).collect();
    let manifest = serde_json::to_vec(&serde_json::json!({ "files": files })).expect("json");
    let server = TestServer::start(static_site(manifest, vec![])).await;
    let store = tempfile::tempdir().expect("tempdir");
    let opts = HttpOptions { max_manifest_entries: 10_000, ..fast_opts() };
    let err = fetch_manifest(&server.url("/returns/manifest.json"), store.path(), &opts).await.expect_err("refused");
    let text = err.to_string();
    assert!(text.contains("more than 10000 files") && text.contains("--max-manifest-entries"), "{text}");
    assert_eq!(server.hits().len(), 1, "no file was requested");
    let small = HttpOptions { max_manifest_bytes: 1024, ..fast_opts() };
    let err = fetch_manifest(&server.url("/returns/manifest.json"), store.path(), &small).await.expect_err("refused");
    assert!(err.to_string().contains("larger than 1 KiB"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_listed_twice_is_an_error_on_the_repeat_and_the_return_still_counts() {
    let files = sample_files();
    let (york, body) = files.iter().find(|(p, _)| p.contains("York")).expect("york").clone();
    let manifest =
        serde_json::to_vec(&serde_json::json!({ "files": [{ "path": york }, { "path": york }] })).expect("json");
    let york: &'static str = Box::leak(york.into_boxed_str());
    let server = TestServer::start(static_site(manifest, vec![(york, body)])).await;
    let out = tempfile::tempdir().expect("tmp");
    let t = pipeline_on_url(server.url("/returns/manifest.json"), out.path().to_path_buf()).await;
    let status = |p: &str| t.submissions.iter().find(|s| s.source_file == p).map(|s| s.status).expect("row");
    assert!(status(york).contributes(), "{:?}", t.submissions);
    let repeat = format!("{york} (entry 2)");
    assert_eq!(status(&repeat), bcf::model::Status::Rejected);
    let f = t.findings.iter().find(|f| f.source_file == repeat).expect("a finding on the repeat");
    assert!(f.message.contains("lists") && f.message.contains("remove the repeated entry"), "{}", f.message);
    assert!(t.lines.iter().any(|l| *l.source_file == *york), "the return's money counts");
}

/// Downloads move the progress bar: one step per file, downloaded or failed, out of all.
#[tokio::test]
async fn each_download_tells_the_progress_bar() {
    let bodies = [content(1, 5000), content(2, 10)];
    let manifest = manifest_json(&[("a.xlsx", Some(&bodies[0])), ("b.xlsx", Some(&bodies[1])), ("gone.xlsx", None)]);
    let site = static_site(manifest, vec![("a.xlsx", bodies[0].clone()), ("b.xlsx", bodies[1].clone())]);
    let server = TestServer::start(site).await;
    let store = tempfile::tempdir().unwrap();
    let told: Arc<Mutex<Vec<(bcf::contract::Phase, u64, u64)>>> = Arc::default();
    let seen = told.clone();
    let progress =
        bcf::contract::Progress(Arc::new(move |phase, done, total| seen.lock().unwrap().push((phase, done, total))));
    install_crypto_provider();
    let url = server.url("/returns/manifest.json");
    let got =
        bcf::ingest::http::fetch_manifest_telling(&url, store.path(), &fast_opts(), Some(&progress)).await.unwrap();
    assert_eq!(got.len(), 3);
    let told = told.lock().unwrap().clone();
    let want: Vec<_> = (1..=3).map(|n| (bcf::contract::Phase::Downloading, n, 3)).collect();
    assert_eq!(told, want);
}
