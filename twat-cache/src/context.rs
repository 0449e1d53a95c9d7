//! [`CacheContext`]: a cache handle for direct use — the Rust form of the Python
//! library's context manager. Resources (the folder lock, buffered writes) are released
//! when the handle is dropped.

use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use twat_cache_core::{
    ByteStore, CacheConfig, EngineKind, Error, KeyBuf, ManagedCache, Namespace, Stats, encode_value,
};

use twat_cache_core::lease::LeaseDir;

use crate::memo::StaleTable;
use crate::memo::flight::Flights;
use crate::memo::lease;
use crate::store::{Store, get_decoded, open_store};

/// The name a `CacheContext` without a configured name uses for its key space.
const UNNAMED: &str = "twat_cache::context";

/// A cache over any engine, with keys and values of any `serde` type.
///
/// The engine is `config.engine()` (memory when unset). A named context is registered
/// while it lives, so [`clear_cache`](crate::clear_cache) and
/// [`get_stats`](crate::get_stats) see it. Dropping the handle flushes the engine and
/// releases its folder, so another `CacheContext` on the same folder can open.
///
/// With a [`stale`](CacheConfig::stale) window, [`get_or_insert_with`](Self::get_or_insert_with)
/// serves a stale entry to every caller but one, which recomputes it; [`get`](Self::get)
/// answers with fresh and stale values (a stale one counted in `Stats::stale_hits`); the
/// entries live in a key space of their own (see the crate README).
///
/// ```
/// use std::time::Duration;
/// use twat_cache::{CacheConfig, CacheContext};
///
/// let cache = CacheContext::new(
///     CacheConfig::builder().name("sessions").ttl(Duration::from_secs(600)).build()?,
/// )?;
/// cache.set(&"session_data_user123", &vec!["cart", "wishlist"])?;
/// let hit: Option<Vec<String>> = cache.get(&"session_data_user123")?;
/// assert_eq!(hit.as_deref(), Some(&["cart".to_owned(), "wishlist".to_owned()][..]));
/// assert!(cache.delete(&"session_data_user123")?);
/// assert_eq!(cache.get::<_, Vec<String>>(&"session_data_user123")?, None);
/// assert_eq!(cache.stats().hits, 1);
/// # Ok::<(), twat_cache::Error>(())
/// ```
pub struct CacheContext {
    store: Arc<dyn Store>,
    namespace: Namespace,
    engine: EngineKind,
    /// [`CacheContext::get_or_insert_with`]'s computations running in this process.
    flights: Flights,
    /// Per-key leases across processes sharing a file-engine folder.
    leases: Option<LeaseDir>,
    /// With a `stale` window, every call goes through this table instead (its own key
    /// space of values stamped with their freshness, over `store`).
    stale: Option<Arc<StaleTable>>,
}

impl std::fmt::Debug for CacheContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheContext")
            .field("name", &self.namespace.name())
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

impl CacheContext {
    /// Opens the engine `config` names (memory when none).
    ///
    /// # Errors
    ///
    /// [`Error::EngineUnavailable`] when the engine's Cargo feature is off, and whatever
    /// the engine fails at while opening: a folder that cannot be created, a folder locked
    /// by another process ([`Error::Locked`]), no cache root.
    #[allow(
        clippy::needless_pass_by_value,
        reason = "the public contract takes the configuration by value, like the builder's output"
    )]
    pub fn new(config: CacheConfig) -> Result<Self, Error> {
        let stale = StaleTable::open_for_context(&config, UNNAMED)?;
        let store = match &stale {
            // The table registered itself (named), with its stale hits in its stats.
            Some(table) => Arc::clone(table.context_store()),
            None => {
                let store = open_store(&config)?;
                if config.name().is_some() {
                    let managed: Arc<dyn ManagedCache> = store.clone();
                    twat_cache_core::registry::register(&managed);
                }
                store
            }
        };
        Ok(Self {
            namespace: config.namespace(UNNAMED),
            engine: config.engine().unwrap_or(EngineKind::Memory),
            flights: Flights::default(),
            leases: store
                .lease_folder()
                .map(|folder| LeaseDir::new(folder, config.secure())),
            store,
            stale,
        })
    }

    /// The engine behind this handle.
    #[must_use]
    pub const fn engine(&self) -> EngineKind {
        self.engine
    }

    /// The value stored under `key`, if there is a live one that decodes as `V` (with a
    /// [`stale`](CacheConfig::stale) window: a fresh or a stale one).
    ///
    /// An entry that does not decode as `V` (stored as another type, or corrupted) is
    /// removed, counted in `Stats::errors` (warned once), and reported as `Ok(None)` —
    /// never as a wrong value, and not as an error even if removing it fails (that is
    /// counted too).
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] when the key cannot be serialized, or the engine's read error.
    pub fn get<K: Serialize + ?Sized, V: DeserializeOwned>(
        &self,
        key: &K,
    ) -> Result<Option<V>, Error> {
        if let Some(table) = &self.stale {
            return table.context_get(&KeyBuf::encode(key)?);
        }
        get_decoded(&*self.store, &self.namespace.key(key)?)
    }

    /// Stores `value` under `key`, replacing any previous value.
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] when the key or value cannot be serialized, or the engine's
    /// write error (full disk, read-only folder, …).
    pub fn set<K: Serialize + ?Sized, V: Serialize + ?Sized>(
        &self,
        key: &K,
        value: &V,
    ) -> Result<(), Error> {
        if let Some(table) = &self.stale {
            return table.context_set(&KeyBuf::encode(key)?, value);
        }
        let key = self.namespace.key(key)?;
        let payload = encode_value(value)?;
        self.store.set_bytes(&key, &payload)
    }

    /// The value under `key`, or else `compute()`'s result, stored under `key`.
    ///
    /// Concurrent callers missing the same key compute it once: the other threads of
    /// this process wait for the first one's value, and so do other processes whose
    /// handles share a file-engine folder (through a per-key lease in the folder; a
    /// process holding it that dies hands the key to the next caller at once, and a wait
    /// never exceeds 30 seconds before the waiter computes on its own).
    ///
    /// With a [`stale`](CacheConfig::stale) window, an entry past its `ttl` but within
    /// the window is returned at once to every caller but one, which runs `compute` and
    /// stores its value (see [`CacheConfig::stale_if_error`] for a `compute` that panics:
    /// under it the old value is returned instead).
    ///
    /// This call never fails because of the cache: a key that will not encode, a read
    /// or write error, or a broken lease is counted in `Stats::errors` (warned once) and
    /// the value is computed and returned as if there were no cache.
    ///
    /// ```
    /// use twat_cache::{CacheConfig, CacheContext};
    ///
    /// let cache = CacheContext::new(CacheConfig::builder().name("squares").build()?)?;
    /// let mut runs = 0;
    /// for _ in 0..3 {
    ///     let nine: u64 = cache.get_or_insert_with(&3_u64, || {
    ///         runs += 1;
    ///         9
    ///     });
    ///     assert_eq!(nine, 9);
    /// }
    /// assert_eq!(runs, 1);
    /// # Ok::<(), twat_cache::Error>(())
    /// ```
    pub fn get_or_insert_with<K, V>(&self, key: &K, compute: impl FnOnce() -> V) -> V
    where
        K: Serialize + ?Sized,
        V: Serialize + DeserializeOwned + 'static,
    {
        if let Some(table) = &self.stale {
            return table.context_get_or_insert_with(KeyBuf::encode(key), compute);
        }
        let record = |err: &Error| self.store.record_error(err);
        let key = match self.namespace.key(key) {
            Ok(key) => key,
            Err(err) => {
                record(&err);
                return compute();
            }
        };
        let lookup = || -> Option<V> {
            get_decoded(&*self.store, &key)
                .map_err(|err| record(&err))
                .ok()?
        };
        if let Some(value) = lookup() {
            return value;
        }
        let leases = self.leases.as_ref().map(|leases| (leases, key.as_slice()));
        let _claim = match lease::claim(&self.flights, &key, leases, lookup, record) {
            Ok(claim) => claim,
            Err(value) => return value,
        };
        let value = compute();
        if let Err(err) =
            encode_value(&value).and_then(|payload| self.store.set_bytes(&key, &payload))
        {
            record(&err);
        }
        value
    }

    /// Removes the value under `key`; `true` if there was one.
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] when the key cannot be serialized, or the engine's write error.
    pub fn delete<K: Serialize + ?Sized>(&self, key: &K) -> Result<bool, Error> {
        if let Some(table) = &self.stale {
            return table.context_remove(&KeyBuf::encode(key)?);
        }
        let key = self.namespace.key(key)?;
        self.store.delete_bytes(&key)
    }

    /// Removes every entry of this cache (on disk too, for persistent engines).
    ///
    /// # Errors
    ///
    /// The engine's write error.
    pub fn clear(&self) -> Result<(), Error> {
        if let Some(table) = &self.stale {
            // Also zeroes the stale hits.
            return ManagedCache::clear(&**table);
        }
        // `Store` has `clear` twice (as a `ByteStore` and as a `ManagedCache`); same effect.
        ByteStore::clear(&*self.store)
    }

    /// Removes every entry whose key, decoded as `K`, `remove` picks (entries whose keys
    /// were stored as another type are kept); returns how many it removed. The targeted
    /// form of [`clear`](Self::clear): a prefix, a tenant, a user's entries.
    ///
    /// ```
    /// use twat_cache::{CacheConfig, CacheContext};
    ///
    /// let cache = CacheContext::new(CacheConfig::builder().name("pages").build()?)?;
    /// for path in ["/blog/a", "/blog/b", "/about"] {
    ///     cache.set(&path, &format!("<html>{path}</html>"))?;
    /// }
    /// let removed = cache.invalidate_if(|path: &String| path.starts_with("/blog/"))?;
    /// assert_eq!(removed, 2);
    /// assert_eq!(cache.get::<_, String>(&"/about")?.as_deref(), Some("<html>/about</html>"));
    /// # Ok::<(), twat_cache::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Unsupported`] for the persistent and Redis engines, which keep no key
    /// list this handle can visit (clear them with [`clear`](Self::clear), or purge a
    /// folder with the `twat-cache` command); nothing is removed then.
    pub fn invalidate_if<K: DeserializeOwned>(
        &self,
        mut remove: impl FnMut(&K) -> bool,
    ) -> Result<usize, Error> {
        let Some(memory) = self.store.as_memory() else {
            return Err(Error::Unsupported {
                engine: self.engine,
                operation: "invalidate_if (visiting the keys)",
            });
        };
        let prefix = match &self.stale {
            Some(table) => table.context_prefix(),
            None => self.namespace.prefix(),
        };
        Ok(memory.invalidate_if(|key| {
            key.strip_prefix(prefix)
                .and_then(|encoded| postcard::from_bytes::<K>(encoded).ok())
                .is_some_and(|key| remove(&key))
        }))
    }

    /// A snapshot of this cache's statistics.
    #[must_use]
    pub fn stats(&self) -> Stats {
        match &self.stale {
            Some(table) => ManagedCache::stats(&**table),
            None => ByteStore::stats(&*self.store),
        }
    }

    /// Writes buffered entries to stable storage now (dropping the handle also does).
    ///
    /// # Errors
    ///
    /// The engine's sync error.
    pub fn flush(&self) -> Result<(), Error> {
        self.store.flush()
    }
}

impl Drop for CacheContext {
    fn drop(&mut self) {
        if let Err(err) = self.store.flush() {
            tracing::warn!(cache = self.namespace.name(), error = %err, "twat-cache: flush on drop failed");
        }
    }
}

/// Opens a cache, runs `f` with it, and releases it (flushed, folder unlocked) before
/// returning `f`'s result — the closure form of [`CacheContext`].
///
/// ```
/// use twat_cache::{CacheConfig, engine_context};
///
/// let total = engine_context(CacheConfig::builder().build()?, |cache| {
///     cache.set(&("user", 7), &3_u32)?;
///     let hit: Option<u32> = cache.get(&("user", 7))?;
///     Ok::<u32, twat_cache::Error>(hit.unwrap_or_default() * 2)
/// })??;
/// assert_eq!(total, 6);
/// # Ok::<(), twat_cache::Error>(())
/// ```
///
/// # Errors
///
/// `Err` only when the cache could not open (see [`CacheContext::new`]); what `f`
/// returns is passed through untouched.
pub fn engine_context<R>(
    config: CacheConfig,
    f: impl FnOnce(&CacheContext) -> R,
) -> Result<R, Error> {
    let cache = CacheContext::new(config)?;
    let result = f(&cache);
    drop(cache);
    Ok(result)
}
