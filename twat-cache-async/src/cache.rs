//! [`AsyncCache`]: a sharded in-memory map with single-flight async initialisation.

use std::fmt;
use std::future::Future;
use std::hash::{BuildHasher, Hash};
use std::num::NonZeroUsize;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use twat_cache_core::{CacheConfig, Error, ManagedCache, Stats, StatsCounter, TypedCache};

use crate::flight::{Flight, FlightHost, LeaderGuard, Outcome, Plain, WaitingGuard};
use crate::shard::{Lookup, Role, Shard};

/// The hasher behind every shard: foldhash, seeded per cache.
type Hasher = foldhash::fast::RandomState;

/// Shards never hold fewer entries than this (so small caches keep exact LRU order).
const MIN_SHARD_CAPACITY: u64 = 64;

/// An async memoization cache: `get_or_insert_with(key, future)` runs `future` once per
/// missing key however many callers await that key at the same time, and serves later
/// calls from memory with one read lock and one clone.
///
/// Runtime-agnostic (no executor inside), `Send + Sync`, and its futures are `Send`
/// whenever the `init` future is. See the [crate docs](crate) for the design.
///
/// ```
/// use twat_cache_async::AsyncCache;
/// use twat_cache_core::CacheConfig;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let cache: AsyncCache<u64, String> = AsyncCache::new(&CacheConfig::default());
/// let value = cache.get_or_insert_with(7, async { "seven".to_owned() }).await;
/// assert_eq!(value, "seven");
/// assert_eq!(cache.get(&7).as_deref(), Some("seven"));
/// # });
/// ```
pub struct AsyncCache<K, V> {
    name: Box<str>,
    shards: Box<[Shard<K, V>]>,
    /// `shards.len() - 1` (the count is a power of two).
    shard_mask: u64,
    hasher: Hasher,
    ttl: Option<Duration>,
    maxsize: Option<u64>,
    /// Misses, inserts, evictions and errors (hits are counted per shard).
    stats: StatsCounter,
    /// Callers currently waiting for another caller's computation.
    waiting: AtomicUsize,
}

impl<K, V> AsyncCache<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// A cache configured by `config`: its name (`"async"` when unnamed), `maxsize` in
    /// entries (`None`: unbounded) and `ttl`. Other fields (policy, folder, …) are ignored:
    /// eviction is always least-recently-used, and persistence is the facade's job.
    #[must_use]
    pub fn new(config: &CacheConfig) -> Self {
        let maxsize = config.maxsize();
        let count = shard_count(maxsize);
        let shards = (0..count)
            .map(|index| Shard::new(maxsize.map(|max| shard_capacity(max, count, index))))
            .collect();
        Self {
            name: config.name().unwrap_or("async").into(),
            shards,
            shard_mask: u64::try_from(count - 1).unwrap_or(0),
            hasher: Hasher::default(),
            ttl: config.ttl(),
            maxsize,
            stats: StatsCounter::new(),
            waiting: AtomicUsize::new(0),
        }
    }

    /// The name the cache reports (and is registered under by the facade).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A clone of the live value under `key`, counting a hit or a miss. Never waits for a
    /// computation in progress: a key being computed is a miss.
    #[must_use]
    pub fn get(&self, key: &K) -> Option<V> {
        let hash = self.hasher.hash_one(key);
        let shard = self.shard(hash);
        match shard.lookup(hash, key) {
            Lookup::Hit(value) => Some(value),
            Lookup::Absent => {
                self.stats.miss();
                None
            }
            Lookup::Expired => {
                self.stats.miss();
                shard.remove_expired(hash, key, &self.stats);
                None
            }
        }
    }

    /// Stores `value` under `key` (replacing any entry), evicting the least recently used
    /// entries of the key's shard when it is full. A computation in progress for `key`
    /// still completes and then overwrites this value.
    pub fn insert(&self, key: K, value: V) {
        let hash = self.hasher.hash_one(&key);
        self.shard(hash)
            .insert(hash, key, value, self.expires_at(), &self.stats);
    }

    /// Removes the entry under `key`; `true` if there was a live one.
    pub fn remove(&self, key: &K) -> bool {
        let hash = self.hasher.hash_one(key);
        self.shard(hash).remove(hash, key)
    }

    /// Removes every entry. Statistics are kept (the registry's `clear_cache` also resets
    /// them); computations in progress complete and store their values.
    pub fn clear(&self) {
        for shard in &self.shards {
            shard.clear();
        }
    }

    /// Live entries held (expired entries not yet dropped are not counted).
    #[must_use]
    pub fn len(&self) -> usize {
        let has_ttl = self.ttl.is_some();
        self.shards.iter().map(|shard| shard.len(has_ttl)).sum()
    }

    /// Whether no live entry is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A snapshot of the counters: hits and misses (one per `get` or `get_or_insert_with`
    /// call), inserts, evictions (bound and TTL), size and bound.
    #[must_use]
    pub fn stats(&self) -> Stats {
        let size = u64::try_from(self.len()).unwrap_or(u64::MAX);
        let mut stats = self.stats.snapshot(size, self.maxsize);
        stats.hits = self.shards.iter().map(Shard::hits).sum();
        stats
    }

    /// Callers currently awaiting a computation another caller leads (a diagnostic: lets
    /// tests and benchmarks know every waiter has arrived).
    #[must_use]
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Keys currently being computed.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.shards.iter().map(Shard::flights).sum()
    }

    /// The value under `key`, computing it with `init` if it is missing.
    ///
    /// Concurrent callers of one missing key run only the first caller's `init`; the
    /// others wait without polling (their `init` futures are dropped unpolled) and get a
    /// clone of its result. If that leader is dropped or its `init` panics, one waiter
    /// takes over with its own `init` (the panic reaches the leader's caller only). Counts
    /// exactly one hit or one miss per call. A hit neither allocates nor boxes anything
    /// beyond the value's clone.
    pub async fn get_or_insert_with<F: Future<Output = V>>(&self, key: K, init: F) -> V {
        let hash = self.hasher.hash_one(&key);
        if let Lookup::Hit(value) = self.shard(hash).lookup(hash, &key) {
            return value;
        }
        // The slow path is boxed so this future stays small (a hit moves it once, and
        // its size is what a hit pays for); a miss allocates anyway (the flight).
        let Plain(value) =
            Box::pin(self.single_flight(hash, key, async move { Plain(init.await) })).await;
        value
    }

    /// Like [`get_or_insert_with`](Self::get_or_insert_with) for a fallible `init`: `Ok`
    /// values are cached; an `Err` is returned to the leader and to every caller waiting on
    /// that computation with the same error type (hence `E: Clone + Send + 'static`), and
    /// is not cached — the next call computes again. A waiter of a computation that failed
    /// with another error type (or that called `get_or_insert_with`) runs its own `init`.
    ///
    /// # Errors
    ///
    /// The `Err` of the `init` that ran for this key (this caller's, or the leader's it
    /// waited for).
    pub async fn try_get_or_insert_with<E, F>(&self, key: K, init: F) -> Result<V, E>
    where
        E: Clone + Send + 'static,
        F: Future<Output = Result<V, E>>,
    {
        let hash = self.hasher.hash_one(&key);
        if let Lookup::Hit(value) = self.shard(hash).lookup(hash, &key) {
            return Ok(value);
        }
        Box::pin(self.single_flight(hash, key, init)).await
    }

    /// The slow path: join the key's flight, or lead one, until a result is in hand.
    async fn single_flight<O, F>(&self, hash: u64, key: K, init: F) -> O
    where
        O: Outcome<V>,
        F: Future<Output = O>,
    {
        let init = pin!(init);
        let shard = self.shard(hash);
        let mut counted = false;
        loop {
            let role = shard.join_or_lead(hash, &key, !counted, &self.stats);
            if !counted {
                counted = true;
                if !matches!(role, Role::Hit(_)) {
                    self.stats.miss();
                }
            }
            match role {
                Role::Hit(value) => return O::from_value(value),
                Role::Lead(flight) => {
                    // Dropped without `finish` (cancelled, or unwinding from a panic in
                    // `init`), the guard abandons the flight and wakes the waiters.
                    let guard = LeaderGuard::new(self, hash, key, flight);
                    let outcome = init.await;
                    guard.finish(&outcome);
                    return outcome;
                }
                Role::Wait(flight) => {
                    let _waiting = WaitingGuard::new(&self.waiting);
                    if let Some(outcome) = flight.wait::<O>().await {
                        return outcome;
                    }
                }
            }
        }
    }

    #[inline]
    fn shard(&self, hash: u64) -> &Shard<K, V> {
        // Bits 32.. pick the shard: hashbrown uses the low bits for the bucket and the top
        // seven for its tags, so entries of one shard still spread over its table.
        let index = usize::try_from((hash >> 32) & self.shard_mask).unwrap_or(0);
        let last = self.shards.len() - 1;
        &self.shards[index.min(last)]
    }

    fn expires_at(&self) -> Option<Instant> {
        self.ttl.and_then(|ttl| Instant::now().checked_add(ttl))
    }
}

impl<K, V> FlightHost<K, V> for AsyncCache<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn finish(&self, hash: u64, key: K, flight: &Arc<Flight<V>>, value: Option<V>) -> usize {
        let value = value.map(|value| (value, self.expires_at()));
        self.shard(hash)
            .finish_flight(hash, key, flight, value, &self.stats)
    }

    fn unlist(&self, hash: u64, key: &K, flight: &Arc<Flight<V>>) {
        self.shard(hash)
            .finish_flight(hash, key.clone(), flight, None, &self.stats);
    }
}

impl<K, V> fmt::Debug for AsyncCache<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncCache")
            .field("name", &self.name)
            .field("shards", &self.shards.len())
            .field("maxsize", &self.maxsize)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl<K, V> ManagedCache for AsyncCache<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn name(&self) -> &str {
        Self::name(self)
    }

    fn stats(&self) -> Stats {
        Self::stats(self)
    }

    /// Removes every entry and resets the counters. Never fails.
    fn clear(&self) -> Result<(), Error> {
        Self::clear(self);
        self.stats.reset();
        for shard in &self.shards {
            shard.reset_hits();
        }
        Ok(())
    }
}

impl<K, V> TypedCache<K, V> for AsyncCache<K, V>
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

/// A power of two: about four shards per core (at most 64), fewer for small bounds so each
/// shard holds at least [`MIN_SHARD_CAPACITY`] entries.
fn shard_count(maxsize: Option<u64>) -> usize {
    let cores = std::thread::available_parallelism().map_or(4, NonZeroUsize::get);
    let mut count = cores.saturating_mul(4).next_power_of_two().clamp(4, 64);
    if let Some(maxsize) = maxsize {
        while count > 1 && maxsize / u64::try_from(count).unwrap_or(u64::MAX) < MIN_SHARD_CAPACITY {
            count /= 2;
        }
    }
    count
}

/// Shard `index`'s share of `maxsize` (the shares add up to `maxsize`).
fn shard_capacity(maxsize: u64, count: usize, index: usize) -> usize {
    let count = u64::try_from(count).unwrap_or(1).max(1);
    let index = u64::try_from(index).unwrap_or(0);
    let share = maxsize / count + u64::from(index < maxsize % count);
    usize::try_from(share).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_shares_add_up() {
        for maxsize in [1, 63, 64, 127, 128, 1000, 10_000, 1_000_003] {
            let count = shard_count(Some(maxsize));
            assert!(count.is_power_of_two());
            let total: usize = (0..count)
                .map(|index| shard_capacity(maxsize, count, index))
                .sum();
            assert_eq!(total as u64, maxsize);
            if maxsize < 128 {
                assert_eq!(count, 1, "small caches are one shard (exact LRU)");
            }
        }
        assert!(shard_count(None) >= 4);
    }
}
