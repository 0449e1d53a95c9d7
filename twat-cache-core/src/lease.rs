//! Per-key leases between processes that share a cache folder: the process holding a
//! key's lease computes it; the others wait for its entry, then read it.
//!
//! # How a lease works
//!
//! A lease is an advisory lock ([`File::try_lock`], `flock` on Unix, `LockFileEx` on
//! Windows) on `<folder>/leases/<digest of the key>.lock`. Three properties make it safe:
//!
//! - **The OS releases it when its holder dies.** A leader killed mid-computation (even
//!   by `SIGKILL`) holds nothing once the kernel has closed its files, so a waiter's next
//!   [`LeaseDir::try_acquire`] succeeds; nobody waits on a dead process beyond one poll.
//! - **No lock files pile up.** The holder removes the file *before* unlocking. A waiter
//!   that opened the old file and locks it after that sees that the path no longer names
//!   the file it locked (`st_ino` differs, or the path is gone) and starts over with a new
//!   file, so two holders of one key never coexist.
//! - **It is only advice.** Every operation that fails (read-only folder, full disk, a
//!   file system without locks) is an error the caller counts and then computes without
//!   a lease: a correct program never waits on, or fails because of, a broken lease.
//!
//! ```
//! use twat_cache_core::lease::LeaseDir;
//!
//! let folder = tempfile::tempdir()?;
//! let leases = LeaseDir::new(folder.path().join("leases"), true);
//! let held = leases.try_acquire(b"key")?.expect("nobody else holds it");
//! // A second try (another process, or this one) finds it held.
//! assert!(leases.try_acquire(b"key")?.is_none());
//! drop(held);
//! assert!(leases.try_acquire(b"key")?.is_some());
//! # Ok::<(), twat_cache_core::Error>(())
//! ```

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use crate::Error;
use crate::root::create_cache_dir;

/// How many times [`LeaseDir::try_acquire`] starts over when the file it locked was
/// removed under it (each start over means another holder just finished).
const RETRIES: usize = 8;

/// The lease files of one cache folder.
#[derive(Debug, Clone)]
pub struct LeaseDir {
    dir: PathBuf,
    secure: bool,
}

/// A held lease: the key's computation is this holder's until it is dropped.
#[derive(Debug)]
#[must_use = "the lease is released when this is dropped"]
pub struct HeldLease {
    file: File,
    path: PathBuf,
}

impl LeaseDir {
    /// The leases kept in `dir` (created on first use; owner-only when `secure`).
    #[must_use]
    pub const fn new(dir: PathBuf, secure: bool) -> Self {
        Self { dir, secure }
    }

    /// The folder the lease files go in.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Takes the lease of `key` if no one holds it: `Some` when this caller now holds
    /// it, `None` when another holder (this process or another) does.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the folder or file cannot be created or locked; the caller
    /// should then compute without a lease.
    pub fn try_acquire(&self, key: &[u8]) -> Result<Option<HeldLease>, Error> {
        let path = self.dir.join(file_name(key));
        for _ in 0..RETRIES {
            let file = match open(&path) {
                Ok(file) => file,
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                    create_cache_dir(&self.dir, self.secure)?;
                    open(&path).map_err(|err| Error::io(&path, err))?
                }
                Err(err) => return Err(Error::io(&path, err)),
            };
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => return Ok(None),
                Err(TryLockError::Error(err)) => return Err(Error::io(&path, err)),
            }
            if still_named_by(&file, &path) {
                return Ok(Some(HeldLease { file, path }));
            }
            // The previous holder removed this file after we opened it: start over.
        }
        // Holders keep finishing under us: treat the key as held; the caller re-reads.
        Ok(None)
    }
}

impl Drop for HeldLease {
    fn drop(&mut self) {
        // Remove first, unlock second (closing the file unlocks): see the module docs.
        let _ = std::fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}

fn open(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)
}

/// The lock file's name: a 128-bit digest of the key, in hex.
fn file_name(key: &[u8]) -> String {
    format!("{:032x}.lock", xxhash_rust::xxh3::xxh3_128(key))
}

/// Whether `path` still names the file `file` has open (the same inode on the same
/// device): after locking a file, a lock holder checks that no one removed or replaced
/// it meanwhile, since a lock on an unlinked file protects nothing.
#[cfg(unix)]
pub fn still_named_by(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(open), Ok(named)) => open.dev() == named.dev() && open.ino() == named.ino(),
        _ => false,
    }
}

/// Whether `path` still names the file `file` has open: elsewhere a locked file cannot
/// be removed while open, so the name cannot move.
#[cfg(not(unix))]
pub fn still_named_by(_: &File, path: &Path) -> bool {
    path.exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_is_exclusive_and_leaves_no_file() {
        let folder = tempfile::tempdir().unwrap();
        let leases = LeaseDir::new(folder.path().join("leases"), true);
        let held = leases.try_acquire(b"a").unwrap().unwrap();
        assert!(leases.try_acquire(b"a").unwrap().is_none());
        // Another key is independent.
        let other = leases.try_acquire(b"b").unwrap().unwrap();
        drop((held, other));
        let left: Vec<_> = std::fs::read_dir(leases.path()).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
        assert!(leases.try_acquire(b"a").unwrap().is_some());
    }

    #[cfg(unix)]
    #[test]
    fn a_file_removed_under_a_waiter_is_not_a_lease() {
        let folder = tempfile::tempdir().unwrap();
        let leases = LeaseDir::new(folder.path().to_owned(), false);
        let path = folder.path().join(file_name(b"k"));
        // A waiter opened the old file, then the holder removed it and a new one exists.
        let stale = open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        let held = leases.try_acquire(b"k").unwrap().unwrap();
        stale.try_lock().unwrap();
        assert!(!still_named_by(&stale, &path));
        assert!(still_named_by(&held.file, &path));
    }

    #[test]
    fn an_unwritable_folder_is_an_error_not_a_panic() {
        let folder = tempfile::tempdir().unwrap();
        let file = folder.path().join("not_a_folder");
        std::fs::write(&file, b"x").unwrap();
        let leases = LeaseDir::new(file.join("leases"), true);
        assert!(matches!(leases.try_acquire(b"k"), Err(Error::Io { .. })));
    }
}
