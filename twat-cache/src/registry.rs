//! `clear_cache` and `get_stats` over every named cache in the process.

use crate::{Error, Stats};

/// Empties the cache registered as `name`, or every cache when `name` is `None`
/// (persistent caches lose their entries on disk too).
///
/// Every memoized function is registered under its `name` (default
/// `module_path::function_name`) on its first call, and every `CacheContext` built with a
/// name while it lives. A name no live cache carries is not an error.
///
/// ```
/// twat_cache::clear_cache(None)?;
/// twat_cache::clear_cache(Some("never_registered"))?;
/// # Ok::<(), twat_cache::Error>(())
/// ```
///
/// # Errors
///
/// The first error a cache reported while clearing; the others are still cleared.
pub fn clear_cache(name: Option<&str>) -> Result<(), Error> {
    twat_cache_core::clear_cache(name)
}

/// The statistics of the cache registered as `name`, or of every cache summed when `name`
/// is `None`; `None` when `name` is given and no live cache carries it.
///
/// ```
/// assert_eq!(twat_cache::get_stats(Some("never_registered")), None);
/// let all = twat_cache::get_stats(None).expect("the sum over all caches always exists");
/// assert!(all.hit_ratio() >= 0.0);
/// ```
#[must_use]
pub fn get_stats(name: Option<&str>) -> Option<Stats> {
    twat_cache_core::get_stats(name)
}

/// The names of every live registered cache, sorted.
#[must_use]
pub fn cache_names() -> Vec<String> {
    twat_cache_core::cache_names()
}
