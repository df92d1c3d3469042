//! The self-check page (`bcf selfcheck-page`, which `make selfcheck` runs): one HTML file that
//! checks a return in the browser with the validation core compiled to WebAssembly
//! (`crates/bcf-selfcheck`), the published allocations it is built with, and nothing else.
//! Everything is inlined — script, style, the validator and its schemas — under a Content
//! Security Policy that forbids every connection, so the page works from `file://`, a shared
//! drive or any web server, and nothing a person checks leaves their computer.

use crate::report::escape::Html;
use crate::validate::AllocationTable;
use base64::Engine as _;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// A page's memory for checking one file when none is given, in MiB: bcf's own limit for
/// reading one file in the national run (`Limits::max_worker_address_space_mib`).
pub const DEFAULT_MEMORY_MIB: u64 = 2048;
/// A page's time for checking one file when none is given (a return takes well under a second).
pub const DEFAULT_TIME_LIMIT_MS: u64 = 60_000;

const TEMPLATE: &str = include_str!("../../crates/bcf-selfcheck/page/index.html");
const STYLE: &str = include_str!("../../crates/bcf-selfcheck/page/page.css");
const SCRIPT: &str = include_str!("../../crates/bcf-selfcheck/page/page.js");
const WORKER: &str = include_str!("../../crates/bcf-selfcheck/page/worker.js");
/// The validator's file in the package folder (`make selfcheck` copies it there).
pub const WASM_FILE: &str = "bcf_selfcheck.wasm";

/// What a page is built from.
pub struct PageSettings {
    /// The folder holding the validator, [`WASM_FILE`].
    pub pkg: PathBuf,
    pub allocations: AllocationTable,
    pub memory_mib: u64,
    pub time_limit_ms: u64,
}

/// What the page's script hands the validator (`crates/bcf-selfcheck`'s `Config`).
#[derive(Serialize)]
struct Config<'a> {
    allocations: &'a AllocationTable,
    memory_mib: u64,
    time_limit_ms: u64,
}

/// Why a page could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("cannot read {path} ({cause}): run `make selfcheck`, which builds the validator first")]
    Missing { path: PathBuf, cause: std::io::Error },
    #[error("{0} would end the page's inline element early")]
    Unsafe(&'static str),
}

/// The page's HTML.
pub fn build(s: &PageSettings) -> Result<String, PageError> {
    let read = |name: &str| -> Result<Vec<u8>, PageError> {
        let path = s.pkg.join(name);
        std::fs::read(&path).map_err(|cause| PageError::Missing { path, cause })
    };
    let worker = WORKER.to_string();
    let config = Config { allocations: &s.allocations, memory_mib: s.memory_mib, time_limit_ms: s.time_limit_ms };
    let config = serde_json::to_string(&config).unwrap_or_default().replace('<', "\\u003c");
    for (what, text, end) in
        [("the script", SCRIPT, "</script"), ("the worker", &worker, "</script"), ("the style", STYLE, "</style")]
    {
        if text.to_ascii_lowercase().contains(end) {
            return Err(PageError::Unsafe(what));
        }
    }
    let held = crate::check::allocations_held(&s.allocations);
    let fills = [
        ("{{CSP}}", csp(SCRIPT, STYLE)),
        ("{{STYLE}}", STYLE.to_string()),
        ("{{ALLOCATIONS_HELD}}", Html(&held).to_string()),
        ("{{VERSION}}", env!("CARGO_PKG_VERSION").to_string()),
        ("{{CONFIG}}", config),
        ("{{WORKER}}", worker),
        ("{{WASM}}", packed(&read(WASM_FILE)?)),
        ("{{SCRIPT}}", SCRIPT.to_string()),
    ];
    // Filled in order, each once, so nothing a fill brings in is taken for a placeholder.
    let mut page = String::with_capacity(TEMPLATE.len() + fills.iter().map(|(_, v)| v.len()).sum::<usize>());
    let mut rest = TEMPLATE;
    for (placeholder, value) in &fills {
        let Some((before, after)) = rest.split_once(placeholder) else { continue };
        page.push_str(before);
        page.push_str(value);
        rest = after;
    }
    page.push_str(rest);
    Ok(page)
}

/// The policy: the page's own script and style (by hash), WebAssembly, a worker made from the
/// page itself; no connection, frame, form, plug-in or image of any kind.
fn csp(script: &str, style: &str) -> String {
    let hash = |text: &str| base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes()));
    format!(
        "default-src 'none'; script-src 'sha256-{}' 'wasm-unsafe-eval'; worker-src blob:; style-src 'sha256-{}'; \
         connect-src 'none'; img-src 'none'; font-src 'none'; media-src 'none'; object-src 'none'; frame-src 'none'; \
         form-action 'none'; base-uri 'none'",
        hash(script),
        hash(style)
    )
}

/// The validator as the page carries it: gzip (which the browser unpacks itself), in base64.
fn packed(wasm: &[u8]) -> String {
    let mut gz = flate2::GzBuilder::new().write(Vec::new(), flate2::Compression::best());
    let _ = gz.write_all(wasm); // writing into memory cannot fail
    base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap_or_default())
}

/// Writes the page to `out` (through a temporary file, so a half-written page is never seen).
pub fn write(out: &Path, page: &str) -> std::io::Result<()> {
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    crate::store::atomic::write_bytes_atomic(out, page.as_bytes(), crate::store::atomic::Durability::Synced)
}
