//! The floor for `make bench`: open every workbook and read every cell of just the sheets a
//! schema needs, single-threaded, with calamine alone. Prints files, cells and seconds.
//!
//! usage: floor DIR

use calamine::{open_workbook_auto, Reader, Xlsx};
use std::path::{Path, PathBuf};
use std::time::Instant;

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if p
            .extension()
            .is_some_and(|x| ["xlsx", "xlsm", "xls", "ods"].contains(&x.to_string_lossy().to_lowercase().as_str()))
        {
            out.push(p);
        }
    }
}

fn main() {
    let dir = std::env::args().nth(1).expect("usage: floor DIR");
    let schemas = bcf::load::schemas(&bcf::load::default_schemas_dir()).expect("schemas");
    // Every sheet name any schema reads, folded for matching.
    let mut wanted: Vec<String> = Vec::new();
    for t in &schemas.templates {
        wanted.push(t.recognise.sheet.clone());
        wanted.extend(t.cover.iter().map(|c| c.sheet.clone()));
        wanted.extend(t.income.iter().map(|c| c.sheet.clone()));
        wanted.extend(t.expenditure.iter().map(|c| c.sheet.clone()));
        wanted.extend(t.allocations.iter().map(|c| c.sheet.clone()));
    }
    let wanted: Vec<String> = wanted.iter().map(|s| s.trim().to_lowercase()).collect();
    let mut files = Vec::new();
    walk(Path::new(&dir), &mut files);
    files.sort();
    let start = Instant::now();
    let mut cells = 0u64;
    for f in &files {
        // xlsx is streamed cell by cell: a dense range aborts on a stray value at XFD1048576.
        if f.extension().is_some_and(|x| x.eq_ignore_ascii_case("xlsx")) {
            let Ok(mut wb) = calamine::open_workbook::<Xlsx<_>, _>(f) else { continue };
            let names: Vec<String> = wb.sheet_names().to_vec();
            for name in names.iter().filter(|n| wanted.contains(&n.trim().to_lowercase())) {
                let Ok(mut reader) = wb.worksheet_cells_reader(name) else { continue };
                while let Ok(Some(_)) = reader.next_cell() {
                    cells += 1;
                }
            }
            continue;
        }
        let Ok(mut wb) = open_workbook_auto(f) else { continue };
        let names: Vec<String> = wb.sheet_names().to_vec();
        for name in names.iter().filter(|n| wanted.contains(&n.trim().to_lowercase())) {
            if let Ok(range) = wb.worksheet_range(name) {
                cells += range.used_cells().count() as u64;
            }
        }
    }
    println!("floor files={} cells={} seconds={:.3}", files.len(), cells, start.elapsed().as_secs_f64());
}
