#![doc = include_str!("../README.md")]

mod cache;
mod front;
mod keys;
mod lease;
mod link;
mod options;
mod signing;

pub use cache::{DEFAULT_REDIS_URL, REDIS_SECRET_ENV, REDIS_URL_ENV, RedisCache};
pub use options::RedisOptions;
pub use signing::SigningKey;
