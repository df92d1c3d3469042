//! Reading money and date cells with the habits of catalogue §3, and the money rules of §5.

use crate::model::{CellPos, Finding, Pence, Rule};
use crate::money;
use crate::workbook::{Sheet, Value};

/// £1,000,000,000: no single BCF amount is larger.
pub const MAX_AMOUNT: Pence = Pence(1_000_000_000 * 100);

/// Reads a money cell. `Ok(None)` is a blank cell. A cell that breaks a rule adds its finding
/// and reads as `None`, so it never contributes.
pub fn amount(sheet: &Sheet, pos: CellPos, findings: &mut Vec<Finding>) -> Option<Pence> {
    let cell = sheet.get(pos)?;
    let at = |rule, msg: String| Finding::cell(rule, &sheet.name, pos, msg);
    let parsed = match &cell.value {
        Value::Empty if cell.formula => {
            findings.push(at(
                Rule::FormulaNotCalculated,
                "holds a formula with no calculated value; open the workbook in Excel, let it calculate, save and resubmit".into(),
            ));
            return None;
        }
        Value::Empty => return None,
        Value::Number(x) => money::from_f64(*x).ok(),
        Value::Text(t) => match money::parse_text(t) {
            Ok(None) => return None,
            Ok(Some(p)) => Some(p),
            Err(_) => None,
        },
        Value::Error(e) => {
            findings.push(at(
                Rule::AmountNotNumeric,
                format!("holds the error {e}, not an amount; correct the formula or type the amount"),
            ));
            return None;
        }
        Value::Bool(_) | Value::Date(_) | Value::DateIso(_) => None,
    };
    let Some(p) = parsed else {
        findings.push(at(
            Rule::AmountNotNumeric,
            format!("\"{}\" is not an amount; enter the amount in pounds, e.g. 1234567.89", truncate(&cell.display())),
        ));
        return None;
    };
    if p.0 < 0 {
        findings.push(at(Rule::AmountNegative, format!("{} is below zero; amounts must not be negative", p.to_gbp())));
        return None;
    }
    if p > MAX_AMOUNT {
        findings.push(at(
            Rule::AmountOutOfRange,
            format!("{} exceeds £1,000,000,000; check the amount is in pounds", p.to_gbp()),
        ));
        return None;
    }
    Some(p)
}

/// A stored total's cached value, if it is a readable number. Totals are only compared.
pub fn stored_total(sheet: &Sheet, pos: CellPos) -> Option<Pence> {
    let cell = sheet.get(pos)?;
    match &cell.value {
        Value::Number(x) => money::from_f64(*x).ok(),
        Value::Text(t) => money::parse_text(t).ok().flatten(),
        _ => None,
    }
}

/// Text of a descriptive cell: trimmed, `None` when blank. Numbers read as people see them
/// (scheme id 7, not 7.0).
pub fn text(sheet: &Sheet, pos: CellPos) -> Option<String> {
    let cell = sheet.get(pos)?;
    let s = match &cell.value {
        Value::Text(t) => t.trim().to_string(), // the common case: one copy
        Value::Number(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{}", *x as i64),
        _ => cell.display().trim().to_string(),
    };
    (!s.is_empty()).then_some(s)
}

/// Maps a drop-down cell (e.g. "Source of Funding") to a funding source through a schema's
/// vocabulary, ignoring case and spacing. An empty or unknown value on a row with an amount is a
/// `field-missing` finding naming the allowed values (one per cell).
pub fn funding_source(
    sheet: &Sheet,
    pos: CellPos,
    values: &std::collections::BTreeMap<String, crate::model::Text>,
    what: &str,
    findings: &mut Vec<Finding>,
) -> Option<crate::model::Text> {
    let typed = text(sheet, pos).unwrap_or_default();
    let key = crate::workbook::norm(&typed);
    if let Some((_, src)) = values.iter().find(|(k, _)| crate::workbook::folds_to(k, &key)) {
        return Some(src.clone());
    }
    let allowed = values.keys().map(|k| format!("\"{k}\"")).collect::<Vec<_>>().join(", ");
    let msg = if typed.is_empty() {
        format!("the {what} is empty but the row has an amount; choose one of {allowed}")
    } else {
        format!("\"{}\" is not a valid {what}; choose one of {allowed}", truncate(&typed))
    };
    let cell = pos.a1();
    if !findings
        .iter()
        .any(|f| f.sheet.as_deref() == Some(sheet.name.as_str()) && f.cell.as_deref() == Some(cell.as_str()))
    {
        findings.push(Finding::cell(Rule::FieldMissing, &sheet.name, pos, msg));
    }
    None
}

/// Shortens user text quoted in a message.
pub fn truncate(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(MAX).collect::<String>())
    }
}

/// A calendar date as days since 1970-01-01 and ISO text, from a date cell or typed text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Date {
    pub iso: String,
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// (year, month, day) of a day count since 1970-01-01 (proleptic Gregorian).
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn valid_ymd(y: i64, m: i64, d: i64) -> Option<Date> {
    if !(1900..=2999).contains(&y) || !(1..=12).contains(&m) || d < 1 {
        return None;
    }
    let days = days_from_civil(y, m, d);
    (civil_from_days(days) == (y, m, d)).then(|| Date { iso: format!("{y:04}-{m:02}-{d:02}") })
}

/// Reads a date: a date cell, or text `dd/mm/yyyy` (also `-` or `.` separated), or ISO text.
pub fn date(value: &Value) -> Option<Date> {
    match value {
        Value::Date(serial) => {
            // Excel serials count days from 1899-12-30.
            let days = serial.floor() as i64 + days_from_civil(1899, 12, 30);
            let (y, m, d) = civil_from_days(days);
            valid_ymd(y, m, d)
        }
        Value::DateIso(s) => parse_iso(s),
        Value::Text(t) => {
            let t = t.trim();
            let parts: Vec<&str> = t.split(['/', '-', '.']).collect();
            if parts.len() != 3 {
                return None;
            }
            let num = |s: &str| -> Option<i64> {
                (!s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| s.parse().ok())
                    .flatten()
            };
            if parts[0].len() == 4 {
                return parse_iso(t);
            }
            if parts[2].len() != 4 {
                return None;
            }
            valid_ymd(num(parts[2])?, num(parts[1])?, num(parts[0])?)
        }
        _ => None,
    }
}

fn parse_iso(s: &str) -> Option<Date> {
    let s = s.get(..10)?;
    let b = s.as_bytes();
    if b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    valid_ymd(s[0..4].parse().ok()?, s[5..7].parse().ok()?, s[8..10].parse().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(date(&Value::Date(45094.0)).unwrap().iso, "2023-06-17");
        assert_eq!(date(&Value::Text("17/06/2023".into())).unwrap().iso, "2023-06-17");
        assert_eq!(date(&Value::Text("2023-06-17".into())).unwrap().iso, "2023-06-17");
        assert_eq!(date(&Value::DateIso("2023-06-17T00:00:00".into())).unwrap().iso, "2023-06-17");
        assert!(date(&Value::Text("31/02/2023".into())).is_none());
        assert!(date(&Value::Text("soon".into())).is_none());
        assert!(date(&Value::Text("17/06/23".into())).is_none());
        assert!(date(&Value::Number(45094.0)).is_none());
    }
}
