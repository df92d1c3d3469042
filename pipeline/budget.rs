//! The run's memory budget: one figure for the whole run — bcf and every `.xls` worker it starts
//! — so that the kernel never has to step in. By default it is what the container allows (its
//! memory cgroup's limit, v2 `memory.max` or v1 `memory.limit_in_bytes`, the smallest on the
//! way up its hierarchy), else [`DEFAULT_MIB`]; `--memory-budget` overrides both. Under it,
//! [`Budget::workers`] sizes each worker's address space and how many run at once.

use crate::validate::LimitSetBy;
use std::path::{Path, PathBuf};

/// The budget when no container limit is found and none is given, in MiB: what a run needs at
/// most with two `.xls` workers at bcf's own limit (documented in the README).
pub const DEFAULT_MIB: u64 = 4096;
/// What bcf's own process may use beside its workers, in MiB: the pipeline, a national set of
/// tables, and the bounded sparse sheets of the files read in process at once.
pub const MAIN_PROCESS_MIB: u64 = 384;
/// The least address space a worker is given, in MiB: below it an `.xls` worth reading fails.
pub const MIN_WORKER_MIB: u64 = 128;

/// The run's memory budget and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    pub mib: u64,
    pub source: BudgetSource,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BudgetSource {
    /// `--memory-budget`.
    Flag,
    /// A memory cgroup's limit: which file said so.
    Cgroup(PathBuf),
    /// Neither: [`DEFAULT_MIB`].
    Default,
}

impl std::fmt::Display for BudgetSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BudgetSource::Flag => f.write_str("set by --memory-budget"),
            BudgetSource::Cgroup(p) => write!(f, "the container's memory limit, {}", p.display()),
            BudgetSource::Default => f.write_str("bcf's default, as no container limit was found"),
        }
    }
}

/// How `.xls` workers run under a budget: each one's address space, and how many at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workers {
    pub mib: u64,
    pub at_once: usize,
    /// Who decided `mib`: bcf's own limit, or the budget.
    pub set_by: LimitSetBy,
}

impl Budget {
    /// The budget: `flag_mib` if given, else the container's, else the default.
    pub fn find(flag_mib: Option<u64>) -> Budget {
        if let Some(mib) = flag_mib {
            return Budget { mib, source: BudgetSource::Flag };
        }
        match container_limit() {
            Some((bytes, path)) => Budget { mib: bytes >> 20, source: BudgetSource::Cgroup(path) },
            None => Budget { mib: DEFAULT_MIB, source: BudgetSource::Default },
        }
    }

    /// Workers under this budget, each at most `own_mib` (bcf's own limit for one file), with
    /// at most `threads` reading at once: as many as fit beside bcf's own process.
    pub fn workers(&self, own_mib: u64, threads: usize) -> Workers {
        let room = self.mib.saturating_sub(MAIN_PROCESS_MIB).max(MIN_WORKER_MIB);
        if room >= own_mib {
            let at_once = ((room / own_mib) as usize).clamp(1, threads.max(1));
            return Workers { mib: own_mib, at_once, set_by: LimitSetBy::Bcf };
        }
        let total = crate::model::group_thousands(&self.mib.to_string());
        let set_by = LimitSetBy::Budget(format!("of {total} MiB, {}", self.source));
        Workers { mib: room, at_once: 1, set_by }
    }
}

/// The smallest memory limit of this process's cgroups (v2 and v1, each up its hierarchy), in
/// bytes, and the file that set it; `None` where there is none (or no cgroups).
fn container_limit() -> Option<(u64, PathBuf)> {
    let cgroups = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mut found: Vec<(u64, PathBuf)> = Vec::new();
    for line in cgroups.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let (mount, file) = match controllers {
            "" => (mount_point(&mounts, "cgroup2", None), "memory.max"),
            c if c.split(',').any(|x| x == "memory") => {
                (mount_point(&mounts, "cgroup", Some("memory")), "memory.limit_in_bytes")
            }
            _ => continue,
        };
        if let Some(mount) = mount {
            found.extend(limit_up(&mount, path, file));
        }
    }
    found.into_iter().min_by_key(|(bytes, _)| *bytes)
}

/// The mount point of a cgroup file system (with this controller, for v1).
fn mount_point(mountinfo: &str, fstype: &str, controller: Option<&str>) -> Option<PathBuf> {
    mountinfo.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        let mut fields = right.split_whitespace();
        let (kind, options) = (fields.next()?, fields.nth(1).unwrap_or(""));
        let wanted = kind == fstype && controller.is_none_or(|c| options.split(',').any(|o| o == c));
        wanted.then(|| PathBuf::from(left.split_whitespace().nth(4).unwrap_or("/")))
    })
}

/// The smallest limit in `file` from the cgroup at `path` up to the mount's root.
fn limit_up(mount: &Path, path: &str, file: &str) -> Option<(u64, PathBuf)> {
    let mut dir = mount.join(path.trim_start_matches('/'));
    let mut best: Option<(u64, PathBuf)> = None;
    loop {
        let at = dir.join(file);
        if let Some(bytes) = std::fs::read_to_string(&at).ok().and_then(|s| s.trim().parse::<u64>().ok()) {
            // v1 reports "no limit" as a huge number rounded to the page size.
            if bytes < (1 << 60) && best.as_ref().is_none_or(|(b, _)| bytes < *b) {
                best = Some((bytes, at));
            }
        }
        if dir == mount || !dir.pop() || !dir.starts_with(mount) {
            return best;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_fit_beside_bcf_within_the_budget() {
        let big = Budget { mib: 24 * 1024, source: BudgetSource::Default };
        assert_eq!(big.workers(2048, 2), Workers { mib: 2048, at_once: 2, set_by: LimitSetBy::Bcf });
        let gib = Budget { mib: 1024, source: BudgetSource::Flag };
        let w = gib.workers(2048, 2);
        assert_eq!((w.mib, w.at_once), (1024 - MAIN_PROCESS_MIB, 1));
        assert!(matches!(&w.set_by, LimitSetBy::Budget(s) if s == "of 1,024 MiB, set by --memory-budget"), "{w:?}");
        let three = Budget { mib: 3 * 2048 + MAIN_PROCESS_MIB, source: BudgetSource::Flag };
        assert_eq!(three.workers(2048, 8).at_once, 3, "as many as fit");
    }

    #[test]
    fn cgroup_mounts_are_found_in_mountinfo() {
        let info = "30 25 0:26 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n\
                    31 25 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n";
        assert_eq!(mount_point(info, "cgroup", Some("memory")), Some(PathBuf::from("/sys/fs/cgroup/memory")));
        assert_eq!(mount_point(info, "cgroup2", None), Some(PathBuf::from("/sys/fs/cgroup/unified")));
        assert_eq!(mount_point(info, "cgroup", Some("pids")), None);
    }
}
