//! A few returns with findings, added to a national corpus so its report shows what a real
//! collection window brings (`bcf-fixtures --faulty`): a late resubmission with an amount
//! typed `TBC` and one with a negative amount (each rejected, and as the latest return of its
//! area and template it leaves that area's year rejected), and one
//! whose HWB name is 32,767 unbroken characters (Excel's cell limit), which no report may let
//! widen its page.

use crate::family::Family;
use crate::spec::{Amount, DateCell, ReturnSpec};
use std::io;
use std::path::Path;

/// Writes the faulty returns of `family` under `<out_dir>/faulty/`; their relative paths.
pub fn faulty_returns(out_dir: &Path, family: &Family, seed: u64) -> io::Result<Vec<String>> {
    let dir = out_dir.join("faulty");
    std::fs::create_dir_all(&dir)?;
    let late = |s: &mut ReturnSpec| {
        // A month after the corpus's own returns of the family, so these are the latest.
        if let DateCell::Date(y, m, d) = s.submission_date {
            s.submission_date = if m < 12 { DateCell::Date(y, m + 1, d) } else { DateCell::Date(y + 1, 1, d) };
        }
    };
    let first_amount = |s: &mut ReturnSpec, a: Amount| {
        if let Some(cell) =
            s.sections.iter_mut().flat_map(|x| x.lines.iter_mut()).flat_map(|l| l.amounts.iter_mut()).next()
        {
            *cell = a;
        }
    };
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
