//! What changed since the previous publish in the same output folder: files new, resubmitted,
//! withdrawn, superseded or with another status; areas whose figures now count or no longer
//! do, per year and basis; and each national figure that moved, with the areas that moved it
//! ("2024-25 plan voluntary above minimum +£41.2m: Kent +£30.0m (resubmitted), …").
//!
//! A pure comparison of two publishes' tables (the previous one's kept in `.bcf/summary.json`),
//! so the same inputs and the same previous publish give the same rows.

use crate::model::{Basis, FinancialYear, Pence, Status};
use crate::tables::{AreaTotalRow, ChangeKind, ChangeRow, NationalColumn, SubmissionRow, Tables};
use crate::validate::submissions::CoverStatus;
use std::collections::{BTreeMap, BTreeSet};

/// How many areas a national figure's sentence names before it counts the rest.
const NAMED_AREAS: usize = 3;

/// Every change from `previous` to `now`: files, then areas, then money.
pub fn compare(previous: &Tables, now: &Tables) -> Vec<ChangeRow> {
    let (before, after) = (Side::of(previous), Side::of(now));
    let mut rows = files(&before, &after);
    rows.extend(areas(previous, now));
    rows.extend(figures(&before, &after));
    rows
}

type Key = (FinancialYear, Basis, String);

/// One publish's tables, indexed.
struct Side<'a> {
    tables: &'a Tables,
    files: BTreeMap<&'a str, &'a SubmissionRow>,
    areas: BTreeMap<Key, &'a AreaTotalRow>,
}

impl<'a> Side<'a> {
    fn of(tables: &'a Tables) -> Side<'a> {
        Side {
            tables,
            files: tables.submissions.iter().map(|s| (s.source_file.as_str(), s)).collect(),
            areas: tables.area_totals.iter().map(|a| ((a.financial_year, a.basis, a.area_code.clone()), a)).collect(),
        }
    }
}

fn row(kind: ChangeKind, description: String) -> ChangeRow {
    ChangeRow {
        kind,
        source_file: None,
        area_code: None,
        area_name: None,
        financial_year: None,
        basis: None,
        measure: None,
        previous: None,
        current: None,
        previous_status: None,
        current_status: None,
        reason: None,
        description,
    }
}

fn files(before: &Side<'_>, after: &Side<'_>) -> Vec<ChangeRow> {
    let paths: BTreeSet<&str> = before.files.keys().chain(after.files.keys()).copied().collect();
    let mut rows = Vec::new();
    for path in paths {
        let (p, n) = (before.files.get(path).copied(), after.files.get(path).copied());
        let (kind, description) = match (p, n) {
            (None, Some(n)) => (ChangeKind::FileNew, format!("{path} is new ({})", n.status)),
            (Some(p), None) => {
                (ChangeKind::FileWithdrawn, format!("{path} is no longer in the input (it was {})", p.status))
            }
            (Some(p), Some(n)) if p.sha256 != n.sha256 => (
                ChangeKind::FileResubmitted,
                format!("{path} was replaced by other content ({} → {})", p.status, n.status),
            ),
            (Some(p), Some(n)) if p.status != n.status && n.status == Status::Superseded => (
                ChangeKind::FileSuperseded,
                format!("{path} is now superseded by a later submission (was {})", p.status),
            ),
            (Some(p), Some(n)) if p.status != n.status => {
                (ChangeKind::FileStatusChanged, format!("{path} is now {} (was {})", n.status, p.status))
            }
            _ => continue,
        };
        let either = n.or(p).expect("the path is in one of them");
        rows.push(ChangeRow {
            source_file: Some(path.to_string()),
            area_code: either.area_code.clone(),
            area_name: either.area_name.clone(),
            previous_status: p.map(|p| p.status.to_string()),
            current_status: n.map(|n| n.status.to_string()),
            ..row(kind, description)
        });
    }
    rows
}

fn areas(previous: &Tables, now: &Tables) -> Vec<ChangeRow> {
    let register = |t: &Tables| -> BTreeMap<Key, (CoverStatus, String, Option<String>)> {
        t.coverage
            .iter()
            .map(|c| {
                (
                    (c.financial_year, c.basis, c.area_code.clone()),
                    (c.status, c.area_name.clone(), c.source_file.clone()),
                )
            })
            .collect()
    };
    let (before, after) = (register(previous), register(now));
    let keys: BTreeSet<&Key> = before.keys().chain(after.keys()).collect();
    let mut rows = Vec::new();
    for key in keys {
        let (year, basis, code) = key;
        let was = before.get(key).map_or(CoverStatus::Missing, |c| c.0);
        let is = after.get(key).map_or(CoverStatus::Missing, |c| c.0);
        let included = |s: CoverStatus| s == CoverStatus::Included;
        if included(was) == included(is) {
            continue;
        }
        let (_, name, file) = after.get(key).or(before.get(key)).cloned().expect("in one of them");
        let (kind, description) = if included(is) {
            let from = file.as_deref().map(|f| format!(", from {f}")).unwrap_or_default();
            (ChangeKind::AreaIncluded, format!("{name} {year} {basis} now counts (was {}{from})", was.as_str()))
        } else {
            (ChangeKind::AreaDropped, format!("{name} {year} {basis} no longer counts (now {})", is.as_str()))
        };
        rows.push(ChangeRow {
            area_code: Some(code.clone()),
            area_name: Some(name),
            financial_year: Some(*year),
            basis: Some(*basis),
            source_file: file,
            previous_status: Some(was.as_str().to_string()),
            current_status: Some(is.as_str().to_string()),
            ..row(kind, description)
        });
    }
    rows
}

/// Per period and national column that moved: the national row, then each area's part,
/// largest first.
fn figures(before: &Side<'_>, after: &Side<'_>) -> Vec<ChangeRow> {
    let (previous, now) = (before.tables, after.tables);
    let national = |t: &Tables, y, b, c: NationalColumn| t.national_row(y, b).map(|r| c.of(r)).unwrap_or_default();
    let periods: BTreeSet<(FinancialYear, Basis)> =
        previous.national.iter().chain(&now.national).map(|r| (r.financial_year, r.basis)).collect();
    let mut rows = Vec::new();
    for (year, basis) in periods {
        for column in NationalColumn::ALL {
            let (was, is) = (national(previous, year, basis, column), national(now, year, basis, column));
            if was == is {
                continue;
            }
            let parts = contributions(before, after, (year, basis), column);
            let what = format!("{year} {basis} {}", lower_first(column.label()));
            let named: Vec<String> = parts.iter().take(NAMED_AREAS).map(|p| p.description.clone()).collect();
            let more = parts.len().saturating_sub(NAMED_AREAS);
            let more = match more {
                0 => String::new(),
                1 => " and 1 more area".to_string(),
                n => format!(" and {n} more areas"),
            };
            let description = format!("{what} {}: {}{more}", signed(is - was), named.join(", "));
            rows.push(ChangeRow {
                financial_year: Some(year),
                basis: Some(basis),
                measure: Some(column),
                previous: Some(was),
                current: Some(is),
                ..row(ChangeKind::TotalChanged, description)
            });
            rows.extend(parts);
        }
    }
    rows
}

/// Each area's change in one period's column, largest first, saying why it moved.
fn contributions(
    before: &Side<'_>,
    after: &Side<'_>,
    (year, basis): (FinancialYear, Basis),
    column: NationalColumn,
) -> Vec<ChangeRow> {
    let in_period = |s: &Side<'_>| -> BTreeSet<String> {
        let from = (year, basis, String::new());
        s.areas
            .range(from..)
            .take_while(|((y, b, _), _)| *y == year && *b == basis)
            .map(|((_, _, c), _)| c.clone())
            .collect()
    };
    let codes: BTreeSet<String> = in_period(before).into_iter().chain(in_period(after)).collect();
    let mut parts: Vec<ChangeRow> = codes
        .into_iter()
        .filter_map(|code| {
            let key = (year, basis, code.clone());
            let (p, n) = (before.areas.get(&key).copied(), after.areas.get(&key).copied());
            let (was, is) = (p.map(|a| a.of(column)), n.map(|a| a.of(column)));
            if was.unwrap_or_default() == is.unwrap_or_default() {
                return None;
            }
            let name = n.or(p).map(|a| a.area_name.clone()).unwrap_or_default();
            let why = reason(p, n, before, after);
            let description = format!("{name} {} ({why})", signed(is.unwrap_or_default() - was.unwrap_or_default()));
            Some(ChangeRow {
                area_code: Some(code),
                area_name: Some(name),
                financial_year: Some(year),
                basis: Some(basis),
                measure: Some(column),
                source_file: n.or(p).map(|a| a.source_file.clone()),
                previous: Some(was.unwrap_or_default()),
                current: Some(is.unwrap_or_default()),
                reason: Some(why),
                ..row(ChangeKind::AreaContribution, description)
            })
        })
        .collect();
    parts.sort_by_key(|r| (std::cmp::Reverse(r.change().unwrap_or_default().0.abs()), r.area_code.clone()));
    parts
}

/// Why an area's figures for a period moved, from what supplied them before and now.
fn reason(p: Option<&AreaTotalRow>, n: Option<&AreaTotalRow>, before: &Side<'_>, after: &Side<'_>) -> String {
    let sha = |s: &Side<'_>, f: &str| s.files.get(f).map(|r| r.sha256.clone());
    match (p, n) {
        (None, Some(n)) => match (before.files.get(n.source_file.as_str()), after.files.get(n.source_file.as_str())) {
            (Some(was), Some(is)) if was.sha256 == is.sha256 && is.accepted_count > 0 => {
                "accepted by a decision".into()
            }
            _ => "now included".into(),
        },
        (Some(_), None) => "dropped out".into(),
        (Some(p), Some(n)) if p.template_id != n.template_id => format!("{} supplied", n.template_id),
        (Some(p), Some(n)) if p.source_file != n.source_file => "resubmitted".into(),
        (Some(_), Some(n)) => {
            let changed = sha(before, &n.source_file) != sha(after, &n.source_file);
            if changed { "resubmitted" } else { "figures changed" }.into()
        }
        (None, None) => "figures changed".into(),
    }
}

/// `Voluntary LA` → `voluntary LA`.
fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_lowercase().chain(c).collect()).unwrap_or_default()
}

/// `+£41.2m` for large moves, `-£1,234.56` for small ones.
pub fn signed(p: Pence) -> String {
    if p.0.abs() >= 10_000_000 {
        p.to_millions_signed()
    } else if p.0 < 0 {
        p.to_gbp()
    } else {
        format!("+{}", p.to_gbp())
    }
}

/// The one line a run prints about what changed.
pub fn headline(changes: Option<&[ChangeRow]>) -> String {
    let Some(rows) = changes else {
        return "since the last publish: nothing to compare with (the first publish in this output folder)".into();
    };
    if rows.is_empty() {
        return "since the last publish: no changes".into();
    }
    let n = |k: ChangeKind| rows.iter().filter(|r| r.kind == k).count();
    let parts = [
        (ChangeKind::FileNew, "new"),
        (ChangeKind::FileResubmitted, "resubmitted"),
        (ChangeKind::FileWithdrawn, "withdrawn"),
        (ChangeKind::FileSuperseded, "superseded"),
        (ChangeKind::FileStatusChanged, "with another status"),
    ];
    let files: Vec<String> =
        parts.iter().filter(|(k, _)| n(*k) > 0).map(|(k, what)| format!("{} {what}", n(*k))).collect();
    let mut said = Vec::new();
    if !files.is_empty() {
        said.push(format!("files {}", files.join(", ")));
    }
    let (inc, drop) = (n(ChangeKind::AreaIncluded), n(ChangeKind::AreaDropped));
    let area_years = |k: usize| if k == 1 { "1 area-year".to_string() } else { format!("{k} area-years") };
    match (inc, drop) {
        (0, 0) => {}
        (i, 0) => said.push(format!("{} now count", area_years(i))),
        (0, d) => said.push(format!("{} no longer count", area_years(d))),
        (i, d) => said.push(format!("{} now count, {d} no longer do", area_years(i))),
    }
    let moved: Vec<String> = rows
        .iter()
        .filter(|r| r.kind == ChangeKind::TotalChanged && r.measure == Some(NationalColumn::VoluntaryAboveMinimum))
        .map(|r| {
            format!(
                "{} {} {}",
                r.financial_year.map(|y| y.to_string()).unwrap_or_default(),
                r.basis.map_or("", Basis::as_str),
                signed(r.change().unwrap_or_default())
            )
        })
        .collect();
    if !moved.is_empty() {
        said.push(format!("voluntary above minimum {}", moved.join(", ")));
    }
    if said.is_empty() {
        said.push(format!("{} changes", rows.len()));
    }
    format!("since the last publish: {} (see changes.parquet)", said.join("; "))
}
