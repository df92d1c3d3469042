//! Which template family a workbook is: its title cell and sheet names (catalogue §2).

use crate::model::{column_index, CellPos, Finding, Rule};
use crate::schema::{SchemaSet, TemplateSpec, TitleMatch};
use crate::workbook::{folds_to, folds_to_prefix, norm, OpenError, Workbook};

/// The first schema whose sheets are all present and whose title sits near the top of its sheet.
pub fn recognise<'s>(wb: &mut Workbook, schemas: &'s SchemaSet) -> Result<Option<&'s TemplateSpec>, OpenError> {
    for t in &schemas.templates {
        if missing_sheets(wb, t).is_empty() && has_title(wb, t)? {
            return Ok(Some(t));
        }
    }
    Ok(None)
}

/// The template's sheets that the workbook lacks (matched as `resolve_sheet` does).
fn missing_sheets<'t>(wb: &Workbook, t: &'t TemplateSpec) -> Vec<&'t str> {
    let r = &t.recognise;
    let mut names: Vec<&str> =
        std::iter::once(r.sheet.as_str()).chain(r.required_sheets.iter().map(String::as_str)).collect();
    names.dedup();
    names.into_iter().filter(|s| wb.resolve_sheet(s).is_none()).collect()
}

/// Whether the template's title sits near the top of its cover sheet.
fn has_title(wb: &mut Workbook, t: &TemplateSpec) -> Result<bool, OpenError> {
    let r = &t.recognise;
    let Some(name) = wb.resolve_sheet(&r.sheet) else {
        return Ok(false);
    };
    let sheet = wb.sheet(&name)?;
    let title = norm(&r.title);
    let column = r.title_column.as_deref().and_then(column_index);
    let in_column = |p: &CellPos| column.is_none_or(|c| p.col == c);
    let mut near_top = sheet.cells().take_while(|(p, _)| p.row < r.title_rows).filter(|(p, _)| in_column(p));
    Ok(near_top.any(|(_, c)| {
        c.text().is_some_and(|text| match r.title_match {
            TitleMatch::Exact => folds_to(text, &title),
            TitleMatch::Prefix => folds_to_prefix(text, &title),
        })
    }))
}

/// A `template-unknown` finding that says what the workbook does hold.
pub fn unknown_finding(wb: &mut Workbook, schemas: &SchemaSet) -> Finding {
    // The right title with a sheet missing or renamed: say which sheet.
    for t in &schemas.templates {
        let missing = missing_sheets(wb, t);
        if !missing.is_empty() && has_title(wb, t).unwrap_or(false) {
            let missing = missing.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ");
            return Finding::file(
                Rule::TemplateUnknown,
                format!(
                    "this is the {}, but its sheet {missing} is missing or renamed; restore the sheet as the template names it and resubmit",
                    t.description
                ),
            );
        }
    }
    if wb.sheet_names().is_empty() {
        return Finding::file(
            Rule::TemplateUnknown,
            "the workbook holds no worksheets (only chart, macro or dialog sheets, or none); use the template issued for the year",
        );
    }
    // If a known cover sheet exists, show what its title says.
    for t in &schemas.templates {
        if let Some(name) = wb.resolve_sheet(&t.recognise.sheet) {
            if let Ok(sheet) = wb.sheet(&name) {
                if let Some((pos, cell)) =
                    sheet.cells().find(|(p, c)| p.row < t.recognise.title_rows && c.text().is_some())
                {
                    return Finding::cell(
                        Rule::TemplateUnknown,
                        &name,
                        pos,
                        format!(
                            "\"{}\" is not the title of a known BCF template; use the template issued for the year",
                            cell.display()
                        ),
                    );
                }
            }
        }
    }
    let sheets = wb.sheet_names().iter().take(10).map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ");
    Finding::file(
        Rule::TemplateUnknown,
        format!("the workbook matches no BCF template (its sheets are {sheets}); use the template issued for the year"),
    )
}
