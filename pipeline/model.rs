//! Domain types shared by every stage: money, cell references, rules, findings and statuses.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Text shared rather than copied: a year, sheet, source, area or file name repeats on every
/// line of a return, and each copy would be an allocation.
pub type Text = std::sync::Arc<str>;

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
}

impl std::ops::Add for Pence {
    type Output = Pence;
    fn add(self, rhs: Pence) -> Pence {
        Pence(self.0 + rhs.0)
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

impl Pence {
    /// Pounds with thousands separators, `£1,234,567.89`, for messages and reports.
    pub fn to_gbp(self) -> String {
        let plain = self.to_string();
        let (sign, rest) = plain.strip_prefix('-').map_or(("", plain.as_str()), |r| ("-", r));
        let (whole, frac) = rest.split_once('.').unwrap_or((rest, "00"));
        let mut grouped = String::new();
        for (i, ch) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(ch);
        }
        format!("{sign}£{grouped}.{frac}")
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
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Plan => "plan",
            Basis::Actual => "actual",
        }
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

/// Error stops a return contributing; a warning does not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// The validation rules of catalogue §5. The id and severity of each are fixed there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    FileUnreadable,
    FileTooLarge,
    TemplateUnknown,
    FieldMissing,
    DateInvalid,
    AreaUnknown,
    AreaNotInYear,
    AmountNotNumeric,
    AmountNegative,
    AmountOutOfRange,
    FormulaNotCalculated,
    DownloadFailed,
    MinimumMismatch,
    SubmissionConflict,
    TotalMismatch,
    AdditionalFlagInconsistent,
    ExpenditureIncomeMismatch,
    AllocationMissing,
}

impl Rule {
    pub const ALL: [Rule; 18] = [
        Rule::FileUnreadable,
        Rule::FileTooLarge,
        Rule::TemplateUnknown,
        Rule::FieldMissing,
        Rule::DateInvalid,
        Rule::AreaUnknown,
        Rule::AreaNotInYear,
        Rule::AmountNotNumeric,
        Rule::AmountNegative,
        Rule::AmountOutOfRange,
        Rule::FormulaNotCalculated,
        Rule::DownloadFailed,
        Rule::MinimumMismatch,
        Rule::SubmissionConflict,
        Rule::TotalMismatch,
        Rule::AdditionalFlagInconsistent,
        Rule::ExpenditureIncomeMismatch,
        Rule::AllocationMissing,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Rule::FileUnreadable => "file-unreadable",
            Rule::FileTooLarge => "file-too-large",
            Rule::TemplateUnknown => "template-unknown",
            Rule::FieldMissing => "field-missing",
            Rule::DateInvalid => "date-invalid",
            Rule::AreaUnknown => "area-unknown",
            Rule::AreaNotInYear => "area-not-in-year",
            Rule::AmountNotNumeric => "amount-not-numeric",
            Rule::AmountNegative => "amount-negative",
            Rule::AmountOutOfRange => "amount-out-of-range",
            Rule::FormulaNotCalculated => "formula-not-calculated",
            Rule::DownloadFailed => "download-failed",
            Rule::MinimumMismatch => "minimum-mismatch",
            Rule::SubmissionConflict => "submission-conflict",
            Rule::TotalMismatch => "total-mismatch",
            Rule::AdditionalFlagInconsistent => "additional-flag-inconsistent",
            Rule::ExpenditureIncomeMismatch => "expenditure-income-mismatch",
            Rule::AllocationMissing => "allocation-missing",
        }
    }

    pub fn severity(self) -> Severity {
        match self {
            Rule::TotalMismatch
            | Rule::AdditionalFlagInconsistent
            | Rule::ExpenditureIncomeMismatch
            | Rule::AllocationMissing => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

/// One thing wrong with one file, located where a person can find it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub rule: Rule,
    pub sheet: Option<String>,
    /// A1 style, as Excel shows it.
    pub cell: Option<String>,
    pub message: String,
}

impl Finding {
    pub fn file(rule: Rule, message: impl Into<String>) -> Self {
        Finding { rule, sheet: None, cell: None, message: message.into() }
    }

    pub fn sheet(rule: Rule, sheet: &str, message: impl Into<String>) -> Self {
        Finding { rule, sheet: Some(sheet.to_string()), cell: None, message: message.into() }
    }

    pub fn cell(rule: Rule, sheet: &str, pos: CellPos, message: impl Into<String>) -> Self {
        Finding { rule, sheet: Some(sheet.to_string()), cell: Some(pos.a1()), message: message.into() }
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

    /// The status findings alone give: any error rejects, warnings qualify.
    pub fn from_findings(findings: &[Finding]) -> Status {
        if findings.iter().any(|f| f.severity() == Severity::Error) {
            Status::Rejected
        } else if findings.is_empty() {
            Status::Accepted
        } else {
            Status::AcceptedWithWarnings
        }
    }
}

/// A financial year such as `2015-16`, kept as its first calendar year.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FinancialYear(pub i32);

impl FinancialYear {
    /// Parses `2015-16` (the second half must follow the first).
    pub fn parse(s: &str) -> Option<FinancialYear> {
        let (a, b) = s.trim().split_once('-')?;
        if a.len() != 4 || b.len() != 2 {
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
    }

    #[test]
    fn pence_display() {
        assert_eq!(Pence(123456789).to_string(), "1234567.89");
        assert_eq!(Pence(-5).to_string(), "-0.05");
        assert_eq!(Pence(123456789).to_gbp(), "£1,234,567.89");
        assert_eq!(Pence(100).to_gbp(), "£1.00");
    }

    #[test]
    fn financial_year_round_trip() {
        assert_eq!(FinancialYear::parse("2015-16"), Some(FinancialYear(2015)));
        assert_eq!(FinancialYear::parse("1999-00"), Some(FinancialYear(1999)));
        assert_eq!(FinancialYear::parse("2015-17"), None);
        assert_eq!(FinancialYear(2023).to_string(), "2023-24");
    }
}
