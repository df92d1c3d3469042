//! Cover fields, found by label with the value to the right (catalogue §2.1).

use super::cells;
use crate::model::{CellPos, Finding, Rule};
use crate::schema::{FieldKind, TemplateSpec};
use crate::workbook::{norm, OpenError, Workbook};

/// The cover fields the pipeline uses.
#[derive(Debug, Default)]
pub struct Cover {
    /// The typed HWB name, where it sits, and the sheet.
    pub hwb_name: Option<(String, CellPos, String)>,
    pub submission_date: Option<String>,
}

pub fn read(wb: &mut Workbook, t: &TemplateSpec, findings: &mut Vec<Finding>) -> Result<Cover, OpenError> {
    let mut cover = Cover::default();
    let Some(spec) = &t.cover else {
        return Ok(cover);
    };
    let Some(name) = wb.resolve_sheet(&spec.sheet) else {
        findings.push(Finding::file(Rule::FieldMissing, format!("the sheet '{}' is missing", spec.sheet)));
        return Ok(cover);
    };
    let sheet = wb.sheet(&name)?;
    for field in &spec.fields {
        let label = norm(&field.label);
        let Some(label_pos) = sheet.find_label(&label) else {
            if field.required {
                findings.push(Finding::sheet(
                    Rule::FieldMissing,
                    &name,
                    format!("the label \"{}\" is missing, so its value cannot be found", field.label),
                ));
            }
            continue;
        };
        let value = sheet.value_right_of(label_pos);
        let Some((pos, cell)) = value else {
            if field.required {
                findings.push(Finding::cell(
                    Rule::FieldMissing,
                    &name,
                    CellPos::new(label_pos.row, label_pos.col + 1),
                    format!("\"{}\" is empty; it is required", field.label.trim_end_matches(':')),
                ));
            }
            continue;
        };
        match field.kind {
            FieldKind::Date => match cells::date(&cell.value) {
                Some(d) => {
                    if field.field == "submission_date" {
                        cover.submission_date = Some(d.iso);
                    }
                }
                None => findings.push(Finding::cell(
                    Rule::DateInvalid,
                    &name,
                    pos,
                    format!(
                        "\"{}\" is not a date; enter the {} as a date, e.g. 25/08/2017",
                        cells::truncate(&cell.display()),
                        field.label.trim_end_matches(':').to_lowercase()
                    ),
                )),
            },
            FieldKind::Text => {
                if field.field == "hwb_name" {
                    cover.hwb_name = Some((cell.display(), pos, name.clone()));
                }
            }
        }
    }
    Ok(cover)
}
