//! Compiles the schemas folder into the page's validator: every file the pipeline would load
//! (`funding_sources.toml`, `templates/*.toml`, `reference/areas.csv`), from `BCF_SCHEMAS` or
//! the project's `schemas/`.

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=BCF_SCHEMAS");
    let dir = std::env::var_os("BCF_SCHEMAS").map(PathBuf::from).unwrap_or_else(|| {
        Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it")).join("../../schemas")
    });
    let dir = dir.canonicalize().unwrap_or_else(|e| panic!("the schemas folder {}: {e}", dir.display()));
    println!("cargo:rerun-if-changed={}", dir.display());
    println!("cargo:rerun-if-changed={}", dir.join("templates").display());
    let mut files = vec!["funding_sources.toml".to_string()];
    let mut templates: Vec<String> = std::fs::read_dir(dir.join("templates"))
        .expect("the schemas folder has templates/")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .map(|n| format!("templates/{n}"))
        .collect();
    templates.sort();
    files.extend(templates);
    let mut out = String::from("/// The schema files, by path relative to the schemas folder.\npub const SCHEMA_FILES: &[(&str, &[u8])] = &[\n");
    for rel in &files {
        let path = dir.join(rel);
        println!("cargo:rerun-if-changed={}", path.display());
        out.push_str(&format!("    ({rel:?}, include_bytes!({:?})),\n", path.display().to_string()));
    }
    out.push_str("];\n");
    let areas = dir.join("reference/areas.csv");
    println!("cargo:rerun-if-changed={}", areas.display());
    out.push_str(&format!(
        "/// The reference areas.\npub const AREAS_CSV: &[u8] = include_bytes!({:?});\n",
        areas.display().to_string()
    ));
    let target = Path::new(&std::env::var("OUT_DIR").expect("cargo sets it")).join("schemas.rs");
    std::fs::write(target, out).expect("OUT_DIR is writable");
}
