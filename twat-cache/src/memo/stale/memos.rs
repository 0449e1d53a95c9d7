//! The four memo types of caches with a `stale` window, as `static`s in the wrappers the
//! macros write: [`StaleMemoryMemo`] (`#[mcache]`, in-memory `#[ucache]`),
//! [`StalePersistentMemo`] (`#[bcache]`, `#[fcache]`, persistent `#[ucache]`),
//! [`StaleAsyncMemo`] (`#[acache]`, async `#[ucache]`) and [`StaleAsyncPersistentMemo`]
//! (`#[acache(folder = …)]`). Each is a cell holding its table, built on the first call;
//! the macros below write their identical parts once.

use std::future::Future;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use twat_cache_core::{CacheConfig, ConfigError, Error, KeyBuf};

use super::super::{infallible_call, infallible_call_async, memo_cell};
use super::sync::{MemoryTable, PersistentTable};
use super::{asynchronous, sync};

/// `call` and `try_call` of a plain function's memo whose `table(make)` is its table.
macro_rules! sync_calls {
    () => {
        infallible_call!();

        /// One call of a `Result`-returning function: `Ok` values are cached, `Err`s
        /// returned (or, refreshing under `stale_if_error`, replaced by the old value) and
        /// not cached.
        pub fn try_call<E>(
            &self,
            make: impl FnOnce() -> Result<CacheConfig, ConfigError>,
            key: Option<Result<KeyBuf, Error>>,
            run: impl FnOnce() -> Result<V, E>,
        ) -> Result<V, E> {
            let Some(key) = key else { return run() };
            sync::call(&**self.table(make), key, run)
        }
    };
}

/// `call` and `try_call` of an `async fn`'s memo whose `table(make)` is its table.
macro_rules! async_calls {
    () => {
        infallible_call_async!();

        /// One call of an `async fn` returning `Result`: `Ok` cached; an `Err` returned
        /// (or, refreshing under `stale_if_error`, replaced by the old value) and not
        /// cached. Tasks that waited on a miss whose body failed each compute in turn, as
        /// for persistent caches.
        pub async fn try_call<E>(
            &self,
            make: impl FnOnce() -> Result<CacheConfig, ConfigError>,
            key: Option<Result<KeyBuf, Error>>,
            run: impl Future<Output = Result<V, E>>,
        ) -> Result<V, E> {
            let Some(key) = key else { return run.await };
            asynchronous::call(&self.table(make), key, run).await
        }
    };
}

memo_cell!(
    /// The cache of one memoized function with a `stale` window, in memory.
    StaleMemoryMemo,
    Arc<MemoryTable<V>>,
    weighed
);

memo_cell!(
    /// The cache of one memoized `async fn` with a `stale` window, in memory.
    StaleAsyncMemo,
    Arc<MemoryTable<V>>,
    weighed
);

memo_cell!(
    /// The cache of one persistently memoized function with a `stale` window.
    StalePersistentMemo,
    Arc<PersistentTable>
);

memo_cell!(
    /// The cache of one persistently memoized `async fn` with a `stale` window.
    StaleAsyncPersistentMemo,
    Arc<PersistentTable>
);

impl<V: Clone + Send + Sync + 'static> StaleMemoryMemo<V> {
    fn table(
        &self,
        make: impl FnOnce() -> Result<CacheConfig, ConfigError>,
    ) -> &Arc<MemoryTable<V>> {
        self.cell
            .get_or_init(|| MemoryTable::open(make, "twat_cache::mcache", self.weigher))
    }

    sync_calls!();
}

impl<V: Serialize + DeserializeOwned + Send + 'static> StalePersistentMemo<V> {
    fn table(
        &self,
        make: impl FnOnce() -> Result<CacheConfig, ConfigError>,
    ) -> &Arc<PersistentTable> {
        self.cell
            .get_or_init(|| PersistentTable::open::<V>(make, "twat_cache::bcache"))
    }

    sync_calls!();
}

impl<V: Clone + Send + Sync + 'static> StaleAsyncMemo<V> {
    fn table(
        &self,
        make: impl FnOnce() -> Result<CacheConfig, ConfigError>,
    ) -> Arc<MemoryTable<V>> {
        Arc::clone(
            self.cell
                .get_or_init(|| MemoryTable::open(make, "twat_cache::acache", self.weigher)),
        )
    }

    async_calls!();
}

impl<V: Serialize + DeserializeOwned + Send + 'static> StaleAsyncPersistentMemo<V> {
    fn table(
        &self,
        make: impl FnOnce() -> Result<CacheConfig, ConfigError>,
    ) -> Arc<PersistentTable> {
        Arc::clone(
            self.cell
                .get_or_init(|| PersistentTable::open::<V>(make, "twat_cache::acache")),
        )
    }

    async_calls!();
}
