//! `#[bcache]`, `#[fcache]` and persistent `#[ucache]`: encoded values in a byte store.
//!
//! Concurrent misses of one key in this process run the body once ([`Flights`]); the
//! other callers wait and then read the entry it stored. Over the file engine, whose
//! folder several processes share, the leader also takes the key's lease in the folder
//! (`leases/`, see [`super::lease`]), so the other processes wait for its entry too.
//! The disk engine needs no lease: its folder is one process's (fjall locks it), and a
//! second process falls back to memory, where it could not read the leader's entry
//! anyway — `#[fcache]` is the attribute for work shared by several processes.
//!
//! Keys are `Namespace::typed::<V>(name, version) ‖ postcard(arguments)`: the return
//! type's fingerprint in the namespace means a program whose function now returns
//! another type never even finds the old entries, and an entry that still fails to
//! decode is removed, counted and recomputed — never served wrong (core's
//! [`decode_or_discard`] rule).
//!
//! # The hit path
//!
//! On the disk engine a hit goes through `DiskCache`'s typed `get`, which builds the key
//! on the stack and decodes straight from the entry its memory front holds: no key
//! buffer on the heap and no copy of the payload. That needs the key expressed as a
//! `Serialize` value under the engine's own namespace (`(name, version)`); [`TypedKey`]
//! is that value, written by postcard as exactly the bytes the byte-level path uses, so
//! both paths find each other's entries. Other engines (and `Vec<u8>` values, which take
//! the raw-bytes path) go through the byte-level [`ByteStore`](twat_cache_core::ByteStore)
//! calls.

use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde::ser::{SerializeTuple, Serializer};
use twat_cache_core::lease::LeaseDir;
use twat_cache_core::{
    CacheConfig, ConfigError, Error, KeyBuf, ManagedCache, Namespace, decode_or_discard,
    decode_value, discard_undecodable, encode_value,
};

use super::flight::Flights;
use super::lease::{self, Held, LEASE_WAIT, RefreshLease, Turn};
use super::{bytes, infallible_call, memo_cell, observe, resolve_config};
use crate::store::{Disk, LeaseTurn, Redis, Store, open_store, open_store_or_memory};

memo_cell!(
    /// The cache of one persistently memoized function, as a `static` in its wrapper.
    PersistentMemo,
    PersistentEntry
);

/// An open store and the key space of one memoized function.
pub(super) struct PersistentEntry {
    /// `Namespace::typed::<V>`: the prefix of every key on the byte-level path.
    namespace: Namespace,
    /// The end of `namespace`'s prefix after `(name, version)`: the varint of
    /// `type_fingerprint::<V>()`, which [`TypedKey`] carries.
    type_tag: Box<[u8]>,
    store: Arc<dyn Store>,
    /// `store` as the disk engine, when it is one keyed under this entry's name.
    disk: Option<Arc<Disk>>,
    /// Keyed by the arguments' bytes alone: the flights are this function's own.
    pub(super) flights: Flights,
    /// Where processes sharing the store take per-key leases (file engine only).
    leases: Option<LeaseDir>,
}

impl<V: Serialize + DeserializeOwned + 'static> PersistentMemo<V> {
    fn entry(&self, make: impl FnOnce() -> Result<CacheConfig, ConfigError>) -> &PersistentEntry {
        self.cell
            .get_or_init(|| PersistentEntry::open::<V>(make, "twat_cache::bcache"))
    }

    infallible_call!();

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
        let arguments = match &key {
            Ok(key) => key.as_bytes(),
            Err(err) => {
                entry.store.record_error(err);
                return run();
            }
        };
        if let Some(redis) = entry.store.as_redis() {
            return entry.call_with_redis_lease(redis, arguments, run);
        }
        if let Some(value) = entry.lookup(arguments) {
            return Ok(value);
        }
        let _claim = match entry.claim(arguments) {
            Ok(claim) => claim,
            Err(value) => return Ok(value),
        };
        let value = observe::miss(entry.name(), run)?;
        entry.store_value(arguments, &value);
        Ok(value)
    }
}

impl PersistentEntry {
    /// Opens the store the configuration names (memory when it cannot), registers it, and
    /// derives the key space from the name, version and the value type.
    pub(super) fn open<V: 'static>(
        make: impl FnOnce() -> Result<CacheConfig, ConfigError>,
        fallback_name: &str,
    ) -> Self {
        let config = resolve_config(make, fallback_name);
        let entry = Self::open_unregistered::<V>(&config, fallback_name);
        let managed: Arc<dyn ManagedCache> = entry.store.clone();
        twat_cache_core::registry::register(&managed);
        entry
    }

    /// Opens the store `config` names (memory when it cannot) without registering it:
    /// for a caller that registers its own view of the store.
    pub(super) fn open_unregistered<V: 'static>(config: &CacheConfig, fallback_name: &str) -> Self {
        Self::over_store::<V>(config, fallback_name, open_store_or_memory(config))
    }

    /// As [`Self::open_unregistered`], but a store that cannot open is an error instead
    /// of a memory fallback (for [`CacheContext`](crate::CacheContext), which reports it).
    pub(super) fn open_checked<V: 'static>(
        config: &CacheConfig,
        fallback_name: &str,
    ) -> Result<Self, Error> {
        Ok(Self::over_store::<V>(
            config,
            fallback_name,
            open_store(config)?,
        ))
    }

    /// The entry over `store`, opened from `config`, with its leases when the store's
    /// folder is shared by processes.
    fn over_store<V: 'static>(
        config: &CacheConfig,
        fallback_name: &str,
        store: Arc<dyn Store>,
    ) -> Self {
        let leases = store
            .lease_folder()
            .map(|folder| LeaseDir::new(folder, config.secure()));
        Self {
            leases,
            ..Self::with_store::<V>(
                config.name().unwrap_or(fallback_name),
                config.version(),
                store,
            )
        }
    }

    /// The entry of the cache `name` at `version` for values of type `V` over `store`,
    /// which was opened from a configuration with this name and version.
    fn with_store<V: 'static>(name: &str, version: u32, store: Arc<dyn Store>) -> Self {
        // The disk engine keys on `Namespace::new(its name, version) ‖ postcard(key)`: under
        // the same name, a `TypedKey` there is this entry's key byte for byte.
        let disk = Arc::clone(&store)
            .into_disk()
            .filter(|disk| disk.name() == name);
        let namespace = Namespace::typed::<V>(name, version);
        let untyped = Namespace::new(name, version).prefix().len();
        let type_tag = namespace.prefix().get(untyped..).unwrap_or_default().into();
        Self {
            namespace,
            type_tag,
            store,
            disk,
            flights: Flights::default(),
            leases: None,
        }
    }

    /// A call over the Redis engine: its lease makes every process on every machine that
    /// misses `arguments` at once wait for one computation (the engine reads, leases,
    /// polls and stores; here only the value's encoding is decided). Server down: the
    /// body runs, as for any engine failure.
    pub(super) fn call_with_redis_lease<V, E>(
        &self,
        redis: &Redis,
        arguments: &[u8],
        run: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, E>
    where
        V: Serialize + DeserializeOwned + 'static,
    {
        let key = self.namespace.key_from_bytes(arguments);
        redis.get_or_compute_bytes_with_lease(
            &key,
            // An entry that does not decode is removed and counted by the engine.
            |payload| decode_value::<V>(payload).ok().map(Ok),
            || match observe::miss(self.name(), run) {
                Ok(value) => match encode_value(&value) {
                    Ok(payload) => (Ok(value), Some(payload)),
                    Err(err) => {
                        self.store.record_error(&err);
                        (Ok(value), None)
                    }
                },
                // An `Err` is returned, not cached.
                Err(err) => (Err(err), None),
            },
        )
    }

    /// The store, as opened.
    pub(super) const fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// After a miss of `arguments`: `Ok` with the claim to compute under (this process's
    /// flight and, over the file engine, the key's lease), or `Err` with the value another
    /// caller stored meanwhile.
    pub(super) fn claim<V: DeserializeOwned + 'static>(
        &self,
        arguments: &[u8],
    ) -> Result<lease::Claim<'_>, V> {
        let lease_key = self
            .leases
            .as_ref()
            .map(|leases| (leases, self.namespace.key_from_bytes(arguments)));
        lease::claim(
            &self.flights,
            arguments,
            lease_key
                .as_ref()
                .map(|(leases, key)| (*leases, key.as_slice())),
            || self.lookup(arguments),
            |err| self.store.record_error(err),
        )
    }

    /// Whether processes sharing the store take leases ([`Self::lease_turn`] waits): in
    /// a file-engine folder, or on the Redis server.
    pub(super) fn has_leases(&self) -> bool {
        self.leases.is_some() || self.store.as_redis().is_some()
    }

    /// After a miss that this process leads: take the key's lease across processes (and,
    /// over Redis, machines), or wait for the process holding it to store the value.
    pub(super) fn lease_turn<V: DeserializeOwned + 'static>(
        &self,
        arguments: &[u8],
    ) -> Turn<V, Held> {
        let key = self.namespace.key_from_bytes(arguments);
        if let Some(redis) = self.store.as_redis() {
            // An entry that does not decode is not taken: the wait goes on until the
            // holder's value arrives or the lease is gone.
            return match redis.lease_turn_bytes(&key, |payload| decode_value::<V>(payload).ok()) {
                LeaseTurn::Lead(lease) => Turn::Lead(Held::Redis(lease)),
                LeaseTurn::Found(value) => Turn::Found(value),
                LeaseTurn::Alone => Turn::Alone,
            };
        }
        let Some(leases) = &self.leases else {
            return Turn::Alone;
        };
        match lease::lead_or_wait(
            leases,
            key.as_ref(),
            LEASE_WAIT,
            || self.lookup(arguments),
            |err| self.store.record_error(err),
        ) {
            Turn::Lead(lease) => Turn::Lead(Held::Folder(lease)),
            Turn::Found(value) => Turn::Found(value),
            Turn::Alone => Turn::Alone,
        }
    }

    /// Before refreshing a stale entry: the key's lease across processes (and, over Redis,
    /// machines) if it is free, without waiting; [`RefreshLease::Elsewhere`] when
    /// another process holds it. A failing lease is counted and reads as `Alone`: a
    /// lease only avoids duplicate work.
    pub(super) fn try_refresh_lease(&self, arguments: &[u8]) -> RefreshLease {
        let key = self.namespace.key_from_bytes(arguments);
        let taken = if let Some(redis) = self.store.as_redis() {
            redis
                .try_lease_bytes(&key)
                .map(|lease| lease.map(Held::Redis))
        } else if let Some(leases) = &self.leases {
            leases
                .try_acquire(key.as_ref())
                .map(|lease| lease.map(Held::Folder))
        } else {
            return RefreshLease::Alone;
        };
        match taken {
            Ok(Some(held)) => RefreshLease::Held(held),
            Ok(None) => RefreshLease::Elsewhere,
            Err(err) => {
                self.store.record_error(&err);
                RefreshLease::Alone
            }
        }
    }

    /// The store key of the encoded `arguments` (this entry's namespace, then them).
    pub(super) fn key_of(&self, arguments: &[u8]) -> Vec<u8> {
        self.namespace.key_from_bytes(arguments)
    }

    /// The prefix of every key of this entry's key space.
    pub(super) fn prefix(&self) -> &[u8] {
        self.namespace.prefix()
    }

    /// The name the store is registered under.
    pub(super) fn name(&self) -> &str {
        self.store.name()
    }

    /// The encoded arguments, or `None` (counted) when they would not encode.
    pub(super) fn arguments(&self, key: Result<KeyBuf, Error>) -> Option<KeyBuf> {
        key.map_err(|err| self.store.record_error(&err)).ok()
    }

    /// The decoded value under the encoded `arguments`; failures are counted and read as
    /// a miss, and an entry that does not decode is removed.
    pub(super) fn lookup<V: DeserializeOwned + 'static>(&self, arguments: &[u8]) -> Option<V> {
        if let Some(disk) = self.typed_disk::<V>() {
            return disk.get(&self.typed_key(arguments)).unwrap_or_else(|err| {
                self.store.record_error(&err);
                None
            });
        }
        let key = self.namespace.key_from_bytes(arguments);
        let discard = || self.store.delete_bytes(&key);
        let record = |err: &Error| self.store.record_error(err);
        let found = if bytes::is_byte_buf::<V>() {
            self.store
                .get_raw_bytes(&key)
                .map(|raw| raw.and_then(bytes::from_byte_buf::<V>))
        } else {
            self.store.get_bytes(&key).map(|payload| {
                payload.and_then(|payload| decode_or_discard(&payload, discard, record))
            })
        };
        match found {
            Ok(value) => value,
            Err(Error::Decode(err)) => {
                discard_undecodable(err, discard, record);
                None
            }
            Err(err) => {
                record(&err);
                None
            }
        }
    }

    /// Stores `value` under the encoded `arguments`; a failure is counted, never returned.
    pub(super) fn store_value<V: Serialize + 'static>(&self, arguments: &[u8], value: &V) {
        let stored = if let Some(disk) = self.typed_disk::<V>() {
            disk.set(&self.typed_key(arguments), value)
        } else {
            let key = self.namespace.key_from_bytes(arguments);
            match bytes::as_byte_buf(value) {
                Some(raw) => self.store.set_raw_bytes(&key, raw),
                None => {
                    encode_value(value).and_then(|payload| self.store.set_bytes(&key, &payload))
                }
            }
        };
        if let Err(err) = stored {
            self.store.record_error(&err);
        }
    }

    /// The disk engine's typed API, for values of type `V` that go through serde
    /// (`Vec<u8>` values keep the raw-bytes path).
    #[inline]
    fn typed_disk<V: 'static>(&self) -> Option<&Disk> {
        if bytes::is_byte_buf::<V>() {
            None
        } else {
            self.disk.as_deref()
        }
    }

    #[inline]
    fn typed_key<'a>(&'a self, arguments: &'a [u8]) -> TypedKey<'a> {
        TypedKey {
            type_tag: &self.type_tag,
            arguments,
        }
    }
}

/// The rest of a memoized call's key after the engine's `(name, version)` prefix: the
/// value type's tag, then the already encoded arguments — written by postcard as exactly
/// these bytes, so that `Namespace::new(name, version) ‖ TypedKey` is byte for byte
/// `Namespace::typed::<V>(name, version) ‖ arguments`, the byte-level path's key.
///
/// Serde has no call for "these bytes, unframed", so they go out as a tuple of `u8`s:
/// postcard writes a tuple's elements with nothing around them, and a `u8` as itself.
/// Only postcard is meant to serialize it.
struct TypedKey<'a> {
    type_tag: &'a [u8],
    arguments: &'a [u8],
}

impl Serialize for TypedKey<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut tuple = serializer.serialize_tuple(self.type_tag.len() + self.arguments.len())?;
        for byte in self.type_tag.iter().chain(self.arguments) {
            tuple.serialize_element(byte)?;
        }
        tuple.end()
    }
}

#[cfg(test)]
mod tests {
    use twat_cache_core::{ByteStore, CacheConfig};

    use super::*;
    use crate::store::MemoryStore;

    fn memory_store(name: &str) -> Arc<dyn Store> {
        let config = CacheConfig::builder().name(name).build().unwrap();
        Arc::new(MemoryStore::new(&config, false))
    }

    #[test]
    fn a_typed_key_is_the_byte_level_key() {
        let nan = f64::NAN.to_bits().to_le_bytes();
        let patterns: [&[u8]; 8] = [
            b"",
            &[1],
            &[0xFF; 40],
            &[0, 128, 255, 3],
            &nan,
            &[nan, 1.5_f64.to_bits().to_le_bytes(), nan].concat(),
            b"sixteen bytes!!!",
            &(0..=255).collect::<Vec<u8>>(),
        ];
        for (name, version) in [("report", 0), ("my_crate::f", 7), ("", 300)] {
            let store = memory_store("t");
            let entry = PersistentEntry::with_store::<Vec<String>>(name, version, store);
            for arguments in patterns {
                assert_eq!(
                    Namespace::new(name, version)
                        .key(&entry.typed_key(arguments))
                        .unwrap(),
                    Namespace::typed::<Vec<String>>(name, version).key_from_bytes(arguments),
                    "{arguments:?}"
                );
            }
        }
    }

    #[test]
    fn an_undecodable_entry_is_removed_counted_and_recomputed() {
        let entry = PersistentEntry::with_store::<u64>("t::undecodable", 0, memory_store("t"));
        let arguments = KeyBuf::encode(&5_u32).unwrap();
        let key = entry.namespace.key_from_bytes(arguments.as_bytes());
        entry.store.set_bytes(&key, &[0xFF; 11]).unwrap();
        assert_eq!(entry.lookup::<u64>(arguments.as_bytes()), None);
        assert_eq!(ByteStore::stats(&*entry.store).errors, 1);
        assert_eq!(entry.store.get_bytes(&key).unwrap(), None);
        entry.store_value(arguments.as_bytes(), &25_u64);
        assert_eq!(entry.lookup::<u64>(arguments.as_bytes()), Some(25));
        assert_eq!(ByteStore::stats(&*entry.store).errors, 1);
    }

    #[test]
    fn a_garbled_byte_buffer_is_removed_and_counted() {
        let entry = PersistentEntry::with_store::<Vec<u8>>("t::raw", 0, memory_store("t"));
        let arguments = KeyBuf::encode(&1_u8).unwrap();
        let key = entry.namespace.key_from_bytes(arguments.as_bytes());
        // Says 9 bytes, holds 2.
        entry.store.set_bytes(&key, &[9, 1, 2]).unwrap();
        assert_eq!(entry.lookup::<Vec<u8>>(arguments.as_bytes()), None);
        assert_eq!(ByteStore::stats(&*entry.store).errors, 1);
        assert_eq!(entry.store.get_bytes(&key).unwrap(), None);
    }

    #[cfg(feature = "disk")]
    mod disk {
        use twat_cache_disk::{DiskCache, DiskOptions};

        use super::*;

        fn disk_store(root: &std::path::Path, name: &str) -> Arc<dyn Store> {
            let config = CacheConfig::builder()
                .name(name)
                .version(3)
                .build()
                .unwrap();
            let options = DiskOptions {
                root: Some(root.to_path_buf()),
                ..DiskOptions::default()
            };
            Arc::new(DiskCache::open_with(&config, options).unwrap())
        }

        #[test]
        fn the_direct_and_byte_level_paths_share_entries() {
            let root = tempfile::tempdir().unwrap();
            let store = disk_store(root.path(), "t::shared");
            let direct = PersistentEntry::with_store::<String>("t::shared", 3, Arc::clone(&store));
            assert!(direct.disk.is_some());
            let bytes = PersistentEntry {
                disk: None,
                ..PersistentEntry::with_store::<String>("t::shared", 3, store)
            };
            let first = KeyBuf::encode(&("a", 1_u8)).unwrap();
            let second = KeyBuf::encode(&"x".repeat(200)).unwrap();
            direct.store_value(first.as_bytes(), &"one".to_owned());
            bytes.store_value(second.as_bytes(), &"two".to_owned());
            assert_eq!(
                bytes.lookup::<String>(first.as_bytes()).as_deref(),
                Some("one")
            );
            assert_eq!(
                direct.lookup::<String>(second.as_bytes()).as_deref(),
                Some("two")
            );
            assert_eq!(
                direct.lookup::<String>(first.as_bytes()).as_deref(),
                Some("one")
            );
            // Another value type is another key space, on either path.
            let other =
                PersistentEntry::with_store::<u64>("t::shared", 3, Arc::clone(&direct.store));
            assert_eq!(other.lookup::<u64>(first.as_bytes()), None);
            assert_eq!(ByteStore::stats(&*direct.store).errors, 0);
        }

        #[test]
        fn an_undecodable_entry_on_the_direct_path_is_a_counted_miss() {
            let root = tempfile::tempdir().unwrap();
            let entry = PersistentEntry::with_store::<(u32, String)>(
                "t::garbled",
                3,
                disk_store(root.path(), "t::garbled"),
            );
            let arguments = KeyBuf::encode(&9_u64).unwrap();
            let key = entry.namespace.key_from_bytes(arguments.as_bytes());
            entry.store.set_bytes(&key, &[0xFF; 5]).unwrap();
            assert_eq!(entry.lookup::<(u32, String)>(arguments.as_bytes()), None);
            assert_eq!(ByteStore::stats(&*entry.store).errors, 1);
            assert_eq!(entry.store.get_bytes(&key).unwrap(), None);
        }

        #[test]
        fn a_disk_store_under_another_name_takes_the_byte_level_path() {
            let root = tempfile::tempdir().unwrap();
            let entry = PersistentEntry::with_store::<u8>(
                "t::mine",
                3,
                disk_store(root.path(), "t::other"),
            );
            assert!(entry.disk.is_none());
            let arguments = KeyBuf::encode(&()).unwrap();
            entry.store_value(arguments.as_bytes(), &4_u8);
            assert_eq!(entry.lookup::<u8>(arguments.as_bytes()), Some(4));
        }
    }
}
