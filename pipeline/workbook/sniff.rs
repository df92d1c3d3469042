//! Deciding what a file is from its bytes, and refusing what no reader should be handed.

use super::{Limits, OpenError};
use std::fs::File;
use std::io::{Read, Seek};
use std::path::Path;

/// Workbook container formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xlsx,
    Xlsb,
    Xls,
    Ods,
}

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const CFB_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// A rough guess at what a non-workbook file is, for the message.
fn describe_other(head: &[u8]) -> &'static str {
    let text = String::from_utf8_lossy(head).to_lowercase();
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if t.starts_with("<!doctype html") || t.starts_with("<html") || t.contains("<table") {
        "an HTML page saved with a spreadsheet extension"
    } else if t.starts_with("<?xml") {
        "an XML file (perhaps 'XML Spreadsheet 2003'), not a workbook"
    } else if t.starts_with("%pdf") {
        "a PDF document, not a spreadsheet"
    } else if head
        .iter()
        .all(|b| b.is_ascii() && (*b >= 0x20 || b"\r\n\t".contains(b)))
    {
        "a text file (perhaps CSV) saved with a spreadsheet extension"
    } else {
        "not a spreadsheet (unrecognised content)"
    }
}

/// Identifies a file by its first bytes alone.
pub fn sniff(head: &[u8]) -> Result<Format, OpenError> {
    if head.is_empty() {
        return Err(OpenError::Unreadable("the file is empty (0 bytes)".into()));
    }
    if head.starts_with(ZIP_MAGIC) {
        return Ok(Format::Xlsx); // refined from the zip's entries by `check`
    }
    if head.starts_with(CFB_MAGIC) {
        return Ok(Format::Xls); // refined from the CFB's streams by `check`
    }
    Err(OpenError::Unreadable(describe_other(head).to_string()))
}

/// Checks a file before any reader sees it: what container it is, whether it is encrypted,
/// and that no zip entry inflates beyond the limit (by inflating, not trusting headers).
pub fn check(path: &Path, limits: Limits) -> Result<Format, OpenError> {
    let mut file = File::open(path)
        .map_err(|e| OpenError::Unreadable(format!("cannot open the file: {e}")))?;
    let mut head = [0u8; 512];
    let n = read_up_to(&mut file, &mut head)
        .map_err(|e| OpenError::Unreadable(format!("cannot read the file: {e}")))?;
    match sniff(&head[..n])? {
        Format::Xls => check_cfb(file),
        _ => check_zip(file, limits),
    }
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn check_cfb(mut file: File) -> Result<Format, OpenError> {
    file.rewind()
        .map_err(|e| OpenError::Unreadable(e.to_string()))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|e| OpenError::Unreadable(e.to_string()))?;
    // Stream names in a CFB directory are UTF-16LE.
    let has = |name: &str| {
        let pat: Vec<u8> = name.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        bytes.windows(pat.len()).any(|w| w == pat.as_slice())
    };
    if has("EncryptedPackage") || has("EncryptionInfo") {
        return Err(OpenError::Unreadable(
            "the workbook is password-protected (encrypted); save it without a password and resubmit".into(),
        ));
    }
    if !has("Workbook") && !has("Book") {
        return Err(OpenError::Unreadable(
            "an OLE compound file that holds no workbook (perhaps a Word document)".into(),
        ));
    }
    if xls_has_filepass(&bytes) {
        return Err(OpenError::Unreadable(
            "the workbook is password-protected (FILEPASS); save it without a password and resubmit".into(),
        ));
    }
    Ok(Format::Xls)
}

/// BIFF8 FILEPASS (record 0x002F) sits in the workbook globals just after BOF (0x0809).
/// Searching for a BOF record followed closely by FILEPASS is a cheap, reliable test.
fn xls_has_filepass(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i + 4 <= bytes.len() {
        if bytes[i] == 0x09 && bytes[i + 1] == 0x08 {
            let len = u16::from_le_bytes([bytes[i + 2], bytes[i + 3]]) as usize;
            // Walk a few records after the BOF.
            let mut j = i + 4 + len;
            for _ in 0..8 {
                if j + 4 > bytes.len() {
                    break;
                }
                let id = u16::from_le_bytes([bytes[j], bytes[j + 1]]);
                let l = u16::from_le_bytes([bytes[j + 2], bytes[j + 3]]) as usize;
                if id == 0x002F {
                    return true;
                }
                j += 4 + l;
            }
        }
        i += 1;
        if i > 64 * 1024 {
            break; // the globals' BOF is near the start of the Workbook stream
        }
    }
    false
}

fn check_zip(file: File, limits: Limits) -> Result<Format, OpenError> {
    let mut zip = zip::ZipArchive::new(file).map_err(|e| {
        OpenError::Unreadable(format!(
            "not a readable workbook: the zip container is damaged or truncated ({e})"
        ))
    })?;
    let names: Vec<String> = zip
        .file_names()
        .filter_map(|n| n.ok())
        .map(|n| n.to_string())
        .collect();
    let format = if names.iter().any(|n| n == "xl/workbook.xml") {
        Format::Xlsx
    } else if names.iter().any(|n| n == "xl/workbook.bin") {
        Format::Xlsb
    } else if names.iter().any(|n| n == "content.xml") {
        Format::Ods
    } else if names.iter().any(|n| n == "word/document.xml") {
        return Err(OpenError::Unreadable(
            "a Word document, not a spreadsheet".into(),
        ));
    } else {
        return Err(OpenError::Unreadable(
            "a zip file that holds no workbook".into(),
        ));
    };
    // Inflate every entry with a cap: headers can lie about sizes.
    let cap = limits.max_inflated_bytes;
    let mut buf = vec![0u8; 64 * 1024];
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| {
            OpenError::Unreadable(format!(
                "not a readable workbook: a zip entry is damaged ({e})"
            ))
        })?;
        if entry.encrypted() {
            return Err(OpenError::Unreadable(
                "the workbook is password-protected (encrypted zip entries)".into(),
            ));
        }
        let name = entry.name().map(|n| n.to_string()).unwrap_or_default();
        let mut total: u64 = 0;
        loop {
            let n = entry.read(&mut buf).map_err(|e| {
                OpenError::Unreadable(format!(
                    "not a readable workbook: '{name}' is damaged or truncated ({e})"
                ))
            })?;
            if n == 0 {
                break;
            }
            total += n as u64;
            if total > cap {
                return Err(OpenError::TooLarge(format!(
                    "part '{name}' of the workbook inflates beyond the {} MiB limit",
                    cap / (1024 * 1024)
                )));
            }
        }
    }
    Ok(format)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_content() {
        assert!(matches!(sniff(b""), Err(OpenError::Unreadable(m)) if m.contains("empty")));
        assert!(
            matches!(sniff(b"<html><body>"), Err(OpenError::Unreadable(m)) if m.contains("HTML"))
        );
        assert!(
            matches!(sniff(b"a,b,c\n1,2,3\n"), Err(OpenError::Unreadable(m)) if m.contains("CSV"))
        );
        assert_eq!(sniff(b"PK\x03\x04rest"), Ok(Format::Xlsx));
        assert_eq!(sniff(CFB_MAGIC), Ok(Format::Xls));
    }
}
