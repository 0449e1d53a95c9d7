//! A call of an `async fn` with a `stale` window ([`call`]), over the same tables as the
//! plain functions' ([`super::sync`]), with waits that await instead of blocking: the
//! refreshing task is the one that recomputes; every other task gets the old value
//! without awaiting anything.
//!
//! Persistent lookups and stores are blocking I/O, so they run on the `blocking` crate's
//! pool, as in [`AsyncPersistentMemo`](super::super::AsyncPersistentMemo).

use std::future::Future;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use twat_cache_core::{Error, KeyBuf};

use super::super::flight::Role;
use super::super::lease::{Held, RefreshLease, Turn};
use super::super::observe;
use super::sync::{MemoryTable, PersistentTable, Table};
use super::{Fresh, Refreshed, Stale, now_ms, unwind};

/// A table whose lookups and stores may have to leave the executor's threads.
pub(super) trait AsyncTable<V: Send + 'static>: Table<V> + Send + Sync + 'static {
    /// [`Table::lookup`], awaited.
    fn lookup_async(table: &Arc<Self>, key: &KeyBuf) -> impl Future<Output = Option<Fresh<V>>>;
    /// [`Table::store`], awaited.
    fn store_async(table: &Arc<Self>, key: KeyBuf, fresh: Fresh<V>) -> impl Future<Output = V>;
    /// After this task leads the key's flight in the process: the lease across
    /// processes (and, over Redis, machines), where the table has them.
    fn lease_turn(table: &Arc<Self>, key: &KeyBuf) -> impl Future<Output = Turn<Fresh<V>, Held>>;
    /// [`Table::refresh_lease`], awaited.
    fn refresh_lease_async(table: &Arc<Self>, key: &KeyBuf) -> impl Future<Output = RefreshLease>;
}

impl<V: Clone + Send + Sync + 'static> AsyncTable<V> for MemoryTable<V> {
    async fn lookup_async(table: &Arc<Self>, key: &KeyBuf) -> Option<Fresh<V>> {
        table.lookup(key)
    }

    async fn store_async(table: &Arc<Self>, key: KeyBuf, fresh: Fresh<V>) -> V {
        table.store(key, fresh)
    }

    async fn lease_turn(_: &Arc<Self>, _: &KeyBuf) -> Turn<Fresh<V>, Held> {
        Turn::Alone
    }

    async fn refresh_lease_async(_: &Arc<Self>, _: &KeyBuf) -> RefreshLease {
        RefreshLease::Alone
    }
}

impl<V: Serialize + DeserializeOwned + Send + 'static> AsyncTable<V> for PersistentTable {
    async fn lookup_async(table: &Arc<Self>, key: &KeyBuf) -> Option<Fresh<V>> {
        let (table, key) = (Arc::clone(table), key.clone());
        blocking::unblock(move || table.lookup(&key)).await
    }

    async fn store_async(table: &Arc<Self>, key: KeyBuf, fresh: Fresh<V>) -> V {
        let table = Arc::clone(table);
        blocking::unblock(move || table.store(key, fresh)).await
    }

    async fn lease_turn(table: &Arc<Self>, key: &KeyBuf) -> Turn<Fresh<V>, Held> {
        if !table.entry.has_leases() {
            return Turn::Alone;
        }
        let (table, key) = (Arc::clone(table), key.clone());
        blocking::unblock(move || table.entry.lease_turn(key.as_bytes())).await
    }

    async fn refresh_lease_async(table: &Arc<Self>, key: &KeyBuf) -> RefreshLease {
        if !table.entry.has_leases() {
            return RefreshLease::Alone;
        }
        let (table, key) = (Arc::clone(table), key.clone());
        blocking::unblock(move || Table::<V>::refresh_lease(&*table, &key)).await
    }
}

/// The flights of a table (memory and persistent tables each have theirs).
pub(super) trait HasFlights {
    fn flights(&self) -> &super::super::flight::Flights;
}

impl<V> HasFlights for MemoryTable<V> {
    fn flights(&self) -> &super::super::flight::Flights {
        &self.flights
    }
}

impl HasFlights for PersistentTable {
    fn flights(&self) -> &super::super::flight::Flights {
        &self.entry.flights
    }
}

/// One call of a stale async memo: [`super::sync::call`] with awaits.
pub(super) async fn call<V, E, T>(
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
        let lease = match T::refresh_lease_async(table, &key).await {
            RefreshLease::Elsewhere => return Ok(stale.serve(found)),
            RefreshLease::Held(held) => Some(held),
            RefreshLease::Alone => None,
        };
        let run = observe::miss_async(&stale.name, run);
        let outcome = if stale.if_error {
            unwind::catching_async(run).await
        } else {
            Ok(run.await)
        };
        let result = match Refreshed::from_outcome(outcome, stale.if_error) {
            Refreshed::Value(value) => {
                let value = T::store_async(table, key, stale.fresh(value)).await;
                refresh.stored(stale.forget_after(found.until_ms));
                Ok(value)
            }
            Refreshed::Failed(err) => Err(err),
            Refreshed::ServeStale(failure) => Ok(stale.serve_after_failure(found, failure)),
        };
        // A Redis lease's release is a round trip: not on the executor's thread.
        if let Some(lease) = lease {
            blocking::unblock(move || drop(lease)).await;
        }
        return result;
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
    let outcome = observe::miss_async(&stale.name, run).await;
    let result = match outcome {
        Ok(value) => Ok(T::store_async(table, key, stale.fresh(value)).await),
        Err(err) => Err(err),
    };
    // Released after the value is stored, the lease first (a Redis lease's release is a
    // round trip: not on the executor's thread), then the flight's waiters.
    if let Some(lease) = lease {
        blocking::unblock(move || drop(lease)).await;
    }
    drop(lead);
    result
}
