//! One open fjall database per folder per process, shared by every cache in the folder.
//!
//! fjall takes an exclusive lock on its folder: a second `Database::open` of the same
//! folder — in another process, or in this one — fails with `Locked`. So within a process
//! every cache on one folder shares one database through a process-global map
//! (`path -> Weak<Folder>`; the map never keeps a database alive), and each cache gets
//! its own keyspace in it. Across processes, a second process retries for a bounded time
//! (`DiskOptions::lock_wait`) and then falls back to an in-memory store.
//!
//! A folder also hands out the one live cache of each keyspace, so that every handle this
//! process opens on one name shares one index and memory front. It holds those caches
//! weakly and without knowing their type (they hold the folder, not the other way round),
//! so this module depends only on the [`Store`] it opens.

use std::any::Any;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Weak};
use std::time::Duration;

use parking_lot::{Mutex, MutexGuard};
use twat_cache_core::Error;

use crate::database::SharedDatabase;
use crate::store::Store;

static FOLDERS: LazyLock<Mutex<HashMap<PathBuf, Weak<Folder>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// An opened cache folder: the shared fjall database, or the in-memory fallback.
pub(crate) struct Folder {
    path: PathBuf,
    database: Option<Arc<SharedDatabase>>,
    /// The live cache of each keyspace, by keyspace name (type-erased: see the module docs).
    tenants: Mutex<HashMap<String, Weak<dyn Any + Send + Sync>>>,
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
    /// longer than `lock_wait`, returns an in-memory fallback folder. With `secure`, the
    /// folder's files are kept owner-only from then on (see [`Folder::tighten`]).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] or [`Error::Backend`] when the folder cannot be opened for another
    /// reason than the lock (permissions, corrupt files, full disk).
    pub(crate) fn open(path: &Path, lock_wait: Duration, secure: bool) -> Result<Arc<Self>, Error> {
        // Canonical paths make `a/b` and `a/./b` one folder.
        let path = std::fs::canonicalize(path).map_err(|err| Error::io(path, err))?;
        // Held while opening, so two threads of this process never race for the lock.
        let mut folders = FOLDERS.lock();
        let folder = match folders.get(&path).and_then(Weak::upgrade) {
            Some(folder) => folder,
            None => {
                folders.retain(|_, weak| weak.strong_count() > 0);
                let database = SharedDatabase::open(&path, lock_wait)?.map(Arc::new);
                let folder = Arc::new(Self {
                    path: path.clone(),
                    database,
                    tenants: Mutex::new(HashMap::new()),
                });
                folders.insert(path, Arc::downgrade(&folder));
                folder
            }
        };
        drop(folders);
        if let (true, Some(database)) = (secure, &folder.database) {
            database.make_private();
        }
        Ok(folder)
    }

    /// Makes the folder 0700 and every file in it 0600 again when a `secure` cache
    /// opened it (fjall creates its files with the umask); a no-op otherwise and for the
    /// in-memory fallback.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] naming the file whose permissions could not be set.
    pub(crate) fn tighten(&self) -> Result<(), Error> {
        self.database
            .as_ref()
            .map_or(Ok(()), |database| database.tighten())
    }

    /// The canonical folder path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The folder's fjall database; `None` for the in-memory fallback.
    pub(crate) fn database(&self) -> Option<&SharedDatabase> {
        self.database.as_deref()
    }

    /// Locks the folder's table of live caches (no cache of this process opens a
    /// keyspace here while the guard lives), for `inspect`.
    pub(crate) fn lock_tenants(&self) -> TenantsGuard<'_> {
        TenantsGuard(self.tenants.lock())
    }

    /// Whether this folder is the in-memory fallback (another process holds the lock).
    pub(crate) const fn is_fallback(&self) -> bool {
        self.database.is_none()
    }

    /// The live cache of type `T` stored under `keyspace` in this folder, or a new one
    /// made by `build` from a fresh [`Store`]. The folder lock is held while `build` runs,
    /// so two threads never build two caches over one keyspace.
    ///
    /// # Errors
    ///
    /// Whatever opening the keyspace or `build` fails at.
    pub(crate) fn tenant<T: Any + Send + Sync>(
        self: &Arc<Self>,
        keyspace: &str,
        build: impl FnOnce(Store) -> Result<Arc<T>, Error>,
    ) -> Result<Arc<T>, Error> {
        let mut tenants = self.tenants.lock();
        if let Some(tenant) = tenants
            .get(keyspace)
            .and_then(Weak::upgrade)
            .and_then(|tenant| tenant.downcast::<T>().ok())
        {
            return Ok(tenant);
        }
        tenants.retain(|_, weak| weak.strong_count() > 0);
        let store = match &self.database {
            Some(database) => {
                // Created now, so that an unusable folder fails the open.
                database.with_keyspace(keyspace, |_, _| Ok(()))?;
                Store::Fjall {
                    database: Arc::clone(database),
                    keyspace: keyspace.to_owned(),
                }
            }
            None => Store::memory(),
        };
        let tenant = build(store)?;
        let erased: Arc<dyn Any + Send + Sync> = Arc::clone(&tenant) as _;
        tenants.insert(keyspace.to_owned(), Arc::downgrade(&erased));
        Ok(tenant)
    }
}

/// The locked table of a folder's live caches, from [`Folder::lock_tenants`].
pub(crate) struct TenantsGuard<'a>(MutexGuard<'a, HashMap<String, Weak<dyn Any + Send + Sync>>>);

impl TenantsGuard<'_> {
    /// Whether a cache of this process is open on the folder.
    pub(crate) fn has_live(&self) -> bool {
        self.0.values().any(|tenant| tenant.strong_count() > 0)
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
    fn a_folder_shares_one_live_tenant_per_keyspace() {
        let dir = tempfile::tempdir().unwrap();
        let folder = Folder::open(dir.path(), Duration::ZERO, true).unwrap();
        let first = folder.tenant("a", |_| Ok(Arc::new(1_u32))).unwrap();
        let again = folder.tenant("a", |_| Ok(Arc::new(2_u32))).unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        let other = folder.tenant("b", |_| Ok(Arc::new(3_u32))).unwrap();
        assert_eq!(*other, 3);
        drop((first, again));
        let rebuilt = folder.tenant("a", |_| Ok(Arc::new(4_u32))).unwrap();
        assert_eq!(*rebuilt, 4, "a dropped tenant is built afresh");
    }
}
