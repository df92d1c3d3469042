//! Minimum contributions against the published allocations (catalogue §5): for each stream
//! with an allocation for a return's area and year, the return's lines for that stream must be
//! within £1 of it (`minimum-mismatch`); a year no allocations workbook covers is skipped with
//! a warning (`allocation-missing`).

use super::{Allocation, Allocations, IncomeLine, ParsedFile};
use crate::model::{FinancialYear, Finding, Pence, Period, Rule};
use crate::schema::SchemaSet;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The lines of a stream may differ from its allocation by at most this.
const TOLERANCE: Pence = super::income::TOLERANCE;

/// The published allocations a check uses: per area and year, each stream's allocation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Saved", into = "Saved")]
pub struct AllocationTable {
    /// (area code, year) → (funding source, allocation), sorted by source.
    streams: BTreeMap<(String, FinancialYear), Vec<(String, Pence)>>,
    /// Each year covered, and the workbook that supplies it.
    years: BTreeMap<FinancialYear, String>,
}

/// The table as stored (in the self-check page): the rows it holds, and whose each year is.
#[derive(Serialize, Deserialize)]
struct Saved {
    years: BTreeMap<FinancialYear, String>,
    rows: Vec<Allocation>,
}

impl AllocationTable {
    /// The table of some allocations workbooks, `(source file, what it holds)`, in order: the
    /// first that covers a year supplies it (and, within it, a stream's first row).
    pub fn from_workbooks<'a>(workbooks: impl IntoIterator<Item = (&'a str, &'a Allocations)> + Clone) -> Self {
        let mut years: BTreeMap<FinancialYear, String> = BTreeMap::new();
        for (file, a) in workbooks.clone() {
            for &y in &a.years {
                years.entry(y).or_insert_with(|| file.to_string());
            }
        }
        let owned = |file: &str, row: &Allocation| years.get(&row.financial_year).is_some_and(|f| f == file);
        let rows: Vec<Allocation> = workbooks
            .into_iter()
            .flat_map(|(file, a)| a.rows.iter().filter(move |r| owned(file, r)))
            .cloned()
            .collect();
        AllocationTable::from(Saved { years, rows })
    }

    /// Whether any workbook covers `year`.
    pub fn covers(&self, year: FinancialYear) -> bool {
        self.years.contains_key(&year)
    }

    /// Each year covered, with the workbook that supplies it.
    pub fn years(&self) -> &BTreeMap<FinancialYear, String> {
        &self.years
    }

    /// An area's allocation per stream in a year, sorted by stream.
    pub fn streams(&self, area: &str, year: FinancialYear) -> &[(String, Pence)] {
        self.streams.get(&(area.to_string(), year)).map(Vec::as_slice).unwrap_or_default()
    }
}

impl From<Saved> for AllocationTable {
    fn from(saved: Saved) -> Self {
        let mut streams: BTreeMap<(String, FinancialYear), Vec<(String, Pence)>> = BTreeMap::new();
        for row in saved.rows {
            let of_area = streams.entry((row.area_code, row.financial_year)).or_default();
            if !of_area.iter().any(|(s, _)| *s == row.funding_source) {
                of_area.push((row.funding_source, row.amount));
            }
        }
        for of_area in streams.values_mut() {
            of_area.sort();
        }
        AllocationTable { streams, years: saved.years }
    }
}

impl From<AllocationTable> for Saved {
    fn from(t: AllocationTable) -> Saved {
        let rows = t
            .streams
            .into_iter()
            .flat_map(|((area_code, financial_year), streams)| {
                streams.into_iter().map(move |(funding_source, amount)| Allocation {
                    area_code: area_code.clone(),
                    funding_source,
                    financial_year,
                    amount,
                })
            })
            .collect();
        Saved { years: t.years, rows }
    }
}

/// One return's minimum contributions against its area's allocations. An allocations
/// workbook, or a file with no template or area, has none to check.
pub fn findings(p: &ParsedFile, table: &AllocationTable, schemas: &SchemaSet) -> Vec<Finding> {
    let mut new = Vec::new();
    let (Some(template), Some(area)) = (p.template_id.as_deref().and_then(|t| schemas.template(t)), &p.area_code)
    else {
        return new;
    };
    if p.is_allocations() {
        return new;
    }
    for &year in &p.financial_years {
        if !table.covers(year) {
            new.push(Finding::file(
                Rule::AllocationMissing,
                format!("no allocations workbook for {year} was in the input, so the minimum contributions for {year} were not checked"),
            ));
            continue;
        }
        for period in template.periods().into_iter().filter(|p| p.year == year) {
            for (source, allocated) in table.streams(area, year) {
                let in_stream = |l: &&IncomeLine| {
                    *l.funding_source == **source && l.financial_year == year && l.basis == period.basis
                };
                let lines = Pence::sum(p.lines.iter().filter(in_stream).map(|l| &l.amount));
                if lines.abs_diff(*allocated) > TOLERANCE {
                    new.push(mismatch(p, (source, schemas.source_name(source)), period, lines, *allocated));
                }
            }
        }
    }
    new
}

/// `source` is the stream's (id, description).
fn mismatch(p: &ParsedFile, (source, name): (&str, &str), period: Period, lines: Pence, allocated: Pence) -> Finding {
    let msg = format!(
        "the {name} lines for {} ({}) add up to {} but the published minimum allocation is {}; enter the allocated amount",
        period.year,
        period.basis,
        lines.to_gbp(),
        allocated.to_gbp()
    );
    let at = p
        .stream_cells
        .iter()
        .find(|c| *c.funding_source == *source && c.financial_year == period.year && c.basis == period.basis);
    match at {
        Some(c) => Finding {
            sheet: Some(c.sheet.to_string()),
            cell: Some(c.cell.clone()),
            ..Finding::file(Rule::MinimumMismatch, msg)
        },
        None => Finding::file(Rule::MinimumMismatch, msg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(area: &str, source: &str, year: i32, pounds: i64) -> Allocation {
        Allocation {
            area_code: area.into(),
            funding_source: source.into(),
            financial_year: FinancialYear(year),
            amount: Pence::from_pounds(pounds),
        }
    }

    #[test]
    fn the_first_workbook_covering_a_year_supplies_it_and_the_table_survives_json() {
        let a = Allocations {
            years: vec![FinancialYear(2023)],
            rows: vec![row("E1", "dfg", 2023, 10), row("E1", "dfg", 2023, 99)],
            ..Allocations::default()
        };
        let b = Allocations {
            years: vec![FinancialYear(2023), FinancialYear(2024)],
            rows: vec![row("E1", "dfg", 2023, 20), row("E1", "ibcf", 2024, 30), row("E1", "dfg", 2024, 40)],
            ..Allocations::default()
        };
        let t = AllocationTable::from_workbooks([("a.xlsx", &a), ("b.xlsx", &b)]);
        assert_eq!(t.streams("E1", FinancialYear(2023)), [("dfg".to_string(), Pence::from_pounds(10))]);
        let y24 = t.streams("E1", FinancialYear(2024));
        assert_eq!(y24.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>(), ["dfg", "ibcf"], "sorted by stream");
        assert_eq!(t.years()[&FinancialYear(2024)], "b.xlsx");
        assert!(!t.covers(FinancialYear(2022)));
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(serde_json::from_str::<AllocationTable>(&json).unwrap(), t);
    }
}
