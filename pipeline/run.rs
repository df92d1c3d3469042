//! Sequences the stages and owns their outputs. No stage logic lives here.

use crate::aggregate;
use crate::ingest::{self, Disposition, InputFile};
use crate::model::{Finding, Rule, Status};
use crate::normalise;
use crate::reference::Areas;
use crate::schema::{self, SchemaSet};
use crate::tables::Tables;
use crate::validate::{self, cross::Validated, Context, ParsedFile};
use crate::workbook::Limits;
use rayon::prelude::*;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use tracing::{info, info_span, warn};

/// Everything a run needs to know.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub input: PathBuf,
    pub out: PathBuf,
    pub baseline_year: String,
    pub schemas_dir: PathBuf,
    pub limits: Limits,
}

impl RunConfig {
    pub fn new(input: impl Into<PathBuf>, out: impl Into<PathBuf>) -> Self {
        RunConfig {
            input: input.into(),
            out: out.into(),
            baseline_year: "2015-16".into(),
            schemas_dir: schema::default_dir(),
            limits: Limits::default(),
        }
    }
}

/// Why a run could not complete (never a bad return: those are findings).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("schema problems:\n{}", .0.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    Schemas(Vec<schema::SchemaProblem>),
    #[error("reference data: {0}")]
    Reference(String),
    #[error("cannot read the input folder {path}: {source}")]
    Input {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write the outputs under {path}: {source}")]
    Output {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Config(String),
}

/// Loads the schemas and the reference areas they ship with.
pub fn load_reference(schemas_dir: &Path) -> Result<(SchemaSet, Areas), RunError> {
    let schemas = schema::load(schemas_dir).map_err(RunError::Schemas)?;
    let areas = Areas::load(&schemas_dir.join("reference").join("areas.csv"))
        .map_err(RunError::Reference)?;
    Ok((schemas, areas))
}

/// Validates one file, turning a panic into a finding so one file never stops the run.
pub fn validate_one(input: &InputFile, ctx: &Context<'_>) -> ParsedFile {
    let _span = info_span!("file", source_file = %input.source_file).entered();
    let parsed = std::panic::catch_unwind(AssertUnwindSafe(|| validate::parse_file(&input.path, ctx)))
        .unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown cause".into());
            warn!(%what, "reading the file panicked");
            ParsedFile {
                findings: vec![Finding::file(
                    Rule::FileUnreadable,
                    format!("the workbook could not be read (internal error: {what}); please report this file"),
                )],
                ..Default::default()
            }
        });
    info!(
        template = parsed.template_id.as_deref().unwrap_or("-"),
        findings = parsed.findings.len(),
        lines = parsed.lines.len(),
        "validated"
    );
    parsed
}

/// Runs every stage over a folder and writes every output. Returns the tables written.
pub fn run(cfg: &RunConfig) -> Result<Tables, RunError> {
    if !FinancialYearArg::valid(&cfg.baseline_year) {
        return Err(RunError::Config(format!(
            "--baseline {} is not a financial year like 2015-16",
            cfg.baseline_year
        )));
    }
    let (schemas, areas) = load_reference(&cfg.schemas_dir)?;
    let inputs = {
        let _s = info_span!("ingest").entered();
        let inputs = ingest::discover(&cfg.input).map_err(|source| RunError::Input {
            path: cfg.input.clone(),
            source,
        })?;
        info!(files = inputs.len(), "ingested");
        inputs
    };
    let validated = {
        let _s = info_span!("validate").entered();
        let ctx = Context {
            schemas: &schemas,
            areas: &areas,
            limits: cfg.limits,
        };
        let mut validated: Vec<Validated> = inputs
            .par_iter()
            .filter(|f| f.disposition == Disposition::Workbook)
            .map(|f| Validated {
                source_file: f.source_file.clone(),
                sha256: f.sha256.clone(),
                parsed: validate_one(f, &ctx),
                status: Status::Rejected,
            })
            .collect();
        validate::cross::apply(&mut validated, &schemas);
        validated
    };
    let mut tables = {
        let _s = info_span!("normalise").entered();
        normalise::build(&inputs, &validated)
    };
    {
        let _s = info_span!("aggregate").entered();
        tables.national = aggregate::national_totals(&tables, &schemas, &areas, &cfg.baseline_year);
    }
    publish(&cfg.out, &tables)?;
    Ok(tables)
}

/// Writes the data files, then the report.
fn publish(out: &Path, tables: &Tables) -> Result<(), RunError> {
    let _s = info_span!("publish", out = %out.display()).entered();
    let err = |source| RunError::Output {
        path: out.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(out).map_err(err)?;
    normalise::parquet::write_all(out, tables).map_err(err)?;
    normalise::parquet::write_text_atomic(
        &out.join("report.md"),
        &aggregate::report::markdown(tables),
    )
    .map_err(err)?;
    Ok(())
}

struct FinancialYearArg;
impl FinancialYearArg {
    fn valid(s: &str) -> bool {
        crate::model::FinancialYear::parse(s).is_some()
    }
}
