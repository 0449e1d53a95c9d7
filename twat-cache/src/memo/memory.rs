//! `#[mcache]` (and in-memory `#[ucache]`): typed values in a [`MemoryCache`].

use std::sync::{Arc, OnceLock};

use twat_cache_core::{CacheConfig, ConfigError, Error, KeyBuf};
use twat_cache_memory::MemoryCache;

use super::{TypedEntry, memo_cell_impls, resolve_config};

/// The cache of one memoized function, as a `static` in its wrapper.
pub struct MemoryMemo<V> {
    cell: OnceLock<Arc<TypedEntry<MemoryCache<KeyBuf, V>>>>,
}

memo_cell_impls!(MemoryMemo);

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
    fn entry(
        &self,
        make: impl FnOnce() -> Result<CacheConfig, ConfigError>,
    ) -> &TypedEntry<MemoryCache<KeyBuf, V>> {
        self.cell.get_or_init(|| {
            let config = resolve_config(make, "twat_cache::mcache");
            let name = config.name().unwrap_or("twat_cache::mcache").to_owned();
            TypedEntry::register(name, MemoryCache::new(&config))
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
                entry.error(&err);
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
                entry.error(&err);
                run()
            }
        }
    }
}
