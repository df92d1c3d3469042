//! The wall clock: the one place bcf reads the time, for run records, lock holders and the
//! date a publish's pages and workbook show. Times never reach the published data files.

use crate::model::{civil_from_days, Date};

/// `2026-11-22T16:01:02Z` from seconds since the epoch (UTC).
pub fn timestamp(secs: u64) -> String {
    let (y, m, d) = civil_from_days((secs / 86400) as i64);
    let rem = secs % 86400;
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// The current time as [`timestamp`] writes it.
pub fn now() -> String {
    timestamp(seconds())
}

fn seconds() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Today's date (UTC), for the pages and workbook of a publish; `SOURCE_DATE_EPOCH` (the
/// reproducible-builds convention) sets it, so a publish can be rebuilt byte for byte.
pub fn today() -> Date {
    let secs = std::env::var("SOURCE_DATE_EPOCH").ok().and_then(|s| s.trim().parse().ok()).unwrap_or_else(seconds);
    Date { days: (secs / 86400) as i32 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_iso() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(timestamp(1_795_362_062), "2026-11-22T15:41:02Z");
    }
}
