//! [`MemoryCache`]: the policy store of `twat-cache-shard` (sharded stores of every
//! policy, native W-TinyLFU included, and the single-flight registry) with blocking
//! waits on top.
//!
//! All the policy, sharding and locking lives in the store; this front-end only decides
//! how a thread that needs another thread's computation waits: it blocks on a `Condvar`
//! flight (see `flight.rs`).

use std::convert::Infallible;
use std::fmt;
use std::hash::Hash;

use twat_cache_core::{CacheConfig, Error, ManagedCache, Policy, Stats, TypedCache};
use twat_cache_shard::{Join, PolicyStore, Seen, Ticket};

use crate::flight::Flight;

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
    store: PolicyStore<K, V, Flight<V>>,
}

impl<K, V> fmt::Debug for MemoryCache<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryCache")
            .field("name", &self.name)
            .field("policy", &self.store.policy())
            .field("maxsize", &self.store.maxsize())
            .field("ttl", &self.store.ttl())
            .field("shards", &self.store.shard_count())
            .finish_non_exhaustive()
    }
}

/// Runs on drop unless disarmed: the leader's computation panicked or failed, so the
/// flight is abandoned and its waiters retry.
struct AbandonOnDrop<'a, K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    store: &'a PolicyStore<K, V, Flight<V>>,
    hash: u64,
    ticket: Ticket,
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
        if let Some(flight) = self.store.abandon(self.hash, self.ticket) {
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
        Self {
            name: config.name().unwrap_or("memory").to_owned(),
            store: PolicyStore::new(config),
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
        self.store.policy()
    }

    /// A clone of the live value under `key`, counting a hit or a miss. Expired entries
    /// are never returned (they count as misses and are removed).
    #[inline]
    pub fn get(&self, key: &K) -> Option<V> {
        self.store.get(key)
    }

    /// Stores `value` under `key` (counted as an insert), replacing any previous value.
    /// A new key in a full cache first evicts per the policy (counted as evictions).
    pub fn insert(&self, key: K, value: V) {
        self.store.insert(key, value);
    }

    /// Removes the entry under `key`; `true` if there was a live one.
    pub fn remove(&self, key: &K) -> bool {
        self.store.remove(key)
    }

    /// Removes every entry and resets every counter to zero. Computations running at that
    /// moment still hand their results to their callers (and store them).
    pub fn clear(&self) {
        self.store.clear();
        self.store.reset_stats();
    }

    /// The number of entries held (expired ones not yet removed included).
    #[must_use]
    pub fn len(&self) -> usize {
        self.store.len()
    }

    /// Whether the cache holds no entries.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.store.is_empty()
    }

    /// A snapshot of the counters: exact hits, misses, inserts and evictions (expired
    /// entries removed count as evictions), `errors` (always 0: memory cannot fail),
    /// `size` in entries and the configured `maxsize` (`None` when unbounded).
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.store.stats()
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
        let hash = self.store.hash(&key);
        let seen = match self.store.lookup(hash, &key) {
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
        let hash = self.store.hash(&key);
        match self.store.lookup(hash, &key) {
            Ok(value) => Ok(value),
            Err(seen) => self.miss(hash, key, seen, f),
        }
    }

    /// The rest of a lookup that missed: join the key's computation or lead it. Kept out
    /// of line so that the hit path stays a few instructions long.
    #[inline(never)]
    fn miss<E, F: FnOnce() -> Result<V, E>>(
        &self,
        hash: u64,
        key: K,
        seen: Seen,
        f: F,
    ) -> Result<V, E> {
        loop {
            match self.store.join_or_lead(hash, &key, seen) {
                Join::Found(value) => return Ok(value),
                Join::Wait(flight) => {
                    if let Some(value) = flight.wait() {
                        return Ok(value);
                    }
                    // The leader panicked or failed: try again, perhaps as the leader.
                }
                Join::Lead(ticket) => {
                    let mut abandon = AbandonOnDrop {
                        store: &self.store,
                        hash,
                        ticket,
                        armed: true,
                    };
                    let value = f()?;
                    abandon.armed = false;
                    drop(abandon);
                    // Waiters share a clone; a flight exists only if someone waited.
                    if let Some(flight) = self.store.complete(hash, key, ticket, value.clone()) {
                        flight.finish(Some(value.clone()));
                    }
                    return Ok(value);
                }
            }
        }
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
