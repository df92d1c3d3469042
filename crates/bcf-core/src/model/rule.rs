//! The validation rules of catalogue §5, as one table: each rule's id, severity, the advice an
//! area is given, and whether the national team may accept a finding of it (decisions).

use serde::{Deserialize, Serialize};

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

/// A rule of catalogue §5. Its id, severity and advice are in [`RULES`].
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

/// One rule's definition.
#[derive(Debug)]
pub struct RuleDef {
    pub rule: Rule,
    /// The catalogue's id, e.g. `amount-not-numeric`.
    pub id: &'static str,
    pub severity: Severity,
    /// What an area should do about a finding of this rule (the feedback files' `what_to_do`).
    pub advice: &'static str,
    /// Whether the national team may record a decision accepting such a finding.
    pub acceptable: bool,
}

use Rule as R;
use Severity::{Error as E, Warning as W};

/// Every rule, in the catalogue's order ([`Rule`]'s declaration order).
#[rustfmt::skip]
pub const RULES: [RuleDef; 18] = [
    RuleDef { rule: R::FileUnreadable, id: "file-unreadable", severity: E, acceptable: false,
        advice: "Open the file in Excel, save it as .xlsx without a password, and resubmit." },
    RuleDef { rule: R::FileTooLarge, id: "file-too-large", severity: E, acceptable: false,
        advice: "Remove stray content and extra sheets, save as .xlsx, and resubmit." },
    RuleDef { rule: R::TemplateUnknown, id: "template-unknown", severity: E, acceptable: false,
        advice: "Copy your figures into the template issued for the year and resubmit." },
    RuleDef { rule: R::FieldMissing, id: "field-missing", severity: E, acceptable: false,
        advice: "Fill in the missing field or section of the template and resubmit." },
    RuleDef { rule: R::DateInvalid, id: "date-invalid", severity: E, acceptable: true,
        advice: "Enter the submission date as a date (dd/mm/yyyy) and resubmit." },
    RuleDef { rule: R::AreaUnknown, id: "area-unknown", severity: E, acceptable: false,
        advice: "Choose the Health and Wellbeing Board from the drop-down list and resubmit." },
    RuleDef { rule: R::AreaNotInYear, id: "area-not-in-year", severity: E, acceptable: true,
        advice: "Check the Health and Wellbeing Board and the template year, then resubmit." },
    RuleDef { rule: R::AmountNotNumeric, id: "amount-not-numeric", severity: E, acceptable: false,
        advice: "Enter the amount as a number of pounds (e.g. 1234567.89) and resubmit." },
    RuleDef { rule: R::AmountNegative, id: "amount-negative", severity: E, acceptable: false,
        advice: "Amounts must not be negative: correct the amount and resubmit." },
    RuleDef { rule: R::AmountOutOfRange, id: "amount-out-of-range", severity: E, acceptable: true,
        advice: "Check the amount is in pounds (not pence) and resubmit." },
    RuleDef { rule: R::FormulaNotCalculated, id: "formula-not-calculated", severity: E, acceptable: false,
        advice: "Open the workbook in Excel so the formulas calculate, save, and resubmit." },
    RuleDef { rule: R::DownloadFailed, id: "download-failed", severity: E, acceptable: false,
        advice: "Upload the file again; if it keeps failing, e-mail it to the national team." },
    RuleDef { rule: R::MinimumMismatch, id: "minimum-mismatch", severity: E, acceptable: true,
        advice: "Make the contribution lines add up to the published minimum allocation and resubmit." },
    RuleDef { rule: R::SubmissionConflict, id: "submission-conflict", severity: E, acceptable: true,
        advice: "Resubmit one return with a later submission date." },
    RuleDef { rule: R::TotalMismatch, id: "total-mismatch", severity: W, acceptable: true,
        advice: "Recalculate the total (the lines were used); no resubmission needed unless the lines are wrong." },
    RuleDef { rule: R::AdditionalFlagInconsistent, id: "additional-flag-inconsistent", severity: W, acceptable: false,
        advice: "Make the Yes/No answer agree with the contributions below it." },
    RuleDef { rule: R::ExpenditureIncomeMismatch, id: "expenditure-income-mismatch", severity: W, acceptable: false,
        advice: "Check planned scheme spending matches the pooled income for each funding source." },
    RuleDef { rule: R::AllocationMissing, id: "allocation-missing", severity: W, acceptable: false,
        advice: "Nothing to do: the minimum check was skipped for want of published allocations." },
];

impl Rule {
    pub fn def(self) -> &'static RuleDef {
        &RULES[self as usize]
    }

    pub fn id(self) -> &'static str {
        self.def().id
    }

    pub fn severity(self) -> Severity {
        self.def().severity
    }

    /// The rule with this id.
    pub fn from_id(id: &str) -> Option<Rule> {
        RULES.iter().find(|d| d.id == id).map(|d| d.rule)
    }

    pub fn all() -> impl Iterator<Item = Rule> {
        RULES.iter().map(|d| d.rule)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_declaration_order_and_ids_match_serde() {
        for (i, d) in RULES.iter().enumerate() {
            assert_eq!(d.rule as usize, i, "{} is out of place", d.id);
            assert_eq!(serde_json::to_string(&d.rule).unwrap(), format!("\"{}\"", d.id));
            assert_eq!(Rule::from_id(d.id), Some(d.rule));
            assert!(d.advice.ends_with('.'), "{}", d.id);
        }
        assert_eq!(Rule::from_id("nope"), None);
    }

    #[test]
    fn only_findings_a_person_can_judge_are_acceptable() {
        let acceptable: Vec<&str> = RULES.iter().filter(|d| d.acceptable).map(|d| d.id).collect();
        let listed = ["date-invalid", "area-not-in-year", "amount-out-of-range", "minimum-mismatch"];
        assert_eq!(acceptable, [&listed[..], &["submission-conflict", "total-mismatch"]].concat());
    }
}
