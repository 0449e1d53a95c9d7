//! [`Engine`]: the engine behind every [`DiskCache`](crate::DiskCache) handle — a memory
//! front and an index over one fjall keyspace.
//!
//! One engine serves one cache name in one folder; every handle of this process that opens
//! that name there shares it (through [`Folder::tenant`]). The handle adds what differs per
//! handle — key encoding, `ttl`, `durable` — and talks to the engine in key bytes and
//! sealed envelopes.
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

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use fjall::Slice;
use parking_lot::Mutex;
use twat_cache_core::envelope::{self, Flags, unix_millis_now};
use twat_cache_core::{DecodeError, Error, Stats, StatsCounter};

use crate::folder::Folder;
use crate::front::{Front, FrontEntry};
use crate::index::{Index, Meta};
use crate::store::{Store, check_key, check_value, is_storable_key};
use crate::stripes::Stripes;
use crate::sweeper::{self, SweepSchedule, Sweepable};

/// The shared state of one cache (one keyspace in one folder), shared by every
/// [`DiskCache`](crate::DiskCache) handle of this process that opens the same name in the
/// same folder.
pub(crate) struct Engine {
    name: String,
    folder: Arc<Folder>,
    store: Store,
    index: Mutex<Index>,
    front: Front,
    stripes: Stripes,
    stats: StatsCounter,
    epoch: AtomicU64,
    maxsize: Option<u64>,
    evicting: Mutex<()>,
    sweeps: SweepSchedule,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("name", &self.name)
            .field("folder", &self.folder)
            .field("store", &self.store)
            .field("front", &self.front)
            .field("maxsize", &self.maxsize)
            .finish_non_exhaustive()
    }
}

/// What a lookup found: a live entry, or why there is none.
pub(crate) enum Lookup {
    /// A live entry: its envelope, header already checked.
    Found(Arc<FrontEntry>),
    /// No live entry under the key.
    Missing,
}

impl Engine {
    /// Opens the engine of the cache `name` over `store`: builds the index from one scan
    /// (warming the memory front of `front_bytes` on the way) and evicts at once when the
    /// keyspace already holds more than `maxsize` bytes.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] / [`Error::Backend`] when the keyspace cannot be read or cleaned.
    pub(crate) fn open(
        name: &str,
        folder: Arc<Folder>,
        store: Store,
        front_bytes: u64,
        maxsize: Option<u64>,
    ) -> Result<Self, Error> {
        let front_bytes = if store.is_memory() { 0 } else { front_bytes };
        let engine = Self {
            name: name.to_owned(),
            folder,
            store,
            index: Mutex::new(Index::default()),
            front: Front::new(front_bytes),
            stripes: Stripes::new(),
            stats: StatsCounter::new(),
            epoch: AtomicU64::new(1),
            maxsize,
            evicting: Mutex::new(()),
            sweeps: SweepSchedule::default(),
        };
        engine.load_index()?;
        // Opened with a smaller budget than the folder holds: shrink now, not on the next
        // store.
        if engine
            .maxsize
            .is_some_and(|maxsize| engine.index.lock().bytes() > maxsize)
        {
            engine.evict()?;
        }
        Ok(engine)
    }

    /// The cache name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The folder holding the cache.
    pub(crate) fn folder(&self) -> &Folder {
        &self.folder
    }

    /// Counts a hit.
    pub(crate) fn record_hit(&self) {
        self.stats.hit();
    }

    /// Counts a miss.
    pub(crate) fn record_miss(&self) {
        self.stats.miss();
    }

    /// Counts `error` against this cache (warned once per cause).
    pub(crate) fn record_error(&self, error: &Error) {
        self.stats.error(&self.name, error);
    }

    /// Has the background sweeper visit this cache when its entries can expire: every
    /// [`sweeper::interval_for`]`(ttl)` for a handle with a `ttl`, every 30 s when entries
    /// written earlier with a TTL are in the index. The shortest interval asked for wins.
    pub(crate) fn schedule_sweeps(self: &Arc<Self>, ttl: Option<Duration>) {
        if let Some(ttl) = ttl {
            self.sweeps.request(sweeper::interval_for(ttl));
        } else if self.index.lock().has_expiring() {
            self.sweeps.request(Duration::from_secs(30));
        }
        if self.sweeps.is_active() {
            sweeper::watch(self);
        }
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
                &Error::Decode(DecodeError::payload_message(format_args!(
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

    /// Finds the live entry under `key` (no statistics counted).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] / [`Error::Backend`] when the disk cannot be read, or an expired or
    /// garbled entry cannot be removed.
    #[inline]
    pub(crate) fn lookup(&self, key: &[u8]) -> Result<Lookup, Error> {
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
        // Engine I/O spans are at trace level: free unless a subscriber enables it (a
        // hit from the memory front, above, has none).
        let _span = tracing::trace_span!("twat_cache.disk.read", cache = self.name()).entered();
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
        let _stripe = self.stripes.lock(key);
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
        let _stripe = self.stripes.lock(key);
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

    /// Removes the entry under `key` everywhere (fsynced first when `durable`); `true` if
    /// there was one.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] / [`Error::Backend`] when the disk cannot be written.
    pub(crate) fn remove(&self, key: &[u8], durable: bool) -> Result<bool, Error> {
        if !is_storable_key(key) {
            return Ok(false);
        }
        let _stripe = self.stripes.lock(key);
        let existed = self.index.lock().get(key).is_some();
        if existed {
            self.store.remove_many(&[Slice::from(key)], durable)?;
            self.index.lock().remove(key);
        }
        self.front.remove(key);
        Ok(existed)
    }

    /// Stores a sealed envelope under `key` (expiring at `expires_at` Unix milliseconds,
    /// `0` for never; fsynced first when `durable`), then evicts when over budget.
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] for a key or envelope fjall cannot hold, [`Error::Io`] /
    /// [`Error::Backend`] when the disk cannot be written.
    pub(crate) fn store(
        &self,
        key: &[u8],
        envelope: Vec<u8>,
        expires_at: u64,
        durable: bool,
    ) -> Result<(), Error> {
        let _span = tracing::trace_span!("twat_cache.disk.write", cache = self.name()).entered();
        check_key(key)?;
        check_value(&envelope)?;
        let size = u64::try_from(key.len().saturating_add(envelope.len())).unwrap_or(u64::MAX);
        if self.maxsize.is_some_and(|maxsize| size > maxsize) {
            // Too large to ever fit: storing it would evict everything else first.
            self.remove(key, durable)?;
            return Ok(());
        }
        let key = Slice::from(key);
        let value = Slice::from(envelope);
        let epoch = self.epoch.fetch_add(1, Ordering::Relaxed).saturating_add(1);
        let over_budget = {
            let _stripe = self.stripes.lock(&key);
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
        let _stripes = self.stripes.lock_all();
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
    ///
    /// # Errors
    ///
    /// [`Error::Io`] / [`Error::Backend`] when the disk cannot be written.
    pub(crate) fn sweep(&self) -> Result<(), Error> {
        let _span = tracing::trace_span!("twat_cache.disk.sweep", cache = self.name()).entered();
        let now = unix_millis_now();
        if self.index.lock().expired(now).is_empty() {
            return Ok(());
        }
        {
            let _stripes = self.stripes.lock_all();
            let expired = self.index.lock().expired(now);
            self.remove_all_locked(&expired)?;
        }
        self.tighten_folder();
        Ok(())
    }

    /// Removes every entry (fsynced first when `durable`) and resets the statistics.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] / [`Error::Backend`] when the disk cannot be written.
    pub(crate) fn clear(&self, durable: bool) -> Result<(), Error> {
        let _stripes = self.stripes.lock_all();
        self.store.clear(durable)?;
        self.index.lock().clear();
        self.front.clear();
        self.stats.reset();
        Ok(())
    }

    /// A snapshot of the statistics: `size` is the number of entries, `maxsize` the byte
    /// budget.
    pub(crate) fn stats(&self) -> Stats {
        let (size, bytes) = {
            let index = self.index.lock();
            (
                u64::try_from(index.len()).unwrap_or(u64::MAX),
                index.bytes(),
            )
        };
        self.stats.snapshot_weighed(size, bytes, self.maxsize)
    }

    /// The bytes the entries take (keys plus stored values): what `maxsize` bounds.
    pub(crate) fn bytes(&self) -> u64 {
        self.index.lock().bytes()
    }

    /// Fsyncs everything written so far.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] / [`Error::Backend`] when the sync fails.
    pub(crate) fn flush(&self) -> Result<(), Error> {
        self.store.flush()?;
        self.tighten_folder();
        Ok(())
    }

    /// Writes fjall's in-memory table to a table file now (a no-op in memory).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] / [`Error::Backend`] when the table cannot be written.
    pub(crate) fn compact(&self) -> Result<(), Error> {
        self.store.compact()?;
        self.tighten_folder();
        Ok(())
    }

    /// Makes fjall's files owner-only again in a `secure` folder. A failure (files owned
    /// by another user, a read-only folder) is counted and warned about, not returned:
    /// it must not turn a working cache into a failing one.
    pub(crate) fn tighten_folder(&self) {
        if let Err(err) = self.folder.tighten() {
            self.stats.error(&self.name, &err);
        }
    }
}

impl Sweepable for Engine {
    fn sweep_interval(&self) -> Duration {
        self.sweeps.interval()
    }

    fn sweep_if_due(&self) {
        if self.sweeps.start_if_due(unix_millis_now())
            && let Err(err) = self.sweep()
        {
            self.stats.error(&self.name, &err);
        }
    }
}

/// What an entry counts against `maxsize`: its key and stored bytes.
fn entry_size(key: &[u8], value: &[u8]) -> u64 {
    u64::try_from(key.len().saturating_add(value.len())).unwrap_or(u64::MAX)
}
