#![doc = include_str!("../README.md")]

mod cache;
mod checksum;
mod compression;
mod layout;
mod options;
mod record;
mod stream;
mod sweep;

pub use cache::FileCache;
pub use options::FileCacheOptions;
pub use stream::{FileReader, FileWriter};
pub use sweep::SweepReport;
