//! `#[bcache]`, `#[fcache]` and persistent `#[ucache]`: encoded values in a byte store.
//!
//! Concurrent misses of one key in this process run the body once ([`Flights`]); the
//! other callers wait and then read the entry it stored.
//!
//! Keys are `Namespace::typed::<V>(name, version) ‖ postcard(arguments)`: the return
//! type's fingerprint in the namespace means a program whose function now returns
//! another type never even finds the old entries, and an entry that still fails to
//! decode is removed, counted and recomputed — never served wrong.

use std::convert::Infallible;
use std::marker::PhantomData;
use std::sync::{Arc, OnceLock};

use serde::Serialize;
use serde::de::DeserializeOwned;
use twat_cache_core::{
    CacheConfig, ConfigError, Error, KeyBuf, ManagedCache, Namespace, decode_value, encode_value,
};

use super::flight::{Flights, Role};
use super::{bytes, memo_cell_impls, resolve_config};
use crate::store::{Store, open_store_or_memory};

/// The cache of one persistently memoized function, as a `static` in its wrapper.
pub struct PersistentMemo<V> {
    cell: OnceLock<PersistentEntry>,
    _value: PhantomData<fn() -> V>,
}

/// An open store and the key space of one memoized function.
pub(super) struct PersistentEntry {
    namespace: Namespace,
    store: Arc<dyn Store>,
    flights: Flights,
}

memo_cell_impls!(PersistentMemo);

impl<V> PersistentMemo<V> {
    /// An empty cell; the store opens on the first call.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            cell: OnceLock::new(),
            _value: PhantomData,
        }
    }
}

impl<V: Serialize + DeserializeOwned + 'static> PersistentMemo<V> {
    fn entry(&self, make: impl FnOnce() -> Result<CacheConfig, ConfigError>) -> &PersistentEntry {
        self.cell
            .get_or_init(|| PersistentEntry::open::<V>(make, "twat_cache::bcache"))
    }

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

    /// One call of a `Result`-returning function: `Ok` values are cached, `Err`s returned
    /// and not cached.
    pub fn try_call<E>(
        &self,
        make: impl FnOnce() -> Result<CacheConfig, ConfigError>,
        key: Option<Result<KeyBuf, Error>>,
        run: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, E> {
        let Some(key) = key else { return run() };
        let entry = self.entry(make);
        let Some(key) = entry.full_key(key) else {
            return run();
        };
        if let Some(value) = entry.lookup(&key) {
            return Ok(value);
        }
        let _lead = match entry.flights.join(&key) {
            Role::Lead(guard) => Some(guard),
            Role::Waited => match entry.lookup(&key) {
                Some(value) => return Ok(value),
                // The leader failed (its `Err` is not cached): compute here.
                None => None,
            },
        };
        let value = run()?;
        entry.store_value(&key, &value);
        Ok(value)
    }
}

impl PersistentEntry {
    /// Opens the store the configuration names (memory when it cannot), registers it, and
    /// derives the key space from the name, version and the value type.
    pub(super) fn open<V>(
        make: impl FnOnce() -> Result<CacheConfig, ConfigError>,
        fallback_name: &str,
    ) -> Self {
        let config = resolve_config(make, fallback_name);
        let namespace =
            Namespace::typed::<V>(config.name().unwrap_or(fallback_name), config.version());
        let store = open_store_or_memory(&config);
        let managed: Arc<dyn ManagedCache> = store.clone();
        twat_cache_core::registry::register(&managed);
        Self {
            namespace,
            store,
            flights: Flights::default(),
        }
    }

    /// The namespaced key, or `None` (counted) when the arguments would not encode.
    pub(super) fn full_key(&self, key: Result<KeyBuf, Error>) -> Option<Vec<u8>> {
        match key {
            Ok(key) => Some(self.namespace.key_from_bytes(key.as_bytes())),
            Err(err) => {
                self.store.record_error(&err);
                None
            }
        }
    }

    /// The decoded value under `key`; failures are counted and read as a miss, and an
    /// entry that does not decode is removed.
    pub(super) fn lookup<V: DeserializeOwned + 'static>(&self, key: &[u8]) -> Option<V> {
        let found = if bytes::is_byte_buf::<V>() {
            self.store
                .get_raw_bytes(key)
                .map(|raw| raw.and_then(bytes::from_byte_buf::<V>))
        } else {
            self.store.get_bytes(key).and_then(|payload| match payload {
                Some(payload) => Ok(Some(decode_value::<V>(&payload)?)),
                None => Ok(None),
            })
        };
        match found {
            Ok(value) => value,
            Err(err) => {
                self.store.record_error(&err);
                if matches!(err, Error::Decode(_))
                    && let Err(err) = self.store.delete_bytes(key)
                {
                    self.store.record_error(&err);
                }
                None
            }
        }
    }

    /// Stores `value` under `key`; a failure is counted, never returned.
    pub(super) fn store_value<V: Serialize + 'static>(&self, key: &[u8], value: &V) {
        let stored = match bytes::as_byte_buf(value) {
            Some(raw) => self.store.set_raw_bytes(key, raw),
            None => encode_value(value).and_then(|payload| self.store.set_bytes(key, &payload)),
        };
        if let Err(err) = stored {
            self.store.record_error(&err);
        }
    }
}
