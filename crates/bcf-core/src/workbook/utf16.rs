//! Package parts saved as UTF-16 (some generators write them; Excel reads them). The XML
//! readers here and in calamine take UTF-8 only, so such parts are re-encoded before any check
//! or reader sees the package. Whether a package is one is told by its workbook part
//! (`xl/workbook.xml`) alone, so other packages cost one small inflate; then only parts that
//! begin as UTF-16 (a byte-order mark, or `<?` as UTF-16 units) are inflated — each capped at
//! the per-part limit, all of them at the total limit — and the package is rebuilt around them
//! with every other entry copied raw, so the size checks of `sniff` then run on it as on any
//! package. (A package whose workbook part is UTF-8 but a sheet UTF-16 is reported damaged.)

use super::sniff::{read_entry_capped, read_up_to, Source, ZIP_MAGIC};
use super::{Limits, OpenError};
use std::io::{Cursor, Read, Seek, Write};

/// The part probed for UTF-16.
const WORKBOOK_PART: &str = "xl/workbook.xml";

/// The package with its UTF-16 parts as UTF-8, or `None` when it has none (or is not a zip:
/// the checks say what it is).
pub fn to_utf8(src: &mut Source, limits: Limits) -> Result<Option<Source>, OpenError> {
    if !src.as_bytes().starts_with(ZIP_MAGIC) {
        return Ok(None);
    }
    // One part is probed (a package's generator writes all its parts alike): the workbook
    // part, which every reader parses. Only then is every part looked at.
    let utf16: Vec<bool> = match zip::ZipArchive::new(&mut *src) {
        Ok(mut zip) => match zip.index_for_name(WORKBOOK_PART) {
            Some(i) if begins_as_utf16(&mut zip, i) => (0..zip.len()).map(|i| begins_as_utf16(&mut zip, i)).collect(),
            _ => Vec::new(),
        },
        Err(_) => Vec::new(),
    };
    let _ = src.rewind(); // left at its start for the checks, whatever happens here
    if !utf16.contains(&true) {
        return Ok(None);
    }
    let mut zip = zip::ZipArchive::new(&mut *src)
        .map_err(|e| OpenError::unreadable_because("the workbook is damaged (its zip container cannot be read); open it in Excel, save it again as .xlsx and resubmit", e))?;
    let damaged = |e: &dyn std::fmt::Display| {
        OpenError::unreadable_because(
            "the workbook is damaged or truncated (its parts saved as UTF-16 cannot be read); open it in Excel, save it again as .xlsx and resubmit",
            e,
        )
    };
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let mut inflated: u64 = 0;
    for (i, &recode) in utf16.iter().enumerate() {
        if !recode {
            let entry = zip.by_index_raw(i).map_err(|e| damaged(&e))?;
            out.raw_copy_file(entry).map_err(|e| damaged(&e))?;
            continue;
        }
        let name = zip.name_for_index(i).and_then(|n| n.ok()).map(|n| n.to_string()).unwrap_or_default();
        let bytes = read_entry_capped(&mut zip, i, limits.max_inflated_bytes)?;
        inflated += bytes.len() as u64;
        if inflated > limits.max_total_inflated_bytes {
            return Err(OpenError::too_large(format!(
                "part '{}' of the workbook inflates beyond the limits",
                crate::model::truncate(&name)
            )));
        }
        let text = decode(&bytes).ok_or_else(|| damaged(&format!("'{name}' is not valid UTF-16")))?;
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        out.start_file(name.as_str(), options).map_err(|e| damaged(&e))?;
        out.write_all(declare_utf8(&text).as_bytes()).map_err(|e| damaged(&e))?;
    }
    let bytes = out.finish().map_err(|e| damaged(&e))?.into_inner();
    Ok(Some(Source::from_bytes(bytes)))
}

/// Whether an XML part's first bytes are UTF-16.
fn begins_as_utf16<R: Read + std::io::Seek>(zip: &mut zip::ZipArchive<R>, i: usize) -> bool {
    let Ok(mut entry) = zip.by_index_raw(i) else { return false };
    let name = entry.name().map(|n| n.to_ascii_lowercase()).unwrap_or_default();
    if !(name.ends_with(".xml") || name.ends_with(".rels") || name.ends_with(".vml")) {
        return false;
    }
    let mut head = [0u8; 4];
    let n = match entry.compression() {
        zip::CompressionMethod::Stored => read_up_to(&mut entry, &mut head).unwrap_or(0),
        zip::CompressionMethod::Deflated => {
            read_up_to(&mut flate2::read::DeflateDecoder::new(entry), &mut head).unwrap_or(0)
        }
        _ => 0,
    };
    endianness(&head[..n]).is_some()
}

/// `Some(true)` for little-endian UTF-16, `Some(false)` for big-endian, from a part's start.
fn endianness(head: &[u8]) -> Option<bool> {
    match head {
        [0xFF, 0xFE, ..] | [b'<', 0, b'?', 0, ..] => Some(true),
        [0xFE, 0xFF, ..] | [0, b'<', 0, b'?', ..] => Some(false),
        _ => None,
    }
}

/// UTF-16 bytes as text, without its byte-order mark; `None` if they are not UTF-16.
fn decode(bytes: &[u8]) -> Option<String> {
    let little = endianness(bytes)?;
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    let units = bytes.chunks_exact(2).map(|c| {
        if little {
            u16::from_le_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], c[1]])
        }
    });
    let text: String = char::decode_utf16(units).collect::<Result<_, _>>().ok()?;
    Some(text.strip_prefix('\u{feff}').map(str::to_string).unwrap_or(text))
}

/// The document with its XML declaration's encoding (if any) saying UTF-8.
fn declare_utf8(text: &str) -> String {
    let Some(decl_end) = text.strip_prefix("<?xml").and_then(|_| text.find("?>")) else { return text.to_string() };
    let decl = &text[..decl_end];
    let Some(at) = decl.find("encoding") else { return text.to_string() };
    let rest = &decl[at..];
    let Some(open) = rest.find(['"', '\'']) else { return text.to_string() };
    let q = rest.as_bytes()[open] as char;
    let Some(close) = rest[open + 1..].find(q) else { return text.to_string() };
    let (start, end) = (at + open + 1, at + open + 1 + close);
    format!("{}UTF-8{}", &text[..start], &text[end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_is_recognised_decoded_and_declared_utf8() {
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-16\"?><a>£ Môn</a>";
        let le: Vec<u8> = [0xFF, 0xFE].into_iter().chain(xml.encode_utf16().flat_map(u16::to_le_bytes)).collect();
        let be: Vec<u8> = xml.encode_utf16().flat_map(u16::to_be_bytes).collect();
        for bytes in [le, be] {
            let text = decode(&bytes).unwrap();
            assert_eq!(text, xml);
            assert_eq!(declare_utf8(&text), "<?xml version=\"1.0\" encoding=\"UTF-8\"?><a>£ Môn</a>");
        }
        assert_eq!(endianness(b"<?xml"), None);
        assert_eq!(decode(&[0xFF, 0xFE, 0x00]), None, "odd length");
        assert_eq!(declare_utf8("<a/>"), "<a/>");
    }
}
