//! Looking into a disk-cache folder from outside the cache: what the `twat-cache` command
//! (and any program) uses to list, verify and clean folders it did not open as a cache.
//!
//! * [`is_disk_folder`] tells a folder of this engine by its layout (fjall's `version`
//!   marker and `keyspaces` folder), without opening it.
//! * [`describe_folder`] counts entries, bytes and expiry. When another process holds the
//!   folder (fjall locks it for its whole life), it does not wait or fail: it reports
//!   the folder [in use](DiskFolderSummary::in_use) with what the file system alone says.
//! * [`scan_entries`] visits every entry of every cache in the folder — its size, expiry
//!   and whether its envelope decodes — and removes those the visitor rejects, in one
//!   fjall batch.
//!
//! A folder this process already has open (a live [`DiskCache`](crate::DiskCache)) is
//! read through the same database, so inspecting never trips over its own lock; removing
//! entries from under a live cache is refused ([`Error::Locked`]), because its index
//! would no longer match the disk.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fjall::{KeyspaceCreateOptions, PersistMode, Slice};
use twat_cache_core::envelope::{self, Flags, unix_millis_now};
use twat_cache_core::{EngineKind, Error};

pub use twat_cache_core::inspect::{ScanReport, Verdict};

use crate::database::fjall_error;
use crate::folder::Folder;

/// fjall's format marker, present in every folder this engine has opened.
const VERSION_MARKER: &str = "version";
/// fjall's folder of keyspaces.
const KEYSPACES_DIR: &str = "keyspaces";

/// Whether `path` is a folder written by this engine (a fjall database): a real folder
/// (not a symlink) holding fjall's `version` marker and `keyspaces` folder.
#[must_use]
pub fn is_disk_folder(path: &Path) -> bool {
    let is_real_dir = |path: &Path| {
        fs::symlink_metadata(path).is_ok_and(|metadata| metadata.file_type().is_dir())
    };
    is_real_dir(path)
        && fs::symlink_metadata(path.join(VERSION_MARKER))
            .is_ok_and(|metadata| metadata.file_type().is_file())
        && is_real_dir(&path.join(KEYSPACES_DIR))
}

/// What state one stored entry is in.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryCondition {
    /// A valid envelope, not expired.
    Live,
    /// A valid envelope whose time-to-live has passed (the cache would remove it on its
    /// next read or sweep).
    Expired,
    /// Not a valid envelope (damaged or written by an incompatible build): the reason.
    /// The cache treats it as a miss and removes it.
    Garbled(String),
}

/// One stored entry, as [`scan_entries`] shows it to its visitor.
#[derive(Debug, Clone, Copy)]
pub struct DiskEntry<'a> {
    /// The fjall keyspace holding the entry (one per cache name in the folder).
    pub keyspace: &'a str,
    /// The stored key bytes (the cache's namespace followed by the encoded key).
    pub key: &'a [u8],
    /// Key plus stored value, in bytes (what counts towards `maxsize`).
    pub size: u64,
    /// When the entry expires; `None` for never (or a garbled entry).
    pub expires_at: Option<SystemTime>,
    /// Live, expired or garbled.
    pub condition: &'a EntryCondition,
}

/// A disk-cache folder at a glance, from [`describe_folder`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DiskFolderSummary {
    /// The folder.
    pub path: PathBuf,
    /// Whether another process holds the folder right now (fjall's folder lock). Then
    /// the entry counts are `None`: only that process can read its entries.
    pub in_use: bool,
    /// The keyspaces (one per cache name) in the folder; empty when in use.
    pub keyspaces: Vec<String>,
    /// Stored entries, expired and garbled ones included.
    pub entries: Option<u64>,
    /// Entries that carry a time-to-live.
    pub expiring: Option<u64>,
    /// Entries already expired but not yet removed.
    pub expired: Option<u64>,
    /// Entries that are not valid envelopes.
    pub garbled: Option<u64>,
    /// Keys plus stored values of all entries, in bytes (before fjall's compression).
    pub stored_bytes: Option<u64>,
    /// Bytes the folder's files take on disk: allocated blocks, as `du` counts them
    /// (symlinks are not followed).
    pub bytes_on_disk: u64,
}

/// Describes the disk-cache folder at `path` without changing it.
///
/// ```
/// use twat_cache_core::CacheConfig;
/// use twat_cache_disk::{DiskCache, DiskOptions, inspect};
///
/// let root = tempfile::tempdir()?;
/// let options = DiskOptions::new().root(root.path());
/// let config = CacheConfig::builder().name("squares").folder("math").build()?;
/// let cache = DiskCache::open_with(&config, options)?;
/// cache.set(&3_u32, &9_u64)?;
/// let summary = inspect::describe_folder(&root.path().join("math"))?;
/// assert_eq!(summary.entries, Some(1));
/// assert!(!summary.in_use, "this process's own handle does not count");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`Error::Backend`] when `path` is not a disk-cache folder, [`Error::Io`] /
/// [`Error::Backend`] when it cannot be read. A folder held by another process is not an
/// error (see [`DiskFolderSummary::in_use`]).
pub fn describe_folder(path: &Path) -> Result<DiskFolderSummary, Error> {
    let bytes_on_disk = bytes_under(path)?;
    let mut summary = DiskFolderSummary {
        path: path.to_path_buf(),
        in_use: false,
        keyspaces: Vec::new(),
        entries: None,
        expiring: None,
        expired: None,
        garbled: None,
        stored_bytes: None,
        bytes_on_disk,
    };
    let (mut entries, mut expiring, mut expired, mut garbled, mut stored) = (0, 0, 0, 0, 0_u64);
    let scanned = scan(path, |entry| {
        entries += 1;
        stored = stored.saturating_add(entry.size);
        if entry.expires_at.is_some() {
            expiring += 1;
        }
        match entry.condition {
            EntryCondition::Expired => expired += 1,
            EntryCondition::Garbled(_) => garbled += 1,
            EntryCondition::Live => {}
        }
        Verdict::Keep
    });
    match scanned {
        Ok((_, keyspaces)) => {
            summary.keyspaces = keyspaces;
            summary.entries = Some(entries);
            summary.expiring = Some(expiring);
            summary.expired = Some(expired);
            summary.garbled = Some(garbled);
            summary.stored_bytes = Some(stored);
        }
        Err(Error::Locked(_)) => summary.in_use = true,
        Err(err) => return Err(err),
    }
    Ok(summary)
}

/// Visits every entry of every cache in the disk-cache folder at `path` and removes,
/// in one fjall batch after the visit, those for which `visit` returns
/// [`Verdict::Remove`].
///
/// ```
/// use twat_cache_core::CacheConfig;
/// use twat_cache_disk::{DiskCache, DiskOptions, inspect::{self, Verdict}};
///
/// let root = tempfile::tempdir()?;
/// let options = DiskOptions::new().root(root.path());
/// let config = CacheConfig::builder().name("squares").folder("math").build()?;
/// DiskCache::open_with(&config, options)?.set(&3_u32, &9_u64)?;  // closed again at once
/// let folder = root.path().join("math");
/// let report = inspect::scan_entries(&folder, |entry| {
///     if entry.size > 10 { Verdict::Remove } else { Verdict::Keep }
/// })?;
/// assert_eq!((report.visited, report.removed), (1, 1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`Error::Locked`] when another process holds the folder, or when entries are to be
/// removed while a cache of this process has the folder open (nothing is removed then);
/// [`Error::Backend`] when `path` is not a disk-cache folder; [`Error::Io`] /
/// [`Error::Backend`] when it cannot be read or written.
pub fn scan_entries(
    path: &Path,
    visit: impl FnMut(&DiskEntry<'_>) -> Verdict,
) -> Result<ScanReport, Error> {
    scan(path, visit).map(|(report, _)| report)
}

/// [`scan_entries`], also returning the folder's keyspace names (sorted).
fn scan(
    path: &Path,
    mut visit: impl FnMut(&DiskEntry<'_>) -> Verdict,
) -> Result<(ScanReport, Vec<String>), Error> {
    if !is_disk_folder(path) {
        return Err(not_a_disk_folder(path));
    }
    let folder = Folder::open(path, Duration::ZERO, false)?;
    let Some(shared) = folder.database() else {
        return Err(Error::Locked(path.to_path_buf()));
    };
    // Held for the whole scan: no cache of this process opens a keyspace meanwhile.
    // (Taken before the database, in the order `Folder::tenant` takes them.)
    let tenants = folder.lock_tenants();
    let open = shared.read()?;
    let database = open.database();
    let now = unix_millis_now();
    let mut report = ScanReport::default();
    let mut doomed = Vec::new();
    let mut names: Vec<String> = database
        .list_keyspace_names()
        .iter()
        .map(|name| AsRef::<str>::as_ref(name).to_owned())
        .collect();
    names.sort_unstable();
    for name in &names {
        let name = name.as_str();
        let keyspace = database
            .keyspace(name, KeyspaceCreateOptions::default)
            .map_err(|err| fjall_error(path, err))?;
        for guard in keyspace.iter() {
            let (key, value) = guard.into_inner().map_err(|err| fjall_error(path, err))?;
            let (condition, expires_at) = condition_of(&value, now);
            let size = u64::try_from(key.len().saturating_add(value.len())).unwrap_or(u64::MAX);
            let entry = DiskEntry {
                keyspace: name,
                key: &key,
                size,
                expires_at,
                condition: &condition,
            };
            report.visited += 1;
            if visit(&entry) == Verdict::Remove {
                report.removed += 1;
                report.removed_bytes = report.removed_bytes.saturating_add(size);
                doomed.push((keyspace.clone(), key));
            }
        }
    }
    if doomed.is_empty() {
        return Ok((report, names));
    }
    if tenants.has_live() {
        return Err(Error::Locked(folder.path().to_path_buf()));
    }
    let mut batch = database.batch();
    for (keyspace, key) in doomed {
        batch.remove(&keyspace, key);
    }
    batch.commit().map_err(|err| fjall_error(path, err))?;
    database
        .persist(PersistMode::SyncAll)
        .map_err(|err| fjall_error(path, err))?;
    drop(tenants);
    Ok((report, names))
}

/// The condition and expiry of a stored value.
fn condition_of(value: &Slice, now_ms: u64) -> (EntryCondition, Option<SystemTime>) {
    match envelope::open(value) {
        Ok((header, _)) if header.flags == Flags::NONE => {
            let expires_at = header
                .expires_at
                .map(|at| UNIX_EPOCH + Duration::from_millis(at));
            let condition = if header.is_expired_at(now_ms) {
                EntryCondition::Expired
            } else {
                EntryCondition::Live
            };
            (condition, expires_at)
        }
        Ok((header, _)) => (
            EntryCondition::Garbled(format!(
                "flags {:#04x}: this engine writes no compressed or raw entries",
                header.flags.bits()
            )),
            None,
        ),
        Err(err) => (EntryCondition::Garbled(err.to_string()), None),
    }
}

/// The bytes a file takes on disk: its allocated blocks on Unix (as `du` counts them, so a
/// sparse, preallocated journal counts what it uses), its length elsewhere.
fn allocated_bytes(metadata: &fs::Metadata) -> u64 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        metadata.blocks().saturating_mul(512)
    }
    #[cfg(not(unix))]
    {
        metadata.len()
    }
}

fn not_a_disk_folder(path: &Path) -> Error {
    Error::backend_message(
        EngineKind::Disk,
        format_args!("{} is not a disk-cache (fjall) folder", path.display()),
    )
}

/// Bytes on disk of the files under `path`, walked without following symlinks.
fn bytes_under(path: &Path) -> Result<u64, Error> {
    let mut bytes = 0_u64;
    let mut pending = vec![path.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
            Err(err) => return Err(Error::io(&dir, err)),
        };
        for entry in entries {
            let entry = entry.map_err(|err| Error::io(&dir, err))?;
            let Ok(metadata) = entry.metadata() else {
                continue; // removed meanwhile
            };
            if metadata.file_type().is_dir() {
                pending.push(entry.path());
            } else if metadata.file_type().is_file() {
                bytes = bytes.saturating_add(allocated_bytes(&metadata));
            }
        }
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]
    use super::*;
    use crate::{DiskCache, DiskOptions};
    use twat_cache_core::CacheConfig;

    fn open(root: &Path, name: &str, ttl: Option<Duration>) -> DiskCache {
        let options = DiskOptions {
            root: Some(root.into()),
            ..DiskOptions::default()
        };
        let mut builder = CacheConfig::builder().name(name).folder("shared");
        if let Some(ttl) = ttl {
            builder = builder.ttl(ttl);
        }
        DiskCache::open_with(&builder.build().unwrap(), options).unwrap()
    }

    #[test]
    fn describes_entries_of_every_cache_in_a_folder() {
        let root = tempfile::tempdir().unwrap();
        {
            let first = open(root.path(), "first", None);
            let second = open(root.path(), "second", Some(Duration::from_secs(3600)));
            for i in 0..5_u32 {
                first.set(&i, &vec![i; 10]).unwrap();
            }
            second.set(&"k", &"v").unwrap();
        }
        let folder = root.path().join("shared");
        assert!(is_disk_folder(&folder));
        assert!(!is_disk_folder(root.path()));
        let summary = describe_folder(&folder).unwrap();
        assert!(!summary.in_use);
        assert_eq!(summary.entries, Some(6));
        assert_eq!(summary.expiring, Some(1));
        assert_eq!(summary.expired, Some(0));
        assert_eq!(summary.garbled, Some(0));
        assert_eq!(summary.keyspaces, ["first", "second"]);
        assert!(summary.bytes_on_disk > 0);
    }

    #[test]
    fn removal_under_a_live_cache_is_refused_and_changes_nothing() {
        let root = tempfile::tempdir().unwrap();
        let cache = open(root.path(), "live", None);
        cache.set(&1_u32, &1_u32).unwrap();
        let folder = root.path().join("shared");
        let err = scan_entries(&folder, |_| Verdict::Remove).unwrap_err();
        assert!(matches!(err, Error::Locked(_)), "{err}");
        assert_eq!(cache.get::<_, u32>(&1_u32).unwrap(), Some(1));
        drop(cache);
        let report = scan_entries(&folder, |_| Verdict::Remove).unwrap();
        assert_eq!((report.visited, report.removed), (1, 1));
        assert_eq!(describe_folder(&folder).unwrap().entries, Some(0));
    }

    #[test]
    fn a_folder_of_another_kind_is_an_error() {
        let root = tempfile::tempdir().unwrap();
        let err = scan_entries(root.path(), |_| Verdict::Keep).unwrap_err();
        assert!(err.to_string().contains("not a disk-cache"), "{err}");
    }
}
