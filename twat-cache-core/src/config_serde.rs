//! `Serialize`/`Deserialize` for [`CacheConfig`], [`Policy`] and [`EngineKind`] (the
//! `serde` feature), so configurations load from TOML, JSON, YAML or the environment.
//!
//! The shapes are the attributes' own: names as strings (`policy = "tinylfu"`, any engine
//! name [`EngineKind::canonical_name`] accepts), `ttl` as seconds or a duration string
//! (`"5m"`, `"1h 30m"`), `maxsize` as an integer or a size string (`"512 MiB"`). Every
//! field is optional and unknown fields are refused, so a typo is an error, not a silent
//! default. A loaded configuration is validated by [`CacheConfigBuilder::build`]: what
//! the builder refuses, loading refuses with the same message.
//!
//! ```
//! use twat_cache_core::{CacheConfig, EngineKind, Policy};
//!
//! let config: CacheConfig = serde_json::from_str(
//!     r#"{"name": "users", "engine": "disk", "maxsize": "64 MiB", "ttl": "5m", "policy": "lfu"}"#,
//! )?;
//! assert_eq!(config.engine(), Some(EngineKind::Disk));
//! assert_eq!(config.maxsize(), Some(64 * 1024 * 1024));
//! assert_eq!(config.ttl(), Some(std::time::Duration::from_secs(300)));
//! assert_eq!(config.policy(), Policy::Lfu);
//!
//! // Written back, it reads the same.
//! let text = serde_json::to_string(&config)?;
//! assert_eq!(serde_json::from_str::<CacheConfig>(&text)?, config);
//!
//! let refused = serde_json::from_str::<CacheConfig>(r#"{"ttl": 0}"#).unwrap_err();
//! assert!(refused.to_string().contains("`ttl` must be greater than zero"));
//! # Ok::<(), serde_json::Error>(())
//! ```

use std::path::PathBuf;
use std::time::Duration;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::config::{
    CacheConfig, EngineKind, Policy, parse_size_str, parse_stale_secs, parse_stale_str,
    parse_ttl_secs, parse_ttl_str,
};

impl Serialize for Policy {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Policy {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(D::Error::custom)
    }
}

impl Serialize for EngineKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for EngineKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(D::Error::custom)
    }
}

/// A number of seconds or a duration string.
#[derive(Deserialize)]
#[serde(untagged)]
enum TtlSpec {
    Seconds(f64),
    Text(String),
}

/// A number of bytes/entries or a size string.
#[derive(Deserialize)]
#[serde(untagged)]
enum SizeSpec {
    Count(u64),
    Text(String),
}

/// The serialized form: every field optional, in the attributes' vocabulary.
#[derive(Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ConfigSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    engine: Option<EngineKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    maxsize: Option<SizeValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ttl: Option<TtlValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stale: Option<StaleValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stale_if_error: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    policy: Option<Policy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    folder: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    compress: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    secure: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    durable: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    version: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    redis_url: Option<String>,
}

/// `maxsize` as written (an integer) and as read (an integer or a size string).
struct SizeValue(u64);

impl Serialize for SizeValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for SizeValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match SizeSpec::deserialize(deserializer)? {
            SizeSpec::Count(count) => Ok(Self(count)),
            SizeSpec::Text(text) => parse_size_str(&text).map(Self).map_err(D::Error::custom),
        }
    }
}

/// `ttl` as written (a duration string, exact to the nanosecond) and as read (seconds or a
/// duration string).
struct TtlValue(Duration);

impl Serialize for TtlValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&humantime::format_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for TtlValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let ttl = match TtlSpec::deserialize(deserializer)? {
            TtlSpec::Seconds(seconds) => parse_ttl_secs(seconds),
            TtlSpec::Text(text) => parse_ttl_str(&text),
        };
        ttl.map(Self).map_err(D::Error::custom)
    }
}

/// `stale` as written and read: the same shapes as [`TtlValue`].
struct StaleValue(Duration);

impl Serialize for StaleValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        TtlValue(self.0).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for StaleValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let stale = match TtlSpec::deserialize(deserializer)? {
            TtlSpec::Seconds(seconds) => parse_stale_secs(seconds),
            TtlSpec::Text(text) => parse_stale_str(&text),
        };
        stale.map(Self).map_err(D::Error::custom)
    }
}

impl Serialize for CacheConfig {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let defaults = Self::default();
        let changed = |value: bool, default: bool| (value != default).then_some(value);
        ConfigSpec {
            name: self.name().map(str::to_owned),
            engine: self.engine(),
            maxsize: self.maxsize().map(SizeValue),
            ttl: self.ttl().map(TtlValue),
            stale: self.stale().map(StaleValue),
            stale_if_error: changed(self.stale_if_error(), defaults.stale_if_error()),
            policy: (self.policy() != defaults.policy()).then_some(self.policy()),
            folder: self.folder().map(PathBuf::from),
            compress: changed(self.compress(), defaults.compress()),
            secure: changed(self.secure(), defaults.secure()),
            durable: changed(self.durable(), defaults.durable()),
            version: (self.version() != 0).then_some(self.version()),
            redis_url: redis_url(self),
        }
        .serialize(serializer)
    }
}

#[cfg(feature = "redis")]
fn redis_url(config: &CacheConfig) -> Option<String> {
    config.redis_url().map(str::to_owned)
}

#[cfg(not(feature = "redis"))]
const fn redis_url(_: &CacheConfig) -> Option<String> {
    None
}

impl<'de> Deserialize<'de> for CacheConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spec = ConfigSpec::deserialize(deserializer)?;
        let mut builder = Self::builder();
        if let Some(name) = spec.name {
            builder = builder.name(name);
        }
        if let Some(engine) = spec.engine {
            builder = builder.engine(engine);
        }
        if let Some(SizeValue(maxsize)) = spec.maxsize {
            builder = builder.maxsize(maxsize);
        }
        if let Some(TtlValue(ttl)) = spec.ttl {
            builder = builder.ttl(ttl);
        }
        if let Some(StaleValue(stale)) = spec.stale {
            builder = builder.stale(stale);
        }
        if let Some(stale_if_error) = spec.stale_if_error {
            builder = builder.stale_if_error(stale_if_error);
        }
        if let Some(policy) = spec.policy {
            builder = builder.policy(policy);
        }
        if let Some(folder) = spec.folder {
            builder = builder.folder(folder);
        }
        if let Some(compress) = spec.compress {
            builder = builder.compress(compress);
        }
        if let Some(secure) = spec.secure {
            builder = builder.secure(secure);
        }
        if let Some(durable) = spec.durable {
            builder = builder.durable(durable);
        }
        if let Some(version) = spec.version {
            builder = builder.version(version);
        }
        if let Some(url) = spec.redis_url {
            builder = with_redis_url::<D::Error>(builder, url)?;
        }
        builder.build().map_err(D::Error::custom)
    }
}

#[cfg(feature = "redis")]
fn with_redis_url<E: serde::de::Error>(
    builder: crate::CacheConfigBuilder,
    url: String,
) -> Result<crate::CacheConfigBuilder, E> {
    Ok(builder.redis_url(url))
}

#[cfg(not(feature = "redis"))]
fn with_redis_url<E: serde::de::Error>(
    _: crate::CacheConfigBuilder,
    _: String,
) -> Result<crate::CacheConfigBuilder, E> {
    Err(E::custom(
        "`redis_url` needs the Redis engine: enable the `redis` feature of twat-cache",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(json: &str) -> Result<CacheConfig, String> {
        serde_json::from_str(json).map_err(|err| err.to_string())
    }

    #[test]
    fn every_field_round_trips() {
        let mut builder = CacheConfig::builder()
            .name("all")
            .engine(EngineKind::File)
            .maxsize(1 << 20)
            .ttl(Duration::from_millis(1500))
            .stale(Duration::from_secs(300))
            .stale_if_error(true)
            .policy(Policy::Fifo)
            .folder("sub/dir")
            .compress(true)
            .secure(false)
            .durable(true)
            .version(7);
        if cfg!(feature = "redis") {
            builder = with_redis_url::<serde_json::Error>(builder, "redis://h:1".into()).unwrap();
        }
        let config = builder.build().unwrap();
        let text = serde_json::to_string(&config).unwrap();
        assert!(text.contains(r#""ttl":"1s 500ms""#), "{text}");
        assert!(text.contains(r#""stale":"5m""#), "{text}");
        assert_eq!(load(&text).unwrap(), config);
        assert_eq!(
            serde_json::to_string(&CacheConfig::default()).unwrap(),
            "{}"
        );
        assert_eq!(load("{}").unwrap(), CacheConfig::default());
    }

    #[test]
    fn attribute_shapes_are_read() {
        let config = load(r#"{"ttl": 0.25, "maxsize": 10, "engine": "fjall"}"#).unwrap();
        assert_eq!(config.ttl(), Some(Duration::from_millis(250)));
        assert_eq!(config.maxsize(), Some(10));
        assert_eq!(config.engine(), Some(EngineKind::Disk));
    }

    #[test]
    fn stats_round_trip_and_missing_fields_default() {
        let stats = crate::Stats {
            hits: 3,
            misses: 1,
            maxsize: Some(10),
            ..crate::Stats::default()
        };
        let text = serde_json::to_string(&stats).unwrap();
        assert_eq!(serde_json::from_str::<crate::Stats>(&text).unwrap(), stats);
        let older: crate::Stats = serde_json::from_str(r#"{"hits": 5}"#).unwrap();
        assert_eq!((older.hits, older.misses, older.maxsize), (5, 0, None));
    }

    #[test]
    fn bad_values_are_refused_with_the_builders_message() {
        let unknown_policy = load(r#"{"policy": "mru"}"#).unwrap_err();
        assert!(
            unknown_policy.contains("unknown policy \"mru\""),
            "{unknown_policy}"
        );
        let escape = load(r#"{"folder": "../out"}"#).unwrap_err();
        assert!(
            escape.contains("`folder` must be a relative name"),
            "{escape}"
        );
        let typo = load(r#"{"max_size": 3}"#).unwrap_err();
        assert!(typo.contains("unknown field `max_size`"), "{typo}");
        let size = load(r#"{"maxsize": "lots"}"#).unwrap_err();
        assert!(size.contains("cannot read \"lots\" as a size"), "{size}");
        let ttl = load(r#"{"ttl": "soon"}"#).unwrap_err();
        assert!(ttl.contains("cannot read \"soon\" as a duration"), "{ttl}");
        let stale = load(r#"{"stale": 60}"#).unwrap_err();
        assert!(stale.contains("`stale` needs a `ttl`"), "{stale}");
        let zero = load(r#"{"ttl": 1, "stale": "0s"}"#).unwrap_err();
        assert!(zero.contains("`stale` must be greater than zero"), "{zero}");
    }
}
