//! The names most programs need: `use twat_cache::prelude::*;`.

pub use crate::{
    CacheConfig, CacheConfigBuilder, CacheContext, ConfigError, EngineKind, Error, Policy, Stats,
    clear_cache, engine_context, get_stats,
};
pub use crate::{CacheOptions, RemovalCause, Weigh};

#[cfg(all(feature = "macros", feature = "async"))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "macros", feature = "async"))))]
pub use crate::acache;
#[cfg(all(feature = "macros", feature = "disk"))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "macros", feature = "disk"))))]
pub use crate::bcache;
#[cfg(all(feature = "macros", feature = "file"))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "macros", feature = "file"))))]
pub use crate::fcache;
#[cfg(feature = "macros")]
#[cfg_attr(docsrs, doc(cfg(feature = "macros")))]
pub use crate::{mcache, ucache};
