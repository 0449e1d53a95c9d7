//! Where a cache's entries live: one fjall keyspace, or — when the folder is locked by
//! another process — a plain in-memory map with the same operations.
//!
//! Everything above this module (index, memory front, eviction, expiry) is written once
//! against [`Store`]; the two variants only differ in where the bytes go.

use std::collections::HashMap;
use std::sync::Arc;

use fjall::{PersistMode, Slice};
use parking_lot::RwLock;
use twat_cache_core::Error;

use crate::database::SharedDatabase;

/// The largest key fjall accepts.
pub(crate) const MAX_KEY_LEN: usize = 65_535;
/// The largest value fjall accepts.
pub(crate) const MAX_VALUE_LEN: usize = u32::MAX as usize;

/// Whether fjall accepts `key`: 1 to 65 535 bytes (it panics otherwise).
pub(crate) const fn is_storable_key(key: &[u8]) -> bool {
    !key.is_empty() && key.len() <= MAX_KEY_LEN
}

/// `Ok` when fjall accepts `key`, else the error that says why not.
pub(crate) fn check_key(key: &[u8]) -> Result<(), Error> {
    if is_storable_key(key) {
        Ok(())
    } else {
        Err(Error::encode_message(
            "key",
            format_args!(
                "{} bytes; the disk engine stores keys of 1 to {MAX_KEY_LEN} bytes",
                key.len()
            ),
        ))
    }
}

/// `Ok` when fjall accepts `value` (at most [`MAX_VALUE_LEN`] bytes), else the error that
/// says why not.
pub(crate) fn check_value(value: &[u8]) -> Result<(), Error> {
    if value.len() > MAX_VALUE_LEN {
        return Err(Error::encode_message(
            "value",
            format_args!(
                "{} bytes; the disk engine stores values of at most {MAX_VALUE_LEN} bytes",
                value.len()
            ),
        ));
    }
    Ok(())
}

type MemoryMap = HashMap<Slice, Slice, foldhash::fast::RandomState>;

/// The entries of one cache.
pub(crate) enum Store {
    /// A fjall keyspace in the folder's shared database.
    Fjall {
        /// The folder's database (shared with every cache of the folder in this process).
        database: Arc<SharedDatabase>,
        /// This cache's keyspace name.
        keyspace: String,
    },
    /// The in-memory fallback used when another process holds the folder.
    Memory(RwLock<MemoryMap>),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Fjall { database, .. } => {
                f.debug_struct("Fjall").field("database", database).finish()
            }
            Self::Memory(map) => f
                .debug_struct("Memory")
                .field("entries", &map.read().len())
                .finish(),
        }
    }
}

impl Store {
    /// An empty in-memory store.
    pub(crate) fn memory() -> Self {
        Self::Memory(RwLock::new(MemoryMap::default()))
    }

    /// Whether this is the in-memory fallback.
    pub(crate) const fn is_memory(&self) -> bool {
        matches!(self, Self::Memory(_))
    }

    /// The stored bytes under `key`.
    pub(crate) fn get(&self, key: &[u8]) -> Result<Option<Slice>, Error> {
        match self {
            Self::Fjall { database, keyspace } => {
                database.with_keyspace(keyspace, |_, keyspace| keyspace.get(key))
            }
            Self::Memory(map) => Ok(map.read().get(key).cloned()),
        }
    }

    /// Stores `value` under `key`; with `durable`, fsyncs the journal before returning.
    pub(crate) fn insert(&self, key: Slice, value: Slice, durable: bool) -> Result<(), Error> {
        match self {
            Self::Fjall { database, keyspace } => {
                database.with_keyspace(keyspace, |database, keyspace| {
                    keyspace.insert(key, value)?;
                    sync_if(database, durable)
                })
            }
            Self::Memory(map) => {
                map.write().insert(key, value);
                Ok(())
            }
        }
    }

    /// Removes the entries under `keys` in one atomic batch.
    pub(crate) fn remove_many(&self, keys: &[Slice], durable: bool) -> Result<(), Error> {
        if keys.is_empty() {
            return Ok(());
        }
        match self {
            Self::Fjall { database, keyspace } => {
                database.with_keyspace(keyspace, |database, keyspace| {
                    if let [key] = keys {
                        keyspace.remove(key.clone())?;
                    } else {
                        let mut batch = database.batch();
                        for key in keys {
                            batch.remove(keyspace, key.clone());
                        }
                        batch.commit()?;
                    }
                    sync_if(database, durable)
                })
            }
            Self::Memory(map) => {
                let mut map = map.write();
                for key in keys {
                    map.remove(key.as_ref());
                }
                Ok(())
            }
        }
    }

    /// Removes every entry of this store (other caches of the folder are untouched).
    pub(crate) fn clear(&self, durable: bool) -> Result<(), Error> {
        match self {
            Self::Fjall { database, keyspace } => {
                database.with_keyspace(keyspace, |database, keyspace| {
                    keyspace.clear()?;
                    sync_if(database, durable)
                })
            }
            Self::Memory(map) => {
                map.write().clear();
                Ok(())
            }
        }
    }

    /// Visits every stored `(key, value)`; stops at the first error.
    pub(crate) fn for_each(&self, mut visit: impl FnMut(Slice, Slice)) -> Result<(), Error> {
        match self {
            Self::Fjall { database, keyspace } => {
                database.with_keyspace(keyspace, |_, keyspace| {
                    for guard in keyspace.iter() {
                        let (key, value) = guard.into_inner()?;
                        visit(key, value);
                    }
                    Ok(())
                })
            }
            Self::Memory(map) => {
                for (key, value) in map.read().iter() {
                    visit(key.clone(), value.clone());
                }
                Ok(())
            }
        }
    }

    /// Fsyncs the journal (a no-op in memory).
    pub(crate) fn flush(&self) -> Result<(), Error> {
        match self {
            Self::Fjall { database, keyspace } => database
                .with_keyspace(keyspace, |database, _| {
                    database.persist(PersistMode::SyncAll)
                }),
            Self::Memory(_) => Ok(()),
        }
    }

    /// Writes the memtable to a sorted table file (a no-op in memory); fjall merges
    /// tables in its background workers.
    pub(crate) fn compact(&self) -> Result<(), Error> {
        match self {
            Self::Fjall { database, keyspace } => {
                database.with_keyspace(keyspace, |_, keyspace| keyspace.rotate_memtable_and_wait())
            }
            Self::Memory(_) => Ok(()),
        }
    }
}

/// Fsyncs the journal's data when `durable`.
fn sync_if(database: &fjall::Database, durable: bool) -> Result<(), fjall::Error> {
    if durable {
        database.persist(PersistMode::SyncData)
    } else {
        Ok(())
    }
}
