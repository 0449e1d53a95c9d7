//! [`Engine`]: the engine behind every [`FileCache`](crate::FileCache) handle and its
//! streaming readers and writers — the read path, the write path, removal, and the
//! bookkeeping (statistics, [`Usage`]) that decides when to sweep.
//!
//! The engine works in key bytes: a handle turns a typed key into bytes, the engine turns
//! bytes into an [`EntryLocation`] and does the rest. Its state is private: the handle
//! and the streams reach it only through the methods below.
//!
//! # Read path (a hit)
//!
//! 1. key bytes → digest (BLAKE3 when `secure`, xxh3-128 otherwise) → index file name;
//! 2. read the index record (≈ 70 bytes; checksummed), drop it if expired, stamp its
//!    mtime (recency for LRU eviction);
//! 3. read the content file (addressed by cacache's xxh3-128 integrity) into one buffer
//!    sized from its length, as `std::fs::read` does; check its length against the
//!    record, its CRC-64 against the record (the `checksum` module says why not
//!    cacache's re-hash), and the key digest the writer appended;
//! 4. decompress when the entry is compressed.
//!
//! Anything wrong in 2–4 (garbled record, short or long or flipped content, content of
//! another key, undecodable zstd) removes the entry and counts an error: a miss, never
//! wrong bytes.
//!
//! # Write path
//!
//! Compress when configured; skip a value that could never fit in `maxsize`; write the
//! content (`content.rs`), then replace the index record atomically (`record.rs`); remove
//! the content the old record named; sweep when over budget.

use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;
use twat_cache_core::envelope::{Flags, Header};
use twat_cache_core::{
    CacheConfig, DecodeError, Digest, DigestAlgorithm, Error, Stats, StatsCounter,
};

use crate::content::{self, Content, ContentRead};
use crate::layout::{EntryLocation, Layout, remove_file_if_present, sync_path};
use crate::options::FileCacheOptions;
use crate::record::IndexRecord;
use crate::sweep::{SweepReport, SweepScope};
use crate::usage::Usage;

/// The shared state of one file cache: its folder, settings and counters.
pub(crate) struct Engine {
    name: String,
    layout: Layout,
    digest_algorithm: DigestAlgorithm,
    /// The length of this cache's key digests (the suffix of its content files).
    suffix_len: usize,
    /// Tags this cache's records (xxh3-64 of its name): several caches may share a folder.
    owner: u64,
    ttl: Option<Duration>,
    maxsize: Option<u64>,
    /// The zstd level, when values are compressed.
    compression: Option<i32>,
    durable: bool,
    options: FileCacheOptions,
    counter: StatsCounter,
    /// Entries and bytes of this cache, `None` until the first scan.
    usage: Mutex<Option<Usage>>,
    /// One sweep at a time in this process.
    sweep_lock: Mutex<()>,
}

impl Engine {
    /// Opens (creating it if needed) the cache `name` in the folder `root`, configured by
    /// `config` and `options`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the folder cannot be created.
    pub(crate) fn open(
        name: String,
        root: PathBuf,
        config: &CacheConfig,
        options: FileCacheOptions,
    ) -> Result<Self, Error> {
        let layout = Layout::new(root, config.secure());
        layout.create()?;
        let digest_algorithm = DigestAlgorithm::for_security(config.secure());
        Ok(Self {
            owner: xxhash_rust::xxh3::xxh3_64(name.as_bytes()),
            name,
            layout,
            digest_algorithm,
            suffix_len: Digest::of(b"", digest_algorithm).as_bytes().len(),
            ttl: config.ttl(),
            maxsize: config.maxsize(),
            compression: config.compress().then_some(options.level()),
            durable: config.durable(),
            options,
            counter: StatsCounter::new(),
            usage: Mutex::new(None),
            sweep_lock: Mutex::new(()),
        })
    }

    /// The name the cache is registered under.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The folder's paths.
    pub(crate) const fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The entry time-to-live.
    pub(crate) const fn ttl(&self) -> Option<Duration> {
        self.ttl
    }

    /// The byte budget.
    pub(crate) const fn maxsize(&self) -> Option<u64> {
        self.maxsize
    }

    /// The zstd level, when values are compressed.
    pub(crate) const fn compression(&self) -> Option<i32> {
        self.compression
    }

    /// Where the entry of the key `key_bytes` lives.
    pub(crate) fn locate(&self, key_bytes: &[u8]) -> EntryLocation {
        self.layout
            .locate(Digest::of(key_bytes, self.digest_algorithm))
    }

    /// Counts a hit when `hit`, else a miss.
    pub(crate) fn count_lookup(&self, hit: bool) {
        if hit {
            self.counter.hit();
        } else {
            self.counter.miss();
        }
    }

    /// Counts `error` against this cache (warned once per cause).
    pub(crate) fn record_error(&self, error: &Error) {
        self.counter.error(&self.name, error);
    }

    /// The record and decompressed payload of the live entry under `entry`, if it is a raw
    /// entry exactly when `raw` (an entry of the other kind is removed and counted).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the files cannot be read.
    pub(crate) fn fetch(
        &self,
        entry: &EntryLocation,
        raw: bool,
    ) -> Result<Option<(IndexRecord, Vec<u8>)>, Error> {
        // Engine I/O spans are at trace level: free unless a subscriber enables it.
        let _span = tracing::trace_span!("twat_cache.file.read", cache = self.name()).entered();
        let Some(mut record) = self.read_record(entry, true)? else {
            return Ok(None);
        };
        let mut retried = false;
        loop {
            if record.header.flags.contains(Flags::RAW) != raw {
                self.discard(entry, &record, &kind_mismatch(raw));
                return Ok(None);
            }
            match content::read(&self.layout, &record, entry.digest())? {
                ContentRead::Bytes(stored) => {
                    return match content::unpack(&record, stored) {
                        Ok(payload) => Ok(Some((record, payload))),
                        Err(reason) => {
                            self.discard(entry, &record, &corrupt(entry.hex(), &reason));
                            Ok(None)
                        }
                    };
                }
                ContentRead::Corrupt(reason) => {
                    self.discard(entry, &record, &corrupt(entry.hex(), &reason));
                    return Ok(None);
                }
                ContentRead::Missing => {
                    // Another process may have replaced the entry, and removed the content
                    // we were pointed at, between our two reads: look again once.
                    match self.read_record(entry, false)? {
                        Some(current) if current.integrity == record.integrity => {
                            let reason = "content file is missing";
                            self.discard(entry, &record, &corrupt(entry.hex(), reason));
                            return Ok(None);
                        }
                        Some(current) if !retried => {
                            record = current;
                            retried = true;
                        }
                        _ => return Ok(None),
                    }
                }
            }
        }
    }

    /// Reads and checks the index record of `entry`. Garbled records are removed and
    /// counted, expired ones removed and counted as evictions; both read as `None`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the index file cannot be read.
    pub(crate) fn read_record(
        &self,
        entry: &EntryLocation,
        touch: bool,
    ) -> Result<Option<IndexRecord>, Error> {
        let index_path = entry.index_path();
        let mut file = match File::open(index_path) {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(Error::io(index_path, err)),
        };
        let record = match IndexRecord::read_from(&mut file, index_path)? {
            Ok(record) => record,
            Err(err) => {
                if let Err(io_err) = remove_file_if_present(index_path) {
                    self.counter.error(&self.name, &io_err);
                }
                self.counter.error(&self.name, &Error::Decode(err));
                return Ok(None);
            }
        };
        if record.header.is_expired() {
            self.drop_entry(entry, &record);
            self.counter.evict(1);
            return Ok(None);
        }
        if touch {
            self.touch(&file);
        }
        Ok(Some(record))
    }

    /// Renews the entry's recency stamp (its index file's mtime), best effort: a file
    /// owned by another user cannot be stamped, which only makes LRU less exact.
    fn touch(&self, file: &File) {
        let now = SystemTime::now();
        let resolution = self.options.recency_resolution_period();
        if !resolution.is_zero()
            && let Ok(modified) = file.metadata().and_then(|meta| meta.modified())
            && now
                .duration_since(modified)
                .is_ok_and(|age| age < resolution)
        {
            return;
        }
        if let Err(err) = file.set_modified(now) {
            tracing::debug!(cache = %self.name, error = %err, "twat-cache: cannot stamp a hit");
        }
    }

    /// Stores `payload` under `entry` flagged `flags`: compresses when configured, writes
    /// the content, then the index.
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] when compression fails, [`Error::Io`] / [`Error::Backend`] when
    /// the files cannot be written.
    pub(crate) fn store(
        &self,
        entry: &EntryLocation,
        payload: &[u8],
        flags: Flags,
    ) -> Result<(), Error> {
        let _span = tracing::trace_span!("twat_cache.file.write", cache = self.name()).entered();
        let compressed;
        let (stored, flags): (&[u8], Flags) = match self.compression {
            Some(level) => {
                compressed = crate::compression::compress(payload, level).map_err(|err| {
                    Error::encode_with("value", format!("zstd compression failed: {err}"), err)
                })?;
                (&compressed, flags.union(Flags::COMPRESSED))
            }
            None => (payload, flags),
        };
        if self.too_big(stored.len() as u64) {
            return Ok(());
        }
        let content = content::write(
            &self.layout,
            stored,
            entry.digest(),
            flags,
            payload.len() as u64,
        )?;
        self.publish(entry, content)
    }

    /// A cacache content writer in this cache's folder.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] / [`Error::Backend`] when cacache cannot open a temporary file.
    pub(crate) fn content_writer(&self) -> Result<cacache::SyncWriter, Error> {
        content::writer(&self.layout)
    }

    /// Whether a value of `stored_len` bytes can never fit in `maxsize` (then it is not
    /// stored at all rather than written and evicted at once).
    pub(crate) fn too_big(&self, stored_len: u64) -> bool {
        let footprint = stored_len.saturating_add(crate::record::RECORD_ALLOWANCE);
        let too_big = self.maxsize.is_some_and(|maxsize| footprint > maxsize);
        if too_big {
            tracing::debug!(
                cache = %self.name,
                stored_len,
                "twat-cache: value larger than maxsize, not stored"
            );
        }
        too_big
    }

    /// Points the index of `entry` at freshly written content, then tidies up (removes
    /// the content it replaced, sweeps when over budget).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the index cannot be written; the new content is then removed.
    pub(crate) fn publish(&self, entry: &EntryLocation, content: Content) -> Result<(), Error> {
        let record = IndexRecord {
            header: Header::new(content.flags, self.ttl),
            stored_len: content.stored_len,
            value_len: content.value_len,
            owner: self.owner,
            checksum: content.checksum,
            integrity: content.integrity,
        };
        let content_path = self.layout.content_path(&record.integrity);
        let prepared = self
            .layout
            .secure_content_dirs(&record.integrity)
            .and_then(|()| {
                if self.durable {
                    sync_path(&content_path)?;
                }
                Ok(())
            });
        let previous = IndexRecord::peek(entry.index_path());
        let published =
            prepared.and_then(|()| record.write_to(&self.layout, entry.index_path(), self.durable));
        if let Err(err) = published {
            let same_content = previous
                .as_ref()
                .is_some_and(|previous| previous.integrity == record.integrity);
            if !same_content {
                let _ = remove_file_if_present(&content_path);
            }
            return Err(err);
        }
        if let Some(previous) = &previous
            && previous.integrity != record.integrity
        {
            let old = self.layout.content_path(&previous.integrity);
            if let Err(err) = remove_file_if_present(&old) {
                self.counter.error(&self.name, &err);
            }
        }
        self.counter.insert();
        let suffix = entry.digest().as_bytes().len();
        let added = record.footprint(suffix);
        let replaced = previous.as_ref().map(|previous| previous.footprint(suffix));
        if let Some(usage) = self.usage.lock().as_mut() {
            usage.record_write(added, replaced);
        }
        self.enforce_maxsize();
        Ok(())
    }

    /// Removes `entry`'s index (if it still names `record`'s content) and that content.
    /// Failures are counted, not returned: the caller is already reporting a miss.
    pub(crate) fn drop_entry(&self, entry: &EntryLocation, record: &IndexRecord) {
        let still_current = IndexRecord::peek(entry.index_path())
            .is_none_or(|current| current.integrity == record.integrity);
        if still_current && let Err(err) = remove_file_if_present(entry.index_path()) {
            self.counter.error(&self.name, &err);
        }
        if let Err(err) = remove_file_if_present(&self.layout.content_path(&record.integrity)) {
            self.counter.error(&self.name, &err);
        }
        let footprint = record.footprint(entry.digest().as_bytes().len());
        if let Some(usage) = self.usage.lock().as_mut() {
            usage.record_removal(footprint);
        }
    }

    /// Removes an entry that could not be served and counts why.
    pub(crate) fn discard(&self, entry: &EntryLocation, record: &IndexRecord, why: &Error) {
        self.drop_entry(entry, record);
        self.counter.error(&self.name, why);
    }

    /// Removes the entry under `entry`; `true` if there was one.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the files cannot be removed.
    pub(crate) fn remove(&self, entry: &EntryLocation) -> Result<bool, Error> {
        let record = IndexRecord::peek(entry.index_path());
        let existed = remove_file_if_present(entry.index_path())?;
        if let Some(record) = record {
            remove_file_if_present(&self.layout.content_path(&record.integrity))?;
            if existed && let Some(usage) = self.usage.lock().as_mut() {
                usage.record_removal(record.footprint(entry.digest().as_bytes().len()));
            }
        }
        Ok(existed)
    }

    /// Sweeps when this process's view says the cache is over `maxsize`, or when it
    /// wrote a quarter of `maxsize` since the last scan (to notice other processes).
    fn enforce_maxsize(&self) {
        let Some(maxsize) = self.maxsize else {
            return;
        };
        let due = self.usage.lock().is_none_or(|usage| {
            usage.bytes() > maxsize || usage.written_since_scan() > maxsize / 4
        });
        if due && let Err(err) = self.sweep() {
            self.counter.error(&self.name, &err);
        }
    }

    /// A snapshot of the statistics; `size` is the number of entries of this cache in the
    /// folder (scanned on first use, then tracked).
    pub(crate) fn stats(&self) -> Stats {
        let known = *self.usage.lock();
        let usage = match known {
            Some(usage) => usage,
            None => match self.scan_usage() {
                Ok(usage) => usage,
                Err(err) => {
                    self.counter.error(&self.name, &err);
                    Usage::default()
                }
            },
        };
        self.counter
            .snapshot_weighed(usage.entries(), usage.bytes(), self.maxsize)
    }

    /// What sweeps, counts and clears of this cache work on.
    fn sweep_scope(&self) -> SweepScope<'_> {
        SweepScope::new(&self.layout, self.owner, self.suffix_len)
    }

    /// Counts this cache's entries and bytes in the folder and remembers the result.
    fn scan_usage(&self) -> Result<Usage, Error> {
        let usage = self.sweep_scope().count()?;
        *self.usage.lock() = Some(usage);
        Ok(usage)
    }

    /// Sweeps the folder (see `sweep.rs`), one sweep at a time in this process, and
    /// counts what it removed.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the folder cannot be read or files cannot be removed.
    pub(crate) fn sweep(&self) -> Result<SweepReport, Error> {
        let _span = tracing::trace_span!("twat_cache.file.sweep", cache = self.name()).entered();
        let _one_at_a_time = self.sweep_lock.lock();
        let report = self.sweep_scope().sweep(
            self.maxsize,
            self.options.orphan_grace_period(),
            self.options.temp_grace_period(),
        )?;
        self.counter.evict(report.expired + report.evicted);
        *self.usage.lock() = Some(Usage::scanned(report.entries, report.bytes));
        if report.garbled > 0 {
            self.counter.error(
                &self.name,
                &corrupt("(index)", "garbled index records found by a sweep"),
            );
        }
        Ok(report)
    }

    /// Removes this cache's entries and their content (other caches in the folder keep
    /// theirs), then orphaned content, and resets the counters.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the folder cannot be read or files cannot be removed.
    pub(crate) fn clear(&self) -> Result<(), Error> {
        let _one_at_a_time = self.sweep_lock.lock();
        self.sweep_scope()
            .clear(self.options.orphan_grace_period())?;
        *self.usage.lock() = Some(Usage::default());
        self.counter.reset();
        Ok(())
    }
}

/// The error counted for an entry whose content is damaged.
pub(crate) fn corrupt(hex: &str, reason: &str) -> Error {
    Error::Decode(DecodeError::payload_message(format_args!(
        "file cache entry {hex}: {reason}; removed, it will be recomputed"
    )))
}

fn kind_mismatch(wanted_raw: bool) -> Error {
    let (wanted, found) = if wanted_raw {
        ("raw bytes", "a serialized value")
    } else {
        ("a serialized value", "raw bytes")
    };
    Error::Decode(DecodeError::payload_message(format_args!(
        "asked for {wanted} but the entry holds {found}; removed"
    )))
}
