//! Returns with findings, added to a national corpus so its report shows what a real
//! collection window brings (`bcf-fixtures --faulty`): a late resubmission with an amount
//! typed `TBC` and one with a negative amount (each rejected, and as the latest return of its
//! area and template it leaves that area's year rejected), and one whose HWB name is 32,767
//! unbroken characters (Excel's cell limit), which no report may let widen its page. With
//! `--faulty-areas N`, N per cent of the areas also send a late resubmission with one finding
//! of a kind taken in turn from [`late_with_finding`].

use crate::family::Family;
use crate::spec::{Amount, DateCell, ReturnSpec, Total};
use bcf::model::Pence;
use std::io;
use std::path::Path;

/// Writes the faulty returns of `family` under `<out_dir>/faulty/`; their relative paths.
pub fn faulty_returns(out_dir: &Path, family: &Family, seed: u64) -> io::Result<Vec<String>> {
    let dir = out_dir.join("faulty");
    std::fs::create_dir_all(&dir)?;
    let mut tbc = ReturnSpec::typical(family, "Kent", seed);
    late(&mut tbc);
    first_amount(&mut tbc, Amount::Text("TBC".into()));
    let mut negative = ReturnSpec::typical(family, "Leeds", seed);
    late(&mut negative);
    first_amount(&mut negative, Amount::pounds(-1_000));
    let mut long = ReturnSpec::typical(family, "Wakefield", seed);
    long.hwb_name = "W".repeat(32_767); // the cover cell only: contributor names stay short
    let mut written = Vec::new();
    for (name, spec) in [("Kent (TBC)", tbc), ("Leeds (negative)", negative), ("Long name", long)] {
        let rel = format!("faulty/{} - {name}.xlsx", family.label());
        spec.write(&out_dir.join(&rel)).map_err(|e| io::Error::other(format!("{rel}: {e}")))?;
        written.push(rel);
    }
    Ok(written)
}

/// A month later than `spec`, so it is the latest return of its area and template.
fn late(s: &mut ReturnSpec) {
    if let DateCell::Date(y, m, d) = s.submission_date {
        s.submission_date = if m < 12 { DateCell::Date(y, m + 1, d) } else { DateCell::Date(y + 1, 1, d) };
    }
}

fn first_amount(s: &mut ReturnSpec, a: Amount) {
    if let Some(cell) = s.sections.iter_mut().flat_map(|x| x.lines.iter_mut()).flat_map(|l| l.amounts.iter_mut()).next()
    {
        *cell = a;
    }
}

/// The `n`th kind of late resubmission of `accepted` (an area's return that passes), and a
/// file name saying what is wrong: errors that reject it (`TBC` typed as an amount, a negative
/// amount, an amount in pence, the date typed as words, the HWB name left blank) and a warning
/// that does not (a section total not recalculated).
pub fn late_with_finding(accepted: &ReturnSpec, n: usize) -> (String, ReturnSpec) {
    let mut s = accepted.clone();
    s.habits = Default::default();
    late(&mut s);
    let label = s.family.label().to_string();
    let what = match n % 6 {
        0 => {
            first_amount(&mut s, Amount::Text("TBC".into()));
            "TBC"
        }
        1 => {
            first_amount(&mut s, Amount::pounds(-25_000));
            "negative"
        }
        2 => {
            s.submission_date = DateCell::Text("end of June".into());
            "date in words"
        }
        3 => {
            if let Some(section) = s.sections.first_mut() {
                section.total = vec![Total::StaleSum(Pence::from_pounds(123_456))];
            }
            "stale total"
        }
        4 => {
            first_amount(&mut s, Amount::pence(900_000_000_000_000));
            "in pence"
        }
        _ => {
            s.hwb_name = String::new();
            "no HWB name"
        }
    };
    (format!("{label} ({what}).xlsx"), s)
}
