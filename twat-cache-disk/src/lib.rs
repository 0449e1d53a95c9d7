#![doc = include_str!("../README.md")]

mod cache;
mod folder;
mod front;
mod index;
mod options;
mod store;
mod sweeper;

pub use cache::DiskCache;
pub use options::DiskOptions;
