//! Reading amounts as people type them (catalogue §3) into exact pence.

use crate::model::Pence;

/// Why a cell could not be read as an amount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AmountError {
    NotNumeric,
}

/// Parses typed text: `£1,234,567`, `1,234,567.00`, ` 1234567 `, `1234567.5`, `-12`, `(12)`.
/// Returns `Ok(None)` for text that means "nothing here" (blank, or a lone dash).
pub fn parse_text(raw: &str) -> Result<Option<Pence>, AmountError> {
    let mut s: String =
        raw.chars().filter(|c| !c.is_whitespace() && *c != ',' && *c != '£' && *c != '\u{a0}').collect();
    if s.is_empty() || s == "-" || s == "–" {
        return Ok(None);
    }
    let mut negative = false;
    if s.starts_with('(') && s.ends_with(')') && s.len() > 2 {
        negative = true;
        s = s[1..s.len() - 1].to_string();
    }
    if let Some(rest) = s.strip_prefix('-') {
        negative = !negative;
        s = rest.to_string();
    }
    // A currency sign may also follow a minus sign: "-£12".
    let s = s.strip_prefix('£').unwrap_or(&s);
    let pence = parse_decimal(s).ok_or(AmountError::NotNumeric)?;
    Ok(Some(if negative { Pence(-pence.0) } else { pence }))
}

/// Exact pence from a spreadsheet number, via its shortest round-trip decimal form, rounded
/// half away from zero to the penny. `0.285` is 29p, not the 28p that `x * 100.0` would give.
pub fn from_f64(x: f64) -> Result<Pence, AmountError> {
    if !x.is_finite() {
        return Err(AmountError::NotNumeric);
    }
    // Nearly every amount is a whole number of pence: when `x` is exactly the double nearest
    // n/100, its shortest decimal form and n/100 lie in the same sub-ulp interval, far from
    // any half-penny (below 2^40 pence), so both round to n. Skips formatting the float.
    let n = (x * 100.0).round();
    if n.abs() < (1u64 << 40) as f64 && n / 100.0 == x {
        return Ok(Pence(n as i128));
    }
    from_f64_by_text(x)
}

/// [`from_f64`] the long way: format the shortest decimal and parse it.
fn from_f64_by_text(x: f64) -> Result<Pence, AmountError> {
    let text = format!("{x}");
    let (neg, digits) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text.as_str()),
    };
    // Rust's Display for f64 never uses exponents, so this is plain decimal text.
    let p = parse_decimal(digits).ok_or(AmountError::NotNumeric)?;
    Ok(if neg { Pence(-p.0) } else { p })
}

/// Parses unsigned plain decimal text (`1234.567`) to pence, rounding half up past two places.
fn parse_decimal(s: &str) -> Option<Pence> {
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w, f),
        None => (s, ""),
    };
    if whole.is_empty() && frac.is_empty() {
        return None;
    }
    if !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // More than 30 integer digits cannot be money and would overflow i128 arithmetic.
    let whole = whole.trim_start_matches('0');
    if whole.len() > 30 {
        return None;
    }
    let whole_val: i128 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let fb = frac.as_bytes();
    let digit = |i: usize| fb.get(i).map_or(0, |b| (b - b'0') as i128);
    let mut pence = whole_val * 100 + digit(0) * 10 + digit(1);
    if digit(2) >= 5 {
        pence += 1;
    }
    Some(Pence(pence))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The whole-pence shortcut agrees with the shortest-decimal definition everywhere.
        #[test]
        fn whole_pence_shortcut_matches_the_text_path(pence in -(1i64 << 41)..(1i64 << 41), nudge in -2i64..=2, bits in any::<u64>()) {
            let near = f64::from_bits(((pence as f64 / 100.0).to_bits() as i64 + nudge) as u64);
            prop_assert_eq!(from_f64(near), from_f64_by_text(near));
            let any = f64::from_bits(bits);
            if any.is_finite() && any.abs() < 1e20 {
                prop_assert_eq!(from_f64(any), from_f64_by_text(any));
            }
        }
    }

    #[test]
    fn typed_text_habits() {
        assert_eq!(parse_text("£1,234,567"), Ok(Some(Pence(123456700))));
        assert_eq!(parse_text("1,234,567.00"), Ok(Some(Pence(123456700))));
        assert_eq!(parse_text(" 1234567 "), Ok(Some(Pence(123456700))));
        assert_eq!(parse_text("1234567.5"), Ok(Some(Pence(123456750))));
        assert_eq!(parse_text("-£12.30"), Ok(Some(Pence(-1230))));
        assert_eq!(parse_text("(12)"), Ok(Some(Pence(-1200))));
        assert_eq!(parse_text(".5"), Ok(Some(Pence(50))));
        assert_eq!(parse_text("   "), Ok(None));
        assert_eq!(parse_text("-"), Ok(None));
        assert_eq!(parse_text("TBC"), Err(AmountError::NotNumeric));
        assert_eq!(parse_text("12a"), Err(AmountError::NotNumeric));
        assert_eq!(parse_text("1e5"), Err(AmountError::NotNumeric));
        assert_eq!(parse_text("."), Err(AmountError::NotNumeric));
        assert_eq!(parse_text(&"9".repeat(60)), Err(AmountError::NotNumeric));
    }

    #[test]
    fn floats_round_to_the_penny() {
        assert_eq!(from_f64(62504449.66), Ok(Pence(6250444966)));
        assert_eq!(from_f64(0.285), Ok(Pence(29)));
        assert_eq!(from_f64(789.0), Ok(Pence(78900)));
        assert_eq!(from_f64(-1.5), Ok(Pence(-150)));
        assert_eq!(from_f64(1808307.0 + 3616615.47), Ok(Pence(542492247)));
        assert_eq!(from_f64(f64::NAN), Err(AmountError::NotNumeric));
        assert_eq!(from_f64(1e300), Err(AmountError::NotNumeric));
    }
}
