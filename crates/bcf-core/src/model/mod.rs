//! Domain types shared by every stage: money, financial years, cell references, rules,
//! findings and statuses.

mod date;
mod findings;
mod rule;

pub use date::{civil_from_days, days_from_civil, Date};
pub use findings::{Findings, MAX_PER_RULE, MAX_TEXT_CHARS};
pub use rule::{Rule, RuleDef, Severity, RULES};

use serde::{Deserialize, Serialize};
use std::fmt;

/// Shared text: a file, area or sheet name repeats on every line of a return, so rows share
/// one copy instead of each holding its own.
pub type ArcStr = std::sync::Arc<str>;

/// An amount of money in pence. Money never passes through `f64` after extraction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Pence(pub i128);

impl Pence {
    pub const ZERO: Pence = Pence(0);

    pub fn from_pounds(pounds: i64) -> Pence {
        Pence(pounds as i128 * 100)
    }

    pub fn abs_diff(self, other: Pence) -> Pence {
        Pence((self.0 - other.0).abs())
    }

    pub fn sum<'a>(items: impl IntoIterator<Item = &'a Pence>) -> Pence {
        Pence(items.into_iter().map(|p| p.0).sum())
    }

    /// Pounds with thousands separators, `£1,234,567.89`, for messages and reports.
    pub fn to_gbp(self) -> String {
        let plain = self.to_string();
        let (sign, rest) = plain.strip_prefix('-').map_or(("", plain.as_str()), |r| ("-", r));
        let (whole, frac) = rest.split_once('.').unwrap_or((rest, "00"));
        format!("{sign}£{}.{frac}", group_thousands(whole))
    }

    /// Millions of pounds to one decimal place with a sign, `+£41.2m`, for summaries.
    pub fn to_millions_signed(self) -> String {
        // A tenth of a million pounds is 10,000,000 pence; rounded half up.
        let tenths = (self.0.abs() + 5_000_000) / 10_000_000;
        let sign = if self.0 < 0 { "-" } else { "+" };
        format!("{sign}£{}.{}m", group_thousands(&(tenths / 10).to_string()), tenths % 10)
    }
}

/// `1234567` → `1,234,567`.
pub fn group_thousands(digits: &str) -> String {
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    grouped
}

impl std::ops::Add for Pence {
    type Output = Pence;
    fn add(self, rhs: Pence) -> Pence {
        Pence(self.0 + rhs.0)
    }
}

impl std::ops::Sub for Pence {
    type Output = Pence;
    fn sub(self, rhs: Pence) -> Pence {
        Pence(self.0 - rhs.0)
    }
}

impl std::ops::AddAssign for Pence {
    fn add_assign(&mut self, rhs: Pence) {
        self.0 += rhs.0;
    }
}

impl fmt::Display for Pence {
    /// Plain decimal pounds, `1234567.89` (the CSV and Parquet form).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

/// Whether an amount column is a plan or an outturn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Basis {
    Plan,
    Actual,
}

impl Basis {
    pub const ALL: [Basis; 2] = [Basis::Plan, Basis::Actual];

    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Plan => "plan",
            Basis::Actual => "actual",
        }
    }

    pub fn parse(s: &str) -> Option<Basis> {
        Basis::ALL.into_iter().find(|b| b.as_str() == s.trim())
    }
}

impl fmt::Display for Basis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A cell position, 0-based internally, shown A1-style as Excel does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CellPos {
    pub row: u32,
    pub col: u32,
}

impl CellPos {
    pub fn new(row: u32, col: u32) -> Self {
        CellPos { row, col }
    }

    /// `C12` for row 11, column 2.
    pub fn a1(self) -> String {
        format!("{}{}", column_letters(self.col), self.row + 1)
    }
}

impl fmt::Display for CellPos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.a1())
    }
}

/// Column letters for a 0-based column: 0 → `A`, 25 → `Z`, 26 → `AA`.
pub fn column_letters(col: u32) -> String {
    let mut n = col as u64 + 1;
    let mut out = Vec::new();
    while n > 0 {
        let rem = ((n - 1) % 26) as u8;
        out.push(b'A' + rem);
        n = (n - 1) / 26;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// The 0-based column of letters such as `C` or `AA`.
pub fn column_index(letters: &str) -> Option<u32> {
    let letters = letters.trim();
    if letters.is_empty() || letters.len() > 3 || !letters.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let n = letters.bytes().fold(0u32, |n, b| n * 26 + (b.to_ascii_uppercase() - b'A' + 1) as u32);
    Some(n - 1)
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

/// One thing wrong with one file, located where a person can find it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub rule: Rule,
    pub sheet: Option<String>,
    /// A1 style, as Excel shows it.
    pub cell: Option<String>,
    /// What is wrong in the sender's terms, and what to do.
    pub message: String,
    /// Technical detail for the national team (a reader library's own error text); never the
    /// message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The national team's recorded decision accepting this finding, if there is one: it then
    /// no longer rejects the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted: Option<Box<Acceptance>>,
}

/// Who accepted a finding, when and why (an entry of the decisions file, `--decisions`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acceptance {
    pub reason: String,
    pub by: String,
    pub date: Date,
}

impl Finding {
    pub fn file(rule: Rule, message: impl Into<String>) -> Self {
        Finding { rule, sheet: None, cell: None, message: message.into(), detail: None, accepted: None }
    }

    pub fn sheet(rule: Rule, sheet: &str, message: impl Into<String>) -> Self {
        Finding { sheet: Some(sheet.to_string()), ..Finding::file(rule, message) }
    }

    pub fn cell(rule: Rule, sheet: &str, pos: CellPos, message: impl Into<String>) -> Self {
        Finding { sheet: Some(sheet.to_string()), cell: Some(pos.a1()), ..Finding::file(rule, message) }
    }

    pub fn with_detail(mut self, detail: Option<String>) -> Self {
        self.detail = detail;
        self
    }

    pub fn severity(&self) -> Severity {
        self.rule.severity()
    }

    /// `5. Income!C33`
    pub fn location(&self) -> String {
        location(self.sheet.as_deref(), self.cell.as_deref())
    }
}

/// Where a finding points, as Excel users write it: `Sheet!C12`, `Sheet`, or empty.
pub fn location(sheet: Option<&str>, cell: Option<&str>) -> String {
    match (sheet, cell) {
        (Some(s), Some(c)) => format!("{s}!{c}"),
        (Some(s), None) => s.to_string(),
        _ => String::new(),
    }
}

/// What became of one input file (catalogue §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Accepted,
    AcceptedWithWarnings,
    Rejected,
    Superseded,
    Duplicate,
    Skipped,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Accepted,
        Status::AcceptedWithWarnings,
        Status::Rejected,
        Status::Superseded,
        Status::Duplicate,
        Status::Skipped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Accepted => "accepted",
            Status::AcceptedWithWarnings => "accepted_with_warnings",
            Status::Rejected => "rejected",
            Status::Superseded => "superseded",
            Status::Duplicate => "duplicate",
            Status::Skipped => "skipped",
        }
    }

    /// Whether a file in this status contributes to the national totals.
    pub fn contributes(self) -> bool {
        matches!(self, Status::Accepted | Status::AcceptedWithWarnings)
    }

    /// The status findings alone give: any error rejects, warnings qualify, and an error a
    /// recorded decision accepted qualifies like a warning.
    pub fn from_findings<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Status {
        let mut status = Status::Accepted;
        for f in findings {
            match (f.severity(), &f.accepted) {
                (Severity::Error, None) => return Status::Rejected,
                _ => status = Status::AcceptedWithWarnings,
            }
        }
        status
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A financial year such as `2015-16`, kept as its first calendar year. Serialised as text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FinancialYear(pub i32);

impl FinancialYear {
    /// Parses `2015-16` (the second half must follow the first).
    pub fn parse(s: &str) -> Option<FinancialYear> {
        let (a, b) = s.trim().split_once('-')?;
        if a.len() != 4 || b.len() != 2 || !a.bytes().chain(b.bytes()).all(|c| c.is_ascii_digit()) {
            return None;
        }
        let start: i32 = a.parse().ok()?;
        let end: i32 = b.parse().ok()?;
        ((start + 1) % 100 == end).then_some(FinancialYear(start))
    }
}

impl fmt::Display for FinancialYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:02}", self.0, (self.0 + 1) % 100)
    }
}

impl std::str::FromStr for FinancialYear {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        FinancialYear::parse(s).ok_or_else(|| format!("{s:?} is not a financial year like 2015-16"))
    }
}

impl Serialize for FinancialYear {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for FinancialYear {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

/// A financial year and basis: one column of a template, one row of the national totals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Period {
    pub year: FinancialYear,
    pub basis: Basis,
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.year, self.basis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters_match_excel() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(16383), "XFD");
        assert_eq!(CellPos::new(32, 2).a1(), "C33");
        for c in [0, 1, 25, 26, 700, 16383] {
            assert_eq!(column_index(&column_letters(c)), Some(c));
        }
        assert_eq!(column_index("c"), Some(2));
        assert_eq!(column_index("C3"), None);
    }

    #[test]
    fn pence_display() {
        assert_eq!(Pence(123456789).to_string(), "1234567.89");
        assert_eq!(Pence(-5).to_string(), "-0.05");
        assert_eq!(Pence(123456789).to_gbp(), "£1,234,567.89");
        assert_eq!(Pence(100).to_gbp(), "£1.00");
        assert_eq!(Pence(4_120_000_000).to_millions_signed(), "+£41.2m");
        assert_eq!(Pence(-1_125_000_000).to_millions_signed(), "-£11.3m");
        assert_eq!(Pence(123_456_700_000).to_millions_signed(), "+£1,234.6m");
    }

    #[test]
    fn financial_year_round_trip() {
        assert_eq!(FinancialYear::parse("2015-16"), Some(FinancialYear(2015)));
        assert_eq!(FinancialYear::parse("1999-00"), Some(FinancialYear(1999)));
        assert_eq!(FinancialYear::parse("2015-17"), None);
        assert_eq!(FinancialYear::parse("+015-16"), None);
        assert_eq!(FinancialYear(2023).to_string(), "2023-24");
        assert_eq!(serde_json::to_string(&FinancialYear(2023)).unwrap(), "\"2023-24\"");
        assert!(serde_json::from_str::<FinancialYear>("\"2023\"").is_err());
    }

    #[test]
    fn status_from_findings() {
        let w = Finding::file(Rule::TotalMismatch, "w");
        let e = Finding::file(Rule::AmountNegative, "e");
        assert_eq!(Status::from_findings([]), Status::Accepted);
        assert_eq!(Status::from_findings([&w]), Status::AcceptedWithWarnings);
        assert_eq!(Status::from_findings([&w, &e]), Status::Rejected);
        let accepted = Acceptance { reason: "r".into(), by: "b".into(), date: Date::from_ymd(2025, 5, 3).unwrap() };
        let e = Finding { accepted: Some(Box::new(accepted)), ..e };
        assert_eq!(Status::from_findings([&e]), Status::AcceptedWithWarnings);
    }
}
