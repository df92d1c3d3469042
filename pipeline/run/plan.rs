//! What a command runs: the stages, the files a scoped rerun re-reads, and when the published
//! outputs are already up to date.

use super::record::{RunRecord, StageStatus};
use crate::contract::{ParseHow, Stage};

/// Files a rerun re-reads regardless of the cache: an area's, a template's, or both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub area: Option<String>,
    pub template: Option<String>,
}

impl Scope {
    pub fn is_empty(&self) -> bool {
        self.area.is_none() && self.template.is_none()
    }

    /// Whether a file of this area and template is in scope.
    pub fn matches(&self, area: Option<&str>, template: Option<&str>) -> bool {
        !self.is_empty()
            && self.area.as_deref().is_none_or(|a| area == Some(a))
            && self.template.as_deref().is_none_or(|t| template == Some(t))
    }
}

/// The stages `bcf rerun` runs after `last`: from the first that did not succeed; with a
/// scope, validation onwards; with a file whose read failed, validation onwards to retry it.
/// Normalise and aggregate publish together, so a rerun of aggregate alone needs normalise's
/// staged outputs, which a kill may have lost: both run again.
pub fn rerun_plan(last: &RunRecord, scope: &Scope) -> Vec<Stage> {
    let ok = |s: Stage| last.stage(s).status == StageStatus::Success;
    if !scope.is_empty() {
        return if ok(Stage::Ingest) { Stage::Validate.onwards() } else { Stage::ALL.to_vec() };
    }
    match Stage::ALL.into_iter().find(|&s| !ok(s)) {
        Some(Stage::Aggregate) => Stage::Normalise.onwards(),
        Some(first) => first.onwards(),
        None if last.files.iter().any(|f| f.parse == ParseHow::Failed) => Stage::Validate.onwards(),
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::record::ConfigRecord;
    use crate::validate::stage::FileRecord;

    fn record(statuses: [StageStatus; 4], failed_file: bool) -> RunRecord {
        let cfg = ConfigRecord {
            input: "in".into(),
            out: "out".into(),
            baseline_year: "2015-16".into(),
            schemas_dir: "schemas".into(),
            max_inflated_bytes: 1,
            decisions: None,
            decisions_sha256: None,
        };
        let mut r = RunRecord::new("run", cfg, Default::default());
        for (st, status) in r.stages.iter_mut().zip(statuses) {
            st.status = status;
        }
        r.files.push(FileRecord {
            source_file: "a.xlsx".into(),
            sha256: "00".into(),
            status: crate::model::Status::Rejected,
            parse: if failed_file { ParseHow::Failed } else { ParseHow::Parsed },
            error_count: 1,
            warning_count: 0,
            first_error: None,
        });
        r
    }

    #[test]
    fn rerun_plans() {
        use StageStatus::*;
        let none = Scope::default();
        assert_eq!(rerun_plan(&record([Success; 4], false), &none), Vec::<Stage>::new());
        assert_eq!(
            rerun_plan(&record([Success, Success, Running, Pending], false), &none),
            [Stage::Normalise, Stage::Aggregate]
        );
        assert_eq!(
            rerun_plan(&record([Success, Success, Success, Failed], false), &none),
            [Stage::Normalise, Stage::Aggregate],
            "normalise's staged outputs are published with aggregate's"
        );
        assert_eq!(rerun_plan(&record([Failed, NotRun, NotRun, NotRun], false), &none), Stage::ALL);
        assert_eq!(
            rerun_plan(&record([Success; 4], true), &none),
            [Stage::Validate, Stage::Normalise, Stage::Aggregate],
            "a file whose read failed is retried"
        );
        let kent = Scope { area: Some("E10000016".into()), template: None };
        assert_eq!(
            rerun_plan(&record([Success; 4], false), &kent),
            [Stage::Validate, Stage::Normalise, Stage::Aggregate]
        );
    }

    #[test]
    fn scopes_match_area_and_template() {
        let kent = Scope { area: Some("E10000016".into()), template: None };
        assert!(kent.matches(Some("E10000016"), Some("t")));
        assert!(!kent.matches(Some("E09000007"), Some("t")));
        assert!(!Scope::default().matches(Some("E10000016"), None), "an empty scope holds nothing");
        let both = Scope { area: Some("E10000016".into()), template: Some("t".into()) };
        assert!(!both.matches(Some("E10000016"), Some("u")));
    }
}
