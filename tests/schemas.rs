//! Every schema in `schemas/` loads, matches the blank template it describes and reads the
//! sample returns of its family; a broken schema folder reports every problem at once. Nothing
//! here lists the template ids: the tests discover them. (A new template year by files alone,
//! and each slip an analyst can make: `template_years`.)

use crate::support::{bcf, fixtures, fs, project_root, reference, run_on, workbook};
use bcf::schema::TemplateKind;

#[test]
fn every_schema_is_named_after_its_id_and_every_source_is_in_the_vocabulary() {
    let (set, _) = reference();
    let files = fs::files(&project_root().join("schemas/templates"));
    assert_eq!(files.len(), set.templates.len(), "one template per file");
    for t in &set.templates {
        assert!(set.file_hashes.contains_key(&format!("templates/{}.toml", t.id)), "file named after its id: {}", t.id);
    }
    let listed = std::fs::read_to_string(project_root().join("schemas/funding_sources.toml")).unwrap();
    let declared = listed.matches("[sources.").count();
    assert_eq!(set.funding_sources.len(), declared, "every declared source is loaded");
}

#[test]
fn every_return_schema_matches_its_blank_template() {
    let (set, _) = reference();
    for t in set.templates.iter().filter(|t| t.kind == TemplateKind::Return) {
        let blank = fixtures().join("blank").join(format!("{}.xlsx", t.id));
        assert!(blank.exists(), "{}: add its blank template as fixtures/blank/{}.xlsx", t.id, t.id);
        let problems = bcf::schema::blank::check(t, &mut workbook(&blank)).unwrap();
        assert!(problems.is_empty(), "{}: {problems:#?}", t.id);
    }
}

#[test]
fn the_blank_check_lists_what_is_missing_or_ambiguous_with_its_sheet() {
    let (set, _) = reference();
    let mut t = set.template("bcf-year-end-2024-25").unwrap().clone();
    t.cover.as_mut().unwrap().label_column = Some("B".into()); // the labels are in C
    let income = t.income.as_mut().unwrap();
    income.amount_columns[1].title = "Outturn 2024-25".into();
    income.sections[0].header = "Variance".into(); // in every section's header row
    let blank = fixtures().join("blank/bcf-year-end-2024-25.xlsx");
    let text: Vec<String> =
        bcf::schema::blank::check(&t, &mut workbook(&blank)).unwrap().iter().map(|p| p.to_string()).collect();
    let has = |needle: &str| text.iter().any(|p| p.contains(needle));
    assert!(has("2. Cover: the cover label \"Date of submission:\" is missing (cover.fields[3].label)"), "{text:#?}");
    assert!(
        has("3. Income: the column \"Outturn 2024-25\" in the header of the section \"iBCF Contribution\" is missing (income.amount_columns[1].title)"),
        "{text:#?}"
    );
    assert!(
        has("3. Income: the section \"Variance\" is ambiguous (income.sections[0].header): found at E7, E11"),
        "{text:#?}"
    );
    let out = bcf(&["schemas", "check", "--blanks", fixtures().join("blank").to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let blanks = fs::files(&fixtures().join("blank")).len();
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("0 problem(s) in {blanks} blank template(s)")));
}

#[test]
fn every_return_family_has_sample_returns_that_are_accepted() {
    let (set, _) = reference();
    let (_out, t) = run_on(&fixtures().join("samples"));
    for tpl in &set.templates {
        let of: Vec<_> = t.submissions.iter().filter(|s| s.template_id.as_deref() == Some(tpl.id.as_str())).collect();
        assert!(!of.is_empty(), "{}: add sample returns of this family to fixtures/samples/", tpl.id);
        assert!(of.iter().all(|s| s.status.contributes()), "{}: {of:#?}", tpl.id);
    }
}

#[test]
fn broken_schemas_report_every_problem_at_once() {
    let dir = tempfile::tempdir().unwrap();
    fs::copy_tree(&project_root().join("schemas"), dir.path(), |_| true);
    let t = dir.path().join("templates");
    let edit = |file: &str, from: &str, to: &str| {
        let p = t.join(file);
        let s = std::fs::read_to_string(&p).unwrap();
        assert!(s.contains(from), "{file} contains {from}");
        std::fs::write(&p, s.replacen(from, to, 1)).unwrap();
    };
    edit("bcf-planning-2017-19.toml", "funding_source = \"ibcf\"", "funding_source = \"ibfc\"");
    edit("bcf-planning-2023-25.toml", "financial_year = \"2024-25\"", "financial_year = \"2024-26\"");
    edit("bcf-year-end-2020-21.toml", "table_rows = 150", "table_rows = 150\ncolour = \"red\"");
    edit("bcf-planning-2019-20.toml", "role = \"submission_date\", ", "");
    std::fs::copy(t.join("bcf-planning-2015-16.toml"), t.join("copy-of-2015-16.toml")).unwrap();

    let problems = bcf::load::schemas(dir.path()).expect_err("broken schemas");
    let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    let has = |file: &str, needle: &str| {
        text.iter().any(|p| p.starts_with(&format!("templates/{file}")) && p.contains(needle))
    };
    assert!(has("bcf-planning-2017-19.toml", "`ibfc`"), "{text:#?}");
    assert!(has("bcf-planning-2023-25.toml", "2024-26"), "{text:#?}");
    assert!(has("bcf-year-end-2020-21.toml", "colour"), "{text:#?}");
    assert!(has("bcf-planning-2019-20.toml", "role = \"submission_date\""), "{text:#?}");
    assert!(has("copy-of-2015-16.toml", "used by another schema file"), "{text:#?}");

    let out = bcf(&["schemas", "check", "--schemas", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&format!("{} problem(s)", problems.len())), "{stdout}");
    assert!(problems.len() >= 6, "the copy also repeats a catalogue_order: {text:#?}");
}

#[test]
fn schemas_check_passes_on_the_project() {
    let out = bcf(&["schemas", "check"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let n = reference().0.templates.len();
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("{n} template schemas OK")));
}
