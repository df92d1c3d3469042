//! Builds BCF workbooks by code, for tests, the demo and benchmarks. It stands in for the
//! people and software that fill the templates in, not for the reader of them: a return's
//! layout is taken from its template's schema (`schemas/templates/<id>.toml`), so a new
//! template year needs no change here.
//!
//! A declarative spec ([`ReturnSpec`], [`AllocationsSpec`]) describes a workbook; `write`
//! lays it out. [`Habits`] and the [`Amount`] and [`Total`] variants reproduce the habits of
//! real returns (catalogue §3), and breaking a spec on purpose triggers the validation rules
//! (§5). [`national_corpus`] writes one return per area and family with matching allocations.
//!
//! Invariants:
//! - Deterministic: the same spec gives the same workbook, byte for byte (the document
//!   creation time is fixed and the zip entries carry no times).
//! - Money is exact: amounts are pence; a number becomes `f64` only when a cell is written,
//!   and formulas' cached values are written as exact decimal text.
//! - No panics on any spec: what cannot be written is an `Err`.

mod corpus;
mod family;
mod faulty;
mod spec;
mod write;

pub use write::write_plain_sheet;

pub use corpus::{national_corpus, national_corpus_with_faults, CorpusReturn, CorpusSummary, ExpectedTotals, Habit};
pub use family::Family;
pub use faulty::{faulty_returns, late_with_finding};
pub use spec::*;
