//! [`LazyStore`]: the persistent engine behind a `PersistentMemo`, opened on first use.
//!
//! `@bcache` stores through a facade [`CacheContext`] on the disk engine. `@fcache` uses
//! the facade's [`FileCache`] directly, with raw entries: a hit streams the file into the
//! objects it becomes (each out-of-band pickle buffer read straight into its
//! `bytearray`), so a 1 MiB array is copied once instead of three times (file → payload →
//! decoded value → buffer) — `CacheContext` only hands out whole decoded values.
//!
//! The GIL is released around every engine call (open, read, write, clear, zstd). An
//! engine that cannot open (a folder another process holds, an unwritable root) falls
//! back to memory with one `RuntimeWarning`; an engine error on a call is a miss (the
//! engine counts it in `Stats::errors`).

use std::io::{BufReader, Read};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use pyo3::exceptions::PyRuntimeWarning;
use pyo3::prelude::*;
use serde_bytes::{ByteBuf, Bytes};
use twat_cache::{CacheConfig, CacheContext, EngineKind, FileCache, Stats};
use twat_cache_core::ManagedCache;

use crate::context::engine_error;
use crate::pickle::{dumps, loads, loads_from};

/// Bytes read from a file entry at once (its header and small pickles fit).
const READ_BUFFER: usize = 16 * 1024;

/// Entries up to this size are read whole in one go; larger ones stream.
const SMALL_ENTRY: u64 = 64 * 1024;

/// A located file entry (`R`: the file engine's reader, which the facade does not name).
enum FileEntry<R> {
    /// Read whole and verified.
    Small(Vec<u8>),
    /// Open, to be streamed.
    Large(R),
}

/// An open persistent engine.
enum Backend {
    /// The file engine, raw entries holding the pickle payload.
    Files(Arc<FileCache>),
    /// Any engine through the facade's `CacheContext` (disk, or the memory fallback).
    Context(Arc<CacheContext>),
}

/// The engine `config` names, opened on first use and shared by every call.
pub(crate) struct LazyStore {
    config: CacheConfig,
    /// `None` only if even the memory fallback failed to open: calls then run uncached.
    backend: OnceLock<Option<Backend>>,
    opening: Mutex<()>,
}

impl LazyStore {
    pub(crate) const fn new(config: CacheConfig) -> Self {
        Self {
            config,
            backend: OnceLock::new(),
            opening: Mutex::new(()),
        }
    }

    /// The open engine (opened now, without the GIL, if it was not).
    fn backend(&self, py: Python<'_>) -> Option<&Backend> {
        if let Some(backend) = self.backend.get() {
            return backend.as_ref();
        }
        let failure = py.detach(|| {
            let _opening = self.opening.lock();
            if self.backend.get().is_some() {
                return None;
            }
            let (backend, failure) = match open(&self.config) {
                Ok(backend) => (Some(backend), None),
                Err(err) => (
                    memory_fallback(&self.config).map(|c| Backend::Context(Arc::new(c))),
                    Some(err.to_string()),
                ),
            };
            // Only this thread sets it (under `opening`).
            let _ = self.backend.set(backend);
            failure
        });
        if let Some(reason) = failure {
            let message = format!(
                "twat_cache: cache '{}' could not open its {} engine ({reason}); caching in memory instead",
                self.config.name().unwrap_or("unnamed"),
                self.config.engine().unwrap_or(EngineKind::Memory),
            );
            if let Ok(message) = std::ffi::CString::new(message) {
                // A warning filter set to "error" must not make the call fail either.
                let _ = PyErr::warn(py, &py.get_type::<PyRuntimeWarning>(), &message, 1);
            }
        }
        self.backend.get().and_then(Option::as_ref)
    }

    /// The value stored under `key`. A miss, an engine error, a damaged entry or one
    /// that no longer unpickles is `None` (the last two are removed).
    pub(crate) fn load<'py>(&self, py: Python<'py>, key: &[u8]) -> Option<Bound<'py, PyAny>> {
        match self.backend(py)? {
            Backend::Files(files) => {
                // One release of the GIL: locate, open and — for a small entry — read it
                // whole (the read verifies it); a large one streams into its buffers.
                let entry = py
                    .detach(|| -> Result<Option<FileEntry<_>>, std::io::Error> {
                        let Some(mut reader) = files
                            .get_reader(Bytes::new(key))
                            .map_err(std::io::Error::other)?
                        else {
                            return Ok(None);
                        };
                        if reader.len() > SMALL_ENTRY {
                            return Ok(Some(FileEntry::Large(reader)));
                        }
                        let mut payload = Vec::new();
                        reader.read_to_end(&mut payload)?;
                        Ok(Some(FileEntry::Small(payload)))
                    })
                    .ok()??;
                let loaded = match entry {
                    FileEntry::Small(payload) => loads(py, &payload),
                    FileEntry::Large(reader) => {
                        // The header and pickle in one read; large buffers bypass it.
                        loads_from(py, &mut BufReader::with_capacity(READ_BUFFER, reader), true)
                    }
                };
                match loaded {
                    Ok(value) => Some(value),
                    Err(_) => {
                        // Damage was already removed by the engine; a pickle that no
                        // longer loads is removed here.
                        let _ = py.detach(|| files.remove(Bytes::new(key)));
                        None
                    }
                }
            }
            Backend::Context(context) => {
                let payload = py
                    .detach(|| context.get::<_, ByteBuf>(Bytes::new(key)))
                    .ok()??;
                match loads(py, &payload) {
                    Ok(value) => Some(value),
                    Err(_) => {
                        let _ = py.detach(|| context.delete(Bytes::new(key)));
                        None
                    }
                }
            }
        }
    }

    /// Stores `value` pickled under `key`; a value that cannot be pickled or an engine
    /// error is not stored (the engine counts its errors).
    pub(crate) fn save(&self, py: Python<'_>, key: &[u8], value: &Bound<'_, PyAny>) {
        let Some(backend) = self.backend(py) else {
            return;
        };
        let Ok(payload) = dumps(value) else {
            return;
        };
        let payload = payload.as_bytes();
        let _ = py.detach(|| match backend {
            Backend::Files(files) => files.set_raw(Bytes::new(key), payload),
            Backend::Context(context) => context.set(Bytes::new(key), Bytes::new(payload)),
        });
    }

    /// Removes every entry (on disk too).
    pub(crate) fn clear(&self, py: Python<'_>) -> PyResult<()> {
        let Some(backend) = self.backend(py) else {
            return Ok(());
        };
        py.detach(|| match backend {
            Backend::Files(files) => files.clear(),
            Backend::Context(context) => context.clear(),
        })
        .map_err(engine_error)
    }

    /// The engine's statistics (the file engine counts its folder's entries on first use:
    /// without the GIL).
    pub(crate) fn stats(&self, py: Python<'_>) -> Stats {
        match self.backend(py) {
            Some(Backend::Files(files)) => py.detach(|| files.stats()),
            Some(Backend::Context(context)) => py.detach(|| context.stats()),
            None => Stats::default(),
        }
    }

    /// Writes buffered entries to stable storage, if the engine was opened.
    pub(crate) fn flush(&self, py: Python<'_>) -> PyResult<()> {
        match self.backend.get().and_then(Option::as_ref) {
            // Every file entry is complete once `set_raw` returns (atomic renames).
            Some(Backend::Files(_)) | None => Ok(()),
            Some(Backend::Context(context)) => py.detach(|| context.flush()).map_err(engine_error),
        }
    }
}

/// Opens the engine `config` names and registers it for `clear_cache`/`get_stats`.
fn open(config: &CacheConfig) -> Result<Backend, twat_cache::Error> {
    if config.engine() == Some(EngineKind::File) {
        let files = Arc::new(FileCache::open(config)?);
        let managed: Arc<dyn ManagedCache> = files.clone();
        twat_cache_core::registry::register(&managed);
        return Ok(Backend::Files(files));
    }
    Ok(Backend::Context(Arc::new(CacheContext::new(
        config.clone(),
    )?)))
}

/// A memory context under the same name, for an engine that could not open.
fn memory_fallback(config: &CacheConfig) -> Option<CacheContext> {
    let mut builder = CacheConfig::builder().engine(EngineKind::Memory);
    if let Some(name) = config.name() {
        builder = builder.name(name);
    }
    if let Some(ttl) = config.ttl() {
        builder = builder.ttl(ttl);
    }
    CacheContext::new(builder.build().ok()?).ok()
}
