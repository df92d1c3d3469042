//! # bcf-core: the validation core
//!
//! Bytes in, the parse and its findings out: reading an untrusted workbook with every guard
//! (`workbook`), the template schemas (`schema`), the per-file rules and the minimum checks
//! against published allocations (`validate`), findings and money (`model`, `money`), the
//! reference areas (`reference`), one file's check as an area sees it (`check`) and the
//! feedback CSV (`feedback`).
//!
//! The national pipeline (`bcf run`), `bcf check` and the self-check page (this crate compiled
//! to WebAssembly) all use it, so a file gets the same findings, in the same words, from each.
//!
//! Invariants:
//! - No file system, process, thread, clock or network use: whoever calls supplies the bytes
//!   (schemas, reference areas, the workbook). The crate builds for `wasm32-unknown-unknown`.
//! - Validation never fails: a bad return is findings, never `Err`.
//! - Template specifics live in the schemas, never in Rust.
//! - Money is `Pence` (i128) from the moment a cell is read.

pub mod check;
pub mod feedback;
pub mod model;
pub mod money;
pub mod reference;
pub mod schema;
pub mod validate;
pub mod workbook;
