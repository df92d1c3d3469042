//! Property-based fuzzing (proptest) of workbook reading and amount parsing.
//!
//! `make fuzz` runs these with many more cases (`PROPTEST_CASES`); an ordinary `cargo test`
//! runs a few. A failing case is minimised by proptest and saved under
//! `tests/proptest-regressions/`; a crasher found here becomes a file in `fixtures/hostile/`
//! with its own test in `tests/hostile.rs`.
//!
//! Properties:
//! - our own readers (the size check, the CFB and BIFF scans, the ODS reader) never panic on
//!   any bytes, whole-file or inside a zip entry;
//! - the whole per-file read (`validate::stage::parse_catching_panics`, which wraps calamine)
//!   always returns, with
//!   findings for anything unreadable: no abort, no escaping panic;
//! - amount parsing never panics, and reads back every amount written in the habits of
//!   catalogue §3.

use crate::support::hostile_gen as gen;
use bcf::model::Pence;
use bcf::workbook::{Limits, Workbook};
use proptest::prelude::*;
use std::sync::OnceLock;

/// Small seed workbooks: York 2015-16 as xlsx, ods and xls (built once).
fn seeds() -> &'static [(&'static str, Vec<u8>)] {
    static SEEDS: OnceLock<Vec<(&'static str, Vec<u8>)>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let york = crate::support::fixtures().join("samples/2015-16/2015-16 BCF template York.xlsx");
        let sheets = gen::read_xlsx(&york);
        vec![
            ("xlsx", std::fs::read(&york).unwrap()),
            ("ods", gen::ods_from_sheets(&sheets, &[])),
            ("xls", gen::xls_of(&sheets, false)),
        ]
    })
}

fn small_limits() -> Limits {
    // Small limits, so a mutation that inflates something fails fast and cheaply.
    Limits {
        max_inflated_bytes: 8 << 20,
        max_resident_part_bytes: 4 << 20,
        max_total_inflated_bytes: 16 << 20,
        max_cells_per_sheet: 200_000,
        max_text_bytes_per_sheet: 8 << 20,
        max_dense_cells: 2_000_000,
        max_worker_address_space_mib: 512,
    }
}

/// One mutation of a seed.
#[derive(Debug, Clone)]
enum Mutation {
    /// Overwrite a byte (position taken modulo the length).
    Set(usize, u8),
    /// Insert bytes.
    Insert(usize, Vec<u8>),
    /// Delete a range.
    Delete(usize, usize),
    /// Cut the file.
    Truncate(usize),
    /// Replace a run with a numeric-looking or markup token, to reach deeper paths.
    Token(usize, &'static str),
}

const TOKENS: &[&str] = &[
    "99999999999",
    "-1",
    "4294967295",
    "1048576",
    "XFD1048576",
    "IV65536",
    "<x>",
    "</c>",
    "<c r=\"A1\" t=\"s\"><v>999999</v></c>",
    "&#0;",
    "&amp",
    "\"",
    "<![CDATA[",
    "table:number-rows-repeated=\"1048576\"",
    "table:number-columns-repeated=\"16384\"",
    "\u{FFFF}",
];

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        1 => (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..16)).prop_map(|(i, v)| Mutation::Insert(i, v)),
        1 => (any::<usize>(), 1usize..64).prop_map(|(i, n)| Mutation::Delete(i, n)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        2 => (any::<usize>(), proptest::sample::select(TOKENS)).prop_map(|(i, t)| Mutation::Token(i, t)),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    if bytes.is_empty() {
        return;
    }
    let len = bytes.len();
    match m {
        Mutation::Set(i, b) => bytes[i % len] = *b,
        Mutation::Insert(i, v) => {
            let at = i % (len + 1);
            bytes.splice(at..at, v.iter().copied());
        }
        Mutation::Delete(i, n) => {
            let at = i % len;
            let end = (at + n).min(len);
            bytes.drain(at..end);
        }
        Mutation::Truncate(i) => bytes.truncate(i % len),
        Mutation::Token(i, t) => {
            let at = i % len;
            let end = (at + t.len()).min(len);
            bytes.splice(at..end, t.bytes());
        }
    }
}

/// Mutates either the whole file or (for zips) one entry's content, then re-zips: a
/// mutation inside a deflated entry would otherwise only ever test the CRC check.
fn mutate(seed: &[u8], inside: Option<usize>, ms: &[Mutation]) -> Vec<u8> {
    match inside {
        Some(k) if seed.starts_with(b"PK") => {
            let mut entries = gen::unzip(seed);
            let n = entries.len();
            let e = &mut entries[k % n].1;
            for m in ms {
                apply(e, m);
            }
            gen::zip_of(&entries)
        }
        _ => {
            let mut b = seed.to_vec();
            for m in ms {
                apply(&mut b, m);
            }
            b
        }
    }
}

/// Our own code only: the check, and for ODS the whole read. Panics propagate (a bug).
fn read_ours(path: &std::path::Path) {
    let limits = small_limits();
    let bytes = std::fs::read(path).unwrap();
    let Ok(format) = bcf::workbook::sniff::check_source(&mut bcf::workbook::Source::from_bytes(bytes.clone()), limits)
    else {
        return;
    };
    if format == bcf::workbook::Format::Ods {
        if let Ok(mut wb) = Workbook::open(bytes, limits) {
            for name in wb.sheet_names().to_vec() {
                let _ = wb.sheet(&name);
            }
        }
    }
}

fn context() -> &'static (bcf::schema::SchemaSet, bcf::reference::Areas) {
    static CTX: OnceLock<(bcf::schema::SchemaSet, bcf::reference::Areas)> = OnceLock::new();
    CTX.get_or_init(|| bcf::load::all(&bcf::load::default_schemas_dir()).expect("schemas"))
}

/// The production path for one file: must return (panics inside are caught there).
fn read_all(path: &std::path::Path) -> bcf::validate::ParsedFile {
    let (schemas, areas) = context();
    let ctx = bcf::validate::Context { schemas, areas, limits: small_limits() };
    bcf::validate::stage::parse_catching_panics(std::fs::read(path).unwrap(), &ctx)
}

fn quiet_panics<T>(f: impl FnOnce() -> T) -> T {
    // The read catches calamine's panics; keep their messages out of the test output.
    static HOOK: OnceLock<()> = OnceLock::new();
    HOOK.get_or_init(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name().is_some_and(|n| n.contains("always_returns")) {
                return;
            }
            default(info)
        }));
    });
    f()
}

/// Seed workbook `seed`, mutated, written to a file in a fresh folder (kept alive by the guard).
fn mutated_file(seed: usize, inside: Option<usize>, ms: &[Mutation]) -> (tempfile::TempDir, std::path::PathBuf) {
    let bytes = mutate(&seeds()[seed].1, inside, ms);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("f.{}", seeds()[seed].0));
    std::fs::write(&path, &bytes).unwrap();
    (dir, path)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(64), ..ProptestConfig::default() })]

    #[test]
    fn fuzz_our_readers_never_panic(
        seed in 0usize..3,
        inside in proptest::option::of(any::<usize>()),
        ms in proptest::collection::vec(mutation(), 1..6),
    ) {
        let (_dir, path) = mutated_file(seed, inside, &ms);
        read_ours(&path);
    }

    #[test]
    fn fuzz_reading_a_file_always_returns(
        seed in 0usize..3,
        inside in proptest::option::of(any::<usize>()),
        ms in proptest::collection::vec(mutation(), 1..6),
    ) {
        let (_dir, path) = mutated_file(seed, inside, &ms);
        let parsed = quiet_panics(|| read_all(&path));
        // Unreadable means a finding, never silence.
        prop_assert!(parsed.template_id.is_some() || !parsed.findings.is_empty());
    }

    #[test]
    fn fuzz_amount_text_never_panics(s in "\\PC{0,40}") {
        let _ = bcf::money::parse_text(&s);
    }

    #[test]
    fn fuzz_amount_text_with_digits_never_panics(s in "[-(£ ,.0-9)\u{a0}]{0,400}") {
        let _ = bcf::money::parse_text(&s);
    }

    #[test]
    fn fuzz_amount_from_any_f64(x in any::<f64>()) {
        let _ = bcf::money::from_f64(x);
    }

    #[test]
    fn fuzz_amounts_read_back_in_every_habit(pence in 0i128..100_000_000_000, habit in 0usize..4) {
        let pounds = pence / 100;
        let p = pence % 100;
        let commas = {
            let d = pounds.to_string();
            let mut out = String::new();
            for (i, ch) in d.chars().enumerate() {
                if i > 0 && (d.len() - i) % 3 == 0 {
                    out.push(',');
                }
                out.push(ch);
            }
            out
        };
        let text = match habit {
            0 => format!("£{commas}.{p:02}"),
            1 => format!("{commas}.{p:02}"),
            2 => format!(" {pounds}.{p:02} "),
            _ => format!("{pounds}.{p:02}"),
        };
        prop_assert_eq!(bcf::money::parse_text(&text), Ok(Some(Pence(pence))), "{}", text);
    }
}

/// `PROPTEST_CASES` when set (as `make fuzz` does), else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}
