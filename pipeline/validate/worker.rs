//! `.xls` workbooks are read in a worker process under an address-space limit.
//!
//! calamine's `.xls` reader holds every sheet densely while the workbook is open: a stray
//! value in IV65536 costs about 1 GB, which the pre-scan in `workbook::biff` allows so that
//! such a return is still read. In the `bcf` binary that read happens in a child process
//! (`bcf parse-worker`) that first lowers its own address space to its share of the run's
//! memory budget (`crate::budget`: bcf's own limit, [`Limits::max_worker_address_space_mib`],
//! or less), and no more run at once than the budget holds: an allocation beyond the limit
//! aborts the worker only, and the file gets a `file-too-large` finding naming the limit; the
//! run and every other file's result go on. The other formats are read by bounded streaming
//! readers in process.

use super::{LimitSetBy, MemoryLimit, ParsedFile};
use crate::budget::Workers;
use crate::model::{Finding, Rule};
use crate::workbook::Limits;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Condvar, Mutex};

/// The workers of a run: where they start from, each one's address space and who set it, and
/// how many are running (at most `workers.at_once`).
#[derive(Debug)]
pub struct Pool {
    exe: PathBuf,
    schemas_dir: PathBuf,
    workers: Workers,
    running: Mutex<usize>,
    freed: Condvar,
}

impl Pool {
    pub fn new(exe: PathBuf, schemas_dir: PathBuf, workers: Workers) -> Pool {
        Pool { exe, schemas_dir, workers, running: Mutex::new(0), freed: Condvar::new() }
    }

    /// Parses `bytes` in a worker once one may start. `Err` is a finding about the machine or
    /// the run's budget, not the file (no worker could be started, or it ran out of a memory
    /// limit that is not bcf's own): such a verdict is never cached, so a run with more
    /// memory reads the file again.
    pub fn parse(&self, limits: &Limits, bytes: Vec<u8>) -> Result<ParsedFile, Finding> {
        let _slot = self.slot();
        let limits = Limits { max_worker_address_space_mib: self.workers.mib, ..*limits };
        match parse(&self.exe, &self.schemas_dir, &limits, bytes) {
            Ok(Reply::Parsed(parsed)) => Ok(*parsed),
            Ok(Reply::OutOfMemory { detail }) => {
                let limit = memory_limit(self.workers.mib, &self.workers.set_by);
                let finding = super::needs_more_memory(&limit).with_detail(Some(detail));
                match limit.set_by {
                    LimitSetBy::Bcf => Ok(ParsedFile::failed(finding)),
                    _ => Err(finding),
                }
            }
            Err(why) => {
                let message = "bcf could not start a process to read this .xls workbook; run again (the machine may be short of processes or memory)";
                Err(Finding::file(Rule::FileUnreadable, message).with_detail(Some(why)))
            }
        }
    }

    /// A place among the workers running at once, held until dropped.
    fn slot(&self) -> Slot<'_> {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        while *running >= self.workers.at_once.max(1) {
            running = self.freed.wait(running).unwrap_or_else(|p| p.into_inner());
        }
        *running += 1;
        Slot(self)
    }
}

struct Slot<'a>(&'a Pool);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        *self.0.running.lock().unwrap_or_else(|p| p.into_inner()) -= 1;
        self.0.freed.notify_one();
    }
}

/// How a worker ended.
enum Reply {
    Parsed(Box<ParsedFile>),
    /// It died before answering: past its address space (or killed), with its first log line.
    OutOfMemory {
        detail: String,
    },
}

/// What a worker sends back on its standard output.
#[derive(Debug, Serialize, Deserialize)]
pub struct WorkerReply {
    pub parsed: ParsedFile,
}

/// The hidden subcommand a worker runs.
pub const COMMAND: &str = "parse-worker";

/// A compound-file (`.xls`) signature.
pub fn is_xls(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1])
}

/// Parses `bytes` in a worker started from `exe`. `Err` when no worker could be started or
/// heard from.
fn parse(exe: &Path, schemas_dir: &Path, limits: &Limits, bytes: Vec<u8>) -> Result<Reply, String> {
    let limits_json = serde_json::to_string(limits).map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .arg(COMMAND)
        .arg("--schemas")
        .arg(schemas_dir)
        .arg("--limits")
        .arg(limits_json)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start a reader process ({}): {e}", exe.display()))?;
    let mut stdin = child.stdin.take().ok_or("no pipe to the reader process")?;
    let feeder = std::thread::spawn(move || stdin.write_all(&bytes));
    // Its logs are drained as they come (a full pipe would stall it); the first lines are kept.
    let mut errors = child.stderr.take().ok_or("no pipe from the reader process")?;
    let logs = std::thread::spawn(move || {
        let mut first = String::new();
        let _ = errors.by_ref().take(4096).read_to_string(&mut first);
        let _ = std::io::copy(&mut errors, &mut std::io::sink());
        first
    });
    let mut reply = Vec::new();
    let mut stdout = child.stdout.take().ok_or("no pipe from the reader process")?;
    stdout.read_to_end(&mut reply).map_err(|e| format!("cannot hear from the reader process: {e}"))?;
    let status = child.wait().map_err(|e| format!("cannot wait for the reader process: {e}"))?;
    let _ = feeder.join(); // a worker that died early closes the pipe: its status says why
    let stderr = logs.join().unwrap_or_default();
    if status.success() {
        if let Ok(WorkerReply { parsed }) = serde_json::from_slice(&reply) {
            return Ok(Reply::Parsed(Box::new(parsed)));
        }
    }
    Ok(Reply::OutOfMemory { detail: format!("reader process {status}: {}", stderr.lines().next().unwrap_or("")) })
}

/// The worker's side: limit this process, read the workbook from standard input, write its
/// parse to standard output.
pub fn serve(schemas_dir: PathBuf, limits: Limits) -> Result<(), String> {
    limit_address_space(limits.max_worker_address_space_mib)?;
    let (schemas, areas) = crate::load::all(&schemas_dir).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    std::io::stdin().read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    let ctx = super::Context { schemas: &schemas, areas: &areas, limits };
    let parsed = super::stage::parse_catching_panics(bytes, &ctx);
    let out = std::io::stdout().lock();
    serde_json::to_writer(out, &WorkerReply { parsed }).map_err(|e| e.to_string())
}

/// The bytes of address space a worker gets: `mib`, or less where this process (and so the
/// worker) is already limited.
fn address_space(mib: u64) -> u64 {
    (mib << 20).min(hard_address_space_limit())
}

#[cfg(unix)]
fn hard_address_space_limit() -> u64 {
    rlimit::getrlimit(rlimit::Resource::AS).map_or(u64::MAX, |(_, hard)| hard)
}

#[cfg(not(unix))]
fn hard_address_space_limit() -> u64 {
    u64::MAX
}

/// The limit a worker that ran out of memory had, and whose it was: `mib` as `set_by` set it,
/// or the machine's lower address-space limit.
fn memory_limit(mib: u64, set_by: &LimitSetBy) -> MemoryLimit {
    let hard = hard_address_space_limit();
    if (mib << 20) <= hard {
        MemoryLimit { mib, set_by: set_by.clone() }
    } else {
        MemoryLimit { mib: hard >> 20, set_by: LimitSetBy::AddressSpace }
    }
}

#[cfg(unix)]
fn limit_address_space(mib: u64) -> Result<(), String> {
    let (_, hard) = rlimit::getrlimit(rlimit::Resource::AS).map_err(|e| e.to_string())?;
    rlimit::setrlimit(rlimit::Resource::AS, address_space(mib), hard).map_err(|e| e.to_string())
}

#[cfg(not(unix))]
fn limit_address_space(_mib: u64) -> Result<(), String> {
    Ok(())
}
