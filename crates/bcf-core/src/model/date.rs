//! Calendar dates (proleptic Gregorian), as days since 1970-01-01: what Parquet's `date32`
//! stores. (The clock is the pipeline's: the core never reads the time.)

use std::fmt;

/// A calendar date. Serialised as ISO text, `2023-06-17`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// Days since 1970-01-01.
    pub days: i32,
}

impl Date {
    /// The date, if `y-m-d` is a real day between the years 1900 and 2999.
    pub fn from_ymd(y: i64, m: i64, d: i64) -> Option<Date> {
        if !(1900..=2999).contains(&y) || !(1..=12).contains(&m) || d < 1 {
            return None;
        }
        let days = days_from_civil(y, m, d);
        (civil_from_days(days) == (y, m, d)).then_some(Date { days: days as i32 })
    }

    /// An Excel date serial (days since 1899-12-30; the time of day is dropped).
    pub fn from_excel_serial(serial: f64) -> Option<Date> {
        if !serial.is_finite() || serial.abs() > 1e7 {
            return None;
        }
        let (y, m, d) = civil_from_days(serial.floor() as i64 + days_from_civil(1899, 12, 30));
        Date::from_ymd(y, m, d)
    }

    /// `2023-06-17`, or the first ten characters of an ISO date-time.
    pub fn parse_iso(s: &str) -> Option<Date> {
        let s = s.get(..10)?;
        let b = s.as_bytes();
        if b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<i64> {
            let part = &s[r];
            part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok()).flatten()
        };
        Date::from_ymd(num(0..4)?, num(5..7)?, num(8..10)?)
    }

    pub fn ymd(self) -> (i64, i64, i64) {
        civil_from_days(self.days as i64)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl serde::Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Date {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Date::parse_iso(&s).ok_or_else(|| serde::de::Error::custom(format!("{s:?} is not a date like 2023-06-17")))
    }
}

/// Days since 1970-01-01 of a (year, month, day) (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// (year, month, day) of a day count since 1970-01-01.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_refuse_impossible_days() {
        assert_eq!(Date::from_excel_serial(45094.0).unwrap().to_string(), "2023-06-17");
        assert_eq!(Date::parse_iso("2023-06-17T00:00:00").unwrap().to_string(), "2023-06-17");
        assert!(Date::from_ymd(2023, 2, 31).is_none());
        assert!(Date::parse_iso("2023-6-17").is_none());
        assert!(Date::parse_iso("20x3-06-17").is_none());
        let d = Date::from_ymd(2024, 2, 29).unwrap();
        assert_eq!(d.days, 19782);
        assert_eq!(serde_json::to_string(&d).unwrap(), "\"2024-02-29\"");
        assert_eq!(serde_json::from_str::<Date>("\"2024-02-29\"").unwrap(), d);
    }
}
