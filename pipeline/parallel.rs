//! Independent pieces of work run side by side, each by the next free thread.

use rayon::prelude::*;
use std::io;

/// One piece of work that writes something.
pub type Job<'a> = Box<dyn FnOnce() -> io::Result<()> + Send + 'a>;

/// Runs every job; the first error, if any.
pub fn all(jobs: Vec<Job<'_>>) -> io::Result<()> {
    jobs.into_par_iter().map(|job| job()).collect()
}
