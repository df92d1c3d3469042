//! Hostile and broken files: each is rejected (or skipped, or read correctly) on its own,
//! with a finding that says why, and never disturbs another file's results.
//!
//! The fixtures in `fixtures/hostile/` are built by `support::hostile_gen::build_all`
//! (`cargo test --test main hostile::regenerate -- --ignored` rewrites them); the big ones
//! are built into a temporary folder by the tests that need them.

use crate::support::hostile_gen::{self as gen, a1_to_rc, W};
use crate::support::{bcf_bin, findings_of, fixtures, run_on, submission};
use bcf::model::Status;
use bcf::run::{run_all, RunConfig};
use bcf::tables::Tables;
use bcf::workbook::Limits;
use std::path::{Path, PathBuf};

fn hostile_dir() -> PathBuf {
    fixtures().join("hostile")
}

/// Runs the pipeline over one file (from `fixtures/hostile/`) alone, with these limits.
fn run_one(name: &str, limits: Limits) -> Tables {
    let bytes = std::fs::read(hostile_dir().join(name))
        .unwrap_or_else(|e| panic!("fixtures/hostile/{name}: {e} (regenerate the fixtures)"));
    run_bytes(name, &bytes, limits)
}

fn run_bytes(name: &str, bytes: &[u8], limits: Limits) -> Tables {
    let input = tempfile::tempdir().unwrap();
    std::fs::write(input.path().join(name), bytes).unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut cfg = RunConfig::new(input.path(), out.path());
    cfg.limits = limits;
    run_all(&cfg).expect("the run completes")
}

/// Asserts the file's status, and (for rejected files) its only finding's rule and message.
fn expect(name: &str, limits: Limits, status: Status, rule: &str, message: &str) -> Tables {
    let t = run_one(name, limits);
    let s = submission(&t, name);
    // "accepted" also admits accepted_with_warnings: one file alone has no allocations
    // workbook beside it, so it always carries `allocation-missing` warnings.
    assert!(
        s.status == status || (status == Status::Accepted && s.status == Status::AcceptedWithWarnings),
        "{name}: {} {:#?}",
        s.status,
        t.findings
    );
    if !rule.is_empty() {
        let f: Vec<_> = t.findings.iter().filter(|f| f.source_file == name).collect();
        assert_eq!(f.len(), 1, "{name}: {f:#?}");
        assert_eq!(f[0].rule.id(), rule, "{name}: {f:#?}");
        assert!(f[0].message.contains(message), "{name}: message {:?} lacks {message:?}", f[0].message);
    }
    t
}

fn rejected(name: &str, rule: &str, message: &str) {
    expect(name, Limits::default(), Status::Rejected, rule, message);
}

/// What a file contributed, without its file name: lines and findings by location.
fn lines_of(t: &Tables) -> Vec<String> {
    let mut v: Vec<String> = t
        .lines
        .iter()
        .map(|l| {
            format!(
                "{} {} {} {} {} {} {}!{}",
                l.financial_year,
                l.basis,
                l.area_code,
                l.funding_source,
                l.contributor.as_deref().unwrap_or("-"),
                l.amount.to_gbp(),
                l.sheet,
                l.cell
            )
        })
        .collect();
    v.sort();
    v
}

/// The lines of `bytes` read as `name`, a file that must count.
fn lines_counted(name: &str, bytes: &[u8]) -> Vec<String> {
    let t = run_bytes(name, bytes, Limits::default());
    assert!(submission(&t, name).status.contributes(), "{name}: {:#?}", t.findings);
    lines_of(&t)
}

fn kent_tables() -> Tables {
    let bytes = std::fs::read(gen::kent_path()).unwrap();
    run_bytes("kent.xlsx", &bytes, Limits::default())
}

/// The file is read exactly as the good Kent return it was made from.
fn same_as_kent(name: &str) {
    let kent = kent_tables();
    let t = expect(name, Limits::default(), Status::Accepted, "", "");
    assert!(!t.lines.is_empty());
    assert_eq!(lines_of(&t), lines_of(&kent), "{name}");
    assert_eq!(findings_of(&t, name), findings_of(&kent, "kent.xlsx"), "{name}");
    assert_eq!(t.schemes.len(), kent.schemes.len(), "{name}");
}

// ------------------------------------------------------------ not workbooks

#[test]
fn empty_file() {
    rejected("empty.xlsx", "file-unreadable", "empty");
}

#[test]
fn truncated_workbook() {
    rejected("truncated.xlsx", "file-unreadable", "damaged or truncated");
}

#[test]
fn random_bytes() {
    rejected("random.xls", "file-unreadable", "not a spreadsheet");
}

#[test]
fn random_bytes_after_zip_magic() {
    rejected("random-after-zip-magic.xlsx", "file-unreadable", "damaged or truncated");
}

#[test]
fn html_saved_as_xls() {
    rejected("html-saved-as.xls", "file-unreadable", "HTML page");
}

#[test]
fn csv_saved_as_xlsx() {
    rejected("csv-saved-as.xlsx", "file-unreadable", "CSV");
}

#[test]
fn word_document_saved_as_xls() {
    rejected("word-document.xls", "file-unreadable", "Word document");
}

#[test]
fn lock_files_and_desktop_clutter_are_skipped() {
    for name in ["~$BCF 2023-25 - Kent.xlsx", "Thumbs.db", "desktop.ini", ".DS_Store"] {
        let t = run_one(name, Limits::default());
        assert_eq!(submission(&t, name).status, Status::Skipped, "{name}");
        assert!(findings_of(&t, name).is_empty(), "{name}");
    }
}

// ------------------------------------------------------------ passwords

#[test]
fn password_protected_ooxml() {
    rejected("password-ooxml.xlsx", "file-unreadable", "password-protected");
}

/// Excel's built-in default password (`VelvetSweatshop`, which Excel opens without asking) is
/// removed and the workbook read exactly as the original; a workbook with a password of its
/// own stays refused, saying how to remove it (fixtures/encrypted/, made by its make.py).
#[test]
fn the_default_password_is_removed_and_an_own_password_is_refused_with_how_to_remove_it() {
    let encrypted = crate::support::fixtures().join("encrypted");
    let read = |path: &Path| run_bytes("Kent.xlsx", &std::fs::read(path).unwrap(), Limits::default());
    let kent = read(&gen::kent_path());
    let velvet = read(&encrypted.join("default-password.xlsx"));
    assert_eq!(submission(&velvet, "Kent.xlsx").status, submission(&kent, "Kent.xlsx").status);
    assert!(!lines_of(&velvet).is_empty());
    assert_eq!(lines_of(&velvet), lines_of(&kent), "decrypted, it is Kent");
    let own = read(&encrypted.join("own-password.xlsx"));
    assert_eq!(submission(&own, "Kent.xlsx").status, Status::Rejected);
    let f = &own.findings[0];
    assert_eq!((own.findings.len(), f.rule.id()), (1, "file-unreadable"));
    assert!(f.message.contains("password-protected") && f.message.contains("Encrypt with Password"), "{}", f.message);
}

#[test]
fn password_protected_xls_filepass() {
    rejected("password-filepass.xls", "file-unreadable", "password-protected");
}

#[test]
fn password_protected_ods() {
    rejected("password.ods", "file-unreadable", "password-protected");
}

// ------------------------------------------------------------ decompression bombs

#[test]
fn bomb_declared_size_beyond_limit() {
    rejected(
        "bomb-declared-size.xlsx",
        "file-too-large",
        "'docprops/app.xml' of the workbook inflates beyond the 256 MiB limit",
    );
}

#[test]
fn bomb_lying_header_is_decided_by_inflating() {
    // 2 MiB of zeros whose headers claim 1,000 bytes, against a 1 MiB limit.
    let limits = Limits { max_inflated_bytes: 1 << 20, ..Limits::default() };
    expect(
        "bomb-lying-header-2MiB.xlsx",
        limits,
        Status::Rejected,
        "file-too-large",
        "inflates beyond the 1 MiB limit",
    );
    // Within a 4 MiB limit it is no bomb, only a damaged part no reader touches.
    let limits = Limits { max_inflated_bytes: 4 << 20, ..Limits::default() };
    expect("bomb-lying-header-2MiB.xlsx", limits, Status::Accepted, "", "");
}

#[test]
fn bomb_real_300_mib_part_with_lying_header() {
    let kent = std::fs::read(gen::kent_path()).unwrap();
    let base: Vec<_> = gen::unzip(&kent).into_iter().filter(|(n, _)| n != "xl/worksheets/sheet1.xml").collect();
    let mut bomb = gen::zip_with_zeros(&base, "xl/worksheets/sheet1.xml", 300 << 20);
    assert!(bomb.len() < 1 << 20, "{} bytes", bomb.len());
    gen::lie_about_size(&mut bomb, "xl/worksheets/sheet1.xml", 1771);
    let t = run_bytes("bomb.xlsx", &bomb, Limits::default());
    assert_eq!(submission(&t, "bomb.xlsx").status, Status::Rejected);
    assert_eq!(findings_of(&t, "bomb.xlsx"), vec![("file-too-large".to_string(), String::new())]);
}

#[test]
fn bomb_part_held_in_memory_has_the_smaller_limit() {
    // styles.xml of 2 MiB against a 1 MiB limit for parts held whole (default 32 MiB).
    let limits = Limits { max_resident_part_bytes: 1 << 20, ..Limits::default() };
    expect(
        "bomb-styles-2MiB.xlsx",
        limits,
        Status::Rejected,
        "file-too-large",
        "beyond the 1 MiB limit for parts read whole into memory",
    );
    expect("bomb-styles-2MiB.xlsx", Limits::default(), Status::Accepted, "", "");
}

#[test]
fn zip_reader_stops_at_declared_size() {
    // The design of the size check relies on this (see pipeline/workbook/sniff.rs): an entry
    // is never read beyond its declared size by the zip crate calamine uses.
    use std::io::Read;
    let bytes = std::fs::read(hostile_dir().join("bomb-lying-header-2MiB.xlsx")).unwrap();
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut e = z.by_name("docProps/app.xml").unwrap();
    let mut sink = Vec::new();
    let err = e.read_to_end(&mut sink).unwrap_err();
    assert!(sink.len() <= 1001, "{} bytes read", sink.len());
    assert!(err.to_string().contains("declared"), "{err}");
}

#[test]
fn shared_strings_count_lie() {
    rejected("shared-strings-count-lie.xlsx", "file-unreadable", "declares more strings");
    rejected("shared-strings-count-lie-late.xlsx", "file-unreadable", "declares more strings");
}

// ------------------------------------------------------------ enormous used ranges

#[test]
fn far_corner_value_xlsx_is_ignored() {
    same_as_kent("far-corner.xlsx");
}

#[test]
fn far_corner_value_ods_is_ignored() {
    same_as_kent("far-corner.ods");
}

#[test]
fn far_corner_value_xls_is_ignored() {
    same_as_kent("far-corner.xls");
}

#[test]
fn saved_as_xls_and_ods_read_like_xlsx() {
    same_as_kent("saved-as.xls");
    same_as_kent("saved-as.ods");
}

#[test]
fn ods_repeated_filled_cells_bomb() {
    rejected("ods-repeated-cells-bomb.ods", "file-too-large", "more than 2000000 filled cells");
}

#[test]
fn ods_repeated_spaces_bomb_is_read() {
    same_as_kent("ods-space-bomb.ods");
}

#[test]
fn xls_many_sheets_with_far_values() {
    rejected("xls-many-far-sheets.xls", "file-too-large", "too large to read safely");
}

#[test]
fn xls_lying_dimensions() {
    rejected(
        "xls-lying-dimensions.xls",
        "file-too-large",
        "declares its size as 12,884,901,885 cells (its DIMENSIONS record), though its values fill only B2:C17",
    );
}

#[test]
fn xls_damaged_record_becomes_a_finding() {
    // calamine subtracts the MULRK columns unchecked: a panic in debug builds (overflow
    // checks), caught at the file boundary; an error in release builds. Either way: a finding
    // on this file that says what to do, and the run goes on.
    let name = "xls-mulrk-columns-reversed.xls";
    expect(name, Limits::default(), Status::Rejected, "file-unreadable", "save it again");
}

// ------------------------------------------------------------ long strings, nesting, cells

#[test]
fn long_string_is_read() {
    same_as_kent("long-string.xlsx");
}

#[test]
fn long_shared_string_referenced_by_many_cells() {
    rejected("long-string-shared-3000-refs.xlsx", "file-too-large", "MiB of text");
}

#[test]
fn deeply_nested_xml_is_read() {
    same_as_kent("deep-nesting.xlsx");
    same_as_kent("deep-nesting.ods");
}

#[test]
fn many_cells_beyond_the_cell_limit() {
    let limits = Limits { max_cells_per_sheet: 10_000, ..Limits::default() };
    expect("many-cells-20000.xlsx", limits, Status::Rejected, "file-too-large", "more than 10000 filled cells");
}

/// Kent's return with 21,000 rows × 100 columns of values added to its cover sheet.
fn kent_with_2_1_million_cells() -> Vec<u8> {
    let rows: String = (0..21_000u32)
        .map(|r| {
            let row = 2000 + r;
            let cs: String =
                (0..100u32).map(|c| format!("<c r=\"{}{row}\"><v>1</v></c>", gen::col_letters(c))).collect();
            format!("<row r=\"{row}\">{cs}</row>")
        })
        .collect();
    gen::kent_xlsx_with(&[(gen::COVER, &|x: &str| gen::add_rows(x, &rows, None))])
}

#[test]
fn millions_of_cells_with_default_limits() {
    let bytes = kent_with_2_1_million_cells();
    let t = run_bytes("cells.xlsx", &bytes, Limits::default());
    let f: Vec<_> = t.findings.iter().filter(|f| f.source_file == "cells.xlsx").collect();
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].rule.id(), "file-too-large");
    assert!(f[0].message.contains("more than 2000000 filled cells"));
}

// ------------------------------------------------------------ formulas without values

fn formula_not_calculated(name: &str) {
    let (sheet, cell) = gen::kent_first_line();
    let t = run_one(name, Limits::default());
    assert_eq!(submission(&t, name).status, Status::Rejected);
    // The only error; the missing line also shows in warnings (totals, expenditure).
    let errors: Vec<_> = t
        .findings
        .iter()
        .filter(|f| f.source_file == name && f.severity == bcf::model::Severity::Error)
        .map(|f| {
            (
                f.rule.id().to_string(),
                format!("{}!{}", f.sheet.clone().unwrap_or_default(), f.cell.clone().unwrap_or_default()),
            )
        })
        .collect();
    assert_eq!(errors, vec![("formula-not-calculated".to_string(), format!("{sheet}!{cell}"))], "{:#?}", t.findings);
    assert!(t.lines.is_empty(), "a rejected return contributes nothing");
}

#[test]
fn formula_not_calculated_xlsx() {
    formula_not_calculated("formula-not-calculated.xlsx");
}

#[test]
fn formula_not_calculated_ods() {
    formula_not_calculated("formula-not-calculated.ods");
}

#[test]
fn formula_not_calculated_xls() {
    formula_not_calculated("formula-not-calculated.xls");
}

// ------------------------------------------------------------ isolation and memory

/// Hostile files that are rejected or skipped (the Kent-based ones that read as Kent would
/// be a second Kent submission, which is a different rule's business).
fn rejected_or_skipped() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(hostile_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n != "README.md"
                && !n.starts_with("far-corner")
                && !n.starts_with("saved-as")
                && !n.starts_with("formula-not-calculated")
                && !n.starts_with("deep-nesting")
                && n != "long-string.xlsx"
                && n != "ods-space-bomb.ods"
                && n != "bomb-lying-header-2MiB.xlsx"
                && n != "many-cells-20000.xlsx"
                && n != "bomb-styles-2MiB.xlsx"
        })
        .collect();
    v.sort();
    v
}

use crate::support::fs::copy_tree as copy_filtered;

fn copy_tree(from: &Path, to: &Path) {
    copy_filtered(from, to, |_| true);
}

#[test]
fn mixed_corpus_gives_good_files_the_same_results() {
    let good = tempfile::tempdir().unwrap();
    copy_tree(&fixtures().join("samples"), good.path());
    let (_o1, clean) = run_on(good.path());

    let mixed = tempfile::tempdir().unwrap();
    copy_tree(&fixtures().join("samples"), mixed.path());
    let hostile = mixed.path().join("zz hostile");
    std::fs::create_dir(&hostile).unwrap();
    let names = rejected_or_skipped();
    for n in &names {
        std::fs::copy(hostile_dir().join(n), hostile.join(n)).unwrap();
    }
    let (_o2, t) = run_on(mixed.path());

    let without = |t: &Tables| {
        let mut t = t.clone();
        t.submissions.retain(|s| !s.source_file.starts_with("zz hostile/"));
        t.findings.retain(|f| !f.source_file.starts_with("zz hostile/"));
        t
    };
    let t2 = without(&t);
    assert_eq!(t2.submissions, clean.submissions);
    assert_eq!(t2.findings, clean.findings);
    assert_eq!(t.lines, clean.lines);
    assert_eq!(t.schemes, clean.schemes);
    assert_eq!(t.national, clean.national);
    for n in &names {
        let s = submission(&t, &format!("zz hostile/{n}"));
        assert!(s.status == Status::Rejected || s.status == Status::Skipped, "{n}: {}", s.status);
    }
}

/// The memory bound of docs/hostile-files.md, tested: the binary, under an address-space
/// limit, over the samples plus every hostile file plus the big ones built here (a 300 MiB
/// bomb with a lying header, 2.1 million cells), exits 0 with the good files accepted.
#[test]
fn memory_bound_holds_for_the_binary() {
    let input = tempfile::tempdir().unwrap();
    copy_tree(&fixtures().join("samples"), input.path());
    let h = input.path().join("hostile");
    std::fs::create_dir(&h).unwrap();
    for n in rejected_or_skipped() {
        std::fs::copy(hostile_dir().join(&n), h.join(&n)).unwrap();
    }
    let kent = std::fs::read(gen::kent_path()).unwrap();
    let base: Vec<_> = gen::unzip(&kent).into_iter().filter(|(n, _)| n != "xl/worksheets/sheet1.xml").collect();
    let mut bomb = gen::zip_with_zeros(&base, "xl/worksheets/sheet1.xml", 300 << 20);
    gen::lie_about_size(&mut bomb, "xl/worksheets/sheet1.xml", 1771);
    std::fs::write(h.join("bomb-300MiB.xlsx"), bomb).unwrap();
    let cells = kent_with_2_1_million_cells();
    std::fs::write(h.join("cells-2.1M.xlsx"), cells).unwrap();

    let stdout = run_bin_limited(input.path());
    let samples = crate::support::fs::files(&fixtures().join("samples")).len();
    assert!(stdout.contains(&format!("{samples} accepted")), "{stdout}");

    // The costliest file calamine is still given: an .xls with a value in IV65536, read
    // (dense, ~0.5 GB) twice over, both in flight at once.
    let input = tempfile::tempdir().unwrap();
    let mut xls = std::fs::read(hostile_dir().join("far-corner.xls")).unwrap();
    for k in 0..2 {
        xls.extend_from_slice(&[0; 512]); // a different file (not a duplicate)
        std::fs::write(input.path().join(format!("far-corner-{k}.xls")), &xls).unwrap();
    }
    let (out, stdout) = run_bin_under(input.path(), MEMORY_LIMIT_MIB);
    // Two Kent returns with the same date conflict, but both were read whole.
    assert!(stdout.contains("2 rejected"), "{stdout}");
    let findings = crate::support::read_parquet(&crate::support::published(out.path()).join("findings.parquet"));
    assert!(findings.iter().all(|f| f["rule"] != "file-too-large"), "read whole, not refused: {findings:?}");
    assert!(findings.iter().any(|f| f["rule"] == "submission-conflict"), "{findings:?}");
}

/// Runs `bcf run` over `input` under the address-space limit; returns its standard output.
fn run_bin_limited(input: &Path) -> String {
    let limit_mib = std::env::var("BCF_MEMORY_LIMIT_MIB").ok().and_then(|v| v.parse().ok()).unwrap_or(MEMORY_LIMIT_MIB);
    run_bin_under(input, limit_mib).1
}

/// Runs `bcf run` over `input` with `limit_mib` MiB of address space (for it and, inherited,
/// its workers); its output folder and standard output.
fn run_bin_under(input: &Path, limit_mib: u64) -> (tempfile::TempDir, String) {
    let out = tempfile::tempdir().unwrap();
    let limit_kib = limit_mib * 1024;
    // GNU time, where installed, reports the peak resident set (for docs/hostile-files.md).
    let time = if Path::new("/usr/bin/time").exists() { "/usr/bin/time -f 'peak RSS %M KiB'" } else { "" };
    let cmd = format!(
        "ulimit -v {limit_kib} && exec {time} '{}' --quiet run --input '{}' --out '{}'",
        bcf_bin().display(),
        input.display(),
        out.path().display()
    );
    let o = std::process::Command::new("sh").arg("-c").arg(&cmd).env("RAYON_NUM_THREADS", "2").output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&o.stderr);
    if let Some(rss) = stderr.lines().find(|l| l.starts_with("peak RSS")) {
        eprintln!("{}: {rss} (limit {limit_mib} MiB of address space)", input.display());
    }
    assert!(o.status.success(), "exit {:?}\n{stdout}\n{}", o.status, String::from_utf8_lossy(&o.stderr));
    (out, stdout)
}

/// Under 1 GiB of address space, a far-corner `.xls` (1 GB to read) and a findings flood cost
/// only themselves: the `.xls` worker dies and the file gets a finding, the flood gives a
/// bounded number of findings, and every sample is accepted.
#[test]
fn a_run_under_1_gib_completes_with_the_far_corner_xls_and_a_findings_flood() {
    let input = tempfile::tempdir().unwrap();
    copy_tree(&fixtures().join("samples"), input.path());
    std::fs::copy(hostile_dir().join("far-corner.xls"), input.path().join("far-corner.xls")).unwrap();
    let family = crate::support::family("bcf-planning-2023-25");
    let mut flood = bcf_fixtures::ReturnSpec::typical(&family, "Leeds", 9);
    let section = flood.section_mut("la_additional").unwrap();
    for _ in 0..5_000 {
        let amounts = vec![bcf_fixtures::Amount::pence(100_000_000_001), bcf_fixtures::Amount::Blank];
        section.lines.push(bcf_fixtures::Line::new("Leeds City Council", amounts));
    }
    flood.write(&input.path().join("flood.xlsx")).unwrap();
    let (out, stdout) = run_bin_under(input.path(), 1024);
    let samples = crate::support::fs::files(&fixtures().join("samples")).len();
    assert!(stdout.contains(&format!("{samples} accepted")), "{stdout}");
    let findings = crate::support::read_parquet(&crate::support::published(out.path()).join("findings.parquet"));
    let of = |file: &str| findings.iter().filter(|f| f["source_file"] == file).collect::<Vec<_>>();
    let far = of("far-corner.xls");
    assert_eq!(far.len(), 1, "{far:?}");
    assert_eq!(far[0]["rule"], "file-too-large");
    let limit = "needs more memory to read than this machine's limit on bcf's memory (1,024 MiB, set with ulimit -v)";
    assert!(far[0]["message"].contains(limit), "the limit that decided, with its figure: {far:?}");
    assert!(far[0]["detail"].contains("reader process"), "{far:?}");
    let flood = of("flood.xlsx");
    let out_of_range = flood.iter().filter(|f| f["rule"] == "amount-out-of-range").count();
    assert_eq!(out_of_range, bcf::model::MAX_PER_RULE + 1, "bounded: the first ones and a count of the rest");
}

/// The documented bound (docs/hostile-files.md): address space for a run of two workers.
/// Measured passing at 1.4 GiB; `BCF_MEMORY_LIMIT_MIB` overrides it to probe.
const MEMORY_LIMIT_MIB: u64 = 2 * 1024;

// ------------------------------------------------------------ the fixtures themselves

#[test]
fn committed_fixtures_are_what_the_generator_builds() {
    for (name, bytes) in gen::build_all() {
        let path = hostile_dir().join(&name);
        let committed = std::fs::read(&path).unwrap_or_default();
        assert!(
            committed == bytes,
            "fixtures/hostile/{name} differs from the generator: run \
             `cargo test --test main hostile::regenerate -- --ignored`"
        );
        assert!(bytes.len() < 200 * 1024, "{name} is {} bytes", bytes.len());
    }
}

#[test]
#[ignore = "rewrites fixtures/hostile/; run by hand after changing the generator"]
fn regenerate() {
    let dir = hostile_dir();
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in gen::build_all() {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

#[test]
fn generator_helpers() {
    assert_eq!(a1_to_rc("A1"), (0, 0));
    assert_eq!(a1_to_rc("XFD1048576"), (1_048_575, 16_383));
    assert_eq!(gen::col_letters(16_383), "XFD");
    assert_eq!(gen::col_letters(26), "AA");
    let _ = W::Num(1.0);
}

/// The right title with a required sheet renamed is named as such, not as an unknown title.
#[test]
fn a_known_template_with_a_required_sheet_renamed_says_which_sheet() {
    let kent = std::fs::read(gen::kent_path()).unwrap();
    let renamed = gen::rewrite_zip(&kent, |name, bytes| match name {
        "xl/workbook.xml" => {
            Some(String::from_utf8(bytes).unwrap().replace("name=\"5. Income\"", "name=\"Income (old)\"").into_bytes())
        }
        _ => Some(bytes),
    });
    let t = run_bytes("Kent.xlsx", &renamed, Limits::default());
    let f: Vec<_> = t.findings.iter().filter(|f| f.source_file == "Kent.xlsx").collect();
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].rule.id(), "template-unknown");
    assert!(f[0].message.contains("this is the Better Care Fund 2023-25 Planning Template"), "{}", f[0].message);
    assert!(f[0].message.contains("sheet '5. Income' is missing or renamed"), "{}", f[0].message);
}

/// Writers need not pad a compound file's last sector: such an `.xls` reads like the padded one.
#[test]
fn an_xls_whose_last_sector_is_not_padded_reads_like_the_padded_one() {
    let xls = std::fs::read(fixtures().join("formats/BCF 2023-25 - Barnsley.xls")).unwrap();
    let padding = xls.iter().rev().take_while(|&&b| b == 0).count().min(511);
    assert!(padding > 0 && xls.len().is_multiple_of(512), "the fixture ends in a padded sector");
    let read = |bytes: &[u8]| lines_counted("Barnsley.xls", bytes);
    assert_eq!(read(&xls[..xls.len() - padding]), read(&xls));
}

/// The workbook part need not be at `xl/workbook.xml`: found through `_rels/.rels`, a workbook
/// kept under another folder reads like the original.
#[test]
fn an_xlsx_whose_workbook_is_found_through_rels_reads_like_the_original() {
    let kent = std::fs::read(gen::kent_path()).unwrap();
    let moved: Vec<(String, Vec<u8>)> = gen::unzip(&kent)
        .into_iter()
        .map(|(name, bytes)| {
            let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
            match name.as_str() {
                "_rels/.rels" => {
                    (name, text(bytes).replace("Target=\"xl/workbook.xml\"", "Target=\"book/main.xml\"").into_bytes())
                }
                "[Content_Types].xml" => (
                    name,
                    text(bytes).replace("/xl/workbook.xml", "/book/main.xml").replace("/xl/", "/book/").into_bytes(),
                ),
                "xl/workbook.xml" => ("book/main.xml".to_string(), bytes),
                "xl/_rels/workbook.xml.rels" => ("book/_rels/main.xml.rels".to_string(), bytes),
                _ => (name.replacen("xl/", "book/", 1), bytes),
            }
        })
        .collect();
    assert!(!moved.iter().any(|(n, _)| n.starts_with("xl/")));
    let read = |bytes: &[u8]| lines_counted("Kent.xlsx", bytes);
    assert_eq!(read(&gen::zip_of(&moved)), read(&kent));
}

/// XML parts saved as UTF-16 (with a byte-order mark, little-endian, or without one,
/// big-endian) read like the UTF-8 original; a part that claims UTF-16 and is not is damage
/// with an action, not a crash.
#[test]
fn an_xlsx_whose_parts_are_utf16_reads_like_the_original() {
    let kent = std::fs::read(gen::kent_path()).unwrap();
    let recode = |little: bool| -> Vec<u8> {
        let entries: Vec<(String, Vec<u8>)> = gen::unzip(&kent)
            .into_iter()
            .map(|(name, bytes)| {
                if !(name.ends_with(".xml") || name.ends_with(".rels")) {
                    return (name, bytes);
                }
                let text = String::from_utf8(bytes).unwrap().replacen("encoding=\"UTF-8\"", "encoding=\"UTF-16\"", 1);
                let units = text.encode_utf16();
                let bytes: Vec<u8> = if little {
                    [0xFF, 0xFE].into_iter().chain(units.flat_map(u16::to_le_bytes)).collect()
                } else {
                    units.flat_map(u16::to_be_bytes).collect()
                };
                (name, bytes)
            })
            .collect();
        gen::zip_of(&entries)
    };
    let read = |bytes: &[u8]| lines_counted("Kent.xlsx", bytes);
    let original = read(&kent);
    assert!(!original.is_empty());
    assert_eq!(read(&recode(true)), original, "UTF-16LE with a byte-order mark");
    assert_eq!(read(&recode(false)), original, "UTF-16BE without one");
    // An odd number of bytes after a UTF-16 start: damaged, with what to do.
    let broken: Vec<(String, Vec<u8>)> = gen::unzip(&recode(true))
        .into_iter()
        .map(|(n, mut b)| {
            if n == "xl/workbook.xml" {
                b.push(0);
            }
            (n, b)
        })
        .collect();
    let t = run_bytes("Kent.xlsx", &gen::zip_of(&broken), Limits::default());
    let f: Vec<_> = t.findings.iter().filter(|f| f.rule.id() == "file-unreadable").collect();
    assert_eq!(f.len(), 1, "{:#?}", t.findings);
    assert!(f[0].message.contains("save it again as .xlsx"), "{}", f[0].message);
    assert!(f[0].detail.as_deref().unwrap_or("").contains("not valid UTF-16"), "{:?}", f[0].detail);
}

/// A chart sheet where the template has a sheet of cells is named as such, not as damage.
#[test]
fn a_chart_sheet_in_a_required_slot_is_named_not_called_damaged() {
    let kent = std::fs::read(gen::kent_path()).unwrap();
    let income = crate::support::family("bcf-planning-2023-25").income().sheet.clone();
    let entries = gen::unzip(&kent);
    let target = gen::xlsx_sheet_path(&entries, &income); // e.g. xl/worksheets/sheet5.xml
    let target_rel = target.trim_start_matches("xl/").to_string();
    let chart = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><chartsheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetViews><sheetView workbookViewId=\"0\"/></sheetViews></chartsheet>";
    let edited: Vec<(String, Vec<u8>)> = entries
        .into_iter()
        .filter(|(n, _)| *n != target)
        .map(|(name, bytes)| {
            let text = || String::from_utf8(bytes.clone()).unwrap();
            match name.as_str() {
                "xl/_rels/workbook.xml.rels" => {
                    let t = text();
                    let at = t.find(&format!("Target=\"{target_rel}\"")).expect("the sheet's relationship");
                    let start = t[..at].rfind("<Relationship ").unwrap();
                    let end = start + t[start..].find("/>").unwrap() + 2;
                    let rel = &t[start..end];
                    let new = rel
                        .replace("relationships/worksheet\"", "relationships/chartsheet\"")
                        .replace(&target_rel, "chartsheets/sheet1.xml");
                    (name, t.replace(rel, &new).into_bytes())
                }
                _ => (name, bytes),
            }
        })
        .chain([("xl/chartsheets/sheet1.xml".to_string(), chart.as_bytes().to_vec())])
        .collect();
    let t = run_bytes("Kent.xlsx", &gen::zip_of(&edited), Limits::default());
    let f: Vec<_> = t.findings.iter().filter(|f| f.rule.id() == "file-unreadable").collect();
    assert_eq!(f.len(), 1, "{:#?}", t.findings);
    assert!(f[0].message.contains(&format!("the sheet '{income}' is a chart sheet")), "{}", f[0].message);
    assert!(f[0].message.contains("resubmit") && !f[0].message.contains("damaged"), "{}", f[0].message);
}

/// An `.xls` in an old Mac code page calamine has no table for is named as such, not as damage.
#[test]
fn an_xls_in_a_mac_code_page_says_so_and_what_to_do() {
    let mut xls = gen::xls_of(&[("Sheet1".to_string(), vec![(0, 0, W::Text("Kent".into()))])], false);
    let cp1200 = [0x42, 0x00, 0x02, 0x00, 0xB0, 0x04];
    let at = xls.windows(6).position(|w| w == cp1200).expect("a CODEPAGE record");
    xls[at + 4..at + 6].copy_from_slice(&10029u16.to_le_bytes()); // Mac Central European
    let t = run_bytes("Kent.xls", &xls, Limits::default());
    let f: Vec<_> = t.findings.iter().filter(|f| f.source_file == "Kent.xls").collect();
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].rule.id(), "file-unreadable");
    assert!(
        f[0].message.contains("character set bcf cannot read") && f[0].message.contains("save it as .xlsx"),
        "{f:?}"
    );
    assert!(f[0].detail.as_deref().unwrap_or_default().contains("272D"), "the library's words go to detail: {f:?}");
}

/// Every unreadable or too-large file the hostile fixtures give is told what to do, in words
/// an area can act on; a library's own text never stands as the message.
#[test]
fn every_unreadable_or_too_large_message_says_what_to_do() {
    let actions =
        ["resubmit", "run again", "send the return", "save it", "save the", "remove", "delete", "choose", "restore"];
    let (mut seen, mut wanting) = (0, Vec::new());
    for name in rejected_or_skipped() {
        let t = run_one(&name, Limits::default());
        for f in t.findings.iter().filter(|f| matches!(f.rule.id(), "file-unreadable" | "file-too-large")) {
            seen += 1;
            let m = f.message.to_lowercase();
            let library =
                ["error:", "cfb error", "xml error", "zip error", "internal error"].iter().any(|l| m.contains(l));
            // Advice given once: a cause's own and the generic one are never both appended.
            let twice = ["resubmit", "save the workbook as", "save it again"].iter().any(|a| m.matches(a).count() > 1);
            if library || twice || !actions.iter().any(|a| m.contains(a)) {
                wanting.push(format!("{name}: {:?}", f.message));
            }
        }
    }
    assert!(seen >= 10, "the fixtures reach the unreadable causes ({seen})");
    assert!(
        wanting.is_empty(),
        "messages without an action, with it twice, or with a library's text:\n{}",
        wanting.join("\n")
    );
}

/// A workbook that also holds an Excel 4 macro sheet (which calamine does not read) is told
/// which sheet and what to do; a dialog sheet beside the template's sheets is no obstacle.
#[test]
fn macro_and_dialog_sheets_are_named_or_read_past() {
    let kent = std::fs::read(gen::kent_path()).unwrap();
    let with = |kind: &str, rel_type: &str, body: &str| {
        let mut entries: Vec<(String, Vec<u8>)> = gen::unzip(&kent)
            .into_iter()
            .map(|(name, bytes)| {
                let text = String::from_utf8(bytes).unwrap();
                let text = match name.as_str() {
                    "xl/workbook.xml" => text.replace("</sheets>", "<sheet name=\"Extra1\" sheetId=\"99\" r:id=\"rId99\"/></sheets>"),
                    "xl/_rels/workbook.xml.rels" => text.replace(
                        "</Relationships>",
                        &format!("<Relationship Id=\"rId99\" Type=\"{rel_type}\" Target=\"{kind}/sheet1.xml\"/></Relationships>"),
                    ),
                    _ => text,
                };
                (name, text.into_bytes())
            })
            .collect();
        entries.push((format!("xl/{kind}/sheet1.xml"), body.as_bytes().to_vec()));
        gen::zip_of(&entries)
    };
    let ns = "xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"";
    let macro_sheet = with(
        "macrosheets",
        "http://schemas.microsoft.com/office/2006/relationships/xlMacrosheet",
        &format!("<?xml version=\"1.0\"?><xm:macrosheet {ns} xmlns:xm=\"http://schemas.microsoft.com/office/excel/2006/main\"><sheetData/></xm:macrosheet>"),
    );
    let t = run_bytes("Kent.xlsx", &macro_sheet, Limits::default());
    let f: Vec<_> = t.findings.iter().filter(|f| f.rule.id() == "file-unreadable").collect();
    assert_eq!(f.len(), 1, "{:#?}", t.findings);
    assert!(f[0].message.contains("'Extra1'") && f[0].message.contains("delete that sheet"), "{f:?}");
    assert_eq!(f[0].sheet.as_deref(), Some("Extra1"), "the finding's sheet column names the tab");
    let dialog = with(
        "dialogsheets",
        "http://schemas.openxmlformats.org/officeDocument/2006/relationships/dialogsheet",
        &format!("<?xml version=\"1.0\"?><dialogsheet {ns}><sheetViews><sheetView workbookViewId=\"0\"/></sheetViews></dialogsheet>"),
    );
    // The same in an .xlsb (which calamine would call damaged): named by its tab.
    let t = run_one("xlsb-with-macro-sheet.xlsb", Limits::default());
    let f: Vec<_> = t.findings.iter().filter(|f| f.rule.id() == "file-unreadable").collect();
    assert_eq!(f.len(), 1, "{:#?}", t.findings);
    assert!(
        f[0].message.contains("Excel 4 macro sheet ('Macro1')") && f[0].message.contains("delete that sheet"),
        "{f:?}"
    );
    assert_eq!(f[0].sheet.as_deref(), Some("Macro1"));
    let t = run_bytes("Kent.xlsx", &dialog, Limits::default());
    assert!(submission(&t, "Kent.xlsx").status.contributes(), "{:#?}", t.findings);
    assert_eq!(lines_of(&t), lines_of(&run_bytes("Kent.xlsx", &kent, Limits::default())));
}
