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
use std::fs::File;
use std::io::{BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::Path;

/// Files up to this size are read into memory once, for the check and then the reader.
pub const IN_MEMORY_MAX_BYTES: u64 = 16 * 1024 * 1024;

/// A workbook's bytes, for the check and then the reader. A real return (well under a MiB) is
/// read into memory in one go: the zip directory and every part are then found without the
/// ~150 small reads and seeks per file a buffered file costs. A larger file is streamed from
/// disk, so memory stays bounded whatever arrives.
pub enum Source {
    Memory(Cursor<Vec<u8>>),
    Disk(BufReader<File>),
}

impl Source {
    /// The bytes of a file already read whole.
    pub fn from_bytes(bytes: Vec<u8>) -> Source {
        Source::Memory(Cursor::new(bytes))
    }

    pub fn open(path: &Path) -> Result<Source, OpenError> {
        let cannot = |what: &str, e: std::io::Error| OpenError::Unreadable(format!("cannot {what} the file: {e}"));
        let mut file = File::open(path).map_err(|e| cannot("open", e))?;
        let len = file.metadata().map_err(|e| cannot("read", e))?.len();
        if len > IN_MEMORY_MAX_BYTES {
            return Ok(Source::Disk(BufReader::new(file)));
        }
        let mut bytes = Vec::with_capacity(len as usize);
        // A file that grew since its size was taken is still read whole, but not beyond the cap.
        (&mut file).take(IN_MEMORY_MAX_BYTES + 1).read_to_end(&mut bytes).map_err(|e| cannot("read", e))?;
        if bytes.len() as u64 > IN_MEMORY_MAX_BYTES {
            file.rewind().map_err(|e| cannot("read", e))?;
            return Ok(Source::Disk(BufReader::new(file)));
        }
        Ok(Source::Memory(Cursor::new(bytes)))
    }
}

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Source::Memory(c) => c.read(buf),
            Source::Disk(f) => f.read(buf),
        }
    }
}

impl Seek for Source {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        match self {
            Source::Memory(c) => c.seek(pos),
            Source::Disk(f) => f.seek(pos),
        }
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

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const CFB_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
/// Deflate's maximum expansion ratio.
pub const MAX_DEFLATE_RATIO: u64 = 1032;

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
    if CFB_MAGIC.starts_with(head) || ZIP_MAGIC.starts_with(head) {
        return Err(OpenError::Unreadable("the file is truncated (only the first bytes of a workbook)".into()));
    }
    Err(OpenError::Unreadable(describe_other(head).to_string()))
}

fn too_large_file(limits: &Limits) -> OpenError {
    OpenError::TooLarge(format!(
        "the file is larger than the {} MiB limit for a workbook",
        limits.max_inflated_bytes >> 20
    ))
}

/// What the check found out about a file a reader may open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checked {
    pub format: Format,
    /// `.xls` only: cells calamine's dense ranges will hold once the workbook is open.
    pub dense_cells: u64,
}

/// Checks a file before any reader sees it: what container it is, whether it is encrypted,
/// and that no part inflates beyond the limits (see the module docs).
pub fn check(path: &Path, limits: Limits) -> Result<Checked, OpenError> {
    check_source(&mut Source::open(path)?, limits)
}

/// [`check`] on bytes already opened; the source is left at its start for the reader.
pub fn check_source(src: &mut Source, limits: Limits) -> Result<Checked, OpenError> {
    let cannot_read = |e: std::io::Error| OpenError::Unreadable(format!("cannot read the file: {e}"));
    let mut head = [0u8; 512];
    let n = read_up_to(src, &mut head).map_err(cannot_read)?;
    src.rewind().map_err(cannot_read)?;
    let checked = match sniff(&head[..n])? {
        Format::Xls => check_cfb(src, limits)?,
        _ => Checked { format: check_zip(src, limits)?, dense_cells: 0 },
    };
    src.rewind().map_err(cannot_read)?;
    Ok(checked)
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

fn check_cfb(src: &mut Source, limits: Limits) -> Result<Checked, OpenError> {
    let len = src.seek(SeekFrom::End(0)).map_err(|e| OpenError::Unreadable(e.to_string()))?;
    // An .xls is not compressed: the file is its parts. calamine reads the workbook stream
    // whole, so the file may not exceed the per-part limit.
    if len > limits.max_inflated_bytes {
        return Err(too_large_file(&limits));
    }
    src.rewind().map_err(|e| OpenError::Unreadable(e.to_string()))?;
    let mut bytes = Vec::with_capacity(len as usize);
    src.take(limits.max_inflated_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| OpenError::Unreadable(e.to_string()))?;
    let cfb = Cfb::parse(&bytes).map_err(|e| OpenError::Unreadable(format!("not a readable workbook: {e}")))?;
    if cfb.has("EncryptedPackage") || cfb.has("EncryptionInfo") {
        return Err(OpenError::Unreadable(
            "the workbook is password-protected (encrypted); save it without a password and resubmit".into(),
        ));
    }
    let stream = match cfb.stream("Workbook").or_else(|| cfb.stream("Book")) {
        Some(Ok(s)) => s,
        Some(Err(e)) => return Err(OpenError::Unreadable(format!("not a readable xls workbook: {e}"))),
        None if cfb.has("WordDocument") => {
            return Err(OpenError::Unreadable("a Word document, not a spreadsheet".into()))
        }
        None => return Err(OpenError::Unreadable("an OLE compound file that holds no workbook".into())),
    };
    drop(bytes);
    let dense_cells = super::biff::check(&stream, limits)?;
    Ok(Checked { format: Format::Xls, dense_cells })
}

/// Lower-cased, `/`-separated, without a leading `/`: how calamine compares part names.
fn norm_name(name: &str) -> String {
    name.replace('\\', "/").trim_start_matches('/').to_ascii_lowercase()
}

fn damaged(what: &str, e: impl std::fmt::Display) -> OpenError {
    OpenError::Unreadable(format!("not a readable workbook: {what} is damaged or truncated ({e})"))
}

/// Reads one small entry whole, refusing it beyond `cap` bytes.
fn read_entry_capped<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    index: usize,
    cap: u64,
) -> Result<Vec<u8>, OpenError> {
    let entry = zip.by_index(index).map_err(|e| damaged("a zip entry", e))?;
    let name = entry.name().map(|n| n.to_string()).unwrap_or_default();
    let mut out = Vec::new();
    entry.take(cap + 1).read_to_end(&mut out).map_err(|e| damaged(&format!("'{name}'"), e))?;
    if out.len() as u64 > cap {
        return Err(OpenError::TooLarge(format!(
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

fn check_zip(src: &mut Source, limits: Limits) -> Result<Format, OpenError> {
    let mut zip = zip::ZipArchive::new(src).map_err(|e| {
        OpenError::Unreadable(format!("not a readable workbook: the zip container is damaged or truncated ({e})"))
    })?;
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
    } else if index_of("word/document.xml").is_some() {
        return Err(OpenError::Unreadable("a Word document, not a spreadsheet".into()));
    } else if index_of("ppt/presentation.xml").is_some() {
        return Err(OpenError::Unreadable("a PowerPoint presentation, not a spreadsheet".into()));
    } else {
        return Err(OpenError::Unreadable("a zip file that holds no workbook".into()));
    };
    let small = limits.max_resident_part_bytes.min(limits.max_inflated_bytes);
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
            OpenError::TooLarge(format!(
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
            return Err(OpenError::Unreadable(
                "the workbook is password-protected (encrypted zip entries); save it without a password and resubmit"
                    .into(),
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
            return Err(OpenError::TooLarge(format!(
                "the workbook's parts inflate beyond {} MiB in total",
                limits.max_total_inflated_bytes >> 20
            )));
        }
    }

    match format {
        Format::Ods => check_ods_manifest(&mut zip, &names, small)?,
        Format::Xlsx => check_shared_strings_count(&mut zip, &names)?,
        _ => (),
    }
    Ok(format)
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
    if let Some(i) = names.iter().position(|n| n == "_rels/.rels") {
        let rels = read_entry_capped(zip, i, small)?;
        let rels = xml_attrs(&rels, "Relationship").map_err(|e| damaged("'_rels/.rels'", e))?;
        if let Some(target) = rels
            .iter()
            .filter(|a| attr(a, "Type").is_some_and(|t| t.ends_with("/officeDocument")))
            .find_map(|a| attr(a, "Target"))
        {
            let target = norm_name(target);
            let (dir, file) = target.rsplit_once('/').unwrap_or(("", &target));
            xl_dir = if dir.is_empty() { String::new() } else { format!("{dir}/") };
            resident.insert(target.clone());
            resident.insert(format!("{xl_dir}_rels/{file}.rels"));
        }
    }
    for part in WHOLE_PARTS {
        resident.insert(format!("{xl_dir}{part}"));
        resident.insert(format!("xl/{part}"));
    }
    Ok(resident)
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
            return Err(OpenError::Unreadable(format!(
                "an OpenDocument file of another kind ({m}), not a spreadsheet"
            )));
        }
    }
    if let Some(i) = names.iter().position(|n| n == "meta-inf/manifest.xml") {
        let m = read_entry_capped(zip, i, cap)?;
        let enc = xml_attrs(&m, "encryption-data").map_err(|e| damaged("the manifest", e))?;
        if !enc.is_empty() {
            return Err(OpenError::Unreadable(
                "the workbook is password-protected (encrypted OpenDocument); save it without a password and resubmit"
                    .into(),
            ));
        }
    }
    Ok(())
}

/// calamine reserves the shared-strings vector from the `uniqueCount` the file declares,
/// before reading any string: a lie there is an allocation of any size (an abort, not a
/// panic). A table cannot hold more strings than a quarter of its bytes (`<si/>` is 5).
/// Every entry named like a shared-strings part is checked, wherever the workbook lives.
fn check_shared_strings_count<R: Read + Seek>(zip: &mut zip::ZipArchive<R>, names: &[String]) -> Result<(), OpenError> {
    for (i, _) in names.iter().enumerate().filter(|(_, n)| n.ends_with("sharedstrings.xml")) {
        // The `<sst>` element opens the part: the first bytes almost always reach it, and a
        // part that puts it later is read again up to the full reach of the check.
        for reach in [SST_HEAD_BYTES, SST_REACH_BYTES] {
            let mut head = vec![0u8; reach];
            let (size, n) = {
                let entry = zip.by_index_raw(i).map_err(|e| damaged("the shared strings", e))?;
                let (size, method) = (entry.size(), entry.compression());
                (size, part_head(entry, method, &mut head).map_err(|e| damaged("the shared strings", e))?)
            };
            match declared_unique_count(&head[..n]) {
                Some(declared) if declared > size / 4 + 16 => {
                    return Err(OpenError::Unreadable(
                        "not a readable workbook: the shared strings table declares more strings than it holds (damaged)".into(),
                    ));
                }
                Some(_) => break,
                None if n < reach => break, // the whole part, without a count: calamine reports it
                None => (),
            }
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

/// How much of the shared strings is read first for its `<sst>` element, which opens the part
/// after the XML declaration: under 200 bytes in practice, and inflating less costs less.
const SST_HEAD_BYTES: usize = 512;
/// How far into the shared strings the check looks for `<sst>` at most.
const SST_REACH_BYTES: usize = 64 * 1024;

thread_local! {
    /// One inflater per thread, reset between parts: a fresh one costs allocating and zeroing
    /// its window for every workbook.
    static INFLATER: std::cell::RefCell<flate2::Decompress> = std::cell::RefCell::new(flate2::Decompress::new(false));
}

/// The first bytes of a part, inflated from its raw (compressed) bytes; how many were filled.
fn part_head(mut raw: impl Read, method: zip::CompressionMethod, out: &mut [u8]) -> std::io::Result<usize> {
    if method == zip::CompressionMethod::Stored {
        return read_up_to(&mut raw, out);
    }
    if method != zip::CompressionMethod::Deflated {
        return Ok(0); // not readable here; calamine fails on it if it reads it
    }
    INFLATER.with_borrow_mut(|inflater| {
        inflater.reset(false);
        let mut input = [0u8; SST_HEAD_BYTES];
        let (mut len, mut used, mut filled) = (0, 0, 0);
        while filled < out.len() {
            if used == len {
                len = raw.read(&mut input)?;
                used = 0;
                if len == 0 {
                    break;
                }
            }
            let (before_in, before_out) = (inflater.total_in(), inflater.total_out());
            let status = inflater
                .decompress(&input[used..len], &mut out[filled..], flate2::FlushDecompress::None)
                .map_err(std::io::Error::other)?;
            used += (inflater.total_in() - before_in) as usize;
            filled += (inflater.total_out() - before_out) as usize;
            if status == flate2::Status::StreamEnd {
                break;
            }
        }
        Ok(filled)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out at most 7 bytes a call, as a slow stream would.
    struct Trickle<'a>(&'a [u8]);
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(7).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_part_head_is_its_first_bytes_however_it_is_stored() {
        use std::io::Write;
        let text: Vec<u8> = (0..20_000u32).flat_map(|i| format!("<si><t>{i}</t></si>").into_bytes()).collect();
        let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&text).unwrap();
        let deflated = enc.finish().unwrap();
        for _ in 0..2 {
            // Twice on one thread: the reused inflater starts afresh.
            let mut out = [0u8; SST_HEAD_BYTES];
            let n = part_head(Trickle(&deflated), zip::CompressionMethod::Deflated, &mut out).unwrap();
            assert_eq!(&out[..n], &text[..SST_HEAD_BYTES]);
        }
        let mut out = [0u8; SST_HEAD_BYTES];
        let n = part_head(Trickle(&text[..100]), zip::CompressionMethod::Stored, &mut out).unwrap();
        assert_eq!(&out[..n], &text[..100]);
        let short = &deflated[..deflated.len() / 2];
        let n = part_head(Trickle(short), zip::CompressionMethod::Deflated, &mut out).unwrap();
        assert_eq!(&out[..n], &text[..n], "a truncated part gives what it has");
    }

    #[test]
    fn sniffs_by_content() {
        assert!(matches!(sniff(b""), Err(OpenError::Unreadable(m)) if m.contains("empty")));
        assert!(matches!(sniff(b"<html><body>"), Err(OpenError::Unreadable(m)) if m.contains("HTML")));
        assert!(matches!(sniff(b"a,b,c\n1,2,3\n"), Err(OpenError::Unreadable(m)) if m.contains("CSV")));
        assert!(matches!(sniff(b"PK\x03"), Err(OpenError::Unreadable(m)) if m.contains("truncated")));
        assert_eq!(sniff(b"PK\x03\x04rest"), Ok(Format::Xlsx));
        assert_eq!(sniff(CFB_MAGIC), Ok(Format::Xls));
    }
}
