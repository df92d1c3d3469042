//! Template schemas are data (`schemas/templates/*.toml`): this module reads them into spec
//! types (which the readers in `validate` use as they are) and checks them, reporting every
//! problem at once. Template specifics never appear in Rust code.

pub mod blank;
mod lines;
mod spec;

pub use lines::{line_at, KeyLines};

pub use spec::*;

use crate::model::{ArcStr, FinancialYear, Period};
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
    /// Each funding source's description (`Disabled Facilities Grant`), which findings and
    /// reports name it by.
    pub source_descriptions: BTreeMap<String, String>,
    /// SHA-256 of every schema file by path relative to the folder, for run records and caches.
    pub file_hashes: BTreeMap<String, String>,
    /// The catalogue revision the schemas encode (`catalogue_revision` in the vocabulary file).
    pub catalogue_revision: Option<u32>,
}

impl SchemaSet {
    pub fn template(&self, id: &str) -> Option<&TemplateSpec> {
        self.templates.iter().find(|t| t.id == id)
    }

    /// A funding source as people know it: its description, else its id.
    pub fn source_name<'a>(&'a self, id: &'a str) -> &'a str {
        self.source_descriptions.get(id).map_or(id, String::as_str)
    }

    /// A template as people know it: its description, else its id.
    pub fn template_name<'a>(&'a self, id: &'a str) -> &'a str {
        self.template(id).map(|t| t.description.as_str()).filter(|d| !d.is_empty()).unwrap_or(id)
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

/// A schema problem, located by file and, where known, line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaProblem {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

impl SchemaProblem {
    /// A problem with the file as a whole.
    pub fn file(file: &str, message: impl Into<String>) -> SchemaProblem {
        SchemaProblem { file: file.into(), line: None, message: message.into() }
    }
}

impl std::fmt::Display for SchemaProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
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

/// Loads and checks every schema file, reporting every problem in every file at once, each with
/// its line where it has one.
pub fn from_files(files: &SchemaFiles) -> Result<SchemaSet, Vec<SchemaProblem>> {
    let mut problems = Vec::new();
    let file_hashes = files.iter().map(|(rel, bytes)| (rel.clone(), hex::encode(Sha256::digest(bytes)))).collect();
    let vocabulary = read::<FundingSourcesSpec>(files, FUNDING_SOURCES_FILE, &mut problems).map(|(v, _)| v);
    let sources = vocabulary.as_ref().map(|v| v.sources.clone()).unwrap_or_default();
    let funding_sources: BTreeMap<String, TotalCategory> = sources.iter().map(|(k, s)| (k.clone(), s.total)).collect();
    let source_descriptions = sources.iter().map(|(k, s)| (k.clone(), s.description.clone())).collect();
    for (id, s) in &sources {
        if s.description.trim().is_empty() {
            problems.push(SchemaProblem::file(
                FUNDING_SOURCES_FILE,
                format!("sources.{id}.description is empty: findings name the source by it"),
            ));
        }
    }

    let prefix = format!("{TEMPLATES_DIR}/");
    let names: Vec<&String> = files.keys().filter(|k| k.starts_with(&prefix) && k.ends_with(".toml")).collect();
    if names.is_empty() {
        problems.push(SchemaProblem::file(&prefix, "no template schemas (*.toml)"));
    }
    let mut templates: Vec<TemplateSpec> = Vec::new();
    for rel in names {
        let Some((mut t, lines)) = read::<TemplateSpec>(files, rel, &mut problems) else {
            continue;
        };
        t.file = rel.clone();
        t.lines = lines;
        let mut found = check_template(&t, &funding_sources);
        if let Some(o) = templates.iter().find(|o| o.catalogue_order == t.catalogue_order) {
            found.push((
                "catalogue_order".into(),
                format!("catalogue_order {} is also `{}`'s", t.catalogue_order, o.id),
            ));
        }
        if templates.iter().any(|o| o.id == t.id) {
            found.push(("id".into(), format!("template id `{}` is used by another schema file", t.id)));
        }
        problems.extend(found.into_iter().map(|(key, message)| t.problem(&key, message)));
        templates.push(t);
    }

    templates.sort_by_key(|t| t.catalogue_order);
    if problems.is_empty() {
        let catalogue_revision = vocabulary.and_then(|v| v.catalogue_revision);
        Ok(SchemaSet { templates, funding_sources, source_descriptions, file_hashes, catalogue_revision })
    } else {
        Err(problems)
    }
}

/// One schema file read as a `T` with where its keys are; every problem reading it, on its line.
fn read<T: serde::de::DeserializeOwned>(
    files: &SchemaFiles,
    rel: &str,
    problems: &mut Vec<SchemaProblem>,
) -> Option<(T, KeyLines)> {
    let Some(bytes) = files.get(rel) else {
        problems.push(SchemaProblem::file(rel, "is missing"));
        return None;
    };
    let Ok(text) = std::str::from_utf8(bytes) else {
        problems.push(SchemaProblem::file(rel, "not UTF-8"));
        return None;
    };
    let (value, lines, found) = lines::parse::<T>(text);
    problems.extend(found.into_iter().map(|(line, message)| SchemaProblem { file: rel.into(), line, message }));
    value.map(|v| (v, lines))
}

impl TemplateSpec {
    /// A problem with the key at `path` (`income.sections[2].header`), on its line.
    pub fn problem(&self, path: &str, message: impl Into<String>) -> SchemaProblem {
        SchemaProblem { file: self.file.clone(), line: self.lines.line(path), message: message.into() }
    }
}

/// What a check found: the key it is about (`income.sheet`) and what is wrong.
type Found = Vec<(String, String)>;

/// Every problem in one template spec that serde cannot see: cross-references and values.
fn check_template(t: &TemplateSpec, sources: &BTreeMap<String, TotalCategory>) -> Found {
    let mut out = Found::new();
    let mut add = |key: &str, message: String| out.push((key.to_string(), message));
    if t.id.trim().is_empty() {
        add("id", "`id` is empty".into());
    }
    if t.recognise.title.trim().is_empty() {
        add("recognise.title", "recognise.title is empty".into());
    }
    check_column_letters("recognise.title_column", t.recognise.title_column.as_deref(), &mut out);
    match t.kind {
        TemplateKind::Return => check_return(t, sources, &mut out),
        TemplateKind::Allocations => match &t.allocations {
            None => out.push(("kind".into(), "an allocations template needs an [allocations] table".into())),
            Some(a) => {
                if a.streams.is_empty() {
                    out.push(("allocations.streams".into(), "allocations.streams is empty".into()));
                }
                for (label, src) in &a.streams {
                    source_ok(&format!("allocations.streams.{label}"), src, sources, &mut out);
                }
            }
        },
    }
    out
}

fn check_return(t: &TemplateSpec, sources: &BTreeMap<String, TotalCategory>, out: &mut Found) {
    let needs = |table: &str| ("kind".to_string(), format!("a return template needs an [{table}] table"));
    match &t.cover {
        None => out.push(needs("cover")),
        Some(c) => check_cover(c, out),
    }
    match &t.income {
        None => out.push(needs("income")),
        Some(inc) => check_income(inc, sources, out),
    }
    match &t.expenditure {
        None => out.push(needs("expenditure")),
        Some(e) => check_expenditure(e, sources, out),
    }
    if t.allocations.is_some() {
        out.push(("allocations".into(), "a return template has no [allocations] table".into()));
    }
}

fn source_ok(key: &str, s: &str, sources: &BTreeMap<String, TotalCategory>, out: &mut Found) {
    if !sources.contains_key(s) {
        out.push((key.into(), format!("{key}: funding source `{s}` is not in funding_sources.toml")));
    }
}

fn check_column_letters(key: &str, letters: Option<&str>, out: &mut Found) {
    if let Some(l) = letters {
        if crate::model::column_index(l).is_none() {
            out.push((key.into(), format!("{key}: `{l}` is not a column like B")));
        }
    }
}

fn check_cover(c: &CoverSpec, out: &mut Found) {
    check_column_letters("cover.label_column", c.label_column.as_deref(), out);
    for role in [FieldRole::AreaName, FieldRole::SubmissionDate] {
        let n = c.fields.iter().filter(|f| f.role == Some(role)).count();
        if n != 1 {
            let message = format!("cover.fields needs exactly one field with role = \"{}\" ({n} found)", role.name());
            out.push(("cover.fields".into(), message));
        }
    }
    if let Some((i, f)) = c
        .fields
        .iter()
        .enumerate()
        .find(|(_, f)| f.role == Some(FieldRole::SubmissionDate) && f.kind != FieldKind::Date)
    {
        let message = format!("cover field `{}` has role submission_date, so it must have kind = \"date\"", f.field);
        out.push((format!("cover.fields[{i}]"), message));
    }
    for (i, f) in c.fields.iter().enumerate() {
        if c.fields[..i].iter().any(|g| g.field == f.field) {
            out.push((
                format!("cover.fields[{i}].field"),
                format!("cover field `{}` is named twice (outputs key each value by it)", f.field),
            ));
        }
    }
}

fn check_amounts(what: &str, cols: &[AmountColumnSpec], out: &mut Found) {
    if cols.is_empty() {
        out.push((format!("{what}.amount_columns"), format!("{what}.amount_columns is empty")));
    }
    let mut seen = BTreeSet::new();
    for (i, c) in cols.iter().enumerate() {
        if !seen.insert(c.title.trim().to_lowercase()) {
            out.push((
                format!("{what}.amount_columns[{i}]"),
                format!("{what}.amount_columns: title `{}` appears twice", c.title),
            ));
        }
    }
}

fn check_income(inc: &IncomeSpec, sources: &BTreeMap<String, TotalCategory>, out: &mut Found) {
    check_amounts("income", &inc.amount_columns, out);
    if inc.sections.is_empty() {
        out.push(("income.sections".into(), "income.sections is empty".into()));
    }
    for (i, s) in inc.sections.iter().enumerate() {
        let key = format!("income.sections[{i}]");
        match (&s.funding_source, &s.funding_source_column) {
            (Some(src), None) => source_ok(&format!("{key}.funding_source"), src, sources, out),
            (None, Some(_)) if inc.funding_source_values.is_empty() => out.push((key, format!(
                "income section `{}` reads its source from a column, so income.funding_source_values must map the column's values",
                s.header
            ))),
            (None, Some(_)) => {}
            _ => out.push((key, format!("income section `{}` needs exactly one of `funding_source` or `funding_source_column`", s.header))),
        }
    }
    for (label, src) in &inc.funding_source_values {
        source_ok(&format!("income.funding_source_values.{label}"), src, sources, out);
    }
    for (i, q) in inc.questions.iter().enumerate() {
        let key = format!("income.questions[{i}].funding_source");
        source_ok(&key, &q.funding_source, sources, out);
        if !inc.sections.iter().any(|s| s.funding_source.as_deref() == Some(q.funding_source.as_str())) {
            out.push((
                key,
                format!("income question `{}` refers to `{}`, which no section has", q.label_prefix, q.funding_source),
            ));
        }
    }
    for (i, g) in inc.grand_totals.iter().enumerate() {
        for (j, src) in g.funding_sources.iter().enumerate() {
            source_ok(&format!("income.grand_totals[{i}].funding_sources[{j}]"), src, sources, out);
        }
    }
    check_grand_totals_include_every_source(inc, out);
}

/// The widest grand total (the pooled budget) must add up every source a section reads: a
/// source left out of it gives every return a `total-mismatch` warning.
fn check_grand_totals_include_every_source(inc: &IncomeSpec, out: &mut Found) {
    let Some((g, widest)) =
        inc.grand_totals.iter().enumerate().max_by_key(|(i, g)| (g.funding_sources.len(), std::cmp::Reverse(*i)))
    else {
        return;
    };
    for (i, s) in inc.sections.iter().enumerate() {
        let read: Vec<&ArcStr> = match &s.funding_source {
            Some(src) => vec![src],
            None => inc.funding_source_values.values().collect(),
        };
        for src in read.into_iter().filter(|src| !widest.funding_sources.contains(src)) {
            let message = format!(
                "income section `{}` reads `{src}`, but no grand total includes it (not even `{}`, income.grand_totals[{g}]): add it to that total's funding_sources, or every return gets a total-mismatch warning",
                s.header, widest.label
            );
            out.push((format!("income.sections[{i}]"), message));
        }
    }
}

fn check_expenditure(e: &ExpenditureSpec, sources: &BTreeMap<String, TotalCategory>, out: &mut Found) {
    check_amounts("expenditure", &e.amount_columns, out);
    if e.table_rows == 0 {
        out.push(("expenditure.table_rows".into(), "expenditure.table_rows must be at least 1".into()));
    }
    for (label, src) in &e.funding_source_values {
        source_ok(&format!("expenditure.funding_source_values.{label}"), src, sources, out);
    }
    if e.funding_source_values.is_empty() {
        out.push(("expenditure.funding_source_values".into(), "expenditure.funding_source_values is empty".into()));
    }
    for (i, c) in e.extra_columns.iter().enumerate() {
        let key = format!("expenditure.extra_columns[{i}]");
        if c.field.trim().is_empty() || c.title.trim().is_empty() {
            out.push((key.clone(), format!("{key} needs a field name and a title")));
        }
        if e.extra_columns[..i].iter().any(|d| d.field == c.field) {
            out.push((key, format!("extra column `{}` is named twice (outputs key each value by it)", c.field)));
        }
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
