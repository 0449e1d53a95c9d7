//! `PersistentMemo`: the callable behind `@bcache` and `@fcache` over a [`LazyStore`]
//! (the disk or file engine, opened on first use).
//!
//! Keys are the arguments' deterministic encoding (`encode.rs`), values pickles
//! (`pickle.rs`). A corrupt entry or a value that no longer unpickles is a miss; a result
//! that cannot be pickled is returned and not stored; an exception is never stored.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::config::Settings;
use crate::encode::{ArgNames, encode_call, encode_one};
use crate::stats::stats_dict;
use crate::store::LazyStore;

/// Memoizes a function in a persistent engine (`@bcache`: disk, `@fcache`: files).
#[pyclass(module = "twat_cache._native", subclass, frozen)]
pub(crate) struct PersistentMemo {
    function: Py<PyAny>,
    key_function: Option<Py<PyAny>>,
    names: ArgNames,
    store: LazyStore,
}

impl PersistentMemo {
    fn key(
        &self,
        py: Python<'_>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Vec<u8>> {
        match &self.key_function {
            None => encode_call(args, kwargs, &self.names),
            Some(key_function) => encode_one(
                &key_function.bind(py).call(args, kwargs)?,
                "the key= callable's result",
            ),
        }
    }
}

#[pymethods]
impl PersistentMemo {
    /// `PersistentMemo(function, name, engine, folder_name=None, maxsize=None, ttl=None,
    /// compress=False, secure=True, key=None, arg_names=())`.
    #[new]
    #[pyo3(signature = (function, name, engine, folder_name=None, maxsize=None, ttl=None, compress=false, secure=true, key=None, arg_names=Vec::new()))]
    #[allow(
        clippy::too_many_arguments,
        clippy::needless_pass_by_value,
        reason = "the Python constructor's keyword arguments"
    )]
    fn new(
        function: Py<PyAny>,
        name: &str,
        engine: &str,
        folder_name: Option<&str>,
        maxsize: Option<Bound<'_, PyAny>>,
        ttl: Option<Bound<'_, PyAny>>,
        compress: bool,
        secure: bool,
        key: Option<Py<PyAny>>,
        arg_names: Vec<String>,
    ) -> PyResult<Self> {
        let engine = crate::config::engine_from_name(engine)?;
        let folder = folder_name.map_or_else(|| default_folder(name), ToOwned::to_owned);
        let config = Settings {
            name,
            engine,
            maxsize: maxsize.as_ref(),
            ttl: ttl.as_ref(),
            policy: None,
            folder: Some(&folder),
            compress,
            secure,
        }
        .build()?;
        Ok(Self {
            function,
            key_function: key,
            names: ArgNames {
                function: name.to_owned(),
                positional: arg_names,
            },
            store: LazyStore::new(config),
        })
    }

    /// Calls the function, or returns its stored result for these arguments. An
    /// exception is raised to the caller and nothing is stored.
    #[pyo3(signature = (*args, **kwargs))]
    fn __call__(
        &self,
        py: Python<'_>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        let key = self.key(py, args, kwargs)?;
        if let Some(value) = self.store.load(py, &key) {
            return Ok(value.unbind());
        }
        let value = self.function.bind(py).call(args, kwargs)?;
        self.store.save(py, &key, &value);
        Ok(value.unbind())
    }

    /// Empties the cache (its entries on disk too).
    fn cache_clear(&self, py: Python<'_>) -> PyResult<()> {
        self.store.clear(py)
    }

    /// The cache's statistics as a dict (`hits`, `misses`, `size`, `maxsize`, …).
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        stats_dict(py, &self.store.stats(py))
    }

    /// Writes buffered entries to stable storage (done at interpreter exit too).
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        self.store.flush(py)
    }

    /// The name the cache is registered under.
    #[getter]
    fn name(&self) -> &str {
        &self.names.function
    }

    /// The wrapped function.
    #[getter]
    fn function(&self, py: Python<'_>) -> Py<PyAny> {
        self.function.clone_ref(py)
    }
}

/// The folder of a cache without `folder_name`: its name, made a valid folder name.
pub(crate) fn default_folder(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect::<String>()
        .trim_start_matches('.')
        .to_owned()
}
