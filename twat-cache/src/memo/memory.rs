//! `#[mcache]` (and in-memory `#[ucache]`): typed values in a [`MemoryCache`].

use std::sync::{Arc, OnceLock};

use twat_cache_core::{CacheConfig, ConfigError, Error};
use twat_cache_memory::{CacheOptions, MemoryCache};

use super::{TypedEntry, observe, resolve_config};

/// The cache of one memoized function, as a `static` in its wrapper.
pub struct MemoryMemo<K, V> {
    cell: OnceLock<Arc<TypedEntry<MemoryCache<K, V>>>>,
    /// Bounds the cache by total weight (`maxsize = "64 MiB"`, `weigher = f`).
    weigher: Option<fn(&K, &V) -> u32>,
}

impl<K, V> std::fmt::Debug for MemoryMemo<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryMemo")
            .field("initialized", &self.cell.get().is_some())
            .finish()
    }
}

impl<K, V> Default for MemoryMemo<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K, V> MemoryMemo<K, V> {
    /// An empty cell; the cache is built on the first call.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            cell: OnceLock::new(),
            weigher: None,
        }
    }

    /// An empty cell for a cache whose `maxsize` bounds the entries' total weight, each
    /// weighing `weigher(&key, &value)`.
    #[must_use]
    pub const fn weighed(weigher: fn(&K, &V) -> u32) -> Self {
        Self {
            cell: OnceLock::new(),
            weigher: Some(weigher),
        }
    }
}

impl<K, V> MemoryMemo<K, V>
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn entry(
        &self,
        make: impl FnOnce() -> Result<CacheConfig, ConfigError>,
    ) -> &TypedEntry<MemoryCache<K, V>> {
        self.cell.get_or_init(|| {
            let config = resolve_config(make, "twat_cache::mcache");
            let name = config.name().unwrap_or("twat_cache::mcache").to_owned();
            let options = match self.weigher {
                Some(weigher) => CacheOptions::new().weigher(weigher),
                None => CacheOptions::new(),
            };
            TypedEntry::register(name, MemoryCache::with_options(&config, options))
        })
    }

    /// One call of a function whose whole return value is cached. `key` is `None` when
    /// caching is disabled, `Err` when the arguments would not form a key (counted, and
    /// the body runs uncached).
    #[inline]
    pub fn call<KeyError: Into<Error>>(
        &self,
        make: impl FnOnce() -> Result<CacheConfig, ConfigError>,
        key: Option<Result<K, KeyError>>,
        run: impl FnOnce() -> V,
    ) -> V {
        let Some(key) = key else { return run() };
        let entry = self.entry(make);
        match key {
            Ok(key) => entry
                .cache
                .get_or_insert_with(key, || observe::miss(&entry.name, run)),
            Err(err) => {
                entry.error(&err.into());
                run()
            }
        }
    }

    /// One call of a `Result`-returning function: `Ok` values are cached, `Err`s returned
    /// and not cached.
    #[inline]
    pub fn try_call<E, KeyError: Into<Error>>(
        &self,
        make: impl FnOnce() -> Result<CacheConfig, ConfigError>,
        key: Option<Result<K, KeyError>>,
        run: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, E> {
        let Some(key) = key else { return run() };
        let entry = self.entry(make);
        match key {
            Ok(key) => entry
                .cache
                .try_get_or_insert_with(key, || observe::miss(&entry.name, run)),
            Err(err) => {
                entry.error(&err.into());
                run()
            }
        }
    }
}
