//! Builds the hostile and broken files of `fixtures/hostile/` (see its README), and the larger
//! ones that are only ever built into a temporary folder at test time.
//!
//! Writers here are deliberately small: a zip rewriter, a compound-file (CFB) writer, a BIFF8
//! writer and an ODS writer, enough to turn a good sample return into the same return saved
//! as `.xls` or `.ods`, and then to break it in one precise way.
#![allow(dead_code)]

use calamine::{Data, Reader};
use std::io::{Cursor, Read, Write};
use std::path::Path;

// ---------------------------------------------------------------- zip

/// Every entry of a zip: (name, bytes).
pub fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut z = zip::ZipArchive::new(Cursor::new(bytes)).expect("zip");
    (0..z.len())
        .map(|i| {
            let mut e = z.by_index(i).expect("entry");
            let mut v = Vec::new();
            e.read_to_end(&mut v).expect("read");
            (e.name().unwrap().to_string(), v)
        })
        .collect()
}

/// A zip of these entries, deflated (the first stored when it is `mimetype`, as ODF wants).
pub fn zip_of(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in entries {
        let method = if name == "mimetype" { zip::CompressionMethod::Stored } else { zip::CompressionMethod::Deflated };
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(method)
            .compression_level((method == zip::CompressionMethod::Deflated).then_some(9))
            .last_modified_time(zip::DateTime::default())
            .large_file(data.len() as u64 >= u32::MAX as u64);
        w.start_file(name.as_str(), opts).expect("start");
        w.write_all(data).expect("write");
    }
    w.finish().expect("finish").into_inner()
}

/// Rewrites a zip, passing each entry through `f` (None drops it).
pub fn rewrite_zip(bytes: &[u8], mut f: impl FnMut(&str, Vec<u8>) -> Option<Vec<u8>>) -> Vec<u8> {
    let entries: Vec<_> = unzip(bytes).into_iter().filter_map(|(n, d)| f(&n, d).map(|d| (n, d))).collect();
    zip_of(&entries)
}

/// A zip with one deflated entry `name` whose content is `len` zero bytes, written streaming
/// (never held whole). Returns the zip's bytes.
pub fn zip_with_zeros(base: &[(String, Vec<u8>)], name: &str, len: u64) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (n, d) in base {
        let opts = zip::write::SimpleFileOptions::default().last_modified_time(zip::DateTime::default());
        w.start_file(n.as_str(), opts).unwrap();
        w.write_all(d).unwrap();
    }
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(9))
        .last_modified_time(zip::DateTime::default())
        .large_file(len >= u32::MAX as u64);
    w.start_file(name, opts).unwrap();
    let chunk = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        w.write_all(&chunk[..n]).unwrap();
        left -= n as u64;
    }
    w.finish().unwrap().into_inner()
}

/// Makes every header of entry `name` claim `size` uncompressed bytes (a lying header).
/// Works on zips without zip64 records, as `zip_with_zeros` writes below 4 GiB.
pub fn lie_about_size(bytes: &mut [u8], name: &str, size: u32) {
    let n = name.as_bytes();
    let mut i = 0;
    let mut patched = 0;
    while i + 46 <= bytes.len() {
        if bytes[i..i + 4] == *b"PK\x01\x02" {
            let name_len = u16::from_le_bytes([bytes[i + 28], bytes[i + 29]]) as usize;
            if bytes.get(i + 46..i + 46 + name_len) == Some(n) {
                bytes[i + 24..i + 28].copy_from_slice(&size.to_le_bytes());
                patched += 1;
            }
        } else if bytes[i..i + 4] == *b"PK\x03\x04" {
            let name_len = u16::from_le_bytes([bytes[i + 26], bytes[i + 27]]) as usize;
            if bytes.get(i + 30..i + 30 + name_len) == Some(n) {
                bytes[i + 22..i + 26].copy_from_slice(&size.to_le_bytes());
                patched += 1;
            }
        }
        i += 1;
    }
    assert!(patched >= 2, "patched {patched} headers of {name}");
}

// ---------------------------------------------------------------- xlsx edits

/// Adds raw XML rows at the end of a worksheet's `sheetData` and sets its dimension.
pub fn add_rows(sheet_xml: &str, rows_xml: &str, dimension: Option<&str>) -> String {
    let mut s = sheet_xml.to_string();
    if let Some(d) = dimension {
        if let Some(i) = s.find("<dimension ref=\"") {
            let j = s[i + 16..].find('"').unwrap() + i + 16;
            s.replace_range(i + 16..j, d);
        }
    }
    let at = s.find("</sheetData>").expect("sheetData");
    s.insert_str(at, rows_xml);
    s
}

/// The zip path of the worksheet called `sheet` in an xlsx (by workbook.xml and its rels).
pub fn xlsx_sheet_path(entries: &[(String, Vec<u8>)], sheet: &str) -> String {
    let get = |n: &str| String::from_utf8(entries.iter().find(|(x, _)| x == n).unwrap().1.clone()).unwrap();
    let wb = get("xl/workbook.xml");
    let rels = get("xl/_rels/workbook.xml.rels");
    let esc = sheet.replace('&', "&amp;");
    let i = wb.find(&format!("name=\"{esc}\"")).unwrap_or_else(|| panic!("sheet {sheet}"));
    let tag_end = wb[i..].find("/>").unwrap() + i;
    let tag = &wb[i..tag_end];
    let rid = tag.split("r:id=\"").nth(1).unwrap().split('"').next().unwrap();
    let j = rels.find(&format!("Id=\"{rid}\"")).unwrap();
    let start = rels[..j].rfind('<').unwrap();
    let end = rels[j..].find("/>").unwrap() + j;
    let rel = &rels[start..end];
    let target = rel.split("Target=\"").nth(1).unwrap().split('"').next().unwrap();
    let target = target.trim_start_matches('/');
    if target.starts_with("xl/") {
        target.to_string()
    } else {
        format!("xl/{target}")
    }
}

/// Replaces the cell `r="{a1}"` element of a worksheet with `new_cell` (whole `<c …>…</c>`).
pub fn replace_cell(sheet_xml: &str, a1: &str, new_cell: &str) -> String {
    let key = format!("<c r=\"{a1}\"");
    let i = sheet_xml.find(&key).unwrap_or_else(|| panic!("cell {a1} not in sheet"));
    let rest = &sheet_xml[i..];
    let self_closing = rest.find("/>").unwrap();
    let first_gt = rest.find('>').unwrap();
    let end = if self_closing + 1 == first_gt { i + first_gt + 1 } else { i + rest.find("</c>").unwrap() + 4 };
    let mut s = sheet_xml.to_string();
    s.replace_range(i..end, new_cell);
    s
}

// ---------------------------------------------------------------- CFB

const FREESECT: u32 = 0xFFFF_FFFF;
const ENDOFCHAIN: u32 = 0xFFFF_FFFE;
const FATSECT: u32 = 0xFFFF_FFFD;

/// A version-3 compound file holding these streams in its root storage. Streams are padded
/// to 4096 bytes so none lives in the mini stream.
pub fn cfb_of(streams: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let streams: Vec<(&str, Vec<u8>)> = streams
        .iter()
        .map(|(n, d)| {
            let mut d = d.clone();
            if d.len() < 4096 {
                d.resize(4096, 0);
            }
            (*n, d)
        })
        .collect();
    let data_sectors: Vec<usize> = streams.iter().map(|(_, d)| d.len().div_ceil(512)).collect();
    let dir_sectors = (streams.len() + 1).div_ceil(4);
    let mut fat_sectors = 1;
    loop {
        let total = fat_sectors + dir_sectors + data_sectors.iter().sum::<usize>();
        if total.div_ceil(128) <= fat_sectors {
            break;
        }
        fat_sectors += 1;
    }
    assert!(fat_sectors <= 109, "file too big for this writer");
    let total = fat_sectors + dir_sectors + data_sectors.iter().sum::<usize>();
    let mut fat = vec![FREESECT; fat_sectors * 128];
    for f in fat.iter_mut().take(fat_sectors) {
        *f = FATSECT;
    }
    let mut next = fat_sectors;
    let mut chain = |fat: &mut Vec<u32>, n: usize| {
        let start = next;
        for k in 0..n {
            fat[start + k] = if k + 1 == n { ENDOFCHAIN } else { (start + k + 1) as u32 };
        }
        next += n;
        start as u32
    };
    let dir_start = chain(&mut fat, dir_sectors);
    let starts: Vec<u32> = data_sectors.iter().map(|&n| chain(&mut fat, n)).collect();

    let mut out = Vec::with_capacity((total + 1) * 512);
    // Header.
    let mut h = vec![0u8; 512];
    h[..8].copy_from_slice(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]);
    h[0x18..0x1A].copy_from_slice(&0x3Eu16.to_le_bytes());
    h[0x1A..0x1C].copy_from_slice(&3u16.to_le_bytes());
    h[0x1C..0x1E].copy_from_slice(&0xFFFEu16.to_le_bytes());
    h[0x1E..0x20].copy_from_slice(&9u16.to_le_bytes());
    h[0x20..0x22].copy_from_slice(&6u16.to_le_bytes());
    h[0x2C..0x30].copy_from_slice(&(fat_sectors as u32).to_le_bytes());
    h[0x30..0x34].copy_from_slice(&dir_start.to_le_bytes());
    h[0x38..0x3C].copy_from_slice(&4096u32.to_le_bytes());
    h[0x3C..0x40].copy_from_slice(&ENDOFCHAIN.to_le_bytes());
    h[0x44..0x48].copy_from_slice(&ENDOFCHAIN.to_le_bytes());
    for k in 0..109 {
        let v = if k < fat_sectors { k as u32 } else { FREESECT };
        h[0x4C + 4 * k..0x50 + 4 * k].copy_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&h);
    for v in &fat {
        out.extend_from_slice(&v.to_le_bytes());
    }
    // Directory: root, then the streams as a chain of right siblings.
    let mut dir =
        cfb_dir_entry("Root Entry", 5, if streams.is_empty() { FREESECT } else { 1 }, FREESECT, ENDOFCHAIN, 0);
    for (k, (name, data)) in streams.iter().enumerate() {
        let right = if k + 1 < streams.len() { (k + 2) as u32 } else { FREESECT };
        dir.extend(cfb_dir_entry(name, 2, FREESECT, right, starts[k], data.len() as u64));
    }
    dir.resize(dir_sectors * 512, 0);
    out.extend_from_slice(&dir);
    for (_, data) in &streams {
        let mut d = data.clone();
        d.resize(d.len().div_ceil(512) * 512, 0);
        out.extend_from_slice(&d);
    }
    out
}

/// One 128-byte directory entry of a compound file: `kind` 5 the root, 2 a stream; `child` and
/// `right` link the tree.
fn cfb_dir_entry(name: &str, kind: u8, child: u32, right: u32, start: u32, size: u64) -> Vec<u8> {
    let mut e = vec![0u8; 128];
    let units: Vec<u16> = name.encode_utf16().collect();
    for (k, u) in units.iter().enumerate() {
        e[2 * k..2 * k + 2].copy_from_slice(&u.to_le_bytes());
    }
    e[0x40..0x42].copy_from_slice(&(((units.len() + 1) * 2) as u16).to_le_bytes());
    e[0x42] = kind;
    e[0x43] = 1;
    e[0x44..0x48].copy_from_slice(&FREESECT.to_le_bytes());
    e[0x48..0x4C].copy_from_slice(&right.to_le_bytes());
    e[0x4C..0x50].copy_from_slice(&child.to_le_bytes());
    e[0x74..0x78].copy_from_slice(&start.to_le_bytes());
    e[0x78..0x80].copy_from_slice(&size.to_le_bytes());
    e
}

/// A version-3 compound file holding one small stream (under 4,096 bytes) in the mini stream,
/// as Excel stores a small workbook, the file ending where the stream's data ends: its last
/// 64-byte mini block short, unpadded (as some writers leave the file).
pub fn cfb_with_mini_stream(name: &str, data: &[u8]) -> Vec<u8> {
    assert!(data.len() < 4096 && !data.len().is_multiple_of(64), "a last mini block that can be short");
    let minis = data.len().div_ceil(64);
    let container = (minis * 64).div_ceil(512);
    // Sectors: 0 the FAT, 1 the directory, 2 the mini FAT, 3.. the mini stream.
    let mut fat = vec![FREESECT; 128];
    fat[0] = FATSECT;
    fat[1] = ENDOFCHAIN;
    fat[2] = ENDOFCHAIN;
    for k in 0..container {
        fat[3 + k] = if k + 1 == container { ENDOFCHAIN } else { (4 + k) as u32 };
    }
    let mut mini_fat = vec![FREESECT; 128];
    for (k, next) in mini_fat.iter_mut().enumerate().take(minis) {
        *next = if k + 1 == minis { ENDOFCHAIN } else { (k + 1) as u32 };
    }
    let mut out = cfb_of(&[]);
    out.truncate(512); // the header of an empty file, adjusted below
    out[0x2C..0x30].copy_from_slice(&1u32.to_le_bytes());
    out[0x30..0x34].copy_from_slice(&1u32.to_le_bytes());
    out[0x3C..0x40].copy_from_slice(&2u32.to_le_bytes());
    out[0x40..0x44].copy_from_slice(&1u32.to_le_bytes());
    out[0x4C..0x50].copy_from_slice(&0u32.to_le_bytes());
    fat.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
    let mut dir = cfb_dir_entry("Root Entry", 5, 1, FREESECT, 3, (minis * 64) as u64);
    dir.extend(cfb_dir_entry(name, 2, FREESECT, FREESECT, 0, data.len() as u64));
    dir.resize(512, 0);
    out.extend(dir);
    mini_fat.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
    out.extend_from_slice(data);
    out
}

// ---------------------------------------------------------------- BIFF8

/// A cell value to write.
#[derive(Debug, Clone, PartialEq)]
pub enum W {
    Num(f64),
    Text(String),
    /// A formula (written as `=1`) with this cached number.
    Formula(f64),
    /// A formula with no cached value (a workbook saved without calculating).
    FormulaNoValue,
    /// (BIFF only) a raw record, written as is in the cell's place.
    Raw(u16, Vec<u8>),
}

pub type Cells = Vec<(u32, u32, W)>;

fn rec(out: &mut Vec<u8>, typ: u16, data: &[u8]) {
    out.extend_from_slice(&typ.to_le_bytes());
    out.extend_from_slice(&(data.len() as u16).to_le_bytes());
    out.extend_from_slice(data);
}

fn bof(dt: u16) -> Vec<u8> {
    let mut d = Vec::new();
    d.extend_from_slice(&0x0600u16.to_le_bytes());
    d.extend_from_slice(&dt.to_le_bytes());
    d.extend_from_slice(&0x0DBBu16.to_le_bytes());
    d.extend_from_slice(&0x07CCu16.to_le_bytes());
    d.extend_from_slice(&[0u8; 8]);
    d
}

fn xl_unicode(s: &str) -> Vec<u8> {
    let units: Vec<u16> = s.encode_utf16().collect();
    let mut d = Vec::new();
    d.extend_from_slice(&(units.len() as u16).to_le_bytes());
    d.push(1);
    for u in units {
        d.extend_from_slice(&u.to_le_bytes());
    }
    d
}

/// A BIFF8 Workbook stream with these sheets. `filepass` adds a FILEPASS record.
pub fn biff8(sheets: &[(String, Cells)], filepass: bool) -> Vec<u8> {
    let sheet_streams: Vec<Vec<u8>> = sheets
        .iter()
        .map(|(_, cells)| {
            let mut s = Vec::new();
            rec(&mut s, 0x0809, &bof(0x0010));
            let (mut r1, mut c1) = (0u32, 0u32);
            for (r, c, _) in cells.iter().filter(|(_, _, v)| !matches!(v, W::Raw(..))) {
                r1 = r1.max(*r + 1);
                c1 = c1.max(*c + 1);
            }
            let mut dim = Vec::new();
            dim.extend_from_slice(&0u32.to_le_bytes());
            dim.extend_from_slice(&r1.to_le_bytes());
            dim.extend_from_slice(&0u16.to_le_bytes());
            dim.extend_from_slice(&(c1 as u16).to_le_bytes());
            dim.extend_from_slice(&0u16.to_le_bytes());
            rec(&mut s, 0x0200, &dim);
            for (r, c, v) in cells {
                let mut d = Vec::new();
                d.extend_from_slice(&(*r as u16).to_le_bytes());
                d.extend_from_slice(&(*c as u16).to_le_bytes());
                d.extend_from_slice(&0u16.to_le_bytes()); // XF
                match v {
                    W::Num(x) => {
                        d.extend_from_slice(&x.to_le_bytes());
                        rec(&mut s, 0x0203, &d);
                    }
                    W::Text(t) => {
                        d.extend_from_slice(&xl_unicode(t));
                        rec(&mut s, 0x0204, &d);
                    }
                    W::Raw(typ, data) => rec(&mut s, *typ, data),
                    W::FormulaNoValue => {
                        // A string result whose STRING record is missing: no cached value.
                        d.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0xFF, 0xFF]);
                        d.extend_from_slice(&0u16.to_le_bytes());
                        d.extend_from_slice(&0u32.to_le_bytes());
                        d.extend_from_slice(&3u16.to_le_bytes());
                        d.extend_from_slice(&[0x1E, 1, 0]);
                        rec(&mut s, 0x0006, &d);
                    }
                    W::Formula(x) => {
                        d.extend_from_slice(&x.to_le_bytes());
                        d.extend_from_slice(&0u16.to_le_bytes()); // grbit
                        d.extend_from_slice(&0u32.to_le_bytes()); // chn
                        d.extend_from_slice(&3u16.to_le_bytes()); // cce
                        d.extend_from_slice(&[0x1E, 1, 0]); // ptgInt 1
                        rec(&mut s, 0x0006, &d);
                    }
                }
            }
            rec(&mut s, 0x000A, &[]);
            s
        })
        .collect();
    let globals = |offsets: &[u32]| {
        let mut g = Vec::new();
        rec(&mut g, 0x0809, &bof(0x0005));
        if filepass {
            // RC4 CryptoAPI header (contents never read: the record itself means encrypted).
            rec(&mut g, 0x002F, &[1, 0, 2, 0, 2, 0, 0, 0]);
        }
        rec(&mut g, 0x0042, &1200u16.to_le_bytes());
        for ((name, _), off) in sheets.iter().zip(offsets) {
            let mut d = Vec::new();
            d.extend_from_slice(&off.to_le_bytes());
            d.push(0);
            d.push(0);
            let units: Vec<u16> = name.encode_utf16().collect();
            d.push(units.len() as u8);
            d.push(1);
            for u in units {
                d.extend_from_slice(&u.to_le_bytes());
            }
            rec(&mut g, 0x0085, &d);
        }
        rec(&mut g, 0x000A, &[]);
        g
    };
    let glen = globals(&vec![0; sheets.len()]).len();
    let mut offsets = Vec::new();
    let mut at = glen;
    for s in &sheet_streams {
        offsets.push(at as u32);
        at += s.len();
    }
    let mut out = globals(&offsets);
    for s in sheet_streams {
        out.extend(s);
    }
    out
}

pub fn xls_of(sheets: &[(String, Cells)], filepass: bool) -> Vec<u8> {
    cfb_of(&[("Workbook", biff8(sheets, filepass))])
}

// ---------------------------------------------------------------- ODS

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// An ODS cell's XML.
pub fn ods_cell(v: &W) -> String {
    match v {
        W::Num(x) => format!(
            "<table:table-cell office:value-type=\"float\" office:value=\"{x}\"><text:p>{x}</text:p></table:table-cell>"
        ),
        W::Text(t) => format!(
            "<table:table-cell office:value-type=\"string\"><text:p>{}</text:p></table:table-cell>",
            esc(t)
        ),
        W::Formula(x) => format!(
            "<table:table-cell table:formula=\"of:=1\" office:value-type=\"float\" office:value=\"{x}\"><text:p>{x}</text:p></table:table-cell>"
        ),
        W::FormulaNoValue => "<table:table-cell table:formula=\"of:=1+1\"/>".to_string(),
        W::Raw(..) => "<table:table-cell/>".to_string(),
    }
}

/// content.xml rows for these cells, with repeated empty rows and cells as LibreOffice
/// writes them, and `tail` appended inside the table (raw XML).
pub fn ods_table(name: &str, cells: &Cells, tail: &str) -> String {
    let mut cells = cells.clone();
    cells.sort_by_key(|(r, c, _)| (*r, *c));
    let mut x = format!("<table:table table:name=\"{}\">", esc(name));
    x.push_str("<table:table-column table:number-columns-repeated=\"16384\"/>");
    let mut row = 0u32;
    let mut i = 0;
    while i < cells.len() {
        let r = cells[i].0;
        if r > row {
            x.push_str(&format!(
                "<table:table-row table:number-rows-repeated=\"{}\"><table:table-cell table:number-columns-repeated=\"16384\"/></table:table-row>",
                r - row
            ));
        }
        x.push_str("<table:table-row>");
        let mut col = 0u32;
        while i < cells.len() && cells[i].0 == r {
            let (_, c, v) = &cells[i];
            if *c > col {
                x.push_str(&format!("<table:table-cell table:number-columns-repeated=\"{}\"/>", c - col));
            }
            x.push_str(&ods_cell(v));
            col = c + 1;
            i += 1;
        }
        x.push_str("</table:table-row>");
        row = r + 1;
    }
    x.push_str(tail);
    x.push_str("</table:table>");
    x
}

pub fn ods_of_tables(tables: &[String]) -> Vec<u8> {
    let content = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
<office:document-content xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\" \
xmlns:table=\"urn:oasis:names:tc:opendocument:xmlns:table:1.0\" \
xmlns:text=\"urn:oasis:names:tc:opendocument:xmlns:text:1.0\" office:version=\"1.2\">\
<office:body><office:spreadsheet>{}</office:spreadsheet></office:body></office:document-content>",
        tables.concat()
    );
    let manifest = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
<manifest:manifest xmlns:manifest=\"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0\" manifest:version=\"1.2\">\
<manifest:file-entry manifest:full-path=\"/\" manifest:media-type=\"application/vnd.oasis.opendocument.spreadsheet\"/>\
<manifest:file-entry manifest:full-path=\"content.xml\" manifest:media-type=\"text/xml\"/>\
</manifest:manifest>";
    zip_of(&[
        ("mimetype".into(), b"application/vnd.oasis.opendocument.spreadsheet".to_vec()),
        ("content.xml".into(), content.into_bytes()),
        ("META-INF/manifest.xml".into(), manifest.as_bytes().to_vec()),
    ])
}

// ---------------------------------------------------------------- conversion

/// Days since 1899-12-30 to `dd/mm/yyyy`.
fn serial_to_dmy(serial: f64) -> String {
    let z = serial.floor() as i64 - 25569 + 719468; // to days since 1970, then civil
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!("{d:02}/{m:02}/{y}")
}

/// Every sheet of an xlsx as (name, cells): cached values, formulas marked, dates as text.
pub fn read_xlsx(path: &Path) -> Vec<(String, Cells)> {
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook(path).expect("xlsx");
    let names = wb.sheet_names();
    names
        .into_iter()
        .map(|name| {
            let range = wb.worksheet_range(&name).expect("range");
            let formulas = wb.worksheet_formula(&name).expect("formulas");
            let (r0, c0) = range.start().unwrap_or((0, 0));
            let mut cells = Vec::new();
            for (r, c, d) in range.used_cells() {
                let (r, c) = (r0 + r as u32, c0 + c as u32);
                let has_formula = formulas.get_value((r, c)).is_some_and(|f| !f.is_empty());
                let v = match d {
                    Data::Float(x) if has_formula => W::Formula(*x),
                    Data::Int(x) if has_formula => W::Formula(*x as f64),
                    Data::Float(x) => W::Num(*x),
                    Data::Int(x) => W::Num(*x as f64),
                    Data::String(s) => W::Text(s.clone()),
                    Data::DateTime(dt) => W::Text(serial_to_dmy(dt.as_f64())),
                    Data::Bool(b) => W::Text(b.to_string()),
                    _ => continue,
                };
                cells.push((r, c, v));
            }
            (name, cells)
        })
        .collect()
}

pub fn ods_from_sheets(sheets: &[(String, Cells)], tail: &[(&str, &str)]) -> Vec<u8> {
    let tables: Vec<String> = sheets
        .iter()
        .map(|(n, c)| {
            let t = tail.iter().filter(|(s, _)| s == n).map(|(_, x)| *x).collect::<String>();
            ods_table(n, c, &t)
        })
        .collect();
    ods_of_tables(&tables)
}

/// Deterministic pseudo-random bytes (xorshift), so "random" fixtures are reproducible.
pub fn pseudo_random(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect()
}

// ---------------------------------------------------------------- the fixture set

/// The good return every Kent-based fixture starts from.
pub fn kent_path() -> std::path::PathBuf {
    super::fixtures().join("samples/2023-25/BCF 2023-25 - Kent.xlsx")
}

/// (row, col) of an A1 reference.
pub fn a1_to_rc(a1: &str) -> (u32, u32) {
    let letters: String = a1.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
    let col = letters.bytes().fold(0u32, |n, b| n * 26 + (b.to_ascii_uppercase() - b'A' + 1) as u32) - 1;
    let row: u32 = a1[letters.len()..].parse::<u32>().unwrap() - 1;
    (row, col)
}

/// The sheet and cell of Kent's first income line, found by running the pipeline on Kent.
pub fn kent_first_line() -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(kent_path(), dir.path().join("kent.xlsx")).unwrap();
    let (_out, t) = super::run_on(dir.path());
    let l = t.lines.iter().min_by_key(|l| (l.sheet.clone(), a1_to_rc(&l.cell))).expect("Kent has income lines");
    (l.sheet.to_string(), l.cell.clone())
}

/// The cover sheet of the 2023-25 template.
pub const COVER: &str = "2. Cover";

/// An edit of a worksheet's XML.
pub type SheetEdit<'a> = &'a dyn Fn(&str) -> String;

/// Kent's xlsx with each of `edits` (sheet name, function of the sheet XML) applied.
pub fn kent_xlsx_with(edits: &[(&str, SheetEdit<'_>)]) -> Vec<u8> {
    let bytes = std::fs::read(kent_path()).unwrap();
    let entries = unzip(&bytes);
    let targets: Vec<(String, SheetEdit<'_>)> =
        edits.iter().map(|(sheet, f)| (xlsx_sheet_path(&entries, sheet), *f)).collect();
    rewrite_zip(&bytes, |name, data| {
        let mut data = data;
        for (path, f) in &targets {
            if name == path {
                data = f(&String::from_utf8(data).unwrap()).into_bytes();
            }
        }
        Some(data)
    })
}

/// Every committed fixture of `fixtures/hostile/`, as (file name, bytes). Deterministic.
pub fn build_all() -> Vec<(String, Vec<u8>)> {
    let kent = std::fs::read(kent_path()).unwrap();
    // The hidden lookup sheets ('Lists', 'Data') are never read: left empty in the xls and
    // ods copies, so those stay small.
    let mut kent_sheets = read_xlsx(&kent_path());
    for (n, cells) in kent_sheets.iter_mut() {
        if n == "Lists" || n == "Data" {
            cells.clear();
        }
    }
    let sheet_names: Vec<String> = kent_sheets.iter().map(|(n, _)| n.clone()).collect();
    let (line_sheet, line_cell) = kent_first_line();
    let (lr, lc) = a1_to_rc(&line_cell);
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    let mut add = |n: &str, b: Vec<u8>| out.push((n.to_string(), b));

    // Not workbooks at all.
    add("empty.xlsx", Vec::new());
    add("truncated.xlsx", kent[..kent.len() * 3 / 5].to_vec());
    add("random.xls", pseudo_random(4096, 0x5EED));
    let mut r = b"PK\x03\x04".to_vec();
    r.extend(pseudo_random(4096, 0xBAD));
    add("random-after-zip-magic.xlsx", r);
    add(
        "html-saved-as.xls",
        b"<html><head><title>BCF</title></head><body><table><tr><td>Kent</td><td>1234</td></tr></table></body></html>\n".to_vec(),
    );
    add("csv-saved-as.xlsx", b"Health and Wellbeing Board,Kent\nDFG,1234567\niBCF,\"1,234,567\"\n".to_vec());
    // Clutter (skipped by name).
    let mut lock = vec![0u8; 165];
    lock[0] = 9;
    lock[1..10].copy_from_slice(b"J. Bloggs");
    add("~$BCF 2023-25 - Kent.xlsx", lock);
    add("Thumbs.db", cfb_of(&[("Catalog", vec![0; 64])]));
    add("desktop.ini", b"[.ShellClassInfo]\r\nIconResource=C:\\x.ico,0\r\n".to_vec());
    add(".DS_Store", pseudo_random(6148, 0xD5));

    // Password-protected.
    add(
        "password-ooxml.xlsx",
        cfb_of(&[("EncryptionInfo", pseudo_random(1024, 1)), ("EncryptedPackage", pseudo_random(8192, 2))]),
    );
    add("password-filepass.xls", xls_of(&kent_sheets[..2], true));
    let ods = ods_from_sheets(&kent_sheets, &[]);
    add(
        "password.ods",
        rewrite_zip(&ods, |n, d| {
            Some(if n == "META-INF/manifest.xml" {
                String::from_utf8(d).unwrap().replace(
                    "manifest:media-type=\"text/xml\"/>",
                    "manifest:media-type=\"text/xml\"><manifest:encryption-data manifest:checksum-type=\"SHA1/1K\" manifest:checksum=\"AAAA\"/></manifest:file-entry>",
                ).into_bytes()
            } else {
                d
            })
        }),
    );
    add("word-document.xls", cfb_of(&[("WordDocument", pseudo_random(600, 3))]));

    // Decompression bombs (small: the lying one is tested with a 1 MiB limit).
    let mut declared = kent.clone();
    lie_about_size(&mut declared, "docProps/app.xml", 300 << 20);
    add("bomb-declared-size.xlsx", declared);
    let base: Vec<(String, Vec<u8>)> = unzip(&kent).into_iter().filter(|(n, _)| n != "docProps/app.xml").collect();
    let mut lying = zip_with_zeros(&base, "docProps/app.xml", 2 << 20);
    lie_about_size(&mut lying, "docProps/app.xml", 1000);
    add("bomb-lying-header-2MiB.xlsx", lying);
    add(
        "bomb-styles-2MiB.xlsx",
        rewrite_zip(&kent, |n, d| {
            Some(if n == "xl/styles.xml" {
                let s = String::from_utf8(d).unwrap();
                let pad = "<!-- padding -->".repeat((2 << 20) / 16);
                s.replacen("<cellXfs", &format!("{pad}<cellXfs"), 1).into_bytes()
            } else {
                d
            })
        }),
    );
    add(
        "shared-strings-count-lie-late.xlsx",
        rewrite_zip(&kent, |n, d| {
            Some(if n == "xl/sharedStrings.xml" {
                // The lie behind 8 KiB of comment: past a first short read of the part.
                let s = String::from_utf8(d).unwrap();
                let sst = s.find("<sst").unwrap();
                let i = s.find("uniqueCount=\"").unwrap() + 13;
                let j = s[i..].find('"').unwrap() + i;
                let pad = format!("<!--{}-->", "x".repeat(8192));
                format!("{}{pad}{}4000000000{}", &s[..sst], &s[sst..i], &s[j..]).into_bytes()
            } else {
                d
            })
        }),
    );
    add(
        "shared-strings-count-lie.xlsx",
        rewrite_zip(&kent, |n, d| {
            Some(if n == "xl/sharedStrings.xml" {
                let s = String::from_utf8(d).unwrap();
                let i = s.find("uniqueCount=\"").unwrap() + 13;
                let j = s[i..].find('"').unwrap() + i;
                format!("{}4000000000{}", &s[..i], &s[j..]).into_bytes()
            } else {
                d
            })
        }),
    );

    // A stray value in the last cell of every sheet (xlsx, ods) / of the income sheet (xls).
    let far_edits: Vec<(&str, SheetEdit<'_>)> = sheet_names
        .iter()
        .map(|n| {
            let f: &dyn Fn(&str) -> String = &|x: &str| {
                add_rows(x, "<row r=\"1048576\"><c r=\"XFD1048576\"><v>1</v></c></row>", Some("A1:XFD1048576"))
            };
            (n.as_str(), f)
        })
        .collect();
    add("far-corner.xlsx", kent_xlsx_with(&far_edits));
    let mut far = kent_sheets.clone();
    for (_, cells) in far.iter_mut() {
        cells.push((1_048_575, 16_383, W::Num(1.0)));
    }
    add("far-corner.ods", ods_from_sheets(&far, &[]));
    let mut far = kent_sheets.clone();
    for (n, cells) in far.iter_mut() {
        if *n == line_sheet {
            cells.push((65_535, 255, W::Num(1.0)));
        }
    }
    add("far-corner.xls", xls_of(&far, false));
    // Two more made like it, from other areas' returns (a run under a memory budget reads three).
    for area in ["Camden BCF 2023-25 Planning Template", "BCF 2023-25 - Barnsley"] {
        let mut sheets = read_xlsx(&super::fixtures().join(format!("samples/2023-25/{area}.xlsx")));
        for (n, cells) in sheets.iter_mut() {
            if n == "Lists" || n == "Data" {
                cells.clear();
            }
            if *n == line_sheet {
                cells.push((65_535, 255, W::Num(1.0)));
            }
        }
        let name = area.split_whitespace().find(|w| ["Camden", "Barnsley"].contains(w)).unwrap().to_lowercase();
        add(&format!("far-corner-{name}.xls"), xls_of(&sheets, false));
    }
    add("saved-as.xls", xls_of(&kent_sheets, false));
    // A small workbook in the compound file's mini stream, the file ending with its data, part
    // way into its last 64-byte mini block (xlrd and calamine read its cells).
    let small = biff8(&[("Sheet1".to_string(), vec![(0, 0, W::Text("Better Care Fund".into()))])], false);
    add("xls-mini-stream-short.xls", cfb_with_mini_stream("Workbook", &small));
    // Excel 4.0: a BIFF4 worksheet on its own (no compound file), and Excel 2.1's BIFF2.
    let mut biff4 = Vec::new();
    rec(&mut biff4, 0x0409, &[0, 0, 0x10, 0, 0, 0]);
    rec(&mut biff4, 0x0204, &[0, 0, 0, 0, 0, 0, 4, 0, b'K', b'e', b'n', b't']);
    rec(&mut biff4, 0x000A, &[]);
    add("excel-4-worksheet.xls", biff4);
    let mut biff2 = Vec::new();
    rec(&mut biff2, 0x0009, &[2, 0, 0x10, 0]);
    rec(&mut biff2, 0x0004, &[0, 0, 0, 0, 0, 0, 0, 4, b'K', b'e', b'n', b't']);
    rec(&mut biff2, 0x000A, &[]);
    add("excel-2-worksheet.xls", biff2);
    // Kent saved as a template (.xltx): the same package, a template's content type.
    let template = rewrite_zip(&kent, |name, bytes| {
        Some(match name {
            "[Content_Types].xml" => {
                String::from_utf8(bytes).unwrap().replace("sheet.main+xml", "template.main+xml").into_bytes()
            }
            _ => bytes,
        })
    });
    add("saved-as-template.xltx", template);
    add("xlsb-with-macro-sheet.xlsb", xlsb_with_macro_sheet());
    add("saved-as.ods", ods_from_sheets(&kent_sheets, &[]));

    // calamine would expand these; the streaming ODS reader does not.
    let repeat_bomb = "<table:table-row table:number-rows-repeated=\"1048000\"><table:table-cell table:number-columns-repeated=\"16384\" office:value-type=\"float\" office:value=\"1\"/></table:table-row>";
    add("ods-repeated-cells-bomb.ods", ods_from_sheets(&kent_sheets, &[(COVER, repeat_bomb)]));
    let spaces = "<table:table-row><table:table-cell office:value-type=\"string\"><text:p>a<text:s text:c=\"2000000000\"/>b</text:p></table:table-cell></table:table-row>";
    add("ods-space-bomb.ods", ods_from_sheets(&kent_sheets, &[(COVER, spaces)]));
    let deep = format!(
        "<table:table-row><table:table-cell office:value-type=\"string\"><text:p>{}deep{}</text:p></table:table-cell></table:table-row>",
        "<text:span>".repeat(100_000),
        "</text:span>".repeat(100_000)
    );
    add("deep-nesting.ods", ods_from_sheets(&kent_sheets, &[(COVER, &deep)]));

    // xls whose dense ranges calamine could not afford.
    let many: Vec<(String, Cells)> =
        (0..20).map(|i| (format!("Sheet{i}"), vec![(0, 0, W::Num(1.0)), (65_535, 255, W::Num(1.0))])).collect();
    add("xls-many-far-sheets.xls", xls_of(&many, false));
    let mut stream = biff8(&kent_sheets[..2], false);
    let dim = stream.windows(4).position(|w| w == [0x00, 0x02, 14, 0]).expect("DIMENSIONS");
    stream[dim + 8..dim + 12].copy_from_slice(&u32::MAX.to_le_bytes());
    add("xls-lying-dimensions.xls", cfb_of(&[("Workbook", stream)]));
    let mut mulrk = Vec::new();
    mulrk.extend_from_slice(&3u16.to_le_bytes()); // row
    mulrk.extend_from_slice(&5u16.to_le_bytes()); // first column
    mulrk.extend_from_slice(&[0, 0, 0, 0, 0xF0, 0x3F]); // one RK
    mulrk.extend_from_slice(&2u16.to_le_bytes()); // last column, before the first
    let mut bad = kent_sheets[..2].to_vec();
    bad[0].1.push((0, 0, W::Raw(0x00BD, mulrk)));
    add("xls-mulrk-columns-reversed.xls", xls_of(&bad, false));

    // Long strings, deep nesting and many cells in xlsx.
    let long = "x".repeat(1 << 20);
    add(
        "long-string.xlsx",
        kent_xlsx_with(&[(COVER, &|x: &str| {
            add_rows(x, &format!("<row r=\"900\"><c r=\"Z900\" t=\"inlineStr\"><is><t>{long}</t></is></c></row>"), None)
        })]),
    );
    // One 100,000-character shared string, referenced by 3,000 cells of the cover: cut at
    // 32,767 characters per cell, that is 98 MB of text.
    let entries = unzip(&kent);
    let cover_path = xlsx_sheet_path(&entries, COVER);
    let sst = String::from_utf8(entries.iter().find(|(n, _)| n == "xl/sharedStrings.xml").unwrap().1.clone()).unwrap();
    let idx = sst.matches("<si>").count();
    let refs: String = (0..3_000)
        .map(|i| format!("<row r=\"{}\"><c r=\"Z{}\" t=\"s\"><v>{idx}</v></c></row>", 1000 + i, 1000 + i))
        .collect();
    add(
        "long-string-shared-3000-refs.xlsx",
        rewrite_zip(&kent, |n, d| {
            let x = String::from_utf8(d.clone()).unwrap_or_default();
            Some(if n == "xl/sharedStrings.xml" {
                x.replace("</sst>", &format!("<si><t>{}</t></si></sst>", "y".repeat(100_000))).into_bytes()
            } else if n == cover_path {
                add_rows(&x, &refs, None).into_bytes()
            } else {
                d
            })
        }),
    );
    add(
        "deep-nesting.xlsx",
        kent_xlsx_with(&[(COVER, &|x: &str| {
            let deep = format!("{}{}", "<x>".repeat(1_000_000), "</x>".repeat(1_000_000));
            x.replacen("<sheetData>", &format!("<sheetData>{deep}"), 1)
        })]),
    );
    let cells: String = (0..200)
        .map(|r| {
            let row = 2000 + r;
            let cs: String = (0..100).map(|c| format!("<c r=\"{}{row}\"><v>{c}</v></c>", col_letters(c))).collect();
            format!("<row r=\"{row}\">{cs}</row>")
        })
        .collect();
    add("many-cells-20000.xlsx", kent_xlsx_with(&[(COVER, &|x: &str| add_rows(x, &cells, None))]));

    // A money line holding a formula with no cached value.
    add(
        "formula-not-calculated.xlsx",
        kent_xlsx_with(&[(&line_sheet, &|x: &str| {
            replace_cell(x, &line_cell, &format!("<c r=\"{line_cell}\"><f>1200000+34567</f></c>"))
        })]),
    );
    let mut fnc = kent_sheets.clone();
    for (n, cells) in fnc.iter_mut() {
        if *n == line_sheet {
            for (r, c, v) in cells.iter_mut() {
                if (*r, *c) == (lr, lc) {
                    *v = W::FormulaNoValue;
                }
            }
        }
    }
    add("formula-not-calculated.ods", ods_from_sheets(&fnc, &[]));
    add("formula-not-calculated.xls", xls_of(&fnc, false));
    out
}

pub fn col_letters(mut c: u32) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (c % 26) as u8);
        if c < 26 {
            break;
        }
        c = c / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap()
}

/// A minimal `.xlsb` with a worksheet `Income` and an Excel 4 macro sheet `Macro1`: the
/// workbook part's BrtBundleSh records and the relationships that name each sheet's part.
pub fn xlsb_with_macro_sheet() -> Vec<u8> {
    fn record(out: &mut Vec<u8>, typ: u16, data: &[u8]) {
        if typ < 0x80 {
            out.push(typ as u8);
        } else {
            out.extend([(typ & 0x7F) as u8 | 0x80, (typ >> 7) as u8]);
        }
        assert!(data.len() < 0x80);
        out.push(data.len() as u8);
        out.extend_from_slice(data);
    }
    fn wide(out: &mut Vec<u8>, s: &str) {
        out.extend((s.len() as u32).to_le_bytes());
        out.extend(s.encode_utf16().flat_map(u16::to_le_bytes));
    }
    let mut book = Vec::new();
    record(&mut book, 0x0083, &[]); // BrtBeginBook
    record(&mut book, 0x008F, &[]); // BrtBeginBundleShs
    for (tab, (id, name)) in [("rId1", "Income"), ("rId2", "Macro1")].iter().enumerate() {
        let mut d = Vec::new();
        d.extend(0u32.to_le_bytes());
        d.extend((tab as u32 + 1).to_le_bytes());
        wide(&mut d, id);
        wide(&mut d, name);
        record(&mut book, 0x009C, &d);
    }
    record(&mut book, 0x0090, &[]); // BrtEndBundleShs
    record(&mut book, 0x0084, &[]); // BrtEndBook
    let rel =
        |id: &str, typ: &str, target: &str| format!("<Relationship Id=\"{id}\" Type=\"{typ}\" Target=\"{target}\"/>");
    let ns = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
    let rels = format!(
        "<?xml version=\"1.0\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">{}{}</Relationships>",
        rel("rId1", &format!("{ns}/worksheet"), "worksheets/sheet1.bin"),
        rel("rId2", "http://schemas.microsoft.com/office/2006/relationships/xlMacrosheet", "macrosheets/sheet2.bin"),
    );
    let root = format!(
        "<?xml version=\"1.0\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">{}</Relationships>",
        rel("rId1", &format!("{ns}/officeDocument"), "xl/workbook.bin")
    );
    let types = "<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"><Default Extension=\"bin\" ContentType=\"application/vnd.ms-excel.sheet.binary.macroEnabled.main\"/><Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/></Types>";
    let mut sheet = Vec::new();
    record(&mut sheet, 0x0181, &[]); // BrtBeginSheet
    record(&mut sheet, 0x0182, &[]); // BrtEndSheet
    zip_of(&[
        ("[Content_Types].xml".into(), types.as_bytes().to_vec()),
        ("_rels/.rels".into(), root.into_bytes()),
        ("xl/workbook.bin".into(), book),
        ("xl/_rels/workbook.bin.rels".into(), rels.into_bytes()),
        ("xl/worksheets/sheet1.bin".into(), sheet.clone()),
        ("xl/macrosheets/sheet2.bin".into(), sheet),
    ])
}
