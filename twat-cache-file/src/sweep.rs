//! Size bound, expiry and garbage collection: what cacache leaves to its users.
//!
//! A sweep walks the index folder once. Every record whose owner is this cache counts
//! towards its size; expired records (of any cache in the folder) are removed with their
//! content. When the cache is over `maxsize`, entries are evicted oldest-stamp first until
//! it is at 90 % of `maxsize` (the slack keeps a cache at its bound from sweeping on every
//! write). The stamp is the index file's mtime, set when the entry is written and renewed
//! on each hit: an approximate LRU that every process sharing the folder maintains
//! without a shared lock. Content files that no record names (left by a crash between
//! writing content and index, or by a race between two writers of one key) are removed
//! once older than the orphan grace; abandoned temporary files once older than the
//! temporary grace.
//!
//! This module works on the folder alone, through a [`SweepScope`] (the folder's layout,
//! the owner tag of the cache's records, the length of its key digests); the engine holds
//! the ledger lock and folds the [`SweepReport`] into its counters and its ledger.

use std::collections::HashSet;
use std::fs::{self, Metadata};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use twat_cache_core::Error;
use twat_cache_core::envelope::unix_millis_now;

use crate::layout::{Layout, remove_file_if_present};
use crate::record::IndexRecord;
use crate::usage::Usage;

/// What a [`FileCache::sweep`](crate::FileCache::sweep) did and found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SweepReport {
    /// Entries of this cache left in the folder.
    pub entries: u64,
    /// Bytes those entries account for (stored payloads plus a small per-entry allowance).
    pub bytes: u64,
    /// Expired entries removed.
    pub expired: u64,
    /// Entries evicted to respect `maxsize`.
    pub evicted: u64,
    /// Orphaned content files removed.
    pub orphans: u64,
    /// Abandoned temporary files removed.
    pub temporaries: u64,
    /// Garbled index records removed.
    pub garbled: u64,
}

/// One of this cache's entries as a sweep sees it.
struct Scanned {
    path: PathBuf,
    stamp: SystemTime,
    record: IndexRecord,
    footprint: u64,
}

/// One cache's entries in one folder: what a sweep, a count or a clear works on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SweepScope<'a> {
    layout: &'a Layout,
    owner: u64,
    suffix_len: usize,
}

impl<'a> SweepScope<'a> {
    /// The entries in `layout` whose records carry `owner`; their content files end with a
    /// key digest of `suffix_len` bytes.
    pub(crate) const fn new(layout: &'a Layout, owner: u64, suffix_len: usize) -> Self {
        Self {
            layout,
            owner,
            suffix_len,
        }
    }

    /// Visits every index file: its path, metadata and decoded record.
    fn walk_index(
        &self,
        mut visit: impl FnMut(PathBuf, &Metadata, Result<IndexRecord, ()>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        for shard in read_dir_if_present(self.layout.index_dir())? {
            for file in read_dir_if_present(&shard)? {
                let metadata = match fs::metadata(&file) {
                    Ok(metadata) if metadata.is_file() => metadata,
                    Ok(_) => continue,
                    Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                    Err(err) => return Err(Error::io(&file, err)),
                };
                let bytes = match fs::read(&file) {
                    Ok(bytes) => bytes,
                    Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                    Err(err) => return Err(Error::io(&file, err)),
                };
                let record = IndexRecord::decode(&bytes).map_err(|_| ());
                visit(file, &metadata, record)?;
            }
        }
        Ok(())
    }

    /// Counts this cache's entries and bytes without changing anything.
    pub(crate) fn count(&self) -> Result<Usage, Error> {
        let suffix = self.suffix_len;
        let (mut entries, mut bytes) = (0_u64, 0_u64);
        self.walk_index(|_, _, record| {
            if let Ok(record) = record
                && record.owner == self.owner
            {
                entries += 1;
                bytes = bytes.saturating_add(record.footprint(suffix));
            }
            Ok(())
        })?;
        Ok(Usage::new(entries, bytes))
    }

    /// Sweeps the folder (see the module docs): evicts down to 90 % of `maxsize`, removes
    /// orphans older than `orphan_grace` and temporary files older than `temp_grace`.
    /// The caller holds the cache's ledger lock.
    pub(crate) fn sweep(
        &self,
        maxsize: Option<u64>,
        orphan_grace: Duration,
        temp_grace: Duration,
    ) -> Result<SweepReport, Error> {
        let suffix = self.suffix_len;
        let now_ms = unix_millis_now();
        let mut report = SweepReport::default();
        let mut referenced = HashSet::new();
        let mut mine = Vec::new();
        self.walk_index(|path, metadata, record| {
            let Ok(record) = record else {
                remove_file_if_present(&path)?;
                report.garbled += 1;
                return Ok(());
            };
            let content = self.layout.content_path(&record.integrity);
            if record.header.is_expired_at(now_ms) {
                remove_file_if_present(&path)?;
                remove_file_if_present(&content)?;
                if record.owner == self.owner {
                    report.expired += 1;
                }
                return Ok(());
            }
            referenced.insert(content);
            if record.owner == self.owner {
                mine.push(Scanned {
                    path,
                    stamp: metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                    footprint: record.footprint(suffix),
                    record,
                });
            }
            Ok(())
        })?;
        let mut bytes: u64 = mine.iter().map(|entry| entry.footprint).sum();
        if let Some(maxsize) = maxsize
            && bytes > maxsize
        {
            let target = maxsize - maxsize / 10;
            mine.sort_by_key(|entry| entry.stamp);
            let mut kept = mine.len();
            for entry in &mine {
                if bytes <= target {
                    break;
                }
                remove_file_if_present(&entry.path)?;
                let content = self.layout.content_path(&entry.record.integrity);
                remove_file_if_present(&content)?;
                referenced.remove(&content);
                bytes = bytes.saturating_sub(entry.footprint);
                kept -= 1;
                report.evicted += 1;
            }
            report.entries = kept as u64;
        } else {
            report.entries = mine.len() as u64;
        }
        report.bytes = bytes;
        report.orphans = self.remove_orphans(&referenced, orphan_grace)?;
        report.temporaries = remove_old_files(self.layout.tmp_dir(), temp_grace)?;
        Ok(report)
    }

    /// Removes content files not in `referenced` and older than `grace`.
    fn remove_orphans(&self, referenced: &HashSet<PathBuf>, grace: Duration) -> Result<u64, Error> {
        let mut removed = 0;
        for algorithm in read_dir_if_present(self.layout.content_dir())? {
            for first in read_dir_if_present(&algorithm)? {
                for second in read_dir_if_present(&first)? {
                    for file in read_dir_if_present(&second)? {
                        if !referenced.contains(&file)
                            && is_older_than(&file, grace)
                            && remove_file_if_present(&file)?
                        {
                            removed += 1;
                        }
                    }
                }
            }
        }
        Ok(removed)
    }

    /// Removes this cache's entries and their content, then orphans older than
    /// `orphan_grace`. The caller holds the cache's ledger lock.
    pub(crate) fn clear(&self, orphan_grace: Duration) -> Result<(), Error> {
        let mut referenced = HashSet::new();
        self.walk_index(|path, _, record| {
            match record {
                Ok(record) if record.owner != self.owner => {
                    referenced.insert(self.layout.content_path(&record.integrity));
                }
                Ok(record) => {
                    remove_file_if_present(&path)?;
                    remove_file_if_present(&self.layout.content_path(&record.integrity))?;
                }
                Err(()) => {
                    remove_file_if_present(&path)?;
                }
            }
            Ok(())
        })?;
        self.remove_orphans(&referenced, orphan_grace)?;
        Ok(())
    }
}

/// The entries of `dir`, or none when it does not exist.
fn read_dir_if_present(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    match fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|entry| entry.map(|entry| entry.path()))
            .collect::<Result<_, _>>()
            .map_err(|err| Error::io(dir, err)),
        Err(err)
            if err.kind() == io::ErrorKind::NotFound
                || err.kind() == io::ErrorKind::NotADirectory =>
        {
            Ok(Vec::new())
        }
        Err(err) => Err(Error::io(dir, err)),
    }
}

fn is_older_than(path: &Path, age: Duration) -> bool {
    age.is_zero()
        || fs::metadata(path)
            .and_then(|metadata| metadata.modified())
            .ok()
            .and_then(|modified| SystemTime::now().duration_since(modified).ok())
            .is_some_and(|elapsed| elapsed >= age)
}

fn remove_old_files(dir: &Path, age: Duration) -> Result<u64, Error> {
    let mut removed = 0;
    for file in read_dir_if_present(dir)? {
        if file.is_file() && is_older_than(&file, age) && remove_file_if_present(&file)? {
            removed += 1;
        }
    }
    Ok(removed)
}
