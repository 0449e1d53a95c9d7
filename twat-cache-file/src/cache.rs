//! [`FileCache`]: the engine, its read and write paths.
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

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cacache::{Algorithm, Integrity};
use parking_lot::Mutex;
use serde::Serialize;
use serde::de::DeserializeOwned;
use twat_cache_core::envelope::{Flags, Header};
use twat_cache_core::{
    ByteStore, CacheConfig, DecodeError, Digest, DigestAlgorithm, EngineKind, Error, ManagedCache,
    Namespace, Stats, StatsCounter, decode_value, encode_value,
};

use crate::checksum::Checksum;
use crate::layout::{Layout, remove_file_if_present};
use crate::options::FileCacheOptions;
use crate::record::IndexRecord;
use crate::stream::{FileReader, FileWriter};
use crate::sweep::SweepReport;

/// Content up to this size is read into a zeroed buffer of the recorded length; larger
/// content the way `std::fs::read` reads (no zeroing, two metadata calls).
const SMALL_CONTENT: usize = 64 * 1024;
/// Largest single write handed to cacache (whose writer hashes a buffer before writing
/// it, so a partial write of a huge buffer must never happen).
pub(crate) const WRITE_CHUNK: usize = 64 * 1024 * 1024;

/// A content-addressed, integrity-checked file cache for large values.
///
/// Cheap to share: clone the `Arc` you keep it in; every method takes `&self`.
pub struct FileCache {
    inner: Arc<Inner>,
}

/// The shared state behind a [`FileCache`] and its streaming readers and writers.
pub(crate) struct Inner {
    pub(crate) name: String,
    pub(crate) layout: Layout,
    pub(crate) namespace: Namespace,
    pub(crate) digest_algorithm: DigestAlgorithm,
    pub(crate) owner: u64,
    pub(crate) ttl: Option<Duration>,
    pub(crate) maxsize: Option<u64>,
    pub(crate) compression: Option<i32>,
    pub(crate) durable: bool,
    pub(crate) options: FileCacheOptions,
    pub(crate) counter: StatsCounter,
    /// Entries and bytes of this cache, `None` until the first scan.
    pub(crate) usage: Mutex<Option<Usage>>,
    /// One sweep at a time in this process.
    pub(crate) sweep_lock: Mutex<()>,
}

/// What this cache holds on disk, as far as this process knows.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Usage {
    pub(crate) entries: u64,
    pub(crate) bytes: u64,
    /// Bytes this process wrote since the last scan (other processes' writes are only
    /// seen by a scan, so enough local writes trigger one).
    pub(crate) written_since_scan: u64,
}

/// One key's location.
#[derive(Debug, Clone)]
pub(crate) struct EntryKey {
    pub(crate) digest: Digest,
    pub(crate) hex: String,
    pub(crate) index_path: PathBuf,
}

/// Freshly written content, ready to be published under a key.
#[derive(Debug)]
pub(crate) struct Content {
    pub(crate) flags: Flags,
    pub(crate) stored_len: u64,
    pub(crate) value_len: u64,
    pub(crate) checksum: u64,
    pub(crate) integrity: Integrity,
}

/// What reading a content file gave.
enum ContentRead {
    Bytes(Vec<u8>),
    Missing,
    Corrupt(String),
}

impl fmt::Debug for FileCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileCache")
            .field("name", &self.inner.name)
            .field("path", &self.inner.layout.root)
            .field("maxsize", &self.inner.maxsize)
            .field("ttl", &self.inner.ttl)
            .field("compression", &self.inner.compression)
            .finish_non_exhaustive()
    }
}

impl FileCache {
    /// Opens (creating it if needed) the cache folder of `config`: `<cache root>/<folder>`,
    /// where the folder is `config.folder()`, else the cache name (with characters other
    /// than ASCII letters, digits, `_`, `-` and `.` replaced by `_`, so `crate::func`
    /// becomes `crate__func`), else `"twat_cache_file"`. The name is `config.name()`, else `"file"`; `maxsize` is in
    /// bytes; `compress` selects zstd at level 3.
    ///
    /// ```
    /// use twat_cache_core::CacheConfig;
    /// use twat_cache_file::{FileCache, FileCacheOptions};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let config = CacheConfig::builder().name("arrays").build()?;
    /// let cache = FileCache::open_with(&config, FileCacheOptions::new().directory(dir.path()))?;
    /// cache.set(&("sum", 3_u32), &vec![1.5_f64, 2.5])?;
    /// assert_eq!(cache.get::<_, Vec<f64>>(&("sum", 3_u32))?, Some(vec![1.5, 2.5]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the folder would escape the cache root,
    /// [`Error::NoCacheRoot`] when there is no root, [`Error::Io`] when the folder cannot
    /// be created.
    pub fn open(config: &CacheConfig) -> Result<Self, Error> {
        Self::open_with(config, FileCacheOptions::default())
    }

    /// Opens the cache with extra [`FileCacheOptions`] (zstd level, an explicit
    /// directory, grace periods).
    ///
    /// # Errors
    ///
    /// As for [`FileCache::open`].
    pub fn open_with(config: &CacheConfig, options: FileCacheOptions) -> Result<Self, Error> {
        let name = config.name().unwrap_or("file").to_owned();
        let root = match options.directory_override() {
            Some(directory) => directory.to_path_buf(),
            None => {
                let folder = match (config.folder(), config.name()) {
                    (Some(folder), _) => folder.to_path_buf(),
                    (None, Some(name)) => PathBuf::from(folder_name_from(name)),
                    (None, None) => PathBuf::from("twat_cache_file"),
                };
                twat_cache_core::root::resolve_folder(&folder)?
            }
        };
        let layout = Layout::new(root, config.secure());
        layout.create()?;
        let inner = Inner {
            owner: xxhash_rust::xxh3::xxh3_64(name.as_bytes()),
            namespace: Namespace::new(&name, config.version()),
            name,
            layout,
            digest_algorithm: DigestAlgorithm::for_security(config.secure()),
            ttl: config.ttl(),
            maxsize: config.maxsize(),
            compression: config.compress().then_some(options.level()),
            durable: config.durable(),
            options,
            counter: StatsCounter::new(),
            usage: Mutex::new(None),
            sweep_lock: Mutex::new(()),
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// The name the cache is registered under.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The folder the cache keeps its files in.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.inner.layout.root
    }

    /// The value stored under `key`, if there is a live one that decodes as `V`.
    ///
    /// A stored payload that does not decode as `V` (the type changed) or that fails its
    /// integrity check is removed, counted in `errors`, and reported as `Ok(None)`.
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] when the key cannot be serialized, [`Error::Io`] when the folder
    /// cannot be read.
    pub fn get<K: Serialize + ?Sized, V: DeserializeOwned>(
        &self,
        key: &K,
    ) -> Result<Option<V>, Error> {
        let entry = self.inner.entry_key(&self.inner.namespace.key(key)?);
        let Some((record, payload)) = self.inner.fetch(&entry, false)? else {
            self.inner.counter.miss();
            return Ok(None);
        };
        match decode_value::<V>(&payload) {
            Ok(value) => {
                self.inner.counter.hit();
                Ok(Some(value))
            }
            Err(err) => {
                self.inner.discard(&entry, &record, &Error::Decode(err));
                self.inner.counter.miss();
                Ok(None)
            }
        }
    }

    /// Stores `value` (postcard-encoded, zstd-compressed when configured) under `key`.
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] when the key or value cannot be serialized, [`Error::Io`] or
    /// [`Error::Backend`] when the files cannot be written.
    pub fn set<K: Serialize + ?Sized, V: Serialize + ?Sized>(
        &self,
        key: &K,
        value: &V,
    ) -> Result<(), Error> {
        let entry = self.inner.entry_key(&self.inner.namespace.key(key)?);
        let payload = encode_value(value)?;
        self.inner.store(&entry, &payload, Flags::NONE)
    }

    /// The bytes stored under `key` with [`FileCache::set_raw`] or
    /// [`FileCache::set_writer`]: no serde pass over the bytes.
    ///
    /// # Errors
    ///
    /// As for [`FileCache::get`].
    pub fn get_raw<K: Serialize + ?Sized>(&self, key: &K) -> Result<Option<Vec<u8>>, Error> {
        let entry = self.inner.entry_key(&self.inner.namespace.key(key)?);
        let found = self.inner.fetch(&entry, true)?;
        self.inner.count_lookup(found.is_some());
        Ok(found.map(|(_, payload)| payload))
    }

    /// Stores `bytes` as they are under `key` (flagged raw; compressed when configured).
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let config = twat_cache_core::CacheConfig::builder().build()?;
    /// # let cache = twat_cache_file::FileCache::open_with(
    /// #     &config, twat_cache_file::FileCacheOptions::new().directory(dir.path()))?;
    /// // An array of f64 stored at memcpy speed: little-endian bytes in, bytes out.
    /// let samples = vec![0.25_f64; 1024];
    /// let bytes: Vec<u8> = samples.iter().flat_map(|x| x.to_le_bytes()).collect();
    /// cache.set_raw(&"samples", &bytes)?;
    /// let back: Vec<f64> = cache
    ///     .get_raw(&"samples")?
    ///     .unwrap_or_default()
    ///     .chunks_exact(8)
    ///     .map(|chunk| f64::from_le_bytes(chunk.try_into().unwrap_or_default()))
    ///     .collect();
    /// assert_eq!(back, samples);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`FileCache::set`].
    pub fn set_raw<K: Serialize + ?Sized>(&self, key: &K, bytes: &[u8]) -> Result<(), Error> {
        let entry = self.inner.entry_key(&self.inner.namespace.key(key)?);
        self.inner.store(&entry, bytes, Flags::RAW)
    }

    /// A reader over the bytes stored under `key` (raw entries only), for values larger
    /// than memory. The content is verified as it streams: corruption surfaces as an
    /// [`io::ErrorKind::InvalidData`] error from `read` (at the latest when the end is
    /// reached, before `read` returns `0`), and the entry is removed.
    ///
    /// # Errors
    ///
    /// As for [`FileCache::get`].
    pub fn get_reader<K: Serialize + ?Sized>(&self, key: &K) -> Result<Option<FileReader>, Error> {
        let entry = self.inner.entry_key(&self.inner.namespace.key(key)?);
        let reader = FileReader::open(&self.inner, entry)?;
        self.inner.count_lookup(reader.is_some());
        Ok(reader)
    }

    /// A writer that streams a raw value under `key`; nothing is stored until
    /// [`FileWriter::commit`]. Dropping the writer abandons the value.
    ///
    /// # Errors
    ///
    /// As for [`FileCache::set`].
    pub fn set_writer<K: Serialize + ?Sized>(&self, key: &K) -> Result<FileWriter, Error> {
        let entry = self.inner.entry_key(&self.inner.namespace.key(key)?);
        FileWriter::new(&self.inner, entry)
    }

    /// Removes the entry under `key`; `true` if there was one.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the files cannot be removed.
    pub fn delete<K: Serialize + ?Sized>(&self, key: &K) -> Result<bool, Error> {
        let entry = self.inner.entry_key(&self.inner.namespace.key(key)?);
        self.inner.remove(&entry)
    }

    /// Removes every entry of this cache from its folder (entries of other caches that
    /// share the folder stay), orphaned content, and resets the counters.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the folder cannot be read or files cannot be removed.
    pub fn clear(&self) -> Result<(), Error> {
        self.inner.clear()
    }

    /// Removes expired entries, evicts least-recently-used entries while the cache is over
    /// `maxsize`, removes orphaned content and abandoned temporary files, and recounts.
    /// Writes run this by themselves when needed; call it to tidy a folder on demand.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the folder cannot be read or files cannot be removed.
    pub fn sweep(&self) -> Result<SweepReport, Error> {
        self.inner.sweep()
    }

    /// A snapshot of the statistics; `size` is the number of entries of this cache in the
    /// folder (scanned once, then tracked; other processes' writes show up at the next
    /// sweep).
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.inner.stats()
    }
}

/// A folder name derived from a cache name: characters that are not portable in file
/// names (`::` of module paths, slashes) become `_`.
fn folder_name_from(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

impl Inner {
    pub(crate) fn entry_key(&self, key_bytes: &[u8]) -> EntryKey {
        let digest = Digest::of(key_bytes, self.digest_algorithm);
        let hex = digest.to_hex();
        EntryKey {
            digest,
            index_path: self.layout.index_path(&hex),
            hex,
        }
    }

    pub(crate) fn count_lookup(&self, hit: bool) {
        if hit {
            self.counter.hit();
        } else {
            self.counter.miss();
        }
    }

    /// The record and decompressed payload of the live entry under `entry`, if it is a raw
    /// entry exactly when `raw` (an entry of the other kind is removed and counted).
    fn fetch(&self, entry: &EntryKey, raw: bool) -> Result<Option<(IndexRecord, Vec<u8>)>, Error> {
        let Some(mut record) = self.read_record(entry, true)? else {
            return Ok(None);
        };
        let mut retried = false;
        loop {
            if record.header.flags.contains(Flags::RAW) != raw {
                self.discard(entry, &record, &kind_mismatch(raw));
                return Ok(None);
            }
            match self.read_content(&record, &entry.digest)? {
                ContentRead::Bytes(stored) => {
                    return match unpack(&record, stored) {
                        Ok(payload) => Ok(Some((record, payload))),
                        Err(reason) => {
                            self.discard(entry, &record, &corrupt(&entry.hex, &reason));
                            Ok(None)
                        }
                    };
                }
                ContentRead::Corrupt(reason) => {
                    self.discard(entry, &record, &corrupt(&entry.hex, &reason));
                    return Ok(None);
                }
                ContentRead::Missing => {
                    // Another process may have replaced the entry, and removed the content
                    // we were pointed at, between our two reads: look again once.
                    match self.read_record(entry, false)? {
                        Some(current) if current.integrity == record.integrity => {
                            let reason = "content file is missing";
                            self.discard(entry, &record, &corrupt(&entry.hex, reason));
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
    pub(crate) fn read_record(
        &self,
        entry: &EntryKey,
        touch: bool,
    ) -> Result<Option<IndexRecord>, Error> {
        let mut file = match File::open(&entry.index_path) {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(Error::io(&entry.index_path, err)),
        };
        let mut buffer = [0_u8; 256];
        let mut filled = 0;
        let mut spilled = Vec::new();
        loop {
            let Some(free) = buffer.get_mut(filled..).filter(|free| !free.is_empty()) else {
                // Longer than any record this crate writes: read the rest, let decoding judge.
                spilled.extend_from_slice(&buffer);
                file.read_to_end(&mut spilled)
                    .map_err(|err| Error::io(&entry.index_path, err))?;
                break;
            };
            match file.read(free) {
                Ok(0) => break,
                Ok(read) => filled += read,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(Error::io(&entry.index_path, err)),
            }
        }
        let bytes = if spilled.is_empty() {
            buffer.get(..filled).unwrap_or_default()
        } else {
            &spilled
        };
        let record = match IndexRecord::decode(bytes) {
            Ok(record) => record,
            Err(err) => {
                if let Err(io_err) = remove_file_if_present(&entry.index_path) {
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

    /// Reads the content of `record` and verifies its length, checksum and key suffix.
    fn read_content(&self, record: &IndexRecord, digest: &Digest) -> Result<ContentRead, Error> {
        let suffix = digest.as_bytes();
        let Some(total) = usize::try_from(record.stored_len)
            .ok()
            .and_then(|len| len.checked_add(suffix.len()))
        else {
            return Ok(ContentRead::Corrupt(format!(
                "recorded length {} does not fit in memory",
                record.stored_len
            )));
        };
        let path = self.layout.content_path(&record.integrity);
        let mut file = match File::open(&path) {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(ContentRead::Missing),
            Err(err) => return Err(Error::io(&path, err)),
        };
        let mut buffer = if total <= SMALL_CONTENT {
            // Small values: the record says the length, so skip the metadata calls that
            // `read_to_end` makes to size its buffer (a third of a 1 KiB hit's syscalls).
            let mut buffer = vec![0_u8; total];
            match file.read_exact(&mut buffer) {
                Ok(()) => {}
                Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => {
                    return Ok(ContentRead::Corrupt(
                        "content is shorter than recorded (truncated)".to_owned(),
                    ));
                }
                Err(err) => return Err(Error::io(&path, err)),
            }
            let mut probe = [0_u8; 1];
            if file.read(&mut probe).map_err(|err| Error::io(&path, err))? != 0 {
                return Ok(ContentRead::Corrupt(
                    "content is longer than recorded".to_owned(),
                ));
            }
            buffer
        } else {
            // What `std::fs::read` does: one allocation sized from the file's length,
            // filled by the kernel with no zeroing pass. One byte more, so that a content
            // file longer than recorded shows without a reallocation.
            let mut buffer = Vec::with_capacity(total.saturating_add(1));
            file.read_to_end(&mut buffer)
                .map_err(|err| Error::io(&path, err))?;
            buffer
        };
        if buffer.len() != total {
            let how = if buffer.len() < total {
                "shorter than recorded (truncated)"
            } else {
                "longer than recorded"
            };
            return Ok(ContentRead::Corrupt(format!("content is {how}")));
        }
        let mut checksum = Checksum::new();
        checksum.update(&buffer);
        if checksum.value() != record.checksum {
            return Ok(ContentRead::Corrupt(
                "content failed its checksum (damaged on disk)".to_owned(),
            ));
        }
        let stored_len = total - suffix.len();
        if buffer.get(stored_len..) != Some(suffix) {
            return Ok(ContentRead::Corrupt(
                "content belongs to another key".to_owned(),
            ));
        }
        buffer.truncate(stored_len);
        Ok(ContentRead::Bytes(buffer))
    }

    /// Encodes flags, compresses when configured, writes content then index.
    fn store(&self, entry: &EntryKey, payload: &[u8], flags: Flags) -> Result<(), Error> {
        let compressed;
        let (stored, flags): (&[u8], Flags) = match self.compression {
            Some(level) => {
                compressed =
                    crate::compression::compress(payload, level).map_err(|err| Error::Encode {
                        what: "value",
                        reason: format!("zstd compression failed: {err}"),
                    })?;
                (&compressed, flags.union(Flags::COMPRESSED))
            }
            None => (payload, flags),
        };
        if self.too_big(stored.len() as u64) {
            return Ok(());
        }
        let mut writer = self.content_writer()?;
        let written = write_chunked(&mut writer, stored)
            .and_then(|()| writer.write_all(entry.digest.as_bytes()));
        if let Err(err) = written {
            return Err(Error::io(&self.layout.tmp, err));
        }
        let mut checksum = Checksum::new();
        checksum.update(stored);
        checksum.update(entry.digest.as_bytes());
        let integrity = writer.commit().map_err(backend)?;
        let content = Content {
            flags,
            stored_len: stored.len() as u64,
            value_len: payload.len() as u64,
            checksum: checksum.value(),
            integrity,
        };
        self.publish(entry, content)
    }

    /// A cacache content writer using xxh3-128 integrity.
    pub(crate) fn content_writer(&self) -> Result<cacache::SyncWriter, Error> {
        cacache::WriteOpts::new()
            .algorithm(Algorithm::Xxh3)
            .open_hash_sync(&self.layout.root)
            .map_err(backend)
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

    /// Points the index of `entry` at freshly written content, then tidies up.
    pub(crate) fn publish(&self, entry: &EntryKey, content: Content) -> Result<(), Error> {
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
        let previous = self.peek_record(entry);
        let published = prepared.and_then(|()| self.write_index(&entry.index_path, &record));
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
        let suffix = entry.digest.as_bytes().len();
        let added = record.footprint(suffix);
        let removed = previous
            .as_ref()
            .map_or(0, |previous| previous.footprint(suffix));
        {
            let mut usage = self.usage.lock();
            if let Some(usage) = usage.as_mut() {
                usage.bytes = usage.bytes.saturating_add(added).saturating_sub(removed);
                usage.entries += u64::from(previous.is_none());
                usage.written_since_scan = usage.written_since_scan.saturating_add(added);
            }
        }
        self.enforce_maxsize();
        Ok(())
    }

    /// The current record of `entry` without stamping, counting or removing anything.
    pub(crate) fn peek_record(&self, entry: &EntryKey) -> Option<IndexRecord> {
        let bytes = std::fs::read(&entry.index_path).ok()?;
        IndexRecord::decode(&bytes).ok()
    }

    /// Writes an index record atomically: a temporary file renamed over the old one.
    fn write_index(&self, index_path: &Path, record: &IndexRecord) -> Result<(), Error> {
        let bytes = record.encode()?;
        let mut temp = match tempfile::Builder::new()
            .prefix("index-")
            .tempfile_in(&self.layout.tmp)
        {
            Ok(temp) => temp,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                self.layout.create_dir(&self.layout.tmp)?;
                tempfile::Builder::new()
                    .prefix("index-")
                    .tempfile_in(&self.layout.tmp)
                    .map_err(|err| Error::io(&self.layout.tmp, err))?
            }
            Err(err) => return Err(Error::io(&self.layout.tmp, err)),
        };
        let file_err = |err| Error::io(temp_path_hint(&self.layout.tmp), err);
        temp.write_all(&bytes).map_err(file_err)?;
        // An explicit stamp: the kernel's own mtime ticks only every few milliseconds,
        // too coarse to order entries written in a burst.
        temp.as_file()
            .set_modified(SystemTime::now())
            .map_err(file_err)?;
        if self.durable {
            temp.as_file().sync_all().map_err(file_err)?;
        }
        let temp = match temp.persist(index_path) {
            Ok(_) => None,
            Err(err) if err.error.kind() == io::ErrorKind::NotFound => Some(err.file),
            Err(err) => return Err(Error::io(index_path, err.error)),
        };
        if let Some(temp) = temp {
            if let Some(parent) = index_path.parent() {
                self.layout.create_dir(parent)?;
            }
            temp.persist(index_path)
                .map_err(|err| Error::io(index_path, err.error))?;
        }
        if self.durable
            && let Some(parent) = index_path.parent()
        {
            sync_path(parent)?;
        }
        Ok(())
    }

    /// Removes `entry`'s index (if it still names `record`'s content) and that content.
    /// Failures are counted, not returned: the caller is already reporting a miss.
    fn drop_entry(&self, entry: &EntryKey, record: &IndexRecord) {
        let still_current = self
            .peek_record(entry)
            .is_none_or(|current| current.integrity == record.integrity);
        if still_current && let Err(err) = remove_file_if_present(&entry.index_path) {
            self.counter.error(&self.name, &err);
        }
        if let Err(err) = remove_file_if_present(&self.layout.content_path(&record.integrity)) {
            self.counter.error(&self.name, &err);
        }
        let footprint = record.footprint(entry.digest.as_bytes().len());
        if let Some(usage) = self.usage.lock().as_mut() {
            usage.bytes = usage.bytes.saturating_sub(footprint);
            usage.entries = usage.entries.saturating_sub(1);
        }
    }

    /// Removes an entry that could not be served and counts why.
    pub(crate) fn discard(&self, entry: &EntryKey, record: &IndexRecord, why: &Error) {
        self.drop_entry(entry, record);
        self.counter.error(&self.name, why);
    }

    /// Removes the entry under `entry`; `true` if there was one.
    fn remove(&self, entry: &EntryKey) -> Result<bool, Error> {
        let record = self.peek_record(entry);
        let existed = remove_file_if_present(&entry.index_path)?;
        if let Some(record) = record {
            remove_file_if_present(&self.layout.content_path(&record.integrity))?;
            if existed && let Some(usage) = self.usage.lock().as_mut() {
                let footprint = record.footprint(entry.digest.as_bytes().len());
                usage.bytes = usage.bytes.saturating_sub(footprint);
                usage.entries = usage.entries.saturating_sub(1);
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
        let due = self
            .usage
            .lock()
            .is_none_or(|usage| usage.bytes > maxsize || usage.written_since_scan > maxsize / 4);
        if due && let Err(err) = self.sweep() {
            self.counter.error(&self.name, &err);
        }
    }

    fn stats(&self) -> Stats {
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
        self.counter.snapshot(usage.entries, self.maxsize)
    }
}

/// Decompresses a stored payload when it is compressed.
fn unpack(record: &IndexRecord, stored: Vec<u8>) -> Result<Vec<u8>, String> {
    if !record.header.flags.contains(Flags::COMPRESSED) {
        return Ok(stored);
    }
    let capacity = usize::try_from(record.value_len).map_err(|_| {
        format!(
            "recorded length {} does not fit in memory",
            record.value_len
        )
    })?;
    let payload = crate::compression::decompress(&stored, capacity)
        .map_err(|err| format!("zstd payload does not decompress: {err}"))?;
    if payload.len() == capacity {
        Ok(payload)
    } else {
        Err(format!(
            "decompressed to {} bytes, {} recorded",
            payload.len(),
            capacity
        ))
    }
}

fn write_chunked(writer: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    bytes
        .chunks(WRITE_CHUNK)
        .try_for_each(|chunk| writer.write_all(chunk))
}

fn sync_path(path: &Path) -> Result<(), Error> {
    File::open(path)
        .and_then(|file| file.sync_all())
        .map_err(|err| Error::io(path, err))
}

fn temp_path_hint(tmp: &Path) -> PathBuf {
    tmp.join("index-*")
}

/// The error counted for an entry whose content is damaged.
pub(crate) fn corrupt(hex: &str, reason: &str) -> Error {
    Error::Decode(DecodeError::Payload(format!(
        "file cache entry {hex}: {reason}; removed, it will be recomputed"
    )))
}

fn kind_mismatch(wanted_raw: bool) -> Error {
    let (wanted, found) = if wanted_raw {
        ("raw bytes", "a serialized value")
    } else {
        ("a serialized value", "raw bytes")
    };
    Error::Decode(DecodeError::Payload(format!(
        "asked for {wanted} but the entry holds {found}; removed"
    )))
}

/// Maps a cacache error to the workspace error.
pub(crate) fn backend(err: cacache::Error) -> Error {
    match err {
        cacache::Error::IoError(source, context) => Error::Io {
            path: None,
            source: io::Error::new(source.kind(), format!("{context}: {source}")),
        },
        other => Error::Backend {
            engine: EngineKind::File,
            message: other.to_string(),
        },
    }
}

impl ByteStore for FileCache {
    fn kind(&self) -> EngineKind {
        EngineKind::File
    }

    fn get_bytes(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        let entry = self.inner.entry_key(key);
        let found = self.inner.fetch(&entry, false)?;
        self.inner.count_lookup(found.is_some());
        Ok(found.map(|(_, payload)| payload))
    }

    fn set_bytes(&self, key: &[u8], payload: &[u8]) -> Result<(), Error> {
        let entry = self.inner.entry_key(key);
        self.inner.store(&entry, payload, Flags::NONE)
    }

    fn delete_bytes(&self, key: &[u8]) -> Result<bool, Error> {
        let entry = self.inner.entry_key(key);
        self.inner.remove(&entry)
    }

    fn get_raw_bytes(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        let entry = self.inner.entry_key(key);
        let found = self.inner.fetch(&entry, true)?;
        self.inner.count_lookup(found.is_some());
        Ok(found.map(|(_, payload)| payload))
    }

    fn set_raw_bytes(&self, key: &[u8], bytes: &[u8]) -> Result<(), Error> {
        let entry = self.inner.entry_key(key);
        self.inner.store(&entry, bytes, Flags::RAW)
    }

    fn clear(&self) -> Result<(), Error> {
        self.inner.clear()
    }

    fn stats(&self) -> Stats {
        self.inner.stats()
    }

    fn record_error(&self, error: &Error) {
        self.inner.counter.error(&self.inner.name, error);
    }
}

impl ManagedCache for FileCache {
    fn name(&self) -> &str {
        &self.inner.name
    }

    fn stats(&self) -> Stats {
        self.inner.stats()
    }

    fn clear(&self) -> Result<(), Error> {
        self.inner.clear()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_are_portable() {
        assert_eq!(folder_name_from("my_crate::compute"), "my_crate__compute");
        assert_eq!(folder_name_from("a/b c"), "a_b_c");
    }

    #[test]
    fn file_cache_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<FileCache>();
        assert_send_sync::<FileReader>();
        assert_send_sync::<FileWriter>();
    }
}
