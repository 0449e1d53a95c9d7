#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
// The README ends with its "Feature flags" section; the list itself is generated from
// the `##` comments of this crate's `Cargo.toml`.
#![doc = document_features::document_features!()]

mod context;
mod memo;
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub mod metrics;
pub mod prelude;
mod registry;
mod store;

pub use context::{CacheContext, engine_context};
pub use registry::{cache_names, clear_cache, get_stats};
pub use twat_cache_core::root::cache_root;
pub use twat_cache_core::{
    CacheConfig, CacheConfigBuilder, ConfigError, DecodeError, EngineKind, Error, Policy, Stats,
};
pub use twat_cache_core::{Weigh, weigh_entry};
// The error sources kept by `Error::Encode`, `Error::Backend` and
// `DecodeError::Payload`.
pub use twat_cache_core::{BoxError, SharedSource};
pub use twat_cache_memory::{CacheOptions, MemoryCache, RemovalCause};

#[cfg(feature = "async")]
#[cfg_attr(docsrs, doc(cfg(feature = "async")))]
pub use twat_cache_async::AsyncCache;
#[cfg(feature = "disk")]
#[cfg_attr(docsrs, doc(cfg(feature = "disk")))]
pub use twat_cache_disk::DiskCache;
#[cfg(feature = "disk")]
#[cfg_attr(docsrs, doc(cfg(feature = "disk")))]
pub use twat_cache_disk::DiskOptions;
#[cfg(feature = "file")]
#[cfg_attr(docsrs, doc(cfg(feature = "file")))]
pub use twat_cache_file::FileCache;
#[cfg(feature = "file")]
#[cfg_attr(docsrs, doc(cfg(feature = "file")))]
pub use twat_cache_file::{FileCacheOptions, FileReader, FileWriter, SweepReport};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use twat_cache_redis::SigningKey;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use twat_cache_redis::{RedisCache, RedisOptions};

/// `#[derive(Weigh)]`: see the trait [`Weigh`](trait@Weigh).
#[cfg(feature = "macros")]
#[cfg_attr(docsrs, doc(cfg(feature = "macros")))]
pub use twat_cache_macros::Weigh;
#[cfg(all(feature = "macros", feature = "async"))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "macros", feature = "async"))))]
#[doc(inline)]
pub use twat_cache_macros::acache;
#[cfg(all(feature = "macros", feature = "disk"))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "macros", feature = "disk"))))]
#[doc(inline)]
pub use twat_cache_macros::bcache;
#[cfg(all(feature = "macros", feature = "file"))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "macros", feature = "file"))))]
#[doc(inline)]
pub use twat_cache_macros::fcache;
#[cfg(feature = "macros")]
#[cfg_attr(docsrs, doc(cfg(feature = "macros")))]
#[doc(inline)]
pub use twat_cache_macros::{mcache, ucache};

/// What the attribute macros' generated code calls. Not a public API: it may change in
/// any release.
#[doc(hidden)]
pub mod __private {
    pub use std::time::Duration;

    pub use twat_cache_core::{CacheConfig, EngineKind, KeyBuf, Policy, Weigh};

    pub use crate::memo::engine_named;

    pub use crate::memo::{
        AsyncMemo, AsyncPersistentMemo, MemoryMemo, OwnErrors, PersistentMemo, ResultLike,
        SharedErrors, StaleAsyncMemo, StaleAsyncPersistentMemo, StaleMemoryMemo,
        StalePersistentMemo, TryFlight, key, typed_key,
    };
    pub use crate::memo::{IntoWeight, entry_weight, value_weight};
}

/// The project README's examples, compiled and run as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
mod project_readme {}
