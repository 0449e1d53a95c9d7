//! The folder's fjall database: shared by every cache of the folder in this process,
//! reopened when fjall stops accepting writes, and kept owner-only when `secure`.
//!
//! # Reopening
//!
//! After one failed journal write (a full disk, an I/O error) fjall poisons the database:
//! every later write fails with `Poisoned` for as long as it stays open. A cache must start
//! caching again when the disk recovers, so the database lives behind a lock that lets it
//! be closed and opened again. Every operation runs under the read side with the database
//! (and its keyspace); an operation that meets `Poisoned` takes the write side — which
//! waits for the operations in flight and drops every handle, so fjall releases its
//! folder lock — and opens the database again, which replays the journal up to its last
//! whole record. While reopening fails (the disk is still full) operations fail at once
//! and a new attempt is made at most every [`RETRY`]. Found by the full-disk fault test
//! (`twat-cache/tests/faults.rs`): before, a `#[bcache]` never stored anything again once
//! its disk had been full.
//!
//! # Privacy
//!
//! With `secure`, the folder is created 0700, but fjall creates its own files and
//! folders with the process umask (0644 and 0755 under the usual 022) and has no hook to
//! choose their modes; changing the umask is not an option for a library (one value
//! shared by every thread). So [`SharedDatabase::tighten`] sets the modes after fjall has
//! written: when a cache opens, on `flush`, `compact` and sweeps that removed entries,
//! after a reopen, and when the database closes. Files fjall's background workers create
//! in between are covered by the 0700 folder, which nobody else can enter.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use fjall::{Database, Keyspace, KeyspaceCreateOptions};
use parking_lot::{MappedRwLockReadGuard, Mutex, RwLock, RwLockReadGuard};
use twat_cache_core::{EngineKind, Error};

/// Turns a fjall error into the workspace error, naming the folder.
pub(crate) fn fjall_error(path: &Path, error: fjall::Error) -> Error {
    match error {
        fjall::Error::Io(source) => Error::io(path, source),
        fjall::Error::Locked => Error::Locked(path.to_path_buf()),
        fjall::Error::Storage(fjall::LsmError::Io(source)) => Error::io(path, source),
        other => Error::backend_with(
            EngineKind::Disk,
            format!("{} ({})", other, path.display()),
            other,
        ),
    }
}

/// How long after a failed reopen the next operation tries again.
pub(crate) const RETRY: Duration = Duration::from_millis(100);

/// A folder's fjall database, reopened after fjall poisons it (see the module docs).
pub(crate) struct SharedDatabase {
    path: PathBuf,
    lock_wait: Duration,
    state: RwLock<State>,
    /// Whether a `secure` cache opened the folder: its files are kept owner-only.
    private: AtomicBool,
}

struct State {
    open: Option<Open>,
    /// Bumped by every reopen attempt, so that one failure reopens once.
    generation: u64,
    /// When the last reopen failed.
    failed_at: Option<Instant>,
}

/// An open database and the keyspaces opened in it.
pub(crate) struct Open {
    database: Database,
    keyspaces: Mutex<HashMap<String, Keyspace>>,
}

impl Open {
    fn new(database: Database) -> Self {
        Self {
            database,
            keyspaces: Mutex::new(HashMap::new()),
        }
    }

    /// The database.
    pub(crate) const fn database(&self) -> &Database {
        &self.database
    }

    /// The keyspace `name`, created if new. The engine's index knows which keys exist,
    /// so point reads always expect a hit: the last level's bloom filter is skipped.
    fn keyspace(&self, name: &str) -> Result<Keyspace, fjall::Error> {
        let mut keyspaces = self.keyspaces.lock();
        if let Some(keyspace) = keyspaces.get(name) {
            return Ok(keyspace.clone());
        }
        let keyspace = self.database.keyspace(name, || {
            KeyspaceCreateOptions::default().expect_point_read_hits(true)
        })?;
        keyspaces.insert(name.to_owned(), keyspace.clone());
        Ok(keyspace)
    }
}

impl std::fmt::Debug for SharedDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedDatabase")
            .field("path", &self.path)
            .field("open", &self.state.read().open.is_some())
            .finish_non_exhaustive()
    }
}

impl SharedDatabase {
    /// Opens the fjall database in `path` (canonical, already created); `Ok(None)` when
    /// another process holds it for longer than `lock_wait`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] or [`Error::Backend`] when it cannot be opened for another reason
    /// than the lock (permissions, corrupt files, full disk).
    pub(crate) fn open(path: &Path, lock_wait: Duration) -> Result<Option<Self>, Error> {
        Ok(open_database(path, lock_wait)?.map(|database| Self {
            path: path.to_path_buf(),
            lock_wait,
            state: RwLock::new(State {
                open: Some(Open::new(database)),
                generation: 0,
                failed_at: None,
            }),
            private: AtomicBool::new(false),
        }))
    }

    /// Keeps the folder's files owner-only from now on (see the module docs).
    pub(crate) fn make_private(&self) {
        self.private.store(true, Ordering::Relaxed);
    }

    /// The open database, reopening it first if an earlier failure closed it (and the
    /// last attempt is older than [`RETRY`]). Held, it keeps the database from being
    /// reopened: hold it only for one operation.
    ///
    /// # Errors
    ///
    /// [`Error::Backend`] when the database is closed after a failure and could not be
    /// reopened yet.
    pub(crate) fn read(&self) -> Result<MappedRwLockReadGuard<'_, Open>, Error> {
        self.read_generation().map(|(open, _)| open)
    }

    /// [`read`](Self::read), with the generation of the database it holds.
    fn read_generation(&self) -> Result<(MappedRwLockReadGuard<'_, Open>, u64), Error> {
        let state = self.state.read();
        if state.open.is_none() {
            let due = state.failed_at.is_none_or(|at| at.elapsed() >= RETRY);
            let generation = state.generation;
            drop(state);
            if due {
                self.reopen(generation);
            }
            return self.read_open();
        }
        let generation = state.generation;
        RwLockReadGuard::try_map(state, |state| state.open.as_ref())
            .map(|open| (open, generation))
            .map_err(|_| self.closed())
    }

    /// The open database as it is now, without trying to reopen it.
    fn read_open(&self) -> Result<(MappedRwLockReadGuard<'_, Open>, u64), Error> {
        let state = self.state.read();
        let generation = state.generation;
        RwLockReadGuard::try_map(state, |state| state.open.as_ref())
            .map(|open| (open, generation))
            .map_err(|_| self.closed())
    }

    /// Runs `operation` with the keyspace `name`; an operation that finds the database
    /// poisoned reopens it (and still fails).
    ///
    /// # Errors
    ///
    /// The operation's error, naming the folder; [`Error::Backend`] while the database
    /// is closed after a failure.
    pub(crate) fn with_keyspace<R>(
        &self,
        name: &str,
        operation: impl FnOnce(&Database, &Keyspace) -> Result<R, fjall::Error>,
    ) -> Result<R, Error> {
        let (open, generation) = self.read_generation()?;
        let result = open
            .keyspace(name)
            .and_then(|keyspace| operation(&open.database, &keyspace));
        drop(open);
        match result {
            Ok(value) => Ok(value),
            Err(fjall::Error::Poisoned) => {
                self.reopen(generation);
                Err(Error::backend_with(
                    EngineKind::Disk,
                    format_args!(
                        "an earlier write failed and fjall stopped accepting writes; the \
                         database is being reopened ({})",
                        self.path.display()
                    ),
                    fjall::Error::Poisoned,
                ))
            }
            Err(err) => Err(fjall_error(&self.path, err)),
        }
    }

    /// Closes the database (if it is still the one of `generation`) and opens it again.
    fn reopen(&self, generation: u64) {
        let mut state = self.state.write();
        if state.generation != generation {
            return; // another thread reopened it already
        }
        state.generation = state.generation.wrapping_add(1);
        // Dropping every handle lets fjall release the folder's lock.
        state.open = None;
        match open_database(&self.path, self.lock_wait) {
            Ok(Some(database)) => {
                state.open = Some(Open::new(database));
                state.failed_at = None;
                tracing::info!(folder = %self.path.display(), "twat-cache: disk cache database reopened after a write failure");
            }
            Ok(None) => state.failed_at = Some(Instant::now()),
            Err(err) => {
                tracing::debug!(folder = %self.path.display(), error = %err, "twat-cache: reopening the disk cache database failed; retrying");
                state.failed_at = Some(Instant::now());
            }
        }
        drop(state);
        if let Err(err) = self.tighten() {
            tracing::debug!(error = %err, "twat-cache: could not tighten the reopened folder");
        }
    }

    fn closed(&self) -> Error {
        Error::backend_message(
            EngineKind::Disk,
            format_args!(
                "the database was closed after a write failure and could not be reopened \
                 yet (retried every {} ms) ({})",
                RETRY.as_millis(),
                self.path.display()
            ),
        )
    }

    /// Makes the folder and fjall's folders 0700 and its files 0600 when a `secure`
    /// cache opened it; a no-op otherwise.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] naming the file whose permissions could not be set.
    pub(crate) fn tighten(&self) -> Result<(), Error> {
        if self.private.load(Ordering::Relaxed) {
            tighten(&self.path)
        } else {
            Ok(())
        }
    }
}

impl Drop for SharedDatabase {
    fn drop(&mut self) {
        // Closing the database writes its last files: tighten after it is gone.
        self.state.get_mut().open = None;
        if let Err(err) = self.tighten() {
            tracing::warn!(folder = %self.path.display(), error = %err, "twat-cache: could not make the disk cache's files owner-only");
        }
    }
}

/// Opens the database in `path`, retrying while another holder releases its lock for
/// up to `lock_wait`; `Ok(None)` if it is still locked then.
fn open_database(path: &Path, lock_wait: Duration) -> Result<Option<Database>, Error> {
    let deadline = Instant::now() + lock_wait;
    loop {
        match Database::builder(path).open() {
            Ok(database) => return Ok(Some(database)),
            Err(fjall::Error::Locked) => {
                let now = Instant::now();
                if now >= deadline {
                    return Ok(None);
                }
                std::thread::sleep((deadline - now).min(Duration::from_millis(25)));
            }
            Err(err) => return Err(fjall_error(path, err)),
        }
    }
}

/// Sets `root` and every folder below it to 0700 and every file to 0600, without
/// following symbolic links. Entries that vanish during the walk (fjall removes table
/// files as it compacts) are skipped; a `root` that is no longer a folder (deleted, or
/// replaced by someone's file) is left alone.
#[cfg(unix)]
fn tighten(root: &Path) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt as _;

    fn set_mode(path: &Path, mode: u32) -> Result<(), Error> {
        let current = match std::fs::symlink_metadata(path) {
            Ok(metadata) => metadata.permissions().mode() & 0o777,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(err) => return Err(Error::io(path, err)),
        };
        if current == mode {
            return Ok(());
        }
        match std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)) {
            Err(err) if err.kind() != io::ErrorKind::NotFound => Err(Error::io(path, err)),
            _ => Ok(()),
        }
    }

    if !std::fs::symlink_metadata(root).is_ok_and(|metadata| metadata.is_dir()) {
        return Ok(());
    }
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        set_mode(&folder, 0o700)?;
        let entries = match std::fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
            Err(err) => return Err(Error::io(&folder, err)),
        };
        for entry in entries {
            let entry = entry.map_err(|err| Error::io(&folder, err))?;
            let path = entry.path();
            match entry.file_type() {
                Ok(file_type) if file_type.is_dir() => folders.push(path),
                Ok(file_type) if file_type.is_file() => set_mode(&path, 0o600)?,
                Ok(_) => {}
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => return Err(Error::io(&path, err)),
            }
        }
    }
    Ok(())
}

/// File modes are a Unix notion; elsewhere there is nothing to tighten.
#[cfg(not(unix))]
fn tighten(_root: &Path) -> Result<(), Error> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn fjall_errors_stay_the_source() {
        let path = Path::new("/cache/folder");
        let err = fjall_error(path, fjall::Error::Poisoned);
        assert!(matches!(err, Error::Backend { .. }));
        assert!(err.to_string().contains("/cache/folder"), "{err}");
        let cause = err.source().and_then(|s| s.downcast_ref::<fjall::Error>());
        assert!(matches!(cause, Some(fjall::Error::Poisoned)));

        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let err = fjall_error(path, fjall::Error::Io(denied));
        let cause = err
            .source()
            .and_then(|s| s.downcast_ref::<std::io::Error>());
        assert_eq!(
            cause.map(std::io::Error::kind),
            Some(std::io::ErrorKind::PermissionDenied)
        );
    }
}
