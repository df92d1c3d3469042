//! # bcf: the Better Care Fund returns pipeline
//!
//! Four stages, each a module with plain functions, sequenced by `run` over the output
//! folder that `store` keeps sound:
//!
//! ```text
//! ingest ──► validate ──► normalise ──► aggregate ──► publish
//! (files,    (per file:    (rows that     (national and  (a snapshot,
//!  hashes,    lines,        count, §6.1;   area totals,   made visible
//!  dupes)     findings;     Parquet)       changes since  in one step)
//!             then the rules               the last
//!             across files and             publish,
//!             the decisions)               reports)
//! ```
//!
//! Each file is read and checked by the validation core, `bcf-core` (re-exported here as
//! `model`, `money`, `reference`, `schema` and `workbook`, and inside `validate`): the same
//! code `bcf check` and the self-check page run. The stages and `run` share the vocabulary in
//! `contract`, below both.
//!
//! Invariants:
//! - Template specifics live in `schemas/`, never in Rust: a new template year is a new file.
//! - Validation never fails: a bad return is findings, never `Err` and never a panic that
//!   escapes its file. `Err` means the pipeline itself cannot do its job (I/O, schemas).
//! - Money is `Pence` (i128) from extraction on; never `f64` after a cell is read.
//! - Outputs appear only as whole snapshots; Parquet holds no times or run ids, so the same
//!   inputs (and the same previous publish, for `changes.parquet`) give byte-identical files.
//! - One command writes an output folder at a time, and bcf removes only files it wrote.

pub use bcf_core::{check, feedback, model, money, reference, schema, workbook};

/// Appends formatted text to a `String` (rust-analyzer's `stdx::format_to!`): writing into a
/// `String` cannot fail, so the `fmt::Result` is dropped here, in one place.
#[macro_export]
macro_rules! format_to {
    ($buf:expr, $($arg:tt)*) => {{
        use ::std::fmt::Write as _;
        let _ = ::std::write!($buf, $($arg)*);
    }};
}

/// [`format_to!`] and a line break.
#[macro_export]
macro_rules! format_line_to {
    ($buf:expr, $($arg:tt)*) => {{
        use ::std::fmt::Write as _;
        let _ = ::std::writeln!($buf, $($arg)*);
    }};
}

pub mod aggregate;
pub mod budget;
pub mod clock;
pub mod console;
pub mod contract;
pub mod error;
pub mod explain;
pub mod ingest;
pub mod load;
pub mod normalise;
mod parallel;
pub mod report;
pub mod run;
pub mod selfcheck;
pub mod status;
pub mod store;
pub mod tables;
pub mod validate;
