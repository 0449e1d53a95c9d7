#![doc = include_str!("../README.md")]

mod cache;
mod flight;

pub use cache::AsyncCache;
pub use twat_cache_shard::{CacheOptions, EXACT_ORDER_MAX, RemovalCause};
