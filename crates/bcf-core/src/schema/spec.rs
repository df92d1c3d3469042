//! The on-disk form of a template schema. Unknown keys are errors, so a typo cannot pass.

use crate::model::{ArcStr, Basis, FinancialYear};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FundingSourcesSpec {
    /// The revision of the template catalogue these schemas encode, which the national
    /// workbook's notes state.
    #[serde(default)]
    pub catalogue_revision: Option<u32>,
    pub sources: BTreeMap<String, FundingSourceSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FundingSourceSpec {
    pub total: super::TotalCategory,
    /// What people call it (`Disabled Facilities Grant`): findings and reports name it so.
    pub description: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplateKind {
    /// An area's return: cover, income and expenditure.
    Return,
    /// NHS England's published minimum allocations per area.
    Allocations,
}

/// One template family.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateSpec {
    /// The template id reported in every output, e.g. `bcf-planning-2023-25`.
    pub id: String,
    pub kind: TemplateKind,
    #[serde(default)]
    pub description: String,
    /// The template's place in catalogue §2's table (1 = the earliest). Where two templates
    /// cover the same year and basis and their submissions carry the same date, the later one
    /// supplies the figures (§6.1).
    pub catalogue_order: u32,
    pub recognise: RecogniseSpec,
    pub cover: Option<CoverSpec>,
    pub income: Option<IncomeSpec>,
    pub expenditure: Option<ExpenditureSpec>,
    pub allocations: Option<AllocationsSpec>,
    /// The schema file, relative to the schemas folder (set when loaded).
    #[serde(skip)]
    pub file: String,
    /// Where each of its keys is (set when loaded), for problems found later.
    #[serde(skip)]
    pub lines: super::KeyLines,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TitleMatch {
    /// The title cell equals the title (ignoring surrounding space and case).
    #[default]
    Exact,
    /// The title cell starts with the title.
    Prefix,
}

/// How a workbook is recognised: a title cell near the top of a sheet, and sheet names.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecogniseSpec {
    pub sheet: String,
    pub title: String,
    #[serde(default)]
    pub title_match: TitleMatch,
    /// The column the title sits in (letters, e.g. `B`); any column when not given.
    #[serde(default)]
    pub title_column: Option<String>,
    /// How many rows from the top to look for the title in.
    #[serde(default = "default_title_rows")]
    pub title_rows: u32,
    #[serde(default)]
    pub required_sheets: Vec<String>,
}

fn default_title_rows() -> u32 {
    10
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoverSpec {
    pub sheet: String,
    /// The column the labels sit in (letters, e.g. `B`); the value is the first filled cell to
    /// the right of its label. Any column when not given.
    #[serde(default)]
    pub label_column: Option<String>,
    pub fields: Vec<CoverFieldSpec>,
}

/// What the pipeline does with a cover field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldRole {
    /// The Health and Wellbeing Board's name, matched against the reference areas.
    AreaName,
    /// The submission date, which decides between resubmissions (catalogue §6).
    SubmissionDate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    #[default]
    Text,
    /// A date cell, or text `dd/mm/yyyy`.
    Date,
}

/// A cover field: the value sits to the right of its label.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoverFieldSpec {
    /// A name for the field, for people reading the schema.
    pub field: String,
    /// What the pipeline uses the value for, if anything.
    #[serde(default)]
    pub role: Option<FieldRole>,
    pub label: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub kind: FieldKind,
}

/// An amount column, found by its title in a header row.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmountColumnSpec {
    pub title: String,
    pub financial_year: FinancialYear,
    pub basis: Basis,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncomeSpec {
    /// The income sheet's name, as the template has it.
    pub sheet: String,
    pub amount_columns: Vec<AmountColumnSpec>,
    pub sections: Vec<IncomeSectionSpec>,
    #[serde(default)]
    pub questions: Vec<QuestionSpec>,
    #[serde(default)]
    pub grand_totals: Vec<GrandTotalSpec>,
    /// For sections with `funding_source_column`: the column's values and their sources.
    #[serde(default)]
    pub funding_source_values: BTreeMap<String, ArcStr>,
    /// Titles in the section headers that are not amounts to read (comments, a computed
    /// variance): named so a schema check can find them in the blank template.
    #[serde(default)]
    pub ignored_columns: Vec<String>,
}

/// A section: a header row (label, then the amount column titles), one row per contributor,
/// then a total row. The source is fixed, or read per row from a column.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncomeSectionSpec {
    pub header: String,
    pub funding_source: Option<ArcStr>,
    pub funding_source_column: Option<String>,
    pub total: String,
    /// Required sections must be present and have at least one line.
    #[serde(default)]
    pub required: bool,
}

/// "Are any additional … Contributions being made …?" with Yes/No beside it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionSpec {
    pub label_prefix: String,
    pub funding_source: String,
    /// The template's answers, as its drop-down offers them.
    pub answers: AnswersSpec,
}

/// The yes and no of a Yes/No question.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswersSpec {
    pub yes: String,
    pub no: String,
}

/// A stored grand total and the sources it sums.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrandTotalSpec {
    pub label: String,
    pub funding_sources: Vec<ArcStr>,
}

/// The scheme table: a header row, then one row per scheme.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpenditureSpec {
    pub sheet: String,
    /// The first header cell's text.
    pub header: String,
    /// The template's pre-formatted rows. The table ends after this many blank rows in a row,
    /// so values far below it are strays, not schemes.
    pub table_rows: u32,
    pub columns: ExpenditureColumns,
    pub amount_columns: Vec<AmountColumnSpec>,
    pub funding_source_values: BTreeMap<String, ArcStr>,
    /// Further columns a template year adds (`Primary Objective`): each scheme's value of each
    /// reaches `scheme_fields.parquet` under its field name.
    #[serde(default)]
    pub extra_columns: Vec<ExtraColumnSpec>,
}

/// A column of the scheme table read as text, by its header title.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtraColumnSpec {
    /// The name its values are kept under in the outputs, e.g. `primary_objective`.
    pub field: String,
    /// Its header title in the template, e.g. `Primary Objective`.
    pub title: String,
}

/// Header titles of the scheme table's descriptive columns.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpenditureColumns {
    /// Required: the scheme's id.
    pub scheme_id: String,
    /// Required: the scheme's name.
    pub scheme_name: String,
    pub scheme_type: Option<String>,
    pub area_of_spend: Option<String>,
    pub commissioner: Option<String>,
    pub provider: Option<String>,
    /// Required: the drop-down naming the funding source of each scheme's spend.
    pub funding_source: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllocationsSpec {
    pub sheet: String,
    pub code_column: String,
    pub name_column: String,
    pub total_row_name: String,
    /// Year columns are titled `<stream> <yyyy-yy><suffix>`.
    pub column_suffix: String,
    pub streams: BTreeMap<String, String>,
}
