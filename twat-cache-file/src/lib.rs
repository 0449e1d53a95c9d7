#![doc = include_str!("../README.md")]

mod cache;
mod checksum;
mod compression;
mod content;
mod engine;
pub mod inspect;
mod layout;
mod ledger;
mod memo;
mod options;
mod record;
mod stream;
mod sweep;
mod usage;

pub use cache::FileCache;
pub use options::FileCacheOptions;
pub use stream::{FileReader, FileWriter};
pub use sweep::SweepReport;
