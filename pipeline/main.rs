//! The `bcf` command line: arguments into typed configuration, logging, progress and exit
//! codes. No pipeline logic here.

use anyhow::Context as _;
use bcf::console::{self, notice};
use bcf::contract::{Input, Stage};
use bcf::model::{Basis, FinancialYear, Status};
use bcf::report::escape::{for_terminal, Terminal};
use bcf::run::{Outcome, RunConfig, Scope, DEFAULT_KEEP};
use bcf::tables::NationalColumn;
use bcf::workbook::Limits;
use clap::{Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The binary's allocator: `bcf run` makes many small allocations (cells, parses, rows).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Writes to standard output. A reader that closed the pipe early (`bcf check … | head`) ends
/// the command quietly, as other Unix tools end, rather than with a panic.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = write!(std::io::stdout().lock(), $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
    }};
}

/// [`out!`] with a line break.
macro_rules! outln {
    ($($arg:tt)*) => {{
        out!("{}\n", format_args!($($arg)*))
    }};
}

/// Exit codes a scheduler can act on.
const EXIT_OK: u8 = 0;
const EXIT_FAILED: u8 = 1;
const EXIT_REJECTED: u8 = 3;

#[derive(Parser)]
#[command(name = "bcf", version, about = "Better Care Fund returns pipeline: ingest, validate, normalise, aggregate")]
#[command(after_help = "Exit codes: 0 the run completed (rejected returns are findings, not failures); \
1 the run could not complete; 2 bad arguments; 3 with --fail-on-rejected, some return was rejected.\n\
Outputs: OUT/current/ is the latest publish (point BI tools there); OUT/run.json the run record.\n\
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
    /// Stage 3: the rows of every table, staged as Parquet for the next publish.
    Normalise(StageArgs),
    /// Stage 4: national totals, baseline comparison and reports; publishes the outputs.
    Aggregate(StageArgs),
    /// Re-execute the failed or unfinished stages of the last run (or, scoped, re-read some files).
    Rerun(RerunArgs),
    /// Show the last run: what ran, what failed, why, and what a rerun would do.
    Status {
        /// Output folder of a run (the --out it was given).
        #[arg(long)]
        out: PathBuf,
    },
    /// Explain where figures came from: an area's lines for a year and which file supplied
    /// them (--area, --year), or the areas behind a national total (--total, --year).
    Explain(ExplainArgs),
    /// Check returns before sending them: the findings the national run would give each file on
    /// its own (every per-file rule; the minimum contributions too, with --allocations). Exit 0
    /// when every file would be accepted, 3 when any would not (rejected, or not a workbook), 1
    /// when a file cannot be read at all (not found, a folder), 2 on bad arguments.
    Check(CheckArgs),
    /// Build the self-check page around the WebAssembly validator (`make selfcheck` runs this).
    #[command(name = "selfcheck-page")]
    SelfcheckPage(PageArgs),
    /// Check template schemas.
    Schemas {
        #[command(subcommand)]
        command: SchemasCommand,
    },
    /// Internal: read one .xls workbook from standard input under an address-space limit and
    /// write its parse to standard output (started by bcf itself).
    #[command(name = "parse-worker", hide = true)]
    ParseWorker {
        /// The schemas folder of the run that started the worker.
        #[arg(long)]
        schemas: PathBuf,
        /// The run's reading limits, as JSON.
        #[arg(long)]
        limits: String,
    },
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
    /// Seconds one download attempt may take in all.
    #[arg(long, default_value_t = 300)]
    http_total_timeout: u64,
    /// A download bringing fewer than this many bytes in any --http-low-speed-window seconds
    /// is cut off (and retried).
    #[arg(long, default_value_t = 1024)]
    http_low_speed_bytes: u64,
    /// Seconds over which --http-low-speed-bytes is measured.
    #[arg(long, default_value_t = 30)]
    http_low_speed_window: u64,
    /// Most files a manifest may list.
    #[arg(long, default_value_t = 10_000)]
    max_manifest_entries: usize,
}

#[derive(clap::Args)]
struct StageArgs {
    /// Output folder: OUT/current/ holds the published outputs, OUT/.bcf/ the stage state.
    #[arg(long)]
    out: PathBuf,
    /// Baseline financial year for the voluntary pooling comparison (plan basis).
    #[arg(long, default_value_t = bcf::run::DEFAULT_BASELINE)]
    baseline: FinancialYear,
    /// Exit with code 3 when any return is rejected.
    #[arg(long)]
    fail_on_rejected: bool,
    /// Folder of template schemas and reference data.
    #[arg(long, env = "BCF_SCHEMAS")]
    schemas: Option<PathBuf>,
    /// Reject a workbook any part of which inflates beyond this many bytes.
    #[arg(long, default_value_t = Limits::default().max_inflated_bytes)]
    max_inflated_bytes: u64,
    /// Published snapshots to keep under OUT/snapshots/ (the newest is OUT/current).
    #[arg(long, default_value_t = DEFAULT_KEEP, value_parser = parse_keep)]
    keep: usize,
    /// Wait for another bcf writing the same output folder, instead of failing at once.
    #[arg(long)]
    wait: bool,
    /// Write into a non-empty output folder bcf has not written to before (bcf still never
    /// removes a file it did not write).
    #[arg(long)]
    force: bool,
    /// The national team's recorded decisions (TOML, `[[accept]]` entries): findings they
    /// accept no longer reject a return. See the README.
    #[arg(long)]
    decisions: Option<PathBuf>,
    /// Memory for the whole run, bcf and its .xls workers together, in MiB. By default what
    /// the container's memory cgroup allows, else 4096.
    #[arg(long, value_name = "MIB")]
    memory_budget: Option<u64>,
}

#[derive(clap::Args)]
struct RerunArgs {
    /// Output folder of the run to rerun.
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
    /// Wait for another bcf writing the same output folder.
    #[arg(long)]
    wait: bool,
}

#[derive(clap::Args)]
struct CheckArgs {
    /// The workbooks to check.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The published allocations to check minimum contributions against: an allocations
    /// workbook, or a folder of them (one per year); may be repeated.
    #[arg(long)]
    allocations: Vec<PathBuf>,
    /// human: findings by sheet with what to do; json: `{"files": [...]}` (see the README).
    #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
    format: CheckFormat,
    /// Folder of template schemas and reference data.
    #[arg(long, env = "BCF_SCHEMAS")]
    schemas: Option<PathBuf>,
    /// Memory for the check, bcf and its .xls workers together, in MiB (as for `bcf run`).
    #[arg(long, value_name = "MIB")]
    memory_budget: Option<u64>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CheckFormat {
    Human,
    Json,
}

#[derive(clap::Args)]
struct PageArgs {
    /// The folder holding the validator, bcf_selfcheck.wasm (make selfcheck builds it there).
    #[arg(long)]
    pkg: PathBuf,
    /// The published allocations the page checks minimum contributions against: an allocations
    /// workbook, or a folder of them; may be repeated. Without it the page checks no minimums.
    #[arg(long)]
    allocations: Vec<PathBuf>,
    /// The page's memory for checking one file, in MiB.
    #[arg(long, default_value_t = bcf::selfcheck::page::DEFAULT_MEMORY_MIB)]
    memory_mib: u64,
    /// The page's time for checking one file, in milliseconds.
    #[arg(long, default_value_t = bcf::selfcheck::page::DEFAULT_TIME_LIMIT_MS)]
    time_limit_ms: u64,
    /// Folder of template schemas, to read the allocations workbooks with (the validator has
    /// its own compiled in).
    #[arg(long, env = "BCF_SCHEMAS")]
    schemas: Option<PathBuf>,
    /// Where to write the page.
    #[arg(long)]
    out: PathBuf,
}

#[derive(clap::Args)]
struct ExplainArgs {
    /// Output folder of a run (the --out it was given).
    #[arg(long)]
    out: PathBuf,
    /// Area ONS code, e.g. E10000016.
    #[arg(long, conflicts_with = "total", required_unless_present = "total")]
    area: Option<String>,
    /// A national total column, e.g. voluntary_above_minimum_gbp.
    #[arg(long, value_parser = parse_total)]
    total: Option<NationalColumn>,
    /// Financial year, e.g. 2020-21.
    #[arg(long)]
    year: FinancialYear,
    /// Only this basis (plan or actual), with --total.
    #[arg(long, value_parser = parse_basis)]
    basis: Option<Basis>,
}

fn parse_total(s: &str) -> Result<NationalColumn, String> {
    NationalColumn::parse(s).ok_or_else(|| {
        let names: Vec<&str> = NationalColumn::ALL.iter().map(|c| c.name()).collect();
        format!("{s} is not a national total; choose one of {}", names.join(", "))
    })
}

fn parse_keep(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("{s} is not a number of snapshots (1 or more)")),
    }
}

fn parse_basis(s: &str) -> Result<Basis, String> {
    Basis::parse(s).ok_or_else(|| format!("{s} is not a basis; choose plan or actual"))
}

#[derive(Subcommand)]
enum SchemasCommand {
    /// Load every schema file and report every problem at once; with --blanks, also check each
    /// schema against the blank template it describes.
    Check {
        /// The schemas folder to check (default: the one bcf runs with).
        #[arg(long, env = "BCF_SCHEMAS")]
        schemas: Option<PathBuf>,
        /// A folder of blank template workbooks (`<template-id>.xlsx`, or any name: a blank is
        /// matched to its template by title), or one blank workbook.
        #[arg(long)]
        blanks: Option<PathBuf>,
    },
}

/// mimalloc's `mi_option_arena_reserve` (the crate's bindings do not name it; a test checks it).
const MI_OPTION_ARENA_RESERVE: libmimalloc_sys::mi_option_t = 23;

/// Address space is what `ulimit -v` limits, and two allocators reserve much more than they
/// use: glibc's malloc (which C code and thread-local destructors still call) a 64 MiB arena
/// for each thread that calls it, and mimalloc a gibibyte at a time. Under a limit that leaves
/// none for the next thread's stack, so: one glibc arena, and mimalloc reserving a sixteenth
/// of the limit at a time.
fn fit_allocators_to_address_space() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn mallopt(param: std::ffi::c_int, value: std::ffi::c_int) -> std::ffi::c_int;
        }
        const M_ARENA_MAX: std::ffi::c_int = -8;
        // SAFETY: glibc's documented setting, made before any other thread starts.
        unsafe { mallopt(M_ARENA_MAX, 1) };
    }
    #[cfg(unix)]
    if let Ok((soft, _)) = rlimit::getrlimit(rlimit::Resource::AS) {
        if soft != rlimit::INFINITY {
            let kib = (soft >> 10) / 16;
            // SAFETY: sets one of mimalloc's options, which it reads when it next reserves.
            unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_RESERVE, kib as std::ffi::c_long) };
        }
    }
}

fn main() -> std::process::ExitCode {
    fit_allocators_to_address_space();
    let cli = Cli::parse();
    console::init(cli.log_format == LogFormat::Json, cli.quiet);
    bcf::validate::stage::install_panic_hook();
    let result = dispatch(cli.command);
    console::clear_bar();
    std::process::ExitCode::from(match result {
        Ok(code) => code,
        Err(e) => {
            console::error_line(&format!("bcf: {}", Terminal(&format!("{e:#}").replace('\n', " "))));
            EXIT_FAILED
        }
    })
}

/// Runs `stages`, then removes the progress bar so that what the command prints stands alone.
fn run(cfg: &RunConfig, stages: &[Stage], scope: &Scope, command: &str) -> anyhow::Result<Outcome> {
    let outcome = bcf::run::run(cfg, stages, scope, command);
    console::clear_bar();
    Ok(outcome?)
}

/// A stage command's configuration: its own flags, with the input of the last run.
fn stage_config(args: &StageArgs, input: Option<Input>) -> RunConfig {
    let mut cfg = RunConfig::for_stage(&args.out);
    // A stage command works on the last run's input, and its decisions unless given others.
    let last = input.is_none().then(|| last_config(&args.out)).flatten();
    cfg.input = input.or_else(|| last.as_ref().map(|c| Input::parse(&c.input)));
    cfg.baseline = args.baseline;
    cfg.limits.max_inflated_bytes = args.max_inflated_bytes;
    if let Some(s) = &args.schemas {
        cfg.schemas_dir = s.clone();
    }
    cfg.keep_snapshots = args.keep;
    cfg.wait = args.wait;
    cfg.force = args.force;
    // Recorded absolute, so `bcf rerun` finds the file from any folder.
    let given = args.decisions.as_ref().map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()));
    cfg.decisions = given.or_else(|| last.and_then(|c| c.decisions).map(PathBuf::from));
    cfg.progress = console::progress();
    cfg.budget = bcf::budget::Budget::find(args.memory_budget);
    cfg.parse_mode = parse_mode(&cfg.schemas_dir, &cfg.budget);
    cfg
}

/// The binary reads `.xls` in worker processes started from itself (see validate::worker),
/// which load the schemas in `schemas_dir`, sized and counted under the run's memory budget.
fn parse_mode(schemas_dir: &std::path::Path, budget: &bcf::budget::Budget) -> bcf::validate::ParseMode {
    let Ok(exe) = std::env::current_exe() else { return bcf::validate::ParseMode::InProcess };
    let workers = budget.workers(Limits::default().max_worker_address_space_mib, rayon_threads());
    tracing::debug!(budget_mib = budget.mib, source = %budget.source, worker_mib = workers.mib, at_once = workers.at_once, "memory budget");
    let pool = bcf::validate::worker::Pool::new(exe, schemas_dir.to_path_buf(), workers);
    bcf::validate::ParseMode::XlsInWorkers(Arc::new(pool))
}

/// The threads files are read on (rayon's, as the pipeline uses).
fn rayon_threads() -> usize {
    rayon::current_num_threads()
}

fn run_config(args: &RunArgs) -> anyhow::Result<RunConfig> {
    let input = Input::parse(&args.input);
    if let Input::Folder(dir) = &input {
        if !dir.is_dir() {
            anyhow::bail!("--input {} is not a folder or an http(s) manifest URL", args.input);
        }
    }
    let mut cfg = stage_config(&args.stage, Some(input));
    cfg.http.concurrency = args.http_concurrency.max(1);
    cfg.http.max_retries = args.http_retries;
    let secs = |s: u64| std::time::Duration::from_secs(s.max(1));
    cfg.http.read_timeout = secs(args.http_read_timeout);
    cfg.http.total_timeout = secs(args.http_total_timeout);
    cfg.http.low_speed_bytes = args.http_low_speed_bytes;
    cfg.http.low_speed_window = secs(args.http_low_speed_window);
    cfg.http.max_manifest_entries = args.max_manifest_entries;
    Ok(cfg)
}

fn last_config(out: &std::path::Path) -> Option<bcf::run::record::ConfigRecord> {
    let text = std::fs::read_to_string(out.join("run.json")).ok()?;
    serde_json::from_str::<bcf::run::record::RunRecord>(&text).ok().map(|r| r.config)
}

fn dispatch(command: Command) -> anyhow::Result<u8> {
    match command {
        Command::Run(args) => {
            let cfg = run_config(&args)?;
            let o = run(&cfg, &Stage::ALL, &Scope::default(), "run").context("the run could not complete")?;
            Ok(finish(&o, args.stage.fail_on_rejected))
        }
        Command::Ingest(args) => {
            let cfg = run_config(&args)?;
            let o = run(&cfg, &[Stage::Ingest], &Scope::default(), "ingest").context("ingest could not complete")?;
            outln!("ingested: {}", counts_line(&o, Stage::Ingest));
            Ok(EXIT_OK)
        }
        Command::Validate(args) => stage(&args, Stage::Validate),
        Command::Normalise(args) => stage(&args, Stage::Normalise),
        Command::Aggregate(args) => stage(&args, Stage::Aggregate),
        Command::Rerun(args) => rerun(args),
        Command::Explain(args) => explain(args),
        Command::Status { out } => {
            out!("{}", bcf::status::describe(&out)?);
            Ok(EXIT_OK)
        }
        Command::Schemas { command: SchemasCommand::Check { schemas, blanks } } => schemas_check(schemas, blanks),
        Command::Check(args) => check(args),
        Command::SelfcheckPage(args) => selfcheck_page(args),
        Command::ParseWorker { schemas, limits } => {
            let limits = serde_json::from_str(&limits).context("--limits is not a limits object")?;
            bcf::validate::worker::serve(schemas, limits).map_err(anyhow::Error::msg)?;
            Ok(EXIT_OK)
        }
    }
}

fn stage(args: &StageArgs, stage: Stage) -> anyhow::Result<u8> {
    let cfg = stage_config(args, None);
    let o = run(&cfg, &[stage], &Scope::default(), stage.name())
        .with_context(|| format!("{} could not complete", stage.name()))?;
    outln!("{}: {}", stage.name(), counts_line(&o, stage));
    Ok(finish(&o, args.fail_on_rejected))
}

fn rerun(args: RerunArgs) -> anyhow::Result<u8> {
    let last = last_run_record(&args.out, args.wait)?;
    let scope = Scope { area: args.area, template: args.template };
    let plan = bcf::run::rerun_plan(&last, &scope);
    if plan.is_empty() {
        outln!("nothing to rerun: every stage of the last run ({}) succeeded", last.run_id);
        return Ok(EXIT_OK);
    }
    let mut cfg = RunConfig::for_stage(&args.out);
    cfg.apply_record(&last.config);
    cfg.out = args.out.clone();
    cfg.wait = args.wait;
    cfg.progress = console::progress();
    cfg.parse_mode = parse_mode(&cfg.schemas_dir, &cfg.budget);
    outln!("rerunning: {}", plan.iter().map(|s| s.name()).collect::<Vec<_>>().join(", "));
    let o = run(&cfg, &plan, &scope, "rerun").context("the rerun could not complete")?;
    Ok(finish(&o, args.fail_on_rejected))
}

/// The record a rerun repeats. A first run still writing has none yet: `--wait` waits for it to
/// finish, otherwise the refusal names it.
fn last_run_record(out: &Path, wait: bool) -> anyhow::Result<bcf::run::record::RunRecord> {
    use bcf::store::{Store, WriteAccess, Writer};
    let (store, writer) = Store::open_for_reading(out)?;
    if let Some(last) = bcf::run::last_record(&store) {
        return Ok(last);
    }
    drop(store);
    let Writer::Active(holder) = writer else {
        anyhow::bail!("no run record in {}: run `bcf run` first", out.display());
    };
    if !wait {
        return Err(bcf::error::RunError::Busy { out: out.to_path_buf(), holder }.into());
    }
    let store = Store::open_for_writing(out, &WriteAccess { wait: true, command: "rerun", ..Default::default() })?;
    bcf::run::last_record(&store)
        .with_context(|| format!("no run record in {}: the run before this one ended without one", out.display()))
}

fn explain(args: ExplainArgs) -> anyhow::Result<u8> {
    let (store, writer) = bcf::store::Store::open_for_reading(&args.out)?;
    if writer != bcf::store::Writer::None {
        eprintln!("bcf: note: another command is writing {}; explaining its last validation", args.out.display());
    }
    let config = bcf::run::last_record(&store).map(|r| r.config);
    let schemas_dir = config.as_ref().map_or_else(bcf::load::default_schemas_dir, |c| PathBuf::from(&c.schemas_dir));
    let baseline =
        config.as_ref().and_then(|c| FinancialYear::parse(&c.baseline_year)).unwrap_or(bcf::run::DEFAULT_BASELINE);
    let (schemas, areas) = bcf::load::all(&schemas_dir)?;
    let t = bcf::normalise::stage::persisted_tables(&store, &schemas, &areas, baseline)?;
    let text = match (&args.area, args.total) {
        (Some(code), _) => bcf::explain::area(&t, &schemas, &areas, code, args.year),
        (None, Some(column)) => bcf::explain::total(&t, &areas, column, args.year, args.basis),
        (None, None) => Err("give --area CODE or --total COLUMN".to_string()),
    }
    .map_err(anyhow::Error::msg)?;
    out!("{}", for_terminal(&text));
    Ok(EXIT_OK)
}

/// Exit code for bad arguments (clap's own, for the checks made after parsing).
const EXIT_USAGE: u8 = 2;

fn check(args: CheckArgs) -> anyhow::Result<u8> {
    let dir = args.schemas.unwrap_or_else(bcf::load::default_schemas_dir);
    let (schemas, areas) = bcf::load::all(&dir)?;
    let ctx = bcf::validate::Context { schemas: &schemas, areas: &areas, limits: Limits::default() };
    let mode = parse_mode(&dir, &bcf::budget::Budget::find(args.memory_budget));
    let allocations = match bcf::selfcheck::load_allocations(&args.allocations, &ctx, &mode) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bcf: {}", Terminal(&e.to_string()));
            return Ok(EXIT_USAGE);
        }
    };
    let checker = bcf::selfcheck::Checker { ctx, mode, allocations };
    let mut checks = Vec::new();
    let mut unreadable = false;
    for file in &args.files {
        match checker.check_file(file) {
            Ok(c) => checks.push(c),
            Err(e) => {
                eprintln!("bcf: {}", Terminal(&e.to_string()));
                unreadable = true;
            }
        }
    }
    match args.format {
        CheckFormat::Json => outln!("{}", serde_json::to_string_pretty(&serde_json::json!({ "files": checks }))?),
        CheckFormat::Human if checks.is_empty() => {}
        CheckFormat::Human => out!("{}", for_terminal(&bcf::selfcheck::human(&checks, &schemas, &checker.allocations))),
    }
    Ok(if unreadable {
        EXIT_FAILED
    } else if checks.iter().all(|c| c.status.contributes()) {
        EXIT_OK
    } else {
        EXIT_REJECTED
    })
}

fn selfcheck_page(args: PageArgs) -> anyhow::Result<u8> {
    let dir = args.schemas.unwrap_or_else(bcf::load::default_schemas_dir);
    let (schemas, areas) = bcf::load::all(&dir)?;
    let ctx = bcf::validate::Context { schemas: &schemas, areas: &areas, limits: Limits::default() };
    let allocations = match bcf::selfcheck::load_allocations(
        &args.allocations,
        &ctx,
        &parse_mode(&dir, &bcf::budget::Budget::find(None)),
    ) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bcf: {}", Terminal(&e.to_string()));
            return Ok(EXIT_USAGE);
        }
    };
    let settings = bcf::selfcheck::page::PageSettings {
        pkg: args.pkg,
        allocations,
        memory_mib: args.memory_mib,
        time_limit_ms: args.time_limit_ms,
    };
    let page = bcf::selfcheck::page::build(&settings)?;
    bcf::selfcheck::page::write(&args.out, &page).with_context(|| format!("cannot write {}", args.out.display()))?;
    outln!(
        "{} ({} KB): {}",
        args.out.display(),
        page.len() / 1024,
        bcf::check::allocations_held(&settings.allocations)
    );
    Ok(EXIT_OK)
}

fn schemas_check(schemas: Option<PathBuf>, blanks: Option<PathBuf>) -> anyhow::Result<u8> {
    let dir = schemas.unwrap_or_else(bcf::load::default_schemas_dir);
    let set = match bcf::load::schemas(&dir) {
        Ok(set) => set,
        Err(problems) => {
            for p in &problems {
                outln!("{p}");
            }
            outln!("{} problem(s)", problems.len());
            return Ok(EXIT_FAILED);
        }
    };
    outln!("{} template schemas OK in {}", set.templates.len(), dir.display());
    for t in &set.templates {
        outln!("  {}  {}", t.id, t.description);
    }
    let Some(blanks) = blanks else { return Ok(EXIT_OK) };
    let files: Vec<PathBuf> = if blanks.is_dir() {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&blanks)
            .with_context(|| format!("cannot read {}", blanks.display()))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| bcf::ingest::skip_reason(&p.file_name().unwrap_or_default().to_string_lossy()).is_none())
            .collect();
        v.sort();
        v
    } else {
        vec![blanks]
    };
    let mut problems = 0;
    for file in &files {
        problems += check_blank(&set, file);
    }
    outln!("{problems} problem(s) in {} blank template(s)", files.len());
    Ok(if problems == 0 { EXIT_OK } else { EXIT_FAILED })
}

/// Checks one blank workbook against its template's schema; how many problems it has.
fn check_blank(set: &bcf::schema::SchemaSet, file: &std::path::Path) -> usize {
    let name = Terminal(&file.display().to_string()).to_string();
    let opened = std::fs::read(file)
        .map_err(|e| e.to_string())
        .and_then(|bytes| bcf::workbook::Workbook::open(bytes, Limits::default()).map_err(|e| e.to_string()));
    let mut wb = match opened {
        Ok(wb) => wb,
        Err(e) => {
            outln!("{name}: cannot be read: {}", Terminal(&e));
            return 1;
        }
    };
    let stem = file.file_stem().unwrap_or_default().to_string_lossy();
    let Some(t) = bcf::schema::blank::template_for(set, &stem, &mut wb) else {
        outln!("{name}: matches no template schema (name it <template-id>.xlsx)");
        return 1;
    };
    match bcf::schema::blank::check(t, &mut wb) {
        Ok(problems) if problems.is_empty() => {
            outln!("{name}: {} OK", t.id);
            0
        }
        Ok(problems) => {
            outln!("{name}: {}", t.id);
            for p in &problems {
                outln!("  {}", Terminal(&t.problem(&p.key, p.to_string()).to_string()));
            }
            problems.len()
        }
        Err(e) => {
            outln!("{name}: cannot be read: {}", Terminal(&e.to_string()));
            1
        }
    }
}

fn finish(o: &Outcome, fail_on_rejected: bool) -> u8 {
    print_summary(o);
    if let Some(warning) = baseline_without_returns(&o.tables.national) {
        notice(true, &warning);
    }
    // Only a command that published (or found the publish up to date) compared itself.
    if o.record.snapshot.is_some() {
        notice(false, &bcf::aggregate::changes::headline(o.tables.changes.as_deref()));
    }
    for d in o.tables.decisions.iter().filter(|d| d.outcome != bcf::validate::decisions::Outcome::Applied) {
        notice(true, &format!("the decision on {} ({}) {}", d.file(), d.decision.rule.id(), d.said()));
    }
    let rejected = o.tables.submissions.iter().any(|s| s.status == Status::Rejected);
    if fail_on_rejected && rejected {
        EXIT_REJECTED
    } else {
        EXIT_OK
    }
}

/// A warning when no return covers the baseline year's plan: every multiple is then empty.
fn baseline_without_returns(national: &[bcf::tables::NationalRow]) -> Option<String> {
    let baseline = national.first()?.baseline_year;
    let covered =
        national.iter().any(|r| r.financial_year == baseline && r.basis == Basis::Plan && r.areas_included > 0);
    if covered {
        return None;
    }
    let mut years: Vec<String> = national
        .iter()
        .filter(|r| r.basis == Basis::Plan && r.areas_included > 0)
        .map(|r| r.financial_year.to_string())
        .collect();
    years.dedup();
    Some(format!(
        "--baseline {baseline}: no accepted return covers {baseline} (plan), so no multiple of it can be given; years with plans: {}",
        if years.is_empty() { "none".to_string() } else { years.join(", ") }
    ))
}

fn counts_line(o: &Outcome, stage: Stage) -> String {
    o.record.stage(stage).counts.iter().map(|(k, v)| format!("{v} {k}")).collect::<Vec<_>>().join(", ")
}

/// The national table and the file statuses on standard output.
fn print_summary(o: &Outcome) {
    let t = &o.tables;
    let row = |cells: [&str; 9]| {
        outln!(
            "{:<8} {:<6} {:>7} {:>20} {:>18} {:>18} {:>20} {:>20} {:>7}",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            cells[4],
            cells[5],
            cells[6],
            cells[7],
            cells[8]
        )
    };
    if !t.national.is_empty() {
        row([
            "year",
            "basis",
            "areas",
            "mandated_minimum",
            "voluntary_la",
            "voluntary_nhs",
            "voluntary_above_min",
            "total_pooled",
            "ratio",
        ]);
    }
    for r in &t.national {
        let money: Vec<String> = NationalColumn::ALL.iter().map(|c| c.of(r).to_gbp()).collect();
        let (year, basis, areas) =
            (r.financial_year.to_string(), r.basis.to_string(), format!("{}/{}", r.areas_included, r.areas_expected));
        let ratio = r.voluntary_vs_baseline_ratio.map_or("-".into(), |x| format!("{x:.3}"));
        row([&year, &basis, &areas, &money[0], &money[1], &money[2], &money[3], &money[4], &ratio]);
    }
    if let Some(note) = bcf::report::digest::coverage_note(&t.national) {
        outln!("note: {note}");
    }
    outln!("files: {} (parsed {}, from cache {})", t.status_summary(), o.parsed, o.cached);
    if let Some(id) = &o.record.snapshot {
        outln!("published: snapshot {id} (OUT/current)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// The option set under an address-space limit is mimalloc's arena reservation: its
    /// default is 1 GiB, in KiB.
    #[test]
    fn the_arena_option_is_mimallocs_arena_reservation() {
        // SAFETY: reads one option.
        assert_eq!(unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_ARENA_RESERVE) }, 1 << 20);
    }

    /// Every command and every flag says what it is for in `--help`.
    #[test]
    fn every_command_and_flag_has_help() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments().filter(|a| !["help", "version"].contains(&a.get_id().as_str())) {
                if arg.get_help().is_none() {
                    missing.push(format!("{path} --{}", arg.get_id()));
                }
            }
            for sub in cmd.get_subcommands().filter(|c| c.get_name() != "help") {
                let path = format!("{path} {}", sub.get_name());
                if sub.get_about().is_none() {
                    missing.push(path.clone());
                }
                walk(sub, &path, missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "bcf", &mut missing);
        assert!(missing.is_empty(), "without help text: {missing:?}");
    }
}
