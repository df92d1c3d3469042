//! What a person sees on standard error while bcf works: log lines (human, or JSON with a
//! flag), notices (`bcf: …`), and on a terminal a progress bar for downloads, hashing and
//! validation. Lines are printed above the bar, never through it; per-file lines (one a file,
//! a thousand at national scale) are left out while the bar shows progress instead; the bar
//! leaves no line behind. Without a terminal, with JSON logs or `--quiet`, there is no bar and
//! the logs are unchanged. Everything typed by areas reaches the terminal with control
//! characters escaped.

use crate::contract::{Phase, Progress, FILE_EVENTS};
use crate::report::escape::{for_terminal, Terminal};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

/// The bar, while there is one.
static BAR: OnceLock<ProgressBar> = OnceLock::new();
/// Whether standard error carries JSON logs (then notices are log events too).
static JSON_LOGS: AtomicBool = AtomicBool::new(false);
/// Whether only warnings and errors go to standard error (`--quiet`).
static QUIET: AtomicBool = AtomicBool::new(false);

/// Sets up logging (`BCF_LOG` overrides the level) and, for a person at a terminal with human
/// logs and not `--quiet`, the progress bar.
pub fn init(json: bool, quiet: bool) {
    JSON_LOGS.store(json, Ordering::Relaxed);
    QUIET.store(quiet, Ordering::Relaxed);
    let bar = !quiet && !json && std::io::stderr().is_terminal();
    if bar {
        let _ = BAR.set(progress_bar());
    }
    let default = match (quiet, bar) {
        (true, _) => "warn".to_string(),
        (false, true) => format!("info,{FILE_EVENTS}=warn"),
        (false, false) => "info".to_string(),
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("BCF_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if json {
        builder.with_writer(std::io::stderr).json().flatten_event(true).with_current_span(true).init();
    } else {
        // Human logs quote what areas typed (file and sheet names): every control character is
        // escaped on the way out, so no colours either.
        builder.with_ansi(false).with_writer(|| AboveTheBar).init();
    }
}

fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::hidden();
    bar.set_draw_target(ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {pos}/{len} files {wide_bar} {eta}") {
        bar.set_style(style);
    }
    bar
}

/// The progress callback that moves the bar, if there is one.
pub fn progress() -> Option<Progress> {
    let bar = BAR.get()?.clone();
    Some(Progress(Arc::new(move |phase: Phase, done, total| {
        if bar.message() != phase.verb() {
            bar.reset();
            bar.set_length(total);
            bar.set_message(phase.verb());
        }
        bar.set_length(total);
        bar.set_position(done);
    })))
}

/// Removes the bar, leaving no line behind: before a command prints its results.
pub fn clear_bar() {
    if let Some(bar) = BAR.get() {
        bar.finish_and_clear();
    }
}

/// A line for the operator on standard error: `bcf: …`, or a JSON log event with JSON logs;
/// with `--quiet`, warnings only.
pub fn notice(warning: bool, message: &str) {
    if !warning && QUIET.load(Ordering::Relaxed) {
        return;
    }
    match (JSON_LOGS.load(Ordering::Relaxed), warning) {
        (true, true) => tracing::warn!("{message}"),
        (true, false) => tracing::info!("{message}"),
        (false, true) => error_line(&format!("bcf: warning: {}", Terminal(message))),
        (false, false) => error_line(&format!("bcf: {}", Terminal(message))),
    }
}

/// One line on standard error, above the bar if there is one.
pub fn error_line(line: &str) {
    above_the_bar(format!("{line}\n").as_bytes());
}

fn above_the_bar(bytes: &[u8]) {
    let write = || {
        let _ = std::io::stderr().lock().write_all(bytes);
    };
    match BAR.get() {
        Some(bar) if !bar.is_finished() => bar.suspend(write),
        _ => write(),
    }
}

/// Standard error for log lines: control characters (but line breaks) escaped, and printed
/// above the bar.
struct AboveTheBar;

impl Write for AboveTheBar {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        above_the_bar(for_terminal(&String::from_utf8_lossy(buf)).as_bytes());
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}
