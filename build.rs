//! Sets `BCF_BUILD`, the build id in Parquet's `created_by` (`bcf version X (build Y)`): the
//! `BCF_BUILD` environment variable if set, else the git commit being built, else `unknown`.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=BCF_BUILD");
    println!("cargo:rerun-if-changed=.git/HEAD");
    if let Some(head) = git(&["symbolic-ref", "-q", "HEAD"]) {
        println!("cargo:rerun-if-changed=.git/{head}");
    }
    let build = std::env::var("BCF_BUILD")
        .ok()
        .filter(|b| !b.is_empty())
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=BCF_BUILD={build}");
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
}
