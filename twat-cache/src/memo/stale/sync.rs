//! A call of a plain function with a `stale` window ([`call`]), and the two tables it
//! reads and writes: [`MemoryTable`] (typed values in memory) and [`PersistentTable`]
//! (encoded values in a persistent engine).

use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use twat_cache_core::{CacheConfig, ConfigError, Error, KeyBuf, ManagedCache, Stats};
use twat_cache_memory::{CacheOptions, MemoryCache};

use super::super::lease::{Claim, RefreshLease};
use super::super::persistent::PersistentEntry;
use super::super::{observe, resolve_config};
use super::{Fresh, Refreshed, Stale, now_ms, unwind};

/// Where a stale memo keeps its entries, as the algorithm sees it.
pub(super) trait Table<V> {
    /// The cache's rules and refreshes.
    fn stale(&self) -> &Stale;
    /// The entry under `key` (fresh or stale), counted as a hit or a miss.
    fn lookup(&self, key: &KeyBuf) -> Option<Fresh<V>>;
    /// Stores `fresh` under `key` (a failure is counted) and returns its value.
    fn store(&self, key: KeyBuf, fresh: Fresh<V>) -> V;
    /// After a miss: the claim to compute `key` under, or the entry another caller stored
    /// meanwhile.
    fn claim_miss(&self, key: &KeyBuf) -> Result<Claim<'_>, Fresh<V>>;
    /// Counts an absorbed error.
    fn record_error(&self, error: &Error);
    /// Before refreshing a stale entry: the key's lease across processes, where the
    /// store is shared ([`RefreshLease::Elsewhere`]: another process is on it).
    fn refresh_lease(&self, _key: &KeyBuf) -> RefreshLease {
        RefreshLease::Alone
    }
    /// The whole miss, over a store that coordinates misses across machines itself (the
    /// Redis engine's lease): `Ok` with the call's result, or `Err(run)` handing the body
    /// back when the store has no such lease.
    fn leased_miss<E, F: FnOnce() -> Result<V, E>>(
        &self,
        _key: &KeyBuf,
        run: F,
    ) -> Result<Result<V, E>, F> {
        Err(run)
    }
}

/// One call of a stale memo, as the [module docs](super) describe it.
pub(super) fn call<V, E>(
    table: &impl Table<V>,
    key: Result<KeyBuf, Error>,
    run: impl FnOnce() -> Result<V, E>,
) -> Result<V, E> {
    let key = match key {
        Ok(key) => key,
        Err(err) => {
            table.record_error(&err);
            return run();
        }
    };
    let stale = table.stale();
    if let Some(found) = table.lookup(&key) {
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
        // Released after the new value is stored (or when the refresh fails).
        let _lease = match table.refresh_lease(&key) {
            RefreshLease::Elsewhere => return Ok(stale.serve(found)),
            RefreshLease::Held(held) => Some(held),
            RefreshLease::Alone => None,
        };
        let run = || observe::miss(&stale.name, run);
        let outcome = if stale.if_error {
            unwind::catching(run)
        } else {
            Ok(run())
        };
        return match Refreshed::from_outcome(outcome, stale.if_error) {
            Refreshed::Value(value) => {
                let value = table.store(key, stale.fresh(value));
                refresh.stored(stale.forget_after(found.until_ms));
                Ok(value)
            }
            Refreshed::Failed(err) => Err(err),
            Refreshed::ServeStale(failure) => Ok(stale.serve_after_failure(found, failure)),
        };
    }
    let run = match table.leased_miss(&key, run) {
        Ok(result) => return result,
        Err(run) => run,
    };
    let _claim = match table.claim_miss(&key) {
        Ok(claim) => claim,
        Err(found) => return Ok(found.value),
    };
    let value = observe::miss(&stale.name, run)?;
    Ok(table.store(key, stale.fresh(value)))
}

/// The in-memory table: typed values in a [`MemoryCache`], keyed by the encoded
/// arguments, plus this process's flights for misses.
pub(super) struct MemoryTable<V> {
    pub(super) cache: MemoryCache<KeyBuf, Fresh<V>>,
    pub(super) flights: super::super::flight::Flights,
    pub(super) stale: Stale,
}

impl<V: Clone + Send + Sync + 'static> MemoryTable<V> {
    /// Builds the table `make` configures and registers it.
    pub(super) fn open(
        make: impl FnOnce() -> Result<CacheConfig, ConfigError>,
        fallback_name: &str,
        weigher: Option<fn(&KeyBuf, &V) -> u32>,
    ) -> Arc<Self> {
        let config = resolve_config(make, fallback_name);
        let name = config.name().unwrap_or(fallback_name).to_owned();
        let options = match weigher {
            Some(weigher) => CacheOptions::new()
                .weigher(move |key: &KeyBuf, fresh: &Fresh<V>| weigher(key, &fresh.value)),
            None => CacheOptions::new(),
        };
        let engine_config = Stale::engine_config(&config)
            .into_builder()
            .name(name.clone())
            .build()
            .unwrap_or_else(|_| Stale::engine_config(&config));
        let table = Arc::new(Self {
            cache: MemoryCache::with_options(&engine_config, options),
            flights: super::super::flight::Flights::default(),
            stale: Stale::new(&config, &name),
        });
        let managed: Arc<dyn ManagedCache> = table.clone();
        twat_cache_core::registry::register(&managed);
        table
    }
}

impl<V: Clone + Send + Sync + 'static> Table<V> for MemoryTable<V> {
    fn stale(&self) -> &Stale {
        &self.stale
    }

    fn lookup(&self, key: &KeyBuf) -> Option<Fresh<V>> {
        self.cache.get(key)
    }

    fn store(&self, key: KeyBuf, fresh: Fresh<V>) -> V {
        let value = fresh.value.clone();
        self.cache.insert(key, fresh);
        value
    }

    fn claim_miss(&self, key: &KeyBuf) -> Result<Claim<'_>, Fresh<V>> {
        super::super::lease::claim(
            &self.flights,
            key.as_bytes(),
            None,
            || self.cache.get(key),
            |_| {},
        )
    }

    fn record_error(&self, error: &Error) {
        self.stale.counters.error(&self.stale.name, error);
    }
}

impl<V: Clone + Send + Sync + 'static> ManagedCache for MemoryTable<V> {
    fn name(&self) -> &str {
        &self.stale.name
    }

    fn stats(&self) -> Stats {
        self.stale.add_to(self.cache.stats())
    }

    fn clear(&self) -> Result<(), Error> {
        self.stale.reset();
        self.cache.clear();
        Ok(())
    }
}

/// The persistent table: [`Fresh<V>`] entries through a [`PersistentEntry`] (its key
/// space, flights and leases), registered as itself so that its stats carry the stale
/// hits. It has no value type of its own: it is a [`Table<V>`] for every `V`, so a
/// memo (one `V`, in its key space's fingerprint) and a
/// [`CacheContext`](crate::CacheContext) (a `V` per call) share it.
pub(crate) struct PersistentTable {
    pub(super) entry: PersistentEntry,
    pub(super) stale: Stale,
}

impl PersistentTable {
    /// Opens the store `make` configures (keeping entries for `ttl + stale`), with the
    /// key space of values of type `V`, and registers the table.
    pub(super) fn open<V: 'static>(
        make: impl FnOnce() -> Result<CacheConfig, ConfigError>,
        fallback_name: &str,
    ) -> Arc<Self> {
        let config = resolve_config(make, fallback_name);
        let name = config.name().unwrap_or(fallback_name).to_owned();
        let entry =
            PersistentEntry::open_unregistered::<Fresh<V>>(&Stale::engine_config(&config), &name);
        Self::register(entry, &config)
    }

    /// Opens the store `config` names for a [`CacheContext`](crate::CacheContext), or
    /// `None` when `config` has no `stale` window. Its key space is its own (the
    /// context's entries without `stale` are plain values, these are [`Fresh`] ones).
    ///
    /// # Errors
    ///
    /// The store's error when it cannot open (the context reports it, as without
    /// `stale`).
    pub(crate) fn open_for_context(
        config: &CacheConfig,
        fallback_name: &str,
    ) -> Result<Option<Arc<Self>>, Error> {
        if config.stale().is_none() {
            return Ok(None);
        }
        let entry = PersistentEntry::open_checked::<Fresh<ContextValue>>(
            &Stale::engine_config(config),
            fallback_name,
        )?;
        let table = Arc::new(Self {
            stale: Stale::new(config, entry.name()),
            entry,
        });
        // As without `stale`: only a named context is registered.
        if config.name().is_some() {
            let managed: Arc<dyn ManagedCache> = table.clone();
            twat_cache_core::registry::register(&managed);
        }
        Ok(Some(table))
    }

    fn register(entry: PersistentEntry, config: &CacheConfig) -> Arc<Self> {
        let table = Arc::new(Self {
            stale: Stale::new(config, entry.name()),
            entry,
        });
        let managed: Arc<dyn ManagedCache> = table.clone();
        twat_cache_core::registry::register(&managed);
        table
    }
}

/// The value type of a [`CacheContext`](crate::CacheContext)'s key space with a `stale`
/// window: only its fingerprint is used.
enum ContextValue {}

impl<V: Serialize + DeserializeOwned + 'static> Table<V> for PersistentTable {
    fn stale(&self) -> &Stale {
        &self.stale
    }

    fn lookup(&self, key: &KeyBuf) -> Option<Fresh<V>> {
        self.entry.lookup(key.as_bytes())
    }

    fn store(&self, key: KeyBuf, fresh: Fresh<V>) -> V {
        self.entry.store_value(key.as_bytes(), &fresh);
        fresh.value
    }

    fn claim_miss(&self, key: &KeyBuf) -> Result<Claim<'_>, Fresh<V>> {
        self.entry.claim(key.as_bytes())
    }

    fn record_error(&self, error: &Error) {
        self.entry.store().record_error(error);
    }

    fn refresh_lease(&self, key: &KeyBuf) -> RefreshLease {
        self.entry.try_refresh_lease(key.as_bytes())
    }

    fn leased_miss<E, F: FnOnce() -> Result<V, E>>(
        &self,
        key: &KeyBuf,
        run: F,
    ) -> Result<Result<V, E>, F> {
        let Some(redis) = self.entry.store().as_redis() else {
            return Err(run);
        };
        let run = || run().map(|value| self.stale.fresh(value));
        let fresh = self
            .entry
            .call_with_redis_lease::<Fresh<V>, E>(redis, key.as_bytes(), run);
        Ok(fresh.map(|fresh| fresh.value))
    }
}

impl ManagedCache for PersistentTable {
    fn name(&self) -> &str {
        self.entry.name()
    }

    fn stats(&self) -> Stats {
        self.stale
            .add_to(ManagedCache::stats(&**self.entry.store()))
    }

    fn clear(&self) -> Result<(), Error> {
        self.stale.reset();
        ManagedCache::clear(&**self.entry.store())
    }
}
