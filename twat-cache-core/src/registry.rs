//! The global registry behind `clear_cache` and `get_stats`.
//!
//! Every memoized function registers its cache here on first use, under its name, and so
//! does every named `CacheContext`. The registry holds [`Weak`] references: a cache that
//! is dropped disappears from it without any unregistering step, and the registry never
//! keeps a folder lock alive. Several live caches may share a name; operations by name
//! act on all of them.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock, Weak};

use parking_lot::RwLock;

use crate::error::Error;
use crate::stats::Stats;

/// What the registry needs from a cache: a name, its statistics and a way to empty it.
pub trait ManagedCache: Send + Sync {
    /// The name the cache is registered under.
    fn name(&self) -> &str;
    /// A snapshot of its statistics.
    fn stats(&self) -> Stats;
    /// Removes every entry (on disk too, for persistent engines) and resets the counters.
    ///
    /// # Errors
    ///
    /// Whatever the engine fails at while removing entries.
    fn clear(&self) -> Result<(), Error>;
}

type Entries = BTreeMap<String, Vec<Weak<dyn ManagedCache>>>;

static REGISTRY: LazyLock<RwLock<Entries>> = LazyLock::new(|| RwLock::new(BTreeMap::new()));

/// Registers `cache` under its [`ManagedCache::name`]. The registry keeps only a weak
/// reference: the cache stays registered while the caller keeps it alive.
pub fn register(cache: &Arc<dyn ManagedCache>) {
    let mut entries = REGISTRY.write();
    let list = entries.entry(cache.name().to_owned()).or_default();
    list.retain(|weak| weak.strong_count() > 0);
    list.push(Arc::downgrade(cache));
}

fn live(name: Option<&str>) -> Vec<Arc<dyn ManagedCache>> {
    let entries = REGISTRY.read();
    let upgrade = |list: &Vec<Weak<dyn ManagedCache>>| -> Vec<Arc<dyn ManagedCache>> {
        list.iter().filter_map(Weak::upgrade).collect()
    };
    match name {
        Some(name) => entries.get(name).map(upgrade).unwrap_or_default(),
        None => entries.values().flat_map(upgrade).collect(),
    }
}

/// Empties the cache registered as `name`, or every registered cache when `name` is `None`.
///
/// A name that no live cache carries is not an error: a memoized function registers its
/// cache on first call, so clearing one that never ran has nothing to do.
///
/// # Errors
///
/// The first error a cache reported while clearing; every other cache is still cleared.
pub fn clear_cache(name: Option<&str>) -> Result<(), Error> {
    // Clear outside the registry lock: an engine may touch the registry while clearing.
    let mut first_error = None;
    for cache in live(name) {
        if let Err(err) = cache.clear() {
            tracing::warn!(cache = cache.name(), error = %err, "twat-cache: clearing failed");
            first_error.get_or_insert(err);
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// The statistics of the cache registered as `name` (summed over every live cache of that
/// name), or of every registered cache summed when `name` is `None`.
///
/// Returns `None` when `name` is given and no live cache carries it.
#[must_use]
pub fn get_stats(name: Option<&str>) -> Option<Stats> {
    let caches = live(name);
    if name.is_some() && caches.is_empty() {
        return None;
    }
    Some(caches.iter().map(|cache| cache.stats()).sum())
}

/// The names of every live registered cache, sorted.
#[must_use]
pub fn cache_names() -> Vec<String> {
    let mut entries = REGISTRY.write();
    entries.retain(|_, list| {
        list.retain(|weak| weak.strong_count() > 0);
        !list.is_empty()
    });
    entries.keys().cloned().collect()
}
