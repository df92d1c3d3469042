//! A template year added as the README's "Adding a template year" says, by files alone: a
//! 2025-26 planning family derived from the 2023-25 schema the way real years change (a cover
//! field added and the cover moved down, the income sheet renamed and its rows lower, a new
//! mandatory source with its own allocation stream, a new scheme-table column, a new checklist
//! sheet), with a blank, seven returns and an allocations workbook in copies of `schemas/` and
//! `fixtures/`. Then each slip an analyst can make is shown reported by `bcf schemas check`,
//! with the schema's file and line and, where the blank has it, the sheet and cell.

use crate::support::{bcf, fixtures, fs, project_root, published, read_parquet};
use bcf_fixtures::{AllocationsSpec, Amount, Family, ReturnSpec};
use std::collections::BTreeMap;
use std::path::Path;

const ID: &str = "bcf-planning-2025-26";
const SCHEMA: &str = "templates/bcf-planning-2025-26.toml";

/// The analyst's edits of the 2023-25 schema: text replacements, as a person makes them.
fn analyst_schema(from: &str) -> String {
    let edits: &[(&str, &str)] = &[
        ("bcf-planning-2023-25", ID),
        ("2023-25 Planning Template", "2025-26 Planning Template"),
        ("catalogue_order = 5", "catalogue_order = 8"),
        ("\"2023-24\"", "\"2025-26\""),
        ("Expenditure (£) 2023-24", "Expenditure (£) 2025-26"),
        ("\"2024-25\"", "\"2026-27\""),
        ("Expenditure (£) 2024-25", "Expenditure (£) 2026-27"),
        ("5. Income", "4. Income"),
        ("6. Expenditure", "5. Expenditure"),
        ("\"5. Expenditure\"]", "\"5. Expenditure\", \"6. Checklist\"]"),
        (
            "required = true },\n  { field = \"completed_by\"",
            "required = true },\n  { field = \"finance_lead\", label = \"Finance lead:\" },\n  { field = \"completed_by\"",
        ),
        (
            "[[income.sections]]\nheader = \"iBCF Contribution\"",
            "[[income.sections]]\nheader = \"Adult Social Care Fund\"\nfunding_source = \"asc_fund\"\ntotal = \"Total Adult Social Care Fund\"\nrequired = true\n\n[[income.sections]]\nheader = \"iBCF Contribution\"",
        ),
        ("[\"dfg\", \"ibcf\", \"la_discharge\"", "[\"dfg\", \"asc_fund\", \"ibcf\", \"la_discharge\""),
        ("[expenditure.funding_source_values]\n", "[expenditure.funding_source_values]\n\"Adult Social Care Fund\" = \"asc_fund\"\n"),
        (
            "\n[expenditure.funding_source_values]",
            "extra_columns = [{ field = \"primary_objective\", title = \"Primary Objective\" }]\n\n[expenditure.funding_source_values]",
        ),
    ];
    let mut text = from.to_string();
    for (a, b) in edits {
        assert!(text.contains(a), "the 2023-25 schema has {a:?}");
        text = text.replace(a, b);
    }
    text
}

/// A copy of `schemas/` with the new family, its source and its stream.
fn analyst_schemas(dir: &Path) {
    fs::copy_tree(&project_root().join("schemas"), dir, |_| true);
    let from = std::fs::read_to_string(dir.join("templates/bcf-planning-2023-25.toml")).unwrap();
    std::fs::write(dir.join(SCHEMA), analyst_schema(&from)).unwrap();
    append(
        &dir.join("funding_sources.toml"),
        "\n[sources.asc_fund]\ntotal = \"mandatory\"\ndescription = \"Adult Social Care Fund\"\n",
    );
    edit(
        &dir.join("templates/bcf-allocations.toml"),
        "\"iBCF\" = \"ibcf\"",
        "\"iBCF\" = \"ibcf\"\n\"Adult Social Care Fund\" = \"asc_fund\"",
    );
}

fn append(path: &Path, text: &str) {
    let s = std::fs::read_to_string(path).unwrap();
    std::fs::write(path, s + text).unwrap();
}

fn edit(path: &Path, from: &str, to: &str) {
    let s = std::fs::read_to_string(path).unwrap();
    assert!(s.contains(from), "{} has {from:?}", path.display());
    std::fs::write(path, s.replacen(from, to, 1)).unwrap();
}

/// The line of a schema file on which `text` first appears.
fn line_of(path: &Path, text: &str) -> usize {
    let s = std::fs::read_to_string(path).unwrap();
    s.lines().position(|l| l.contains(text)).unwrap_or_else(|| panic!("{} has {text:?}", path.display())) + 1
}

/// The analyst's fixtures: a copy of `fixtures/` plus the new family's blank, seven returns (one
/// with `TBC` typed, one £2 over its Adult Social Care Fund allocation) and its allocations.
/// The returns' specs, by file name.
fn analyst_fixtures(dir: &Path, schemas_dir: &Path) -> BTreeMap<String, ReturnSpec> {
    fs::copy_tree(&fixtures(), dir, |rel| rel.starts_with("samples/") || rel.starts_with("blank/"));
    let (schemas, _) = bcf::load::all(schemas_dir).expect("the analyst's schemas load");
    let family = Family::find(&schemas, ID).expect("the new family");
    ReturnSpec::typical(&family, "", 1).write(&dir.join(format!("blank/{ID}.xlsx"))).unwrap();
    let mut allocations = AllocationsSpec::for_family(&family, &schemas).unwrap();
    let areas =
        [("E10000016", "Kent"), ("E09000007", "Camden"), ("E08000016", "Barnsley"), ("E06000063", "Cumberland")];
    let more = [("E08000036", "Wakefield"), ("E10000030", "Surrey"), ("E08000035", "Leeds")];
    let mut specs = BTreeMap::new();
    std::fs::create_dir_all(dir.join("samples/2025-26")).unwrap();
    for (i, (code, name)) in areas.iter().chain(&more).enumerate() {
        let mut spec = ReturnSpec::typical(&family, name, 40 + i as u64);
        allocations.add_matching(code, name, &spec);
        match *name {
            "Surrey" => spec.section_mut("dfg").unwrap().lines[0].amounts[0] = Amount::Text("TBC".into()),
            "Leeds" => {
                let line = &mut spec.section_mut("asc_fund").unwrap().lines[0];
                if let Amount::Number(p) = line.amounts[0] {
                    line.amounts[0] = Amount::Number(bcf::model::Pence(p.0 + 200));
                }
            }
            _ => {}
        }
        let file = format!("BCF 2025-26 - {name}.xlsx");
        spec.write(&dir.join("samples/2025-26").join(&file)).unwrap();
        specs.insert(file, spec);
    }
    allocations.write(&dir.join("samples/allocations/Better Care Fund allocations 2025-26.xlsx")).unwrap();
    specs
}

fn schemas_check(schemas: &Path, blanks: &Path) -> (Option<i32>, String) {
    let out = bcf(&["schemas", "check", "--schemas", schemas.to_str().unwrap(), "--blanks", blanks.to_str().unwrap()]);
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn a_new_planning_family_is_added_by_files_alone_and_what_it_adds_reaches_the_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let (schemas_dir, fixtures_dir) = (tmp.path().join("schemas"), tmp.path().join("fixtures"));
    analyst_schemas(&schemas_dir);
    let specs = analyst_fixtures(&fixtures_dir, &schemas_dir);
    let (code, text) = schemas_check(&schemas_dir, &fixtures_dir.join("blank"));
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains(&format!("{ID} OK")), "{text}");

    let out = tempfile::tempdir().unwrap();
    let input = fixtures_dir.join("samples");
    let run = bcf(&[
        "run",
        "--input",
        input.to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
        "--schemas",
        schemas_dir.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let current = published(out.path());
    let submissions = read_parquet(&current.join("submissions.parquet"));
    let status =
        |file: &str| submissions.iter().find(|s| s["source_file"] == file).map(|s| s["status"].clone()).unwrap();
    for s in submissions.iter().filter(|s| !s["source_file"].starts_with("2025-26/")) {
        assert!(
            s["status"].starts_with("accepted") || s["status"] == "superseded",
            "the other families still pass: {s:?}"
        );
    }
    let findings = read_parquet(&current.join("findings.parquet"));
    let of = |file: &str| findings.iter().filter(|f| f["source_file"] == format!("2025-26/{file}")).collect::<Vec<_>>();
    let tbc = of("BCF 2025-26 - Surrey.xlsx");
    assert_eq!(status("2025-26/BCF 2025-26 - Surrey.xlsx"), "rejected");
    assert!(tbc.iter().any(|f| f["rule"] == "amount-not-numeric" && f["sheet"] == "4. Income"), "{tbc:?}");
    let over = of("BCF 2025-26 - Leeds.xlsx");
    assert_eq!(status("2025-26/BCF 2025-26 - Leeds.xlsx"), "rejected", "£2 over the new stream's allocation");
    let mismatch = over.iter().find(|f| f["rule"] == "minimum-mismatch").expect("the new source's minimum is checked");
    assert!(
        mismatch["message"].starts_with("the Adult Social Care Fund lines for 2025-26"),
        "named by its description: {mismatch:?}"
    );

    // The national row: exactly the five good returns, to the penny, the new source counted as mandatory.
    let good: Vec<&ReturnSpec> =
        specs.iter().filter(|(f, _)| !f.contains("Surrey") && !f.contains("Leeds")).map(|(_, s)| s).collect();
    let national = read_parquet(&current.join("national_totals.parquet"));
    let row =
        national.iter().find(|r| r["financial_year"] == "2025-26" && r["basis"] == "plan").expect("a 2025-26 row");
    assert_eq!(row["areas_included"], "5");
    let voluntary = ["la_additional", "nhs_additional"];
    let total = |mandatory: bool| -> i128 {
        good.iter()
            .flat_map(|s| s.income_totals())
            .filter(|((src, y, _), _)| y.to_string() == "2025-26" && voluntary.contains(&src.as_str()) != mandatory)
            .map(|(_, p)| p.0)
            .sum()
    };
    assert_eq!(row["mandated_minimum_gbp"], bcf::model::Pence(total(true)).to_string());
    assert_eq!(row["voluntary_above_minimum_gbp"], bcf::model::Pence(total(false)).to_string());
    let sources = read_parquet(&current.join("funding_sources.parquet"));
    let asc = sources.iter().find(|s| s["funding_source"] == "asc_fund").expect("the new source in funding_sources");
    assert_eq!(
        (asc["description"].as_str(), asc["counts_towards"].as_str()),
        ("Adult Social Care Fund", "mandated_minimum_gbp")
    );

    // What the template adds reaches the outputs, with no new column.
    let cover = read_parquet(&current.join("cover_fields.parquet"));
    let leads: Vec<_> = cover.iter().filter(|c| c["template_id"] == ID && c["field"] == "finance_lead").collect();
    assert_eq!(leads.len(), specs.len(), "every new return's new cover field: {leads:?}");
    assert!(leads.iter().all(|c| c["label"] == "Finance lead:" && !c["value"].is_empty() && c["sheet"] == "2. Cover"));
    let extra = read_parquet(&current.join("scheme_fields.parquet"));
    let objectives: Vec<_> =
        extra.iter().filter(|x| x["template_id"] == ID && x["field"] == "primary_objective").collect();
    assert!(!objectives.is_empty(), "the new scheme column's values");
    let schemes: Vec<_> = read_schemes(&current);
    for o in &objectives {
        let joined = schemes.iter().any(|s| {
            s["source_file"] == o["source_file"] && s["sheet"] == o["sheet"] && s["scheme_row"] == o["scheme_row"]
        });
        assert!(joined, "scheme_fields join schemes on file, sheet and row: {o:?}");
    }
}

fn read_schemes(current: &Path) -> Vec<BTreeMap<String, String>> {
    fs::files(&current.join("schemes"))
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .flat_map(|p| read_parquet(p))
        .collect()
}

/// The analyst's family in temporary folders, for each slip to be made on.
fn analyst() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let (schemas_dir, fixtures_dir) = (tmp.path().join("schemas"), tmp.path().join("fixtures"));
    analyst_schemas(&schemas_dir);
    analyst_fixtures(&fixtures_dir, &schemas_dir);
    (tmp, schemas_dir, fixtures_dir)
}

#[test]
fn a_sheet_left_at_its_old_name_is_reported_with_its_line_and_the_blanks_sheets() {
    let (_tmp, schemas, fixtures) = analyst();
    let schema = schemas.join(SCHEMA);
    for (key, old, new) in
        [("income.sheet", "5. Income", "4. Income"), ("expenditure.sheet", "6. Expenditure", "5. Expenditure")]
    {
        let table = key.split('.').next().unwrap();
        let text = std::fs::read_to_string(&schema).unwrap();
        let at = text.find(&format!("[{table}]\nsheet = \"{new}\"")).unwrap_or_else(|| panic!("[{table}] sheet"));
        let slipped = format!(
            "{}{}",
            &text[..at],
            text[at..].replacen(&format!("sheet = \"{new}\""), &format!("sheet = \"{old}\""), 1)
        );
        std::fs::write(&schema, &slipped).unwrap();
        let line = slipped[..at].lines().count() + 2;
        let (code, out) = schemas_check(&schemas, &fixtures.join(format!("blank/{ID}.xlsx")));
        assert_eq!(code, Some(1), "{out}");
        let want = format!("{SCHEMA}:{line}: the sheet '{old}' is missing ({key}); the blank's sheets are");
        assert!(out.contains(&want) && out.contains(&format!("'{new}'")), "{want}\n{out}");
        std::fs::write(&schema, text).unwrap();
    }
    edit(&schema, "[cover]\nsheet = \"2. Cover\"", "[cover]\nsheet = \"Cover\"");
    let (_, out) = schemas_check(&schemas, &fixtures.join(format!("blank/{ID}.xlsx")));
    let line = line_of(&schema, "sheet = \"Cover\"");
    assert!(out.contains(&format!("{SCHEMA}:{line}: the sheet 'Cover' is missing (cover.sheet)")), "{out}");
}

#[test]
fn a_stream_left_out_of_the_allocations_schema_is_reported_at_its_cell_and_a_run_warns_once() {
    let (_tmp, schemas, fixtures) = analyst();
    let allocations_schema = schemas.join("templates/bcf-allocations.toml");
    edit(&allocations_schema, "\n\"Adult Social Care Fund\" = \"asc_fund\"", "");
    let workbook = fixtures.join("samples/allocations/Better Care Fund allocations 2025-26.xlsx");
    let (code, out) = schemas_check(&schemas, &workbook);
    assert_eq!(code, Some(1), "{out}");
    let line = line_of(&allocations_schema, "[allocations.streams]");
    let reported: Vec<&str> = out.lines().filter(|l| l.contains("Adult Social Care Fund 2025-26")).collect();
    assert_eq!(reported.len(), 1, "{out}");
    assert!(reported[0].contains(&format!("templates/bcf-allocations.toml:{line}: HWB allocations:")), "{out}");
    assert!(
        reported[0].contains("(allocations.streams); ") && reported[0].contains(" holds allocations no stream names"),
        "{out}"
    );

    let out_dir = tempfile::tempdir().unwrap();
    let input = fixtures.join("samples");
    let run = bcf(&[
        "run",
        "--input",
        input.to_str().unwrap(),
        "--out",
        out_dir.path().to_str().unwrap(),
        "--schemas",
        schemas.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("no stream in")).collect();
    assert_eq!(warnings.len(), 1, "one warning for the run: {stderr}");
    assert!(warnings[0].contains("Adult Social Care Fund 2025-26"), "{stderr}");
}

#[test]
fn a_source_no_grand_total_includes_is_reported_on_its_sections_line() {
    let (_tmp, schemas, _fixtures) = analyst();
    let schema = schemas.join(SCHEMA);
    edit(&schema, "[\"dfg\", \"asc_fund\", \"ibcf\"", "[\"dfg\", \"ibcf\"");
    let out = bcf(&["schemas", "check", "--schemas", schemas.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let line = line_of(&schema, "header = \"Adult Social Care Fund\"") - 1; // the section's [[income.sections]]
    let want = format!(
        "{SCHEMA}:{line}: income section `Adult Social Care Fund` reads `asc_fund`, but no grand total includes it"
    );
    assert!(text.contains(&want), "{want}\n{text}");
    assert!(text.contains("every return gets a total-mismatch warning"), "{text}");
}

#[test]
fn every_type_error_in_a_schema_is_reported_on_its_own_line() {
    let (_tmp, schemas, _fixtures) = analyst();
    let schema = schemas.join(SCHEMA);
    let text = std::fs::read_to_string(&schema).unwrap();
    let slipped =
        text.replace("required = true", "required = \"yes\"").replace("table_rows = 150", "table_rows = \"150\"");
    std::fs::write(&schema, &slipped).unwrap();
    let out = bcf(&["schemas", "check", "--schemas", schemas.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<usize> = slipped
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains("= \"yes\"") || l.contains("table_rows = \"150\""))
        .map(|(i, _)| i + 1)
        .collect();
    assert!(lines.len() >= 6, "several slips: {lines:?}");
    for line in &lines {
        assert!(stdout.contains(&format!("{SCHEMA}:{line}: `")), "line {line} reported:\n{stdout}");
    }
    assert!(stdout.contains(&format!("{} problem(s)", lines.len())), "{stdout}");
}
