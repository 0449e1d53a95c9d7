//! `clear_cache`, `get_stats` and `cache_names` over every cache of the process, by name.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::graveyard::empty;
use crate::stats::stats_dict;

/// Empties the cache named `name`, or every cache (persistent entries too) when `None`.
#[pyfunction]
#[pyo3(signature = (name=None))]
pub(crate) fn clear_cache(py: Python<'_>, name: Option<&str>) -> PyResult<()> {
    let result = py.detach(|| twat_cache::clear_cache(name));
    empty(py);
    result.map_err(crate::context::engine_error)
}

/// The statistics of the cache named `name` (`None` if no live cache has that name), or
/// of every cache summed when `name` is `None`.
#[pyfunction]
#[pyo3(signature = (name=None))]
pub(crate) fn get_stats<'py>(
    py: Python<'py>,
    name: Option<&str>,
) -> PyResult<Option<Bound<'py, PyDict>>> {
    // A file cache counts its folder's entries on first use: without the GIL.
    py.detach(|| twat_cache::get_stats(name))
        .map(|stats| stats_dict(py, &stats))
        .transpose()
}

/// The names of every live cache, sorted.
#[pyfunction]
pub(crate) fn cache_names() -> Vec<String> {
    twat_cache::cache_names()
}
