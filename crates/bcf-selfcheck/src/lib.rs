//! The self-check page's validator: the validation core (`bcf-core`) compiled to WebAssembly,
//! with the schemas and reference areas compiled in. The page's worker (`page/worker.js`) calls
//! it, one file at a time; it reads nothing but the bytes it is given.
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
use wasm_bindgen::prelude::*;

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

#[wasm_bindgen]
extern "C" {
    /// Told the panic message before a panic aborts: the worker reports it as the detail.
    #[wasm_bindgen(js_name = bcfReaderPanicked)]
    fn reader_panicked(message: &str);
}

/// Loads the compiled-in schemas and the page's configuration (JSON); the page's `Info` (JSON).
#[wasm_bindgen]
pub fn init(config_json: &str) -> Result<String, JsError> {
    let config: Config = serde_json::from_str(config_json)?;
    let files: SchemaFiles = SCHEMA_FILES.iter().map(|(rel, bytes)| (rel.to_string(), bytes.to_vec())).collect();
    let schemas = bcf_core::schema::from_files(&files)
        .map_err(|problems| JsError::new(&format!("the page's schemas are broken: {problems:?}")))?;
    let areas = Areas::from_csv(AREAS_CSV).map_err(|e| JsError::new(&format!("the page's areas: {e}")))?;
    #[cfg(target_arch = "wasm32")]
    ALLOCATOR
        .set_limit((config.memory_mib << 20) as usize)
        .map_err(|_| JsError::new("the page's memory limit is below what is already in use"))?;
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
#[wasm_bindgen]
pub fn check(file_name: &str, size: f64, bytes: Option<Vec<u8>>) -> Result<String, JsError> {
    with_validator(|v| {
        let limits = Limits::default();
        let done = FileCheck::before_reading(file_name, size as u64, &limits, &v.schemas);
        let check = match (done, bytes) {
            (Some(done), _) => done,
            (None, Some(bytes)) => {
                let ctx = Context { schemas: &v.schemas, areas: &v.areas, limits };
                FileCheck::of(file_name, validate::parse(bytes, &ctx), &v.config.allocations, &v.schemas)
            }
            (None, None) => return Err(JsError::new("the file's bytes are needed to check it")),
        };
        answer(v, check)
    })
}

/// The answer for a file whose check did not finish in the worker: `cause` is `reader` (a
/// reader failed; `detail` is its panic message), `memory` (past the page's memory limit) or
/// `time` (past its time limit).
#[wasm_bindgen]
pub fn failed(file_name: &str, cause: &str, detail: Option<String>) -> Result<String, JsError> {
    with_validator(|v| {
        let finding: Finding = match cause {
            "reader" => validate::reader_failed(detail.as_deref()),
            "memory" => {
                validate::needs_more_memory(&MemoryLimit { mib: v.config.memory_mib, set_by: LimitSetBy::Page })
            }
            "time" => validate::takes_too_long(v.config.time_limit_ms),
            other => return Err(JsError::new(&format!("unknown cause {other}"))),
        };
        answer(v, FileCheck::of(file_name, ParsedFile::failed(finding), &AllocationTable::default(), &v.schemas))
    })
}

fn answer(v: &Validator, check: FileCheck) -> Result<String, JsError> {
    let csv = bcf_core::feedback::of_check(&check).map_err(|e| JsError::new(&e.to_string()))?;
    let answer = Answer { view: check.view(&v.schemas), csv: String::from_utf8_lossy(&csv).into_owned(), check };
    Ok(serde_json::to_string(&answer)?)
}

fn with_validator<T>(f: impl FnOnce(&Validator) -> Result<T, JsError>) -> Result<T, JsError> {
    VALIDATOR.with(|v| match v.borrow().as_ref() {
        Some(v) => f(v),
        None => Err(JsError::new("call init first")),
    })
}
