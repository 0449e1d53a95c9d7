#![doc = include_str!("../README.md")]
//!
//! # Features
//!
//! | feature | default | brings |
//! |---|---|---|
//! | `memory` | yes | the in-memory engine (`twat-cache-memory`); always compiled in, since every engine falls back to it |
//! | `macros` | yes | the attribute macros (`twat-cache-macros`): `#[mcache]`, `#[ucache]`, and with their engines `#[bcache]` (`disk`), `#[fcache]` (`file`), `#[acache]` (`async`) |
//! | `disk` | no | the persistent engine on fjall (`twat-cache-disk`) |
//! | `file` | no | the content-addressed engine on cacache (`twat-cache-file`) |
//! | `async` | no | the async engine (`twat-cache-async`) |
//! | `redis` | no | the Redis tier (`twat-cache-redis`): `EngineKind::Redis`, `engine = "redis"` |
//! | `full` | no | all of the above |
//!
//! A user who wants one engine only can depend on that engine crate alone.

mod context;
mod memo;
pub mod prelude;
mod registry;
mod store;

pub use context::{CacheContext, engine_context};
pub use registry::{cache_names, clear_cache, get_stats};
pub use twat_cache_core::root::cache_root;
pub use twat_cache_core::{
    CacheConfig, CacheConfigBuilder, ConfigError, DecodeError, EngineKind, Error, Policy, Stats,
};
pub use twat_cache_memory::MemoryCache;

#[cfg(feature = "async")]
pub use twat_cache_async::AsyncCache;
#[cfg(feature = "disk")]
pub use twat_cache_disk::DiskCache;
#[cfg(feature = "file")]
pub use twat_cache_file::FileCache;
#[cfg(feature = "redis")]
pub use twat_cache_redis::{RedisCache, RedisOptions};

#[cfg(all(feature = "macros", feature = "async"))]
#[doc(inline)]
pub use twat_cache_macros::acache;
#[cfg(all(feature = "macros", feature = "disk"))]
#[doc(inline)]
pub use twat_cache_macros::bcache;
#[cfg(all(feature = "macros", feature = "file"))]
#[doc(inline)]
pub use twat_cache_macros::fcache;
#[cfg(feature = "macros")]
#[doc(inline)]
pub use twat_cache_macros::{mcache, ucache};

/// What the attribute macros' generated code calls. Not a public API: it may change in
/// any release.
#[doc(hidden)]
pub mod __private {
    pub use std::time::Duration;

    pub use twat_cache_core::{CacheConfig, EngineKind, KeyBuf, Policy};

    pub use crate::memo::engine_named;

    pub use crate::memo::{
        AsyncMemo, AsyncPersistentMemo, MemoryMemo, OwnErrors, PersistentMemo, ResultLike,
        SharedErrors, TryFlight, key, typed_key,
    };
}

/// The project README's examples, compiled and run as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
mod project_readme {}
