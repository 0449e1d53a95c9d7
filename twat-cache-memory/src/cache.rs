//! [`MemoryCache`]: shards of [`Store`]s behind per-thread-striped read-write locks, or
//! mini-moka for TinyLFU, with single-flight on top.
//!
//! A hit takes only its thread's stripe of the shard's read lock (see `striped.rs`), so
//! hits from several threads write no cache line in common. A writer takes every stripe,
//! so single-flight bookkeeping sits under a separate small mutex per shard and a miss
//! takes the write lock once, to store its value.

use std::convert::Infallible;
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use twat_cache_core::{CacheConfig, Error, ManagedCache, Policy, Stats, TypedCache};

use crate::counter::Counters;
use crate::flight::{Flight, Flights, Join};
use crate::store::{Found, Full, Kind, Meta, Plain, SharedLen, Store};
use crate::striped::{StripedReadGuard, StripedRwLock, StripedWriteGuard};
use crate::tiny::Tiny;

/// Caches with at most this many entries live in one shard, so their eviction order is
/// exactly the policy's.
pub const EXACT_ORDER_MAX: u64 = 1024;

/// One shard on its own cache lines, so two threads working on different shards never
/// write to the same line.
#[repr(align(128))]
struct Shard<K, V, M> {
    store: StripedRwLock<Store<K, V, M>>,
    /// Computations running for keys of this shard.
    flights: Mutex<Flights<K, V>>,
    /// Values stored so far, bumped under the write lock by every store. A miss reads it
    /// under its read lock; if it has not moved when the miss registers its flight, no
    /// value arrived in between and the store need not be searched again.
    stores: AtomicU64,
}

impl<K, V, M> Shard<K, V, M> {
    /// This thread's stripe of the read lock.
    #[inline]
    fn read(&self) -> StripedReadGuard<'_, Store<K, V, M>> {
        self.store.read()
    }

    /// The write lock (every stripe).
    #[inline]
    fn write(&self) -> StripedWriteGuard<'_, Store<K, V, M>> {
        self.store.write()
    }

    /// Stores a value, counting it in `stores` while the write lock is held.
    fn store_value(&self, hash: u64, key: K, value: V)
    where
        K: Hash + Eq,
        V: Clone,
        M: Meta,
    {
        let mut store = self.write();
        store.insert(hash, key, value);
        self.stores.fetch_add(1, Ordering::Relaxed);
    }
}

/// The shards of a native-policy cache, whose entries carry `M`.
struct Sharded<K, V, M> {
    shards: Box<[Shard<K, V, M>]>,
    mask: usize,
    /// Hits and misses of a sharded cache, counted per thread so that lookups write
    /// nothing shared (exact: summed by `stats`). An exact (one-shard) cache counts in its
    /// store instead.
    counters: Option<Counters>,
}

impl<K, V, M> Sharded<K, V, M>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    M: Meta,
{
    fn new(
        kind: Kind,
        capacity: Option<usize>,
        ttl: Option<Duration>,
        hasher: &foldhash::fast::RandomState,
    ) -> Self {
        let count = shard_count(kind, capacity);
        let shared_len = (count > 1).then(|| Arc::new(SharedLen::default()));
        let shards = (0..count)
            .map(|index| Shard {
                store: StripedRwLock::new(Store::new(
                    kind,
                    capacity,
                    shared_len.clone(),
                    ttl,
                    hasher.hash_one(index),
                )),
                flights: Mutex::new(Flights::new()),
                stores: AtomicU64::new(0),
            })
            .collect();
        Self {
            shards,
            mask: count - 1,
            counters: (count > 1).then(Counters::new),
        }
    }

    #[inline]
    fn shard(&self, hash: u64) -> Option<&Shard<K, V, M>> {
        #[allow(
            clippy::cast_possible_truncation,
            reason = "the shard index only needs the low bits of the hash's upper half"
        )]
        let index = (hash >> 32) as usize & self.mask;
        self.shards.get(index)
    }

    /// The hit path: inlined into `get` and `get_or_insert_with`, whose misses go out of
    /// line. A miss returns the shard's store count as the lookup saw it (for
    /// `join_or_lead`).
    #[inline(always)]
    fn lookup(&self, hash: u64, key: &K) -> Result<V, u64> {
        let Some(shard) = self.shard(hash) else {
            return Err(u64::MAX);
        };
        let store = shard.read();
        match store.get(hash, key) {
            Found::Hit(value) => {
                drop(store);
                if let Some(counters) = &self.counters {
                    counters.add_hit();
                }
                Ok(value)
            }
            Found::Missing => {
                let seen = shard.stores.load(Ordering::Relaxed);
                self.count_miss(store);
                Err(seen)
            }
            Found::Expired => {
                let seen = shard.stores.load(Ordering::Relaxed);
                self.count_miss(store);
                shard.write().remove_if_expired(hash, key);
                Err(seen)
            }
        }
    }

    /// Counts a miss (and releases the read lock): per thread when sharded, else in the
    /// (single) store.
    #[inline]
    fn count_miss(&self, store: StripedReadGuard<'_, Store<K, V, M>>) {
        match &self.counters {
            Some(counters) => {
                drop(store);
                counters.add_miss();
            }
            None => store.count_miss(),
        }
    }

    fn insert(&self, hash: u64, key: K, value: V) {
        if let Some(shard) = self.shard(hash) {
            shard.store_value(hash, key, value);
        }
    }

    fn remove(&self, hash: u64, key: &K) -> bool {
        self.shard(hash)
            .is_some_and(|shard| shard.write().remove(hash, key))
    }

    fn clear(&self) {
        for shard in &self.shards {
            shard.write().clear();
        }
        if let Some(counters) = &self.counters {
            counters.reset();
        }
    }

    fn len(&self) -> usize {
        self.shards.iter().map(|shard| shard.read().len()).sum()
    }

    fn add_counters(&self, stats: &mut Stats) {
        if let Some(counters) = &self.counters {
            stats.hits += counters.hits();
            stats.misses += counters.misses();
        }
        for shard in &self.shards {
            let store = shard.read();
            let (hits, misses, inserts, evictions) = store.counters();
            stats.hits += hits;
            stats.misses += misses;
            stats.inserts += inserts;
            stats.evictions += evictions;
            stats.size += store.len() as u64;
        }
    }

    /// After a miss that saw `seen` stores: the value (it arrived meanwhile), the flight to
    /// wait on, or the ticket to lead with.
    fn join_or_lead(&self, hash: u64, key: &K, seen: u64) -> Join<V> {
        let Some(shard) = self.shard(hash) else {
            return Join::Lead(u64::MAX);
        };
        // Under the flights lock, look again — unless nothing was stored since the miss.
        // A leader stores its value (bumping `stores`) before it ends its flight under
        // this lock, so a caller that finds no flight either sees `stores` moved and finds
        // the value, or leads: no finished computation is run twice.
        let mut flights = shard.flights.lock();
        if shard.stores.load(Ordering::Relaxed) != seen
            && let Some(value) = shard.read().peek(hash, key)
        {
            return Join::Found(value);
        }
        flights.join_or_lead(hash, key)
    }

    fn complete(&self, hash: u64, key: K, ticket: u64, value: V) -> Option<Arc<Flight<V>>> {
        let shard = self.shard(hash)?;
        shard.store_value(hash, key, value);
        shard.flights.lock().finish(ticket)
    }

    fn abandon(&self, hash: u64, ticket: u64) -> Option<Arc<Flight<V>>> {
        self.shard(hash)?.flights.lock().finish(ticket)
    }
}

enum Backend<K, V> {
    /// LRU, FIFO, RR, unbounded without TTL: entries are key, value and stamp only.
    Plain(Sharded<K, V, Plain>),
    /// LFU, or any native policy with a TTL: entries also carry frequency and expiry.
    Full(Sharded<K, V, Full>),
    Tiny(Tiny<K, V>),
}

/// Runs `$body` with `$sharded` bound to whichever sharded backend `$backend` is, or
/// `$tiny` for TinyLFU.
macro_rules! dispatch {
    ($backend:expr, $sharded:ident => $body:expr, $tiny:ident => $tiny_body:expr) => {
        match $backend {
            Backend::Plain($sharded) => $body,
            Backend::Full($sharded) => $body,
            Backend::Tiny($tiny) => $tiny_body,
        }
    };
}

/// A thread-safe in-memory cache with a bounded size, an eviction policy, an optional
/// TTL, exact statistics and single-flight [`get_or_insert_with`](Self::get_or_insert_with).
///
/// Values are kept as typed Rust values; every read hands out a clone (wrap large values
/// in an `Arc` to make that cheap).
///
/// ```
/// use twat_cache_core::{CacheConfig, Policy};
/// use twat_cache_memory::MemoryCache;
///
/// let config = CacheConfig::builder().name("squares").maxsize(2).policy(Policy::Lru).build()?;
/// let cache: MemoryCache<u64, u64> = MemoryCache::new(&config);
/// assert_eq!(cache.get_or_insert_with(3, || 9), 9); // miss: computed
/// assert_eq!(cache.get_or_insert_with(3, || unreachable!()), 9); // hit
/// cache.insert(4, 16);
/// cache.get(&3); // 3 is now more recent than 4
/// cache.insert(5, 25); // full: evicts 4, the least recently used
/// assert_eq!(cache.get(&4), None);
/// let stats = cache.stats();
/// assert_eq!((stats.hits, stats.misses, stats.evictions, stats.size), (2, 2, 1, 2));
/// # Ok::<(), twat_cache_core::ConfigError>(())
/// ```
pub struct MemoryCache<K, V> {
    name: String,
    policy: Policy,
    maxsize: Option<u64>,
    ttl: Option<Duration>,
    hasher: foldhash::fast::RandomState,
    backend: Backend<K, V>,
}

impl<K, V> fmt::Debug for MemoryCache<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shards = dispatch!(&self.backend, sharded => sharded.shards.len(), _tiny => 1);
        f.debug_struct("MemoryCache")
            .field("name", &self.name)
            .field("policy", &self.policy)
            .field("maxsize", &self.maxsize)
            .field("ttl", &self.ttl)
            .field("shards", &shards)
            .finish_non_exhaustive()
    }
}

/// How many shards a cache gets: one when the order must be exact, else about eight per
/// core (a power of two), with at least 256 entries per shard.
fn shard_count(kind: Kind, capacity: Option<usize>) -> usize {
    let cores = std::thread::available_parallelism().map_or(4, NonZeroUsize::get);
    let wanted = cores.saturating_mul(8).next_power_of_two().clamp(4, 128);
    match capacity {
        _ if kind == Kind::Unbounded => wanted,
        None => wanted,
        Some(capacity) if capacity as u64 <= EXACT_ORDER_MAX => 1,
        Some(capacity) => {
            let by_size = (capacity / 256).max(1);
            let by_size = 1_usize << (usize::BITS - 1 - by_size.leading_zeros());
            wanted.min(by_size)
        }
    }
}

/// Runs on drop unless disarmed: the leader's computation panicked or failed, so the
/// flight is abandoned and its waiters retry.
struct AbandonOnDrop<'a, K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    cache: &'a MemoryCache<K, V>,
    hash: u64,
    ticket: u64,
    armed: bool,
}

impl<K, V> Drop for AbandonOnDrop<'_, K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Some(flight) = self.cache.abandon(self.hash, self.ticket) {
            flight.finish(None);
        }
    }
}

impl<K, V> MemoryCache<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// A cache configured by `config`: its name (default `"memory"`), `maxsize` in
    /// entries (none, or [`Policy::Unbounded`], means unbounded), `ttl` and `policy`.
    /// Other fields (folder, compress, …) do not apply to memory and are ignored.
    ///
    /// The cache is not registered anywhere: the facade registers the caches it builds.
    #[must_use]
    pub fn new(config: &CacheConfig) -> Self {
        let name = config.name().unwrap_or("memory").to_owned();
        let policy = config.policy();
        let ttl = config.ttl();
        let hasher = foldhash::fast::RandomState::default();
        let maxsize = if policy == Policy::Unbounded {
            None
        } else {
            config.maxsize()
        };
        let kind = match policy {
            Policy::Lru => Kind::Lru,
            Policy::Lfu => Kind::Lfu,
            Policy::Fifo => Kind::Fifo,
            Policy::Random => Kind::Random,
            Policy::TinyLfu => {
                return Self {
                    name,
                    policy,
                    maxsize,
                    ttl,
                    hasher,
                    backend: Backend::Tiny(Tiny::new(maxsize, ttl)),
                };
            }
            // `Policy` is non-exhaustive: anything new falls back to never evicting.
            _ => Kind::Unbounded,
        };
        let kind = if maxsize.is_none() {
            Kind::Unbounded
        } else {
            kind
        };
        let capacity = maxsize.map(|m| usize::try_from(m).unwrap_or(usize::MAX));
        let backend = if kind == Kind::Lfu || ttl.is_some() {
            Backend::Full(Sharded::new(kind, capacity, ttl, &hasher))
        } else {
            Backend::Plain(Sharded::new(kind, capacity, ttl, &hasher))
        };
        Self {
            name,
            policy,
            maxsize,
            ttl,
            hasher,
            backend,
        }
    }

    /// The name the cache reports (and is registered under by the facade).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The eviction policy in force.
    #[must_use]
    pub const fn policy(&self) -> Policy {
        self.policy
    }

    /// A clone of the live value under `key`, counting a hit or a miss. Expired entries
    /// are never returned (they count as misses and are removed).
    #[inline]
    pub fn get(&self, key: &K) -> Option<V> {
        dispatch!(&self.backend,
            sharded => sharded.lookup(self.hasher.hash_one(key), key).ok(),
            tiny => tiny.get(key))
    }

    /// Stores `value` under `key` (counted as an insert), replacing any previous value.
    /// A new key in a full cache first evicts per the policy (counted as evictions).
    pub fn insert(&self, key: K, value: V) {
        dispatch!(&self.backend,
            sharded => sharded.insert(self.hasher.hash_one(&key), key, value),
            tiny => tiny.insert(key, value));
    }

    /// Removes the entry under `key`; `true` if there was a live one.
    pub fn remove(&self, key: &K) -> bool {
        dispatch!(&self.backend,
            sharded => sharded.remove(self.hasher.hash_one(key), key),
            tiny => tiny.remove(key))
    }

    /// Removes every entry and resets every counter to zero. Computations running at that
    /// moment still hand their results to their callers (and store them).
    pub fn clear(&self) {
        dispatch!(&self.backend, sharded => sharded.clear(), tiny => tiny.clear());
    }

    /// The number of entries held (expired ones not yet removed included).
    #[must_use]
    pub fn len(&self) -> usize {
        dispatch!(&self.backend, sharded => sharded.len(), tiny => tiny.len())
    }

    /// Whether the cache holds no entries.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A snapshot of the counters: exact hits, misses, inserts and evictions (expired
    /// entries removed count as evictions), `errors` (always 0: memory cannot fail),
    /// `size` in entries and the configured `maxsize` (`None` when unbounded).
    #[must_use]
    pub fn stats(&self) -> Stats {
        let mut stats = Stats {
            maxsize: self.maxsize,
            ..Stats::default()
        };
        dispatch!(&self.backend,
        sharded => sharded.add_counters(&mut stats),
        tiny => {
            let (hits, misses, inserts, evictions, size) = tiny.counters();
            stats.hits = hits;
            stats.misses = misses;
            stats.inserts = inserts;
            stats.evictions = evictions;
            stats.size = size;
        });
        stats
    }

    /// The value under `key`, or — on a miss — `f()`, stored and returned. Counts exactly
    /// one hit or one miss per call.
    ///
    /// Single-flight: when several threads miss the same key at once, `f` runs in one of
    /// them and the others block until it is done and share its value. Other keys are
    /// never blocked by a running `f` (no lock is held while it runs). If `f` panics the
    /// panic reaches its caller and the key is not poisoned: a waiting thread takes over
    /// and runs its own `f`, and later calls work normally.
    ///
    /// `f` must not call this cache with the same key (it would wait for itself).
    #[inline]
    pub fn get_or_insert_with<F: FnOnce() -> V>(&self, key: K, f: F) -> V {
        let hash = self.hasher.hash_one(&key);
        let seen = match self.lookup(hash, &key) {
            Ok(value) => return value,
            Err(seen) => seen,
        };
        match self.miss::<Infallible, _>(hash, key, seen, || Ok(f())) {
            Ok(value) => value,
            Err(never) => match never {},
        }
    }

    /// Like [`get_or_insert_with`](Self::get_or_insert_with) for a fallible computation:
    /// `Ok` values are stored, an `Err` is returned to the caller and not cached.
    ///
    /// When the thread computing a key gets `Err`, the threads waiting on that key do not
    /// share the error: each of them retries, one at a time, by running its own `f`.
    ///
    /// # Errors
    ///
    /// Whatever `f` returned, when this call ran `f` and it failed.
    #[inline]
    pub fn try_get_or_insert_with<E, F: FnOnce() -> Result<V, E>>(
        &self,
        key: K,
        f: F,
    ) -> Result<V, E> {
        let hash = self.hasher.hash_one(&key);
        match self.lookup(hash, &key) {
            Ok(value) => Ok(value),
            Err(seen) => self.miss(hash, key, seen, f),
        }
    }

    /// The counted lookup both `get_or_insert_with`s start with: the value, or what
    /// `join_or_lead` needs to know of the miss.
    #[inline(always)]
    fn lookup(&self, hash: u64, key: &K) -> Result<V, u64> {
        dispatch!(&self.backend,
            sharded => sharded.lookup(hash, key),
            tiny => tiny.get(key).ok_or(u64::MAX))
    }

    /// The rest of a lookup that missed: join the key's computation or lead it. Kept out
    /// of line so that the hit path stays a few instructions long.
    #[inline(never)]
    fn miss<E, F: FnOnce() -> Result<V, E>>(
        &self,
        hash: u64,
        key: K,
        seen: u64,
        f: F,
    ) -> Result<V, E> {
        loop {
            match self.join_or_lead(hash, &key, seen) {
                Join::Found(value) => return Ok(value),
                Join::Wait(flight) => {
                    if let Some(value) = flight.wait() {
                        return Ok(value);
                    }
                    // The leader panicked or failed: try again, perhaps as the leader.
                }
                Join::Lead(ticket) => {
                    let mut abandon = AbandonOnDrop {
                        cache: self,
                        hash,
                        ticket,
                        armed: true,
                    };
                    let value = f()?;
                    abandon.armed = false;
                    drop(abandon);
                    // Waiters share a clone; a flight exists only if someone waited.
                    if let Some(flight) = self.complete(hash, key, ticket, value.clone()) {
                        flight.finish(Some(value.clone()));
                    }
                    return Ok(value);
                }
            }
        }
    }

    fn join_or_lead(&self, hash: u64, key: &K, seen: u64) -> Join<V> {
        dispatch!(&self.backend,
            sharded => sharded.join_or_lead(hash, key, seen),
            tiny => tiny.join_or_lead(hash, key))
    }

    /// Stores the leader's value and ends its flight, returning the flight if anyone
    /// waits on it.
    fn complete(&self, hash: u64, key: K, ticket: u64, value: V) -> Option<Arc<Flight<V>>> {
        dispatch!(&self.backend,
            sharded => sharded.complete(hash, key, ticket, value),
            tiny => tiny.complete(key, ticket, value))
    }

    /// Ends the leader's flight without a value, returning the flight if anyone waits.
    fn abandon(&self, hash: u64, ticket: u64) -> Option<Arc<Flight<V>>> {
        dispatch!(&self.backend,
            sharded => sharded.abandon(hash, ticket),
            tiny => tiny.abandon(ticket))
    }
}

impl<K, V> ManagedCache for MemoryCache<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn name(&self) -> &str {
        &self.name
    }

    fn stats(&self) -> Stats {
        Self::stats(self)
    }

    /// Never fails: clearing memory cannot.
    fn clear(&self) -> Result<(), Error> {
        Self::clear(self);
        Ok(())
    }
}

impl<K, V> TypedCache<K, V> for MemoryCache<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn get(&self, key: &K) -> Option<V> {
        Self::get(self, key)
    }

    fn insert(&self, key: K, value: V) {
        Self::insert(self, key, value);
    }

    fn remove(&self, key: &K) -> bool {
        Self::remove(self, key)
    }

    fn clear(&self) {
        Self::clear(self);
    }

    fn stats(&self) -> Stats {
        Self::stats(self)
    }
}
