//! The self-check page's validator: the validation core (`bcf-core`) compiled to WebAssembly,
//! with the schemas and reference areas compiled in. The page's worker (`page/worker.js`) calls
//! it, one file at a time; it reads nothing but the bytes it is given.
//!
//! The interface is plain WebAssembly, with no generated glue: the worker asks for memory
//! (`bcf_alloc`) and copies each argument into it, calls `bcf_init`, `bcf_check` or
//! `bcf_failed` (each takes ownership of the arguments' memory), and reads the answer, JSON
//! text, from `bcf_answer_ptr`/`bcf_answer_len`; a call returns 0 when the answer is the result
//! and 1 when it is an error message. The validator imports one function, `bcf.reader_panicked`,
//! told a panic's message before the panic aborts (and the placeholders zip's random-number
//! source links in, which reading never calls: the worker answers them by refusing).
//!
//! What it answers is `bcf check`'s: the same `FileCheck` for a file, the same view of it and
//! the same feedback CSV. A file that breaks a reader (a panic, which aborts WebAssembly) or
//! passes the page's memory limit stops the worker; the page then asks a fresh worker for the
//! finding ([`failed`]), as the national run turns a reader's panic or a worker out of memory
//! into a finding.

use bcf_core::check::{allocations_held, not_checked, FileCheck, View};
use bcf_core::model::Finding;
use bcf_core::reference::Areas;
use bcf_core::schema::{SchemaFiles, SchemaSet};
use bcf_core::validate::{self, AllocationTable, Context, LimitSetBy, MemoryLimit, ParsedFile};
use bcf_core::workbook::Limits;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;

include!(concat!(env!("OUT_DIR"), "/schemas.rs"));

/// Every allocation is counted, and one past the page's limit fails (aborting the check).
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, usize::MAX);

/// What the page is built with (`bcf selfcheck-page`): the published allocations it holds and
/// its limits for one file.
#[derive(Debug, Deserialize)]
struct Config {
    allocations: AllocationTable,
    memory_mib: u64,
    time_limit_ms: u64,
}

/// What the page shows before any file is checked, and the limits it enforces.
#[derive(Serialize)]
struct Info {
    /// The templates it knows, by description, in catalogue order.
    templates: Vec<String>,
    /// Names the schemas compiled in (the national run's `bcf.template_schemas`).
    schemas: String,
    allocations_held: String,
    not_checked: Vec<String>,
    max_file_bytes: u64,
    memory_mib: u64,
    time_limit_ms: u64,
}

/// One file's answer: the check exactly as `bcf check --format json` gives it, what the page
/// shows of it, and its feedback CSV.
#[derive(Serialize)]
struct Answer {
    check: FileCheck,
    view: View,
    csv: String,
}

struct Validator {
    schemas: SchemaSet,
    areas: Areas,
    config: Config,
}

thread_local! {
    static VALIDATOR: RefCell<Option<Validator>> = const { RefCell::new(None) };
}

thread_local! {
    /// The last call's answer, read by the worker through `bcf_answer_ptr`/`bcf_answer_len`.
    static ANSWER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

#[cfg(target_arch = "wasm32")]
#[link(wasm_import_module = "bcf")]
extern "C" {
    /// Told the panic message before a panic aborts: the worker reports it as the detail.
    #[link_name = "reader_panicked"]
    fn reader_panicked_import(ptr: *const u8, len: usize);
}

fn reader_panicked(message: &str) {
    #[cfg(target_arch = "wasm32")]
    // SAFETY: the worker reads `len` bytes at `ptr`, which live until this call returns.
    unsafe {
        reader_panicked_import(message.as_ptr(), message.len())
    };
    #[cfg(not(target_arch = "wasm32"))]
    let _ = message;
}

/// An error for the worker, as text.
struct Error(String);

impl<E: std::fmt::Display> From<E> for Error {
    fn from(e: E) -> Error {
        Error(e.to_string())
    }
}

/// Memory for `len` bytes of an argument, which the call it is passed to takes back.
#[no_mangle]
pub extern "C" fn bcf_alloc(len: usize) -> *mut u8 {
    let mut v = std::mem::ManuallyDrop::new(Vec::<u8>::with_capacity(len));
    v.as_mut_ptr()
}

/// Where the last answer is.
#[no_mangle]
pub extern "C" fn bcf_answer_ptr() -> *const u8 {
    ANSWER.with(|a| a.borrow().as_ptr())
}

/// How long the last answer is.
#[no_mangle]
pub extern "C" fn bcf_answer_len() -> usize {
    ANSWER.with(|a| a.borrow().len())
}

/// An argument's bytes, taken back from the worker.
///
/// # Safety
/// `ptr` came from `bcf_alloc(len)` and the worker wrote `len` bytes there.
unsafe fn taken(ptr: *mut u8, len: usize) -> Vec<u8> {
    Vec::from_raw_parts(ptr, len, len)
}

/// An argument's text, taken back from the worker (see [`taken`]).
unsafe fn taken_text(ptr: *mut u8, len: usize) -> String {
    String::from_utf8_lossy(&taken(ptr, len)).into_owned()
}

/// Keeps a call's answer for the worker; 0 for a result, 1 for an error.
fn reply(result: Result<String, Error>) -> u32 {
    let (status, text) = match result {
        Ok(text) => (0, text),
        Err(Error(message)) => (1, message),
    };
    ANSWER.with(|a| *a.borrow_mut() = text.into_bytes());
    status
}

/// [`init`] for the worker: the configuration's JSON at `ptr`.
///
/// # Safety
/// As [`taken`].
#[no_mangle]
pub unsafe extern "C" fn bcf_init(ptr: *mut u8, len: usize) -> u32 {
    reply(init(&taken_text(ptr, len)))
}

/// [`check`] for the worker: the file's name, its size, and its bytes if `has_bytes`.
///
/// # Safety
/// As [`taken`], for the name and, if `has_bytes`, the bytes.
#[no_mangle]
pub unsafe extern "C" fn bcf_check(
    name_ptr: *mut u8,
    name_len: usize,
    size: f64,
    bytes_ptr: *mut u8,
    bytes_len: usize,
    has_bytes: u32,
) -> u32 {
    let name = taken_text(name_ptr, name_len);
    let bytes = (has_bytes != 0).then(|| taken(bytes_ptr, bytes_len));
    reply(check(&name, size, bytes))
}

/// [`failed`] for the worker: the file's name, the cause, and a detail if `has_detail`.
///
/// # Safety
/// As [`taken`], for each text given.
#[no_mangle]
pub unsafe extern "C" fn bcf_failed(
    name_ptr: *mut u8,
    name_len: usize,
    cause_ptr: *mut u8,
    cause_len: usize,
    detail_ptr: *mut u8,
    detail_len: usize,
    has_detail: u32,
) -> u32 {
    let (name, cause) = (taken_text(name_ptr, name_len), taken_text(cause_ptr, cause_len));
    let detail = (has_detail != 0).then(|| taken_text(detail_ptr, detail_len));
    reply(failed(&name, &cause, detail))
}

/// Loads the compiled-in schemas and the page's configuration (JSON); the page's `Info` (JSON).
fn init(config_json: &str) -> Result<String, Error> {
    let config: Config = serde_json::from_str(config_json)?;
    let files: SchemaFiles = SCHEMA_FILES.iter().map(|(rel, bytes)| (rel.to_string(), bytes.to_vec())).collect();
    let schemas = bcf_core::schema::from_files(&files)
        .map_err(|problems| Error(format!("the page's schemas are broken: {problems:?}")))?;
    let areas = Areas::from_csv(AREAS_CSV).map_err(|e| Error(format!("the page's areas: {e}")))?;
    #[cfg(target_arch = "wasm32")]
    ALLOCATOR
        .set_limit((config.memory_mib << 20) as usize)
        .map_err(|_| Error("the page's memory limit is below what is already in use".into()))?;
    std::panic::set_hook(Box::new(|info| reader_panicked(&validate::panic_message(info.payload()))));
    let info = Info {
        templates: schemas
            .templates
            .iter()
            .filter(|t| t.kind == bcf_core::schema::TemplateKind::Return)
            .map(|t| t.description.clone())
            .collect(),
        schemas: schemas.fingerprint(),
        allocations_held: allocations_held(&config.allocations),
        not_checked: not_checked(&config.allocations),
        max_file_bytes: Limits::default().max_inflated_bytes,
        memory_mib: config.memory_mib,
        time_limit_ms: config.time_limit_ms,
    };
    VALIDATOR.with(|v| *v.borrow_mut() = Some(Validator { schemas, areas, config }));
    Ok(serde_json::to_string(&info)?)
}

/// Checks one file: `size` is its length, `bytes` its content (`None` when the page did not read
/// it, being past the size limit). The `Answer` (JSON).
fn check(file_name: &str, size: f64, bytes: Option<Vec<u8>>) -> Result<String, Error> {
    with_validator(|v| {
        let limits = Limits::default();
        let done = FileCheck::before_reading(file_name, size as u64, &limits, &v.schemas);
        let check = match (done, bytes) {
            (Some(done), _) => done,
            (None, Some(bytes)) => {
                let ctx = Context { schemas: &v.schemas, areas: &v.areas, limits };
                FileCheck::of(file_name, validate::parse(bytes, &ctx), &v.config.allocations, &v.schemas)
            }
            (None, None) => return Err(Error("the file's bytes are needed to check it".into())),
        };
        answer(v, check)
    })
}

/// The answer for a file whose check did not finish in the worker: `cause` is `reader` (a
/// reader failed; `detail` is its panic message), `memory` (past the page's memory limit) or
/// `time` (past its time limit).
fn failed(file_name: &str, cause: &str, detail: Option<String>) -> Result<String, Error> {
    with_validator(|v| {
        let finding: Finding = match cause {
            "reader" => validate::reader_failed(detail.as_deref()),
            "memory" => {
                validate::needs_more_memory(&MemoryLimit { mib: v.config.memory_mib, set_by: LimitSetBy::Page })
            }
            "time" => validate::takes_too_long(v.config.time_limit_ms),
            other => return Err(Error(format!("unknown cause {other}"))),
        };
        answer(v, FileCheck::of(file_name, ParsedFile::failed(finding), &AllocationTable::default(), &v.schemas))
    })
}

fn answer(v: &Validator, check: FileCheck) -> Result<String, Error> {
    let csv = bcf_core::feedback::of_check(&check).map_err(|e| Error(e.to_string()))?;
    let answer = Answer { view: check.view(&v.schemas), csv: String::from_utf8_lossy(&csv).into_owned(), check };
    Ok(serde_json::to_string(&answer)?)
}

fn with_validator<T>(f: impl FnOnce(&Validator) -> Result<T, Error>) -> Result<T, Error> {
    VALIDATOR.with(|v| match v.borrow().as_ref() {
        Some(v) => f(v),
        None => Err(Error("call init first".into())),
    })
}
