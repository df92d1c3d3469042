//! The national workbook, `bcf-national.xlsx`, read back as its readers would: openpyxl (every
//! figure equal to the Parquet, no formula, text as text), calamine, and LibreOffice headless
//! (it opens and its totals sheet shows the report's figures).

use crate::support::{fixtures, project_root, published, run_on, samples_copy};
use bcf::model::Pence;
use bcf_fixtures::{Amount, DateCell, Family, ReturnSpec};
use std::path::Path;
use std::process::Command;

/// The samples with returns whose file names (and one typed HWB name) begin with `=`, `+`,
/// `-` and `@`: an accepted one, two rejected, and one of no known area.
fn input_with_formula_like_names() -> tempfile::TempDir {
    let input = samples_copy(|r| !(r.starts_with("2023-25/") && r.contains("Barnsley")));
    let barnsley = fixtures().join("samples/2023-25/BCF 2023-25 - Barnsley.xlsx");
    std::fs::copy(barnsley, input.path().join("@Barnsley 2023-25.xlsx")).unwrap();
    let (schemas, _) = crate::support::reference();
    let family = Family::find(schemas, "planning-2023-25").expect("the 2023-25 family");
    let late = |name: &str, typed: &str, amount: Option<Amount>| {
        let mut spec = ReturnSpec::typical(&family, name, 5);
        spec.hwb_name = typed.to_string();
        spec.submission_date = DateCell::Date(2024, 12, 1);
        if let Some(a) = amount {
            spec.sections[0].lines[0].amounts[0] = a;
        }
        spec
    };
    let write = |file: &str, spec: ReturnSpec| spec.write(&input.path().join(file)).unwrap();
    write("+Leeds.xlsx", late("Leeds", "Leeds", Some(Amount::Text("TBC".into()))));
    write("-York.xlsx", late("York", "York", Some(Amount::pounds(-5))));
    write("=HYPERLINK Kent.xlsx", late("Kent", "=HYPERLINK(\"http://example.com\",\"Kent\")", None));
    input
}

#[test]
fn the_national_workbook_reads_back_in_openpyxl_calamine_and_libreoffice_with_every_figure_and_no_formula() {
    let input = input_with_formula_like_names();
    let (out, t) = run_on(input.path());
    let dir = published(out.path());
    let status = |file: &str| crate::support::submission(&t, file).status.as_str();
    assert_eq!(status("@Barnsley 2023-25.xlsx"), "accepted");
    assert_eq!(
        (status("+Leeds.xlsx"), status("-York.xlsx"), status("=HYPERLINK Kent.xlsx")),
        ("rejected", "rejected", "rejected")
    );

    // openpyxl: every figure, no formula, and each planted text a string cell where it shows.
    let said = crate::support::client("check_workbook.py", &[&dir]);
    assert!(said.starts_with("workbook OK"), "{said}");
    for (sheet, text) in [
        ("Areas", "@Barnsley 2023-25.xlsx"),
        ("Findings by area", "+Leeds.xlsx"),
        ("Findings by area", "-York.xlsx"),
        ("Findings by area", "=HYPERLINK Kent.xlsx"),
    ] {
        assert!(
            said.lines().any(|l| l.starts_with(&format!("typed: {sheet}!")) && l.ends_with(text)),
            "{text} on {sheet}:\n{said}"
        );
    }

    // calamine: the same figures, and no formula on any sheet.
    calamine_reads_the_totals(&dir.join(crate::support::WORKBOOK), &t);

    // LibreOffice: it opens, and the totals sheet shows the figures as the report does.
    let shown = libreoffice_totals_as_shown(&dir.join(crate::support::WORKBOOK));
    for r in &t.national {
        let line = shown
            .lines()
            .find(|l| l.starts_with(&format!("{},{},", r.financial_year, r.basis)))
            .unwrap_or_else(|| panic!("{} {} in\n{shown}", r.financial_year, r.basis));
        for p in [r.mandated_minimum, r.voluntary_above_minimum, r.total_pooled] {
            assert!(line.contains(&format!("\"{}\"", p.to_gbp())), "{} in {line}", p.to_gbp());
        }
    }
}

fn calamine_reads_the_totals(path: &Path, t: &bcf::tables::Tables) {
    use calamine::{Data, Reader, Xlsx};
    let mut wb: Xlsx<_> = calamine::open_workbook(path).unwrap();
    for name in wb.sheet_names() {
        let formulas = wb.worksheet_formula(&name).unwrap();
        assert!(formulas.used_cells().all(|(_, _, f)| f.is_empty()), "a formula on {name}");
    }
    let totals = wb.worksheet_range("National totals").unwrap();
    let rows: Vec<&[Data]> = totals.rows().skip(1).collect();
    assert_eq!(rows.len(), t.national.len());
    for (row, r) in rows.iter().zip(&t.national) {
        assert_eq!(row[0], Data::String(r.financial_year.to_string()));
        let figures: Vec<Pence> = row[4..9]
            .iter()
            .map(|c| match c {
                Data::Float(x) => Pence((x * 100.0).round() as i128),
                other => panic!("money is a number: {other:?}"),
            })
            .collect();
        let want: Vec<Pence> = bcf::tables::NationalColumn::ALL.iter().map(|c| c.of(r)).collect();
        assert_eq!(figures, want, "{} {}", r.financial_year, r.basis);
    }
}

/// The first sheet as LibreOffice shows it, as CSV ("save cell contents as shown").
fn libreoffice_totals_as_shown(path: &Path) -> String {
    let work = tempfile::tempdir().unwrap();
    let profile = format!("-env:UserInstallation=file://{}/profile", work.path().display());
    let o = Command::new("soffice")
        .args([&profile, "--headless", "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true"])
        .arg("--outdir")
        .arg(work.path())
        .arg(path)
        .current_dir(project_root())
        .output()
        .expect("LibreOffice runs (make libreoffice installs it)");
    let csv = work.path().join("bcf-national.csv");
    assert!(csv.is_file(), "LibreOffice converted the workbook: {}", String::from_utf8_lossy(&o.stderr));
    std::fs::read_to_string(csv).unwrap()
}
