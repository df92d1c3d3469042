//! Reading money and date cells with the habits of catalogue §3, and the money rules of §5.

use crate::model::{truncate, ArcStr, CellPos, Date, Finding, Findings, Pence, Rule};
use crate::money;
use crate::workbook::{Sheet, Value, Workbook};

/// £1,000,000,000: no single BCF amount is larger.
pub const MAX_AMOUNT: Pence = Pence(1_000_000_000 * 100);

/// The workbook's name for the sheet a schema section reads; a missing sheet is reported.
pub fn sheet_named(wb: &Workbook, wanted: &str, findings: &mut Findings) -> Option<String> {
    let name = wb.resolve_sheet(wanted);
    if name.is_none() {
        findings.push(Finding::sheet(Rule::FieldMissing, wanted, format!("the sheet '{wanted}' is missing")));
    }
    name
}

/// Reads a money cell. `Ok(None)` is a blank cell. A cell that breaks a rule adds its finding
/// and reads as `None`, so it never contributes.
pub fn amount(sheet: &Sheet, pos: CellPos, findings: &mut Findings) -> Option<Pence> {
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

/// A cell's value as a person typed or sees it: text trimmed, whole numbers without `.0`, a
/// date cell as `2023-06-17`.
pub fn as_typed(cell: &crate::workbook::Cell) -> String {
    match &cell.value {
        Value::Number(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{}", *x as i64),
        Value::Date(_) | Value::DateIso(_) => date(&cell.value).map_or_else(|| cell.display(), |d| d.to_string()),
        _ => cell.display().trim().to_string(),
    }
}

/// Maps a drop-down cell (e.g. "Source of Funding") to a funding source through a schema's
/// vocabulary, ignoring case and spacing. An empty or unknown value on a row with an amount is a
/// `field-missing` finding naming the allowed values (one per cell).
pub fn funding_source(
    sheet: &Sheet,
    pos: CellPos,
    values: &std::collections::BTreeMap<String, ArcStr>,
    what: &str,
    findings: &mut Findings,
) -> Option<ArcStr> {
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

/// Reads a date: a date cell, or text `dd/mm/yyyy` (also `-` or `.` separated), or ISO text.
pub fn date(value: &Value) -> Option<Date> {
    match value {
        Value::Date(serial) => Date::from_excel_serial(*serial),
        Value::DateIso(s) => Date::parse_iso(s),
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
                return Date::parse_iso(t);
            }
            if parts[2].len() != 4 {
                return None;
            }
            Date::from_ymd(num(parts[2])?, num(parts[1])?, num(parts[0])?)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        let iso = |v: Value| date(&v).map(|d| d.to_string());
        assert_eq!(iso(Value::Date(45094.0)).as_deref(), Some("2023-06-17"));
        assert_eq!(iso(Value::Text("17/06/2023".into())).as_deref(), Some("2023-06-17"));
        assert_eq!(iso(Value::Text("2023-06-17".into())).as_deref(), Some("2023-06-17"));
        assert_eq!(iso(Value::DateIso("2023-06-17T00:00:00".into())).as_deref(), Some("2023-06-17"));
        assert!(date(&Value::Text("31/02/2023".into())).is_none());
        assert!(date(&Value::Text("soon".into())).is_none());
        assert!(date(&Value::Text("17/06/23".into())).is_none());
        assert!(date(&Value::Number(45094.0)).is_none());
    }
}
