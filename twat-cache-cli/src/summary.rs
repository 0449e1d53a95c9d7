//! [`CacheSummary`]: one cache folder as `list` and `stats` show it, and the engine it
//! belongs to, told from the folder's layout.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Serialize, Serializer};
use twat_cache_disk::inspect as disk;
use twat_cache_file::inspect as file;

use crate::error::CliError;
use crate::location::{CacheRoot, Entry};
use crate::output::{Table, count, human_age, human_size};

/// Which engine wrote a folder under the cache root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum FolderEngine {
    /// The disk engine (`#[bcache]`, a fjall database).
    Disk,
    /// The file engine (`#[fcache]`, content files and an index).
    File,
    /// A symlink: shown, never followed.
    Symlink,
    /// A folder (or file) no engine wrote: shown, never changed.
    Other,
}

impl FolderEngine {
    /// What `path` (an entry of the root of kind `entry`) holds.
    #[must_use]
    pub(crate) fn detect(path: &Path, entry: Entry) -> Self {
        match entry {
            Entry::Symlink => Self::Symlink,
            Entry::Other => Self::Other,
            Entry::Folder if disk::is_disk_folder(path) => Self::Disk,
            Entry::Folder if file::is_file_folder(path) => Self::File,
            Entry::Folder => Self::Other,
        }
    }

    /// The lower-case name shown in tables and JSON.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Disk => "disk",
            Self::File => "file",
            Self::Symlink => "symlink",
            Self::Other => "other",
        }
    }
}

/// One folder under the cache root. The JSON field names are stable (see the README).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CacheSummary {
    /// The folder's name under the root.
    pub name: String,
    /// The folder.
    pub path: PathBuf,
    /// The engine that wrote it.
    pub engine: FolderEngine,
    /// Whether another process holds it now (the disk engine's folder lock; the file
    /// engine takes no lock, so its folders are never in use).
    pub in_use: bool,
    /// Caches sharing the folder (disk: keyspaces; file: distinct record owners);
    /// `None` when unknown (in use, not a cache).
    pub caches: Option<u64>,
    /// Stored entries, expired and damaged ones included; `None` when unknown.
    pub entries: Option<u64>,
    /// Entries that carry a time-to-live.
    pub expiring: Option<u64>,
    /// Entries already expired, not yet removed.
    pub expired: Option<u64>,
    /// Entries that do not decode (disk: envelopes; file: index records — `verify`
    /// also checks file content).
    pub damaged: Option<u64>,
    /// Bytes the folder's files take on disk (links not followed).
    pub bytes_on_disk: u64,
    /// The least recent use (write or read) of an entry — file engine only: the disk
    /// engine (fjall) keeps no time per entry. RFC 3339 in JSON, `null` when unknown.
    #[serde(serialize_with = "rfc3339")]
    pub oldest: Option<SystemTime>,
    /// The most recent use of an entry, as `oldest`.
    #[serde(serialize_with = "rfc3339")]
    pub newest: Option<SystemTime>,
}

impl CacheSummary {
    /// Describes the folder `name` at `path` (an entry of the root of kind `entry`).
    ///
    /// # Errors
    ///
    /// [`CliError::Cache`] when a cache folder cannot be read.
    pub(crate) fn describe(name: &str, path: &Path, entry: Entry) -> Result<Self, CliError> {
        let engine = FolderEngine::detect(path, entry);
        let mut summary = Self {
            name: name.to_owned(),
            path: path.to_path_buf(),
            engine,
            in_use: false,
            caches: None,
            entries: None,
            expiring: None,
            expired: None,
            damaged: None,
            bytes_on_disk: 0,
            oldest: None,
            newest: None,
        };
        match engine {
            FolderEngine::Disk => {
                let found = disk::describe_folder(path)?;
                summary.in_use = found.in_use;
                summary.caches = (!found.in_use).then_some(found.keyspaces.len() as u64);
                summary.entries = found.entries;
                summary.expiring = found.expiring;
                summary.expired = found.expired;
                summary.damaged = found.garbled;
                summary.bytes_on_disk = found.bytes_on_disk;
            }
            FolderEngine::File => {
                let found = file::describe_folder(path)?;
                summary.caches = Some(found.caches);
                summary.entries = Some(found.entries);
                summary.expiring = Some(found.expiring);
                summary.expired = Some(found.expired);
                summary.damaged = Some(found.garbled);
                summary.bytes_on_disk = found.bytes_on_disk;
                summary.oldest = found.oldest_use;
                summary.newest = found.newest_use;
            }
            FolderEngine::Symlink | FolderEngine::Other => {}
        }
        Ok(summary)
    }
}

/// One [`CacheSummary`] per entry directly under `root`, sorted by name: what
/// `twat-cache list` prints.
///
/// # Errors
///
/// [`CliError::Cache`] when the root or a cache folder cannot be read.
pub fn list_caches(root: &CacheRoot) -> Result<Vec<CacheSummary>, CliError> {
    root.entries()?
        .iter()
        .map(|(name, path, entry)| CacheSummary::describe(name, path, *entry))
        .collect()
}

/// The `list` table of `caches` (from [`list_caches`]), ages counted back from `now`:
/// what `twat-cache list` prints.
#[must_use]
pub fn render_list(caches: &[CacheSummary], now: SystemTime) -> String {
    if caches.is_empty() {
        return "no caches\n".to_owned();
    }
    let mut table = Table::new(&[
        ("NAME", false),
        ("ENGINE", false),
        ("ENTRIES", true),
        ("SIZE", true),
        ("OLDEST", true),
        ("NEWEST", true),
        ("IN USE", false),
    ]);
    for cache in caches {
        let is_cache = matches!(cache.engine, FolderEngine::Disk | FolderEngine::File);
        table.push(vec![
            cache.name.clone(),
            cache.engine.as_str().to_owned(),
            count(cache.entries),
            if is_cache {
                human_size(cache.bytes_on_disk)
            } else {
                "-".to_owned()
            },
            human_age(cache.oldest, now),
            human_age(cache.newest, now),
            match (is_cache, cache.in_use) {
                (false, _) => "-",
                (true, true) => "yes",
                (true, false) => "no",
            }
            .to_owned(),
        ]);
    }
    table.render()
}

/// Serializes a time as RFC 3339 (UTC, whole seconds), or `null`.
fn rfc3339<S: Serializer>(time: &Option<SystemTime>, serializer: S) -> Result<S::Ok, S::Error> {
    match time {
        Some(time) => serializer.collect_str(&humantime::format_rfc3339_seconds(*time)),
        None => serializer.serialize_none(),
    }
}
