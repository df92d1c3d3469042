//! Aggregate: national totals per financial year and basis from accepted lines (catalogue §7),
//! and the baseline comparison. Pure arithmetic on exact pence.

pub mod datapackage;
pub mod feedback;
pub mod html;
pub mod report;

use crate::model::{Basis, FinancialYear, Pence};
use crate::reference::Areas;
use crate::schema::{SchemaSet, TotalCategory};
use crate::tables::{NationalRow, Tables};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Writes `text` with each byte that `replacement` names written as its replacement: how the
/// reports escape text without building a string for it. Only ASCII bytes may be named, so
/// each byte found is a whole character.
fn write_replacing(
    f: &mut std::fmt::Formatter<'_>,
    text: &str,
    replacement: fn(u8) -> Option<&'static str>,
) -> std::fmt::Result {
    let mut rest = text;
    while let Some((i, with)) = rest.bytes().enumerate().find_map(|(i, b)| Some((i, replacement(b)?))) {
        debug_assert!(rest.as_bytes()[i].is_ascii(), "only ASCII bytes are replaced");
        f.write_str(&rest[..i])?;
        f.write_str(with)?;
        rest = &rest[i + 1..];
    }
    f.write_str(rest)
}

/// The periods (year, basis) a run reports: every period of every return template seen.
pub fn periods(t: &Tables, schemas: &SchemaSet) -> BTreeSet<(String, Basis)> {
    t.submissions
        .iter()
        .filter_map(|s| s.template_id.as_deref())
        .filter_map(|id| schemas.template(id))
        .flat_map(|tpl| tpl.periods())
        .collect::<BTreeSet<_>>()
}

/// National totals, one row per period, sorted by year then basis.
pub fn national_totals(t: &Tables, schemas: &SchemaSet, areas: &Areas, baseline_year: &str) -> Vec<NationalRow> {
    #[derive(Default)]
    struct Acc {
        mandatory: Pence,
        la: Pence,
        nhs: Pence,
        areas: BTreeSet<String>,
    }
    let mut acc: BTreeMap<(String, Basis), Acc> = BTreeMap::new();
    for p in periods(t, schemas) {
        acc.entry(p).or_default();
    }
    // Areas contributing to a period: accepted submissions whose template reports it.
    for s in t.submissions.iter().filter(|s| s.status == "accepted" || s.status == "accepted_with_warnings") {
        let (Some(area), Some(tpl)) = (&s.area_code, s.template_id.as_deref().and_then(|id| schemas.template(id)))
        else {
            continue;
        };
        for p in tpl.periods() {
            acc.entry(p).or_default().areas.insert(area.clone());
        }
    }
    // Summed by (year, basis, source) first, on borrowed keys: one lookup per line, no copies.
    let mut sums: HashMap<(&str, &str, &str), Pence> = HashMap::new();
    for l in &t.lines {
        *sums.entry((&l.financial_year, &l.basis, &l.funding_source)).or_default() += l.amount;
    }
    for ((year, basis, source), amount) in sums {
        let basis = if basis == "actual" { Basis::Actual } else { Basis::Plan };
        let a = acc.entry((year.to_string(), basis)).or_default();
        match schemas.funding_sources.get(source) {
            Some(TotalCategory::Mandatory) => a.mandatory += amount,
            Some(TotalCategory::VoluntaryLa) => a.la += amount,
            Some(TotalCategory::VoluntaryNhs) => a.nhs += amount,
            None => {} // schema checks guarantee every source is in the vocabulary
        }
    }
    let baseline = acc.get(&(baseline_year.to_string(), Basis::Plan)).map(|a| a.la + a.nhs);
    acc.into_iter()
        .map(|((year, basis), a)| {
            let voluntary = a.la + a.nhs;
            let ratio = baseline.filter(|b| b.0 != 0).map(|b| voluntary.0 as f64 / b.0 as f64);
            NationalRow {
                areas_expected: FinancialYear::parse(&year).map_or(0, |y| areas.count_in(y) as i32),
                areas_included: a.areas.len() as i32,
                financial_year: year,
                basis: basis.as_str().to_string(),
                mandated_minimum: a.mandatory,
                voluntary_la: a.la,
                voluntary_nhs: a.nhs,
                voluntary_above_minimum: voluntary,
                total_pooled: a.mandatory + voluntary,
                baseline_year: baseline_year.to_string(),
                voluntary_vs_baseline_ratio: ratio,
            }
        })
        .collect()
}
