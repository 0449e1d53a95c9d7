//! The traits engines implement.
//!
//! * [`ByteStore`] — persistent and remote engines (disk, file, Redis): keys are
//!   namespaced key bytes ([`Namespace::key`](crate::Namespace::key)), values are encoded
//!   payloads ([`encode_value`](crate::encode_value)). The engine owns expiry and its own
//!   envelope, so callers never see expired entries.
//! * [`TypedCache`] — in-memory engines, which keep values as typed Rust values and hand
//!   out clones, never bytes.
//!
//! Both are object-safe, so the facade's `CacheContext` can hold any engine behind a
//! `Box<dyn ByteStore>`.
//!
//! Naming rule for removal: the engine types' own methods say `remove` (as `HashMap` and
//! moka do); the facade's `CacheContext` says `delete`, the Python API's word, and so does
//! this layer's [`ByteStore::delete_bytes`], which serves it.

use crate::config::EngineKind;
use crate::error::Error;
use crate::stats::Stats;

/// A store of byte values under byte keys: what persistent engines implement.
pub trait ByteStore: Send + Sync {
    /// Which engine this is.
    fn kind(&self) -> EngineKind;

    /// The payload stored under `key`, if there is a live one.
    ///
    /// Expired or undecodable entries are removed and reported as `Ok(None)`.
    ///
    /// # Errors
    ///
    /// [`Error`] when the backend cannot be read.
    fn get_bytes(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Error>;

    /// Stores `payload` under `key`, replacing any previous entry.
    ///
    /// # Errors
    ///
    /// [`Error`] when the backend cannot be written.
    fn set_bytes(&self, key: &[u8], payload: &[u8]) -> Result<(), Error>;

    /// Removes the entry under `key`; `true` if there was one.
    ///
    /// # Errors
    ///
    /// [`Error`] when the backend cannot be written.
    fn delete_bytes(&self, key: &[u8]) -> Result<bool, Error>;

    /// Removes every entry of this store.
    ///
    /// # Errors
    ///
    /// [`Error`] when the backend cannot be written.
    fn clear(&self) -> Result<(), Error>;

    /// A snapshot of the store's statistics.
    fn stats(&self) -> Stats;

    /// Counts an error the caller absorbed on this store's behalf (for instance a payload
    /// that did not decode as the caller's type) and warns once per cause.
    fn record_error(&self, error: &Error);

    /// A byte-buffer value stored with [`set_raw_bytes`](Self::set_raw_bytes). Engines
    /// that can keep bytes unframed (the file engine) override this pair to skip a copy;
    /// the default stores them as postcard's `Vec<u8>` through the ordinary payload path.
    ///
    /// # Errors
    ///
    /// [`Error`] when the backend cannot be read or the entry is not a byte buffer.
    fn get_raw_bytes(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        match self.get_bytes(key)? {
            Some(payload) => Ok(Some(crate::codec::decode_byte_buf(payload)?)),
            None => Ok(None),
        }
    }

    /// Stores a byte-buffer value; read it back with [`get_raw_bytes`](Self::get_raw_bytes).
    ///
    /// # Errors
    ///
    /// [`Error`] when the backend cannot be written.
    fn set_raw_bytes(&self, key: &[u8], bytes: &[u8]) -> Result<(), Error> {
        self.set_bytes(key, &crate::codec::encode_byte_buf(bytes))
    }

    /// Writes buffered entries to stable storage.
    ///
    /// # Errors
    ///
    /// [`Error`] when the backend cannot be synced.
    fn flush(&self) -> Result<(), Error> {
        Ok(())
    }
}

/// A typed in-memory cache: what memory engines implement.
pub trait TypedCache<K, V>: Send + Sync {
    /// A clone of the live value under `key`, counting a hit or a miss.
    fn get(&self, key: &K) -> Option<V>;

    /// Stores `value` under `key`, evicting per the policy when full.
    fn insert(&self, key: K, value: V);

    /// Removes the entry under `key`; `true` if there was one.
    fn remove(&self, key: &K) -> bool;

    /// Removes every entry.
    fn clear(&self);

    /// A snapshot of the cache's statistics.
    fn stats(&self) -> Stats;
}
