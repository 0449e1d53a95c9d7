//! [`CacheOptions`]: what a policy store takes beside its [`CacheConfig`] — a weigher, an
//! eviction listener and a per-entry expiry hook — and [`RemovalCause`], what the listener
//! is told.
//!
//! These are closures, so they cannot live in `CacheConfig` (which is plain data, cloned,
//! compared and written by the macros). Each costs nothing when absent: a store without a
//! weigher counts entries, one without a listener collects no removed entries, one without
//! expiry keeps entries that carry no expiry time, so the hit path of a cache that uses none
//! of them is the hit path it always was (see the crate README for the measurement).
//!
//! [`CacheConfig`]: twat_cache_core::CacheConfig

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Why an entry left the cache, as the eviction listener is told.
///
/// ```
/// use twat_cache_shard::RemovalCause;
///
/// assert!(RemovalCause::Size.was_evicted());
/// assert!(RemovalCause::Expired.was_evicted());
/// assert!(!RemovalCause::Replaced.was_evicted());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RemovalCause {
    /// Evicted to respect the bound (entries or weight), refused by W-TinyLFU's admission,
    /// or never stored because it alone weighs more than the whole bound.
    Size,
    /// Its time to live (the cache's `ttl`, `insert_with_ttl`'s or `expire_after`'s) passed.
    Expired,
    /// A newer value was stored under its key.
    Replaced,
    /// Removed by `remove`, `retain` or `invalidate_if`.
    Removed,
    /// Removed by `clear`.
    Cleared,
}

impl RemovalCause {
    /// Whether the cache dropped the entry on its own (bound or expiry), rather than a
    /// caller replacing, removing or clearing it.
    #[must_use]
    pub const fn was_evicted(self) -> bool {
        matches!(self, Self::Size | Self::Expired)
    }
}

/// The weigher: an entry's weight in the bound's unit.
pub(crate) type Weigher<K, V> = Arc<dyn Fn(&K, &V) -> u32 + Send + Sync>;
/// The eviction listener.
pub(crate) type Listener<K, V> = Arc<dyn Fn(K, V, RemovalCause) + Send + Sync>;
/// The per-entry expiry hook.
pub(crate) type ExpireAfter<K, V> = Arc<dyn Fn(&K, &V) -> Option<Duration> + Send + Sync>;

/// A weigher, an eviction listener and a per-entry expiry hook for a cache, beside its
/// `CacheConfig` (`MemoryCache::with_options`, `AsyncCache::with_options`,
/// [`PolicyStore::with_options`](crate::PolicyStore::with_options)). Each is optional and
/// costs nothing when absent.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use std::time::Duration;
/// use twat_cache_core::CacheConfig;
/// use twat_cache_shard::{CacheOptions, PolicyStore, RemovalCause};
///
/// let removed = Arc::new(Mutex::new(Vec::new()));
/// let log = Arc::clone(&removed);
/// let options = CacheOptions::new()
///     // bounded by bytes: `maxsize` is now a total weight
///     .weigher(|_key: &u64, value: &String| u32::try_from(value.len()).unwrap_or(u32::MAX))
///     // called after the cache's locks are released
///     .on_evict(move |key, _value, cause| log.lock().unwrap().push((key, cause)))
///     // tokens live for what they say, everything else for the cache's ttl (or forever)
///     .expire_after(|key, _value| (*key == 0).then(|| Duration::from_millis(1)));
/// let config = CacheConfig::builder().maxsize(10).build()?;
/// let store: PolicyStore<u64, String, ()> = PolicyStore::with_options(&config, options);
/// store.insert(1, "abcd".into());
/// store.insert(2, "efgh".into());
/// store.insert(3, "ijkl".into()); // 12 bytes > 10: 1, the least recently used, goes
/// assert_eq!(store.get(&1), None);
/// assert_eq!((store.stats().weight, store.stats().maxsize), (8, Some(10)));
/// store.insert(4, "x".repeat(11)); // heavier than the whole bound: not stored
/// assert_eq!(store.get(&4), None);
/// assert_eq!(*removed.lock().unwrap(), [(1, RemovalCause::Size), (4, RemovalCause::Size)]);
/// # Ok::<(), twat_cache_core::ConfigError>(())
/// ```
pub struct CacheOptions<K, V> {
    pub(crate) weigher: Option<Weigher<K, V>>,
    pub(crate) listener: Option<Listener<K, V>>,
    pub(crate) expire_after: Option<ExpireAfter<K, V>>,
}

impl<K, V> CacheOptions<K, V> {
    /// No weigher, no listener, no per-entry expiry: what `new(&config)` builds.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            weigher: None,
            listener: None,
            expire_after: None,
        }
    }

    /// Bounds the cache by total weight: the config's `maxsize` becomes the most the
    /// entries may weigh together, each weighing `weigher(&key, &value)` (computed once,
    /// when the entry is stored, outside any lock). An entry heavier than the whole bound
    /// is not stored (an earlier value under its key is removed): the listener hears of it
    /// as [`RemovalCause::Size`] and it counts as an eviction. Weight 0 is allowed: such
    /// entries take no room and leave when the policy picks them or when they expire.
    /// A weighted cache is one shard whatever its bound, so the bound holds exactly after
    /// every call (hits still take only their thread's stripe of the read lock).
    ///
    /// For types implementing [`Weigh`](twat_cache_core::Weigh), pass
    /// [`weigh_entry`](twat_cache_core::weigh_entry): the bound is then in bytes.
    #[must_use]
    pub fn weigher(mut self, weigher: impl Fn(&K, &V) -> u32 + Send + Sync + 'static) -> Self {
        self.weigher = Some(Arc::new(weigher));
        self
    }

    /// Calls `listener(key, value, cause)` once for every entry that leaves the cache
    /// (evicted, expired, replaced, removed or cleared; see [`RemovalCause`]), on the
    /// thread whose call removed it, after the cache's locks are released — so the
    /// listener may use the cache. It never runs on a hit. A listener that panics
    /// unwinds into that call (the cache stays consistent).
    #[must_use]
    pub fn on_evict(
        mut self,
        listener: impl Fn(K, V, RemovalCause) + Send + Sync + 'static,
    ) -> Self {
        self.listener = Some(Arc::new(listener));
        self
    }

    /// Gives each entry its own time to live: `expire_after(&key, &value)` is asked when
    /// the entry is stored (outside any lock); `Some(ttl)` makes it expire `ttl` later,
    /// `None` leaves it to the cache's `ttl` (or never). Also lets `insert_with_ttl` work
    /// on a cache without a `ttl` (`|_, _| None` enables just that).
    #[must_use]
    pub fn expire_after(
        mut self,
        expire_after: impl Fn(&K, &V) -> Option<Duration> + Send + Sync + 'static,
    ) -> Self {
        self.expire_after = Some(Arc::new(expire_after));
        self
    }

    /// Whether a weigher is set.
    #[must_use]
    pub const fn is_weighted(&self) -> bool {
        self.weigher.is_some()
    }
}

impl<K, V> Default for CacheOptions<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K, V> Clone for CacheOptions<K, V> {
    fn clone(&self) -> Self {
        Self {
            weigher: self.weigher.clone(),
            listener: self.listener.clone(),
            expire_after: self.expire_after.clone(),
        }
    }
}

impl<K, V> fmt::Debug for CacheOptions<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheOptions")
            .field("weigher", &self.weigher.is_some())
            .field("on_evict", &self.listener.is_some())
            .field("expire_after", &self.expire_after.is_some())
            .finish()
    }
}
