//! The native half of the Python package `twat_cache` (`twat_cache._native`): PyO3
//! bindings over the facade crate `twat-cache`. The decorators, `CacheContext` and the
//! asyncio glue are Python, in `python/twat_cache/`; see this crate's README.
//!
//! | module | holds |
//! |---|---|
//! | `memory` | `MemoryMemo`: `@mcache`'s callable, the memory engine holding Python objects |
//! | `persistent` | `PersistentMemo`: `@bcache`/`@fcache`'s callable |
//! | `store` | the engine behind it: disk through `CacheContext`, files through `FileCache` raw entries |
//! | `context` | `NativeContext`: the facade's `CacheContext` for Python's `CacheContext` |
//! | `key` | memory keys: Python hash and equality, when that is safe under a lock |
//! | `encode` | the deterministic encoding of arguments (persistent keys) |
//! | `pickle` | values of persistent engines: pickle 5 with out-of-band buffers |
//! | `config` | Python arguments to a validated `CacheConfig` |
//! | `graveyard` | objects evicted under a lock, released after it |
//! | `registry`, `stats` | `clear_cache`, `get_stats`, stats as dicts |

mod config;
mod context;
mod encode;
mod graveyard;
mod key;
mod memory;
mod persistent;
mod pickle;
mod registry;
mod stats;
mod store;

use pyo3::prelude::*;

/// The module `twat_cache._native`.
#[pymodule(name = "_native")]
fn native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<memory::MemoryMemo>()?;
    module.add_class::<persistent::PersistentMemo>()?;
    module.add_class::<context::NativeContext>()?;
    module.add_function(wrap_pyfunction!(registry::clear_cache, module)?)?;
    module.add_function(wrap_pyfunction!(registry::get_stats, module)?)?;
    module.add_function(wrap_pyfunction!(registry::cache_names, module)?)?;
    let engine_names: Vec<&str> = config::ENGINE_NAMES.iter().map(|(name, _)| *name).collect();
    module.add("ENGINE_NAMES", engine_names)?;
    Ok(())
}
