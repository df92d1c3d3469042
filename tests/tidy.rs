//! Structural facts the README's ARCHITECTURE section states, checked: no template specifics
//! in Rust, functions that fit on a screen, the README's column tables equal to the tables'
//! declarations, a validation core that touches nothing but the bytes it is given, data that
//! flows one way between the orchestrator and the stages, and a module doc on every file.

use crate::support::project_root;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    crate::support::fs::files(dir).into_iter().filter(|p| p.extension().is_some_and(|e| e == "rs")).collect()
}

/// The product's code: the pipeline, the validation core and the page's validator.
fn product_files() -> Vec<PathBuf> {
    ["pipeline", "crates/bcf-core/src", "crates/bcf-selfcheck/src"]
        .iter()
        .flat_map(|d| rust_files(&project_root().join(d)))
        .collect()
}

/// The code of a Rust file with `//` comments (and so doc comments) removed, line by line.
fn code_of(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines().map(|l| l.split_once("//").map_or(l, |(code, _)| code).to_string()).collect()
}

/// Every string in a TOML value.
fn strings(v: &toml::Value, out: &mut Vec<String>) {
    match v {
        toml::Value::String(s) => out.push(s.clone()),
        toml::Value::Array(a) => a.iter().for_each(|v| strings(v, out)),
        toml::Value::Table(t) => t.values().for_each(|v| strings(v, out)),
        _ => (),
    }
}

/// Sheet names, titles, labels and column titles of every template schema: any string with a
/// space in it. None may appear as a literal in the pipeline's code.
#[test]
fn no_template_layout_string_is_written_in_rust() {
    let mut layout = Vec::new();
    for p in crate::support::fs::files(&project_root().join("schemas/templates")) {
        let v: toml::Value = toml::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        strings(&v, &mut layout);
    }
    layout.retain(|s| s.trim().contains(' '));
    assert!(layout.len() > 100, "the schemas' layout strings were found ({})", layout.len());
    let mut found = Vec::new();
    for file in product_files() {
        let code = code_of(&file).join("\n");
        for s in &layout {
            if code.contains(&format!("{s:?}")) {
                found.push(format!("{}: {s:?}", file.display()));
            }
        }
    }
    found.sort();
    found.dedup();
    assert!(found.is_empty(), "template strings belong in schemas/:\n{}", found.join("\n"));
}

/// (lines, file, first line, name) of every `fn` in a file, by its closing brace at the same
/// indentation (rustfmt's layout).
fn functions(path: &Path) -> Vec<(usize, String, usize, String)> {
    let lines = code_of(path);
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let trimmed = l.trim_start();
        let indent = &l[..l.len() - trimmed.len()];
        let Some(rest) = ["pub fn ", "pub(crate) fn ", "fn ", "pub async fn ", "async fn "]
            .iter()
            .find_map(|p| trimmed.strip_prefix(p))
        else {
            continue;
        };
        if l.trim_end().ends_with(';') {
            continue;
        }
        let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        let close = format!("{indent}}}");
        if let Some(end) = lines[i + 1..].iter().position(|l| *l == close) {
            out.push((end + 2, path.display().to_string(), i + 1, name));
        }
    }
    out
}

#[test]
fn functions_fit_on_a_screen() {
    let root = project_root().join("pipeline");
    let mut long = Vec::new();
    for file in product_files() {
        let orchestration = file.starts_with(root.join("run")) || file.starts_with(root.join("store"));
        let limit = if orchestration { 60 } else { 100 };
        for (n, path, line, name) in functions(&file) {
            if n > limit {
                long.push(format!("{path}:{line} {name}: {n} lines (limit {limit})"));
            }
        }
    }
    assert!(long.is_empty(), "split these:\n{}", long.join("\n"));
}

/// The README's table of a table's columns, as its declaration gives it.
fn readme_table(t: &bcf::tables::columns::Described) -> String {
    let mut s = String::from("| column | type | nullable | meaning |\n|---|---|---|---|\n");
    if let Some((name, doc)) = t.partition {
        s += &format!("| `{name}` | utf8 (folder name) | no | {doc} |\n");
    }
    for (name, kind, nullable, doc) in &t.columns {
        s += &format!("| `{name}` | {} | {} | {doc} |\n", kind.arrow_name(), if *nullable { "yes" } else { "no" });
    }
    s
}

#[test]
fn the_readmes_column_tables_are_the_declarations() {
    let readme = std::fs::read_to_string(project_root().join("README.md")).unwrap();
    let missing: Vec<String> = bcf::tables::described()
        .iter()
        .map(|t| (t.name, readme_table(t)))
        .filter(|(_, want)| !readme.contains(want))
        .map(|(name, want)| format!("{name}:\n\n{want}"))
        .collect();
    assert!(missing.is_empty(), "README.md should hold the columns as declared:\n\n{}", missing.join("\n"));
}

/// The validation core runs in a browser and in the pipeline alike: it reads nothing but the
/// bytes it is given (and `make selfcheck` builds it for wasm32-unknown-unknown).
#[test]
fn the_validation_core_uses_no_file_system_process_thread_clock_or_network() {
    let banned = ["std::fs", "std::process", "std::thread", "std::net", "std::time", "std::env", "rayon"];
    let mut found = Vec::new();
    for file in rust_files(&project_root().join("crates/bcf-core/src")) {
        for (i, line) in code_of(&file).iter().enumerate() {
            found.extend(
                banned.iter().filter(|b| line.contains(*b)).map(|b| format!("{}:{}: {b}", file.display(), i + 1)),
            );
        }
    }
    assert!(found.is_empty(), "the core is given bytes; the pipeline does the I/O:\n{}", found.join("\n"));
    let manifest = std::fs::read_to_string(project_root().join("crates/bcf-core/Cargo.toml")).unwrap();
    for needs_c in ["mimalloc", "ring", "rayon", "tokio", "reqwest"] {
        assert!(!manifest.contains(&format!("\n{needs_c} =")), "{needs_c} cannot be in the core (wasm32)");
    }
}

/// The stages take their vocabulary from `contract`, below both them and the orchestrator, so
/// the data flows one way: only `run/` itself, `status` and the binary name `run`.
#[test]
fn no_stage_imports_the_orchestrator() {
    let root = project_root().join("pipeline");
    let allowed = |p: &Path| p.starts_with(root.join("run")) || p.ends_with("status.rs") || p.ends_with("main.rs");
    let mut found = Vec::new();
    for file in rust_files(&root).into_iter().filter(|f| !allowed(f)) {
        for (i, line) in code_of(&file).iter().enumerate() {
            if line.contains("crate::run") || line.contains("bcf::run") {
                found.push(format!("{}:{}: {}", file.display(), i + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "a stage reaches up into run/:\n{}", found.join("\n"));
}

/// Every file says what it is in its first line.
#[test]
fn every_source_file_starts_with_a_module_doc() {
    let missing: Vec<String> = product_files()
        .into_iter()
        .filter(|f| !std::fs::read_to_string(f).unwrap().starts_with("//!"))
        .map(|f| f.display().to_string())
        .collect();
    assert!(missing.is_empty(), "add a //! line saying what the file is:\n{}", missing.join("\n"));
}
