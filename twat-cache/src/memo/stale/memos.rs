//! The four memo types of caches with a `stale` window, as `static`s in the wrappers the
//! macros write: [`StaleMemoryMemo`] (`#[mcache]`, in-memory `#[ucache]`),
//! [`StalePersistentMemo`] (`#[bcache]`, `#[fcache]`, persistent `#[ucache]`),
//! [`StaleAsyncMemo`] (`#[acache]`, async `#[ucache]`) and [`StaleAsyncPersistentMemo`]
//! (`#[acache(folder = …)]`). Each is a cell holding its table, built on the first call;
//! the macros below write their identical parts once.

use std::convert::Infallible;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::{Arc, OnceLock};

use serde::Serialize;
use serde::de::DeserializeOwned;
use twat_cache_core::{CacheConfig, ConfigError, Error, KeyBuf};

use super::super::memo_cell_impls;
use super::sync::{MemoryTable, PersistentTable};
use super::{asynchronous, sync};

/// A memo over a [`MemoryTable`], optionally weighed: the struct, `new` and `weighed`.
macro_rules! memory_memo {
    ($(#[$doc:meta])* $memo:ident) => {
        $(#[$doc])*
        pub struct $memo<V> {
            cell: OnceLock<Arc<MemoryTable<V>>>,
            /// Bounds the cache by total weight (`maxsize = "64 MiB"`, `weigher = f`).
            weigher: Option<fn(&KeyBuf, &V) -> u32>,
        }

        memo_cell_impls!($memo);

        impl<V> $memo<V> {
            /// An empty cell; the cache is built on the first call.
            #[must_use]
            pub const fn new() -> Self {
                Self {
                    cell: OnceLock::new(),
                    weigher: None,
                }
            }

            /// An empty cell for a cache whose `maxsize` bounds the entries' total
            /// weight, each weighing `weigher(&key, &value)`.
            #[must_use]
            pub const fn weighed(weigher: fn(&KeyBuf, &V) -> u32) -> Self {
                Self {
                    cell: OnceLock::new(),
                    weigher: Some(weigher),
                }
            }
        }
    };
}

/// A memo over a [`PersistentTable`]: the struct and `new`.
macro_rules! persistent_memo {
    ($(#[$doc:meta])* $memo:ident) => {
        $(#[$doc])*
        pub struct $memo<V> {
            cell: OnceLock<Arc<PersistentTable>>,
            _value: PhantomData<fn() -> V>,
        }

        memo_cell_impls!($memo);

        impl<V> $memo<V> {
            /// An empty cell; the store opens on the first call.
            #[must_use]
            pub const fn new() -> Self {
                Self {
                    cell: OnceLock::new(),
                    _value: PhantomData,
                }
            }
        }
    };
}

/// `call` and `try_call` of a plain function's memo whose `table(make)` is its table.
macro_rules! sync_calls {
    () => {
        /// One call of a function whose whole return value is cached.
        pub fn call(
            &self,
            make: impl FnOnce() -> Result<CacheConfig, ConfigError>,
            key: Option<Result<KeyBuf, Error>>,
            run: impl FnOnce() -> V,
        ) -> V {
            match self.try_call::<Infallible>(make, key, || Ok(run())) {
                Ok(value) => value,
                Err(never) => match never {},
            }
        }

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
        /// One call of an `async fn` whose whole output is cached.
        pub async fn call(
            &self,
            make: impl FnOnce() -> Result<CacheConfig, ConfigError>,
            key: Option<Result<KeyBuf, Error>>,
            run: impl Future<Output = V>,
        ) -> V {
            let run = async move { Ok::<V, Infallible>(run.await) };
            match self.try_call(make, key, run).await {
                Ok(value) => value,
                Err(never) => match never {},
            }
        }

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

memory_memo!(
    /// The cache of one memoized function with a `stale` window, in memory.
    StaleMemoryMemo
);

memory_memo!(
    /// The cache of one memoized `async fn` with a `stale` window, in memory.
    StaleAsyncMemo
);

persistent_memo!(
    /// The cache of one persistently memoized function with a `stale` window.
    StalePersistentMemo
);

persistent_memo!(
    /// The cache of one persistently memoized `async fn` with a `stale` window.
    StaleAsyncPersistentMemo
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
