//! A template family as the generator sees it: everything about its layout is taken from its
//! schema (`schemas/templates/<id>.toml`): sheet names, the title and its column, cover labels
//! and their column, income sections with their headers, totals and column titles, the Yes/No
//! questions, grand totals, the scheme table's columns and drop-down values. What a schema does
//! not say (row spacing, filler sheets) the generator chooses.

use bcf::model::{ArcStr, Basis, FinancialYear, Period};
use bcf::schema::{FieldRole, SchemaSet, TemplateKind, TemplateSpec, TotalCategory};
use std::collections::BTreeSet;
use std::sync::Arc;

/// A return template, shared, with the funding sources the vocabulary calls voluntary.
#[derive(Debug, Clone)]
pub struct Family(pub Arc<TemplateSpec>, Arc<BTreeSet<String>>);

impl PartialEq for Family {
    fn eq(&self, other: &Self) -> bool {
        self.0.id == other.0.id
    }
}

impl Eq for Family {}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.id)
    }
}

impl Family {
    /// Every return template of the schemas, in catalogue order.
    pub fn all(schemas: &SchemaSet) -> Vec<Family> {
        let voluntary: BTreeSet<String> = schemas
            .funding_sources
            .iter()
            .filter(|(_, c)| **c != TotalCategory::Mandatory)
            .map(|(s, _)| s.clone())
            .collect();
        let voluntary = Arc::new(voluntary);
        let returns = schemas.templates.iter().filter(|t| t.kind == TemplateKind::Return);
        returns.map(|t| Family(Arc::new(t.clone()), voluntary.clone())).collect()
    }

    /// Whether the vocabulary counts a source as voluntary pooling.
    pub fn voluntary(&self, source: &str) -> bool {
        self.1.contains(source)
    }

    /// The return template with this id (or short name, `planning-2023-25`).
    pub fn find(schemas: &SchemaSet, id: &str) -> Option<Family> {
        Family::all(schemas).into_iter().find(|f| f.id() == id || f.label() == id)
    }

    pub fn id(&self) -> &str {
        &self.0.id
    }

    /// The id without its `bcf-` prefix, for folder and file names: `planning-2023-25`.
    pub fn label(&self) -> &str {
        self.0.id.strip_prefix("bcf-").unwrap_or(&self.0.id)
    }

    pub fn spec(&self) -> &TemplateSpec {
        &self.0
    }

    pub fn years(&self) -> Vec<FinancialYear> {
        self.0.financial_years()
    }

    /// The income sheet's amount columns, in order.
    pub fn columns(&self) -> Vec<Period> {
        self.income().amount_columns.iter().map(|c| Period { year: c.financial_year, basis: c.basis }).collect()
    }

    pub fn has_actuals(&self) -> bool {
        self.columns().iter().any(|p| p.basis == Basis::Actual)
    }

    pub fn income(&self) -> &bcf::schema::IncomeSpec {
        self.0.income.as_ref().expect("a return template has an income table (schema check)")
    }

    pub fn expenditure(&self) -> &bcf::schema::ExpenditureSpec {
        self.0.expenditure.as_ref().expect("a return template has an expenditure table (schema check)")
    }

    pub fn cover(&self) -> &bcf::schema::CoverSpec {
        self.0.cover.as_ref().expect("a return template has a cover (schema check)")
    }

    /// Whether the income sheet is one table whose rows name their own source (2015-16's kind).
    pub fn one_table(&self) -> bool {
        self.income().sections.iter().any(|s| s.funding_source_column.is_some())
    }

    /// The funding sources of the income sheet, in the template's order.
    pub fn sources(&self) -> Vec<ArcStr> {
        let inc = self.income();
        let mut out: Vec<ArcStr> = Vec::new();
        let mut push = |s: &ArcStr| {
            if !out.contains(s) {
                out.push(s.clone());
            }
        };
        for s in &inc.sections {
            match &s.funding_source {
                Some(src) => push(src),
                None => inc.funding_source_values.values().for_each(&mut push),
            }
        }
        out
    }

    /// Whether the template requires lines for a source (a required section of its own).
    pub fn required(&self, source: &str) -> bool {
        let inc = self.income();
        match inc.sections.iter().find(|s| s.funding_source.as_deref() == Some(source)) {
            Some(section) => section.required,
            None => self.one_table(),
        }
    }

    /// The text a one-table row types for a source ("Contribution type").
    pub fn row_label(&self, source: &str) -> Option<&str> {
        self.income().funding_source_values.iter().find(|(_, s)| &***s == source).map(|(k, _)| k.as_str())
    }

    /// The scheme table's "Source of Funding" text for a source, if it has one.
    pub fn scheme_label(&self, source: &str) -> Option<&str> {
        self.expenditure().funding_source_values.iter().find(|(_, s)| &***s == source).map(|(k, _)| k.as_str())
    }

    /// The label of the cover field with a role.
    pub fn cover_label(&self, role: FieldRole) -> &str {
        self.cover().fields.iter().find(|f| f.role == Some(role)).map_or("", |f| f.label.as_str())
    }

    /// The cover sheet's label column (0-based); B when the schema names none.
    pub fn cover_column(&self) -> u16 {
        self.cover().label_column.as_deref().and_then(bcf::model::column_index).unwrap_or(1) as u16
    }

    pub fn title_column(&self) -> u16 {
        self.0.recognise.title_column.as_deref().and_then(bcf::model::column_index).unwrap_or(1) as u16
    }

    /// The sheets a return of this family has, in order: the ones the schema names, with a
    /// guidance sheet first.
    pub fn sheets(&self) -> Vec<String> {
        let mut out = vec!["1. Guidance".to_string()];
        let r = &self.0.recognise;
        for s in std::iter::once(&r.sheet).chain(&r.required_sheets) {
            if !out.contains(s) {
                out.push(s.clone());
            }
        }
        out
    }
}
