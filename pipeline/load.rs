//! Reading the schemas folder and the reference areas from disk into the validation core's
//! types (the core itself touches no files).

use crate::error::RunError;
use crate::reference::Areas;
use crate::schema::{SchemaFiles, SchemaProblem, SchemaSet, FUNDING_SOURCES_FILE, TEMPLATES_DIR};
use std::path::{Path, PathBuf};

/// The reference areas, relative to the schemas folder.
pub const AREAS_FILE: &str = "reference/areas.csv";

/// Where the schemas live when `--schemas` is not given: `BCF_SCHEMAS`, else the project's.
pub fn default_schemas_dir() -> PathBuf {
    std::env::var_os("BCF_SCHEMAS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/schemas")))
}

/// The schema files of a folder (the vocabulary and every `templates/*.toml`), and a problem
/// for each that cannot be read.
pub fn schema_files(dir: &Path) -> (SchemaFiles, Vec<SchemaProblem>) {
    let mut problems = Vec::new();
    let mut names = vec![FUNDING_SOURCES_FILE.to_string()];
    match std::fs::read_dir(dir.join(TEMPLATES_DIR)) {
        Ok(rd) => names.extend(
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".toml"))
                .map(|n| format!("{TEMPLATES_DIR}/{n}")),
        ),
        Err(e) => problems.push(SchemaProblem::file(&format!("{TEMPLATES_DIR}/"), format!("cannot list: {e}"))),
    }
    let mut files = SchemaFiles::new();
    for rel in names {
        match std::fs::read(dir.join(&rel)) {
            Ok(bytes) => {
                files.insert(rel, bytes);
            }
            Err(e) => problems.push(SchemaProblem::file(&rel, format!("cannot read: {e}"))),
        }
    }
    (files, problems)
}

/// Loads and checks every schema file in `dir`, reporting every problem in every file at once.
pub fn schemas(dir: &Path) -> Result<SchemaSet, Vec<SchemaProblem>> {
    let (files, mut problems) = schema_files(dir);
    let compiled = crate::schema::from_files(&files);
    // A file that could not be read is reported once, as unreadable, not again as missing.
    let unread: Vec<String> = problems.iter().map(|p| p.file.clone()).collect();
    problems.extend(compiled.as_ref().err().into_iter().flatten().filter(|p| !unread.contains(&p.file)).cloned());
    match compiled {
        Ok(set) if problems.is_empty() => Ok(set),
        _ => Err(problems),
    }
}

/// The reference areas in a file (`areas.csv`).
pub fn areas(path: &Path) -> Result<Areas, RunError> {
    let reference = |message: String| RunError::Reference { path: path.to_path_buf(), message };
    let bytes = std::fs::read(path).map_err(|e| reference(e.to_string()))?;
    Areas::from_csv(&bytes).map_err(reference)
}

/// The schemas in `dir` and the reference areas they ship with (`reference/areas.csv`).
pub fn all(dir: &Path) -> Result<(SchemaSet, Areas), RunError> {
    let schemas = schemas(dir).map_err(RunError::Schemas)?;
    Ok((schemas, areas(&dir.join(AREAS_FILE))?))
}
