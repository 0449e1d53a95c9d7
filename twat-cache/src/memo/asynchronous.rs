//! `#[acache]` (and `#[ucache]` on an `async fn`): awaited results in an
//! [`AsyncCache`](twat_cache_async::AsyncCache), one computation per key however many
//! callers await it.
//!
//! Without the `async` feature, `#[ucache]` on an `async fn` falls back to the memory
//! engine: hits are served the same way, but concurrent misses of one key each run the
//! body (no single-flight across awaits); the fallback is announced once by `tracing`.

use std::future::Future;
use std::sync::Arc;

use twat_cache_core::{CacheConfig, ConfigError, Error, KeyBuf};
use twat_cache_memory::CacheOptions;

use super::{TypedEntry, memo_cell, observe, resolve_config};

#[cfg(feature = "async")]
type Engine<V> = twat_cache_async::AsyncCache<KeyBuf, V>;
#[cfg(not(feature = "async"))]
type Engine<V> = twat_cache_memory::MemoryCache<KeyBuf, V>;

memo_cell!(
    /// The cache of one memoized `async fn`, as a `static` in its wrapper.
    AsyncMemo,
    Arc<TypedEntry<Engine<V>>>,
    weighed
);

impl<V: Clone + Send + Sync + 'static> AsyncMemo<V> {
    fn entry(
        &self,
        make: impl FnOnce() -> Result<CacheConfig, ConfigError>,
    ) -> &TypedEntry<Engine<V>> {
        self.cell.get_or_init(|| {
            let config = resolve_config(make, "twat_cache::acache");
            let name = config.name().unwrap_or("twat_cache::acache").to_owned();
            #[cfg(not(feature = "async"))]
            tracing::warn!(
                cache = %name,
                "twat-cache: the async engine is not compiled in (feature `async`), caching in memory without single-flight"
            );
            let options = match self.weigher {
                Some(weigher) => CacheOptions::new().weigher(weigher),
                None => CacheOptions::new(),
            };
            let cache = Engine::with_options(&config, options);
            TypedEntry::register(name, cache)
        })
    }

    /// One call of an `async fn` whose whole output is cached.
    pub async fn call(
        &self,
        make: impl FnOnce() -> Result<CacheConfig, ConfigError>,
        key: Option<Result<KeyBuf, Error>>,
        run: impl Future<Output = V>,
    ) -> V {
        let Some(key) = key else { return run.await };
        let entry = self.entry(make);
        match key {
            #[cfg(feature = "async")]
            Ok(key) => {
                let run = observe::miss_async(&entry.name, run);
                entry.cache.get_or_insert_with(key, run).await
            }
            #[cfg(not(feature = "async"))]
            Ok(key) => {
                if let Some(value) = entry.cache.get(&key) {
                    return value;
                }
                let value = observe::miss_async(&entry.name, run).await;
                entry.cache.insert(key, value.clone());
                value
            }
            Err(err) => {
                entry.error(&err);
                run.await
            }
        }
    }

    /// One call of an `async fn` returning `Result` whose error type is not `Clone`:
    /// `Ok` cached, `Err` returned and not cached. Concurrent misses of one key each run
    /// the body (the engine's single-flight shares errors, which needs `E: Clone`).
    pub async fn try_call_unshared<E>(
        &self,
        make: impl FnOnce() -> Result<CacheConfig, ConfigError>,
        key: Option<Result<KeyBuf, Error>>,
        run: impl Future<Output = Result<V, E>>,
    ) -> Result<V, E> {
        let Some(key) = key else { return run.await };
        let entry = self.entry(make);
        match key {
            Ok(key) => {
                if let Some(value) = entry.cache.get(&key) {
                    return Ok(value);
                }
                let value = observe::miss_async(&entry.name, run).await?;
                entry.cache.insert(key, value.clone());
                Ok(value)
            }
            Err(err) => {
                entry.error(&err);
                run.await
            }
        }
    }

    /// One call of an `async fn` returning `Result` with a `Clone` error: `Ok` cached;
    /// an `Err` is returned to the caller that ran the body and to every caller waiting on
    /// that computation, and not cached.
    pub async fn try_call_shared<E: Clone + Send + 'static>(
        &self,
        make: impl FnOnce() -> Result<CacheConfig, ConfigError>,
        key: Option<Result<KeyBuf, Error>>,
        run: impl Future<Output = Result<V, E>>,
    ) -> Result<V, E> {
        #[cfg(feature = "async")]
        {
            let Some(key) = key else { return run.await };
            let entry = self.entry(make);
            match key {
                Ok(key) => {
                    let run = observe::miss_async(&entry.name, run);
                    entry.cache.try_get_or_insert_with(key, run).await
                }
                Err(err) => {
                    entry.error(&err);
                    run.await
                }
            }
        }
        #[cfg(not(feature = "async"))]
        {
            self.try_call_unshared(make, key, run).await
        }
    }
}

/// Picks, at compile time, how a memoized `async fn` returning `Result<V, E>` shares its
/// errors: generated code calls `(&TryFlight::new(&CACHE)).try_call(..)`, and method
/// resolution takes [`SharedErrors`] (implemented on `&TryFlight`) when `E: Clone`, else
/// falls back to [`OwnErrors`] (on `TryFlight`). This is "autoref specialization": it
/// works because the wrapper names the concrete `E`.
pub struct TryFlight<'a, V, E> {
    memo: &'a AsyncMemo<V>,
    _error: std::marker::PhantomData<fn() -> E>,
}

impl<V, E> std::fmt::Debug for TryFlight<'_, V, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TryFlight").finish_non_exhaustive()
    }
}

impl<'a, V, E> TryFlight<'a, V, E> {
    /// Wraps the function's cache.
    #[must_use]
    pub const fn new(memo: &'a AsyncMemo<V>) -> Self {
        Self {
            memo,
            _error: std::marker::PhantomData,
        }
    }
}

/// The `E: Clone` choice of [`TryFlight`]: single-flight shares the error.
pub trait SharedErrors<V, E> {
    /// Runs one call.
    fn try_call(
        &self,
        make: impl FnOnce() -> Result<CacheConfig, ConfigError>,
        key: Option<Result<KeyBuf, Error>>,
        run: impl Future<Output = Result<V, E>>,
    ) -> impl Future<Output = Result<V, E>>;
}

impl<V: Clone + Send + Sync + 'static, E: Clone + Send + 'static> SharedErrors<V, E>
    for &TryFlight<'_, V, E>
{
    fn try_call(
        &self,
        make: impl FnOnce() -> Result<CacheConfig, ConfigError>,
        key: Option<Result<KeyBuf, Error>>,
        run: impl Future<Output = Result<V, E>>,
    ) -> impl Future<Output = Result<V, E>> {
        self.memo.try_call_shared(make, key, run)
    }
}

/// The fallback choice of [`TryFlight`]: errors stay with the caller that ran the body.
pub trait OwnErrors<V, E> {
    /// Runs one call.
    fn try_call(
        &self,
        make: impl FnOnce() -> Result<CacheConfig, ConfigError>,
        key: Option<Result<KeyBuf, Error>>,
        run: impl Future<Output = Result<V, E>>,
    ) -> impl Future<Output = Result<V, E>>;
}

impl<V: Clone + Send + Sync + 'static, E> OwnErrors<V, E> for TryFlight<'_, V, E> {
    fn try_call(
        &self,
        make: impl FnOnce() -> Result<CacheConfig, ConfigError>,
        key: Option<Result<KeyBuf, Error>>,
        run: impl Future<Output = Result<V, E>>,
    ) -> impl Future<Output = Result<V, E>> {
        self.memo.try_call_unshared(make, key, run)
    }
}
