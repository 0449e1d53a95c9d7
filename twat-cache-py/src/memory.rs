//! `MemoryMemo`: the callable behind `@mcache` (and the store behind `@acache`), the
//! facade's memory engine holding the Python objects themselves.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use twat_cache::{EngineKind, MemoryCache};
use twat_cache_core::ManagedCache;

use crate::config::Settings;
use crate::encode::{ArgNames, encode_one};
use crate::graveyard::{bury, empty};
use crate::key::{PyKey, key_object};
use crate::stats::stats_dict;

/// A cached value: the Python object itself. It leaves the cache through the graveyard
/// (see `graveyard.rs`), since it may be dropped under a shard lock.
struct PyValue(Option<Py<PyAny>>);

impl Clone for PyValue {
    fn clone(&self) -> Self {
        // Only ever cloned by a lookup, which holds the GIL.
        Self(Python::attach(|py| {
            self.0.as_ref().map(|v| v.clone_ref(py))
        }))
    }
}

impl Drop for PyValue {
    fn drop(&mut self) {
        if let Some(value) = self.0.take() {
            bury(value);
        }
    }
}

impl PyValue {
    fn take(mut self) -> Option<Py<PyAny>> {
        self.0.take()
    }
}

/// Memoizes a function in memory, keyed on its arguments' hash and equality.
#[pyclass(module = "twat_cache._native", subclass, frozen)]
pub(crate) struct MemoryMemo {
    function: Py<PyAny>,
    key_function: Option<Py<PyAny>>,
    names: ArgNames,
    cache: Arc<MemoryCache<PyKey, PyValue>>,
    missing: Py<PyAny>,
}

impl MemoryMemo {
    fn key(
        &self,
        py: Python<'_>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyKey> {
        match &self.key_function {
            None => PyKey::for_call(args, kwargs, &self.names),
            Some(key_function) => {
                let custom = key_function.bind(py).call(args, kwargs)?;
                PyKey::from_key_object(&custom_key_object(&custom)?)
            }
        }
    }

    fn insert(&self, py: Python<'_>, key: PyKey, value: &Bound<'_, PyAny>) {
        self.cache
            .insert(key, PyValue(Some(value.clone().unbind())));
        empty(py);
    }
}

/// What a `key=` callable returned, as a key object: itself when it hashes, else its
/// encoding.
fn custom_key_object<'py>(custom: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = custom.py();
    let wrapped = PyTuple::new(py, [custom])?;
    let names = ArgNames {
        function: "key".to_owned(),
        positional: vec!["(the key= callable's result)".to_owned()],
    };
    key_object(&wrapped, None, &names).or_else(|_| {
        Ok(
            pyo3::types::PyBytes::new(py, &encode_one(custom, "the key= callable's result")?)
                .into_any(),
        )
    })
}

#[pymethods]
impl MemoryMemo {
    /// `MemoryMemo(function, name, maxsize=None, ttl=None, policy="lru", key=None,
    /// arg_names=(), missing=None)`.
    #[new]
    #[pyo3(signature = (function, name, maxsize=None, ttl=None, policy=None, key=None, arg_names=Vec::new(), missing=None))]
    #[allow(
        clippy::too_many_arguments,
        clippy::needless_pass_by_value,
        reason = "the Python constructor's keyword arguments"
    )]
    fn new(
        py: Python<'_>,
        function: Py<PyAny>,
        name: &str,
        maxsize: Option<Bound<'_, PyAny>>,
        ttl: Option<Bound<'_, PyAny>>,
        policy: Option<&str>,
        key: Option<Py<PyAny>>,
        arg_names: Vec<String>,
        missing: Option<Py<PyAny>>,
    ) -> PyResult<Self> {
        let config = Settings {
            name,
            engine: EngineKind::Memory,
            maxsize: maxsize.as_ref(),
            ttl: ttl.as_ref(),
            policy,
            folder: None,
            compress: false,
            secure: true,
        }
        .build()?;
        let cache = Arc::new(MemoryCache::new(&config));
        let managed: Arc<dyn ManagedCache> = cache.clone();
        twat_cache_core::registry::register(&managed);
        Ok(Self {
            function,
            key_function: key,
            names: ArgNames {
                function: name.to_owned(),
                positional: arg_names,
            },
            cache,
            missing: missing.unwrap_or_else(|| py.None()),
        })
    }

    /// Calls the function, or returns its cached result for these arguments. An exception
    /// is raised to the caller and nothing is cached.
    #[pyo3(signature = (*args, **kwargs))]
    fn __call__(
        &self,
        py: Python<'_>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        let key = self.key(py, args, kwargs)?;
        if let Some(hit) = self.cache.get(&key).and_then(PyValue::take) {
            key.discard();
            return Ok(hit);
        }
        let value = self.function.bind(py).call(args, kwargs)?;
        self.insert(py, key, &value);
        Ok(value.unbind())
    }

    /// The object standing for these arguments (a tuple, or bytes of their encoding);
    /// hand it to [`lookup`](Self::lookup) and [`store`](Self::store).
    #[pyo3(signature = (args, kwargs=None))]
    fn make_key<'py>(
        &self,
        py: Python<'py>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        match &self.key_function {
            None => key_object(args, kwargs, &self.names),
            Some(key_function) => custom_key_object(&key_function.bind(py).call(args, kwargs)?),
        }
    }

    /// The cached value under a key from [`make_key`](Self::make_key), or the `missing`
    /// sentinel given at construction (counts a hit or a miss).
    fn lookup(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let key = PyKey::from_key_object(key)?;
        let hit = self.cache.get(&key).and_then(PyValue::take);
        key.discard();
        Ok(hit.unwrap_or_else(|| self.missing.clone_ref(py)))
    }

    /// Stores `value` under a key from [`make_key`](Self::make_key).
    fn store(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let key = PyKey::from_key_object(key)?;
        self.insert(py, key, value);
        Ok(())
    }

    /// Removes the entry under a key from [`make_key`](Self::make_key); `True` if there was one.
    fn delete(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        let key = PyKey::from_key_object(key)?;
        let removed = self.cache.remove(&key);
        key.discard();
        empty(py);
        Ok(removed)
    }

    /// Empties the cache.
    fn cache_clear(&self, py: Python<'_>) {
        self.cache.clear();
        empty(py);
    }

    /// The cache's statistics as a dict (`hits`, `misses`, `size`, `maxsize`, …).
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        stats_dict(py, &self.cache.stats())
    }

    /// The name the cache is registered under.
    #[getter]
    fn name(&self) -> &str {
        self.cache.name()
    }

    /// The wrapped function.
    #[getter]
    fn function(&self, py: Python<'_>) -> Py<PyAny> {
        self.function.clone_ref(py)
    }
}
