//! One open fjall database per folder per process, shared by every cache in the folder.
//!
//! fjall takes an exclusive lock on its folder: a second `Database::open` of the same
//! folder — in another process, or in this one — fails with `Locked`. So within a process
//! every cache on one folder shares one database through a process-global map
//! (`path -> Weak<Folder>`; the map never keeps a database alive), and each cache gets
//! its own keyspace in it. Across processes, a second process retries for a bounded time
//! (`DiskOptions::lock_wait`) and then falls back to an in-memory store.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Weak};
use std::time::{Duration, Instant};

use fjall::{Database, KeyspaceCreateOptions};
use parking_lot::Mutex;
use twat_cache_core::Error;

use crate::cache::Core;
use crate::store::{Store, fjall_error};

static FOLDERS: LazyLock<Mutex<HashMap<PathBuf, Weak<Folder>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// An opened cache folder: the shared fjall database, or the in-memory fallback.
pub(crate) struct Folder {
    path: PathBuf,
    database: Option<Database>,
    cores: Mutex<HashMap<String, Weak<Core>>>,
}

impl std::fmt::Debug for Folder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Folder")
            .field("path", &self.path)
            .field("fallback", &self.is_fallback())
            .finish_non_exhaustive()
    }
}

impl Folder {
    /// Opens `path` (already created), sharing the database with every other cache of
    /// this process on the same folder. When another process holds the folder's lock for
    /// longer than `lock_wait`, returns an in-memory fallback folder.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] or [`Error::Backend`] when the folder cannot be opened for another
    /// reason than the lock (permissions, corrupt files, full disk).
    pub(crate) fn open(path: &Path, lock_wait: Duration) -> Result<Arc<Self>, Error> {
        // Canonical paths make `a/b` and `a/./b` one folder.
        let path = std::fs::canonicalize(path).map_err(|err| Error::io(path, err))?;
        // Held while opening, so two threads of this process never race for the lock.
        let mut folders = FOLDERS.lock();
        if let Some(folder) = folders.get(&path).and_then(Weak::upgrade) {
            return Ok(folder);
        }
        folders.retain(|_, weak| weak.strong_count() > 0);
        let database = open_database(&path, lock_wait)?;
        let folder = Arc::new(Self {
            path: path.clone(),
            database,
            cores: Mutex::new(HashMap::new()),
        });
        folders.insert(path, Arc::downgrade(&folder));
        Ok(folder)
    }

    /// The canonical folder path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Whether this folder is the in-memory fallback (another process holds the lock).
    pub(crate) const fn is_fallback(&self) -> bool {
        self.database.is_none()
    }

    /// The live cache stored under `keyspace` in this folder, or a new one made by
    /// `build` from a fresh [`Store`].
    ///
    /// # Errors
    ///
    /// Whatever opening the keyspace or `build` fails at.
    pub(crate) fn core(
        self: &Arc<Self>,
        keyspace: &str,
        build: impl FnOnce(Store) -> Result<Arc<Core>, Error>,
    ) -> Result<Arc<Core>, Error> {
        let mut cores = self.cores.lock();
        if let Some(core) = cores.get(keyspace).and_then(Weak::upgrade) {
            return Ok(core);
        }
        cores.retain(|_, weak| weak.strong_count() > 0);
        let store = match &self.database {
            Some(database) => {
                let handle = database
                    .keyspace(keyspace, || {
                        // The engine's index knows which keys exist, so point reads always
                        // expect a hit: skip the last level's bloom filter.
                        KeyspaceCreateOptions::default().expect_point_read_hits(true)
                    })
                    .map_err(|err| fjall_error(&self.path, err))?;
                Store::Fjall {
                    database: database.clone(),
                    keyspace: handle,
                    path: self.path.clone(),
                }
            }
            None => Store::memory(),
        };
        let core = build(store)?;
        cores.insert(keyspace.to_owned(), Arc::downgrade(&core));
        Ok(core)
    }
}

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

/// The fjall keyspace name of the cache `name`.
///
/// fjall 3 documents keyspace names as 1–255 characters among ASCII alphanumerics and
/// `_ - . # $`. A name that already fits (and has no `$`) is used as is; any other name
/// becomes its cleaned-up first 64 characters, `$`, and the 32-hex-digit xxh3-128 of the
/// full name. Plain names never contain `$` and derived ones always do, so the two kinds
/// never collide.
pub(crate) fn keyspace_name(name: &str) -> String {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '#');
    if !name.is_empty() && name.len() <= 200 && name.chars().all(allowed) {
        return name.to_owned();
    }
    let readable: String = name
        .chars()
        .take(64)
        .map(|c| if allowed(c) { c } else { '_' })
        .collect();
    let digest = xxhash_rust::xxh3::xxh3_128(name.as_bytes());
    format!("{readable}${digest:032x}")
}

/// A folder name made from a cache name: characters outside `[A-Za-z0-9_.-]` become `_`.
pub(crate) fn folder_from_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.chars().all(|c| c == '.') {
        "twat_cache_disk".to_owned()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyspace_names_are_valid_and_distinct() {
        assert_eq!(keyspace_name("reports"), "reports");
        let derived = keyspace_name("my_crate::reports");
        assert!(derived.starts_with("my_crate__reports$"));
        assert_ne!(keyspace_name("a::b"), keyspace_name("a__b"));
        assert_ne!(keyspace_name("a::b"), keyspace_name("a:;b"));
        let long = keyspace_name(&"x".repeat(1000));
        assert!(long.len() <= 255);
        assert!(!keyspace_name("").is_empty());
        assert_ne!(keyspace_name("x$y"), "x$y");
    }

    #[test]
    fn folder_names_are_path_safe() {
        assert_eq!(folder_from_name("my_crate::reports"), "my_crate__reports");
        assert_eq!(folder_from_name(".."), "twat_cache_disk");
        assert_eq!(folder_from_name("a/b"), "a_b");
    }
}
