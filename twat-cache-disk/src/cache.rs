//! [`DiskCache`]: the public handle on a disk cache.
//!
//! A handle is what a user opens and keeps: it resolves the folder, opens (or joins) the
//! shared [`Engine`] of its cache name there, and adds what is its own — the key
//! namespace (name and `version`), `ttl` and `durable`. Typed calls encode the key under
//! the namespace (on the stack when it is short) and the value into core's envelope; the
//! engine sees only key bytes and envelopes. How entries are read, written, evicted and
//! expired is the engine's business (`engine.rs`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use twat_cache_core::envelope::{self, Flags, HEADER_LEN, Header};
use twat_cache_core::registry::ManagedCache;
use twat_cache_core::root::{create_cache_dir, folder_name_for, resolve_folder};
use twat_cache_core::{
    ByteStore, CacheConfig, EngineKind, Error, Namespace, Stats, decode_or_discard, validate_folder,
};

use crate::engine::{Engine, Lookup};
use crate::folder::{Folder, keyspace_name};
use crate::options::DiskOptions;

/// Keys of up to this many bytes are built on the stack on the typed path.
const STACK_KEY_LEN: usize = 128;

/// A persistent cache in one folder: fjall underneath, a byte-bounded memory front on
/// top, TTL, a byte budget with approximate-LRU eviction, and a fallback to memory when
/// another process holds the folder.
///
/// Cheap to share behind an [`Arc`]; every method takes `&self` and is thread-safe.
/// Handles opened in one process on the same folder and name share one index, front and
/// keyspace (the first handle's `maxsize` and front budget apply to all of them); each
/// handle keeps its own `ttl`, `durable` and key `version`.
#[derive(Debug)]
pub struct DiskCache {
    engine: Arc<Engine>,
    namespace: Namespace,
    ttl: Option<Duration>,
    durable: bool,
}

impl DiskCache {
    /// Opens (creating if needed) the cache described by `config` with default
    /// [`DiskOptions`].
    ///
    /// The folder is `<cache root>/<config.folder()>` (default: the cache name with
    /// path-unsafe characters replaced by `_`, or `twat_cache_disk` for an unnamed cache);
    /// the cache is named `config.name()` or `"disk"`; `maxsize` is in bytes; `compress`
    /// is ignored by this engine.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a folder outside the root, [`Error::NoCacheRoot`], and
    /// [`Error::Io`] / [`Error::Backend`] when the folder cannot be created or opened
    /// (read-only, permission denied, corrupt). A folder locked by another process is
    /// *not* an error: the cache falls back to memory (see [`DiskCache::is_fallback`]).
    pub fn open(config: &CacheConfig) -> Result<Self, Error> {
        Self::open_with(config, DiskOptions::default())
    }

    /// Opens the cache described by `config` with engine-specific `options`.
    ///
    /// ```
    /// use twat_cache_core::CacheConfig;
    /// use twat_cache_disk::{DiskCache, DiskOptions};
    ///
    /// let root = tempfile::tempdir()?;
    /// let config = CacheConfig::builder().name("squares").folder("math").build()?;
    /// let options = DiskOptions::new().root(root.path());
    /// let cache = DiskCache::open_with(&config, options)?;
    /// cache.set(&7_u32, &49_u64)?;
    /// assert_eq!(cache.get::<_, u64>(&7_u32)?, Some(49));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`DiskCache::open`].
    #[allow(
        clippy::needless_pass_by_value,
        reason = "every engine's options are a builder passed by value (one rule for all)"
    )]
    pub fn open_with(config: &CacheConfig, options: DiskOptions) -> Result<Self, Error> {
        let name = config.name().unwrap_or("disk");
        let path = folder_path(config, &options)?;
        create_cache_dir(&path, config.secure())?;
        let folder = Folder::open(&path, options.lock_wait, config.secure())?;
        let fallback = folder.is_fallback();
        let engine = folder.tenant(&keyspace_name(name), |store| {
            Engine::open(
                name,
                Arc::clone(&folder),
                store,
                options.front_bytes,
                config.maxsize(),
            )
            .map(Arc::new)
        })?;
        if fallback {
            engine.record_error(&Error::Locked(folder.path().to_path_buf()));
        }
        // fjall has written its marker, journal and this cache's keyspace folder.
        engine.tighten_folder();
        engine.schedule_sweeps(config.ttl());
        Ok(Self {
            namespace: Namespace::new(name, config.version()),
            engine,
            ttl: config.ttl(),
            durable: config.durable(),
        })
    }

    /// The cache name.
    #[must_use]
    pub fn name(&self) -> &str {
        self.engine.name()
    }

    /// The folder holding the cache (canonical path).
    #[must_use]
    pub fn path(&self) -> PathBuf {
        self.engine.folder().path().to_path_buf()
    }

    /// Whether this cache runs in memory because another process held the folder.
    #[must_use]
    pub fn is_fallback(&self) -> bool {
        self.engine.folder().is_fallback()
    }

    /// Encodes `key` under this cache's namespace, on the stack when it is short.
    #[inline]
    fn with_key<K: Serialize + ?Sized, R>(
        &self,
        key: &K,
        with: impl FnOnce(&[u8]) -> Result<R, Error>,
    ) -> Result<R, Error> {
        let prefix = self.namespace.prefix();
        let mut buffer = [0_u8; STACK_KEY_LEN];
        if let Some((head, tail)) = buffer.split_at_mut_checked(prefix.len()) {
            head.copy_from_slice(prefix);
            match postcard::to_slice(key, tail) {
                Ok(used) => {
                    let len = prefix.len() + used.len();
                    return with(buffer.get(..len).unwrap_or_default());
                }
                Err(postcard::Error::SerializeBufferFull) => {}
                Err(err) => return Err(Error::unencodable_key(err)),
            }
        }
        with(&self.namespace.key(key)?)
    }

    /// The value stored under `key`, if there is a live one of type `V`.
    ///
    /// An entry that does not decode as `V` (the type changed, the bytes are garbled) is
    /// removed, counted in [`Stats::errors`] (warned once) and reported as a miss.
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] when the key cannot be serialized, [`Error::Io`] /
    /// [`Error::Backend`] when the disk cannot be read.
    pub fn get<K: Serialize + ?Sized, V: DeserializeOwned>(
        &self,
        key: &K,
    ) -> Result<Option<V>, Error> {
        self.with_key(key, |key| {
            let Lookup::Found(entry) = self.engine.lookup(key)? else {
                self.engine.record_miss();
                return Ok(None);
            };
            // An entry that no longer decodes is a miss: removed, counted, warned once.
            let value = decode_or_discard(
                entry.payload(),
                || self.engine.remove(key, false),
                |err| self.engine.record_error(err),
            );
            if value.is_some() {
                self.engine.record_hit();
            } else {
                self.engine.record_miss();
            }
            Ok(value)
        })
    }

    /// Stores `value` under `key`, replacing any previous entry; with `durable`, the
    /// journal is fsynced before this returns.
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] when the key or value cannot be serialized, [`Error::Io`] /
    /// [`Error::Backend`] when the disk cannot be written.
    pub fn set<K: Serialize + ?Sized, V: Serialize + ?Sized>(
        &self,
        key: &K,
        value: &V,
    ) -> Result<(), Error> {
        let header = Header::new(Flags::NONE, self.ttl);
        let envelope = envelope::seal_value(header, value)?;
        self.with_key(key, |key| {
            self.engine
                .store(key, envelope, header.expires_at.unwrap_or(0), self.durable)
        })
    }

    /// Removes the entry under `key`; `true` if there was one.
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] when the key cannot be serialized, [`Error::Io`] /
    /// [`Error::Backend`] when the disk cannot be written.
    pub fn remove<K: Serialize + ?Sized>(&self, key: &K) -> Result<bool, Error> {
        self.with_key(key, |key| self.engine.remove(key, self.durable))
    }

    /// Removes the entry under `key`; `true` if there was one.
    ///
    /// # Errors
    ///
    /// As for [`remove`](Self::remove).
    #[deprecated(note = "use remove")]
    pub fn delete<K: Serialize + ?Sized>(&self, key: &K) -> Result<bool, Error> {
        self.remove(key)
    }

    /// Removes every entry of this cache (other caches sharing the folder keep theirs)
    /// and resets its statistics.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] / [`Error::Backend`] when the disk cannot be written.
    pub fn clear(&self) -> Result<(), Error> {
        self.engine.clear(self.durable)
    }

    /// A snapshot of the statistics: `size` is the number of entries, `maxsize` the byte
    /// budget.
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.engine.stats()
    }

    /// The bytes the cache's entries take (keys plus stored values, before fjall's
    /// block compression): what `maxsize` bounds.
    #[must_use]
    pub fn bytes(&self) -> u64 {
        self.engine.bytes()
    }

    /// Fsyncs everything written so far to stable storage.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] / [`Error::Backend`] when the sync fails.
    pub fn flush(&self) -> Result<(), Error> {
        self.engine.flush()
    }

    /// Writes the entries held in fjall's in-memory table to a sorted table file now
    /// (fjall does it by itself as the table fills), so the next open replays less
    /// journal. A no-op for the in-memory fallback.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] / [`Error::Backend`] when the table cannot be written.
    pub fn compact(&self) -> Result<(), Error> {
        self.engine.compact()
    }

    /// Removes every expired entry now (the background sweeper also does this
    /// periodically).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] / [`Error::Backend`] when the disk cannot be written.
    pub fn remove_expired(&self) -> Result<(), Error> {
        self.engine.sweep()
    }
}

impl ByteStore for DiskCache {
    fn kind(&self) -> EngineKind {
        EngineKind::Disk
    }

    fn get_bytes(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        match self.engine.lookup(key)? {
            Lookup::Found(entry) => {
                self.engine.record_hit();
                Ok(Some(entry.payload().to_vec()))
            }
            Lookup::Missing => {
                self.engine.record_miss();
                Ok(None)
            }
        }
    }

    fn set_bytes(&self, key: &[u8], payload: &[u8]) -> Result<(), Error> {
        let header = Header::new(Flags::NONE, self.ttl);
        let mut envelope = Vec::with_capacity(HEADER_LEN + payload.len());
        header.write_to(&mut envelope);
        envelope.extend_from_slice(payload);
        self.engine
            .store(key, envelope, header.expires_at.unwrap_or(0), self.durable)
    }

    fn delete_bytes(&self, key: &[u8]) -> Result<bool, Error> {
        self.engine.remove(key, self.durable)
    }

    fn clear(&self) -> Result<(), Error> {
        DiskCache::clear(self)
    }

    fn stats(&self) -> Stats {
        DiskCache::stats(self)
    }

    fn record_error(&self, error: &Error) {
        self.engine.record_error(error);
    }

    fn flush(&self) -> Result<(), Error> {
        DiskCache::flush(self)
    }
}

impl ManagedCache for DiskCache {
    fn name(&self) -> &str {
        DiskCache::name(self)
    }

    fn stats(&self) -> Stats {
        DiskCache::stats(self)
    }

    fn clear(&self) -> Result<(), Error> {
        DiskCache::clear(self)
    }
}

/// The folder of the cache `config` describes: `config.folder()`, else the cache name made
/// into a folder name (core's [`folder_name_for`]), under `options.root` or the cache root.
fn folder_path(config: &CacheConfig, options: &DiskOptions) -> Result<PathBuf, Error> {
    let folder = match config.folder() {
        Some(folder) => folder.to_path_buf(),
        None => PathBuf::from(folder_name_for(config.name().unwrap_or("twat_cache_disk"))),
    };
    match &options.root {
        Some(root) => {
            validate_folder(&folder)?;
            Ok(root.join(folder))
        }
        None => resolve_folder(&folder),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_send_sync_and_object_safe() {
        fn assert_send_sync<T: Send + Sync + std::fmt::Debug>() {}
        assert_send_sync::<DiskCache>();
        let root = tempfile::tempdir().unwrap();
        let config = CacheConfig::builder().name("objects").build().unwrap();
        let options = DiskOptions {
            root: Some(root.path().to_path_buf()),
            ..DiskOptions::default()
        };
        let cache = Arc::new(DiskCache::open_with(&config, options).unwrap());
        let bytes: Arc<dyn ByteStore> = cache.clone();
        let managed: Arc<dyn ManagedCache> = cache;
        assert_eq!(bytes.kind(), EngineKind::Disk);
        assert_eq!(managed.name(), "objects");
    }

    #[test]
    fn folder_names_are_path_safe() {
        let root = tempfile::tempdir().unwrap();
        let options = DiskOptions {
            root: Some(root.path().to_path_buf()),
            ..DiskOptions::default()
        };
        let folder_of = |name: &str| {
            let config = CacheConfig::builder().name(name).build().unwrap();
            folder_path(&config, &options).unwrap()
        };
        assert_eq!(
            folder_of("my_crate::reports"),
            root.path().join("my_crate__reports")
        );
        assert_eq!(folder_of("a/b"), root.path().join("a_b"));
        let dots = folder_of("..");
        assert_eq!(
            dots.parent(),
            Some(root.path()),
            "`..` stays inside the root"
        );
        assert_ne!(dots.file_name().and_then(|name| name.to_str()), Some(".."));
        let unnamed = CacheConfig::builder().build().unwrap();
        assert_eq!(
            folder_path(&unnamed, &options).unwrap(),
            root.path().join("twat_cache_disk")
        );
    }
}
