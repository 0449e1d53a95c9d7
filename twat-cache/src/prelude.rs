//! The names most programs need: `use twat_cache::prelude::*;`.

pub use crate::{
    CacheConfig, CacheConfigBuilder, ConfigError, EngineKind, Error, Policy, Stats, clear_cache,
    get_stats,
};
