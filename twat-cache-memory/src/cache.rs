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
use std::time::Duration;

use twat_cache_core::{CacheConfig, Error, ManagedCache, Policy, Stats, TypedCache};
use twat_cache_shard::{CacheOptions, Join, PolicyStore, Seen, Ticket};

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
        Self::with_options(config, CacheOptions::new())
    }

    /// A cache configured by `config` with a weigher, an eviction listener and a
    /// per-entry expiry hook ([`CacheOptions`]). With a weigher, `config`'s `maxsize` is
    /// the most the entries may weigh together (and [`Stats::weight`] what they weigh).
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use twat_cache_core::{CacheConfig, weigh_entry};
    /// use twat_cache_memory::{CacheOptions, MemoryCache, RemovalCause};
    ///
    /// let evicted = Arc::new(Mutex::new(Vec::new()));
    /// let log = Arc::clone(&evicted);
    /// let options = CacheOptions::new()
    ///     .weigher(weigh_entry) // bytes, for types implementing `Weigh`
    ///     .on_evict(move |key: u64, _value: String, cause| log.lock().unwrap().push((key, cause)));
    /// let config = CacheConfig::builder().maxsize(100).build()?; // 100 bytes
    /// let pages: MemoryCache<u64, String> = MemoryCache::with_options(&config, options);
    /// pages.insert(1, "a".repeat(40)); // 8 + 24 + 40 = 72 bytes
    /// pages.insert(2, "b".repeat(10)); // 42 more: over 100, 1 is evicted
    /// assert_eq!(pages.get(&1), None);
    /// assert_eq!(pages.stats().weight, 42);
    /// assert_eq!(*evicted.lock().unwrap(), [(1, RemovalCause::Size)]);
    /// # Ok::<(), twat_cache_core::ConfigError>(())
    /// ```
    #[must_use]
    pub fn with_options(config: &CacheConfig, options: CacheOptions<K, V>) -> Self {
        Self {
            name: config.name().unwrap_or("memory").to_owned(),
            store: PolicyStore::with_options(config, options),
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

    /// Stores `value` under `key` to expire `ttl` from now, whatever the cache's `ttl` or
    /// `expire_after` hook say. Needs a cache whose entries can expire: one built with a
    /// `ttl` or with [`CacheOptions::expire_after`] (`|_, _| None` when only this method
    /// sets lifetimes). In any other the value is not stored (the key's earlier value is
    /// removed) and counts as evicted ([`RemovalCause::Expired`](crate::RemovalCause::Expired)): that is what keeps
    /// expiry off the hit path of caches that do not use it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use twat_cache_core::CacheConfig;
    /// use twat_cache_memory::{CacheOptions, MemoryCache};
    ///
    /// let options = CacheOptions::new().expire_after(|_, _| None);
    /// let tokens: MemoryCache<&str, u64> = MemoryCache::with_options(&CacheConfig::default(), options);
    /// tokens.insert_with_ttl("short", 1, Duration::from_millis(10));
    /// tokens.insert("forever", 2);
    /// std::thread::sleep(Duration::from_millis(30));
    /// assert_eq!(tokens.get(&"short"), None);
    /// assert_eq!(tokens.get(&"forever"), Some(2));
    /// ```
    pub fn insert_with_ttl(&self, key: K, value: V, ttl: Duration) {
        self.store.insert_with_ttl(key, value, ttl);
    }

    /// Keeps only the entries for which `keep(&key, &value)` is `true`; the others are
    /// removed (the listener hears [`RemovalCause::Removed`](crate::RemovalCause::Removed)). Runs shard by shard under
    /// each shard's write lock: `keep` must not use this cache.
    ///
    /// ```
    /// use twat_cache_core::CacheConfig;
    /// use twat_cache_memory::MemoryCache;
    ///
    /// let cache: MemoryCache<String, u32> = MemoryCache::new(&CacheConfig::default());
    /// for (user, score) in [("ann", 3), ("bob", 9), ("cyd", 5)] {
    ///     cache.insert(user.to_owned(), score);
    /// }
    /// cache.retain(|_, score| *score >= 5);
    /// assert_eq!(cache.get(&"ann".to_owned()), None);
    /// // or, said the other way round, with a count
    /// assert_eq!(cache.invalidate_if(|user, _| user.starts_with('b')), 1);
    /// let mut left: Vec<_> = cache.iter().collect();
    /// left.sort();
    /// assert_eq!(left, [("cyd".to_owned(), 5)]);
    /// ```
    pub fn retain(&self, keep: impl FnMut(&K, &V) -> bool) {
        self.store.retain(keep);
    }

    /// Removes the entries for which `remove(&key, &value)` is `true` (moka's
    /// `invalidate_entries_if`, done at once); returns how many it removed. As
    /// [`retain`](Self::retain), `remove` must not use this cache.
    pub fn invalidate_if(&self, remove: impl FnMut(&K, &V) -> bool) -> usize {
        self.store.invalidate_if(remove)
    }

    /// The live entries, as clones taken when this is called. Consistent shard by shard
    /// (each shard is read at one moment under its read lock; caches of at most
    /// [`EXACT_ORDER_MAX`](crate::EXACT_ORDER_MAX) entries are one shard, so one moment):
    /// in a larger cache an entry stored or removed in another shard meanwhile may or may
    /// not appear. Counts no hits and changes no eviction order; in no particular order.
    #[must_use]
    pub fn iter(&self) -> std::vec::IntoIter<(K, V)> {
        self.store.snapshot().into_iter()
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
                    self.store
                        .complete_with(hash, key, ticket, value.clone(), |flight| {
                            flight.finish(Some(value.clone()));
                        });
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
