//! One integration test binary (each extra binary re-links arrow and parquet).

mod support;

mod changes;
mod cli;
mod clients;
mod decisions;
mod fuzz;
mod habits;
mod hostile;
mod http;
mod report;
mod reruns;
mod rules;
mod safety;
mod samples;
mod schemas;
mod selfcheck;
mod supply;
mod tidy;
