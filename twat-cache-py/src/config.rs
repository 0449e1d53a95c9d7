//! Python keyword arguments (`maxsize`, `ttl`, `policy`, `folder_name`, engine names) to
//! a validated [`CacheConfig`]: a wrong type is a `TypeError`, a wrong value a
//! `ValueError` naming the argument and what is accepted.

use std::str::FromStr;
use std::time::Duration;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyString};
use twat_cache::{CacheConfig, ConfigError, EngineKind, Policy};

/// The engine names `CacheContext(engine_name=...)` and `ucache(preferred_engine=...)`
/// accept, with the Rust engine each maps to. The Python library's backend names map to
/// the engine that does the same job.
pub(crate) const ENGINE_NAMES: &[(&str, EngineKind)] = &[
    ("memory", EngineKind::Memory),
    ("cachetools", EngineKind::Memory),
    ("cachebox", EngineKind::Memory),
    ("functools", EngineKind::Memory),
    ("aiocache", EngineKind::Memory),
    ("async", EngineKind::Memory),
    ("disk", EngineKind::Disk),
    ("diskcache", EngineKind::Disk),
    ("sql", EngineKind::Disk),
    ("file", EngineKind::File),
    ("joblib", EngineKind::File),
];

/// The policy names the decorators accept.
const POLICY_NAMES: &str = "'lru', 'lfu', 'fifo', 'rr', 'tinylfu', 'ttl', 'unbounded'";

/// The engine a Python engine name stands for.
///
/// # Errors
///
/// `ValueError` listing the valid names.
pub(crate) fn engine_from_name(name: &str) -> PyResult<EngineKind> {
    let wanted = name.trim().to_ascii_lowercase();
    ENGINE_NAMES
        .iter()
        .find(|(known, _)| *known == wanted)
        .map(|(_, engine)| *engine)
        .ok_or_else(|| {
            let valid: Vec<String> = ENGINE_NAMES.iter().map(|(n, _)| format!("'{n}'")).collect();
            PyValueError::new_err(format!(
                "twat_cache: unknown engine_name '{name}'; valid names: {}",
                valid.join(", ")
            ))
        })
}

/// The arguments every cache takes, as Python passed them.
#[derive(Debug)]
pub(crate) struct Settings<'a, 'py> {
    pub(crate) name: &'a str,
    pub(crate) engine: EngineKind,
    pub(crate) maxsize: Option<&'a Bound<'py, PyAny>>,
    pub(crate) ttl: Option<&'a Bound<'py, PyAny>>,
    pub(crate) policy: Option<&'a str>,
    pub(crate) folder: Option<&'a str>,
    pub(crate) compress: bool,
    pub(crate) secure: bool,
}

impl Settings<'_, '_> {
    /// The validated configuration.
    ///
    /// # Errors
    ///
    /// `TypeError` for an argument of the wrong type, `ValueError` for a bad value.
    pub(crate) fn build(&self) -> PyResult<CacheConfig> {
        let mut builder = CacheConfig::builder()
            .name(self.name)
            .engine(self.engine)
            .compress(self.compress)
            .secure(self.secure);
        if let Some(maxsize) = parse_maxsize(self.maxsize)? {
            builder = builder.maxsize(maxsize);
        }
        if let Some(ttl) = parse_ttl(self.ttl)? {
            builder = builder.ttl(ttl);
        }
        if let Some(policy) = self.policy {
            builder = builder.policy(parse_policy(policy)?);
        }
        if let Some(folder) = self.folder {
            builder = builder.folder(folder);
        }
        builder.build().map_err(config_error)
    }
}

/// A `ConfigError` as the `ValueError` it is in Python.
#[allow(
    clippy::needless_pass_by_value,
    reason = "used as `map_err(config_error)`, which passes the error by value"
)]
pub(crate) fn config_error(err: ConfigError) -> PyErr {
    PyValueError::new_err(format!("twat_cache: {err}"))
}

/// `maxsize`: `None`, a non-negative `int`, or for persistent caches a size like "512 MiB".
fn parse_maxsize(value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<u64>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(None);
    };
    if value.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(
            "twat_cache: maxsize must be an int, a size string like \"512 MiB\" or None, not bool",
        ));
    }
    if let Ok(int) = value.cast::<PyInt>() {
        return int.extract::<u64>().map(Some).map_err(|_| {
            PyValueError::new_err(format!(
                "twat_cache: maxsize must be a non-negative int, got {int}"
            ))
        });
    }
    if let Ok(text) = value.cast::<PyString>() {
        return twat_cache_core::parse_size_str(text.to_str()?)
            .map(Some)
            .map_err(config_error);
    }
    Err(PyTypeError::new_err(format!(
        "twat_cache: maxsize must be an int, a size string like \"512 MiB\" or None, not {}",
        value.get_type().qualname()?
    )))
}

/// `ttl`: `None`, seconds as `int`/`float`, or a duration like "90s", "1h 30m".
fn parse_ttl(value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Duration>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(None);
    };
    if value.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(
            "twat_cache: ttl must be seconds (int or float), a duration string like \"90s\" or None, not bool",
        ));
    }
    if value.is_instance_of::<PyInt>() || value.is_instance_of::<PyFloat>() {
        let seconds: f64 = value.extract()?;
        return twat_cache_core::parse_ttl_secs(seconds)
            .map(Some)
            .map_err(config_error);
    }
    if let Ok(text) = value.cast::<PyString>() {
        return twat_cache_core::parse_ttl_str(text.to_str()?)
            .map(Some)
            .map_err(config_error);
    }
    Err(PyTypeError::new_err(format!(
        "twat_cache: ttl must be seconds (int or float), a duration string like \"90s\" or None, not {}",
        value.get_type().qualname()?
    )))
}

/// A policy name; `"ttl"` (the Python library's TTL cache) is LRU with the `ttl` given.
fn parse_policy(name: &str) -> PyResult<Policy> {
    if name.trim().eq_ignore_ascii_case("ttl") {
        return Ok(Policy::Lru);
    }
    Policy::from_str(name).map_err(|_| {
        PyValueError::new_err(format!(
            "twat_cache: unknown policy '{name}'; valid policies: {POLICY_NAMES}"
        ))
    })
}
