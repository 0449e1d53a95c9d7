//! [`CacheContext`](crate::CacheContext) with a `stale` window: its calls over a
//! [`PersistentTable`] (whatever the engine: the table works over any store).
//!
//! - [`PersistentTable::context_get_or_insert_with`] is a memo's call ([`sync::call`]): a
//!   stale entry is served to every caller but one, which refreshes it.
//! - [`PersistentTable::context_get`] answers with a fresh *or stale* value (a stale one
//!   counted as a stale hit): a `stale` window says how old a value may be served, and a
//!   plain read has no function to refresh with; the next `get_or_insert_with` refreshes.
//! - [`PersistentTable::context_set`] stores a value fresh from now for `ttl`.
//!
//! The entries are [`Fresh`] values in a key space of their own, so a context opened on
//! the same name and folder without `stale` never reads them as plain values (nor the
//! other way round).

use std::convert::Infallible;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use twat_cache_core::{Error, KeyBuf, encode_value};

use super::sync::{self, PersistentTable};
use super::{Fresh, now_ms};
use crate::store::{Store, get_decoded};

impl PersistentTable {
    /// The value under `arguments`, fresh or stale.
    ///
    /// # Errors
    ///
    /// The engine's read error.
    pub(crate) fn context_get<V: DeserializeOwned>(
        &self,
        arguments: &KeyBuf,
    ) -> Result<Option<V>, Error> {
        let key = self.entry.key_of(arguments.as_bytes());
        let found: Option<Fresh<V>> = get_decoded(&**self.entry.store(), &key)?;
        Ok(found.map(|found| {
            if found.is_fresh(now_ms()) {
                found.value
            } else {
                self.stale.serve(found)
            }
        }))
    }

    /// Stores `value` under `arguments`, fresh from now.
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] when the value cannot be serialized, or the engine's write error.
    pub(crate) fn context_set<V: Serialize + ?Sized>(
        &self,
        arguments: &KeyBuf,
        value: &V,
    ) -> Result<(), Error> {
        let payload = encode_value(&self.stale.fresh(value))?;
        self.entry
            .store()
            .set_bytes(&self.entry.key_of(arguments.as_bytes()), &payload)
    }

    /// The value under `arguments`, else `compute()`'s; a stale one is refreshed by one
    /// caller while the others get it (see the [module docs](super)).
    pub(crate) fn context_get_or_insert_with<V>(
        &self,
        arguments: Result<KeyBuf, Error>,
        compute: impl FnOnce() -> V,
    ) -> V
    where
        V: Serialize + DeserializeOwned + 'static,
    {
        match sync::call(self, arguments, || Ok::<V, Infallible>(compute())) {
            Ok(value) => value,
            Err(never) => match never {},
        }
    }

    /// Removes the value under `arguments`; `true` if there was one.
    ///
    /// # Errors
    ///
    /// The engine's write error.
    pub(crate) fn context_remove(&self, arguments: &KeyBuf) -> Result<bool, Error> {
        self.entry
            .store()
            .delete_bytes(&self.entry.key_of(arguments.as_bytes()))
    }

    /// The prefix of every key of the context's key space (for `invalidate_if`).
    pub(crate) fn context_prefix(&self) -> &[u8] {
        self.entry.prefix()
    }

    /// The store under the table.
    pub(crate) const fn context_store(&self) -> &Arc<dyn Store> {
        self.entry.store()
    }
}
