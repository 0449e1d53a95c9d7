#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod codec;
mod config;
#[cfg(feature = "serde")]
mod config_serde;
mod engine;
pub mod envelope;
mod error;
pub mod inspect;
mod key;
pub mod lease;
pub mod registry;
pub mod root;
mod stats;
mod undecodable;
mod weigh;

pub use codec::{decode_byte_buf, decode_value, encode_byte_buf, encode_value, encode_value_into};
pub use config::{
    CacheConfig, CacheConfigBuilder, EngineKind, Policy, mask_password, parse_duration_str,
    parse_size_str, parse_stale_secs, parse_stale_str, parse_ttl_secs, parse_ttl_str,
    validate_folder,
};
pub use engine::{ByteStore, TypedCache};
pub use error::{BoxError, ConfigError, DecodeError, Error, SharedSource};
pub use key::{Digest, DigestAlgorithm, KeyBuf, Namespace, key_bytes, type_fingerprint};
pub use registry::{ManagedCache, cache_names, clear_cache, get_stats};
pub use stats::{Stats, StatsCounter};
pub use undecodable::{decode_or_discard, discard_undecodable};
pub use weigh::{Weigh, weigh_entry};
