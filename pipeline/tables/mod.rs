//! The output tables: their rows, and each table's columns declared once (`columns`), which
//! the Parquet writer (`parquet`), `datapackage.json` and the README all follow.

pub mod columns;
pub mod parquet;

use crate::model::{Acceptance, ArcStr, Basis, Date, FinancialYear, Pence, Rule, Severity, Status};
use crate::validate::decisions::DecisionRow;
use crate::validate::submissions::CoverStatus;
use columns::{Cell, Column, Kind, Partition, TableDef};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// `submissions.parquet`: one row per input file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmissionRow {
    pub source_file: String,
    pub sha256: String,
    pub bytes: i64,
    pub template_id: Option<String>,
    pub area_code: Option<String>,
    pub area_name: Option<String>,
    pub status: Status,
    /// Errors no decision accepted.
    pub error_count: i32,
    pub warning_count: i32,
    /// Errors a recorded decision accepted.
    pub accepted_count: i32,
    pub submission_date: Option<Date>,
    /// Why a file is skipped, or which file a duplicate copies; null otherwise.
    pub status_reason: Option<String>,
}

/// `findings.parquet`: one row per finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingRow {
    pub source_file: String,
    pub rule: Rule,
    pub severity: Severity,
    pub sheet: Option<String>,
    pub cell: Option<String>,
    pub message: String,
    /// A reader library's own words, for the national team; never the message.
    pub detail: Option<String>,
    /// The recorded decision that accepted the finding, if one did.
    pub accepted: Option<Acceptance>,
}

impl FindingRow {
    /// `Sheet!C12`, `Sheet`, or empty.
    pub fn location(&self) -> String {
        crate::model::location(self.sheet.as_deref(), self.cell.as_deref())
    }
}

/// `lines/financial_year=…/part-0.parquet`: one income line that counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineRow {
    pub financial_year: FinancialYear,
    pub basis: Basis,
    pub area_code: ArcStr,
    pub area_name: ArcStr,
    pub template_id: ArcStr,
    pub funding_source: ArcStr,
    pub contributor: Option<String>,
    pub amount: Pence,
    pub source_file: ArcStr,
    pub sheet: ArcStr,
    pub cell: String,
}

/// `schemes/financial_year=…/part-0.parquet`: one scheme amount that counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemeRow {
    pub financial_year: FinancialYear,
    pub basis: Basis,
    pub area_code: ArcStr,
    pub template_id: ArcStr,
    pub scheme_id: Option<String>,
    pub scheme_name: Option<String>,
    pub scheme_type: Option<String>,
    pub area_of_spend: Option<String>,
    pub commissioner: Option<String>,
    pub provider: Option<String>,
    pub funding_source: Option<ArcStr>,
    pub amount: Pence,
    pub source_file: ArcStr,
    pub sheet: ArcStr,
    pub cell: String,
    /// The scheme's row on its sheet, as Excel numbers it: joins it to `scheme_fields`.
    pub scheme_row: i32,
}

/// `cover_fields.parquet`: one cover field's value in one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoverFieldRow {
    pub source_file: String,
    pub template_id: String,
    pub area_code: Option<String>,
    pub field: String,
    pub label: String,
    pub value: String,
    pub sheet: String,
    pub cell: String,
}

/// `scheme_fields.parquet`: one scheme's value in one of the template's extra columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemeFieldRow {
    pub area_code: ArcStr,
    pub template_id: ArcStr,
    pub source_file: ArcStr,
    pub sheet: ArcStr,
    pub scheme_row: i32,
    pub field: ArcStr,
    pub value: String,
}

/// `funding_sources.parquet`: the vocabulary, with the national total each source counts towards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundingSourceRow {
    pub funding_source: String,
    pub description: String,
    pub counts_towards: NationalColumn,
}

/// `coverage.parquet`: one row per expected area, financial year and basis of the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoverageRow {
    pub area_code: String,
    pub area_name: String,
    pub financial_year: FinancialYear,
    pub basis: Basis,
    pub status: CoverStatus,
    pub source_file: Option<String>,
    pub template_id: Option<String>,
    pub submission_date: Option<Date>,
    pub replaced_files: Vec<String>,
}

/// `area_totals.parquet`: one area's figures for one financial year and basis, from the
/// submission that supplies them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AreaTotalRow {
    pub area_code: String,
    pub area_name: String,
    pub financial_year: FinancialYear,
    pub basis: Basis,
    pub source_file: String,
    pub template_id: String,
    pub mandated_minimum: Pence,
    pub voluntary_la: Pence,
    pub voluntary_nhs: Pence,
}

impl AreaTotalRow {
    pub fn voluntary_above_minimum(&self) -> Pence {
        self.voluntary_la + self.voluntary_nhs
    }

    pub fn total_pooled(&self) -> Pence {
        self.mandated_minimum + self.voluntary_above_minimum()
    }

    /// The figure a national column sums.
    pub fn of(&self, column: NationalColumn) -> Pence {
        match column {
            NationalColumn::MandatedMinimum => self.mandated_minimum,
            NationalColumn::VoluntaryLa => self.voluntary_la,
            NationalColumn::VoluntaryNhs => self.voluntary_nhs,
            NationalColumn::VoluntaryAboveMinimum => self.voluntary_above_minimum(),
            NationalColumn::TotalPooled => self.total_pooled(),
        }
    }
}

/// What changed since the previous publish in the same output folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// A file at a path the previous publish did not have.
    FileNew,
    /// A file at the same path with other bytes.
    FileResubmitted,
    /// A file the previous publish had, gone from the input.
    FileWithdrawn,
    /// The same bytes, now superseded by a later submission.
    FileSuperseded,
    /// The same bytes, another status (a decision, an allocation, a conflict).
    FileStatusChanged,
    /// An area whose figures for a year and basis now count.
    AreaIncluded,
    /// An area whose figures for a year and basis no longer count.
    AreaDropped,
    /// A national figure that moved.
    TotalChanged,
    /// One area's part in a national figure's move.
    AreaContribution,
}

impl ChangeKind {
    /// The changes about files, and those about areas' coverage: how reports group them.
    pub const FILES: [ChangeKind; 5] = [
        ChangeKind::FileNew,
        ChangeKind::FileResubmitted,
        ChangeKind::FileWithdrawn,
        ChangeKind::FileSuperseded,
        ChangeKind::FileStatusChanged,
    ];
    pub const AREAS: [ChangeKind; 2] = [ChangeKind::AreaIncluded, ChangeKind::AreaDropped];

    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::FileNew => "file_new",
            ChangeKind::FileResubmitted => "file_resubmitted",
            ChangeKind::FileWithdrawn => "file_withdrawn",
            ChangeKind::FileSuperseded => "file_superseded",
            ChangeKind::FileStatusChanged => "file_status_changed",
            ChangeKind::AreaIncluded => "area_included",
            ChangeKind::AreaDropped => "area_dropped",
            ChangeKind::TotalChanged => "total_changed",
            ChangeKind::AreaContribution => "area_contribution",
        }
    }
}

/// `changes.parquet`: one change since the previous publish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRow {
    pub kind: ChangeKind,
    pub source_file: Option<String>,
    pub area_code: Option<String>,
    pub area_name: Option<String>,
    pub financial_year: Option<FinancialYear>,
    pub basis: Option<Basis>,
    /// The national column a money change is in.
    pub measure: Option<NationalColumn>,
    pub previous: Option<Pence>,
    pub current: Option<Pence>,
    /// Status before and after (a file's, or an area's coverage).
    pub previous_status: Option<String>,
    pub current_status: Option<String>,
    /// Why an area's figures moved: `resubmitted`, `bcf-year-end-2024-25 supplied`, …
    pub reason: Option<String>,
    /// The change in a sentence.
    pub description: String,
}

impl ChangeRow {
    pub fn change(&self) -> Option<Pence> {
        Some(self.current.unwrap_or_default() - self.previous.unwrap_or_default()).filter(|_| self.measure.is_some())
    }
}

/// `national_totals.parquet`: one row per financial year and basis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NationalRow {
    pub financial_year: FinancialYear,
    pub basis: Basis,
    pub areas_expected: i32,
    pub areas_included: i32,
    pub mandated_minimum: Pence,
    pub voluntary_la: Pence,
    pub voluntary_nhs: Pence,
    pub voluntary_above_minimum: Pence,
    pub total_pooled: Pence,
    pub baseline_year: FinancialYear,
    pub voluntary_vs_baseline_ratio: Option<f64>,
}

/// The money columns of the national totals, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum NationalColumn {
    MandatedMinimum,
    VoluntaryLa,
    VoluntaryNhs,
    VoluntaryAboveMinimum,
    TotalPooled,
}

impl NationalColumn {
    pub const ALL: [NationalColumn; 5] = [
        NationalColumn::MandatedMinimum,
        NationalColumn::VoluntaryLa,
        NationalColumn::VoluntaryNhs,
        NationalColumn::VoluntaryAboveMinimum,
        NationalColumn::TotalPooled,
    ];

    pub fn name(self) -> &'static str {
        match self {
            NationalColumn::MandatedMinimum => "mandated_minimum_gbp",
            NationalColumn::VoluntaryLa => "voluntary_la_gbp",
            NationalColumn::VoluntaryNhs => "voluntary_nhs_gbp",
            NationalColumn::VoluntaryAboveMinimum => "voluntary_above_minimum_gbp",
            NationalColumn::TotalPooled => "total_pooled_gbp",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            NationalColumn::MandatedMinimum => "Mandated minimum",
            NationalColumn::VoluntaryLa => "Voluntary LA",
            NationalColumn::VoluntaryNhs => "Voluntary NHS",
            NationalColumn::VoluntaryAboveMinimum => "Voluntary above minimum",
            NationalColumn::TotalPooled => "Total pooled",
        }
    }

    pub fn parse(name: &str) -> Option<NationalColumn> {
        NationalColumn::ALL.into_iter().find(|c| c.name() == name)
    }

    pub fn of(self, r: &NationalRow) -> Pence {
        match self {
            NationalColumn::MandatedMinimum => r.mandated_minimum,
            NationalColumn::VoluntaryLa => r.voluntary_la,
            NationalColumn::VoluntaryNhs => r.voluntary_nhs,
            NationalColumn::VoluntaryAboveMinimum => r.voluntary_above_minimum,
            NationalColumn::TotalPooled => r.total_pooled,
        }
    }

    /// Whether a line of a funding source of this category counts towards the column.
    pub fn counts(self, category: Option<crate::schema::TotalCategory>) -> bool {
        use crate::schema::TotalCategory::*;
        matches!(
            (self, category),
            (NationalColumn::MandatedMinimum, Some(Mandatory))
                | (NationalColumn::VoluntaryLa, Some(VoluntaryLa))
                | (NationalColumn::VoluntaryNhs, Some(VoluntaryNhs))
                | (NationalColumn::VoluntaryAboveMinimum, Some(VoluntaryLa | VoluntaryNhs))
                | (NationalColumn::TotalPooled, Some(_))
        )
    }
}

/// Every table of one run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tables {
    pub submissions: Vec<SubmissionRow>,
    pub findings: Vec<FindingRow>,
    pub lines: Vec<LineRow>,
    pub schemes: Vec<SchemeRow>,
    pub coverage: Vec<CoverageRow>,
    pub decisions: Vec<DecisionRow>,
    #[serde(default)]
    pub cover_fields: Vec<CoverFieldRow>,
    #[serde(default)]
    pub scheme_fields: Vec<SchemeFieldRow>,
    #[serde(default)]
    pub funding_sources: Vec<FundingSourceRow>,
    pub national: Vec<NationalRow>,
    #[serde(default)]
    pub area_totals: Vec<AreaTotalRow>,
    /// What changed since the previous publish; `None` when there is none to compare with.
    #[serde(default)]
    pub changes: Option<Vec<ChangeRow>>,
}

impl Tables {
    /// The financial years of the lines table (its partitions).
    pub fn line_years(&self) -> BTreeSet<FinancialYear> {
        self.lines.iter().map(|r| r.financial_year).collect()
    }

    /// The financial years of the schemes table (its partitions).
    pub fn scheme_years(&self) -> BTreeSet<FinancialYear> {
        self.schemes.iter().map(|r| r.financial_year).collect()
    }

    /// Files per status, e.g. `20 accepted, 1 skipped` (statuses in alphabetical order).
    pub fn status_summary(&self) -> String {
        let mut counts = BTreeMap::<&str, usize>::new();
        for s in &self.submissions {
            *counts.entry(s.status.as_str()).or_default() += 1;
        }
        counts.iter().map(|(k, v)| format!("{v} {k}")).collect::<Vec<_>>().join(", ")
    }

    /// Files without findings per status, `910 accepted, 5 skipped`; empty if every file has some.
    pub fn without_findings_summary(&self) -> String {
        let with: std::collections::HashSet<&str> = self.findings.iter().map(|f| f.source_file.as_str()).collect();
        let mut counts = BTreeMap::<Status, usize>::new();
        for r in self.submissions.iter().filter(|r| !with.contains(r.source_file.as_str())) {
            *counts.entry(r.status).or_default() += 1;
        }
        counts.iter().map(|(st, n)| format!("{n} {st}")).collect::<Vec<_>>().join(", ")
    }

    /// The national row of a period.
    pub fn national_row(&self, year: FinancialYear, basis: Basis) -> Option<&NationalRow> {
        self.national.iter().find(|r| r.financial_year == year && r.basis == basis)
    }
}

const fn col<R>(
    name: &'static str,
    kind: Kind,
    nullable: bool,
    doc: &'static str,
    get: for<'a> fn(&'a R) -> Cell<'a>,
) -> Column<R> {
    Column { name, kind, nullable, doc, get }
}

use Kind::{Date32, Float64, Int32, Int64, Money, Utf8, Utf8List};

pub static SUBMISSIONS: TableDef<SubmissionRow> = TableDef {
    name: "submissions",
    title: "One row per input file",
    primary_key: &["source_file"],
    partition: None,
    columns: &[
        col("source_file", Utf8, false, "Path relative to the input root, /-separated", |r| Cell::Str(&r.source_file)),
        col("sha256", Utf8, false, "SHA-256 of the file's bytes (hex)", |r| Cell::Str(&r.sha256)),
        col("bytes", Int64, false, "File size in bytes", |r| Cell::I64(r.bytes)),
        col("template_id", Utf8, true, "Template family; null if not recognised", |r| {
            Cell::OptStr(r.template_id.as_deref())
        }),
        col("area_code", Utf8, true, "ONS code of the HWB; null for allocations and unmatched areas", |r| {
            Cell::OptStr(r.area_code.as_deref())
        }),
        col("area_name", Utf8, true, "HWB name as in areas.csv", |r| Cell::OptStr(r.area_name.as_deref())),
        col(
            "status",
            Utf8,
            false,
            "accepted, accepted_with_warnings, rejected, superseded, duplicate or skipped",
            |r| Cell::Str(r.status.as_str()),
        ),
        col("error_count", Int32, false, "Findings of severity error that no decision accepted", |r| {
            Cell::I32(r.error_count)
        }),
        col("warning_count", Int32, false, "Findings of severity warning", |r| Cell::I32(r.warning_count)),
        col(
            "accepted_count",
            Int32,
            false,
            "Errors accepted by a recorded decision (they do not reject the file)",
            |r| Cell::I32(r.accepted_count),
        ),
        col("submission_date", Date32, true, "Cover submission date", |r| Cell::OptDate(r.submission_date)),
        col(
            "status_reason",
            Utf8,
            true,
            "Why a file was skipped, or which file a duplicate copies; null otherwise",
            |r| Cell::OptStr(r.status_reason.as_deref()),
        ),
    ],
};

pub static FINDINGS: TableDef<FindingRow> = TableDef {
    name: "findings",
    title: "Every validation finding",
    primary_key: &[],
    partition: None,
    columns: &[
        col("source_file", Utf8, false, "As in submissions", |r| Cell::Str(&r.source_file)),
        col("rule", Utf8, false, "Validation rule id (catalogue §5)", |r| Cell::Str(r.rule.id())),
        col("severity", Utf8, false, "error or warning", |r| Cell::Str(r.severity.as_str())),
        col("sheet", Utf8, true, "Sheet name; null when not about a sheet", |r| Cell::OptStr(r.sheet.as_deref())),
        col("cell", Utf8, true, "A1-style cell; null when not about one cell", |r| Cell::OptStr(r.cell.as_deref())),
        col("message", Utf8, false, "What was found and what to do", |r| Cell::Str(&r.message)),
        col("detail", Utf8, true, "Technical detail (a reader's own error text); null if none", |r| {
            Cell::OptStr(r.detail.as_deref())
        }),
        col("decision", Utf8, true, "accepted when a recorded decision accepted the finding; null otherwise", |r| {
            Cell::OptStr(r.accepted.as_ref().map(|_| "accepted"))
        }),
        col("decision_reason", Utf8, true, "Why it was accepted", |r| {
            Cell::OptStr(r.accepted.as_ref().map(|a| a.reason.as_str()))
        }),
        col("decision_by", Utf8, true, "Who accepted it", |r| Cell::OptStr(r.accepted.as_ref().map(|a| a.by.as_str()))),
        col("decision_date", Date32, true, "When it was accepted", |r| {
            Cell::OptDate(r.accepted.as_ref().map(|a| a.date))
        }),
    ],
};

pub static DECISIONS: TableDef<DecisionRow> = TableDef {
    name: "decisions",
    title: "The national team's recorded decisions (--decisions) and what each did",
    primary_key: &[],
    partition: None,
    columns: &[
        col("sha256", Utf8, false, "SHA-256 of the file the decision is about", |r| Cell::Str(&r.decision.sha256)),
        col("source_file", Utf8, true, "The input file with that SHA-256; null if none", |r| {
            Cell::OptStr(r.source_file.as_deref())
        }),
        col("rule", Utf8, false, "The rule whose findings it accepts", |r| Cell::Str(r.decision.rule.id())),
        col("cell", Utf8, true, "Only the finding at this place; null for every finding of the rule", |r| {
            Cell::OptStr(r.decision.cell.as_deref())
        }),
        col("reason", Utf8, false, "Why", |r| Cell::Str(&r.decision.acceptance.reason)),
        col("decided_by", Utf8, false, "Who decided", |r| Cell::Str(&r.decision.acceptance.by)),
        col("decision_date", Date32, false, "When", |r| Cell::OptDate(Some(r.decision.acceptance.date))),
        col("outcome", Utf8, false, "applied, matched_nothing or file_not_in_input", |r| Cell::Str(r.outcome.as_str())),
        col("findings_accepted", Int32, false, "Findings it accepted", |r| Cell::I32(r.findings_accepted)),
    ],
};

pub static LINES: TableDef<LineRow> = TableDef {
    name: "lines",
    title: "Income lines that count (catalogue §6.1), Hive-partitioned by financial_year",
    primary_key: &[],
    partition: Some(Partition {
        name: "financial_year",
        doc: "Hive partition column (folder name)",
        get: |r| r.financial_year,
    }),
    columns: &[
        col("basis", Utf8, false, "plan or actual", |r| Cell::Str(r.basis.as_str())),
        col("area_code", Utf8, false, "ONS code of the HWB", |r| Cell::Str(&r.area_code)),
        col("area_name", Utf8, false, "HWB name", |r| Cell::Str(&r.area_name)),
        col("template_id", Utf8, false, "Template family", |r| Cell::Str(&r.template_id)),
        col("funding_source", Utf8, false, "Funding source id", |r| Cell::Str(&r.funding_source)),
        col("contributor", Utf8, true, "Contributing organisation as typed", |r| {
            Cell::OptStr(r.contributor.as_deref())
        }),
        col("amount_gbp", Money, false, "Amount in pounds", |r| Cell::Money(r.amount)),
        col("source_file", Utf8, false, "File the amount was read from", |r| Cell::Str(&r.source_file)),
        col("sheet", Utf8, false, "Sheet the amount was read from", |r| Cell::Str(&r.sheet)),
        col("cell", Utf8, false, "Cell the amount was read from", |r| Cell::Str(&r.cell)),
    ],
};

pub static SCHEMES: TableDef<SchemeRow> = TableDef {
    name: "schemes",
    title: "Scheme amounts that count (catalogue §6.1), Hive-partitioned by financial_year",
    primary_key: &[],
    partition: Some(Partition {
        name: "financial_year",
        doc: "Hive partition column (folder name)",
        get: |r| r.financial_year,
    }),
    columns: &[
        col("basis", Utf8, false, "plan or actual", |r| Cell::Str(r.basis.as_str())),
        col("area_code", Utf8, false, "ONS code of the HWB", |r| Cell::Str(&r.area_code)),
        col("template_id", Utf8, false, "Template family", |r| Cell::Str(&r.template_id)),
        col("scheme_id", Utf8, true, "Scheme ID as typed", |r| Cell::OptStr(r.scheme_id.as_deref())),
        col("scheme_name", Utf8, true, "Scheme name", |r| Cell::OptStr(r.scheme_name.as_deref())),
        col("scheme_type", Utf8, true, "Scheme type", |r| Cell::OptStr(r.scheme_type.as_deref())),
        col("area_of_spend", Utf8, true, "Area of spend", |r| Cell::OptStr(r.area_of_spend.as_deref())),
        col("commissioner", Utf8, true, "Commissioner", |r| Cell::OptStr(r.commissioner.as_deref())),
        col("provider", Utf8, true, "Provider", |r| Cell::OptStr(r.provider.as_deref())),
        col("funding_source", Utf8, true, "Funding source id; null if not mapped", |r| {
            Cell::OptStr(r.funding_source.as_deref())
        }),
        col("amount_gbp", Money, false, "Expenditure in pounds", |r| Cell::Money(r.amount)),
        col("source_file", Utf8, false, "File the amount was read from", |r| Cell::Str(&r.source_file)),
        col("sheet", Utf8, false, "Sheet the amount was read from", |r| Cell::Str(&r.sheet)),
        col("cell", Utf8, false, "Cell the amount was read from", |r| Cell::Str(&r.cell)),
        col("scheme_row", Int32, false, "The scheme's row on its sheet (joins scheme_fields)", |r| {
            Cell::I32(r.scheme_row)
        }),
    ],
};

pub static COVER_FIELDS: TableDef<CoverFieldRow> = TableDef {
    name: "cover_fields",
    title: "Every cover field of every recognised return, by the schema's name for it",
    primary_key: &["source_file", "field"],
    partition: None,
    columns: &[
        col("source_file", Utf8, false, "As in submissions", |r| Cell::Str(&r.source_file)),
        col("template_id", Utf8, false, "Template family", |r| Cell::Str(&r.template_id)),
        col("area_code", Utf8, true, "ONS code of the HWB; null if the area is unknown", |r| {
            Cell::OptStr(r.area_code.as_deref())
        }),
        col("field", Utf8, false, "The schema's name for the field, e.g. completed_by", |r| Cell::Str(&r.field)),
        col("label", Utf8, false, "Its label on the cover", |r| Cell::Str(&r.label)),
        col("value", Utf8, false, "The value as typed (a date as YYYY-MM-DD)", |r| Cell::Str(&r.value)),
        col("sheet", Utf8, false, "Sheet the value was read from", |r| Cell::Str(&r.sheet)),
        col("cell", Utf8, false, "Cell the value was read from", |r| Cell::Str(&r.cell)),
    ],
};

pub static SCHEME_FIELDS: TableDef<SchemeFieldRow> = TableDef {
    name: "scheme_fields",
    title: "Schemes' values in the columns a template adds beyond the fixed ones",
    primary_key: &["source_file", "sheet", "scheme_row", "field"],
    partition: None,
    columns: &[
        col("area_code", Utf8, false, "ONS code of the HWB", |r| Cell::Str(&r.area_code)),
        col("template_id", Utf8, false, "Template family", |r| Cell::Str(&r.template_id)),
        col("source_file", Utf8, false, "File the value was read from", |r| Cell::Str(&r.source_file)),
        col("sheet", Utf8, false, "Sheet the value was read from", |r| Cell::Str(&r.sheet)),
        col("scheme_row", Int32, false, "The scheme's row (as in schemes.scheme_row)", |r| Cell::I32(r.scheme_row)),
        col("field", Utf8, false, "The schema's name for the column, e.g. primary_objective", |r| Cell::Str(&r.field)),
        col("value", Utf8, false, "The value as typed", |r| Cell::Str(&r.value)),
    ],
};

pub static FUNDING_SOURCES: TableDef<FundingSourceRow> = TableDef {
    name: "funding_sources",
    title: "The funding sources, and the national total each counts towards",
    primary_key: &["funding_source"],
    partition: None,
    columns: &[
        col("funding_source", Utf8, false, "Funding source id, as in lines and schemes", |r| {
            Cell::Str(&r.funding_source)
        }),
        col("description", Utf8, false, "What it is called", |r| Cell::Str(&r.description)),
        col(
            "counts_towards",
            Utf8,
            false,
            "The national_totals column its lines add to: mandated_minimum_gbp, voluntary_la_gbp or voluntary_nhs_gbp",
            |r| Cell::Str(r.counts_towards.name()),
        ),
    ],
};

pub static NATIONAL: TableDef<NationalRow> = TableDef {
    name: "national_totals",
    title: "One row per financial year and basis",
    primary_key: &["financial_year", "basis"],
    partition: None,
    columns: &[
        col("financial_year", Utf8, false, "Financial year, e.g. 2015-16", |r| Cell::Year(r.financial_year)),
        col("basis", Utf8, false, "plan or actual", |r| Cell::Str(r.basis.as_str())),
        col("areas_expected", Int32, false, "Health and Wellbeing Boards that exist that year", |r| {
            Cell::I32(r.areas_expected)
        }),
        col("areas_included", Int32, false, "Areas whose accepted submission covers this year and basis", |r| {
            Cell::I32(r.areas_included)
        }),
        col("mandated_minimum_gbp", Money, false, "Sum of lines of mandatory funding sources", |r| {
            Cell::Money(r.mandated_minimum)
        }),
        col("voluntary_la_gbp", Money, false, "Sum of lines of voluntary local authority sources", |r| {
            Cell::Money(r.voluntary_la)
        }),
        col("voluntary_nhs_gbp", Money, false, "Sum of lines of voluntary NHS sources", |r| {
            Cell::Money(r.voluntary_nhs)
        }),
        col("voluntary_above_minimum_gbp", Money, false, "voluntary_la_gbp + voluntary_nhs_gbp", |r| {
            Cell::Money(r.voluntary_above_minimum)
        }),
        col("total_pooled_gbp", Money, false, "mandated_minimum_gbp + voluntary_above_minimum_gbp", |r| {
            Cell::Money(r.total_pooled)
        }),
        col("baseline_year", Utf8, false, "Baseline year of the comparison (plan basis)", |r| {
            Cell::Year(r.baseline_year)
        }),
        col(
            "voluntary_vs_baseline_ratio",
            Float64,
            true,
            "Voluntary total / the baseline year's; null without a baseline",
            |r| Cell::OptF64(r.voluntary_vs_baseline_ratio),
        ),
    ],
};

pub static AREA_TOTALS: TableDef<AreaTotalRow> = TableDef {
    name: "area_totals",
    title: "Each area's figures per financial year and basis, from the submission that supplies them",
    primary_key: &["area_code", "financial_year", "basis"],
    partition: None,
    columns: &[
        col("area_code", Utf8, false, "ONS code of the HWB", |r| Cell::Str(&r.area_code)),
        col("area_name", Utf8, false, "HWB name as in areas.csv", |r| Cell::Str(&r.area_name)),
        col("financial_year", Utf8, false, "Financial year, e.g. 2024-25", |r| Cell::Year(r.financial_year)),
        col("basis", Utf8, false, "plan or actual", |r| Cell::Str(r.basis.as_str())),
        col("source_file", Utf8, false, "The file that supplies the figures", |r| Cell::Str(&r.source_file)),
        col("template_id", Utf8, false, "That file's template family", |r| Cell::Str(&r.template_id)),
        col("mandated_minimum_gbp", Money, false, "Sum of the area's lines of mandatory funding sources", |r| {
            Cell::Money(r.mandated_minimum)
        }),
        col("voluntary_la_gbp", Money, false, "Sum of its lines of voluntary local authority sources", |r| {
            Cell::Money(r.voluntary_la)
        }),
        col("voluntary_nhs_gbp", Money, false, "Sum of its lines of voluntary NHS sources", |r| {
            Cell::Money(r.voluntary_nhs)
        }),
        col("voluntary_above_minimum_gbp", Money, false, "voluntary_la_gbp + voluntary_nhs_gbp", |r| {
            Cell::Money(r.voluntary_above_minimum())
        }),
        col("total_pooled_gbp", Money, false, "mandated_minimum_gbp + voluntary_above_minimum_gbp", |r| {
            Cell::Money(r.total_pooled())
        }),
    ],
};

pub static CHANGES: TableDef<ChangeRow> = TableDef {
    name: "changes",
    title: "What changed since the previous publish in the same output folder",
    primary_key: &[],
    partition: None,
    columns: &[
        col("kind", Utf8, false, "file_new, file_resubmitted, file_withdrawn, file_superseded, file_status_changed, area_included, area_dropped, total_changed or area_contribution", |r| {
            Cell::Str(r.kind.as_str())
        }),
        col("source_file", Utf8, true, "The file concerned", |r| Cell::OptStr(r.source_file.as_deref())),
        col("area_code", Utf8, true, "The area concerned", |r| Cell::OptStr(r.area_code.as_deref())),
        col("area_name", Utf8, true, "Its name", |r| Cell::OptStr(r.area_name.as_deref())),
        col("financial_year", Utf8, true, "The financial year of an area or money change", |r| Cell::OptYear(r.financial_year)),
        col("basis", Utf8, true, "plan or actual", |r| Cell::OptStr(r.basis.map(Basis::as_str))),
        col("measure", Utf8, true, "The national_totals column of a money change", |r| {
            Cell::OptStr(r.measure.map(NationalColumn::name))
        }),
        col("previous_gbp", Money, true, "The figure in the previous publish", |r| Cell::OptMoney(r.previous)),
        col("current_gbp", Money, true, "The figure now", |r| Cell::OptMoney(r.current)),
        col("change_gbp", Money, true, "current_gbp - previous_gbp", |r| Cell::OptMoney(r.change())),
        col("previous_status", Utf8, true, "Status before (a file's, or an area's coverage)", |r| {
            Cell::OptStr(r.previous_status.as_deref())
        }),
        col("current_status", Utf8, true, "Status now", |r| Cell::OptStr(r.current_status.as_deref())),
        col("reason", Utf8, true, "Why an area's figures moved", |r| Cell::OptStr(r.reason.as_deref())),
        col("description", Utf8, false, "The change in a sentence", |r| Cell::Str(&r.description)),
    ],
};

pub static COVERAGE: TableDef<CoverageRow> = TableDef {
    name: "coverage",
    title: "The submission register: one row per expected area, financial year and basis of the run",
    primary_key: &["area_code", "financial_year", "basis"],
    partition: None,
    columns: &[
        col("area_code", Utf8, false, "ONS code of the HWB", |r| Cell::Str(&r.area_code)),
        col("area_name", Utf8, false, "HWB name as in areas.csv", |r| Cell::Str(&r.area_name)),
        col("financial_year", Utf8, false, "Financial year, e.g. 2024-25", |r| Cell::Year(r.financial_year)),
        col("basis", Utf8, false, "plan or actual", |r| Cell::Str(r.basis.as_str())),
        col("status", Utf8, false, "included, rejected (the area's latest submission covering it was rejected) or missing", |r| {
            Cell::Str(r.status.as_str())
        }),
        col("source_file", Utf8, true, "The file that supplies the figures (included) or was rejected; null when missing", |r| {
            Cell::OptStr(r.source_file.as_deref())
        }),
        col("template_id", Utf8, true, "That file's template family", |r| Cell::OptStr(r.template_id.as_deref())),
        col("submission_date", Date32, true, "That file's submission date", |r| Cell::OptDate(r.submission_date)),
        col("replaced_files", Utf8List, false, "Files of the area covering this year and basis that it replaced (superseded, or overlapped by another template)", |r| {
            Cell::StrList(&r.replaced_files)
        }),
    ],
};

/// Every output table, described, in the order `datapackage.json` and the README list them.
pub fn described() -> Vec<columns::Described> {
    vec![
        NATIONAL.describe(),
        SUBMISSIONS.describe(),
        FINDINGS.describe(),
        LINES.describe(),
        SCHEMES.describe(),
        COVER_FIELDS.describe(),
        SCHEME_FIELDS.describe(),
        FUNDING_SOURCES.describe(),
        COVERAGE.describe(),
        DECISIONS.describe(),
        AREA_TOTALS.describe(),
        CHANGES.describe(),
    ]
}
