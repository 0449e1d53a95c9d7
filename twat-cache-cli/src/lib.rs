#![doc = include_str!("../README.md")]

mod cli;
mod commands;
mod context;
mod error;
mod location;
mod output;
mod redis_server;
mod removal;
mod summary;
mod targets;

pub use cli::run;
pub use error::{CliError, EXIT_PROBLEMS, EXIT_SOUND, EXIT_USAGE};
pub use location::CacheRoot;
pub use summary::{CacheSummary, FolderEngine, list_caches, render_list};
