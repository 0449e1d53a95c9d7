#![doc = include_str!("../README.md")]

mod cache;
mod front;
mod keys;
mod lease;
mod link;
mod options;

pub use cache::{DEFAULT_REDIS_URL, REDIS_URL_ENV, RedisCache};
pub use options::RedisOptions;
