//! [`FileCache`]: the public handle on a file cache.
//!
//! The handle resolves the cache folder and opens the [`Engine`] there; it turns typed
//! keys into bytes under its namespace and values into postcard payloads (or takes raw
//! bytes as they are), hands out streaming readers and writers, and implements the
//! facade's [`ByteStore`] and [`ManagedCache`]. Reading, writing, checking and sweeping
//! entries is the engine's business (`engine.rs`).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use twat_cache_core::envelope::Flags;
use twat_cache_core::root::{folder_name_for, resolve_folder};
use twat_cache_core::{
    ByteStore, CacheConfig, EngineKind, Error, ManagedCache, Namespace, Stats, decode_or_discard,
    encode_value,
};

use crate::engine::Engine;
use crate::options::FileCacheOptions;
use crate::stream::{FileReader, FileWriter};
use crate::sweep::SweepReport;

/// A content-addressed, integrity-checked file cache for large values.
///
/// Cheap to share: clone the `Arc` you keep it in; every method takes `&self`.
pub struct FileCache {
    engine: Arc<Engine>,
    /// Typed keys are encoded under this namespace (cache name and `version`).
    namespace: Namespace,
}

impl fmt::Debug for FileCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileCache")
            .field("name", &self.engine.name())
            .field("path", &self.engine.layout().root())
            .field("maxsize", &self.engine.maxsize())
            .field("ttl", &self.engine.ttl())
            .field("compression", &self.engine.compression())
            .finish_non_exhaustive()
    }
}

impl FileCache {
    /// Opens (creating it if needed) the cache folder of `config`: `<cache root>/<folder>`,
    /// where the folder is `config.folder()`, else the cache name (with characters other
    /// than ASCII letters, digits, `_`, `-` and `.` replaced by `_`, so `crate::func`
    /// becomes `crate__func`), else `"twat_cache_file"`. The name is `config.name()`, else `"file"`; `maxsize` is in
    /// bytes; `compress` selects zstd at level 3.
    ///
    /// ```
    /// use twat_cache_core::CacheConfig;
    /// use twat_cache_file::{FileCache, FileCacheOptions};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let config = CacheConfig::builder().name("arrays").build()?;
    /// let cache = FileCache::open_with(&config, FileCacheOptions::new().directory(dir.path()))?;
    /// cache.set(&("sum", 3_u32), &vec![1.5_f64, 2.5])?;
    /// assert_eq!(cache.get::<_, Vec<f64>>(&("sum", 3_u32))?, Some(vec![1.5, 2.5]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the folder would escape the cache root,
    /// [`Error::NoCacheRoot`] when there is no root, [`Error::Io`] when the folder cannot
    /// be created.
    pub fn open(config: &CacheConfig) -> Result<Self, Error> {
        Self::open_with(config, FileCacheOptions::default())
    }

    /// Opens the cache with extra [`FileCacheOptions`] (zstd level, an explicit
    /// directory, grace periods).
    ///
    /// # Errors
    ///
    /// As for [`FileCache::open`].
    pub fn open_with(config: &CacheConfig, options: FileCacheOptions) -> Result<Self, Error> {
        let name = config.name().unwrap_or("file").to_owned();
        let root = match options.directory_override() {
            Some(directory) => directory.to_path_buf(),
            None => resolve_folder(&folder_of(config))?,
        };
        let namespace = Namespace::new(&name, config.version());
        let engine = Engine::open(name, root, config, options)?;
        Ok(Self {
            engine: Arc::new(engine),
            namespace,
        })
    }

    /// The name the cache is registered under.
    #[must_use]
    pub fn name(&self) -> &str {
        self.engine.name()
    }

    /// The folder the cache keeps its files in.
    #[must_use]
    pub fn path(&self) -> &Path {
        self.engine.layout().root()
    }

    /// The value stored under `key`, if there is a live one that decodes as `V`.
    ///
    /// A stored payload that does not decode as `V` (the type changed) or that fails its
    /// integrity check is removed, counted in `errors`, and reported as `Ok(None)`.
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] when the key cannot be serialized, [`Error::Io`] when the folder
    /// cannot be read.
    pub fn get<K: Serialize + ?Sized, V: DeserializeOwned>(
        &self,
        key: &K,
    ) -> Result<Option<V>, Error> {
        let entry = self.engine.locate(&self.namespace.key(key)?);
        let Some((record, payload)) = self.engine.fetch(&entry, false)? else {
            self.engine.count_lookup(false);
            return Ok(None);
        };
        // An entry that no longer decodes is a miss: removed, counted, warned once.
        let value = decode_or_discard(
            &payload,
            || {
                self.engine.drop_entry(&entry, &record);
                Ok::<(), Error>(())
            },
            |err| self.engine.record_error(err),
        );
        self.engine.count_lookup(value.is_some());
        Ok(value)
    }

    /// Stores `value` (postcard-encoded, zstd-compressed when configured) under `key`.
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] when the key or value cannot be serialized, [`Error::Io`] or
    /// [`Error::Backend`] when the files cannot be written.
    pub fn set<K: Serialize + ?Sized, V: Serialize + ?Sized>(
        &self,
        key: &K,
        value: &V,
    ) -> Result<(), Error> {
        let entry = self.engine.locate(&self.namespace.key(key)?);
        let payload = encode_value(value)?;
        self.engine.store(&entry, &payload, Flags::NONE)
    }

    /// The bytes stored under `key` with [`FileCache::set_raw`] or
    /// [`FileCache::set_writer`]: no serde pass over the bytes.
    ///
    /// # Errors
    ///
    /// As for [`FileCache::get`].
    pub fn get_raw<K: Serialize + ?Sized>(&self, key: &K) -> Result<Option<Vec<u8>>, Error> {
        let entry = self.engine.locate(&self.namespace.key(key)?);
        let found = self.engine.fetch(&entry, true)?;
        self.engine.count_lookup(found.is_some());
        Ok(found.map(|(_, payload)| payload))
    }

    /// Stores `bytes` as they are under `key` (flagged raw; compressed when configured).
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let config = twat_cache_core::CacheConfig::builder().build()?;
    /// # let cache = twat_cache_file::FileCache::open_with(
    /// #     &config, twat_cache_file::FileCacheOptions::new().directory(dir.path()))?;
    /// // An array of f64 stored at memcpy speed: little-endian bytes in, bytes out.
    /// let samples = vec![0.25_f64; 1024];
    /// let bytes: Vec<u8> = samples.iter().flat_map(|x| x.to_le_bytes()).collect();
    /// cache.set_raw(&"samples", &bytes)?;
    /// let back: Vec<f64> = cache
    ///     .get_raw(&"samples")?
    ///     .unwrap_or_default()
    ///     .chunks_exact(8)
    ///     .map(|chunk| f64::from_le_bytes(chunk.try_into().unwrap_or_default()))
    ///     .collect();
    /// assert_eq!(back, samples);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`FileCache::set`].
    pub fn set_raw<K: Serialize + ?Sized>(&self, key: &K, bytes: &[u8]) -> Result<(), Error> {
        let entry = self.engine.locate(&self.namespace.key(key)?);
        self.engine.store(&entry, bytes, Flags::RAW)
    }

    /// A reader over the bytes stored under `key` (raw entries only), for values larger
    /// than memory. The content is verified as it streams: corruption surfaces as an
    /// [`io::ErrorKind::InvalidData`](std::io::ErrorKind::InvalidData) error from `read` (at the latest when the end is
    /// reached, before `read` returns `0`), and the entry is removed.
    ///
    /// # Errors
    ///
    /// As for [`FileCache::get`].
    pub fn get_reader<K: Serialize + ?Sized>(&self, key: &K) -> Result<Option<FileReader>, Error> {
        let entry = self.engine.locate(&self.namespace.key(key)?);
        let reader = FileReader::open(&self.engine, entry)?;
        self.engine.count_lookup(reader.is_some());
        Ok(reader)
    }

    /// A writer that streams a raw value under `key`; nothing is stored until
    /// [`FileWriter::commit`]. Dropping the writer abandons the value.
    ///
    /// # Errors
    ///
    /// As for [`FileCache::set`].
    pub fn set_writer<K: Serialize + ?Sized>(&self, key: &K) -> Result<FileWriter, Error> {
        let entry = self.engine.locate(&self.namespace.key(key)?);
        FileWriter::new(&self.engine, entry)
    }

    /// Removes the entry under `key`; `true` if there was one.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the files cannot be removed.
    pub fn remove<K: Serialize + ?Sized>(&self, key: &K) -> Result<bool, Error> {
        let entry = self.engine.locate(&self.namespace.key(key)?);
        self.engine.remove(&entry)
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

    /// Removes every entry of this cache from its folder (entries of other caches that
    /// share the folder stay), orphaned content, and resets the counters.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the folder cannot be read or files cannot be removed.
    pub fn clear(&self) -> Result<(), Error> {
        self.engine.clear()
    }

    /// Removes expired entries, evicts least-recently-used entries while the cache is over
    /// `maxsize`, removes orphaned content and abandoned temporary files, and recounts.
    /// Writes run this by themselves when needed; call it to tidy a folder on demand.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the folder cannot be read or files cannot be removed.
    pub fn sweep(&self) -> Result<SweepReport, Error> {
        self.engine.sweep()
    }

    /// A snapshot of the statistics; `size` is the number of entries of this cache in the
    /// folder (scanned once, then tracked; other processes' writes show up at the next
    /// sweep).
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.engine.stats()
    }
}

/// The folder of the cache `config` describes, relative to the cache root:
/// `config.folder()`, else the cache name made into a folder name (core's
/// [`folder_name_for`]), else `twat_cache_file`.
fn folder_of(config: &CacheConfig) -> PathBuf {
    match (config.folder(), config.name()) {
        (Some(folder), _) => folder.to_path_buf(),
        (None, Some(name)) => PathBuf::from(folder_name_for(name)),
        (None, None) => PathBuf::from("twat_cache_file"),
    }
}

impl ByteStore for FileCache {
    fn kind(&self) -> EngineKind {
        EngineKind::File
    }

    fn get_bytes(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        let entry = self.engine.locate(key);
        let found = self.engine.fetch(&entry, false)?;
        self.engine.count_lookup(found.is_some());
        Ok(found.map(|(_, payload)| payload))
    }

    fn set_bytes(&self, key: &[u8], payload: &[u8]) -> Result<(), Error> {
        let entry = self.engine.locate(key);
        self.engine.store(&entry, payload, Flags::NONE)
    }

    fn delete_bytes(&self, key: &[u8]) -> Result<bool, Error> {
        let entry = self.engine.locate(key);
        self.engine.remove(&entry)
    }

    fn get_raw_bytes(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        let entry = self.engine.locate(key);
        let found = self.engine.fetch(&entry, true)?;
        self.engine.count_lookup(found.is_some());
        Ok(found.map(|(_, payload)| payload))
    }

    fn set_raw_bytes(&self, key: &[u8], bytes: &[u8]) -> Result<(), Error> {
        let entry = self.engine.locate(key);
        self.engine.store(&entry, bytes, Flags::RAW)
    }

    fn clear(&self) -> Result<(), Error> {
        self.engine.clear()
    }

    fn stats(&self) -> Stats {
        self.engine.stats()
    }

    fn record_error(&self, error: &Error) {
        self.engine.record_error(error);
    }
}

impl ManagedCache for FileCache {
    fn name(&self) -> &str {
        self.engine.name()
    }

    fn stats(&self) -> Stats {
        self.engine.stats()
    }

    fn clear(&self) -> Result<(), Error> {
        self.engine.clear()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_are_portable() {
        let folder_of_name =
            |name: &str| folder_of(&CacheConfig::builder().name(name).build().unwrap());
        assert_eq!(
            folder_of_name("my_crate::compute"),
            PathBuf::from("my_crate__compute")
        );
        assert_eq!(folder_of_name("a/b c"), PathBuf::from("a_b_c"));
        let dots = folder_of_name("..");
        assert_eq!(dots.components().count(), 1);
        assert!(
            twat_cache_core::validate_folder(&dots).is_ok(),
            "`..` maps inside the root"
        );
        let unnamed = CacheConfig::builder().build().unwrap();
        assert_eq!(folder_of(&unnamed), PathBuf::from("twat_cache_file"));
    }

    #[test]
    fn file_cache_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<FileCache>();
        assert_send_sync::<FileReader>();
        assert_send_sync::<FileWriter>();
    }
}
