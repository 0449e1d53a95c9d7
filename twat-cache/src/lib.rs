#![doc = include_str!("../README.md")]
//!
//! # Features
//!
//! | feature | default | brings |
//! |---|---|---|
//! | `memory` | yes | the in-memory engine (`twat-cache-memory`) |
//! | `macros` | yes | the attribute macros (`twat-cache-macros`) |
//! | `disk` | no | the persistent engine on fjall (`twat-cache-disk`) |
//! | `file` | no | the content-addressed engine on cacache (`twat-cache-file`) |
//! | `async` | no | the async engine (`twat-cache-async`) |
//! | `full` | no | all of the above |
//!
//! A user who wants one engine only can depend on that engine crate alone.

pub mod prelude;
mod registry;

pub use registry::{cache_names, clear_cache, get_stats};
pub use twat_cache_core::{
    CacheConfig, CacheConfigBuilder, ConfigError, DecodeError, EngineKind, Error, Policy, Stats,
};

/// The project README's examples, compiled and run as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
mod project_readme {}
