//! One writer per output folder. Commands that write take an exclusive lock on
//! `OUT/.bcf/lock` for their whole run; commands that only read take a shared one while they
//! read. The lock is an advisory `flock`, released by the kernel when its process dies, so a
//! killed run never leaves a stale lock. The holder of the exclusive lock writes who it is into
//! the lock file, for the message a second writer gets.

use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, Write};
use std::path::Path;
use std::time::{Duration, Instant};

/// Who holds (or last held) the exclusive lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    pub started_at: String,
    pub command: String,
}

/// A held lock; dropping it releases it. A reader that may not open the lock file holds none.
#[derive(Debug)]
pub struct Lock {
    _file: Option<File>,
}

/// Why the exclusive lock was not taken.
#[derive(Debug)]
pub enum LockError {
    /// Another process holds it; who, if it said.
    Busy(Option<Holder>),
    Io(io::Error),
}

/// How long a writer retries before giving up: readers hold the lock for moments only.
const READER_GRACE: Duration = Duration::from_secs(3);

fn open(path: &Path) -> io::Result<File> {
    OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)
}

impl Lock {
    /// The exclusive lock on `path`, waiting for it if `wait`; records `me` as the holder.
    pub fn exclusive(path: &Path, wait: bool, me: &Holder) -> Result<Lock, LockError> {
        let mut file = open(path).map_err(LockError::Io)?;
        if wait {
            file.lock().map_err(LockError::Io)?;
        } else {
            let start = Instant::now();
            loop {
                match file.try_lock() {
                    Ok(()) => break,
                    Err(TryLockError::Error(e)) => return Err(LockError::Io(e)),
                    Err(TryLockError::WouldBlock) if start.elapsed() < READER_GRACE => {
                        std::thread::sleep(Duration::from_millis(50))
                    }
                    Err(TryLockError::WouldBlock) => return Err(LockError::Busy(read_holder(&mut file))),
                }
            }
        }
        write_holder(&mut file, me).map_err(LockError::Io)?;
        Ok(Lock { _file: Some(file) })
    }

    /// A shared lock on `path` if no writer holds it; `None` while one does. It needs only read
    /// access (a read-only output folder, or a user who may only read it): where even that is
    /// refused, or no writer ever made the file, the reader goes on without one, since every
    /// file a reader reads is replaced whole by a rename.
    pub fn shared_if_free(path: &Path) -> io::Result<Option<Lock>> {
        let file = match File::open(path) {
            Ok(file) => file,
            Err(e) if matches!(e.kind(), io::ErrorKind::PermissionDenied | io::ErrorKind::NotFound) => {
                return Ok(Some(Lock { _file: None }))
            }
            Err(e) => return Err(e),
        };
        match file.try_lock_shared() {
            Ok(()) => Ok(Some(Lock { _file: Some(file) })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => Err(e),
        }
    }

    /// Who wrote themselves into the lock file last (the holder, while it is held).
    pub fn last_holder(path: &Path) -> Option<Holder> {
        read_holder(&mut File::open(path).ok()?)
    }
}

fn read_holder(file: &mut File) -> Option<Holder> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.take(4096).read_to_string(&mut text).ok()?;
    serde_json::from_str(text.trim()).ok()
}

fn write_holder(file: &mut File, me: &Holder) -> io::Result<()> {
    file.set_len(0)?;
    file.rewind()?;
    file.write_all(serde_json::to_string(me).map_err(io::Error::other)?.as_bytes())?;
    file.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_is_refused_and_told_who_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let me = Holder { pid: 42, started_at: "2026-12-01T10:00:00Z".into(), command: "run".into() };
        let held = Lock::exclusive(&path, false, &me).unwrap();
        assert!(Lock::shared_if_free(&path).unwrap().is_none(), "a reader sees the writer");
        match Lock::exclusive(&path, false, &Holder { pid: 7, ..me.clone() }) {
            Err(LockError::Busy(Some(h))) => assert_eq!(h, me),
            other => panic!("{other:?}"),
        }
        drop(held);
        let reader = Lock::shared_if_free(&path).unwrap();
        assert!(reader.is_some(), "free once the writer is gone");
        drop(reader);
        Lock::exclusive(&path, false, &me).unwrap();
    }
}
