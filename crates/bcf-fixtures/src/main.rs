//! `bcf-fixtures`: writes a synthetic national corpus (every HWB, every return family in
//! `schemas/`), for the demo and `make bench`.

use clap::Parser;
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "bcf-fixtures", about = "Write a synthetic national corpus of BCF returns and allocations workbooks")]
struct Args {
    /// Output folder (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// The same seed gives the same files.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// `all`, or a comma-separated list of template ids (or short names like planning-2023-25).
    #[arg(long, default_value = "all")]
    families: String,
    /// Folder of template schemas and reference data (areas.csv).
    #[arg(long, env = "BCF_SCHEMAS")]
    schemas: Option<PathBuf>,
    /// Also write a few returns with findings (under `faulty/`), as a collection window brings.
    #[arg(long)]
    faulty: bool,
    /// Also have this per cent of the areas send the latest family a late resubmission with a
    /// finding (under `faulty/`; errors that reject it and warnings), as at the peak of a
    /// collection window.
    #[arg(long, value_name = "PERCENT", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=100))]
    faulty_areas: u64,
}

fn main() -> std::process::ExitCode {
    match run(Args::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bcf-fixtures: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    let dir = args.schemas.unwrap_or_else(bcf::load::default_schemas_dir);
    let (schemas, areas) = bcf::load::all(&dir).map_err(|e| e.to_string())?;
    let all = bcf_fixtures::Family::all(&schemas);
    let families = if args.families.trim().eq_ignore_ascii_case("all") {
        all
    } else {
        let ids: Vec<&str> = args.families.split(',').map(str::trim).collect();
        let known = |id: &&str| bcf_fixtures::Family::find(&schemas, id);
        let found: Vec<_> = ids.iter().filter_map(known).collect();
        if let Some(bad) = ids.iter().find(|id| known(id).is_none()) {
            let names: Vec<&str> = all.iter().map(|f| f.label()).collect();
            return Err(format!("unknown family {bad:?}; use all or some of {}", names.join(",")));
        }
        found
    };
    let summary =
        bcf_fixtures::national_corpus_with_faults(&args.out, args.seed, &schemas, &areas, &families, args.faulty_areas)
            .map_err(|e| format!("cannot write the corpus under {}: {e}", args.out.display()))?;
    if let (true, Some(family)) = (args.faulty, families.iter().find(|f| !f.id().contains("allocations"))) {
        bcf_fixtures::faulty_returns(&args.out, family, args.seed)
            .map_err(|e| format!("cannot write the faulty returns under {}: {e}", args.out.display()))?;
    }
    let habits = summary.returns.iter().filter(|r| r.habit.is_some()).count();
    let resubmitted = summary.returns.iter().filter(|r| r.superseded).count();
    println!(
        "{} returns ({habits} with a habit, {resubmitted} resubmitted) and {} allocations workbooks in {}",
        summary.returns.len(),
        summary.allocations.len(),
        args.out.display()
    );
    let faulty = count_files(&args.out.join("faulty"));
    if faulty > 0 {
        println!("{faulty} returns with findings under {}/faulty", args.out.display());
    }
    let before = if faulty > 0 { " (before the returns with findings)" } else { "" };
    for (period, e) in &summary.expected {
        println!("  {period}: {} areas{before}", e.areas);
    }
    Ok(())
}

fn count_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.flatten().count())
}
