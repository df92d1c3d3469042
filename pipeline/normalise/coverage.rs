//! The submission register: one row per area expected that year, financial year and basis of
//! the run, saying which file supplies its figures, or that it is rejected or missing.

use crate::model::{FinancialYear, Period};
use crate::reference::Areas;
use crate::schema::SchemaSet;
use crate::tables::CoverageRow;
use crate::validate::submissions::{CoverStatus, Supply};
use crate::validate::Validated;
use std::collections::BTreeSet;

/// The periods a run reports: every period of every return template among its files.
pub fn periods(validated: &[Validated], schemas: &SchemaSet) -> BTreeSet<Period> {
    validated
        .iter()
        .filter(|v| !v.parsed.is_allocations())
        .filter_map(|v| v.parsed.template_id.as_deref().and_then(|id| schemas.template(id)))
        .flat_map(|t| t.periods())
        .collect()
}

/// Rows by period, then area code.
pub fn coverage_rows(periods: &BTreeSet<Period>, supply: &Supply, areas: &Areas) -> Vec<CoverageRow> {
    let mut rows = Vec::new();
    for &period in periods {
        let year: FinancialYear = period.year;
        let mut expected: Vec<&crate::reference::Area> = areas.areas.iter().filter(|a| a.exists_in(year)).collect();
        expected.sort_by(|a, b| a.code.cmp(&b.code));
        for area in expected {
            let cover = supply.get(&(area.code.clone(), period));
            rows.push(CoverageRow {
                area_code: area.code.clone(),
                area_name: area.name.clone(),
                financial_year: period.year,
                basis: period.basis,
                status: cover.map_or(CoverStatus::Missing, |c| c.status),
                source_file: cover.and_then(|c| c.source_file.clone()),
                template_id: cover.and_then(|c| c.template_id.clone()),
                submission_date: cover.and_then(|c| c.submission_date),
                replaced_files: cover.map(|c| c.replaced.clone()).unwrap_or_default(),
            });
        }
    }
    rows
}
