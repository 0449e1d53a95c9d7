//! [`AsyncCache`]: the policy store of `twat-cache-shard` (the same sharded exact-order
//! stores, TinyLFU and single-flight registry as the memory engine) with async waits on
//! top.
//!
//! All the policy, sharding and locking lives in the store, so this engine honours every
//! [`Policy`](twat_cache_core::Policy) exactly as `twat-cache-memory` does; this
//! front-end only decides how a caller that needs another caller's computation waits: it
//! awaits an `event-listener` flight (see `flight.rs`), and a leader's error can be
//! shared with its waiters.

use std::fmt;
use std::future::Future;
use std::hash::Hash;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use twat_cache_core::{CacheConfig, Error, ManagedCache, Policy, Stats, TypedCache};
use twat_cache_shard::{CacheOptions, Join, PolicyStore, Seen};

use crate::flight::{Flight, LeaderGuard, Outcome, Plain, WaitingGuard};

/// An async memoization cache: `get_or_insert_with(key, future)` runs `future` once per
/// missing key however many callers await that key at the same time, and serves later
/// calls from memory through the memory engine's hit path (one striped read lock, one
/// probe, one clone).
///
/// Eviction follows the configured [`Policy`] exactly as the memory engine's
/// (`twat-cache-memory`; one store serves both): exact LRU, LFU and FIFO while
/// `maxsize <=` [`EXACT_ORDER_MAX`](crate::EXACT_ORDER_MAX), random
/// replacement, TinyLFU, unbounded, and a TTL.
///
/// Runtime-agnostic (no executor inside), `Send + Sync`, and its futures are `Send`
/// whenever the `init` future is. See the [crate docs](crate) for the design.
///
/// ```
/// use twat_cache_async::AsyncCache;
/// use twat_cache_core::{CacheConfig, Policy};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let cache: AsyncCache<u64, String> = AsyncCache::new(&CacheConfig::default());
/// let value = cache.get_or_insert_with(7, async { "seven".to_owned() }).await;
/// assert_eq!(value, "seven");
/// assert_eq!(cache.get(&7).as_deref(), Some("seven"));
///
/// // every policy, as in the memory engine
/// let config = CacheConfig::builder().maxsize(2).policy(Policy::Fifo).build().unwrap();
/// let fifo: AsyncCache<u64, u64> = AsyncCache::new(&config);
/// fifo.insert(1, 1);
/// fifo.insert(2, 2);
/// fifo.get(&1); // FIFO ignores reads
/// fifo.insert(3, 3); // evicts 1, the oldest insertion
/// assert_eq!(fifo.get(&1), None);
/// # });
/// ```
pub struct AsyncCache<K, V> {
    name: Box<str>,
    store: PolicyStore<K, V, Flight<V>>,
    /// Callers currently waiting for another caller's computation.
    waiting: AtomicUsize,
}

impl<K, V> AsyncCache<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// A cache configured by `config`: its name (`"async"` when unnamed), `maxsize` in
    /// entries (none, or [`Policy::Unbounded`], means unbounded), `ttl` and `policy`.
    /// Other fields (folder, compress, …) are ignored: persistence is the facade's job.
    #[must_use]
    pub fn new(config: &CacheConfig) -> Self {
        Self::with_options(config, CacheOptions::new())
    }

    /// A cache configured by `config` with a weigher, an eviction listener and a
    /// per-entry expiry hook ([`CacheOptions`]), as the memory engine's
    /// `MemoryCache::with_options`. With a weigher, `config`'s `maxsize` is the most the
    /// entries may weigh together (and [`Stats::weight`] what they weigh).
    ///
    /// ```
    /// use std::time::Duration;
    /// use twat_cache_async::{AsyncCache, CacheOptions};
    /// use twat_cache_core::CacheConfig;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// // DNS answers live for their own TTL
    /// let options = CacheOptions::new()
    ///     .expire_after(|_name: &String, answer: &(String, u64)| Some(Duration::from_millis(answer.1)));
    /// let dns: AsyncCache<String, (String, u64)> =
    ///     AsyncCache::with_options(&CacheConfig::default(), options);
    /// let short = dns.get_or_insert_with("a.example".into(), async { ("10.0.0.1".into(), 20) }).await;
    /// dns.get_or_insert_with("b.example".into(), async { ("10.0.0.2".into(), 60_000) }).await;
    /// assert_eq!(short.0, "10.0.0.1");
    /// tokio::time::sleep(Duration::from_millis(40)).await;
    /// assert_eq!(dns.get(&"a.example".into()), None); // its 20 ms passed
    /// assert!(dns.get(&"b.example".into()).is_some());
    /// # });
    /// ```
    #[must_use]
    pub fn with_options(config: &CacheConfig, options: CacheOptions<K, V>) -> Self {
        Self {
            name: config.name().unwrap_or("async").into(),
            store: PolicyStore::with_options(config, options),
            waiting: AtomicUsize::new(0),
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

    /// A clone of the live value under `key`, counting a hit or a miss. Never waits for a
    /// computation in progress: a key being computed is a miss. Expired entries are never
    /// returned (they count as misses and are removed).
    #[must_use]
    #[inline]
    pub fn get(&self, key: &K) -> Option<V> {
        self.store.get(key)
    }

    /// Stores `value` under `key` (replacing any entry); a new key in a full cache first
    /// evicts per the policy. A computation in progress for `key` still completes and then
    /// overwrites this value.
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
    /// use twat_cache_async::{CacheOptions, AsyncCache};
    ///
    /// let options = CacheOptions::new().expire_after(|_, _| None);
    /// let tokens: AsyncCache<&str, u64> = AsyncCache::with_options(&CacheConfig::default(), options);
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
    /// use twat_cache_async::AsyncCache;
    ///
    /// let cache: AsyncCache<String, u32> = AsyncCache::new(&CacheConfig::default());
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

    /// Removes every entry. Statistics are kept (the registry's `clear_cache` also resets
    /// them); computations in progress complete and store their values.
    pub fn clear(&self) {
        self.store.clear();
    }

    /// Live entries held (expired entries not yet dropped are not counted).
    #[must_use]
    pub fn len(&self) -> usize {
        self.store.live_len()
    }

    /// Whether no live entry is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A snapshot of the counters: hits and misses (one per `get` or `get_or_insert_with`
    /// call), inserts, evictions (bound and TTL), size (live entries) and bound.
    #[must_use]
    pub fn stats(&self) -> Stats {
        let mut stats = self.store.stats();
        stats.size = u64::try_from(self.len()).unwrap_or(u64::MAX);
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
        self.store.in_flight()
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
        let hash = self.store.hash(&key);
        let seen = match self.store.lookup(hash, &key) {
            Ok(value) => return value,
            Err(seen) => seen,
        };
        // The slow path is boxed so this future stays small (a hit moves it once, and
        // its size is what a hit pays for).
        let Plain(value) =
            Box::pin(self.single_flight(hash, key, seen, async move { Plain(init.await) })).await;
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
        let hash = self.store.hash(&key);
        match self.store.lookup(hash, &key) {
            Ok(value) => Ok(value),
            Err(seen) => Box::pin(self.single_flight(hash, key, seen, init)).await,
        }
    }

    /// The slow path after a counted miss: join the key's flight, or lead one, until a
    /// result is in hand.
    async fn single_flight<O, F>(&self, hash: u64, key: K, seen: Seen, init: F) -> O
    where
        O: Outcome<V>,
        F: Future<Output = O>,
    {
        let init = pin!(init);
        loop {
            match self.store.join_or_lead(hash, &key, seen) {
                Join::Found(value) => return O::from_value(value),
                Join::Lead(ticket) => {
                    // Dropped without `finish` (cancelled, or unwinding from a panic in
                    // `init`), the guard abandons the flight and wakes the waiters.
                    let guard = LeaderGuard::new(&self.store, hash, key, ticket);
                    let outcome = init.await;
                    guard.finish(&outcome);
                    return outcome;
                }
                Join::Wait(flight) => {
                    let _waiting = WaitingGuard::new(&self.waiting);
                    if let Some(outcome) = flight.wait::<O>().await {
                        return outcome;
                    }
                }
            }
        }
    }
}

impl<K, V> fmt::Debug for AsyncCache<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncCache")
            .field("name", &self.name)
            .field("policy", &self.store.policy())
            .field("maxsize", &self.store.maxsize())
            .field("ttl", &self.store.ttl())
            .field("shards", &self.store.shard_count())
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
        self.store.clear();
        self.store.reset_stats();
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
