//! Aggregate: national totals per financial year and basis from the lines that count
//! (catalogue §7), and the baseline comparison. Pure arithmetic on exact pence.

pub mod changes;
pub mod stage;

use crate::model::{Basis, FinancialYear, Pence, Period};
use crate::reference::Areas;
use crate::schema::{SchemaSet, TotalCategory};
use crate::tables::{AreaTotalRow, NationalRow, Tables};
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

/// Each included area's figures per period, from the lines that count, in coverage order
/// (period, then area code). Summed over areas they are the national totals.
pub fn area_totals(t: &Tables, schemas: &SchemaSet) -> Vec<AreaTotalRow> {
    let mut sums: HashMap<(&str, Period), [Pence; 3]> = HashMap::new();
    for l in &t.lines {
        let slot = match schemas.funding_sources.get(&*l.funding_source) {
            Some(TotalCategory::Mandatory) => 0,
            Some(TotalCategory::VoluntaryLa) => 1,
            Some(TotalCategory::VoluntaryNhs) => 2,
            None => continue,
        };
        sums.entry((&l.area_code, Period { year: l.financial_year, basis: l.basis })).or_default()[slot] += l.amount;
    }
    t.coverage
        .iter()
        .filter(|c| c.status == CoverStatus::Included)
        .map(|c| {
            let period = Period { year: c.financial_year, basis: c.basis };
            let [mandatory, la, nhs] = sums.get(&(c.area_code.as_str(), period)).copied().unwrap_or_default();
            AreaTotalRow {
                area_code: c.area_code.clone(),
                area_name: c.area_name.clone(),
                financial_year: c.financial_year,
                basis: c.basis,
                source_file: c.source_file.clone().unwrap_or_default(),
                template_id: c.template_id.clone().unwrap_or_default(),
                mandated_minimum: mandatory,
                voluntary_la: la,
                voluntary_nhs: nhs,
            }
        })
        .collect()
}
