//! The orchestrator: it locks the output folder, runs the stages a command asks for in order,
//! hands each the previous one's result, keeps the run record and publishes. Stage logic lives
//! in the stage modules (`ingest::stage`, `validate::stage`, `normalise::stage`,
//! `aggregate::stage`); publishing in `store::snapshot`.
//!
//! ```text
//! lock OUT ─► ingest ─► validate ─► normalise ─► aggregate ─► publish ─► unlock
//!             ingest.json  validate.json  staging/…   staging/…   snapshots/N, current
//! ```

pub mod config;
mod handoff;
pub mod plan;
pub mod record;

pub use config::{RunConfig, DEFAULT_BASELINE, DEFAULT_KEEP};
pub use plan::{rerun_plan, Scope};

use crate::contract::{counts, Counts, Input, ParseHow, Stage};
use crate::error::RunError;
use crate::reference::Areas;
use crate::schema::SchemaSet;
use crate::store::atomic::Durability;
use crate::store::{json, Store, WriteAccess};
use crate::tables::Tables;
use crate::validate::decisions::Decisions;
use handoff::Handoff;
use record::{RunRecord, StageStatus};
use std::time::Instant;
use tracing::{info, info_span, warn};

/// What a command did.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub tables: Tables,
    pub record: RunRecord,
    /// Files parsed this time (the rest came from the cache).
    pub parsed: usize,
    pub cached: usize,
}

/// Runs every stage over the input and publishes. Returns the tables published.
pub fn run_all(cfg: &RunConfig) -> Result<Tables, RunError> {
    run(cfg, &Stage::ALL, &Scope::default(), "run").map(|o| o.tables)
}

/// Runs some stages, each reading what the previous one persisted, then publishes if the
/// command aggregated.
pub fn run(cfg: &RunConfig, stages: &[Stage], scope: &Scope, command: &str) -> Result<Outcome, RunError> {
    let access =
        WriteAccess { input: cfg.input.as_ref().and_then(Input::folder), force: cfg.force, wait: cfg.wait, command };
    // Checked before anything is touched: a bad decisions file stops the command here.
    let decisions = crate::validate::decisions::load(cfg.decisions.as_deref())?;
    let store = Store::open_for_writing(&cfg.out, &access)?;
    let (schemas, areas) = crate::load::all(&cfg.schemas_dir)?;
    let previous = last_record(&store);
    let mut config = cfg.record();
    config.decisions_sha256.clone_from(&decisions.sha256);
    let mut record = RunRecord::new(command, config, schemas.file_hashes.clone());
    if let Some(p) = &previous {
        record.carry_over(p, stages);
    }
    record.mark_pending(stages);
    let mut session = Session {
        cfg,
        store: &store,
        schemas: &schemas,
        areas: &areas,
        decisions: &decisions,
        record,
        handoff: Handoff::default(),
    };
    let result = session.stages(stages, scope, previous.as_ref());
    session.end(result)
}

/// The last run record, if one can be read.
pub fn last_record(store: &Store) -> Option<RunRecord> {
    json::load(&store.record_path(), "").ok().flatten()
}

struct Session<'a> {
    cfg: &'a RunConfig,
    store: &'a Store,
    schemas: &'a SchemaSet,
    areas: &'a Areas,
    decisions: &'a Decisions,
    record: RunRecord,
    handoff: Handoff,
}

impl Session<'_> {
    fn stages(&mut self, stages: &[Stage], scope: &Scope, previous: Option<&RunRecord>) -> Result<(), RunError> {
        let full_run = stages == Stage::ALL && scope.is_empty();
        for (i, &stage) in stages.iter().enumerate() {
            self.record.start(stage);
            self.save_record()?;
            let started = Instant::now();
            let counts = {
                let _span = info_span!("stage", stage = stage.name()).entered();
                self.stage(stage, scope)?
            };
            let ms = started.elapsed().as_millis() as u64;
            info!(stage = stage.name(), ms, "stage done");
            self.record.finish(stage, counts, ms);
            self.save_record()?;
            crate::store::checkpoint(&format!("after-{}", stage.name()));
            if full_run && stage == Stage::Ingest && self.up_to_date() {
                info!("the published outputs are up to date: nothing to do");
                return self.carry_up_to_date(&stages[i + 1..], previous);
            }
        }
        if stages.contains(&Stage::Aggregate) {
            self.publish()?;
        }
        Ok(())
    }

    fn stage(&mut self, stage: Stage, scope: &Scope) -> Result<Counts, RunError> {
        match stage {
            Stage::Ingest => {
                let input = self.cfg.input.as_ref().ok_or_else(|| RunError::Refused("give --input".into()))?;
                let (inputs, counts) =
                    crate::ingest::stage::ingest(input, self.store, &self.cfg.http, self.cfg.progress.as_ref())?;
                self.handoff.inputs = Some(inputs);
                Ok(counts)
            }
            Stage::Validate => self.validate(scope),
            Stage::Normalise => {
                let (tables, digest) = self.handoff.tables(self.store, self.schemas, self.areas, "normalise")?;
                let counts = crate::normalise::stage::stage(self.store, tables, &digest, self.schemas)?;
                Ok(counts)
            }
            Stage::Aggregate => {
                let (schemas, areas) = (self.schemas, self.areas);
                let previous = handoff::previous_publish(self.store);
                let (tables, digest) = self.handoff.tables(self.store, schemas, areas, "aggregate")?;
                let settings = crate::aggregate::stage::Settings {
                    baseline: self.cfg.baseline,
                    date: self.cfg.publish_date.unwrap_or_else(crate::clock::today),
                    previous: previous.as_ref(),
                };
                crate::aggregate::stage::stage(self.store, tables, &digest, (schemas, areas), &settings)
            }
        }
    }

    fn validate(&mut self, scope: &Scope) -> Result<Counts, RunError> {
        let inputs = self.handoff.inputs(self.store, "validate")?;
        let forced = handoff::in_scope(self.store, scope);
        let ctx = crate::validate::Context { schemas: self.schemas, areas: self.areas, limits: self.cfg.limits };
        let holding = crate::validate::stage::Holding::new(&self.cfg.budget);
        let settings = crate::validate::stage::Settings {
            ctx,
            forced,
            mode: &self.cfg.parse_mode,
            progress: self.cfg.progress.as_ref(),
            decisions: self.decisions,
            holding: &holding,
        };
        let (validation, counts) = crate::validate::stage::stage(&inputs, self.store, &settings)?;
        self.record.files = crate::validate::stage::file_records(&inputs, &validation.files);
        self.record.decisions.clone_from(&validation.decisions);
        self.handoff.validated(inputs, validation);
        Ok(counts)
    }

    /// Whether the published outputs were made from exactly these inputs and settings.
    fn up_to_date(&mut self) -> bool {
        let Some(inputs) = &self.handoff.inputs else { return false };
        let fingerprint = handoff::fingerprint(inputs, self.schemas, self.cfg, self.decisions);
        let published = self.store.layout().published().ok();
        let current = published.as_ref().and_then(|p| p.current()).and_then(|s| s.fingerprint.clone());
        current == Some(fingerprint) && self.store.layout().current_dir().is_some()
    }

    /// Up to date: the stages left count as done, and the last run's files are carried over.
    fn carry_up_to_date(&mut self, rest: &[Stage], previous: Option<&RunRecord>) -> Result<(), RunError> {
        let files = previous.map(|p| p.files.clone()).unwrap_or_default();
        let cached = files.iter().filter(|f| f.parse != ParseHow::None).count();
        for &stage in rest {
            self.record.start(stage);
            let mut c = counts(&[("up_to_date", 1)]);
            if stage == Stage::Validate {
                c.extend(counts(&[("parsed", 0), ("cached", cached)]));
            }
            self.record.finish(stage, c, 0);
        }
        self.record.files = files;
        for f in self.record.files.iter_mut().filter(|f| f.parse == ParseHow::Parsed) {
            f.parse = ParseHow::Cached;
        }
        self.record.snapshot = self.store.layout().published()?.current().map(|s| s.id.clone());
        // Compared with the last publish, an up-to-date run has nothing new.
        self.handoff.summary = handoff::previous_publish(self.store).map(|t| Tables { changes: Some(Vec::new()), ..t });
        Ok(())
    }

    fn publish(&mut self) -> Result<(), RunError> {
        let _span = info_span!("publish").entered();
        let inputs = self.handoff.inputs(self.store, "publish")?;
        let retry = self.record.files.iter().any(|f| f.parse == ParseHow::Failed);
        // A file whose read failed may read next time: such outputs are never up to date.
        let fingerprint = (!retry).then(|| handoff::fingerprint(&inputs, self.schemas, self.cfg, self.decisions));
        let layout = self.store.layout();
        let snapshot =
            crate::store::snapshot::publish(&layout, &self.record.run_id, fingerprint, self.cfg.keep_snapshots)?;
        info!(snapshot = %snapshot.id, files = snapshot.files.len(), "published");
        if let Some(t) = self.handoff.published_tables() {
            let summary = handoff::Summary { snapshot: snapshot.id.clone(), tables: handoff::summary(t) };
            if let Err(e) = json::save(&self.store.summary_path(), &summary, Durability::Synced) {
                warn!(error = %e, "cannot save the publish's summary; the next run will have nothing to compare with");
            }
        }
        self.record.snapshot = Some(snapshot.id);
        Ok(())
    }

    /// Saves the run record with room to spare after it, so the record of a command that
    /// fails for a full disk can still be written over it (see [`Session::end`]).
    fn save_record(&self) -> Result<(), RunError> {
        json::save_with_room(&self.store.record_path(), &self.record, Durability::Unsynced)
    }

    /// Records how the command ended, and what it did. A failure for a full disk says so,
    /// where and how much a publish takes; its record is written over the last one in place,
    /// in the room kept for it, as a new file could not be made.
    fn end(mut self, result: Result<(), RunError>) -> Result<Outcome, RunError> {
        let result = result.map_err(|e| match e.disk_full() {
            Some(path) => crate::store::disk_full(path, &self.store.layout()),
            None => e,
        });
        match &result {
            Ok(()) => self.record.succeed(),
            Err(e) => self.record.fail(&e.to_string()),
        }
        if let Err(e) = self.save_record() {
            match json::overwrite_in_place(&self.store.record_path(), &self.record) {
                Ok(()) => warn!(error = %e, "the run record was written over the last one in place"),
                Err(e) => warn!(error = %e, "cannot save the run record"),
            }
        }
        result?;
        let parse_count = |h| self.record.files.iter().filter(|f| f.parse == h).count();
        let parsed = parse_count(ParseHow::Parsed) + parse_count(ParseHow::Failed);
        let cached = parse_count(ParseHow::Cached);
        let tables = self.handoff.into_tables(self.store, self.schemas, self.areas, self.cfg.baseline);
        Ok(Outcome { tables, record: self.record, parsed, cached })
    }
}

/// Stage statuses a person reads: a record left running by a process that no longer holds
/// the lock was interrupted.
pub fn shown_status(status: StageStatus, writer_active: bool) -> &'static str {
    match status {
        StageStatus::Running | StageStatus::Pending if !writer_active => "interrupted",
        StageStatus::NotRun => "not_run",
        StageStatus::Pending => "pending",
        StageStatus::Running => "running",
        StageStatus::Success => "success",
        StageStatus::Failed => "failed",
    }
}
