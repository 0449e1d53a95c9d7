//! `#[acache(folder = "…")]` (and `#[ucache]` on an `async fn` with a `folder`): awaited
//! results persisted through the disk or file engine.
//!
//! Engine I/O is blocking, so every lookup and store runs on the `blocking` crate's
//! thread pool (runtime-agnostic, like the rest of the async path), never on the async
//! executor's threads. Opening the store happens once, on the first call.
//!
//! Concurrent misses of one key run the body once, as everywhere: in this process the
//! other tasks await the leader's flight (never blocking an executor thread), and
//! processes sharing a file-engine folder or a Redis server wait on the key's lease
//! (polled on the blocking pool, where the Redis lease is also released).

use std::future::Future;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use twat_cache_core::{CacheConfig, ConfigError, Error, KeyBuf};

use super::flight::Role;
use super::lease::{Held, Turn};
use super::persistent::PersistentEntry;
use super::{infallible_call_async, memo_cell, observe};

memo_cell!(
    /// The cache of one persistently memoized `async fn`, as a `static` in its wrapper.
    AsyncPersistentMemo,
    Arc<PersistentEntry>
);

impl<V: Serialize + DeserializeOwned + Send + 'static> AsyncPersistentMemo<V> {
    fn entry(
        &self,
        make: impl FnOnce() -> Result<CacheConfig, ConfigError>,
    ) -> Arc<PersistentEntry> {
        self.cell
            .get_or_init(|| Arc::new(PersistentEntry::open::<V>(make, "twat_cache::acache")))
            .clone()
    }

    async fn lookup(entry: &Arc<PersistentEntry>, key: &KeyBuf) -> Option<V> {
        let entry = Arc::clone(entry);
        let key = key.clone();
        blocking::unblock(move || entry.lookup::<V>(key.as_bytes())).await
    }

    /// Stores `value`, then releases `lease` (after the store, so that processes waiting
    /// on the lease find the value).
    async fn store(entry: Arc<PersistentEntry>, key: KeyBuf, value: V, lease: Option<Held>) -> V {
        blocking::unblock(move || {
            entry.store_value(key.as_bytes(), &value);
            drop(lease);
            value
        })
        .await
    }

    infallible_call_async!();

    /// One call of an `async fn` returning `Result`: `Ok` cached, `Err` returned and not
    /// cached.
    pub async fn try_call<E>(
        &self,
        make: impl FnOnce() -> Result<CacheConfig, ConfigError>,
        key: Option<Result<KeyBuf, Error>>,
        run: impl Future<Output = Result<V, E>>,
    ) -> Result<V, E> {
        let Some(key) = key else { return run.await };
        let entry = self.entry(make);
        let Some(key) = entry.arguments(key) else {
            return run.await;
        };
        if let Some(value) = Self::lookup(&entry, &key).await {
            return Ok(value);
        }
        let _lead = match entry.flights.join_async(key.as_bytes()).await {
            Role::Lead(guard) => Some(guard),
            Role::Waited => match Self::lookup(&entry, &key).await {
                Some(value) => return Ok(value),
                // The leader failed (its `Err` is not cached): compute here.
                None => None,
            },
        };
        // Released by `store`, before `_lead`: both only after the value is stored.
        let lease = match Self::lease_turn(&entry, &key).await {
            Turn::Found(value) => return Ok(value),
            Turn::Lead(held) => Some(held),
            Turn::Alone => None,
        };
        match observe::miss_async(entry.name(), run).await {
            Ok(value) => Ok(Self::store(Arc::clone(&entry), key, value, lease).await),
            Err(err) => {
                // A Redis lease's release is a round trip: not on the executor's thread.
                if let Some(lease) = lease {
                    blocking::unblock(move || drop(lease)).await;
                }
                Err(err)
            }
        }
    }

    /// [`PersistentEntry::lease_turn`] off the executor's threads (waiting polls).
    async fn lease_turn(entry: &Arc<PersistentEntry>, key: &KeyBuf) -> Turn<V, Held> {
        if !entry.has_leases() {
            return Turn::Alone;
        }
        let entry = Arc::clone(entry);
        let key = key.clone();
        blocking::unblock(move || entry.lease_turn(key.as_bytes())).await
    }
}
