#![doc = include_str!("../README.md")]

mod cache;
mod endpoint;
mod front;
mod keys;
mod lease;
mod link;
mod masking;
mod options;
mod router;
mod scanner;
mod signing;
mod stored;
mod tls;

pub use cache::{DEFAULT_REDIS_URL, REDIS_SECRET_ENV, REDIS_URL_ENV, RedisCache};
pub use lease::{LeaseTurn, RedisLease};
pub use options::{REDIS_TIMEOUT_ENV, RedisOptions};
pub use scanner::KeyScanner;
pub use signing::SigningKey;
pub use stored::{StoredValue, read_stored};
pub use tls::{REDIS_CA_ENV, REDIS_CLIENT_CERT_ENV, REDIS_CLIENT_KEY_ENV};
