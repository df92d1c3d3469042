//! Every schema loads; a broken schema folder reports every problem at once.

use crate::support::{bcf_bin, project_root};
use std::path::Path;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

#[test]
fn every_schema_file_loads() {
    let set = bcf::schema::load(&project_root().join("schemas")).expect("schemas load");
    let mut ids: Vec<&str> = set.templates.iter().map(|t| t.id.as_str()).collect();
    ids.sort();
    assert_eq!(
        ids,
        [
            "bcf-allocations",
            "bcf-planning-2015-16",
            "bcf-planning-2017-19",
            "bcf-planning-2023-25",
            "bcf-year-end-2020-21"
        ]
    );
    for t in &set.templates {
        assert!(set.file_hashes.contains_key(&format!("templates/{}.toml", t.id)), "file named after its id: {}", t.id);
    }
    assert_eq!(set.funding_sources.len(), 8);
}

#[test]
fn broken_schemas_report_every_problem_at_once() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&project_root().join("schemas"), dir.path());
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
    std::fs::copy(t.join("bcf-planning-2015-16.toml"), t.join("copy-of-2015-16.toml")).unwrap();

    let problems = bcf::schema::load(dir.path()).expect_err("broken schemas");
    let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    let has = |file: &str, needle: &str| {
        text.iter().any(|p| p.starts_with(&format!("templates/{file}")) && p.contains(needle))
    };
    assert!(has("bcf-planning-2017-19.toml", "`ibfc`"), "{text:#?}");
    assert!(has("bcf-planning-2023-25.toml", "2024-26"), "{text:#?}");
    assert!(has("bcf-year-end-2020-21.toml", "colour"), "{text:#?}");
    assert!(has("copy-of-2015-16.toml", "used by another schema file"), "{text:#?}");

    let out =
        std::process::Command::new(bcf_bin()).args(["schemas", "check", "--schemas"]).arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("4 problem(s)"), "{stdout}");
}

#[test]
fn schemas_check_passes_on_the_project() {
    let out = std::process::Command::new(bcf_bin()).args(["schemas", "check"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains("5 template schemas OK"));
}
