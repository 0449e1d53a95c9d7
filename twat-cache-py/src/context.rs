//! `NativeContext`: the facade's [`CacheContext`] for Python's `CacheContext`, with
//! encoded keys and pickled values, closed explicitly (`with` exit) or when collected.

use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde_bytes::{ByteBuf, Bytes};
use twat_cache::{CacheContext, Error};

use crate::config::{Settings, engine_from_name};
use crate::encode::encode_one;
use crate::persistent::default_folder;
use crate::pickle::{dumps, loads};
use crate::stats::stats_dict;

/// A facade error as a Python exception: a configuration problem is a `ValueError`,
/// anything else (a locked or unwritable folder, an I/O error) an `OSError`.
pub(crate) fn engine_error(err: Error) -> PyErr {
    match err {
        Error::Config(config) => crate::config::config_error(config),
        other => PyOSError::new_err(format!("twat_cache: {other}")),
    }
}

/// An open cache handle; every method but `close` raises `ValueError` once it is closed.
#[pyclass(module = "twat_cache._native", frozen)]
pub(crate) struct NativeContext {
    context: Mutex<Option<Arc<CacheContext>>>,
}

impl NativeContext {
    fn open(&self) -> PyResult<Arc<CacheContext>> {
        self.context
            .lock()
            .clone()
            .ok_or_else(|| PyValueError::new_err("twat_cache: this CacheContext is closed"))
    }
}

#[pymethods]
impl NativeContext {
    /// Opens the engine `engine_name` names (see `ENGINE_NAMES`).
    #[new]
    #[pyo3(signature = (engine_name, name, folder_name=None, maxsize=None, ttl=None, policy=None, compress=false, secure=true))]
    #[allow(
        clippy::too_many_arguments,
        clippy::needless_pass_by_value,
        reason = "the Python constructor's keyword arguments"
    )]
    fn new(
        py: Python<'_>,
        engine_name: &str,
        name: &str,
        folder_name: Option<&str>,
        maxsize: Option<Bound<'_, PyAny>>,
        ttl: Option<Bound<'_, PyAny>>,
        policy: Option<&str>,
        compress: bool,
        secure: bool,
    ) -> PyResult<Self> {
        let engine = engine_from_name(engine_name)?;
        let folder = match (engine, folder_name) {
            (twat_cache::EngineKind::Memory, _) => None,
            (_, Some(folder)) => Some(folder.to_owned()),
            (_, None) => Some(default_folder(name)),
        };
        let config = Settings {
            name,
            engine,
            maxsize: maxsize.as_ref(),
            ttl: ttl.as_ref(),
            policy,
            folder: folder.as_deref(),
            compress,
            secure,
        }
        .build()?;
        let context = py
            .detach(|| CacheContext::new(config))
            .map_err(engine_error)?;
        Ok(Self {
            context: Mutex::new(Some(Arc::new(context))),
        })
    }

    /// The value under `key`, or `default`.
    #[pyo3(signature = (key, default=None))]
    fn get(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        default: Option<Py<PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let context = self.open()?;
        let key = encode_one(key, "the key")?;
        let payload = py
            .detach(|| context.get::<_, ByteBuf>(Bytes::new(&key)))
            .map_err(engine_error)?;
        if let Some(payload) = payload {
            match loads(py, &payload) {
                Ok(value) => return Ok(value.unbind()),
                Err(_) => {
                    // Corrupt or no longer unpicklable: a miss, and the entry goes.
                    let _ = py.detach(|| context.delete(Bytes::new(&key)));
                }
            }
        }
        Ok(default.unwrap_or_else(|| py.None()))
    }

    /// Stores `value` under `key`.
    fn set(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let context = self.open()?;
        let key = encode_one(key, "the key")?;
        let payload = dumps(value)?;
        let payload = payload.as_bytes();
        py.detach(|| context.set(Bytes::new(&key), Bytes::new(payload)))
            .map_err(engine_error)
    }

    /// Removes the entry under `key`; `True` if there was one.
    fn delete(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        let context = self.open()?;
        let key = encode_one(key, "the key")?;
        py.detach(|| context.delete(Bytes::new(&key)))
            .map_err(engine_error)
    }

    /// Removes every entry.
    fn clear(&self, py: Python<'_>) -> PyResult<()> {
        let context = self.open()?;
        py.detach(|| context.clear()).map_err(engine_error)
    }

    /// The statistics as a dict.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let context = self.open()?;
        stats_dict(py, &py.detach(|| context.stats()))
    }

    /// The engine in use: `"memory"`, `"disk"` or `"file"`.
    #[getter]
    fn engine(&self) -> PyResult<&'static str> {
        Ok(self.open()?.engine().as_str())
    }

    /// Whether `close` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.context.lock().is_none()
    }

    /// Flushes and releases the engine (its folder lock too). Closing twice is harmless.
    fn close(&self, py: Python<'_>) {
        let context = self.context.lock().take();
        py.detach(move || drop(context));
    }
}
