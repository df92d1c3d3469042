//! Which folders bcf may write: it refuses an output folder that is, or lies inside, the input
//! (it would read its own outputs, or lose what it read), an input inside the output, and a
//! non-empty output folder it has never written to; and it never writes through a link in the
//! output folder to somewhere else.

use crate::error::RunError;
use std::path::{Component, Path, PathBuf};

/// Whether `path` is a folder and not a link to one.
pub fn is_real_dir(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_dir())
}

/// Creates `dir` if missing; refuses it if it is a link or not a folder.
pub fn real_dir_or_create(dir: &Path) -> Result<(), RunError> {
    match std::fs::symlink_metadata(dir) {
        Ok(m) if m.file_type().is_dir() => Ok(()),
        Ok(m) if m.file_type().is_symlink() => Err(RunError::Refused(format!(
            "{} is a link; bcf writes only inside the output folder and does not follow links out of it: remove the link",
            dir.display()
        ))),
        Ok(_) => Err(RunError::Refused(format!("{} is not a folder; move it away and run again", dir.display()))),
        Err(_) => match std::fs::create_dir(dir) {
            // Another command made it meanwhile: look again.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && is_real_dir(dir) => Ok(()),
            made => made.map_err(RunError::io("create", dir)),
        },
    }
}

/// Whether every folder on the way from `root` to `rel` is a real folder (no links).
pub fn parents_are_real_dirs(root: &Path, rel: &str) -> bool {
    let mut at = root.to_path_buf();
    let parts: Vec<&str> = rel.split('/').collect();
    for part in &parts[..parts.len().saturating_sub(1)] {
        at.push(part);
        if !is_real_dir(&at) {
            return false;
        }
    }
    true
}

/// `path` made absolute and free of `.`, `..` and links, as far as it exists.
fn resolved(path: &Path) -> PathBuf {
    let absolute =
        if path.is_absolute() { path.to_path_buf() } else { std::env::current_dir().unwrap_or_default().join(path) };
    let mut existing = absolute.clone();
    let mut rest = Vec::new();
    loop {
        if let Ok(c) = existing.canonicalize() {
            return rest.iter().rev().fold(c, |p, part: &std::ffi::OsString| p.join(part));
        }
        match (existing.file_name().map(|n| n.to_os_string()), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = parent.to_path_buf();
            }
            _ => return lexically_clean(&absolute),
        }
    }
}

fn lexically_clean(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Refuses folder combinations that would let a run read or overwrite its own files.
pub fn check_input_and_output(input: &Path, out: &Path) -> Result<(), RunError> {
    let (i, o) = (resolved(input), resolved(out));
    let refuse = |why: &str| {
        Err(RunError::Refused(format!(
            "--out {} {why} --input {}: bcf would read its own outputs; choose an output folder outside the input",
            out.display(),
            input.display()
        )))
    };
    if o == i {
        return refuse("is the same folder as");
    }
    if o.starts_with(&i) {
        return refuse("lies inside");
    }
    if i.starts_with(&o) {
        return Err(RunError::Refused(format!(
            "--input {} lies inside --out {}: choose an input folder outside the output",
            input.display(),
            out.display()
        )));
    }
    Ok(())
}

/// Refuses a non-empty output folder bcf has never written to (unless `force`), and an
/// output path that is not a folder.
pub fn check_output(out: &Path, force: bool) -> Result<(), RunError> {
    match std::fs::metadata(out) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(RunError::io("read", out)(e)),
        Ok(m) if !m.is_dir() => return Err(RunError::Refused(format!("--out {} is not a folder", out.display()))),
        Ok(_) => {}
    }
    if out.join(".bcf").exists() || force {
        return Ok(());
    }
    // `.bcf` may appear between the check above and this listing: another bcf starting on the
    // same folder, which the lock then deals with.
    let first = std::fs::read_dir(out).map_err(RunError::io("read", out))?.flatten().find(|e| e.file_name() != ".bcf");
    match first {
        None => Ok(()),
        Some(e) => Err(RunError::Refused(format!(
            "--out {} is not empty and bcf has not written to it (it holds {:?}, for one); choose an empty or new folder, or pass --force to write beside what is there (bcf never removes files it did not write)",
            out.display(),
            e.file_name()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_output_in_or_around_the_input_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("returns");
        std::fs::create_dir(&input).unwrap();
        assert!(check_input_and_output(&input, &input).is_err());
        assert!(check_input_and_output(&input, &input.join("out")).is_err(), "out inside input");
        assert!(check_input_and_output(&input, &input.join("a/../out")).is_err(), "spelt with ..");
        assert!(check_input_and_output(&input, dir.path()).is_err(), "input inside out");
        assert!(check_input_and_output(&input, &dir.path().join("out")).is_ok());
        #[cfg(unix)]
        {
            let link = dir.path().join("link");
            std::os::unix::fs::symlink(&input, &link).unwrap();
            assert!(check_input_and_output(&input, &link.join("out")).is_err(), "through a link");
        }
    }

    #[test]
    fn a_folder_of_someone_elses_files_is_refused_unless_forced() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check_output(&dir.path().join("new"), false).is_ok());
        assert!(check_output(dir.path(), false).is_ok(), "empty");
        std::fs::write(dir.path().join("Letter to Kent.docx"), b"x").unwrap();
        let err = check_output(dir.path(), false).unwrap_err().to_string();
        assert!(err.contains("Letter to Kent.docx") && err.contains("--force"), "{err}");
        assert!(check_output(dir.path(), true).is_ok());
        std::fs::create_dir(dir.path().join(".bcf")).unwrap();
        assert!(check_output(dir.path(), false).is_ok(), "bcf's own folder");
        assert!(check_output(&dir.path().join("Letter to Kent.docx"), true).is_err(), "a file");
    }
}
