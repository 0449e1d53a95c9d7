//! [`Stats`] as the dict Python callers get from `get_stats()` and `stats()`.

use pyo3::prelude::*;
use pyo3::types::PyDict;
use twat_cache::Stats;

/// `{"hits", "misses", "inserts", "evictions", "errors", "size", "maxsize", "stale_hits",
/// "hit_ratio"}`
/// (`maxsize` is `None` for an unbounded cache).
pub(crate) fn stats_dict<'py>(py: Python<'py>, stats: &Stats) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("hits", stats.hits)?;
    dict.set_item("misses", stats.misses)?;
    dict.set_item("inserts", stats.inserts)?;
    dict.set_item("evictions", stats.evictions)?;
    dict.set_item("errors", stats.errors)?;
    dict.set_item("size", stats.size)?;
    dict.set_item("maxsize", stats.maxsize)?;
    dict.set_item("stale_hits", stats.stale_hits)?;
    dict.set_item("hit_ratio", stats.hit_ratio())?;
    Ok(dict)
}
