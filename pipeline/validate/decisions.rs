//! The national team's recorded decisions (`--decisions FILE`, TOML). Each entry accepts the
//! findings of one rule in one exact file (named by its SHA-256, so a resubmission needs its
//! own decision), optionally only the one at a cell. An accepted finding keeps its row, marked
//! with who accepted it, when and why, and no longer rejects its file.
//!
//! The file is read and checked before a run touches anything: a malformed file, an unknown
//! rule, or a rule no person may accept (an unreadable file, a negative amount) stops the run.

use crate::error::RunError;
use crate::model::{Acceptance, Date, Rule};
use crate::validate::Validated;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

/// One decision: accept findings of `rule` in the file with this SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub sha256: String,
    pub rule: Rule,
    /// `Sheet!C12` (or `C12`): only the finding there.
    pub cell: Option<String>,
    pub acceptance: Acceptance,
}

/// The decisions of a run: none, or those of one file.
#[derive(Debug, Clone, Default)]
pub struct Decisions {
    /// SHA-256 of the file's bytes: part of the run's fingerprint and record.
    pub sha256: Option<String>,
    pub list: Vec<Decision>,
}

/// What became of one decision in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It accepted at least one finding.
    Applied,
    /// Its file is in the input but has no finding it matches.
    MatchedNothing,
    /// No file in the input has its SHA-256.
    FileNotInInput,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::MatchedNothing => "matched_nothing",
            Outcome::FileNotInInput => "file_not_in_input",
        }
    }
}

impl DecisionRow {
    /// The file it is about: its path in the input, or the start of its SHA-256.
    pub fn file(&self) -> String {
        self.source_file.clone().unwrap_or_else(|| format!("SHA-256 {}…", &self.decision.sha256[..12]))
    }

    /// What it did, for people: `applied to 2 findings`, `matched nothing: …`.
    pub fn said(&self) -> String {
        let d = &self.decision;
        let at = d.cell.as_deref().map(|c| format!(" at {c}")).unwrap_or_default();
        match self.outcome {
            Outcome::Applied if self.findings_accepted == 1 => "applied to 1 finding".into(),
            Outcome::Applied => format!("applied to {} findings", self.findings_accepted),
            Outcome::MatchedNothing => {
                format!("matched nothing: the file has no {} finding{at}; correct or remove the decision", d.rule.id())
            }
            Outcome::FileNotInInput => {
                "matched nothing: no file in the input has this SHA-256 (the file is not in the input, or was resubmitted: a resubmission needs its own decision)".into()
            }
        }
    }
}

/// One decision and what it did (`decisions.parquet`, `run.json`, the report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRow {
    pub decision: Decision,
    pub outcome: Outcome,
    /// The input file with that SHA-256, if there is one.
    pub source_file: Option<String>,
    pub findings_accepted: i32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    #[serde(default)]
    accept: Vec<toml::Spanned<EntrySpec>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntrySpec {
    sha256: String,
    rule: String,
    cell: Option<String>,
    reason: String,
    by: String,
    date: toml::value::Datetime,
}

/// The largest decisions file read: a national team's file of tens of thousands of decisions is
/// a few MiB.
pub const MAX_FILE_BYTES: u64 = 16 << 20;
/// The longest reason or name a decision may give (each is shown in every report).
pub const MAX_TEXT_CHARS: usize = 2_000;

/// The decisions in `path`, checked; none without a path.
pub fn load(path: Option<&Path>) -> Result<Decisions, RunError> {
    let Some(path) = path else { return Ok(Decisions::default()) };
    let fail = |message: String| RunError::Decisions { path: path.to_path_buf(), message };
    let bytes = read_capped(path).map_err(fail)?;
    let text = std::str::from_utf8(&bytes).map_err(|_| fail("it is not UTF-8 text; save it as UTF-8".into()))?;
    let line_starts: Vec<usize> = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
    let line_of = |at: usize| line_starts.partition_point(|&start| start <= at);
    let spec: FileSpec = toml::from_str(text).map_err(|e| {
        let at = e.span().map(|s| format!(" at line {}", line_of(s.start))).unwrap_or_default();
        fail(format!("it is not a valid decisions file{at}: {}", e.message().trim()))
    })?;
    let list = spec
        .accept
        .into_iter()
        .map(|entry| {
            let line = line_of(entry.span().start);
            decision(entry.into_inner()).map_err(|why| fail(format!("the [[accept]] entry at line {line}: {why}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Decisions { sha256: Some(hex::encode(Sha256::digest(&bytes))), list })
}

/// The file's bytes: a regular file (never a FIFO, a device or a folder, which could hang or
/// flood the run) of at most [`MAX_FILE_BYTES`].
fn read_capped(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let cannot = |e: std::io::Error| format!("cannot read it ({e}); check the --decisions path");
    let meta = std::fs::metadata(path).map_err(cannot)?;
    if !meta.is_file() {
        return Err(
            "it is not a regular file (a folder, a pipe or a device); give the path of the decisions TOML file".into(),
        );
    }
    let too_big = || {
        format!("it is larger than {} MiB, the most a decisions file may be; split it, or remove decisions no longer needed", MAX_FILE_BYTES >> 20)
    };
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_big());
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    std::fs::File::open(path).and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)).map_err(cannot)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_big());
    }
    Ok(bytes)
}

/// One entry checked: a known, acceptable rule, a SHA-256, a real date, a reason and a name.
fn decision(e: EntrySpec) -> Result<Decision, String> {
    let sha256 = e.sha256.trim().to_ascii_lowercase();
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("sha256 {:?} is not a SHA-256 (64 hex digits, as in submissions.parquet)", e.sha256));
    }
    let acceptable = || crate::model::RULES.iter().filter(|d| d.acceptable).map(|d| d.id).collect::<Vec<_>>();
    let rule = Rule::from_id(e.rule.trim())
        .ok_or_else(|| format!("{:?} is not a rule id; acceptable rules are {}", e.rule, acceptable().join(", ")))?;
    if !rule.def().acceptable {
        return Err(format!(
            "findings of {} cannot be accepted (the area must correct the return); acceptable rules are {}",
            rule.id(),
            acceptable().join(", ")
        ));
    }
    let date = e
        .date
        .date
        .filter(|_| e.date.time.is_none())
        .and_then(|d| Date::from_ymd(d.year.into(), d.month.into(), d.day.into()))
        .ok_or_else(|| format!("date {} is not a day like 2025-05-03", e.date))?;
    let (reason, by) = (e.reason.trim().to_string(), e.by.trim().to_string());
    if reason.is_empty() || by.is_empty() {
        return Err("say why (reason) and who decided (by)".into());
    }
    for (what, text) in [("reason", &reason), ("by", &by)] {
        let n = text.chars().count();
        if n > MAX_TEXT_CHARS {
            return Err(format!(
                "{what} is {n} characters; keep it under {MAX_TEXT_CHARS} (it is shown in every report)"
            ));
        }
    }
    let cell = e.cell.map(|c| c.trim().to_string()).filter(|c| !c.is_empty());
    Ok(Decision { sha256, rule, cell, acceptance: Acceptance { reason, by, date } })
}

/// Marks the findings each decision accepts (the first decision to match a finding wins) and
/// says what each did. Call before statuses are set.
pub fn apply(files: &mut [Validated], decisions: &Decisions) -> Vec<DecisionRow> {
    let mut by_sha: std::collections::HashMap<String, Vec<usize>> = std::collections::HashMap::new();
    for (i, f) in files.iter().enumerate() {
        by_sha.entry(f.sha256.clone()).or_default().push(i);
    }
    decisions
        .list
        .iter()
        .map(|d| {
            let mut source_file = None;
            let mut accepted = 0;
            for &i in by_sha.get(&d.sha256).map(Vec::as_slice).unwrap_or_default() {
                let f = &mut files[i];
                source_file.get_or_insert_with(|| f.source_file.clone());
                let picks = |x: &crate::model::Finding| {
                    x.rule == d.rule
                        && d.cell.as_deref().is_none_or(|c| same_place(c, x.sheet.as_deref(), x.cell.as_deref()))
                };
                accepted += f.parsed.findings.accept(picks, &d.acceptance) as i32;
            }
            let outcome = match (&source_file, accepted) {
                (None, _) => Outcome::FileNotInInput,
                (Some(_), 0) => Outcome::MatchedNothing,
                _ => Outcome::Applied,
            };
            DecisionRow { decision: d.clone(), outcome, source_file, findings_accepted: accepted }
        })
        .collect()
}

/// Whether `wanted` (`Sheet!C12`, `'Sheet'!$C$12` or `C12`) names the finding's place.
fn same_place(wanted: &str, sheet: Option<&str>, cell: Option<&str>) -> bool {
    let Some(cell) = cell else { return false };
    let norm_cell = |c: &str| c.replace('$', "").to_ascii_uppercase();
    match wanted.rsplit_once('!') {
        Some((s, c)) => {
            let s = s.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')).unwrap_or(s);
            sheet == Some(s) && norm_cell(c) == norm_cell(cell)
        }
        None => norm_cell(wanted) == norm_cell(cell),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_match_as_excel_writes_them() {
        assert!(same_place("Income sheet!C12", Some("Income sheet"), Some("C12")));
        assert!(same_place("'Income sheet'!$c$12", Some("Income sheet"), Some("C12")));
        assert!(same_place("C12", Some("Income sheet"), Some("C12")));
        assert!(!same_place("4. Income!C12", Some("Income sheet"), Some("C12")));
        assert!(!same_place("C12", Some("Income sheet"), None));
    }
}
