//! Outputs read back by real BI clients: pyarrow and DuckDB (installed by `.ci/run`).

use crate::support::{fixtures, project_root, published, run_on};
use std::process::Command;

#[test]
fn pyarrow_and_duckdb_read_types_and_hive_partitions() {
    let (out, _) = run_on(&fixtures().join("samples"));
    let python = std::env::var("BCF_PYTHON").unwrap_or_else(|_| "python3".into());
    let result = Command::new(&python)
        .arg(project_root().join("tests/clients/check_outputs.py"))
        .arg(published(out.path()))
        .arg(fixtures().join("expected"))
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {python}: {e} (set BCF_PYTHON; `make venv` installs pyarrow and duckdb)")
        });
    assert!(
        result.status.success(),
        "client check failed:\n{}\n{}",
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
    assert!(String::from_utf8_lossy(&result.stdout).contains("clients OK"));
}
