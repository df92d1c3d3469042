//! Reference data: every HWB area (`schemas/reference/areas.csv`) and matching a typed name
//! to one (catalogue §4).

use crate::model::FinancialYear;
use serde::Deserialize;

#[derive(Debug, Clone)]
pub struct Area {
    pub code: String,
    pub name: String,
    pub first_year: FinancialYear,
    /// `None`: still exists.
    pub last_year: Option<FinancialYear>,
    /// Folded forms of the name and every alternative name.
    keys: Vec<String>,
}

impl Area {
    pub fn exists_in(&self, year: FinancialYear) -> bool {
        self.first_year <= year && self.last_year.is_none_or(|l| year <= l)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Areas {
    pub areas: Vec<Area>,
}

/// How a typed HWB name resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AreaMatch {
    Found {
        code: String,
        name: String,
    },
    /// The name is an area's, but that area does not exist in every one of the years.
    NotInYears {
        name: String,
        first: String,
        last: Option<String>,
    },
    Unknown,
}

#[derive(Deserialize)]
struct Row {
    hwb_code: String,
    hwb_name: String,
    first_financial_year: String,
    last_financial_year: String,
    alt_names: String,
}

/// Trim, fold case, collapse inner white space, read `&` as `and`.
pub fn fold_name(s: &str) -> String {
    s.replace('&', " and ").split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

impl Areas {
    /// The areas of an `areas.csv` (its bytes): every row, or the first bad row's number and why.
    pub fn from_csv(bytes: &[u8]) -> Result<Areas, String> {
        let mut rdr = csv::Reader::from_reader(bytes);
        let mut areas = Vec::new();
        for (i, row) in rdr.deserialize::<Row>().enumerate() {
            let row = row.map_err(|e| format!("row {}: {e}", i + 2))?;
            let first_year = FinancialYear::parse(&row.first_financial_year)
                .ok_or_else(|| format!("row {}: bad first_financial_year", i + 2))?;
            let last_year = if row.last_financial_year.trim().is_empty() {
                None
            } else {
                Some(
                    FinancialYear::parse(&row.last_financial_year)
                        .ok_or_else(|| format!("row {}: bad last_financial_year", i + 2))?,
                )
            };
            let mut keys = vec![fold_name(&row.hwb_name)];
            keys.extend(row.alt_names.split('|').map(fold_name).filter(|k| !k.is_empty()));
            keys.dedup();
            areas.push(Area { code: row.hwb_code, name: row.hwb_name, first_year, last_year, keys });
        }
        Ok(Areas { areas })
    }

    /// Areas that exist in a financial year.
    pub fn count_in(&self, year: FinancialYear) -> usize {
        self.areas.iter().filter(|a| a.exists_in(year)).count()
    }

    pub fn by_code(&self, code: &str) -> Option<&Area> {
        self.areas.iter().find(|a| a.code == code)
    }

    /// Matches a typed name; where two areas share it, the one existing in all `years` wins.
    pub fn match_name(&self, typed: &str, years: &[FinancialYear]) -> AreaMatch {
        let key = fold_name(typed);
        if key.is_empty() {
            return AreaMatch::Unknown;
        }
        let candidates: Vec<&Area> = self.areas.iter().filter(|a| a.keys.contains(&key)).collect();
        if let Some(a) = candidates.iter().find(|a| years.iter().all(|y| a.exists_in(*y))) {
            return AreaMatch::Found { code: a.code.clone(), name: a.name.clone() };
        }
        match candidates.first() {
            Some(a) => AreaMatch::NotInYears {
                name: a.name.clone(),
                first: a.first_year.to_string(),
                last: a.last_year.map(|y| y.to_string()),
            },
            None => AreaMatch::Unknown,
        }
    }
}
