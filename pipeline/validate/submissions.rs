//! Which of an area's returns count (catalogue §6, §6.1).
//!
//! Per area and template, the latest submission date wins; earlier files are `superseded`, and
//! two different files sharing the latest date are both rejected (`submission-conflict`, which
//! the national team may accept for one of them). Then,
//! per area, financial year and basis, exactly one accepted submission supplies the figures:
//! the latest by submission date, on the same date the template later in the catalogue. The
//! others stay accepted (they may supply other years) but count for nothing in that one.

use super::Validated;
use crate::model::{Date, Finding, Period, Rule, Status};
use crate::schema::SchemaSet;
use std::collections::BTreeMap;

/// How many of the other conflicting files a conflict message names.
const NAMED_IN_CONFLICT: usize = 3;

/// A file's area and template → its files that have a submission date, when more than one.
fn groups(files: &[Validated]) -> BTreeMap<(String, String), Vec<usize>> {
    let mut groups: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for (i, f) in files.iter().enumerate() {
        let p = &f.parsed;
        if let (Some(t), Some(a), Some(_), false) =
            (&p.template_id, &p.area_code, &p.submission_date, p.is_allocations())
        {
            groups.entry((a.clone(), t.clone())).or_default().push(i);
        }
    }
    groups.retain(|_, idx| idx.len() > 1);
    groups
}

/// The files of a group that share its latest submission date.
fn newest(files: &[Validated], idx: &[usize]) -> Vec<usize> {
    let latest = idx.iter().filter_map(|&i| files[i].parsed.submission_date).max();
    idx.iter().copied().filter(|&i| files[i].parsed.submission_date == latest).collect()
}

/// Adds `submission-conflict` to each of two or more files of an area and template that share
/// the latest submission date.
pub fn find_conflicts(files: &mut [Validated], schemas: &SchemaSet) {
    for ((area, template), idx) in groups(files) {
        let newest = newest(files, &idx);
        if newest.len() < 2 {
            continue;
        }
        let latest = files[newest[0]].parsed.submission_date.map(|d| d.to_string()).unwrap_or_default();
        for &i in &newest {
            let others: Vec<&str> =
                newest.iter().filter(|&&j| j != i).map(|&j| files[j].source_file.as_str()).collect();
            let msg = format!(
                "{area} has {} with the same submission date {latest} ({}); resubmit one return with a later date",
                other_returns(schemas.template_name(&template), others.len()),
                name_some(&others)
            );
            files[i].parsed.findings.push(Finding::file(Rule::SubmissionConflict, msg));
        }
    }
}

/// Marks `superseded` the files of an area and template older than its latest submission.
pub fn supersede(files: &mut [Validated]) {
    for idx in groups(files).into_values() {
        let newest = newest(files, &idx);
        for &i in idx.iter().filter(|i| !newest.contains(i)) {
            files[i].status = Status::Superseded;
        }
    }
}

fn other_returns(template: &str, n: usize) -> String {
    if n == 1 {
        format!("another {template} return")
    } else {
        format!("{n} other {template} returns")
    }
}

/// The first few names, then how many more.
fn name_some(names: &[&str]) -> String {
    let shown = names.iter().take(NAMED_IN_CONFLICT).copied().collect::<Vec<_>>().join(", ");
    match names.len().saturating_sub(NAMED_IN_CONFLICT) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
}

/// What an area has for one financial year and basis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cover {
    pub status: CoverStatus,
    /// The file that supplies the figures (included), or the latest rejected one (rejected).
    pub source_file: Option<String>,
    pub template_id: Option<String>,
    pub submission_date: Option<Date>,
    /// Files of the area covering this year and basis that do not supply it: superseded within
    /// their template, or overlapped by another template's submission.
    pub replaced: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CoverStatus {
    Included,
    Rejected,
    Missing,
}

impl CoverStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CoverStatus::Included => "included",
            CoverStatus::Rejected => "rejected",
            CoverStatus::Missing => "missing",
        }
    }
}

/// Per (area code, period): what covers it. Areas and periods with no file are not listed.
pub type Supply = BTreeMap<(String, Period), Cover>;

/// Which file supplies each area's figures for each period (catalogue §6.1).
pub fn supply(files: &[Validated], schemas: &SchemaSet) -> Supply {
    let mut candidates: BTreeMap<(String, Period), Vec<&Validated>> = BTreeMap::new();
    for f in files.iter().filter(|f| !f.parsed.is_allocations()) {
        let p = &f.parsed;
        let (Some(area), Some(t)) = (&p.area_code, p.template_id.as_deref().and_then(|t| schemas.template(t))) else {
            continue;
        };
        for period in t.periods() {
            candidates.entry((area.clone(), period)).or_default().push(f);
        }
    }
    candidates.into_iter().map(|(key, files)| (key, choose(&files, schemas))).collect()
}

/// The file, of those covering one area's period, that supplies it.
fn choose(files: &[&Validated], schemas: &SchemaSet) -> Cover {
    let order =
        |f: &Validated| f.parsed.template_id.as_deref().and_then(|t| schemas.template(t)).map(|t| t.catalogue_order);
    let rank = |f: &&&Validated| (f.parsed.submission_date, order(f), std::cmp::Reverse(f.source_file.clone()));
    let winner = files.iter().filter(|f| f.status.contributes()).max_by_key(rank);
    let (status, chosen) = match winner {
        Some(w) => (CoverStatus::Included, Some(*w)),
        None => {
            (CoverStatus::Rejected, files.iter().filter(|f| f.status == Status::Rejected).max_by_key(rank).copied())
        }
    };
    let replaced = match winner {
        Some(w) => files
            .iter()
            .filter(|f| f.source_file != w.source_file)
            .filter(|f| f.status.contributes() || f.status == Status::Superseded)
            .map(|f| f.source_file.clone())
            .collect(),
        None => Vec::new(),
    };
    Cover {
        status,
        source_file: chosen.map(|c| c.source_file.clone()),
        template_id: chosen.and_then(|c| c.parsed.template_id.clone()),
        submission_date: chosen.and_then(|c| c.parsed.submission_date),
        replaced,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conflict_names_a_few_files_and_counts_the_rest() {
        assert_eq!(name_some(&["a", "b"]), "a, b");
        assert_eq!(name_some(&["a", "b", "c", "d", "e"]), "a, b, c and 2 more");
        assert_eq!(other_returns("T", 1), "another T return");
        assert_eq!(other_returns("T", 4), "4 other T returns");
    }
}
