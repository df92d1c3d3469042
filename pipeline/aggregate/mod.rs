//! Aggregate: national totals per financial year and basis from the lines that count
//! (catalogue §7), and the baseline comparison. Pure arithmetic on exact pence.

pub mod stage;

use crate::model::{Basis, FinancialYear, Pence, Period};
use crate::reference::Areas;
use crate::schema::{SchemaSet, TotalCategory};
use crate::tables::{NationalRow, Tables};
use crate::validate::submissions::CoverStatus;
use std::collections::{BTreeMap, HashMap};

#[derive(Default)]
struct Sums {
    mandatory: Pence,
    la: Pence,
    nhs: Pence,
    included: i32,
}

/// National totals, one row per period of the coverage register, sorted by year then basis.
pub fn national_totals(t: &Tables, schemas: &SchemaSet, areas: &Areas, baseline: FinancialYear) -> Vec<NationalRow> {
    let mut acc: BTreeMap<Period, Sums> = BTreeMap::new();
    for c in &t.coverage {
        let sums = acc.entry(Period { year: c.financial_year, basis: c.basis }).or_default();
        sums.included += (c.status == CoverStatus::Included) as i32;
    }
    // Summed by (period, source) first, on borrowed keys: one lookup per line.
    let mut by_source: HashMap<(Period, &str), Pence> = HashMap::new();
    for l in &t.lines {
        *by_source.entry((Period { year: l.financial_year, basis: l.basis }, &l.funding_source)).or_default() +=
            l.amount;
    }
    for ((period, source), amount) in by_source {
        let a = acc.entry(period).or_default();
        match schemas.funding_sources.get(source) {
            Some(TotalCategory::Mandatory) => a.mandatory += amount,
            Some(TotalCategory::VoluntaryLa) => a.la += amount,
            Some(TotalCategory::VoluntaryNhs) => a.nhs += amount,
            None => {} // schema checks guarantee every source is in the vocabulary
        }
    }
    let baseline_total = acc.get(&Period { year: baseline, basis: Basis::Plan }).map(|a| a.la + a.nhs);
    acc.into_iter()
        .map(|(period, a)| {
            let voluntary = a.la + a.nhs;
            let ratio = baseline_total.filter(|b| b.0 != 0).map(|b| voluntary.0 as f64 / b.0 as f64);
            NationalRow {
                financial_year: period.year,
                basis: period.basis,
                areas_expected: areas.count_in(period.year) as i32,
                areas_included: a.included,
                mandated_minimum: a.mandatory,
                voluntary_la: a.la,
                voluntary_nhs: a.nhs,
                voluntary_above_minimum: voluntary,
                total_pooled: a.mandatory + voluntary,
                baseline_year: baseline,
                voluntary_vs_baseline_ratio: ratio,
            }
        })
        .collect()
}
