//! One integration test binary (each extra binary re-links arrow and parquet). A module per
//! concern; where a new test goes is said beside each.

mod support;

/// What changed since the last publish (`changes.parquet`, the reports' first section).
mod changes;
/// Exit codes and messages a scheduler relies on.
mod cli;
/// Real clients read the outputs: pyarrow, DuckDB, Frictionless.
mod clients;
/// The national team's recorded decisions (`--decisions`).
mod decisions;
/// The edges of a run: odd files other readers read, the run's memory budget, the decisions
/// file, names, a read-only output folder, a full disk, typed control characters.
mod edges;
/// Property tests on readers and amounts (`make fuzz` runs them longer).
mod fuzz;
/// The habits of real returns (catalogue §3) read right.
mod habits;
/// Hostile files: bounded, never a crash, a clear finding each.
mod hostile;
/// Inputs over HTTP(S).
mod http;
/// The reports, logs and data package.
mod report;
/// Reruns, stages run alone, kills: never a double count.
mod reruns;
/// One test per validation rule (catalogue §5).
mod rules;
/// The output folder stays sound whatever runs beside it.
mod safety;
/// The bundled samples give the expected results.
mod samples;
/// Every schema loads and matches its blank.
mod schemas;
/// `bcf check` and the self-check page agree with the national run.
mod selfcheck;
/// Which submission supplies a year (catalogue §6.1).
mod supply;
/// A template year added by files alone, and each slip reported where it is.
mod template_years;
/// What a person sees at a terminal (tmux): the progress bar and the log lines.
mod terminal;
/// Structural facts the README states.
mod tidy;
/// The national workbook read back by openpyxl, calamine and LibreOffice.
mod workbook;
