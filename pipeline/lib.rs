//! # bcf: the Better Care Fund returns pipeline
//!
//! Four stages, each a module with plain functions:
//!
//! ```text
//! ingest ──► validate ──► normalise ──► aggregate
//! (files,    (per file:    (rows, Parquet  (national totals,
//!  hashes,    lines,        with Hive       baseline ratio,
//!  dupes)     findings;     partitions)     report)
//!             then cross-file rules)
//! ```
//!
//! Invariants:
//! - Template specifics live in `schemas/`, never in Rust: a new template year is a new file.
//! - Validation never fails: a bad return is findings, never `Err` and never a panic that
//!   escapes its file. `Err` means the pipeline itself cannot do its job (I/O, schemas).
//! - Money is `Pence` (i128) from extraction on; never `f64` after a cell is read.
//! - Outputs appear only by atomic rename; Parquet holds no times or run ids, so the same
//!   inputs give byte-identical files.

pub mod aggregate;
pub mod explain;
pub mod fixtures;
pub mod ingest;
pub mod model;
pub mod money;
pub mod normalise;
pub mod record;
pub mod reference;
pub mod run;
pub mod schema;
pub mod state;
pub mod status;
pub mod tables;
pub mod validate;
pub mod workbook;
