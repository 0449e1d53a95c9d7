//! [`DiskCache`]: the engine — a memory front and an index over one fjall keyspace.
//!
//! # Read path
//!
//! 1. The memory front ([`Front`]): a hit there is a hash lookup and the value's decode.
//! 2. The index ([`Index`]): a key the index does not know is a miss without disk I/O.
//! 3. fjall, under the key's stripe lock; the envelope header is checked (a garbled or
//!    expired entry is removed and reported as a miss) and, if the entry was used before
//!    since the cache opened, it enters the front.
//!
//! # Write path
//!
//! Under the key's stripe lock: fjall insert (fsynced first when `durable`), index update,
//! front update. Then, if the index holds more than `maxsize` bytes, eviction.
//!
//! # Eviction (approximate LRU)
//!
//! Every store bumps the cache's write epoch; every read stamps the entry with the current
//! epoch (in the index on a disk read, in the front entry on a front hit — a relaxed
//! store, so hot hits stay contention-free). When the byte total passes `maxsize`, the
//! front's stamps are folded into the index and entries are removed — expired ones first,
//! then the least recently used — until the total is at most 90 % of `maxsize`, in one
//! fjall batch. Entries not used since the cache opened count as the oldest. An entry
//! larger than `maxsize` on its own is not stored.
//!
//! # Coherence
//!
//! fjall's folder lock makes this process the only writer of the folder. Within the
//! process, writes, deletes and front fills of one key are serialized by one of 64 stripe
//! locks; eviction, sweeps and `clear` take all of them. So the front and the index never
//! disagree with the disk about a key.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use fjall::Slice;
use parking_lot::{Mutex, MutexGuard};
use serde::Serialize;
use serde::de::DeserializeOwned;
use twat_cache_core::envelope::{self, Flags, HEADER_LEN, Header, unix_millis_now};
use twat_cache_core::registry::ManagedCache;
use twat_cache_core::root::{create_cache_dir, resolve_folder};
use twat_cache_core::{
    ByteStore, CacheConfig, DecodeError, EngineKind, Error, Namespace, Stats, StatsCounter,
    decode_value, validate_folder,
};

use crate::folder::{Folder, folder_from_name, keyspace_name};
use crate::front::{Front, FrontEntry};
use crate::index::{Index, Meta};
use crate::options::DiskOptions;
use crate::store::{MAX_KEY_LEN, MAX_VALUE_LEN, Store};
use crate::sweeper;

/// Number of stripe locks serializing writers and fills per key.
const STRIPES: usize = 64;
/// Keys of up to this many bytes are built on the stack on the typed path.
const STACK_KEY_LEN: usize = 128;

/// The shared state of one cache (one keyspace in one folder), shared by every
/// [`DiskCache`] handle of this process that opens the same name in the same folder.
pub(crate) struct Core {
    name: String,
    folder: Arc<Folder>,
    store: Store,
    index: Mutex<Index>,
    front: Front,
    stripes: Box<[Mutex<()>]>,
    stats: StatsCounter,
    epoch: AtomicU64,
    maxsize: Option<u64>,
    evicting: Mutex<()>,
    sweep_every_ms: AtomicU64,
    next_sweep_ms: AtomicU64,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("name", &self.name)
            .field("folder", &self.folder)
            .field("store", &self.store)
            .field("front", &self.front)
            .field("maxsize", &self.maxsize)
            .finish_non_exhaustive()
    }
}

/// What a lookup found: a live entry, or why there is none.
enum Lookup {
    Found(Arc<FrontEntry>),
    Missing,
}

impl Core {
    fn new(
        name: &str,
        folder: Arc<Folder>,
        store: Store,
        front_bytes: u64,
        maxsize: Option<u64>,
    ) -> Result<Self, Error> {
        let front_bytes = if store.is_memory() { 0 } else { front_bytes };
        let core = Self {
            name: name.to_owned(),
            folder,
            store,
            index: Mutex::new(Index::default()),
            front: Front::new(front_bytes),
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            stats: StatsCounter::new(),
            epoch: AtomicU64::new(1),
            maxsize,
            evicting: Mutex::new(()),
            sweep_every_ms: AtomicU64::new(0),
            next_sweep_ms: AtomicU64::new(0),
        };
        core.load_index()?;
        // Opened with a smaller budget than the folder holds: shrink now, not on the next
        // store.
        if core
            .maxsize
            .is_some_and(|maxsize| core.index.lock().bytes() > maxsize)
        {
            core.evict()?;
        }
        Ok(core)
    }

    /// Builds the index from one scan of the keyspace, removing entries that are expired
    /// or do not carry a valid envelope, and warms the memory front with the entries that
    /// fit in it.
    fn load_index(&self) -> Result<(), Error> {
        let now = unix_millis_now();
        let mut index = self.index.lock();
        let mut dead = Vec::new();
        let mut garbled = 0_u64;
        self.store
            .for_each(|key, value| match envelope::open(&value) {
                Ok((header, _)) if header.flags == Flags::NONE => {
                    let meta = Meta {
                        size: entry_size(&key, &value),
                        expires_at: header.expires_at.unwrap_or(0),
                        last_used: 0,
                    };
                    if meta.is_expired_at(now) {
                        dead.push(key);
                    } else {
                        // The scan reads every value anyway: keep those that fit in the
                        // memory front, so hits right after a restart are memory hits.
                        if self.front.has_room(meta.size) {
                            let expires_at = meta.expires_at;
                            self.front.insert(
                                key.clone(),
                                Arc::new(FrontEntry::new(value, expires_at, 0)),
                            );
                        }
                        index.insert(key, meta);
                    }
                }
                _ => {
                    garbled += 1;
                    dead.push(key);
                }
            })?;
        drop(index);
        if garbled > 0 {
            self.stats.error(
                &self.name,
                &Error::Decode(DecodeError::Payload(format!(
                    "{garbled} stored entries are not valid envelopes; removed"
                ))),
            );
        }
        let expired = u64::try_from(dead.len())
            .unwrap_or(u64::MAX)
            .saturating_sub(garbled);
        self.store.remove_many(&dead, false)?;
        self.stats.evict(expired);
        Ok(())
    }

    #[inline]
    fn stripe(&self, key: &[u8]) -> MutexGuard<'_, ()> {
        let hash = xxhash_rust::xxh3::xxh3_64(key);
        let slot = usize::try_from(hash % STRIPES as u64).unwrap_or(0);
        // `slot < STRIPES == self.stripes.len()`; `get` keeps the hot path panic-free.
        self.stripes
            .get(slot)
            .or_else(|| self.stripes.first())
            .map_or_else(|| self.evicting.lock(), Mutex::lock)
    }

    fn all_stripes(&self) -> Vec<MutexGuard<'_, ()>> {
        self.stripes.iter().map(Mutex::lock).collect()
    }

    /// Finds the live entry under `key` (no statistics counted).
    #[inline]
    fn lookup(&self, key: &[u8]) -> Result<Lookup, Error> {
        if let Some(entry) = self.front.get(key) {
            if entry.expires_at() != 0 && entry.is_expired_at(unix_millis_now()) {
                self.remove_expired(key)?;
                return Ok(Lookup::Missing);
            }
            entry.touch(self.epoch.load(Ordering::Relaxed));
            return Ok(Lookup::Found(entry));
        }
        self.lookup_cold(key)
    }

    fn lookup_cold(&self, key: &[u8]) -> Result<Lookup, Error> {
        if !is_storable_key(key) {
            // Never stored (fjall refuses such keys), so never found.
            return Ok(Lookup::Missing);
        }
        let epoch = self.epoch.load(Ordering::Relaxed);
        // Doorkeeper: an entry enters the front on its second use since the cache opened
        // (a store counts as a use), so one-off reads after a restart — scans, keys read
        // once — neither pay for a front insert nor push hot entries out of it.
        let admit = {
            let mut index = self.index.lock();
            let Some(meta) = index.get_mut(key) else {
                return Ok(Lookup::Missing);
            };
            if meta.is_expired_at(unix_millis_now()) {
                drop(index);
                self.remove_expired(key)?;
                return Ok(Lookup::Missing);
            }
            let used_before = meta.last_used != 0;
            meta.last_used = epoch;
            used_before
        };
        let _stripe = self.stripe(key);
        let Some(stored) = self.store.get(key)? else {
            // Removed between the index check and the stripe lock.
            return Ok(Lookup::Missing);
        };
        match envelope::open(&stored) {
            Ok((header, _)) if header.flags == Flags::NONE => {
                let expires_at = header.expires_at.unwrap_or(0);
                if header.is_expired() {
                    self.remove_locked(key)?;
                    self.stats.evict(1);
                    return Ok(Lookup::Missing);
                }
                let entry = Arc::new(FrontEntry::new(stored, expires_at, epoch));
                if admit {
                    self.front.insert(Slice::from(key), Arc::clone(&entry));
                }
                Ok(Lookup::Found(entry))
            }
            Ok((header, _)) => {
                self.remove_locked(key)?;
                self.stats.error(
                    &self.name,
                    &Error::Decode(DecodeError::UnknownFlags(header.flags.bits())),
                );
                Ok(Lookup::Missing)
            }
            Err(err) => {
                self.remove_locked(key)?;
                self.stats.error(&self.name, &Error::Decode(err));
                Ok(Lookup::Missing)
            }
        }
    }

    /// Removes `key` if it is still expired (under its stripe lock).
    fn remove_expired(&self, key: &[u8]) -> Result<(), Error> {
        let _stripe = self.stripe(key);
        let expired = self
            .index
            .lock()
            .get(key)
            .is_some_and(|meta| meta.is_expired_at(unix_millis_now()));
        if expired {
            self.remove_locked(key)?;
            self.stats.evict(1);
        }
        Ok(())
    }

    /// Removes `key` everywhere; the caller holds its stripe lock. `true` if it existed.
    fn remove_locked(&self, key: &[u8]) -> Result<bool, Error> {
        let existed = self.index.lock().get(key).is_some();
        if existed {
            self.store.remove_many(&[Slice::from(key)], false)?;
            self.index.lock().remove(key);
        }
        self.front.remove(key);
        Ok(existed)
    }

    fn delete(&self, key: &[u8], durable: bool) -> Result<bool, Error> {
        if !is_storable_key(key) {
            return Ok(false);
        }
        let _stripe = self.stripe(key);
        let existed = self.index.lock().get(key).is_some();
        if existed {
            self.store.remove_many(&[Slice::from(key)], durable)?;
            self.index.lock().remove(key);
        }
        self.front.remove(key);
        Ok(existed)
    }

    /// Stores a sealed envelope under `key`.
    fn store(
        &self,
        key: &[u8],
        envelope: Vec<u8>,
        expires_at: u64,
        durable: bool,
    ) -> Result<(), Error> {
        check_key(key)?;
        if envelope.len() > MAX_VALUE_LEN {
            return Err(Error::Encode {
                what: "value",
                reason: format!(
                    "{} bytes; the disk engine stores values of at most {MAX_VALUE_LEN} bytes",
                    envelope.len()
                ),
            });
        }
        let size = u64::try_from(key.len().saturating_add(envelope.len())).unwrap_or(u64::MAX);
        if self.maxsize.is_some_and(|maxsize| size > maxsize) {
            // Too large to ever fit: storing it would evict everything else first.
            self.delete(key, durable)?;
            return Ok(());
        }
        let key = Slice::from(key);
        let value = Slice::from(envelope);
        let epoch = self.epoch.fetch_add(1, Ordering::Relaxed).saturating_add(1);
        let over_budget = {
            let _stripe = self.stripe(&key);
            self.store.insert(key.clone(), value.clone(), durable)?;
            let bytes = {
                let mut index = self.index.lock();
                index.insert(
                    key.clone(),
                    Meta {
                        size,
                        expires_at,
                        last_used: epoch,
                    },
                );
                index.bytes()
            };
            self.front
                .insert(key, Arc::new(FrontEntry::new(value, expires_at, epoch)));
            self.maxsize.is_some_and(|maxsize| bytes > maxsize)
        };
        self.stats.insert();
        if over_budget {
            // The value is stored; an eviction failure only leaves the cache over budget.
            if let Err(err) = self.evict() {
                self.stats.error(&self.name, &err);
            }
        }
        Ok(())
    }

    /// Removes expired and least recently used entries until at most 90 % of `maxsize`
    /// bytes remain. Skipped when another thread is already evicting.
    fn evict(&self) -> Result<(), Error> {
        let Some(maxsize) = self.maxsize else {
            return Ok(());
        };
        let Some(_evicting) = self.evicting.try_lock() else {
            return Ok(());
        };
        let _stripes = self.all_stripes();
        let target = maxsize - maxsize / 10;
        let victims = {
            let mut index = self.index.lock();
            self.front.for_each_use(|key, last_used| {
                if let Some(meta) = index.get_mut(key) {
                    meta.last_used = meta.last_used.max(last_used);
                }
            });
            index.victims(unix_millis_now(), target)
        };
        self.remove_all_locked(&victims)
    }

    /// Removes `keys` everywhere in one batch; the caller holds every stripe lock.
    fn remove_all_locked(&self, keys: &[Slice]) -> Result<(), Error> {
        if keys.is_empty() {
            return Ok(());
        }
        self.store.remove_many(keys, false)?;
        let mut index = self.index.lock();
        for key in keys {
            index.remove(key);
            self.front.remove(key);
        }
        drop(index);
        self.stats
            .evict(u64::try_from(keys.len()).unwrap_or(u64::MAX));
        Ok(())
    }

    /// Removes every expired entry.
    pub(crate) fn sweep(&self) -> Result<(), Error> {
        let now = unix_millis_now();
        if self.index.lock().expired(now).is_empty() {
            return Ok(());
        }
        let _stripes = self.all_stripes();
        let expired = self.index.lock().expired(now);
        self.remove_all_locked(&expired)
    }

    /// How often the sweeper should visit this cache (`Duration::MAX` when never).
    pub(crate) fn sweep_interval(&self) -> Duration {
        match self.sweep_every_ms.load(Ordering::Relaxed) {
            0 => Duration::MAX,
            ms => Duration::from_millis(ms),
        }
    }

    fn set_sweep_interval(&self, interval: Duration) {
        let ms = u64::try_from(interval.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let _ = self
            .sweep_every_ms
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |current| {
                (current == 0 || ms < current).then_some(ms)
            });
    }

    /// Sweeps when this cache's interval has passed since the last sweep.
    pub(crate) fn sweep_if_due(&self) {
        let every = self.sweep_every_ms.load(Ordering::Relaxed);
        if every == 0 {
            return;
        }
        let now = unix_millis_now();
        if now < self.next_sweep_ms.load(Ordering::Relaxed) {
            return;
        }
        self.next_sweep_ms
            .store(now.saturating_add(every), Ordering::Relaxed);
        if let Err(err) = self.sweep() {
            self.stats.error(&self.name, &err);
        }
    }

    fn clear(&self, durable: bool) -> Result<(), Error> {
        let _stripes = self.all_stripes();
        self.store.clear(durable)?;
        self.index.lock().clear();
        self.front.clear();
        self.stats.reset();
        Ok(())
    }

    fn stats(&self) -> Stats {
        let size = u64::try_from(self.index.lock().len()).unwrap_or(u64::MAX);
        self.stats.snapshot(size, self.maxsize)
    }
}

/// Whether fjall accepts `key`: 1 to 65 535 bytes (it panics otherwise).
const fn is_storable_key(key: &[u8]) -> bool {
    !key.is_empty() && key.len() <= MAX_KEY_LEN
}

fn check_key(key: &[u8]) -> Result<(), Error> {
    if is_storable_key(key) {
        Ok(())
    } else {
        Err(Error::Encode {
            what: "key",
            reason: format!(
                "{} bytes; the disk engine stores keys of 1 to {MAX_KEY_LEN} bytes",
                key.len()
            ),
        })
    }
}

fn entry_size(key: &[u8], value: &[u8]) -> u64 {
    u64::try_from(key.len().saturating_add(value.len())).unwrap_or(u64::MAX)
}

/// A persistent cache in one folder: fjall underneath, a byte-bounded memory front on
/// top, TTL, a byte budget with approximate-LRU eviction, and a fallback to memory when
/// another process holds the folder.
///
/// Cheap to share behind an [`Arc`]; every method takes `&self` and is thread-safe.
/// Handles opened in one process on the same folder and name share one index, front and
/// keyspace (the first handle's `maxsize` and front budget apply to all of them); each
/// handle keeps its own `ttl`, `durable` and key `version`.
#[derive(Debug)]
pub struct DiskCache {
    core: Arc<Core>,
    namespace: Namespace,
    ttl: Option<Duration>,
    durable: bool,
}

impl DiskCache {
    /// Opens (creating if needed) the cache described by `config` with default
    /// [`DiskOptions`].
    ///
    /// The folder is `<cache root>/<config.folder()>` (default: the cache name with
    /// path-unsafe characters replaced by `_`, or `twat_cache_disk` for an unnamed cache);
    /// the cache is named `config.name()` or `"disk"`; `maxsize` is in bytes; `compress`
    /// is ignored by this engine.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a folder outside the root, [`Error::NoCacheRoot`], and
    /// [`Error::Io`] / [`Error::Backend`] when the folder cannot be created or opened
    /// (read-only, permission denied, corrupt). A folder locked by another process is
    /// *not* an error: the cache falls back to memory (see [`DiskCache::is_fallback`]).
    pub fn open(config: &CacheConfig) -> Result<Self, Error> {
        Self::open_with(config, &DiskOptions::default())
    }

    /// Opens the cache described by `config` with engine-specific `options`.
    ///
    /// ```
    /// use twat_cache_core::CacheConfig;
    /// use twat_cache_disk::{DiskCache, DiskOptions};
    ///
    /// let root = tempfile::tempdir()?;
    /// let config = CacheConfig::builder().name("squares").folder("math").build()?;
    /// let options = DiskOptions { root: Some(root.path().into()), ..DiskOptions::default() };
    /// let cache = DiskCache::open_with(&config, &options)?;
    /// cache.set(&7_u32, &49_u64)?;
    /// assert_eq!(cache.get::<_, u64>(&7_u32)?, Some(49));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`DiskCache::open`].
    pub fn open_with(config: &CacheConfig, options: &DiskOptions) -> Result<Self, Error> {
        let name = config.name().unwrap_or("disk");
        let path = folder_path(config, options)?;
        create_cache_dir(&path, config.secure())?;
        let folder = Folder::open(&path, options.lock_wait)?;
        let fallback = folder.is_fallback();
        let core = folder.core(&keyspace_name(name), |store| {
            Core::new(
                name,
                Arc::clone(&folder),
                store,
                options.front_bytes,
                config.maxsize(),
            )
            .map(Arc::new)
        })?;
        if fallback {
            core.stats
                .error(name, &Error::Locked(folder.path().to_path_buf()));
        }
        if let Some(ttl) = config.ttl() {
            core.set_sweep_interval(sweeper::interval_for(ttl));
        } else if core.index.lock().has_expiring() {
            core.set_sweep_interval(Duration::from_secs(30));
        }
        if core.sweep_every_ms.load(Ordering::Relaxed) != 0 {
            sweeper::watch(&core);
        }
        Ok(Self {
            namespace: Namespace::new(name, config.version()),
            core,
            ttl: config.ttl(),
            durable: config.durable(),
        })
    }

    /// The cache name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.core.name
    }

    /// The folder holding the cache (canonical path).
    #[must_use]
    pub fn path(&self) -> PathBuf {
        self.core.folder.path().to_path_buf()
    }

    /// Whether this cache runs in memory because another process held the folder.
    #[must_use]
    pub fn is_fallback(&self) -> bool {
        self.core.folder.is_fallback()
    }

    /// Encodes `key` under this cache's namespace, on the stack when it is short.
    #[inline]
    fn with_key<K: Serialize + ?Sized, R>(
        &self,
        key: &K,
        with: impl FnOnce(&[u8]) -> Result<R, Error>,
    ) -> Result<R, Error> {
        let prefix = self.namespace.prefix();
        let mut buffer = [0_u8; STACK_KEY_LEN];
        if let Some((head, tail)) = buffer.split_at_mut_checked(prefix.len()) {
            head.copy_from_slice(prefix);
            match postcard::to_slice(key, tail) {
                Ok(used) => {
                    let len = prefix.len() + used.len();
                    return with(buffer.get(..len).unwrap_or_default());
                }
                Err(postcard::Error::SerializeBufferFull) => {}
                Err(err) => {
                    return Err(Error::Encode {
                        what: "key",
                        reason: err.to_string(),
                    });
                }
            }
        }
        with(&self.namespace.key(key)?)
    }

    /// The value stored under `key`, if there is a live one of type `V`.
    ///
    /// An entry that does not decode as `V` (the type changed, the bytes are garbled) is
    /// removed, counted in [`Stats::errors`] (warned once) and reported as a miss.
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] when the key cannot be serialized, [`Error::Io`] /
    /// [`Error::Backend`] when the disk cannot be read.
    pub fn get<K: Serialize + ?Sized, V: DeserializeOwned>(
        &self,
        key: &K,
    ) -> Result<Option<V>, Error> {
        self.with_key(key, |key| {
            let Lookup::Found(entry) = self.core.lookup(key)? else {
                self.core.stats.miss();
                return Ok(None);
            };
            match decode_value::<V>(entry.payload()) {
                Ok(value) => {
                    self.core.stats.hit();
                    Ok(Some(value))
                }
                Err(err) => {
                    drop(entry);
                    self.core.delete(key, false)?;
                    self.core.stats.miss();
                    self.core.stats.error(&self.core.name, &Error::Decode(err));
                    Ok(None)
                }
            }
        })
    }

    /// Stores `value` under `key`, replacing any previous entry; with `durable`, the
    /// journal is fsynced before this returns.
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] when the key or value cannot be serialized, [`Error::Io`] /
    /// [`Error::Backend`] when the disk cannot be written.
    pub fn set<K: Serialize + ?Sized, V: Serialize + ?Sized>(
        &self,
        key: &K,
        value: &V,
    ) -> Result<(), Error> {
        let header = Header::new(Flags::NONE, self.ttl);
        let envelope = envelope::seal_value(header, value)?;
        self.with_key(key, |key| {
            self.core
                .store(key, envelope, header.expires_at.unwrap_or(0), self.durable)
        })
    }

    /// Removes the entry under `key`; `true` if there was one.
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] when the key cannot be serialized, [`Error::Io`] /
    /// [`Error::Backend`] when the disk cannot be written.
    pub fn delete<K: Serialize + ?Sized>(&self, key: &K) -> Result<bool, Error> {
        self.with_key(key, |key| self.core.delete(key, self.durable))
    }

    /// Removes every entry of this cache (other caches sharing the folder keep theirs)
    /// and resets its statistics.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] / [`Error::Backend`] when the disk cannot be written.
    pub fn clear(&self) -> Result<(), Error> {
        self.core.clear(self.durable)
    }

    /// A snapshot of the statistics: `size` is the number of entries, `maxsize` the byte
    /// budget.
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.core.stats()
    }

    /// The bytes the cache's entries take (keys plus stored values, before fjall's
    /// block compression): what `maxsize` bounds.
    #[must_use]
    pub fn bytes(&self) -> u64 {
        self.core.index.lock().bytes()
    }

    /// Fsyncs everything written so far to stable storage.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] / [`Error::Backend`] when the sync fails.
    pub fn flush(&self) -> Result<(), Error> {
        self.core.store.flush()
    }

    /// Writes the entries held in fjall's in-memory table to a sorted table file now
    /// (fjall does it by itself as the table fills), so the next open replays less
    /// journal. A no-op for the in-memory fallback.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] / [`Error::Backend`] when the table cannot be written.
    pub fn compact(&self) -> Result<(), Error> {
        self.core.store.compact()
    }

    /// Removes every expired entry now (the background sweeper also does this
    /// periodically).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] / [`Error::Backend`] when the disk cannot be written.
    pub fn remove_expired(&self) -> Result<(), Error> {
        self.core.sweep()
    }
}

impl ByteStore for DiskCache {
    fn kind(&self) -> EngineKind {
        EngineKind::Disk
    }

    fn get_bytes(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        match self.core.lookup(key)? {
            Lookup::Found(entry) => {
                self.core.stats.hit();
                Ok(Some(entry.payload().to_vec()))
            }
            Lookup::Missing => {
                self.core.stats.miss();
                Ok(None)
            }
        }
    }

    fn set_bytes(&self, key: &[u8], payload: &[u8]) -> Result<(), Error> {
        let header = Header::new(Flags::NONE, self.ttl);
        let mut envelope = Vec::with_capacity(HEADER_LEN + payload.len());
        header.write_to(&mut envelope);
        envelope.extend_from_slice(payload);
        self.core
            .store(key, envelope, header.expires_at.unwrap_or(0), self.durable)
    }

    fn delete_bytes(&self, key: &[u8]) -> Result<bool, Error> {
        self.core.delete(key, self.durable)
    }

    fn clear(&self) -> Result<(), Error> {
        DiskCache::clear(self)
    }

    fn stats(&self) -> Stats {
        DiskCache::stats(self)
    }

    fn record_error(&self, error: &Error) {
        self.core.stats.error(&self.core.name, error);
    }

    fn flush(&self) -> Result<(), Error> {
        DiskCache::flush(self)
    }
}

impl ManagedCache for DiskCache {
    fn name(&self) -> &str {
        DiskCache::name(self)
    }

    fn stats(&self) -> Stats {
        DiskCache::stats(self)
    }

    fn clear(&self) -> Result<(), Error> {
        DiskCache::clear(self)
    }
}

fn folder_path(config: &CacheConfig, options: &DiskOptions) -> Result<PathBuf, Error> {
    let folder = match config.folder() {
        Some(folder) => folder.to_path_buf(),
        None => PathBuf::from(folder_from_name(config.name().unwrap_or("twat_cache_disk"))),
    };
    match &options.root {
        Some(root) => {
            validate_folder(&folder)?;
            Ok(root.join(folder))
        }
        None => resolve_folder(&folder),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_send_sync_and_object_safe() {
        fn assert_send_sync<T: Send + Sync + std::fmt::Debug>() {}
        assert_send_sync::<DiskCache>();
        let root = tempfile::tempdir().unwrap();
        let config = CacheConfig::builder().name("objects").build().unwrap();
        let options = DiskOptions {
            root: Some(root.path().to_path_buf()),
            ..DiskOptions::default()
        };
        let cache = Arc::new(DiskCache::open_with(&config, &options).unwrap());
        let bytes: Arc<dyn ByteStore> = cache.clone();
        let managed: Arc<dyn ManagedCache> = cache;
        assert_eq!(bytes.kind(), EngineKind::Disk);
        assert_eq!(managed.name(), "objects");
    }
}
