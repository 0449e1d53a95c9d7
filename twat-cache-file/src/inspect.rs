//! Looking into a file-cache folder from outside the cache: what the `twat-cache` command
//! (and any program) uses to list, verify and clean folders without opening a cache.
//!
//! * [`is_file_folder`] tells a folder of this engine by its layout (an `index-v1`
//!   folder), without changing it.
//! * [`describe_folder`] counts entries, bytes, expiry and last use from the index
//!   records alone (it reads no content).
//! * [`scan_entries`] visits every entry of every cache in the folder — with its size,
//!   expiry, last use and, when asked, the result of checking its content against the
//!   record's length, CRC-64 and key digest — and removes those the visitor rejects,
//!   then recounts the shared usage count of each cache it removed entries of (so the
//!   caches using the folder see the space free at once).
//!
//! The file engine takes no lock (processes share a folder through atomic renames), so
//! these functions work while other processes use the folder, and a folder is never
//! "in use". Symlinks inside the folder are not followed: an index entry that is a
//! symlink is skipped, a content file that is a symlink counts as corrupt.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use twat_cache_core::envelope::{Flags, unix_millis_now};
use twat_cache_core::{EngineKind, Error};

pub use twat_cache_core::inspect::{ScanReport, Verdict};

use crate::content::{self, ContentRead};
use crate::layout::{INDEX_DIR, Layout, remove_file_if_present};
use crate::ledger::Ledger;
use crate::record::IndexRecord;
use crate::sweep::SweepScope;

/// Whether `path` is a folder written by this engine: a real folder (not a symlink)
/// holding an `index-v1` folder.
#[must_use]
pub fn is_file_folder(path: &Path) -> bool {
    let is_real_dir = |path: &Path| {
        fs::symlink_metadata(path).is_ok_and(|metadata| metadata.file_type().is_dir())
    };
    is_real_dir(path) && is_real_dir(&path.join(INDEX_DIR))
}

/// What state one entry is in.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryCondition {
    /// A sound record (and, when content was checked, sound content), not expired.
    Live,
    /// A sound record whose time-to-live has passed (the cache would remove it on its
    /// next read or sweep).
    Expired,
    /// A garbled index record, or content that is missing, truncated, of another key or
    /// fails its checksum: the reason. The cache treats it as a miss and removes it.
    Corrupt(String),
}

/// One entry, as [`scan_entries`] shows it to its visitor.
#[derive(Debug, Clone, Copy)]
pub struct FileEntry<'a> {
    /// The entry's index file (named after the key digest).
    pub index_path: &'a Path,
    /// Bytes on disk: the index file plus the content file.
    pub size: u64,
    /// When the entry was last written or read (its index file's modification time).
    pub last_used: Option<SystemTime>,
    /// When the entry expires; `None` for never (or a garbled record).
    pub expires_at: Option<SystemTime>,
    /// The tag of the cache that wrote the entry (xxh3-64 of its name; several caches
    /// may share a folder); `None` for a garbled record.
    pub owner: Option<u64>,
    /// Whether the payload is zstd-compressed.
    pub compressed: bool,
    /// Live, expired or corrupt.
    pub condition: &'a EntryCondition,
}

/// A file-cache folder at a glance, from [`describe_folder`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileFolderSummary {
    /// The folder.
    pub path: PathBuf,
    /// Entries (index records), expired and garbled ones included.
    pub entries: u64,
    /// Distinct caches (record owners) with entries in the folder.
    pub caches: u64,
    /// Entries that carry a time-to-live.
    pub expiring: u64,
    /// Entries already expired but not yet removed.
    pub expired: u64,
    /// Index records that do not decode (content is not read here: see
    /// [`scan_entries`] for that check).
    pub garbled: u64,
    /// Bytes the folder's files take on disk: allocated blocks, as `du` counts them
    /// (symlinks are not followed).
    pub bytes_on_disk: u64,
    /// The least recent use (write or read) of an entry.
    pub oldest_use: Option<SystemTime>,
    /// The most recent use (write or read) of an entry.
    pub newest_use: Option<SystemTime>,
}

/// Describes the file-cache folder at `path` from its index records, without changing
/// it.
///
/// ```
/// use twat_cache_core::CacheConfig;
/// use twat_cache_file::{FileCache, FileCacheOptions, inspect};
///
/// let dir = tempfile::tempdir()?;
/// let config = CacheConfig::builder().name("arrays").build()?;
/// let cache = FileCache::open_with(&config, FileCacheOptions::new().directory(dir.path()))?;
/// cache.set(&1_u32, &vec![0.5_f64; 100])?;
/// let summary = inspect::describe_folder(dir.path())?;
/// assert_eq!((summary.entries, summary.caches), (1, 1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`Error::Backend`] when `path` is not a file-cache folder, [`Error::Io`] when it
/// cannot be read.
pub fn describe_folder(path: &Path) -> Result<FileFolderSummary, Error> {
    let mut summary = FileFolderSummary {
        path: path.to_path_buf(),
        entries: 0,
        caches: 0,
        expiring: 0,
        expired: 0,
        garbled: 0,
        bytes_on_disk: bytes_under(path)?,
        oldest_use: None,
        newest_use: None,
    };
    let mut owners = Vec::new();
    scan_entries(path, false, |entry| {
        summary.entries += 1;
        if let Some(owner) = entry.owner
            && !owners.contains(&owner)
        {
            owners.push(owner);
        }
        if entry.expires_at.is_some() {
            summary.expiring += 1;
        }
        match entry.condition {
            EntryCondition::Expired => summary.expired += 1,
            EntryCondition::Corrupt(_) => summary.garbled += 1,
            EntryCondition::Live => {}
        }
        if let Some(used) = entry.last_used {
            summary.oldest_use = Some(summary.oldest_use.map_or(used, |t| t.min(used)));
            summary.newest_use = Some(summary.newest_use.map_or(used, |t| t.max(used)));
        }
        Verdict::Keep
    })?;
    summary.caches = owners.len() as u64;
    Ok(summary)
}

/// Visits every entry in the file-cache folder at `path` and removes (index record and
/// content) those for which `visit` returns [`Verdict::Remove`]. With `check_content`,
/// each entry's content file is read and checked as a cache hit would check it (length,
/// CRC-64, key digest); otherwise only the index records are read.
///
/// ```
/// use twat_cache_core::CacheConfig;
/// use twat_cache_file::{FileCache, FileCacheOptions, inspect::{self, EntryCondition, Verdict}};
///
/// let dir = tempfile::tempdir()?;
/// let config = CacheConfig::builder().name("arrays").build()?;
/// let cache = FileCache::open_with(&config, FileCacheOptions::new().directory(dir.path()))?;
/// cache.set(&1_u32, &vec![0.5_f64; 100])?;
/// let report = inspect::scan_entries(dir.path(), true, |entry| {
///     assert_eq!(entry.condition, &EntryCondition::Live);
///     Verdict::Remove
/// })?;
/// assert_eq!(report.removed, 1);
/// assert_eq!(cache.get::<_, Vec<f64>>(&1_u32)?, None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`Error::Backend`] when `path` is not a file-cache folder, [`Error::Io`] when it
/// cannot be read or an entry cannot be removed.
pub fn scan_entries(
    path: &Path,
    check_content: bool,
    mut visit: impl FnMut(&FileEntry<'_>) -> Verdict,
) -> Result<ScanReport, Error> {
    if !is_file_folder(path) {
        return Err(Error::backend_message(
            EngineKind::File,
            format_args!("{} is not a file-cache folder", path.display()),
        ));
    }
    let layout = Layout::new(path.to_path_buf(), false);
    let now = unix_millis_now();
    let mut report = ScanReport::default();
    // The caches some of whose entries were removed, with their key digests' length.
    let mut removed_from = BTreeMap::new();
    for shard in real_entries(layout.index_dir(), true)? {
        for index_path in real_entries(&shard, false)? {
            let Ok(metadata) = fs::symlink_metadata(&index_path) else {
                continue; // removed meanwhile
            };
            let bytes = match fs::read(&index_path) {
                Ok(bytes) => bytes,
                Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                Err(err) => return Err(Error::io(&index_path, err)),
            };
            let last_used = metadata.modified().ok();
            let record = IndexRecord::decode(&bytes);
            let (condition, size, record) = match record {
                Ok(record) => {
                    let content_path = layout.content_path(&record.integrity);
                    let content_len = fs::symlink_metadata(&content_path)
                        .ok()
                        .filter(|metadata| metadata.file_type().is_file())
                        .map_or(0, |metadata| metadata.len());
                    let condition = if record.header.is_expired_at(now) {
                        EntryCondition::Expired
                    } else if check_content {
                        check(&layout, &record, &index_path)?
                    } else {
                        EntryCondition::Live
                    };
                    (
                        condition,
                        metadata.len().saturating_add(content_len),
                        Some(record),
                    )
                }
                Err(err) => (
                    EntryCondition::Corrupt(err.to_string()),
                    metadata.len(),
                    None,
                ),
            };
            let entry = FileEntry {
                index_path: &index_path,
                size,
                last_used,
                expires_at: record.as_ref().and_then(|record| {
                    record
                        .header
                        .expires_at
                        .map(|at| UNIX_EPOCH + Duration::from_millis(at))
                }),
                owner: record.as_ref().map(|record| record.owner),
                compressed: record
                    .as_ref()
                    .is_some_and(|record| record.header.flags.contains(Flags::COMPRESSED)),
                condition: &condition,
            };
            report.visited += 1;
            if visit(&entry) == Verdict::Remove {
                remove(&layout, &index_path, record.as_ref())?;
                report.removed += 1;
                report.removed_bytes = report.removed_bytes.saturating_add(size);
                if let Some(record) = &record {
                    let suffix_len = index_path
                        .file_name()
                        .and_then(|name| name.to_str())
                        .map_or(0, |name| name.len() / 2);
                    removed_from.insert(record.owner, suffix_len);
                }
            }
        }
    }
    for (owner, suffix_len) in removed_from {
        recount(&layout, owner, suffix_len);
    }
    Ok(report)
}

/// Rewrites the shared usage count (`ledger.rs`) of the cache tagged `owner` after a
/// scan removed some of its entries: counted again under its lock, as a sweep does, so
/// the caches using the folder see the space free at once. A cache without a ledger yet
/// keeps none (its first write counts). A ledger that cannot be locked, read or written
/// is left as it was: too high, which the ledger allows (it may overstate, never
/// understate) and the cache's next sweep corrects — the entries are removed either way.
fn recount(layout: &Layout, owner: u64, suffix_len: usize) {
    let ledger = Ledger::new(layout, owner, false);
    let (mut held, failure) = ledger.lock(layout);
    if failure.is_some() || !matches!(held.read(), Ok(Some(_))) {
        return;
    }
    if let Ok(usage) = SweepScope::new(layout, owner, suffix_len).count() {
        let _ = held.write(usage);
    }
}

/// Checks the content `record` names, as a hit would.
fn check(
    layout: &Layout,
    record: &IndexRecord,
    index_path: &Path,
) -> Result<EntryCondition, Error> {
    let content_path = layout.content_path(&record.integrity);
    if fs::symlink_metadata(&content_path).is_ok_and(|metadata| !metadata.file_type().is_file()) {
        return Ok(EntryCondition::Corrupt(
            "content is not a regular file (not followed)".to_owned(),
        ));
    }
    let Some(suffix) = index_path
        .file_name()
        .and_then(|name| name.to_str())
        .and_then(decode_hex)
    else {
        return Ok(EntryCondition::Corrupt(
            "index file name is not a key digest".to_owned(),
        ));
    };
    Ok(match content::read_with_suffix(layout, record, &suffix)? {
        ContentRead::Bytes(_) => EntryCondition::Live,
        ContentRead::Corrupt(reason) => EntryCondition::Corrupt(reason),
        ContentRead::Missing => {
            // Rewritten by another process between our two reads: judge it next time.
            if IndexRecord::peek(index_path).is_some_and(|now| now.integrity != record.integrity) {
                EntryCondition::Live
            } else {
                EntryCondition::Corrupt("content file is missing".to_owned())
            }
        }
    })
}

/// Removes an entry's index file (if it still names the same content) and its content.
fn remove(layout: &Layout, index_path: &Path, record: Option<&IndexRecord>) -> Result<(), Error> {
    let Some(record) = record else {
        remove_file_if_present(index_path)?;
        return Ok(());
    };
    let still_current =
        IndexRecord::peek(index_path).is_none_or(|current| current.integrity == record.integrity);
    if still_current {
        remove_file_if_present(index_path)?;
        remove_file_if_present(&layout.content_path(&record.integrity))?;
    }
    Ok(())
}

/// The real folders (`dirs`) or regular files (`!dirs`) in `dir`; symlinks are skipped.
fn real_entries(dir: &Path, dirs: bool) -> Result<Vec<PathBuf>, Error> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(Error::io(dir, err)),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|err| Error::io(dir, err))?;
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        if (dirs && file_type.is_dir()) || (!dirs && file_type.is_file()) {
            found.push(entry.path());
        }
    }
    found.sort_unstable();
    Ok(found)
}

/// Bytes of the regular files under `path` (symlinks are not followed).
fn bytes_under(path: &Path) -> Result<u64, Error> {
    let mut bytes = 0_u64;
    let mut pending = vec![path.to_path_buf()];
    while let Some(dir) = pending.pop() {
        pending.extend(real_entries(&dir, true)?);
        for file in real_entries(&dir, false)? {
            if let Ok(metadata) = fs::symlink_metadata(&file) {
                bytes = bytes.saturating_add(allocated_bytes(&metadata));
            }
        }
    }
    Ok(bytes)
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

/// Lower-case hex to bytes; `None` for an odd length or a non-hex digit.
fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.as_bytes()
        .chunks(2)
        .map(|pair| {
            let digit = |byte: &u8| char::from(*byte).to_digit(16);
            let [high, low] = pair else { return None };
            u8::try_from(digit(high)? * 16 + digit(low)?).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]
    use super::*;
    use crate::{FileCache, FileCacheOptions};
    use twat_cache_core::CacheConfig;

    fn open(dir: &Path, name: &str, ttl: Option<Duration>) -> FileCache {
        let mut builder = CacheConfig::builder().name(name);
        if let Some(ttl) = ttl {
            builder = builder.ttl(ttl);
        }
        FileCache::open_with(
            &builder.build().unwrap(),
            FileCacheOptions::new().directory(dir),
        )
        .unwrap()
    }

    #[test]
    fn finds_a_flipped_byte_and_removes_only_that_entry() {
        let dir = tempfile::tempdir().unwrap();
        let cache = open(dir.path(), "values", None);
        for i in 0..4_u32 {
            cache.set(&i, &vec![i; 1000]).unwrap();
        }
        let mut contents = Vec::new();
        scan_entries(dir.path(), false, |entry| {
            let record = IndexRecord::peek(entry.index_path).unwrap();
            contents.push(Layout::new(dir.path().into(), false).content_path(&record.integrity));
            Verdict::Keep
        })
        .unwrap();
        let mut bytes = fs::read(&contents[1]).unwrap();
        bytes[100] ^= 0x01;
        fs::write(&contents[1], bytes).unwrap();
        let summary = describe_folder(dir.path()).unwrap();
        assert_eq!(
            (summary.entries, summary.garbled, summary.caches),
            (4, 0, 1)
        );
        let report = scan_entries(dir.path(), true, |entry| match entry.condition {
            EntryCondition::Corrupt(reason) => {
                assert!(reason.contains("checksum"), "{reason}");
                Verdict::Remove
            }
            _ => Verdict::Keep,
        })
        .unwrap();
        assert_eq!((report.visited, report.removed), (4, 1));
        assert!(!contents[1].exists());
        assert_eq!(describe_folder(dir.path()).unwrap().entries, 3);
    }

    #[test]
    fn hex_decodes() {
        assert_eq!(decode_hex("00ff10"), Some(vec![0, 255, 16]));
        assert_eq!(decode_hex("0"), None);
        assert_eq!(decode_hex("zz"), None);
    }
}
