//! Opening a byte-level store for any engine, and the in-memory store used when an
//! engine is not compiled in or cannot open.

use std::any::Any;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use twat_cache_core::{
    ByteStore, CacheConfig, EngineKind, Error, ManagedCache, Stats, StatsCounter, decode_or_discard,
};
use twat_cache_memory::MemoryCache;

/// A store the facade can both use ([`ByteStore`]) and register ([`ManagedCache`]).
pub(crate) trait Store: ByteStore + ManagedCache {
    /// This store as the disk engine, when it is one: its typed `get` and `set` decode
    /// from and encode into the engine's own buffers, which the byte-level [`ByteStore`]
    /// calls cannot (they hand over an owned copy of the payload).
    fn into_disk(self: Arc<Self>) -> Option<Arc<Disk>>;

    /// The folder where processes sharing this store take per-key leases, when several
    /// processes can share it: the file engine's `<folder>/leases`. The disk engine's
    /// folder is one process's (fjall locks it; the others fall back to memory and could
    /// not read the leader's entry anyway), and memory is one process's by nature.
    fn lease_folder(&self) -> Option<std::path::PathBuf>;

    /// This store as the in-memory store, when it is one: it can visit its keys.
    fn as_memory(&self) -> Option<&MemoryStore>;

    /// This store as the Redis engine, when it is one: its misses take the engine's
    /// per-key lease (`SET NX PX`), so machines sharing the server compute a key once.
    fn as_redis(&self) -> Option<&Redis>;
}

impl<T: ByteStore + ManagedCache + Any> Store for T {
    fn into_disk(self: Arc<Self>) -> Option<Arc<Disk>> {
        let any: Arc<dyn Any + Send + Sync> = self;
        any.downcast().ok()
    }

    fn lease_folder(&self) -> Option<std::path::PathBuf> {
        file_lease_folder(self)
    }

    fn as_memory(&self) -> Option<&MemoryStore> {
        (self as &dyn Any).downcast_ref()
    }

    fn as_redis(&self) -> Option<&Redis> {
        (self as &dyn Any).downcast_ref()
    }
}

/// The Redis engine, reached for its leases.
#[cfg(feature = "redis")]
pub(crate) use twat_cache_redis::{LeaseTurn, RedisCache as Redis, RedisLease};

/// Without the `redis` feature there is no Redis engine: this type has no values, so
/// [`Store::as_redis`] is always `None`.
#[cfg(not(feature = "redis"))]
#[derive(Debug)]
pub(crate) enum Redis {}

#[cfg(not(feature = "redis"))]
impl Redis {
    /// `RedisCache::get_or_compute_bytes_with_lease`'s place in this build.
    pub(crate) fn get_or_compute_bytes_with_lease<T>(
        &self,
        _key_bytes: &[u8],
        _decode: impl FnMut(&[u8]) -> Option<T>,
        _compute: impl FnOnce() -> (T, Option<Vec<u8>>),
    ) -> T {
        match *self {}
    }

    /// `RedisCache::try_lease_bytes`'s place in this build.
    pub(crate) fn try_lease_bytes(&self, _key_bytes: &[u8]) -> Result<Option<RedisLease>, Error> {
        match *self {}
    }

    /// `RedisCache::lease_turn_bytes`'s place in this build.
    pub(crate) fn lease_turn_bytes<T>(
        &self,
        _key_bytes: &[u8],
        _decode: impl FnMut(&[u8]) -> Option<T>,
    ) -> LeaseTurn<T> {
        match *self {}
    }
}

/// Without the `redis` feature no Redis lease is ever held.
#[cfg(not(feature = "redis"))]
#[derive(Debug)]
pub(crate) enum RedisLease {}

/// `twat_cache_redis::LeaseTurn`'s place in this build (never built: see [`Redis`]).
#[cfg(not(feature = "redis"))]
#[allow(
    dead_code,
    reason = "mirrors the engine's type; no value is ever built"
)]
pub(crate) enum LeaseTurn<T> {
    Lead(RedisLease),
    Found(T),
    Alone,
}

#[cfg(feature = "file")]
fn file_lease_folder(store: &dyn Any) -> Option<std::path::PathBuf> {
    store
        .downcast_ref::<twat_cache_file::FileCache>()
        .map(|file| file.path().join("leases"))
}

#[cfg(not(feature = "file"))]
const fn file_lease_folder(_: &dyn Any) -> Option<std::path::PathBuf> {
    None
}

/// The disk engine, reached by its typed API where the facade can.
#[cfg(feature = "disk")]
pub(crate) use twat_cache_disk::DiskCache as Disk;

/// Without the `disk` feature there is no disk engine: this type has no values, so
/// [`Store::into_disk`] is always `None` and the typed calls below are never made.
#[cfg(not(feature = "disk"))]
#[derive(Debug)]
pub(crate) enum Disk {}

#[cfg(not(feature = "disk"))]
impl Disk {
    /// [`DiskCache::name`](https://docs.rs/twat-cache-disk)'s place in this build.
    pub(crate) fn name(&self) -> &str {
        match *self {}
    }

    /// `DiskCache::get`'s place in this build.
    pub(crate) fn get<K: ?Sized, V>(&self, _key: &K) -> Result<Option<V>, Error> {
        match *self {}
    }

    /// `DiskCache::set`'s place in this build.
    pub(crate) fn set<K: ?Sized, V: ?Sized>(&self, _key: &K, _value: &V) -> Result<(), Error> {
        match *self {}
    }
}

/// How many entries a memory fallback keeps when the persistent engine could not open
/// (its `maxsize` was in bytes, which does not translate to entries).
pub(crate) const FALLBACK_ENTRIES: u64 = 10_000;

/// The value stored under `key` in `store`, decoded as `V`. An entry that does not
/// decode is removed and counted (core's [`decode_or_discard`] rule) and reads as `None`.
///
/// # Errors
///
/// The engine's read error.
pub(crate) fn get_decoded<V: DeserializeOwned>(
    store: &dyn Store,
    key: &[u8],
) -> Result<Option<V>, Error> {
    let Some(payload) = store.get_bytes(key)? else {
        return Ok(None);
    };
    Ok(decode_or_discard(
        &payload,
        || store.delete_bytes(key),
        |err| store.record_error(err),
    ))
}

/// Opens the engine `config.engine()` names (memory when none).
///
/// # Errors
///
/// [`Error::EngineUnavailable`] when the engine's feature is not compiled in, or
/// whatever the engine fails at while opening (locked or unwritable folder, …).
pub(crate) fn open_store(config: &CacheConfig) -> Result<Arc<dyn Store>, Error> {
    match config.engine().unwrap_or(EngineKind::Memory) {
        EngineKind::Memory => Ok(Arc::new(MemoryStore::new(config, false))),
        EngineKind::Disk => open_disk(config),
        EngineKind::File => open_file(config),
        #[cfg(feature = "redis")]
        EngineKind::Redis => Ok(Arc::new(twat_cache_redis::RedisCache::open(config)?)),
        // `EngineKind::Redis` exists whenever any crate enables core's `redis` feature; this
        // facade opens it only with its own `redis` feature.
        #[allow(
            unreachable_patterns,
            reason = "reachable when core has more engines than this build"
        )]
        other => Err(Error::EngineUnavailable {
            engine: other,
            feature: other.as_str(),
        }),
    }
}

/// Opens the engine, or — when it is not compiled in or cannot open — an in-memory
/// store under the same name, with one `tracing::warn!` naming the reason and the
/// failure counted in `Stats::errors`.
pub(crate) fn open_store_or_memory(config: &CacheConfig) -> Arc<dyn Store> {
    match open_store(config) {
        Ok(store) => store,
        Err(err) => {
            let name = config.name().unwrap_or("unnamed");
            let engine = config.engine().unwrap_or(EngineKind::Memory);
            tracing::warn!(
                cache = name,
                engine = %engine,
                reason = %err,
                "twat-cache: the {engine} engine is not usable, caching in memory instead"
            );
            let mut fallback = CacheConfig::builder().name(name).maxsize(FALLBACK_ENTRIES);
            if let Some(ttl) = config.ttl() {
                fallback = fallback.ttl(ttl);
            }
            // Every value was already valid in `config`; the default is unreachable.
            let fallback = fallback.build().unwrap_or_default();
            Arc::new(MemoryStore::new(&fallback, true))
        }
    }
}

#[cfg(feature = "disk")]
fn open_disk(config: &CacheConfig) -> Result<Arc<dyn Store>, Error> {
    Ok(Arc::new(twat_cache_disk::DiskCache::open(config)?))
}

#[cfg(not(feature = "disk"))]
fn open_disk(_config: &CacheConfig) -> Result<Arc<dyn Store>, Error> {
    Err(Error::EngineUnavailable {
        engine: EngineKind::Disk,
        feature: "disk",
    })
}

#[cfg(feature = "file")]
fn open_file(config: &CacheConfig) -> Result<Arc<dyn Store>, Error> {
    Ok(Arc::new(twat_cache_file::FileCache::open(config)?))
}

#[cfg(not(feature = "file"))]
fn open_file(_config: &CacheConfig) -> Result<Arc<dyn Store>, Error> {
    Err(Error::EngineUnavailable {
        engine: EngineKind::File,
        feature: "file",
    })
}

/// Encoded values in memory: the byte-level face of the memory engine.
pub(crate) struct MemoryStore {
    name: String,
    cache: MemoryCache<Vec<u8>, Arc<[u8]>>,
    errors: StatsCounter,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("name", &self.name)
            .finish()
    }
}

impl MemoryStore {
    /// Removes the entries whose key bytes (namespace prefix included) `remove` picks;
    /// returns how many it removed.
    pub(crate) fn invalidate_if(&self, remove: impl FnMut(&[u8]) -> bool) -> usize {
        let mut remove = remove;
        self.cache.invalidate_if(|key, _| remove(key))
    }

    /// A memory store for `config`; `fell_back` counts, once in `errors`, the failure
    /// that made the caller fall back to memory.
    pub(crate) fn new(config: &CacheConfig, fell_back: bool) -> Self {
        let store = Self {
            name: config.name().unwrap_or("memory").to_owned(),
            cache: MemoryCache::new(config),
            errors: StatsCounter::new(),
        };
        if fell_back {
            // Counted without a second warning: open_store_or_memory already warned.
            store.errors.error_silently();
        }
        store
    }
}

impl ByteStore for MemoryStore {
    fn kind(&self) -> EngineKind {
        EngineKind::Memory
    }

    fn get_bytes(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.cache.get(&key.to_vec()).map(|bytes| bytes.to_vec()))
    }

    fn set_bytes(&self, key: &[u8], payload: &[u8]) -> Result<(), Error> {
        self.cache.insert(key.to_vec(), Arc::from(payload));
        Ok(())
    }

    fn delete_bytes(&self, key: &[u8]) -> Result<bool, Error> {
        Ok(self.cache.remove(&key.to_vec()))
    }

    fn clear(&self) -> Result<(), Error> {
        self.cache.clear();
        self.errors.reset();
        Ok(())
    }

    fn stats(&self) -> Stats {
        let mut stats = self.cache.stats();
        stats.errors += self.errors.errors();
        stats
    }

    fn record_error(&self, error: &Error) {
        self.errors.error(&self.name, error);
    }
}

impl ManagedCache for MemoryStore {
    fn name(&self) -> &str {
        &self.name
    }

    fn stats(&self) -> Stats {
        ByteStore::stats(self)
    }

    fn clear(&self) -> Result<(), Error> {
        ByteStore::clear(self)
    }
}
