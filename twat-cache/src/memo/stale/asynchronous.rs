//! The stale memos of `async fn`s: [`StaleAsyncMemo`] (`#[acache]`, async `#[ucache]`)
//! and [`StaleAsyncPersistentMemo`] (`#[acache(folder = …)]`), over the same tables as
//! the plain functions' ([`super::sync`]), with waits that await instead of blocking:
//! the refreshing task is the one that recomputes; every other task gets the old value
//! without awaiting anything.
//!
//! Persistent lookups and stores are blocking I/O, so they run on the `blocking` crate's
//! pool, as in [`AsyncPersistentMemo`](super::super::AsyncPersistentMemo).

use std::convert::Infallible;
use std::future::Future;
use std::sync::{Arc, OnceLock};

use serde::Serialize;
use serde::de::DeserializeOwned;
use twat_cache_core::{CacheConfig, ConfigError, Error, KeyBuf};

use super::super::flight::Role;
use super::super::lease::{Claim, Turn};
use super::super::{memo_cell_impls, observe};
use super::sync::{MemoryTable, PersistentTable, Table};
use super::{Fresh, Refreshed, Stale, now_ms, unwind};

/// A table whose lookups and stores may have to leave the executor's threads.
trait AsyncTable<V: Send + 'static>: Table<V> + Send + Sync + 'static {
    /// [`Table::lookup`], awaited.
    fn lookup_async(table: &Arc<Self>, key: &KeyBuf) -> impl Future<Output = Option<Fresh<V>>>;
    /// [`Table::store`], awaited.
    fn store_async(table: &Arc<Self>, key: KeyBuf, fresh: Fresh<V>) -> impl Future<Output = V>;
    /// After this task leads the key's flight in the process: the lease across
    /// processes, where the table has them.
    fn lease_turn(table: &Arc<Self>, key: &KeyBuf) -> impl Future<Output = Turn<Fresh<V>>>;
}

impl<V: Clone + Send + Sync + 'static> AsyncTable<V> for MemoryTable<V> {
    async fn lookup_async(table: &Arc<Self>, key: &KeyBuf) -> Option<Fresh<V>> {
        table.lookup(key)
    }

    async fn store_async(table: &Arc<Self>, key: KeyBuf, fresh: Fresh<V>) -> V {
        table.store(key, fresh)
    }

    async fn lease_turn(_: &Arc<Self>, _: &KeyBuf) -> Turn<Fresh<V>> {
        Turn::Alone
    }
}

impl<V: Serialize + DeserializeOwned + Send + 'static> AsyncTable<V> for PersistentTable<V> {
    async fn lookup_async(table: &Arc<Self>, key: &KeyBuf) -> Option<Fresh<V>> {
        let (table, key) = (Arc::clone(table), key.clone());
        blocking::unblock(move || table.lookup(&key)).await
    }

    async fn store_async(table: &Arc<Self>, key: KeyBuf, fresh: Fresh<V>) -> V {
        let table = Arc::clone(table);
        blocking::unblock(move || table.store(key, fresh)).await
    }

    async fn lease_turn(table: &Arc<Self>, key: &KeyBuf) -> Turn<Fresh<V>> {
        if !table.entry.has_leases() {
            return Turn::Alone;
        }
        let (table, key) = (Arc::clone(table), key.clone());
        blocking::unblock(move || table.entry.lease_turn(key.as_bytes())).await
    }
}

/// The flights of a table (memory and persistent tables each have theirs).
trait HasFlights {
    fn flights(&self) -> &super::super::flight::Flights;
}

impl<V> HasFlights for MemoryTable<V> {
    fn flights(&self) -> &super::super::flight::Flights {
        &self.flights
    }
}

impl<V> HasFlights for PersistentTable<V> {
    fn flights(&self) -> &super::super::flight::Flights {
        &self.entry.flights
    }
}

/// One call of a stale async memo: [`super::sync::call`] with awaits.
async fn call<V, E, T>(
    table: &Arc<T>,
    key: Result<KeyBuf, Error>,
    run: impl Future<Output = Result<V, E>>,
) -> Result<V, E>
where
    V: Send + 'static,
    T: AsyncTable<V> + HasFlights,
{
    let key = match key {
        Ok(key) => key,
        Err(err) => {
            table.record_error(&err);
            return run.await;
        }
    };
    let stale: &Stale = table.stale();
    if let Some(found) = T::lookup_async(table, &key).await {
        let now = now_ms();
        if found.is_fresh(now) {
            return Ok(found.value);
        }
        let Some(refresh) = stale
            .refreshes
            .try_claim(key.as_bytes(), found.until_ms, now)
        else {
            return Ok(stale.serve(found));
        };
        let run = observe::miss_async(&stale.name, run);
        let outcome = if stale.if_error {
            unwind::catching_async(run).await
        } else {
            Ok(run.await)
        };
        return match Refreshed::from_outcome(outcome, stale.if_error) {
            Refreshed::Value(value) => {
                let value = T::store_async(table, key, stale.fresh(value)).await;
                refresh.stored(stale.forget_after(found.until_ms));
                Ok(value)
            }
            Refreshed::Failed(err) => Err(err),
            Refreshed::ServeStale(failure) => Ok(stale.serve_after_failure(found, failure)),
        };
    }
    let lead = match table.flights().join_async(key.as_bytes()).await {
        Role::Lead(guard) => Some(guard),
        Role::Waited => match T::lookup_async(table, &key).await {
            Some(found) => return Ok(found.value),
            // The leader failed (its `Err` is not cached): compute here.
            None => None,
        },
    };
    let lease = match T::lease_turn(table, &key).await {
        Turn::Found(found) => return Ok(found.value),
        Turn::Lead(held) => Some(held),
        Turn::Alone => None,
    };
    // Released (lease first, then the flight's waiters) only after the value is stored.
    let _claim = Claim::new(lease, lead);
    let value = observe::miss_async(&stale.name, run).await?;
    Ok(T::store_async(table, key, stale.fresh(value)).await)
}

/// The cache of one memoized `async fn` with a `stale` window, in memory, as a `static`
/// in its wrapper.
pub struct StaleAsyncMemo<V> {
    cell: OnceLock<Arc<MemoryTable<V>>>,
    weigher: Option<fn(&KeyBuf, &V) -> u32>,
}

memo_cell_impls!(StaleAsyncMemo);

impl<V> StaleAsyncMemo<V> {
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
    pub const fn weighed(weigher: fn(&KeyBuf, &V) -> u32) -> Self {
        Self {
            cell: OnceLock::new(),
            weigher: Some(weigher),
        }
    }
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

    /// One call of an `async fn` returning `Result`: `Ok` cached; an `Err` returned (or,
    /// refreshing under `stale_if_error`, replaced by the old value) and not cached. The
    /// tasks waiting on a failed miss each compute in turn, as persistent caches do.
    pub async fn try_call<E>(
        &self,
        make: impl FnOnce() -> Result<CacheConfig, ConfigError>,
        key: Option<Result<KeyBuf, Error>>,
        run: impl Future<Output = Result<V, E>>,
    ) -> Result<V, E> {
        let Some(key) = key else { return run.await };
        call(&self.table(make), key, run).await
    }
}

/// The cache of one persistently memoized `async fn` with a `stale` window, as a
/// `static` in its wrapper.
pub struct StaleAsyncPersistentMemo<V> {
    cell: OnceLock<Arc<PersistentTable<V>>>,
}

memo_cell_impls!(StaleAsyncPersistentMemo);

impl<V> StaleAsyncPersistentMemo<V> {
    /// An empty cell; the store opens on the first call.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            cell: OnceLock::new(),
        }
    }
}

impl<V: Serialize + DeserializeOwned + Send + 'static> StaleAsyncPersistentMemo<V> {
    fn table(
        &self,
        make: impl FnOnce() -> Result<CacheConfig, ConfigError>,
    ) -> Arc<PersistentTable<V>> {
        Arc::clone(
            self.cell
                .get_or_init(|| PersistentTable::open(make, "twat_cache::acache")),
        )
    }

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

    /// One call of an `async fn` returning `Result`: `Ok` cached; an `Err` returned (or,
    /// refreshing under `stale_if_error`, replaced by the old value) and not cached.
    pub async fn try_call<E>(
        &self,
        make: impl FnOnce() -> Result<CacheConfig, ConfigError>,
        key: Option<Result<KeyBuf, Error>>,
        run: impl Future<Output = Result<V, E>>,
    ) -> Result<V, E> {
        let Some(key) = key else { return run.await };
        call(&self.table(make), key, run).await
    }
}
