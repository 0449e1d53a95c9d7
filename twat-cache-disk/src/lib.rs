#![doc = include_str!("../README.md")]

mod cache;
mod database;
mod engine;
mod folder;
mod front;
mod index;
pub mod inspect;
mod options;

mod store;
mod stripes;
mod sweeper;

pub use cache::DiskCache;
pub use options::DiskOptions;
