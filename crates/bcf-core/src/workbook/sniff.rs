//! Deciding what a file is from its bytes, and refusing what no reader should be handed.
//!
//! # The size check on zip workbooks (xlsx, xlsm, xlsb, ods)
//!
//! Catalogue §1: a workbook any part of which inflates beyond `max_inflated_bytes` is
//! `file-too-large`, decided by inflating and not by trusting the sizes a zip header claims.
//! Inflating every entry of every workbook would cost a full decompression of each file
//! before it is read. Instead, for each entry of the central directory:
//!
//! 1. If its declared size is beyond the limit, it is refused on its own word (a header may
//!    understate a size, but never needs to overstate one).
//! 2. If it is stored, or deflated with `compressed × 1032 ≤ limit`, it is accepted without
//!    inflating: 1032:1 is deflate's maximum expansion (a 258-byte match per two bits), so such
//!    an entry *cannot* inflate beyond the limit, whatever its header says. Real returns'
//!    parts are all far below this (256 MiB / 1032 ≈ 254 KiB compressed), so in practice
//!    nothing is inflated twice.
//! 3. Otherwise it is inflated with a cap, straight from its compressed bytes (so the
//!    header's size plays no part), counting bytes without keeping them.
//!
//! Every entry is checked, not only the parts calamine reads: which parts those are depends on
//! relationship files inside the workbook (a hostile package can point a sheet at any entry),
//! and step 2 makes checking an unread entry free. Reading is safe as well as the check: the
//! zip crate (9.x) stops any entry at its declared size (`File is larger than its declared
//! uncompressed size`), so an entry that lies within the limit fails as damaged when read.
//! The test `hostile::zip_reader_stops_at_declared_size` pins that behaviour.
//!
//! Parts that calamine holds whole in memory while a workbook is open (shared strings,
//! styles, the workbook part, relationships, the theme) get the smaller limit
//! `max_resident_part_bytes`: their in-memory form is several times their XML size (a
//! `<xf/>` of 5 bytes becomes a style of hundreds), so this limit is what bounds memory.
//! Worksheets are streamed cell by cell and only need the time bound the full limit gives.
//! Finally, the bytes inflated by the check are capped in total (`max_total_inflated_bytes`),
//! so a file of many large entries cannot keep a worker busy for minutes.

use super::{cfb::Cfb, Limits, OpenError};
use std::collections::HashSet;
use std::io::{Cursor, Read, Seek, SeekFrom};

/// A workbook's bytes, for the check and then the reader: a file is read once, whole (its
/// size is bounded by `Limits::max_inflated_bytes` before it is read).
pub struct Source(Cursor<Vec<u8>>);

impl Source {
    /// The bytes of a file already read whole.
    pub fn from_bytes(bytes: Vec<u8>) -> Source {
        Source(Cursor::new(bytes))
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.0.into_inner()
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.0.get_ref()
    }
}

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

impl Seek for Source {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.0.seek(pos)
    }
}

/// Workbook container formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xlsx,
    Xlsb,
    Xls,
    Ods,
}

pub(super) const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
pub(super) const CFB_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
/// Deflate's maximum expansion ratio.
pub const MAX_DEFLATE_RATIO: u64 = 1032;

/// The Excel version of a workbook saved by Excel 2.x–4.0 (BIFF2–4): no compound file, just
/// records, the first a BOF whose type says the version.
fn old_excel(head: &[u8]) -> Option<&'static str> {
    match head {
        [0x09, 0x00, 4..=8, 0x00, ..] => Some("2.x"),
        [0x09, 0x02, 6..=8, 0x00, ..] => Some("3.0"),
        [0x09, 0x04, 6..=8, 0x00, ..] => Some("4.0"),
        _ => None,
    }
}

/// A rough guess at what a non-workbook file is, for the message.
fn describe_other(head: &[u8]) -> &'static str {
    let text = String::from_utf8_lossy(head).to_lowercase();
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if t.starts_with("<!doctype html") || t.starts_with("<html") || t.contains("<table") {
        "an HTML page saved with a spreadsheet extension, not a workbook"
    } else if t.starts_with("<?xml") {
        "an XML file (perhaps 'XML Spreadsheet 2003'), not a workbook"
    } else if t.starts_with("%pdf") {
        "a PDF document, not a spreadsheet"
    } else if head.starts_with(b"PK\x05\x06") || head.starts_with(b"PK\x07\x08") {
        "an empty or damaged zip file, not a workbook"
    } else if head.iter().all(|b| b.is_ascii() && (*b >= 0x20 || b"\r\n\t".contains(b))) {
        "a text file (perhaps CSV) saved with a spreadsheet extension, not a workbook"
    } else {
        "not a spreadsheet (unrecognised content)"
    }
}

/// A compound file (`.xls`) whose structure cannot be read.
pub const XLS_DAMAGED: &str = "the .xls workbook is damaged or truncated (its structure cannot be read); open it in Excel, save it again as .xlsx and resubmit";

/// What to do about a file that is not a workbook at all.
const NOT_A_WORKBOOK: &str =
    "; send the return as an Excel workbook (.xlsx), made from the template issued for the year";

/// Identifies a file by its first bytes alone.
pub fn sniff(head: &[u8]) -> Result<Format, OpenError> {
    if head.is_empty() {
        return Err(OpenError::unreadable(
            "the file is empty (0 bytes): it was not copied or uploaded whole; send the return again",
        ));
    }
    if head.starts_with(ZIP_MAGIC) {
        return Ok(Format::Xlsx); // refined from the zip's entries by `check`
    }
    if head.starts_with(CFB_MAGIC) {
        return Ok(Format::Xls); // refined from the CFB's streams by `check`
    }
    if let Some(version) = old_excel(head) {
        return Err(OpenError::unreadable(format!(
            "an Excel {version} workbook, a format too old for bcf to read; open it in Excel, save it as an Excel workbook (.xlsx) and resubmit"
        )));
    }
    if CFB_MAGIC.starts_with(head) || ZIP_MAGIC.starts_with(head) {
        return Err(OpenError::unreadable(
            "the file is truncated (only the first bytes of a workbook): it was not copied or uploaded whole; send the return again",
        ));
    }
    Err(OpenError::unreadable(format!("{}{NOT_A_WORKBOOK}", describe_other(head))))
}

/// A workbook file larger than the size limit.
pub(crate) fn too_large_file(limits: &Limits) -> OpenError {
    OpenError::too_large(format!(
        "the file is larger than the {} MiB limit for a workbook",
        limits.max_inflated_bytes >> 20
    ))
}

/// Checks a file before any reader sees it: what container it is, whether it is encrypted,
/// and that no part inflates beyond the limits (see the module docs). The source is left at
/// its start for the reader.
pub fn check_source(src: &mut Source, limits: Limits) -> Result<Format, OpenError> {
    let cannot_read = |e: std::io::Error| {
        OpenError::unreadable_because(
            "the file cannot be read (it may be being saved or replaced); run again once it is saved",
            e,
        )
    };
    let mut head = [0u8; 512];
    let n = read_up_to(src, &mut head).map_err(cannot_read)?;
    src.rewind().map_err(cannot_read)?;
    let format = match sniff(&head[..n])? {
        Format::Xls => check_cfb(src, limits)?,
        _ => check_zip(src, limits)?,
    };
    src.rewind().map_err(cannot_read)?;
    Ok(format)
}

pub(super) fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn check_cfb(src: &mut Source, limits: Limits) -> Result<Format, OpenError> {
    let len = src.seek(SeekFrom::End(0)).map_err(|e| OpenError::unreadable(e.to_string()))?;
    // An .xls is not compressed: the file is its parts. calamine reads the workbook stream
    // whole, so the file may not exceed the per-part limit.
    if len > limits.max_inflated_bytes {
        return Err(too_large_file(&limits));
    }
    src.rewind().map_err(|e| OpenError::unreadable(e.to_string()))?;
    let mut bytes = Vec::with_capacity(len as usize);
    src.take(limits.max_inflated_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| OpenError::unreadable(e.to_string()))?;
    let cfb = Cfb::parse(&bytes).map_err(|e| OpenError::unreadable_because(XLS_DAMAGED, e))?;
    if cfb.has("EncryptedPackage") || cfb.has("EncryptionInfo") {
        return Err(OpenError::unreadable(
            "the workbook is password-protected (encrypted with a password to open it); in Excel choose File > Info > Protect Workbook > Encrypt with Password, delete the password, save it as .xlsx and resubmit",
        ));
    }
    let stream = match cfb.stream("Workbook").or_else(|| cfb.stream("Book")) {
        Some(Ok(s)) => s,
        Some(Err(e)) => return Err(OpenError::unreadable_because(XLS_DAMAGED, e)),
        None if cfb.has("WordDocument") => {
            return Err(OpenError::unreadable(format!("a Word document, not a spreadsheet{NOT_A_WORKBOOK}")))
        }
        None => {
            return Err(OpenError::unreadable(format!("an OLE compound file that holds no workbook{NOT_A_WORKBOOK}")))
        }
    };
    drop(bytes);
    super::biff::check(&stream, limits)?;
    Ok(Format::Xls)
}

/// Lower-cased, `/`-separated, without a leading `/`: how calamine compares part names.
fn norm_name(name: &str) -> String {
    name.replace('\\', "/").trim_start_matches('/').to_ascii_lowercase()
}

fn damaged(what: &str, e: impl std::fmt::Display) -> OpenError {
    OpenError::unreadable_because(
        format!("the workbook is damaged or truncated ({what} cannot be read); open it in Excel, save it again as .xlsx and resubmit"),
        e,
    )
}

/// Reads one small entry whole, refusing it beyond `cap` bytes.
pub(super) fn read_entry_capped<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    index: usize,
    cap: u64,
) -> Result<Vec<u8>, OpenError> {
    let entry = zip.by_index(index).map_err(|e| damaged("a zip entry", e))?;
    let name = entry.name().map(|n| n.to_string()).unwrap_or_default();
    let mut out = Vec::new();
    entry.take(cap + 1).read_to_end(&mut out).map_err(|e| damaged(&format!("'{name}'"), e))?;
    if out.len() as u64 > cap {
        return Err(OpenError::too_large(format!(
            "part '{name}' of the workbook inflates beyond the {} MiB limit",
            cap >> 20
        )));
    }
    Ok(out)
}

/// The attributes (by local name, unescaped) of every element with local name `elem` in a
/// small XML document.
fn xml_attrs(xml: &[u8], elem: &str) -> Result<Vec<Vec<(String, String)>>, String> {
    use quick_xml::events::Event;
    let mut r = quick_xml::Reader::from_reader(xml);
    r.config_mut().check_end_names = false;
    let mut buf = Vec::new();
    let mut out = Vec::new();
    loop {
        match r.read_event_into(&mut buf).map_err(|e| e.to_string())? {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == elem => {
                let mut attrs = Vec::new();
                for a in e.attributes().flatten() {
                    let key = a.key.local_name().as_ref().to_string();
                    let val = a
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map(|v| v.into_owned())
                        .unwrap_or_default();
                    attrs.push((key, val));
                }
                out.push(attrs);
            }
            Event::Eof => break,
            _ => (),
        }
        buf.clear();
    }
    Ok(out)
}

fn attr<'a>(attrs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// The cap on a part read whole before the size check has run.
fn small_part(limits: Limits) -> u64 {
    limits.max_resident_part_bytes.min(limits.max_inflated_bytes)
}

fn check_zip(src: &mut Source, limits: Limits) -> Result<Format, OpenError> {
    let mut zip = zip::ZipArchive::new(src).map_err(|e| damaged("its zip container", e))?;
    let names: Vec<String> = (0..zip.len())
        .map(|i| zip.name_for_index(i).and_then(|n| n.ok()).map(|n| norm_name(&n)).unwrap_or_default())
        .collect();
    let index_of = |n: &str| names.iter().position(|x| x == n);
    let format = if index_of("xl/workbook.xml").is_some() {
        Format::Xlsx
    } else if index_of("xl/workbook.bin").is_some() {
        Format::Xlsb
    } else if index_of("content.xml").is_some() {
        Format::Ods
    } else if let Some(main) = office_document(&mut zip, &names, small_part(limits))?.filter(|m| index_of(m).is_some())
    {
        // The workbook where `_rels/.rels` says it is, not at xl/workbook.xml.
        if main.ends_with(".bin") {
            Format::Xlsb
        } else {
            Format::Xlsx
        }
    } else if index_of("word/document.xml").is_some() {
        return Err(OpenError::unreadable(format!("a Word document, not a spreadsheet{NOT_A_WORKBOOK}")));
    } else if index_of("ppt/presentation.xml").is_some() {
        return Err(OpenError::unreadable(format!("a PowerPoint presentation, not a spreadsheet{NOT_A_WORKBOOK}")));
    } else {
        return Err(OpenError::unreadable(format!("a zip file that holds no workbook{NOT_A_WORKBOOK}")));
    };
    let small = small_part(limits);
    // An entry that passes the smaller cap on its sizes alone passes either cap, whatever its
    // name: only others need to know which parts are resident (which costs reading `.rels`).
    let passes_small = |i: usize| {
        zip.by_index_raw(i).is_ok_and(|e| {
            e.size() <= small
                && !e.encrypted()
                && match e.compression() {
                    zip::CompressionMethod::Deflated => e.compressed_size().saturating_mul(MAX_DEFLATE_RATIO) <= small,
                    _ => true,
                }
        })
    };
    let all_small = (0..names.len()).all(passes_small);
    let resident = if all_small { HashSet::new() } else { resident_parts(&mut zip, &names, format, small)? };
    let mut inflated_total: u64 = 0;
    for (i, name) in names.iter().enumerate() {
        let name = name.clone();
        let cap = if resident.contains(&name) || name.ends_with(".rels") { small } else { limits.max_inflated_bytes };
        let too_large = |cap: u64| {
            OpenError::too_large(format!(
                "part '{name}' of the workbook inflates beyond the {} MiB limit{}",
                cap >> 20,
                if cap < limits.max_inflated_bytes { " for parts read whole into memory" } else { "" }
            ))
        };
        let (declared, compressed, method, encrypted) = {
            let e = zip.by_index_raw(i).map_err(|e| damaged(&format!("'{name}'"), e))?;
            (e.size(), e.compressed_size(), e.compression(), e.encrypted())
        };
        if encrypted {
            return Err(OpenError::unreadable(
                "the workbook is password-protected (encrypted zip entries); open it with its password, save it as .xlsx without one (in Excel: File > Info > Protect Workbook > Encrypt with Password, delete it) and resubmit",
            ));
        }
        if declared > cap {
            return Err(too_large(cap));
        }
        match method {
            zip::CompressionMethod::Stored => continue, // read at most min(compressed, declared)
            zip::CompressionMethod::Deflated => {
                if compressed.saturating_mul(MAX_DEFLATE_RATIO) <= cap {
                    continue; // cannot inflate beyond the cap, whatever the header says
                }
            }
            // Other methods are not readable here: calamine fails on them if it touches one.
            _ => continue,
        }
        let inflated = inflate_counting(&mut zip, i, cap, &name)?;
        if inflated > cap {
            return Err(too_large(cap));
        }
        inflated_total += inflated;
        if inflated_total > limits.max_total_inflated_bytes {
            return Err(OpenError::too_large(format!(
                "the workbook's parts inflate beyond {} MiB in total",
                limits.max_total_inflated_bytes >> 20
            )));
        }
    }

    match format {
        Format::Ods => check_ods_manifest(&mut zip, &names, small)?,
        Format::Xlsx => {
            check_shared_strings_count(&mut zip, &names)?;
            check_macro_sheets(&mut zip, &names, format, small)?;
        }
        Format::Xlsb => check_macro_sheets(&mut zip, &names, format, small)?,
        _ => (),
    }
    Ok(format)
}

/// calamine does not read Excel 4 macro sheets and names one by its part (`macrosheets/…`),
/// which the sender never sees, or (in an `.xlsb`) calls the workbook damaged: refuse it here by
/// the tab's name.
fn check_macro_sheets<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    names: &[String],
    format: Format,
    small: u64,
) -> Result<(), OpenError> {
    let default = if format == Format::Xlsb { "xl/workbook.bin" } else { "xl/workbook.xml" };
    let workbook = office_document(zip, names, small)?.unwrap_or_else(|| default.into());
    let (dir, file) = workbook.rsplit_once('/').unwrap_or(("", &workbook));
    let rels_name = if dir.is_empty() { format!("_rels/{file}.rels") } else { format!("{dir}/_rels/{file}.rels") };
    let read = |zip: &mut zip::ZipArchive<R>, name: &str| -> Result<Option<Vec<u8>>, OpenError> {
        names.iter().position(|n| n == name).map(|i| read_entry_capped(zip, i, small)).transpose()
    };
    let Some(rels) = read(zip, &rels_name)? else { return Ok(()) };
    let rels = xml_attrs(&rels, "Relationship").map_err(|e| damaged(&format!("'{rels_name}'"), e))?;
    let is_macro = |a: &[(String, String)]| {
        attr(a, "Type").is_some_and(|t| t.ends_with("/xlMacrosheet") || t.ends_with("/xlIntlMacrosheet"))
            || attr(a, "Target").is_some_and(|t| t.to_ascii_lowercase().contains("macrosheets/"))
    };
    let macro_ids: HashSet<&str> = rels.iter().filter(|a| is_macro(a)).filter_map(|a| attr(a, "Id")).collect();
    if macro_ids.is_empty() {
        return Ok(());
    }
    let sheets: Vec<(String, String)> = match read(zip, &workbook)? {
        Some(bin) if format == Format::Xlsb => xlsb_sheets(&bin),
        Some(xml) => xml_attrs(&xml, "sheet")
            .map_err(|e| damaged(&format!("'{workbook}'"), e))?
            .iter()
            .filter_map(|a| Some((attr(a, "id")?.to_string(), attr(a, "name")?.to_string())))
            .collect(),
        None => Vec::new(),
    };
    let tab = sheets.iter().find(|(id, _)| macro_ids.contains(id.as_str())).map_or("a macro sheet", |(_, name)| name);
    Err(OpenError::unreadable(format!(
        "the workbook holds an Excel 4 macro sheet ('{}'), which bcf cannot read; delete that sheet, save the workbook as .xlsx and resubmit",
        crate::model::truncate(tab)
    ))
    .on_sheet(tab))
}

/// The sheets an `.xlsb` workbook part lists (its BrtBundleSh records): (relationship id, tab
/// name). Records past the part's end, or text that is not whole, end the list.
fn xlsb_sheets(bin: &[u8]) -> Vec<(String, String)> {
    fn varint(b: &[u8], at: &mut usize, max_bytes: usize) -> Option<u32> {
        let mut v = 0u32;
        for i in 0..max_bytes {
            let byte = *b.get(*at)?;
            *at += 1;
            v |= u32::from(byte & 0x7F) << (7 * i);
            if byte & 0x80 == 0 {
                break;
            }
        }
        Some(v)
    }
    fn wide(d: &[u8], at: &mut usize) -> Option<String> {
        let chars = u32::from_le_bytes(d.get(*at..*at + 4)?.try_into().ok()?) as usize;
        let bytes = d.get(*at + 4..(*at + 4).checked_add(chars.checked_mul(2)?)?)?;
        *at += 4 + bytes.len();
        Some(String::from_utf16_lossy(
            &bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect::<Vec<_>>(),
        ))
    }
    const BUNDLE_SHEET: u32 = 0x9C;
    const END_BUNDLE_SHEETS: u32 = 0x90;
    let (mut at, mut out) = (0, Vec::new());
    while let (Some(typ), Some(len)) = (varint(bin, &mut at, 2), varint(bin, &mut at, 4)) {
        let Some(data) = bin.get(at..at.saturating_add(len as usize)) else { break };
        at += data.len();
        match typ {
            BUNDLE_SHEET => {
                let mut p = 8; // hsState, iTabID
                let (Some(id), Some(name)) = (wide(data, &mut p), wide(data, &mut p)) else { break };
                out.push((id, name));
            }
            END_BUNDLE_SHEETS => break,
            _ => {}
        }
    }
    out
}

/// Parts calamine holds whole, by the names it opens them by (see module docs).
fn resident_parts<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    names: &[String],
    format: Format,
    small: u64,
) -> Result<HashSet<String>, OpenError> {
    let mut resident: HashSet<String> = HashSet::new();
    if format == Format::Ods {
        resident.insert("meta-inf/manifest.xml".into());
        resident.insert("mimetype".into());
        return Ok(resident);
    }
    let mut xl_dir = "xl/".to_string();
    if let Some(target) = office_document(zip, names, small)? {
        let (dir, file) = target.rsplit_once('/').unwrap_or(("", &target));
        xl_dir = if dir.is_empty() { String::new() } else { format!("{dir}/") };
        resident.insert(format!("{xl_dir}_rels/{file}.rels"));
        resident.insert(target);
    }
    for part in WHOLE_PARTS {
        resident.insert(format!("{xl_dir}{part}"));
        resident.insert(format!("xl/{part}"));
    }
    Ok(resident)
}

/// The main part `_rels/.rels` names (the workbook, wherever the writer put it), normalised.
fn office_document<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    names: &[String],
    small: u64,
) -> Result<Option<String>, OpenError> {
    let Some(i) = names.iter().position(|n| n == "_rels/.rels") else {
        return Ok(None);
    };
    let rels = read_entry_capped(zip, i, small)?;
    let rels = xml_attrs(&rels, "Relationship").map_err(|e| damaged("'_rels/.rels'", e))?;
    Ok(rels
        .iter()
        .filter(|a| attr(a, "Type").is_some_and(|t| t.ends_with("/officeDocument")))
        .find_map(|a| attr(a, "Target"))
        .map(|t| norm_name(t.trim_start_matches('/'))))
}

/// Parts of an xlsx or xlsb that calamine reads whole, relative to the workbook's folder.
const WHOLE_PARTS: [&str; 7] = [
    "sharedstrings.xml",
    "sharedstrings.bin",
    "styles.xml",
    "styles.bin",
    "theme/theme1.xml",
    "workbook.xml",
    "workbook.bin",
];

/// Inflates entry `index` from its raw compressed bytes, counting at most `cap + 1` bytes.
fn inflate_counting<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    index: usize,
    cap: u64,
    name: &str,
) -> Result<u64, OpenError> {
    let raw = zip.by_index_raw(index).map_err(|e| damaged(&format!("'{name}'"), e))?;
    let mut inflater = flate2::read::DeflateDecoder::new(raw);
    let mut buf = vec![0u8; 64 * 1024];
    let mut total: u64 = 0;
    loop {
        let n = match inflater.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => return Err(damaged(&format!("'{name}'"), e)),
        };
        total += n as u64;
        if total > cap {
            break;
        }
    }
    Ok(total)
}

/// ODF encryption is declared in the manifest, per entry.
fn check_ods_manifest<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    names: &[String],
    cap: u64,
) -> Result<(), OpenError> {
    if let Some(i) = names.iter().position(|n| n == "mimetype") {
        let m = read_entry_capped(zip, i, 1024)?;
        let m = String::from_utf8_lossy(&m);
        let m = m.trim();
        if m.starts_with("application/vnd.oasis.opendocument.") && !m.ends_with(".spreadsheet") {
            return Err(OpenError::unreadable(format!(
                "an OpenDocument file of another kind ({m}), not a spreadsheet{NOT_A_WORKBOOK}"
            )));
        }
    }
    if let Some(i) = names.iter().position(|n| n == "meta-inf/manifest.xml") {
        let m = read_entry_capped(zip, i, cap)?;
        let enc = xml_attrs(&m, "encryption-data").map_err(|e| damaged("the manifest", e))?;
        if !enc.is_empty() {
            return Err(OpenError::unreadable(
                "the workbook is password-protected (encrypted OpenDocument); open it with its password, untick Save with password, save it as .xlsx and resubmit",
            ));
        }
    }
    Ok(())
}

/// calamine reserves the shared-strings vector from the `uniqueCount` the file declares,
/// before reading any string: a lie there is an allocation of any size (an abort, not a
/// panic). A table cannot hold more strings than a quarter of its bytes (`<si/>` is 5).
/// Every entry named like a shared-strings part is checked, wherever the workbook lives. The
/// `<sst>` element must be found within the part's first [`SST_REACH_BYTES`]: a part that
/// hides it further (behind a comment, say) is refused rather than trusted.
fn check_shared_strings_count<R: Read + Seek>(zip: &mut zip::ZipArchive<R>, names: &[String]) -> Result<(), OpenError> {
    for (i, _) in names.iter().enumerate().filter(|(_, n)| n.ends_with("sharedstrings.xml")) {
        let (size, head) = {
            let entry = zip.by_index_raw(i).map_err(|e| damaged("the shared strings", e))?;
            let (size, method) = (entry.size(), entry.compression());
            (size, part_head(entry, method).map_err(|e| damaged("the shared strings", e))?)
        };
        let damaged_table = match declared_unique_count(&head) {
            Some(declared) => declared > size / 4 + 16,
            // Real parts open with <sst> within a few hundred bytes.
            None => head.len() as u64 >= SST_REACH_BYTES,
        };
        if damaged_table {
            return Err(OpenError::unreadable(
                "not a readable workbook: its shared strings table is damaged (it declares more strings than it holds); open it in Excel, save it again and resubmit",
            ));
        }
    }
    Ok(())
}

/// The `uniqueCount` of the `<sst>` element in `head` (0 if it declares none); `None` if `head`
/// does not reach the element.
fn declared_unique_count(head: &[u8]) -> Option<u64> {
    use quick_xml::events::Event;
    let mut r = quick_xml::Reader::from_reader(head);
    loop {
        match r.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) if e.local_name().as_ref() == "sst" => {
                let count = e.attributes().flatten().find(|a| a.key.as_ref() == "uniqueCount");
                return Some(count.and_then(|a| a.value.trim().parse::<u64>().ok()).unwrap_or(0));
            }
            Ok(Event::Eof) | Err(_) => return None,
            _ => (),
        }
    }
}

/// How far into the shared strings the check looks for `<sst>`.
const SST_REACH_BYTES: u64 = 64 * 1024;

/// The first [`SST_REACH_BYTES`] of a part, inflated from its raw (compressed) bytes.
fn part_head(raw: impl Read, method: zip::CompressionMethod) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::new();
    match method {
        zip::CompressionMethod::Stored => raw.take(SST_REACH_BYTES).read_to_end(&mut head)?,
        zip::CompressionMethod::Deflated => {
            let inflated = flate2::read::DeflateDecoder::new(raw).take(SST_REACH_BYTES);
            // A part cut short gives what it has; calamine reports the damage if it reads it.
            read_up_to_end(inflated, &mut head)
        }
        _ => 0, // not readable here; calamine fails on it if it reads it
    };
    Ok(head)
}

/// Reads what it can, stopping quietly at the first error.
fn read_up_to_end(mut r: impl Read, out: &mut Vec<u8>) -> usize {
    let mut buf = [0u8; 8192];
    loop {
        match r.read(&mut buf) {
            Ok(0) | Err(_) => return out.len(),
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_head_is_its_first_bytes_however_it_is_stored() {
        use std::io::Write;
        let text: Vec<u8> = (0..20_000u32).flat_map(|i| format!("<si><t>{i}</t></si>").into_bytes()).collect();
        let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&text).unwrap();
        let deflated = enc.finish().unwrap();
        let head = part_head(&deflated[..], zip::CompressionMethod::Deflated).unwrap();
        assert_eq!(head, &text[..SST_REACH_BYTES as usize]);
        let head = part_head(&text[..100], zip::CompressionMethod::Stored).unwrap();
        assert_eq!(head, &text[..100]);
        let short = &deflated[..deflated.len() / 2];
        let head = part_head(short, zip::CompressionMethod::Deflated).unwrap();
        assert!(!head.is_empty() && text.starts_with(&head), "a truncated part gives what it has");
    }

    #[test]
    fn sniffs_by_content() {
        assert!(matches!(sniff(b""), Err(OpenError::Unreadable { message: m, .. }) if m.contains("empty")));
        assert!(matches!(sniff(b"<html><body>"), Err(OpenError::Unreadable { message: m, .. }) if m.contains("HTML")));
        assert!(matches!(sniff(b"a,b,c\n1,2,3\n"), Err(OpenError::Unreadable { message: m, .. }) if m.contains("CSV")));
        assert!(matches!(sniff(b"PK\x03"), Err(OpenError::Unreadable { message: m, .. }) if m.contains("truncated")));
        assert_eq!(sniff(b"PK\x03\x04rest"), Ok(Format::Xlsx));
        assert_eq!(sniff(CFB_MAGIC), Ok(Format::Xls));
        let old = |head: &[u8]| match sniff(head) {
            Err(OpenError::Unreadable { message, .. }) => message,
            other => panic!("{other:?}"),
        };
        assert!(old(&[0x09, 0x04, 6, 0, 0, 0, 0x10, 0]).starts_with("an Excel 4.0 workbook, a format too old"));
        assert!(old(&[0x09, 0x00, 4, 0, 2, 0, 0x10, 0]).starts_with("an Excel 2.x workbook"));
    }
}
