//! Walking the input folder. Every entry becomes a file to hash or a row saying why it is not
//! one: a name that is not valid text, a folder that cannot be read, a link (never followed:
//! it can loop or leave the input), a pipe or device. Only an unreadable input root is an error.

use super::{Disposition, FileStat, InputFile};
use rayon::prelude::*;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::DirEntry;
use std::io;
use std::path::{Path, PathBuf};

/// An entry found under the input root.
pub enum Found {
    /// As the last ingest recorded it, stat and all: its hash is taken from there.
    Unchanged(InputFile),
    /// New or changed since: to be hashed.
    New { source_file: String, path: PathBuf },
    /// Not a file to read, and why (already classified).
    Other(InputFile),
}

/// A name as text, and whether it was valid text: valid UTF-8 as it is, other bytes as
/// `\xNN`, and a backslash as `\\` (in every name, so that no two names read the same: a file
/// literally named `Caf\xE9.xlsx` shows as `Caf\\xE9.xlsx`, the name with the byte E9 as
/// `Caf\xE9.xlsx`).
pub fn escape_name(name: &OsStr) -> (String, bool) {
    let bytes = name.as_encoded_bytes();
    let mut out = String::with_capacity(bytes.len());
    let mut valid = true;
    for chunk in bytes.utf8_chunks() {
        out.push_str(&chunk.valid().replace('\\', "\\\\"));
        for b in chunk.invalid() {
            valid = false;
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    (out, valid)
}

fn other(source_file: String, path: PathBuf, disposition: Disposition) -> Found {
    Found::Other(InputFile { source_file, path, bytes: 0, sha256: String::new(), disposition, stat: None })
}

/// Where a walk is: the source path prefix of its entries, and, inside a folder whose name is
/// not valid text, why its files cannot be read (each then gets a row of its own saying so).
#[derive(Clone)]
struct Place {
    prefix: String,
    badly_named: Option<String>,
}

/// The entries under `dir`, source paths starting with `prefix`; sub-folders are walked in
/// parallel. A file `known` from the last ingest is statted from its folder to see whether its
/// hash still holds.
pub fn walk(dir: &Path, prefix: &str, known: &HashMap<&str, &InputFile>) -> io::Result<Vec<Found>> {
    walk_in(dir, &Place { prefix: prefix.to_string(), badly_named: None }, known)
}

fn walk_in(dir: &Path, place: &Place, known: &HashMap<&str, &InputFile>) -> io::Result<Vec<Found>> {
    let mut found = Vec::new();
    let mut folders = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        match entry {
            Ok(entry) => classify_entry(entry, place, known, &mut found, &mut folders),
            Err(e) => found.push(unreadable_folder(dir, &place.prefix, e)),
        }
    }
    let nested: Vec<Vec<Found>> = folders
        .into_par_iter()
        .map(|(path, inner)| match walk_in(&path, &inner, known) {
            Ok(found) => found,
            Err(e) => vec![unreadable_folder(&path, &inner.prefix, e)],
        })
        .collect();
    found.extend(nested.into_iter().flatten());
    Ok(found)
}

fn classify_entry(
    entry: DirEntry,
    place: &Place,
    known: &HashMap<&str, &InputFile>,
    found: &mut Vec<Found>,
    folders: &mut Vec<(PathBuf, Place)>,
) {
    let (name, valid) = escape_name(&entry.file_name());
    let source_file = format!("{}{name}", place.prefix);
    let path = entry.path();
    let Ok(ft) = entry.file_type() else {
        let why = "the entry cannot be read; check the folder's permissions and run again";
        return found.push(other(source_file, path, Disposition::Unreadable(why.into())));
    };
    let badly_named = || {
        let what = if ft.is_dir() { "folder" } else { "file" };
        format!(
            "the {what} name {source_file} is not valid text (UTF-8), as when an archive made on Windows is unzipped: rename the {what} and run again"
        )
    };
    if ft.is_dir() {
        let badly_named = place.badly_named.clone().or_else(|| (!valid).then(badly_named));
        return folders.push((path, Place { prefix: source_file + "/", badly_named }));
    }
    let why = place.badly_named.clone().or_else(|| (!valid).then(badly_named));
    if let (Some(why), true) = (why, ft.is_file()) {
        let disposition = match super::skip_reason(&name) {
            Some(reason) => Disposition::Skipped(reason),
            None => Disposition::Unreadable(why),
        };
        return found.push(other(source_file, path, disposition));
    }
    if ft.is_file() {
        found.push(match unchanged(&entry, &source_file, &path, known) {
            Some(file) => Found::Unchanged(file),
            None => Found::New { source_file, path },
        });
    } else {
        let why = if ft.is_symlink() {
            "a symbolic link, which bcf does not follow: put the file itself in the input folder".to_string()
        } else {
            format!("not a regular file ({})", special_kind(&ft))
        };
        found.push(other(source_file, path, Disposition::Skipped(why)));
    }
}

/// The last ingest's record of a file, if its stat says the file is unchanged since.
fn unchanged(entry: &DirEntry, source_file: &str, path: &Path, known: &HashMap<&str, &InputFile>) -> Option<InputFile> {
    let then = known.get(source_file).filter(|then| then.path == path)?;
    let stat = then.stat?;
    let now = FileStat::of(&entry.metadata().ok()?)?;
    stat.still_holds(&now).then(|| InputFile { bytes: now.len, stat: Some(stat), ..(*then).clone() })
}

fn unreadable_folder(dir: &Path, prefix: &str, e: io::Error) -> Found {
    let name = prefix.trim_end_matches('/');
    let why = match e.kind() {
        io::ErrorKind::PermissionDenied => {
            "the folder cannot be read (permission denied): make it readable to the account bcf runs as, then run again"
                .to_string()
        }
        _ => format!("the folder cannot be read ({e}): check it and run again"),
    };
    other(
        if name.is_empty() { ".".into() } else { format!("{name}/") },
        dir.to_path_buf(),
        Disposition::Unreadable(why),
    )
}

#[cfg(unix)]
fn special_kind(ft: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_fifo() {
        "a named pipe"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_block_device() || ft.is_char_device() {
        "a device"
    } else {
        "not a file"
    }
}

#[cfg(not(unix))]
fn special_kind(_ft: &std::fs::FileType) -> &'static str {
    "not a file"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn names_that_are_not_text_are_shown_escaped() {
        use std::os::unix::ffi::OsStrExt;
        let (s, ok) = escape_name(OsStr::from_bytes(b"Caf\xe9 return.xlsx"));
        assert_eq!((s.as_str(), ok), ("Caf\\xE9 return.xlsx", false));
        assert_eq!(escape_name(OsStr::new("Kent £.xlsx")), ("Kent £.xlsx".to_string(), true));
        let literal = escape_name(OsStr::new("Caf\\xE9 return.xlsx"));
        assert_eq!(literal, ("Caf\\\\xE9 return.xlsx".to_string(), true), "a backslash is escaped too");
        assert_ne!(literal.0, s, "so the two names never read the same");
    }
}
