//! [`Engine`]: the engine behind every [`FileCache`](crate::FileCache) handle and its
//! streaming readers and writers — the read path and the write path here; publishing,
//! removal, sweeps and the shared usage count that decides when to sweep in
//! `engine/accounting.rs`.
//!
//! The engine works in key bytes: a handle turns a typed key into bytes, the engine turns
//! bytes into an [`EntryLocation`] and does the rest. Its state is private: the handle
//! and the streams reach it only through the methods below.
//!
//! # Read path (a hit)
//!
//! 1. key bytes → digest (BLAKE3 when `secure`, xxh3-128 otherwise);
//! 2. the record: the one this process remembers for the digest (`memo.rs`; read from
//!    its file less than a second ago, not expired), else the index file's (≈ 70 bytes;
//!    checksummed; dropped if expired), then remembered;
//! 3. read the content file (addressed by cacache's xxh3-128 integrity) into one buffer
//!    sized from the record — one `read` for values up to 64 KiB — and check its length,
//!    its CRC-64 (the `checksum` module says why not cacache's re-hash) and the key
//!    digest the writer appended against the record;
//! 4. decompress when the entry is compressed;
//! 5. renew the recency stamp (the index file's mtime, for LRU eviction) when it is
//!    older than the recency resolution.
//!
//! Anything wrong in 2–4 (garbled record, short or long or flipped content, content of
//! another key, undecodable zstd) removes the entry and counts an error: a miss, never
//! wrong bytes. A remembered record that fails any check is forgotten and the index file
//! read instead, so the full path does the judging, removing and counting. A hit syscall
//! count, `strace -c` over 10 000 Python `@fcache` hits of a small value: 10 per hit
//! before the memo (2 opens, 5 reads, 2 closes, 1 `utimensat`), 3 after (that cache has
//! no `maxsize`; with one, and the default resolution that stamps every hit, the stamp
//! adds an open, a `futimens` and a close).
//!
//! # Write path
//!
//! Compress when configured; skip a value that could never fit in `maxsize`; write the
//! content (`content.rs`) and stage the index record (`record.rs`), both without a lock;
//! then, holding the cache's ledger lock (`ledger.rs`), account for the entry, rename
//! the record into place, remove the content the old record named and sweep when the
//! cache is over budget.

use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use twat_cache_core::envelope::Flags;
use twat_cache_core::{CacheConfig, DecodeError, Digest, DigestAlgorithm, Error, StatsCounter};

use crate::content::{self, ContentRead};
use crate::layout::{EntryLocation, Layout, remove_file_if_present};
use crate::ledger::Ledger;
use crate::memo::RecordMemo;
use crate::options::FileCacheOptions;
use crate::record::IndexRecord;

mod accounting;

/// A live entry as read: its record and its decompressed payload.
pub(crate) type Fetched = (Arc<IndexRecord>, Vec<u8>);

/// The least recency resolution of a cache without `maxsize` (see
/// `Engine::recency_resolution`).
const UNBOUNDED_RECENCY_RESOLUTION: Duration = Duration::from_secs(1);

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
    /// This cache's entries and bytes, shared with every process using the folder; its
    /// lock serializes publishing, removals and sweeps (never reads).
    ledger: Ledger,
    /// Index records this process read or wrote lately: hits skip the index file.
    memo: RecordMemo,
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
        let owner = xxhash_rust::xxh3::xxh3_64(name.as_bytes());
        let ledger = Ledger::new(&layout, owner, config.durable());
        Ok(Self {
            ledger,
            memo: RecordMemo::default(),
            owner,
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
    pub(crate) fn fetch(&self, entry: &EntryLocation, raw: bool) -> Result<Option<Fetched>, Error> {
        // Engine I/O spans are at trace level: free unless a subscriber enables it.
        let _span = tracing::trace_span!("twat_cache.file.read", cache = self.name()).entered();
        if let Some(found) = self.fetch_remembered(entry, raw, None) {
            return Ok(Some(found));
        }
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

    /// The record and decompressed payload of `entry` served from the record this
    /// process remembers (`memo.rs`: no index file is opened), if it is raw exactly when
    /// `raw`, its value is at most `max_value_len` bytes, and its content passes every
    /// check. `None` means "ask the index file": a miss here is never reported or
    /// counted — the full path that follows finds, reports and removes whatever is wrong.
    pub(crate) fn fetch_remembered(
        &self,
        entry: &EntryLocation,
        raw: bool,
        max_value_len: Option<u64>,
    ) -> Option<Fetched> {
        let remembered = self.memo.get(entry.digest())?;
        let record = &remembered.record;
        if record.header.flags.contains(Flags::RAW) != raw
            || max_value_len.is_some_and(|max| record.value_len > max)
        {
            return None;
        }
        let suffix = entry.digest().as_bytes();
        let payload = match content::read_at(&remembered.content_path, record, suffix) {
            Ok(ContentRead::Bytes(stored)) => content::unpack(record, stored).ok(),
            _ => None,
        };
        let Some(payload) = payload else {
            self.memo.forget(entry.digest());
            return None;
        };
        if remembered.stamp_due(self.recency_resolution()) {
            match File::open(entry.index_path()) {
                Ok(file) => self.stamp(&file),
                // Removed since it was remembered: these bytes were read before.
                Err(_) => self.memo.forget(entry.digest()),
            }
        }
        Some((Arc::clone(record), payload))
    }

    /// How stale a recency stamp may get before a hit renews it: the configured
    /// resolution, but at least a second for a cache without `maxsize`, whose stamps
    /// decide no eviction (they only tell `inspect` and the `twat-cache` command when an
    /// entry was last used).
    fn recency_resolution(&self) -> Duration {
        let configured = self.options.recency_resolution_period();
        if self.maxsize.is_some() {
            configured
        } else {
            configured.max(UNBOUNDED_RECENCY_RESOLUTION)
        }
    }

    /// Reads and checks the index record of `entry`, and remembers it (`memo.rs`).
    /// Garbled records are removed and counted, expired ones removed and counted as
    /// evictions; both read as `None`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the index file cannot be read.
    pub(crate) fn read_record(
        &self,
        entry: &EntryLocation,
        touch: bool,
    ) -> Result<Option<Arc<IndexRecord>>, Error> {
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
        let record = Arc::new(record);
        self.remember(entry, &record);
        Ok(Some(record))
    }

    /// Remembers `record` as `entry`'s current record (`memo.rs`).
    pub(crate) fn remember(&self, entry: &EntryLocation, record: &Arc<IndexRecord>) {
        let content_path = self.layout.content_path(&record.integrity);
        self.memo
            .remember(*entry.digest(), Arc::clone(record), content_path);
    }

    /// Forgets what this process remembers of `entry`'s record.
    pub(crate) fn forget(&self, entry: &EntryLocation) {
        self.memo.forget(entry.digest());
    }

    /// Renews the entry's recency stamp (its index file's mtime) unless it is younger
    /// than the recency resolution, best effort: a file owned by another user cannot be
    /// stamped, which only makes LRU less exact.
    fn touch(&self, file: &File) {
        let now = SystemTime::now();
        let resolution = self.recency_resolution();
        if !resolution.is_zero()
            && let Ok(modified) = file.metadata().and_then(|meta| meta.modified())
            && now
                .duration_since(modified)
                .is_ok_and(|age| age < resolution)
        {
            return;
        }
        self.stamp(file);
    }

    /// Sets the entry's recency stamp to now, best effort.
    fn stamp(&self, file: &File) {
        if let Err(err) = file.set_modified(SystemTime::now()) {
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
