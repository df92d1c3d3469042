//! Cover fields, found by label with the value to the right (catalogue §2.1).

use super::{cells, CoverField};
use crate::model::{column_index, truncate, CellPos, Date, Finding, Findings, Rule};
use crate::schema::{CoverFieldSpec, FieldKind, FieldRole, TemplateSpec};
use crate::workbook::{norm, OpenError, Sheet, Workbook};

/// What the cover says.
#[derive(Debug, Default)]
pub struct Cover {
    /// The typed HWB name, where it sits, and the sheet.
    pub hwb_name: Option<(String, CellPos, String)>,
    pub submission_date: Option<Date>,
    /// Every field with a value, as typed.
    pub fields: Vec<CoverField>,
}

pub fn read(wb: &mut Workbook, t: &TemplateSpec, findings: &mut Findings) -> Result<Cover, OpenError> {
    let mut cover = Cover::default();
    let Some(spec) = &t.cover else {
        return Ok(cover);
    };
    let Some(name) = cells::sheet_named(wb, &spec.sheet, findings) else {
        return Ok(cover);
    };
    let sheet = wb.sheet(&name)?;
    let column = spec.label_column.as_deref().and_then(column_index);
    let sheet_name: crate::model::ArcStr = name.as_str().into();
    for field in &spec.fields {
        if let Some((pos, value)) = field_value(sheet, field, column, findings) {
            read_field(field, pos, value, &name, &mut cover, findings);
            cover.fields.push(CoverField {
                field: field.field.clone(),
                label: field.label.clone(),
                value: cells::as_typed(value),
                sheet: sheet_name.clone(),
                cell: pos.a1(),
            });
        }
    }
    Ok(cover)
}

/// A field's value and where it sits; a required field that is missing or empty is a finding.
fn field_value<'s>(
    sheet: &'s Sheet,
    field: &CoverFieldSpec,
    column: Option<u32>,
    findings: &mut Findings,
) -> Option<(CellPos, &'s crate::workbook::Cell)> {
    let label = norm(&field.label);
    let Some(label_pos) = sheet.find_label_in_column(&label, column) else {
        if field.required {
            findings.push(Finding::sheet(
                Rule::FieldMissing,
                &sheet.name,
                format!("the label \"{}\" is missing, so its value cannot be found", field.label),
            ));
        }
        return None;
    };
    let value = sheet.value_right_of(label_pos);
    if value.is_none() && field.required {
        findings.push(Finding::cell(
            Rule::FieldMissing,
            &sheet.name,
            CellPos::new(label_pos.row, label_pos.col + 1),
            format!("\"{}\" is empty; it is required", field.label.trim_end_matches(':')),
        ));
    }
    value
}

fn read_field(
    field: &CoverFieldSpec,
    pos: CellPos,
    cell: &crate::workbook::Cell,
    sheet: &str,
    cover: &mut Cover,
    findings: &mut Findings,
) {
    match field.kind {
        FieldKind::Date => match cells::date(&cell.value) {
            Some(d) if field.role == Some(FieldRole::SubmissionDate) => cover.submission_date = Some(d),
            Some(_) => {}
            None => findings.push(Finding::cell(
                Rule::DateInvalid,
                sheet,
                pos,
                format!(
                    "\"{}\" is not a date; enter the {} as a date, e.g. 25/08/2017",
                    truncate(&cell.display()),
                    field.label.trim_end_matches(':').to_lowercase()
                ),
            )),
        },
        FieldKind::Text if field.role == Some(FieldRole::AreaName) => {
            cover.hwb_name = Some((cell.display(), pos, sheet.to_string()));
        }
        FieldKind::Text => {}
    }
}
