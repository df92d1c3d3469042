//! The `bcf` command line: argument parsing, logging and exit codes. No pipeline logic here.

use anyhow::Context as _;
use bcf::run::{run, RunConfig};
use bcf::workbook::Limits;
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit codes a scheduler can act on.
const EXIT_FAILED: u8 = 1;
const EXIT_REJECTED: u8 = 3;

#[derive(Parser)]
#[command(name = "bcf", version, about = "Better Care Fund returns pipeline: ingest, validate, normalise, aggregate")]
#[command(after_help = "Exit codes: 0 the run completed (rejected returns are findings, not failures); \
1 the run could not complete; 2 bad arguments; 3 with --fail-on-rejected, some return was rejected.")]
struct Cli {
    /// Log format on standard error.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human)]
    log_format: LogFormat,
    /// Only warnings and errors in the logs.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run every stage over a folder of returns and write the outputs.
    Run(RunArgs),
    /// Check template schemas.
    Schemas {
        #[command(subcommand)]
        command: SchemasCommand,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// Folder of returns and allocations workbooks (read recursively), or the http(s) URL of a
    /// manifest `{"files": [{"path": "...", "sha256": "...", "bytes": N}]}`.
    #[arg(long)]
    input: String,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
    /// Baseline financial year for the voluntary pooling comparison (plan basis).
    #[arg(long, default_value = "2015-16")]
    baseline: String,
    /// Exit with code 3 when any return is rejected.
    #[arg(long)]
    fail_on_rejected: bool,
    /// Folder of template schemas and reference data.
    #[arg(long, env = "BCF_SCHEMAS")]
    schemas: Option<PathBuf>,
    /// Reject a workbook any part of which inflates beyond this many bytes.
    #[arg(long, default_value_t = Limits::default().max_inflated_bytes)]
    max_inflated_bytes: u64,
    /// Downloads at once, for a manifest URL.
    #[arg(long, default_value_t = 8)]
    http_concurrency: usize,
    /// Retries per download after the first attempt (exponential backoff with jitter).
    #[arg(long, default_value_t = 4)]
    http_retries: u32,
    /// Seconds without data before a download attempt times out.
    #[arg(long, default_value_t = 30)]
    http_read_timeout: u64,
}

#[derive(Subcommand)]
enum SchemasCommand {
    /// Load every schema file and report every problem at once.
    Check {
        #[arg(long, env = "BCF_SCHEMAS")]
        schemas: Option<PathBuf>,
    },
}

fn init_logging(format: LogFormat, quiet: bool) {
    let default = if quiet { "warn" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("BCF_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).init(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format, cli.quiet);
    match dispatch(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("bcf: {e:#}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run(args) => {
            let mut cfg = RunConfig::new(&args.input, &args.out);
            cfg.baseline_year = args.baseline;
            cfg.limits.max_inflated_bytes = args.max_inflated_bytes;
            if let Some(s) = args.schemas {
                cfg.schemas_dir = s;
            }
            cfg.http.concurrency = args.http_concurrency.max(1);
            cfg.http.max_retries = args.http_retries;
            cfg.http.read_timeout = std::time::Duration::from_secs(args.http_read_timeout.max(1));
            if !bcf::ingest::is_url(&args.input) && !std::path::Path::new(&args.input).is_dir() {
                anyhow::bail!("--input {} is not a folder or an http(s) manifest URL", args.input);
            }
            let tables = run(&cfg).context("the run could not complete")?;
            print_summary(&tables);
            let rejected = tables.submissions.iter().any(|s| s.status == "rejected");
            Ok(if args.fail_on_rejected && rejected { ExitCode::from(EXIT_REJECTED) } else { ExitCode::SUCCESS })
        }
        Command::Schemas { command: SchemasCommand::Check { schemas } } => {
            let dir = schemas.unwrap_or_else(bcf::schema::default_dir);
            match bcf::schema::load(&dir) {
                Ok(set) => {
                    println!("{} template schemas OK in {}", set.templates.len(), dir.display());
                    for t in &set.templates {
                        println!("  {}  {}", t.id, t.description);
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(problems) => {
                    for p in &problems {
                        println!("{p}");
                    }
                    println!("{} problem(s)", problems.len());
                    Ok(ExitCode::from(EXIT_FAILED))
                }
            }
        }
    }
}

/// The national table on standard output.
fn print_summary(t: &bcf::tables::Tables) {
    println!(
        "{:<8} {:<6} {:>7} {:>20} {:>18} {:>18} {:>20} {:>20} {:>7}",
        "year",
        "basis",
        "areas",
        "mandated_minimum",
        "voluntary_la",
        "voluntary_nhs",
        "voluntary_above_min",
        "total_pooled",
        "ratio"
    );
    for r in &t.national {
        println!(
            "{:<8} {:<6} {:>7} {:>20} {:>18} {:>18} {:>20} {:>20} {:>7}",
            r.financial_year,
            r.basis,
            format!("{}/{}", r.areas_included, r.areas_expected),
            r.mandated_minimum.to_gbp(),
            r.voluntary_la.to_gbp(),
            r.voluntary_nhs.to_gbp(),
            r.voluntary_above_minimum.to_gbp(),
            r.total_pooled.to_gbp(),
            r.voluntary_vs_baseline_ratio.map_or("-".into(), |x| format!("{x:.3}")),
        );
    }
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for s in &t.submissions {
        *counts.entry(s.status.as_str()).or_default() += 1;
    }
    let parts: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
    println!("files: {}", parts.join(", "));
}
