//! `#[mcache]` (and in-memory `#[ucache]`): typed values in a [`MemoryCache`].

use std::sync::{Arc, OnceLock};

use twat_cache_core::{CacheConfig, ConfigError, Error, KeyBuf, ManagedCache, Stats, StatsCounter};
use twat_cache_memory::MemoryCache;

use super::resolve_config;

/// The cache of one memoized function, as a `static` in its wrapper.
pub struct MemoryMemo<V> {
    cell: OnceLock<Arc<MemoryEntry<V>>>,
}

/// A memory cache plus the errors absorbed around it (keys that would not encode).
struct MemoryEntry<V> {
    name: String,
    cache: MemoryCache<KeyBuf, V>,
    errors: StatsCounter,
}

impl<V: Clone + Send + Sync + 'static> ManagedCache for MemoryEntry<V> {
    fn name(&self) -> &str {
        &self.name
    }

    fn stats(&self) -> Stats {
        let mut stats = self.cache.stats();
        stats.errors += self.errors.snapshot(0, None).errors;
        stats
    }

    fn clear(&self) -> Result<(), Error> {
        self.cache.clear();
        self.errors.reset();
        Ok(())
    }
}

impl<V> std::fmt::Debug for MemoryMemo<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryMemo")
            .field("initialized", &self.cell.get().is_some())
            .finish()
    }
}

impl<V> Default for MemoryMemo<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V> MemoryMemo<V> {
    /// An empty cell; the cache is built on the first call.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            cell: OnceLock::new(),
        }
    }
}

impl<V: Clone + Send + Sync + 'static> MemoryMemo<V> {
    fn entry(&self, make: impl FnOnce() -> Result<CacheConfig, ConfigError>) -> &MemoryEntry<V> {
        self.cell.get_or_init(|| {
            let config = resolve_config(make, "twat_cache::mcache");
            let entry = Arc::new(MemoryEntry {
                name: config.name().unwrap_or("twat_cache::mcache").to_owned(),
                cache: MemoryCache::new(&config),
                errors: StatsCounter::new(),
            });
            let managed: Arc<dyn ManagedCache> = entry.clone();
            twat_cache_core::registry::register(&managed);
            entry
        })
    }

    /// One call of a function whose whole return value is cached.
    #[inline]
    pub fn call(
        &self,
        make: impl FnOnce() -> Result<CacheConfig, ConfigError>,
        key: Option<Result<KeyBuf, Error>>,
        run: impl FnOnce() -> V,
    ) -> V {
        let Some(key) = key else { return run() };
        let entry = self.entry(make);
        match key {
            Ok(key) => entry.cache.get_or_insert_with(key, run),
            Err(err) => {
                entry.errors.error(&entry.name, &err);
                run()
            }
        }
    }

    /// One call of a `Result`-returning function: `Ok` values are cached, `Err`s returned
    /// and not cached.
    #[inline]
    pub fn try_call<E>(
        &self,
        make: impl FnOnce() -> Result<CacheConfig, ConfigError>,
        key: Option<Result<KeyBuf, Error>>,
        run: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, E> {
        let Some(key) = key else { return run() };
        let entry = self.entry(make);
        match key {
            Ok(key) => entry.cache.try_get_or_insert_with(key, run),
            Err(err) => {
                entry.errors.error(&entry.name, &err);
                run()
            }
        }
    }
}
