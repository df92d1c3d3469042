//! One file checked on its own, as an area checks its return before sending it: what `bcf
//! check` prints and the self-check page shows. The findings are those the national run gives
//! the file (every per-file rule, and the minimum checks against the allocations given); the
//! status is the one it would get in a national run on its own.

use crate::model::{Date, Finding, Rule, Severity, Status};
use crate::schema::SchemaSet;
use crate::validate::{minimum, AllocationTable, ParsedFile};
use crate::workbook::{skip_reason, Limits};
use serde::{Deserialize, Serialize};

/// One file's check: `bcf check --format json` prints `{"files": [FileCheck, …]}`; the page's
/// `window.bcfCheck` gives one. The field names are those of `submissions.parquet` and
/// `findings.parquet`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileCheck {
    /// The file as it was named to the check.
    pub file: String,
    pub status: Status,
    pub template_id: Option<String>,
    pub area_code: Option<String>,
    pub area_name: Option<String>,
    pub submission_date: Option<Date>,
    /// Why a file is skipped (not a workbook); null otherwise.
    pub status_reason: Option<String>,
    pub findings: Vec<CheckedFinding>,
}

/// A finding as `findings.parquet` holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckedFinding {
    pub rule: Rule,
    pub severity: Severity,
    pub sheet: Option<String>,
    pub cell: Option<String>,
    pub message: String,
    pub detail: Option<String>,
}

impl From<Finding> for CheckedFinding {
    fn from(f: Finding) -> Self {
        CheckedFinding {
            rule: f.rule,
            severity: f.severity(),
            sheet: f.sheet,
            cell: f.cell,
            message: f.message,
            detail: f.detail,
        }
    }
}

/// What the check means for the sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Accepted (perhaps with warnings): it will count.
    ReadyToSend,
    /// A Better Care Fund return with an error: it would be rejected.
    WillBeRejected,
    /// Not a return of any template bcf knows, or not a workbook it can read.
    NotAReturn,
}

impl Verdict {
    pub fn title(self) -> &'static str {
        match self {
            Verdict::ReadyToSend => "Ready to send",
            Verdict::WillBeRejected => "Will be rejected",
            Verdict::NotAReturn => "Not a Better Care Fund return",
        }
    }

    /// What the verdict means for `c`, in a sentence or two.
    pub fn explanation(self, c: &FileCheck) -> String {
        let warnings = c.count(Severity::Warning);
        match self {
            Verdict::ReadyToSend if warnings == 0 => {
                "The national run would accept this return as it is: no errors and no warnings.".into()
            }
            Verdict::ReadyToSend => format!(
                "The national run would accept this return: no errors. Look at the {warnings} warning{} below before you send it; a warning does not stop a return counting.",
                if warnings == 1 { "" } else { "s" }
            ),
            Verdict::WillBeRejected => "The national run would reject this return: correct every error below, check it again, then send it.".into(),
            Verdict::NotAReturn => match &c.status_reason {
                Some(why) => format!("The national run does not read this file: {why}. Send the return on the template issued for the year, as an Excel workbook (.xlsx)."),
                None => "bcf cannot read this file as a Better Care Fund return (the finding below says why): send the return on the template issued for the year, as an Excel workbook.".into(),
            },
        }
    }
}

/// Rules that need other files than the one checked, so a check of one file cannot apply
/// them, and why.
pub const NOT_CHECKED: [(Rule, &str); 2] = [
    (Rule::SubmissionConflict, "needs the other returns of the area, which only the national run has"),
    (Rule::DownloadFailed, "is about how the national team receives a file"),
];

impl FileCheck {
    /// The check of a file that need not be read: one the national run skips for its name (not
    /// a workbook's), or one larger than the size limit. `None`: read it and parse it.
    pub fn before_reading(file: &str, size: u64, limits: &Limits, schemas: &SchemaSet) -> Option<FileCheck> {
        let name = file.rsplit(['/', '\\']).next().unwrap_or(file);
        if let Some(reason) = skip_reason(name) {
            let parsed = ParsedFile::default();
            return Some(FileCheck {
                status: Status::Skipped,
                status_reason: Some(reason),
                ..FileCheck::bare(file, parsed)
            });
        }
        (size > limits.max_inflated_bytes).then(|| {
            let parsed = ParsedFile::failed(crate::validate::oversized_file(limits));
            FileCheck::of(file, parsed, &AllocationTable::default(), schemas)
        })
    }

    fn bare(file: &str, parsed: ParsedFile) -> FileCheck {
        FileCheck {
            file: file.to_string(),
            status: Status::from_findings(&parsed.findings),
            template_id: parsed.template_id,
            area_code: parsed.area_code,
            area_name: parsed.area_name,
            submission_date: parsed.submission_date,
            status_reason: None,
            findings: parsed.findings.into_iter().map(CheckedFinding::from).collect(),
        }
    }

    /// A file's check from its parse: the minimum checks against `allocations` are added after
    /// the parse's own findings, as the national run adds them.
    pub fn of(file: &str, mut parsed: ParsedFile, allocations: &AllocationTable, schemas: &SchemaSet) -> FileCheck {
        parsed.findings.extend(minimum::findings(&parsed, allocations, schemas));
        FileCheck::bare(file, parsed)
    }

    pub fn verdict(&self) -> Verdict {
        match (self.status, &self.template_id) {
            (Status::Rejected | Status::Skipped, None) => Verdict::NotAReturn,
            (Status::Rejected, Some(_)) => Verdict::WillBeRejected,
            _ => Verdict::ReadyToSend,
        }
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == severity).count()
    }
}

/// What a person is shown of one check (by `bcf check` and the self-check page, in the same
/// words): the verdict and what it means, what the file is, and the findings grouped by sheet,
/// each with what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct View {
    pub verdict: Verdict,
    pub title: &'static str,
    pub explanation: String,
    /// The template, area and submission date the file declares, as far as they were read.
    pub about: Vec<String>,
    /// Findings about the whole file first, then each sheet's in the order found.
    pub sheets: Vec<SheetFindings>,
}

/// The findings about one sheet (`None`: about the whole file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SheetFindings {
    pub sheet: Option<String>,
    pub findings: Vec<ShownFinding>,
}

/// One finding as a person reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShownFinding {
    pub cell: Option<String>,
    pub severity: Severity,
    pub rule: Rule,
    pub message: String,
    pub what_to_do: &'static str,
}

impl FileCheck {
    /// The check as a person is shown it.
    pub fn view(&self, schemas: &SchemaSet) -> View {
        let verdict = self.verdict();
        let template = self.template_id.as_deref().map(|id| match schemas.template(id) {
            Some(t) if !t.description.is_empty() => t.description.clone(),
            _ => id.to_string(),
        });
        let area = match (&self.area_name, &self.area_code) {
            (Some(name), Some(code)) => Some(format!("{name} ({code})")),
            _ => None,
        };
        let dated = self.submission_date.map(|d| format!("submission date {d}"));
        let mut sheets: Vec<SheetFindings> = Vec::new();
        for f in self.findings.iter() {
            let shown = ShownFinding {
                cell: f.cell.clone(),
                severity: f.severity,
                rule: f.rule,
                message: f.message.clone(),
                what_to_do: f.rule.def().advice,
            };
            match sheets.iter_mut().find(|s| s.sheet == f.sheet) {
                Some(s) => s.findings.push(shown),
                None => sheets.push(SheetFindings { sheet: f.sheet.clone(), findings: vec![shown] }),
            }
        }
        sheets.sort_by_key(|s| s.sheet.is_some()); // stable: the whole file first, then as found
        View {
            verdict,
            title: verdict.title(),
            explanation: verdict.explanation(self),
            about: [template, area, dated].into_iter().flatten().collect(),
            sheets,
        }
    }
}

/// What a check of one file cannot see, in sentences: the rules that need other files, and
/// the minimum checks when no allocations are held.
pub fn not_checked(allocations: &AllocationTable) -> Vec<String> {
    let mut out: Vec<String> = NOT_CHECKED
        .iter()
        .map(|(rule, why)| format!("{} ({why}) is checked only in the national run.", rule.id()))
        .collect();
    out.push("Decisions the national team records about a finding apply only in the national run.".into());
    if allocations.years().is_empty() {
        out.push("Minimum contributions are not checked against the published allocations: none are held here, so each return gets an allocation-missing warning.".into());
    }
    out
}

/// Which published allocations a check holds, in a sentence.
pub fn allocations_held(allocations: &AllocationTable) -> String {
    let years = allocations.years();
    if years.is_empty() {
        return "No published allocations are held: minimum contributions are not checked.".into();
    }
    let mut files: Vec<&str> = Vec::new();
    for f in years.values() {
        if !files.contains(&f.as_str()) {
            files.push(f);
        }
    }
    let listed = |items: Vec<String>| items.join(", ");
    format!(
        "Minimum contributions are checked against the published allocations for {} (from {}).",
        listed(years.keys().map(|y| y.to_string()).collect()),
        listed(files.iter().map(|f| format!("\u{201c}{f}\u{201d}")).collect())
    )
}
