//! The `bcf` command line: argument parsing, logging, progress and exit codes. No pipeline
//! logic here.

use anyhow::Context as _;
use bcf::record::RunRecord;
use bcf::run::{run_stages, Outcome, Progress, RunConfig, Scope, Stage};
use bcf::workbook::Limits;
use clap::{Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write as _};
use std::path::PathBuf;
use std::sync::Arc;

/// See Cargo.toml: ~10% faster end to end than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit codes a scheduler can act on.
const EXIT_OK: u8 = 0;
const EXIT_FAILED: u8 = 1;
const EXIT_REJECTED: u8 = 3;

#[derive(Parser)]
#[command(name = "bcf", version, about = "Better Care Fund returns pipeline: ingest, validate, normalise, aggregate")]
#[command(after_help = "Exit codes: 0 the run completed (rejected returns are findings, not failures); \
1 the run could not complete; 2 bad arguments; 3 with --fail-on-rejected, some return was rejected.\n\
Stages persist their results under OUT/.bcf/, so each can run alone: \
bcf ingest --input DIR --out OUT, then bcf validate/normalise/aggregate --out OUT.")]
struct Cli {
    /// Log format on standard error.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human)]
    log_format: LogFormat,
    /// Only warnings and errors in the logs, and no progress bar.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run every stage over a folder (or manifest URL) of returns and publish the outputs.
    /// Unchanged files are not parsed again.
    Run(RunArgs),
    /// Stage 1: find, hash and classify the input files.
    Ingest(RunArgs),
    /// Stage 2: read and check every workbook the last ingest found.
    Validate(StageArgs),
    /// Stage 3: write submissions, findings, lines and schemes as Parquet.
    Normalise(StageArgs),
    /// Stage 4: national totals, baseline comparison and report.
    Aggregate(StageArgs),
    /// Re-execute the failed or unfinished stages of the last run (or, scoped, re-read some files).
    Rerun(RerunArgs),
    /// Show the last run: what ran, what failed, why, and what a rerun would do.
    Status {
        #[arg(long)]
        out: PathBuf,
    },
    /// Explain where figures came from: an area's lines for a year (--area, --year), or the
    /// areas behind a national total (--total, --year), largest first.
    Explain(ExplainArgs),
    /// Check template schemas.
    Schemas {
        #[command(subcommand)]
        command: SchemasCommand,
    },
    /// Write a synthetic national corpus: one return per area and family, matching allocations
    /// workbooks, and about 10% of returns with a habit of real returns (bcf::fixtures).
    Fixtures(FixturesArgs),
}

#[derive(clap::Args)]
struct FixturesArgs {
    /// Output folder (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// The same seed gives the same files.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// `all`, or a comma-separated list of 2015-16, 2017-19, 2020-21, 2023-25.
    #[arg(long, default_value = "all", value_parser = parse_families)]
    families: FamilyList,
    /// Folder of template schemas and reference data (areas.csv).
    #[arg(long, env = "BCF_SCHEMAS")]
    schemas: Option<PathBuf>,
}

#[derive(Clone)]
struct FamilyList(Vec<bcf::fixtures::Family>);

fn parse_families(s: &str) -> Result<FamilyList, String> {
    use bcf::fixtures::Family;
    if s.trim().eq_ignore_ascii_case("all") {
        return Ok(FamilyList(Family::ALL.to_vec()));
    }
    s.split(',')
        .map(|f| {
            Family::parse(f).ok_or_else(|| format!("unknown family {f:?}; use all or 2015-16,2017-19,2020-21,2023-25"))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(FamilyList)
}

#[derive(clap::Args)]
struct RunArgs {
    /// Folder of returns and allocations workbooks (read recursively), or the http(s) URL of a
    /// manifest `{"files": [{"path": "...", "sha256": "...", "bytes": N}]}`.
    #[arg(long)]
    input: String,
    #[command(flatten)]
    stage: StageArgs,
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

#[derive(clap::Args)]
struct StageArgs {
    /// Output folder (stage state is kept in OUT/.bcf).
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
}

#[derive(clap::Args)]
struct RerunArgs {
    #[arg(long)]
    out: PathBuf,
    /// Re-read only this area's files (ONS code), then re-aggregate everything.
    #[arg(long)]
    area: Option<String>,
    /// Re-read only this template's files, then re-aggregate everything.
    #[arg(long)]
    template: Option<String>,
    /// Exit with code 3 when any return is rejected.
    #[arg(long)]
    fail_on_rejected: bool,
}

#[derive(clap::Args)]
struct ExplainArgs {
    /// Output folder of a run.
    #[arg(long, default_value = "out/demo")]
    out: PathBuf,
    /// Area ONS code, e.g. E10000016.
    #[arg(long, conflicts_with = "total", required_unless_present = "total")]
    area: Option<String>,
    /// A national total column, e.g. voluntary_above_minimum_gbp.
    #[arg(long)]
    total: Option<String>,
    /// Financial year, e.g. 2020-21.
    #[arg(long)]
    year: String,
    /// Only this basis (plan or actual), with --total.
    #[arg(long)]
    basis: Option<String>,
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
        LogFormat::Human => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).init(),
    }
}

fn main() {
    let code = run_cli();
    let _ = std::io::stdout().flush();
    // The allocator's exit handler would hand its pages back to the OS range by range
    // (hundreds of madvise calls, each a TLB shootdown: ~4 ms after a national run) just
    // before the kernel reclaims the whole address space anyway. Skip the exit handlers.
    // SAFETY: _exit only ends the process; stdout is flushed above, stderr is unbuffered,
    // and nothing else is pending (files are closed and synced by the commands themselves).
    unsafe { libc::_exit(code.into()) }
}

fn run_cli() -> u8 {
    let cli = Cli::parse();
    init_logging(cli.log_format, cli.quiet);
    // A bar only for people: on a terminal, with human logs, not quiet.
    let bar = (!cli.quiet && cli.log_format == LogFormat::Human && std::io::stderr().is_terminal()).then(progress_bar);
    let result = dispatch(cli.command, bar.clone());
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("bcf: {}", format!("{e:#}").replace('\n', " "));
            EXIT_FAILED
        }
    }
}

fn progress_bar() -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::hidden();
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{spinner} validating {pos}/{len} files {wide_bar} {eta}")
    {
        bar.set_style(style);
    }
    bar
}

fn config(args: &StageArgs, input: &str, bar: Option<indicatif::ProgressBar>) -> RunConfig {
    let mut cfg = RunConfig::new(input, &args.out);
    cfg.baseline_year = args.baseline.clone();
    cfg.limits.max_inflated_bytes = args.max_inflated_bytes;
    if let Some(s) = &args.schemas {
        cfg.schemas_dir = s.clone();
    }
    cfg.progress = bar.map(|b| {
        Progress(Arc::new(move |done, total| {
            b.set_length(total);
            b.set_position(done);
        }))
    });
    cfg
}

/// `input` from the last run record, for stage commands that do not take it.
fn last_input(out: &std::path::Path) -> String {
    read_record(out).map(|r| r.config.input).unwrap_or_default()
}

fn read_record(out: &std::path::Path) -> Option<RunRecord> {
    let text = std::fs::read_to_string(out.join("run.json")).ok()?;
    serde_json::from_str(&text).ok()
}

fn dispatch(command: Command, bar: Option<indicatif::ProgressBar>) -> anyhow::Result<u8> {
    let finish = |o: &Outcome, fail_on_rejected: bool| {
        print_summary(o);
        let rejected = o.tables.submissions.iter().any(|s| s.status == "rejected");
        if fail_on_rejected && rejected {
            EXIT_REJECTED
        } else {
            EXIT_OK
        }
    };
    match command {
        Command::Run(args) => {
            let cfg = run_config(&args, bar)?;
            let o = run_stages(&cfg, &Stage::ALL, &Scope::default(), "run").context("the run could not complete")?;
            let code = finish(&o, args.stage.fail_on_rejected);
            // The process ends next: the OS takes back the tables at once, rather than row by row.
            std::mem::forget(o);
            Ok(code)
        }
        Command::Ingest(args) => {
            let cfg = run_config(&args, bar)?;
            let o =
                run_stages(&cfg, &[Stage::Ingest], &Scope::default(), "ingest").context("ingest could not complete")?;
            println!("ingested: {}", counts_line(&o.record, "ingest"));
            Ok(EXIT_OK)
        }
        Command::Validate(args) => stage(&args, Stage::Validate, bar, finish),
        Command::Normalise(args) => stage(&args, Stage::Normalise, bar, finish),
        Command::Aggregate(args) => stage(&args, Stage::Aggregate, bar, finish),
        Command::Rerun(args) => {
            let last = read_record(&args.out)
                .with_context(|| format!("no run record in {}: run `bcf run` first", args.out.display()))?;
            let scope = Scope { area: args.area, template: args.template };
            let plan = bcf::run::rerun_plan(&last, &scope);
            if plan.is_empty() {
                println!("nothing to rerun: every stage of the last run ({}) succeeded", last.run_id);
                return Ok(EXIT_OK);
            }
            let mut cfg = RunConfig::from_record(&last.config);
            cfg.out = args.out.clone();
            cfg.progress = config(&stage_args_for(&args.out), "", bar).progress;
            println!("rerunning: {}", plan.iter().map(|s| s.name()).collect::<Vec<_>>().join(", "));
            let o = run_stages(&cfg, &plan, &scope, "rerun").context("the rerun could not complete")?;
            Ok(finish(&o, args.fail_on_rejected))
        }
        Command::Explain(args) => {
            let record = read_record(&args.out);
            let schemas_dir =
                record.as_ref().map_or_else(bcf::schema::default_dir, |r| PathBuf::from(&r.config.schemas_dir));
            let baseline = record.as_ref().map_or_else(|| "2015-16".to_string(), |r| r.config.baseline_year.clone());
            let (schemas, areas) = bcf::run::load_reference(&schemas_dir)?;
            let t = bcf::explain::load_tables(&args.out, &schemas, &areas, &baseline).map_err(anyhow::Error::msg)?;
            let text = match (&args.area, &args.total) {
                (Some(code), _) => bcf::explain::area(&t, &schemas, &areas, code, &args.year),
                (None, Some(column)) => {
                    bcf::explain::total(&t, &schemas, &areas, column, &args.year, args.basis.as_deref())
                }
                (None, None) => Err("give --area CODE or --total COLUMN".to_string()),
            }
            .map_err(anyhow::Error::msg)?;
            print!("{text}");
            Ok(EXIT_OK)
        }
        Command::Status { out } => {
            print!("{}", bcf::status::describe(&out).map_err(anyhow::Error::msg)?);
            Ok(EXIT_OK)
        }
        Command::Fixtures(args) => {
            let (_, areas) = bcf::run::load_reference(&args.schemas.unwrap_or_else(bcf::schema::default_dir))?;
            let summary = bcf::fixtures::national_corpus(&args.out, args.seed, &areas, &args.families.0)
                .with_context(|| format!("cannot write the corpus under {}", args.out.display()))?;
            let habits = summary.returns.iter().filter(|r| r.habit.is_some()).count();
            println!(
                "{} returns ({habits} with a habit) and {} allocations workbooks in {}",
                summary.returns.len(),
                summary.allocations.len(),
                args.out.display()
            );
            for (year, n) in &summary.returns_per_year {
                println!("  {year}: {n} areas");
            }
            Ok(EXIT_OK)
        }
        Command::Schemas { command: SchemasCommand::Check { schemas } } => {
            let dir = schemas.unwrap_or_else(bcf::schema::default_dir);
            match bcf::schema::load(&dir) {
                Ok(set) => {
                    println!("{} template schemas OK in {}", set.templates.len(), dir.display());
                    for t in &set.templates {
                        println!("  {}  {}", t.id, t.description);
                    }
                    Ok(EXIT_OK)
                }
                Err(problems) => {
                    for p in &problems {
                        println!("{p}");
                    }
                    println!("{} problem(s)", problems.len());
                    Ok(EXIT_FAILED)
                }
            }
        }
    }
}

fn stage_args_for(out: &std::path::Path) -> StageArgs {
    StageArgs {
        out: out.to_path_buf(),
        baseline: "2015-16".into(),
        fail_on_rejected: false,
        schemas: None,
        max_inflated_bytes: Limits::default().max_inflated_bytes,
    }
}

fn run_config(args: &RunArgs, bar: Option<indicatif::ProgressBar>) -> anyhow::Result<RunConfig> {
    if !bcf::ingest::is_url(&args.input) && !std::path::Path::new(&args.input).is_dir() {
        anyhow::bail!("--input {} is not a folder or an http(s) manifest URL", args.input);
    }
    let mut cfg = config(&args.stage, &args.input, bar);
    cfg.http.concurrency = args.http_concurrency.max(1);
    cfg.http.max_retries = args.http_retries;
    cfg.http.read_timeout = std::time::Duration::from_secs(args.http_read_timeout.max(1));
    Ok(cfg)
}

fn stage(
    args: &StageArgs,
    stage: Stage,
    bar: Option<indicatif::ProgressBar>,
    finish: impl Fn(&Outcome, bool) -> u8,
) -> anyhow::Result<u8> {
    let cfg = config(args, &last_input(&args.out), bar);
    let o = run_stages(&cfg, &[stage], &Scope::default(), stage.name())
        .with_context(|| format!("{} could not complete", stage.name()))?;
    println!("{}: {}", stage.name(), counts_line(&o.record, stage.name()));
    Ok(finish(&o, args.fail_on_rejected))
}

fn counts_line(r: &RunRecord, stage: &str) -> String {
    r.stages
        .iter()
        .find(|s| s.name == stage)
        .map(|s| s.counts.iter().map(|(k, v)| format!("{v} {k}")).collect::<Vec<_>>().join(", "))
        .unwrap_or_default()
}

/// The national table and the file statuses on standard output.
fn print_summary(o: &Outcome) {
    let t = &o.tables;
    if !t.national.is_empty() {
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
    }
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
    println!("files: {} (parsed {}, from cache {})", t.status_summary(), o.parsed, o.cached);
}
