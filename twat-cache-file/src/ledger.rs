//! [`Ledger`]: one cache's [`Usage`], shared by every process that uses its folder,
//! kept in `<folder>/usage-v1/<owner>.usage` and changed only under an advisory lock on
//! that file.
//!
//! # Why a shared count
//!
//! Each process used to track only the bytes it wrote, so eight processes sharing a
//! folder could each add a quarter of `maxsize` before one of them noticed. With one
//! count, every write knows what the folder holds: a write that takes the cache over
//! `maxsize` sweeps right after it is published, under the same lock, so the folder
//! holds at most `maxsize` plus the entry being written (and, while they are being
//! written, the content files of writes not yet published).
//!
//! # How it stays right
//!
//! - **One lock, writes only.** Publishing an index record, removing an entry, a sweep
//!   and a clear happen while holding [`File::lock`] (`flock` on Unix, `LockFileEx` on
//!   Windows) on the ledger file, after an in-process mutex. Reads never take it: a hit
//!   costs what it cost before.
//! - **It may overstate, never understate.** Every change is written so that the ledger
//!   is at least the truth at each instant, whatever moment a process dies at: bytes are
//!   added before the record they account for is renamed into place, and subtracted only
//!   after an entry's files are gone. A process killed in between leaves a count that is
//!   too high, which can only make the next sweep come early.
//! - **It heals.** Every sweep counts the folder exactly and writes what it found. A
//!   missing, torn or garbled ledger reads as unknown and is recounted under the lock.
//! - **The OS releases the lock of a dead process** (the kernel closes its files), so a
//!   killed writer never blocks the others.
//! - **The file is checked after locking.** A folder deleted and recreated under a
//!   running cache leaves this process holding a file no other process can see; after
//!   each lock the path must still name the locked file, else the ledger is reopened.
//! - **Errors are the caller's to count.** A ledger that cannot be opened, locked, read
//!   or written (read-only folder, full disk) is an [`Error`]: a write then is not
//!   published (it could not be accounted for), a removal or sweep goes ahead without
//!   the shared count, and the facade turns all of them into plain calls.
//!
//! Processes of versions that did not keep a ledger (before 0.1.0's shared count) write
//! without updating it; their entries are found by the next sweep.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

use parking_lot::{Mutex, MutexGuard};
use twat_cache_core::Error;
use twat_cache_core::lease::still_named_by;

use crate::layout::Layout;
use crate::usage::{ENCODED_LEN, Usage};

/// The folder of ledger files.
pub(crate) const LEDGER_DIR: &str = "usage-v1";
/// How many times a lock starts over when the file it locked was replaced under it.
const RETRIES: usize = 4;

/// The shared usage count of one cache in its folder.
#[derive(Debug)]
pub(crate) struct Ledger {
    path: PathBuf,
    /// Whether writes are fsynced.
    durable: bool,
    /// The open ledger file (opened on first use, reopened when replaced), behind the
    /// mutex that serializes this process's threads before they take the file lock.
    file: Mutex<Option<File>>,
    /// The usage last read or written, for statistics when the ledger cannot be read.
    last_known: Mutex<Option<Usage>>,
}

/// The ledger while locked: this process and every other wait until it is dropped.
#[derive(Debug)]
pub(crate) struct HeldLedger<'a> {
    ledger: &'a Ledger,
    guard: MutexGuard<'a, Option<File>>,
    /// Whether the file lock is held (else only this process's threads are excluded).
    locked: bool,
}

impl Ledger {
    /// The ledger of the cache tagged `owner` in `layout`'s folder; `durable` fsyncs
    /// every write of it (as the cache's own files are).
    pub(crate) fn new(layout: &Layout, owner: u64, durable: bool) -> Self {
        let path = layout
            .root()
            .join(LEDGER_DIR)
            .join(format!("{owner:016x}.usage"));
        Self {
            path,
            durable,
            file: Mutex::new(None),
            last_known: Mutex::new(None),
        }
    }

    /// Remembers `usage` as the last known (a count of the folder made without the lock).
    pub(crate) fn note(&self, usage: Usage) {
        *self.last_known.lock() = Some(usage);
    }

    /// The usage last read or written by this process, if any.
    pub(crate) fn last_known(&self) -> Option<Usage> {
        *self.last_known.lock()
    }

    /// Locks the ledger: this process's threads first, then the file lock every process
    /// takes. Never fails: the second value is the [`Error`] that kept the file lock
    /// from being taken, if one did — the guard then excludes only this process's
    /// threads ([`HeldLedger::is_shared`] is `false`), and the caller decides whether
    /// that is enough.
    pub(crate) fn lock(&self, layout: &Layout) -> (HeldLedger<'_>, Option<Error>) {
        let mut guard = self.file.lock();
        let failure = match self.lock_file(&mut guard, layout) {
            Ok(()) => None,
            Err(err) => {
                *guard = None;
                Some(err)
            }
        };
        let locked = failure.is_none();
        (
            HeldLedger {
                ledger: self,
                guard,
                locked,
            },
            failure,
        )
    }

    /// Opens the file if needed and takes its lock, making sure the path still names it.
    fn lock_file(&self, slot: &mut Option<File>, layout: &Layout) -> Result<(), Error> {
        for _ in 0..RETRIES {
            let file = match slot.take() {
                Some(file) => file,
                None => self.open(layout)?,
            };
            file.lock().map_err(|err| Error::io(&self.path, err))?;
            if still_named_by(&file, &self.path) {
                *slot = Some(file);
                return Ok(());
            }
            // The folder was removed or replaced: unlock, drop, open the new file.
            let _ = file.unlock();
        }
        Err(Error::io(
            &self.path,
            io::Error::other("the ledger file keeps being replaced"),
        ))
    }

    /// Opens (creating it and its folder if needed) the ledger file, owner-only.
    fn open(&self, layout: &Layout) -> Result<File, Error> {
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        match options.open(&self.path) {
            Ok(file) => Ok(file),
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                if let Some(dir) = self.path.parent() {
                    layout.create_dir(dir)?;
                }
                options
                    .open(&self.path)
                    .map_err(|err| Error::io(&self.path, err))
            }
            Err(err) => Err(Error::io(&self.path, err)),
        }
    }

    /// The usage the ledger file holds, read without the lock (a torn read fails its
    /// checksum and reads as `None`); `None` too when there is no ledger yet.
    pub(crate) fn peek(&self) -> Option<Usage> {
        let bytes = std::fs::read(&self.path).ok()?;
        let usage = Usage::decode(&bytes)?;
        *self.last_known.lock() = Some(usage);
        Some(usage)
    }
}

impl HeldLedger<'_> {
    /// Whether the file lock is held: only then may the count be read and written.
    pub(crate) const fn is_shared(&self) -> bool {
        self.locked
    }

    /// The usage the ledger holds; `None` when it holds none (new, torn or garbled: the
    /// caller recounts) or when the file lock is not held.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file cannot be read.
    pub(crate) fn read(&mut self) -> Result<Option<Usage>, Error> {
        let Some(file) = self.guard.as_mut().filter(|_| self.locked) else {
            return Ok(None);
        };
        let path = &self.ledger.path;
        let mut bytes = Vec::with_capacity(ENCODED_LEN + 1);
        file.seek(SeekFrom::Start(0))
            .and_then(|_| file.take(ENCODED_LEN as u64 + 1).read_to_end(&mut bytes))
            .map_err(|err| Error::io(path, err))?;
        let usage = Usage::decode(&bytes);
        if usage.is_some() {
            *self.ledger.last_known.lock() = usage;
        }
        Ok(usage)
    }

    /// Writes `usage` to the ledger (in place: the lock belongs to the file, so it is
    /// never replaced by a rename).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file lock is not held or the file cannot be written.
    pub(crate) fn write(&mut self, usage: Usage) -> Result<(), Error> {
        let path = &self.ledger.path;
        let Some(file) = self.guard.as_mut().filter(|_| self.locked) else {
            return Err(Error::io(
                path,
                io::Error::other("the ledger is not locked"),
            ));
        };
        let bytes = usage.encode();
        file.seek(SeekFrom::Start(0))
            .and_then(|_| file.write_all(&bytes))
            .and_then(|()| file.set_len(ENCODED_LEN as u64))
            .and_then(|()| {
                if self.ledger.durable {
                    file.sync_data()
                } else {
                    Ok(())
                }
            })
            .map_err(|err| Error::io(path, err))?;
        *self.ledger.last_known.lock() = Some(usage);
        Ok(())
    }
}

impl Drop for HeldLedger<'_> {
    fn drop(&mut self) {
        if self.locked
            && let Some(file) = self.guard.as_ref()
        {
            let _ = file.unlock();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]
    use std::path::Path;

    use super::*;

    fn ledger_in(dir: &Path) -> (Layout, Ledger) {
        let layout = Layout::new(dir.to_path_buf(), true);
        layout.create().unwrap();
        let ledger = Ledger::new(&layout, 7, false);
        (layout, ledger)
    }

    #[test]
    fn a_new_ledger_is_unknown_then_keeps_what_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let (layout, ledger) = ledger_in(dir.path());
        assert_eq!(ledger.peek(), None);
        let (mut held, failure) = ledger.lock(&layout);
        assert!(failure.is_none() && held.is_shared());
        assert_eq!(held.read().unwrap(), None);
        held.write(Usage::new(3, 300)).unwrap();
        assert_eq!(held.read().unwrap(), Some(Usage::new(3, 300)));
        drop(held);
        assert_eq!(ledger.peek(), Some(Usage::new(3, 300)));
        // A second handle (another process, as far as the lock is concerned) agrees.
        let other = Ledger::new(&layout, 7, false);
        let (mut held, _) = other.lock(&layout);
        assert_eq!(held.read().unwrap(), Some(Usage::new(3, 300)));
    }

    #[test]
    fn the_file_lock_excludes_another_handle() {
        let dir = tempfile::tempdir().unwrap();
        let (layout, ledger) = ledger_in(dir.path());
        let (held, _) = ledger.lock(&layout);
        let other = File::open(&ledger.path).unwrap();
        assert!(other.try_lock().is_err(), "the lock is held");
        drop(held);
        other.try_lock().unwrap();
    }

    #[test]
    fn a_garbled_ledger_reads_as_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let (layout, ledger) = ledger_in(dir.path());
        let (mut held, _) = ledger.lock(&layout);
        held.write(Usage::new(1, 10)).unwrap();
        drop(held);
        std::fs::write(&ledger.path, b"garbage that is not a ledger").unwrap();
        let (mut held, _) = ledger.lock(&layout);
        assert_eq!(held.read().unwrap(), None);
        held.write(Usage::new(2, 20)).unwrap();
        assert_eq!(held.read().unwrap(), Some(Usage::new(2, 20)));
    }

    #[test]
    fn a_replaced_folder_is_followed() {
        let dir = tempfile::tempdir().unwrap();
        let (layout, ledger) = ledger_in(dir.path());
        let (mut held, _) = ledger.lock(&layout);
        held.write(Usage::new(1, 10)).unwrap();
        drop(held);
        std::fs::remove_dir_all(dir.path().join(LEDGER_DIR)).unwrap();
        let (mut held, failure) = ledger.lock(&layout);
        assert!(failure.is_none(), "{failure:?}");
        assert_eq!(held.read().unwrap(), None, "a new, empty ledger");
        held.write(Usage::new(5, 50)).unwrap();
        assert_eq!(ledger.peek(), Some(Usage::new(5, 50)));
    }

    #[cfg(unix)]
    #[test]
    fn an_unopenable_ledger_is_an_error_and_excludes_only_threads() {
        let dir = tempfile::tempdir().unwrap();
        let (layout, ledger) = ledger_in(dir.path());
        // A file where the ledger folder should be: nothing can be created under it.
        std::fs::write(dir.path().join(LEDGER_DIR), b"in the way").unwrap();
        let (mut held, failure) = ledger.lock(&layout);
        assert!(failure.is_some());
        assert!(!held.is_shared());
        assert_eq!(held.read().unwrap(), None);
        assert!(held.write(Usage::new(1, 1)).is_err());
    }
}
