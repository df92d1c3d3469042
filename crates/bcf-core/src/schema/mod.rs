//! Template schemas are data (`schemas/templates/*.toml`): this module reads them into spec
//! types (which the readers in `validate` use as they are) and checks them, reporting every
//! problem at once. Template specifics never appear in Rust code.

pub mod blank;
mod spec;

pub use spec::*;

use crate::model::{FinancialYear, Period};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// Which national total a funding source counts towards (catalogue §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TotalCategory {
    Mandatory,
    VoluntaryLa,
    VoluntaryNhs,
}

/// Everything loaded from a schemas folder.
#[derive(Debug, Clone)]
pub struct SchemaSet {
    pub templates: Vec<TemplateSpec>,
    pub funding_sources: BTreeMap<String, TotalCategory>,
    /// SHA-256 of every schema file by path relative to the folder, for run records and caches.
    pub file_hashes: BTreeMap<String, String>,
}

impl SchemaSet {
    pub fn template(&self, id: &str) -> Option<&TemplateSpec> {
        self.templates.iter().find(|t| t.id == id)
    }

    /// One hash over every schema file: changes when any template or vocabulary changes.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        for (path, hash) in &self.file_hashes {
            h.update(path.as_bytes());
            h.update(b"\0");
            h.update(hash.as_bytes());
            h.update(b"\n");
        }
        hex::encode(h.finalize())
    }
}

/// A schema problem, located by file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaProblem {
    pub file: String,
    pub message: String,
}

impl std::fmt::Display for SchemaProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.file, self.message)
    }
}

/// The files of a schemas folder by path relative to it (`funding_sources.toml`,
/// `templates/<id>.toml`), as bytes: the pipeline reads them from disk, the self-check page has
/// them compiled in.
pub type SchemaFiles = BTreeMap<String, Vec<u8>>;

/// The vocabulary file, relative to the schemas folder.
pub const FUNDING_SOURCES_FILE: &str = "funding_sources.toml";
/// The folder of template schemas, relative to the schemas folder.
pub const TEMPLATES_DIR: &str = "templates";

/// Loads and checks every schema file, reporting every problem in every file at once.
pub fn from_files(files: &SchemaFiles) -> Result<SchemaSet, Vec<SchemaProblem>> {
    let mut problems = Vec::new();
    let file_hashes = files.iter().map(|(rel, bytes)| (rel.clone(), hex::encode(Sha256::digest(bytes)))).collect();
    let text = |rel: &str, problems: &mut Vec<SchemaProblem>| -> Option<&str> {
        let Some(bytes) = files.get(rel) else {
            problems.push(SchemaProblem { file: rel.into(), message: "is missing".into() });
            return None;
        };
        let text = std::str::from_utf8(bytes);
        if text.is_err() {
            problems.push(SchemaProblem { file: rel.into(), message: "not UTF-8".into() });
        }
        text.ok()
    };

    let mut funding_sources = BTreeMap::new();
    if let Some(text) = text(FUNDING_SOURCES_FILE, &mut problems) {
        match toml::from_str::<FundingSourcesSpec>(text) {
            Ok(v) => funding_sources = v.sources.into_iter().map(|(k, s)| (k, s.total)).collect(),
            Err(e) => problems.push(SchemaProblem { file: FUNDING_SOURCES_FILE.into(), message: e.to_string() }),
        }
    }

    let prefix = format!("{TEMPLATES_DIR}/");
    let names: Vec<&String> = files.keys().filter(|k| k.starts_with(&prefix) && k.ends_with(".toml")).collect();
    if names.is_empty() {
        problems.push(SchemaProblem { file: prefix.clone(), message: "no template schemas (*.toml)".into() });
    }
    let mut templates: Vec<TemplateSpec> = Vec::new();
    for rel in names {
        let Some(text) = text(rel, &mut problems) else {
            continue;
        };
        match toml::from_str::<TemplateSpec>(text) {
            Ok(t) => {
                for message in check_template(&t, &funding_sources) {
                    problems.push(SchemaProblem { file: rel.clone(), message });
                }
                if let Some(o) = templates.iter().find(|o| o.catalogue_order == t.catalogue_order) {
                    problems.push(SchemaProblem {
                        file: rel.clone(),
                        message: format!("catalogue_order {} is also `{}`'s", t.catalogue_order, o.id),
                    });
                }
                if templates.iter().any(|o| o.id == t.id) {
                    problems.push(SchemaProblem {
                        file: rel.clone(),
                        message: format!("template id `{}` is used by another schema file", t.id),
                    });
                }
                templates.push(t);
            }
            Err(e) => problems.push(SchemaProblem { file: rel.clone(), message: e.to_string() }),
        }
    }

    templates.sort_by_key(|t| t.catalogue_order);
    if problems.is_empty() {
        Ok(SchemaSet { templates, funding_sources, file_hashes })
    } else {
        Err(problems)
    }
}

/// Every problem in one template spec that serde cannot see: cross-references and values.
fn check_template(t: &TemplateSpec, sources: &BTreeMap<String, TotalCategory>) -> Vec<String> {
    let mut out = Vec::new();
    if t.id.trim().is_empty() {
        out.push("`id` is empty".into());
    }
    if t.recognise.title.trim().is_empty() {
        out.push("recognise.title is empty".into());
    }
    check_column_letters("recognise.title_column", t.recognise.title_column.as_deref(), &mut out);
    match t.kind {
        TemplateKind::Return => {
            match &t.cover {
                None => out.push("a return template needs a [cover] table".into()),
                Some(c) => check_cover(c, &mut out),
            }
            match &t.income {
                None => out.push("a return template needs an [income] table".into()),
                Some(inc) => check_income(inc, sources, &mut out),
            }
            match &t.expenditure {
                None => out.push("a return template needs an [expenditure] table".into()),
                Some(e) => check_expenditure(e, sources, &mut out),
            }
            if t.allocations.is_some() {
                out.push("a return template has no [allocations] table".into());
            }
        }
        TemplateKind::Allocations => match &t.allocations {
            None => out.push("an allocations template needs an [allocations] table".into()),
            Some(a) => {
                if a.streams.is_empty() {
                    out.push("allocations.streams is empty".into());
                }
                for (label, src) in &a.streams {
                    source_ok(&format!("allocations.streams `{label}`"), src, sources, &mut out);
                }
            }
        },
    }
    out
}

fn source_ok(what: &str, s: &str, sources: &BTreeMap<String, TotalCategory>, out: &mut Vec<String>) {
    if !sources.contains_key(s) {
        out.push(format!("{what}: funding source `{s}` is not in funding_sources.toml"));
    }
}

fn check_column_letters(what: &str, letters: Option<&str>, out: &mut Vec<String>) {
    if let Some(l) = letters {
        if crate::model::column_index(l).is_none() {
            out.push(format!("{what}: `{l}` is not a column like B"));
        }
    }
}

fn check_cover(c: &CoverSpec, out: &mut Vec<String>) {
    check_column_letters("cover.label_column", c.label_column.as_deref(), out);
    for role in [FieldRole::AreaName, FieldRole::SubmissionDate] {
        let n = c.fields.iter().filter(|f| f.role == Some(role)).count();
        if n != 1 {
            out.push(format!("cover.fields needs exactly one field with role = \"{}\" ({n} found)", role.name()));
        }
    }
    if let Some(f) = c.fields.iter().find(|f| f.role == Some(FieldRole::SubmissionDate) && f.kind != FieldKind::Date) {
        out.push(format!("cover field `{}` has role submission_date, so it must have kind = \"date\"", f.field));
    }
}

fn check_amounts(what: &str, cols: &[AmountColumnSpec], out: &mut Vec<String>) {
    if cols.is_empty() {
        out.push(format!("{what}.amount_columns is empty"));
    }
    let mut seen = BTreeSet::new();
    for c in cols {
        if !seen.insert(c.title.trim().to_lowercase()) {
            out.push(format!("{what}.amount_columns: title `{}` appears twice", c.title));
        }
    }
}

fn check_income(inc: &IncomeSpec, sources: &BTreeMap<String, TotalCategory>, out: &mut Vec<String>) {
    check_amounts("income", &inc.amount_columns, out);
    if inc.sections.is_empty() {
        out.push("income.sections is empty".into());
    }
    for s in &inc.sections {
        match (&s.funding_source, &s.funding_source_column) {
            (Some(src), None) => source_ok(&format!("income section `{}`", s.header), src, sources, out),
            (None, Some(_)) if inc.funding_source_values.is_empty() => out.push(format!(
                "income section `{}` reads its source from a column, so income.funding_source_values must map the column's values",
                s.header
            )),
            (None, Some(_)) => {}
            _ => out.push(format!(
                "income section `{}` needs exactly one of `funding_source` or `funding_source_column`",
                s.header
            )),
        }
    }
    for (label, src) in &inc.funding_source_values {
        source_ok(&format!("income.funding_source_values `{label}`"), src, sources, out);
    }
    for q in &inc.questions {
        source_ok(&format!("income question `{}`", q.label_prefix), &q.funding_source, sources, out);
        if !inc.sections.iter().any(|s| s.funding_source.as_deref() == Some(q.funding_source.as_str())) {
            out.push(format!(
                "income question `{}` refers to `{}`, which no section has",
                q.label_prefix, q.funding_source
            ));
        }
    }
    for g in &inc.grand_totals {
        for src in &g.funding_sources {
            source_ok(&format!("income grand total `{}`", g.label), src, sources, out);
        }
    }
}

fn check_expenditure(e: &ExpenditureSpec, sources: &BTreeMap<String, TotalCategory>, out: &mut Vec<String>) {
    check_amounts("expenditure", &e.amount_columns, out);
    if e.table_rows == 0 {
        out.push("expenditure.table_rows must be at least 1".into());
    }
    for (label, src) in &e.funding_source_values {
        source_ok(&format!("expenditure.funding_source_values `{label}`"), src, sources, out);
    }
    if e.funding_source_values.is_empty() {
        out.push("expenditure.funding_source_values is empty".into());
    }
}

impl FieldRole {
    pub fn name(self) -> &'static str {
        match self {
            FieldRole::AreaName => "area_name",
            FieldRole::SubmissionDate => "submission_date",
        }
    }
}

impl TemplateSpec {
    /// The financial years and bases a return of this template reports, sorted.
    pub fn periods(&self) -> Vec<Period> {
        let mut v: Vec<Period> = self
            .income
            .iter()
            .flat_map(|i| i.amount_columns.iter().map(|c| Period { year: c.financial_year, basis: c.basis }))
            .collect();
        v.sort();
        v.dedup();
        v
    }

    pub fn financial_years(&self) -> Vec<FinancialYear> {
        let mut v: Vec<FinancialYear> = self.periods().into_iter().map(|p| p.year).collect();
        v.dedup();
        v
    }
}
