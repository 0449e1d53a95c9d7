#![doc = include_str!("../README.md")]

mod cache;
mod flight;
mod shard;

pub use cache::AsyncCache;
