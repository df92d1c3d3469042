//! An area checks its return before sending it: `bcf check` (this module, and `text` for what it
//! prints) and the self-check page (`page`). Both run the validation core on one file at a time
//! and give it the findings the national run would give it: every per-file rule, and the
//! minimum contributions against the published allocations given.

pub mod page;
mod text;

pub use text::human;

use crate::check::FileCheck;
use crate::model::Severity;
use crate::validate::stage::parse_bytes;
use crate::validate::{AllocationTable, Allocations, Context, ParseMode};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// What checking a file needs: the schemas, areas and limits, where `.xls` are read, and the
/// published allocations that minimum contributions are checked against.
pub struct Checker<'a> {
    pub ctx: Context<'a>,
    pub mode: ParseMode,
    pub allocations: AllocationTable,
}

/// A path named to `bcf check` that is not a file that can be checked.
#[derive(Debug, thiserror::Error)]
pub enum NotAFile {
    #[error("{0}: no such file")]
    Missing(String),
    #[error("{0} is a folder: name the workbook files in it (e.g. {0}/*.xlsx)")]
    Folder(String),
    #[error("{path} cannot be read: {cause}")]
    Unreadable { path: String, cause: io::Error },
}

impl Checker<'_> {
    /// Checks the file at `path` as the national run would check it on its own.
    pub fn check_file(&self, path: &Path) -> Result<FileCheck, NotAFile> {
        let name = path.to_string_lossy().into_owned();
        let unreadable = |cause: io::Error| match cause.kind() {
            io::ErrorKind::NotFound => NotAFile::Missing(name.clone()),
            _ => NotAFile::Unreadable { path: name.clone(), cause },
        };
        let meta = std::fs::metadata(path).map_err(unreadable)?;
        if meta.is_dir() {
            return Err(NotAFile::Folder(name));
        }
        let schemas = self.ctx.schemas;
        if let Some(done) = FileCheck::before_reading(&name, meta.len(), &self.ctx.limits, schemas) {
            return Ok(done);
        }
        let max = self.ctx.limits.max_inflated_bytes;
        let mut bytes = Vec::new();
        std::fs::File::open(path).and_then(|f| f.take(max + 1).read_to_end(&mut bytes)).map_err(unreadable)?;
        if let Some(done) = FileCheck::before_reading(&name, bytes.len() as u64, &self.ctx.limits, schemas) {
            return Ok(done); // it grew while being read
        }
        let parsed = parse_bytes(bytes, &self.ctx, &self.mode).unwrap_or_else(crate::validate::ParsedFile::failed);
        Ok(FileCheck::of(&name, parsed, &self.allocations, schemas))
    }
}

/// An `--allocations` that cannot be used, and why.
#[derive(Debug, thiserror::Error)]
pub enum AllocationsError {
    #[error("--allocations {path}: {why}")]
    Unusable { path: String, why: String },
}

/// The allocations in `paths`, each an allocations workbook or a folder of them (the workbooks
/// directly in it, in name order), read as the national run reads them: the first that covers
/// a year supplies it.
pub fn load_allocations(
    paths: &[PathBuf],
    ctx: &Context<'_>,
    mode: &ParseMode,
) -> Result<AllocationTable, AllocationsError> {
    let mut workbooks: Vec<(String, Allocations)> = Vec::new();
    for path in paths {
        for file in allocation_files(path)? {
            workbooks.push(read_allocations(&file, ctx, mode)?);
        }
    }
    Ok(AllocationTable::from_workbooks(workbooks.iter().map(|(name, a)| (name.as_str(), a))))
}

/// The workbook files an `--allocations` path names.
fn allocation_files(path: &Path) -> Result<Vec<PathBuf>, AllocationsError> {
    let unusable = |why: String| AllocationsError::Unusable { path: path.display().to_string(), why };
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| unusable(format!("the folder cannot be read ({e})")))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.is_file() && crate::workbook::skip_reason(&p.file_name().unwrap_or_default().to_string_lossy()).is_none()
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(unusable("the folder holds no workbooks".into()));
    }
    Ok(files)
}

/// One allocations workbook: its file name and what it holds, or why it cannot be used.
fn read_allocations(
    path: &Path,
    ctx: &Context<'_>,
    mode: &ParseMode,
) -> Result<(String, Allocations), AllocationsError> {
    let unusable = |why: String| AllocationsError::Unusable { path: path.display().to_string(), why };
    let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
    let bytes = std::fs::read(path).map_err(|e| unusable(format!("cannot be read ({e})")))?;
    let parsed = parse_bytes(bytes, ctx, mode).unwrap_or_else(crate::validate::ParsedFile::failed);
    let first_error = parsed.findings.iter().find(|f| f.severity() == Severity::Error).map(|f| f.message.clone());
    match (parsed.allocations, first_error) {
        (Some(_), Some(error)) => Err(unusable(format!("the allocations workbook cannot be used: {error}"))),
        (Some(a), None) => Ok((name, a)),
        (None, _) => Err(unusable(match parsed.template_id {
            Some(t) => format!("this is a {t} return, not an allocations workbook"),
            None => {
                "not an allocations workbook (its title and sheet are not those of the published allocations)".into()
            }
        })),
    }
}
