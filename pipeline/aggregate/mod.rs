//! Aggregate: each area's totals per financial year and basis from the lines that count
//! (catalogue §7), the national totals as their sums, and the baseline comparison; what changed
//! since the last publish (`changes`). Pure arithmetic on exact pence.

pub mod changes;
pub mod stage;

use crate::model::{Basis, FinancialYear, Pence, Period};
use crate::reference::Areas;
use crate::schema::{SchemaSet, TotalCategory};
use crate::tables::{AreaTotalRow, NationalRow, Tables};
use crate::validate::submissions::CoverStatus;
use std::collections::BTreeMap;

/// National totals, one row per period of the coverage register, sorted by year then basis:
/// the sums of the area totals (which `t.area_totals` must hold, see [`area_totals`]), and the
/// areas the register includes.
pub fn national_totals(t: &Tables, areas: &Areas, baseline: FinancialYear) -> Vec<NationalRow> {
    let mut acc: BTreeMap<Period, (i32, [Pence; 3])> = BTreeMap::new();
    for c in &t.coverage {
        acc.entry(Period { year: c.financial_year, basis: c.basis }).or_default().0 +=
            (c.status == CoverStatus::Included) as i32;
    }
    for a in &t.area_totals {
        let (_, [mandatory, la, nhs]) = acc.entry(Period { year: a.financial_year, basis: a.basis }).or_default();
        *mandatory += a.mandated_minimum;
        *la += a.voluntary_la;
        *nhs += a.voluntary_nhs;
    }
    let baseline_total = acc.get(&Period { year: baseline, basis: Basis::Plan }).map(|(_, [_, la, nhs])| *la + *nhs);
    acc.into_iter()
        .map(|(period, (included, [mandatory, la, nhs]))| {
            let voluntary = la + nhs;
            let ratio = baseline_total.filter(|b| b.0 != 0).map(|b| voluntary.0 as f64 / b.0 as f64);
            NationalRow {
                financial_year: period.year,
                basis: period.basis,
                areas_expected: areas.count_in(period.year) as i32,
                areas_included: included,
                mandated_minimum: mandatory,
                voluntary_la: la,
                voluntary_nhs: nhs,
                voluntary_above_minimum: voluntary,
                total_pooled: mandatory + voluntary,
                baseline_year: baseline,
                voluntary_vs_baseline_ratio: ratio,
            }
        })
        .collect()
}

/// Each area's figures per period, from the lines that count (catalogue §7: every figure is a
/// sum of lines, never a stored total), sorted by period then area code: one row for every area
/// the register includes (zeros if it has no lines), and for any other area with lines that
/// count (one a decision let count outside its years). Summed over areas they are the national
/// totals.
pub fn area_totals(t: &Tables, schemas: &SchemaSet) -> Vec<AreaTotalRow> {
    let mut rows: BTreeMap<(Period, &str), AreaTotalRow> = BTreeMap::new();
    let blank = |code: &str, name: &str, period: Period, file: &str, template: &str| AreaTotalRow {
        area_code: code.to_string(),
        area_name: name.to_string(),
        financial_year: period.year,
        basis: period.basis,
        source_file: file.to_string(),
        template_id: template.to_string(),
        mandated_minimum: Pence::ZERO,
        voluntary_la: Pence::ZERO,
        voluntary_nhs: Pence::ZERO,
    };
    for c in t.coverage.iter().filter(|c| c.status == CoverStatus::Included) {
        let period = Period { year: c.financial_year, basis: c.basis };
        let (file, template) = (c.source_file.as_deref().unwrap_or(""), c.template_id.as_deref().unwrap_or(""));
        rows.insert((period, &c.area_code), blank(&c.area_code, &c.area_name, period, file, template));
    }
    for l in &t.lines {
        let period = Period { year: l.financial_year, basis: l.basis };
        let row = rows
            .entry((period, &l.area_code))
            .or_insert_with(|| blank(&l.area_code, &l.area_name, period, &l.source_file, &l.template_id));
        match schemas.funding_sources.get(&*l.funding_source) {
            Some(TotalCategory::Mandatory) => row.mandated_minimum += l.amount,
            Some(TotalCategory::VoluntaryLa) => row.voluntary_la += l.amount,
            Some(TotalCategory::VoluntaryNhs) => row.voluntary_nhs += l.amount,
            None => {} // schema checks guarantee every source is in the vocabulary
        }
    }
    rows.into_values().collect()
}
