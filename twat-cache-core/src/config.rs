//! [`CacheConfig`] and its builder, the [`Policy`] and [`EngineKind`] enums, and the
//! parsers the attribute macros use for `ttl = "250ms"` and `maxsize = "512 MiB"`.
//!
//! Validation happens once, in [`CacheConfigBuilder::build`]; a built [`CacheConfig`] is
//! always valid, so engines never re-check it.

use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use crate::error::ConfigError;

/// Which entry a bounded memory cache evicts when it is full.
///
/// The names follow Python's `cachetools`, which the Python twat-cache uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Policy {
    /// Least recently used (the default).
    #[default]
    Lru,
    /// Least frequently used; ties go to the least recently used.
    Lfu,
    /// First in, first out: the oldest insertion goes first, reads do not matter.
    Fifo,
    /// A uniformly random entry (`"rr"`, random replacement).
    Random,
    /// W-TinyLFU: an LRU admission window before a segmented LRU, a frequency sketch
    /// deciding admission, an adaptively sized window. The best hit ratio on skewed,
    /// scanning and looping workloads; approximate order. `#[ucache]`'s pick when it has
    /// a `maxsize`.
    TinyLfu,
    /// Never evict; `maxsize` is ignored.
    Unbounded,
}

impl Policy {
    /// The canonical lower-case name, as accepted by [`Policy::from_str`].
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Lru => "lru",
            Self::Lfu => "lfu",
            Self::Fifo => "fifo",
            Self::Random => "rr",
            Self::TinyLfu => "tinylfu",
            Self::Unbounded => "unbounded",
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Policy {
    type Err = ConfigError;

    /// Accepts `lru`, `lfu`, `fifo`, `rr` (or `random`), `tinylfu` (or `tiny_lfu`,
    /// `tiny-lfu`) and `unbounded` (or `none`), case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "lru" => Ok(Self::Lru),
            "lfu" => Ok(Self::Lfu),
            "fifo" => Ok(Self::Fifo),
            "rr" | "random" => Ok(Self::Random),
            "tinylfu" | "tiny_lfu" | "tiny-lfu" => Ok(Self::TinyLfu),
            "unbounded" | "none" => Ok(Self::Unbounded),
            _ => Err(ConfigError::UnknownPolicy(s.to_owned())),
        }
    }
}

/// Where a cache keeps its entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EngineKind {
    /// In process memory (`#[mcache]`).
    Memory,
    /// A persistent key-value store on fjall (`#[bcache]`).
    Disk,
    /// Content-addressed files on cacache, for large values (`#[fcache]`).
    File,
    /// A shared Redis server.
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    Redis,
}

impl EngineKind {
    /// Every engine name that `engine = "…"` attributes and [`EngineKind::from_str`]
    /// accept, each with the canonical name ([`EngineKind::as_str`]) it stands for.
    ///
    /// The one list of engine names. The attribute macros read it too, through
    /// [`EngineKind::canonical_name`] — they depend on this crate already (for the `ttl`
    /// and `maxsize` parsers) — but cannot use [`EngineKind`] itself, whose `Redis`
    /// variant exists only with the `redis` feature, which the proc-macro's own build of
    /// this crate does not get. So the list is plain strings, present in every build.
    pub const NAMES: &'static [(&'static str, &'static str)] = &[
        ("memory", "memory"),
        ("mem", "memory"),
        ("disk", "disk"),
        ("fjall", "disk"),
        ("file", "file"),
        ("cacache", "file"),
        ("redis", "redis"),
        ("valkey", "redis"),
    ];

    /// The canonical name of the engine `name` stands for (any entry of
    /// [`EngineKind::NAMES`], ignoring ASCII case and surrounding whitespace), whether or
    /// not this build has that engine.
    ///
    /// ```
    /// use twat_cache_core::EngineKind;
    ///
    /// assert_eq!(EngineKind::canonical_name(" Fjall "), Some("disk"));
    /// assert_eq!(EngineKind::canonical_name("valkey"), Some("redis"));
    /// assert_eq!(EngineKind::canonical_name("sqlite"), None);
    /// ```
    #[must_use]
    pub fn canonical_name(name: &str) -> Option<&'static str> {
        let name = name.trim();
        Self::NAMES
            .iter()
            .find(|(alias, _)| alias.eq_ignore_ascii_case(name))
            .map(|&(_, canonical)| canonical)
    }

    /// The engines this build has.
    const COMPILED: &'static [Self] = &[
        Self::Memory,
        Self::Disk,
        Self::File,
        #[cfg(feature = "redis")]
        Self::Redis,
    ];

    /// The canonical lower-case name, as accepted by [`EngineKind::from_str`].
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Disk => "disk",
            Self::File => "file",
            #[cfg(feature = "redis")]
            Self::Redis => "redis",
        }
    }

    /// Whether the engine keeps entries across process restarts.
    #[must_use]
    pub const fn is_persistent(self) -> bool {
        !matches!(self, Self::Memory)
    }
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EngineKind {
    type Err = ConfigError;

    /// Accepts the names of [`EngineKind::NAMES`] — `memory` (or `mem`), `disk` (or
    /// `fjall`), `file` (or `cacache`) and, with the `redis` feature, `redis` (or
    /// `valkey`) — case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::canonical_name(s)
            .and_then(|canonical| {
                Self::COMPILED
                    .iter()
                    .copied()
                    .find(|engine| engine.as_str() == canonical)
            })
            .ok_or_else(|| ConfigError::UnknownEngine(s.to_owned()))
    }
}

/// A validated cache configuration. Build one with [`CacheConfig::builder`].
///
/// ```
/// use std::time::Duration;
/// use twat_cache_core::{CacheConfig, EngineKind, Policy};
///
/// let config = CacheConfig::builder()
///     .name("reports")
///     .engine(EngineKind::Disk)
///     .folder("report_cache")
///     .maxsize(512 * 1024 * 1024)
///     .ttl(Duration::from_secs(3600))
///     .build()?;
/// assert_eq!(config.name(), Some("reports"));
/// assert_eq!(config.policy(), Policy::Lru);
/// assert!(config.secure());
/// # Ok::<(), twat_cache_core::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheConfig {
    name: Option<String>,
    maxsize: Option<u64>,
    ttl: Option<Duration>,
    stale: Option<Duration>,
    stale_if_error: bool,
    policy: Policy,
    folder: Option<PathBuf>,
    compress: bool,
    secure: bool,
    durable: bool,
    version: u32,
    engine: Option<EngineKind>,
    #[cfg(feature = "redis")]
    redis_url: Option<String>,
}

impl Default for CacheConfig {
    /// An unnamed, unbounded-in-time memory cache with the LRU policy.
    fn default() -> Self {
        Self {
            name: None,
            maxsize: None,
            ttl: None,
            stale: None,
            stale_if_error: false,
            policy: Policy::Lru,
            folder: None,
            compress: false,
            secure: true,
            durable: false,
            version: 0,
            engine: None,
            #[cfg(feature = "redis")]
            redis_url: None,
        }
    }
}

impl CacheConfig {
    /// Starts a builder with the defaults: no name, no bound, no TTL, LRU, secure.
    pub fn builder() -> CacheConfigBuilder {
        CacheConfigBuilder {
            config: Self::default(),
        }
    }

    /// The name the cache is registered under, if any.
    #[must_use]
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The bound: entries for memory engines, bytes for disk and file engines.
    #[must_use]
    pub const fn maxsize(&self) -> Option<u64> {
        self.maxsize
    }

    /// How long an entry stays valid after it is stored.
    #[must_use]
    pub const fn ttl(&self) -> Option<Duration> {
        self.ttl
    }

    /// How long after its `ttl` an entry of a memoized function (or of a `CacheContext`'s
    /// `get_or_insert_with`) is still served (stale) while one caller recomputes it;
    /// `None`: expired entries are recomputed before answering. Always `None` without a
    /// [`ttl`](Self::ttl).
    #[must_use]
    pub const fn stale(&self) -> Option<Duration> {
        self.stale
    }

    /// Whether a failed recomputation of a stale entry (an `Err`, a panic) keeps the old
    /// value served until the stale window ends. Only `true` with a [`stale`](Self::stale)
    /// window.
    #[must_use]
    pub const fn stale_if_error(&self) -> bool {
        self.stale_if_error
    }

    /// How long an engine keeps an entry after it is stored: `ttl` plus the `stale`
    /// window (an expired entry must still be there to be served stale), saturating.
    #[must_use]
    pub fn retention(&self) -> Option<Duration> {
        self.ttl
            .map(|ttl| self.stale.map_or(ttl, |stale| ttl.saturating_add(stale)))
    }

    /// A builder holding this configuration, to change some of its settings.
    ///
    /// ```
    /// use std::time::Duration;
    /// use twat_cache_core::CacheConfig;
    ///
    /// let base = CacheConfig::builder().name("users").build()?;
    /// let short = base.clone().into_builder().ttl(Duration::from_secs(5)).build()?;
    /// assert_eq!((short.name(), short.ttl()), (Some("users"), Some(Duration::from_secs(5))));
    /// # Ok::<(), twat_cache_core::ConfigError>(())
    /// ```
    pub fn into_builder(self) -> CacheConfigBuilder {
        CacheConfigBuilder { config: self }
    }

    /// The eviction policy (memory engines).
    #[must_use]
    pub const fn policy(&self) -> Policy {
        self.policy
    }

    /// The folder under the cache root (persistent engines).
    #[must_use]
    pub fn folder(&self) -> Option<&Path> {
        self.folder.as_deref()
    }

    /// Whether stored values are compressed with zstd.
    #[must_use]
    pub const fn compress(&self) -> bool {
        self.compress
    }

    /// Whether folders and files are owner-only and file names use BLAKE3 digests.
    #[must_use]
    pub const fn secure(&self) -> bool {
        self.secure
    }

    /// Whether each write is synced to stable storage before it returns.
    #[must_use]
    pub const fn durable(&self) -> bool {
        self.durable
    }

    /// The key-space version: bump it to stop reading entries written by older code.
    #[must_use]
    pub const fn version(&self) -> u32 {
        self.version
    }

    /// The engine asked for, if any (`None` lets the caller choose).
    #[must_use]
    pub const fn engine(&self) -> Option<EngineKind> {
        self.engine
    }

    /// The Redis URL asked for, if any.
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    #[must_use]
    pub fn redis_url(&self) -> Option<&str> {
        self.redis_url.as_deref()
    }

    /// The key namespace of this configuration: its name (or `fallback_name`) and version.
    #[must_use]
    pub fn namespace(&self, fallback_name: &str) -> crate::Namespace {
        crate::Namespace::new(self.name().unwrap_or(fallback_name), self.version)
    }
}

/// Builds a [`CacheConfig`]; every setter takes `self` and returns `Self`.
#[derive(Debug, Clone)]
#[must_use]
pub struct CacheConfigBuilder {
    config: CacheConfig,
}

impl CacheConfigBuilder {
    /// Names the cache; it is registered under this name for
    /// `clear_cache`/`get_stats`, and the name is part of every persistent key.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.config.name = Some(name.into());
        self
    }

    /// Bounds the cache: entries for memory engines, bytes for disk and file engines.
    pub fn maxsize(mut self, maxsize: u64) -> Self {
        self.config.maxsize = Some(maxsize);
        self
    }

    /// Expires entries this long after they are stored.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.config.ttl = Some(ttl);
        self
    }

    /// Serves an expired entry of a memoized function (or of a `CacheContext`) for this
    /// long after its `ttl` (stale-while-revalidate): callers get the old value at once
    /// while exactly one of them recomputes it. Needs a `ttl`.
    pub fn stale(mut self, stale: Duration) -> Self {
        self.config.stale = Some(stale);
        self
    }

    /// With a `stale` window: when recomputing a stale entry fails (returns `Err` or
    /// panics), keep serving the old value until the window ends (`false`, the default:
    /// the caller that recomputed gets its error).
    pub fn stale_if_error(mut self, stale_if_error: bool) -> Self {
        self.config.stale_if_error = stale_if_error;
        self
    }

    /// Chooses the eviction policy (memory engines).
    pub fn policy(mut self, policy: Policy) -> Self {
        self.config.policy = policy;
        self
    }

    /// Stores entries in this folder, relative to the cache root.
    pub fn folder(mut self, folder: impl Into<PathBuf>) -> Self {
        self.config.folder = Some(folder.into());
        self
    }

    /// Compresses stored values with zstd (persistent engines).
    pub fn compress(mut self, compress: bool) -> Self {
        self.config.compress = compress;
        self
    }

    /// Owner-only permissions and BLAKE3 file names (`true`, the default), or the
    /// process umask and xxh3 names (`false`).
    pub fn secure(mut self, secure: bool) -> Self {
        self.config.secure = secure;
        self
    }

    /// Syncs each write to stable storage before returning (slower, survives power loss).
    pub fn durable(mut self, durable: bool) -> Self {
        self.config.durable = durable;
        self
    }

    /// Sets the key-space version; entries written under another version are not read.
    pub fn version(mut self, version: u32) -> Self {
        self.config.version = version;
        self
    }

    /// Chooses the engine.
    pub fn engine(mut self, engine: EngineKind) -> Self {
        self.config.engine = Some(engine);
        self
    }

    /// Sets the Redis server URL (`redis://`, `rediss://`, `redis+unix://`), or a
    /// cluster's nodes (`redis+cluster://h1:p1,h2:p2`, `rediss+cluster://…`).
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn redis_url(mut self, url: impl Into<String>) -> Self {
        self.config.redis_url = Some(url.into());
        self
    }

    /// Validates the settings and returns the configuration.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the field when `ttl`, `stale` or `maxsize` is zero, `name`
    /// is empty, `folder` is empty or would escape the cache root (a `..` component or an
    /// absolute path), `stale` is set without `ttl` (or `stale_if_error` without
    /// `stale`), or `redis_url` is not a Redis URL.
    pub fn build(self) -> Result<CacheConfig, ConfigError> {
        let config = self.config;
        if let Some(name) = &config.name
            && name.trim().is_empty()
        {
            return Err(ConfigError::EmptyName(name.clone()));
        }
        if let Some(ttl) = config.ttl
            && ttl.is_zero()
        {
            return Err(ConfigError::ZeroTtl(ttl));
        }
        if let Some(stale) = config.stale {
            if stale.is_zero() {
                return Err(ConfigError::ZeroStale(stale));
            }
            if config.ttl.is_none() {
                return Err(ConfigError::StaleWithoutTtl);
            }
        }
        if config.stale_if_error && config.stale.is_none() {
            return Err(ConfigError::StaleIfErrorWithoutStale);
        }
        if config.maxsize == Some(0) {
            return Err(ConfigError::ZeroMaxsize);
        }
        if let Some(folder) = &config.folder {
            validate_folder(folder)?;
        }
        #[cfg(feature = "redis")]
        if let Some(url) = &config.redis_url {
            validate_redis_url(url)?;
        }
        Ok(config)
    }
}

/// Checks that `folder` is a non-empty relative path that stays inside the cache root.
///
/// # Errors
///
/// [`ConfigError::EmptyFolder`] or [`ConfigError::FolderEscapesRoot`].
pub fn validate_folder(folder: &Path) -> Result<(), ConfigError> {
    let escapes = |reason| ConfigError::FolderEscapesRoot {
        folder: folder.to_path_buf(),
        reason,
    };
    let mut normal_parts = 0usize;
    for component in folder.components() {
        match component {
            Component::Prefix(_) => return Err(escapes("it names a drive or UNC prefix")),
            Component::RootDir => return Err(escapes("it is an absolute path")),
            Component::ParentDir => return Err(escapes("it contains a `..` component")),
            Component::CurDir => {}
            Component::Normal(_) => normal_parts += 1,
        }
    }
    if normal_parts == 0 {
        return Err(ConfigError::EmptyFolder);
    }
    Ok(())
}

#[cfg(feature = "redis")]
fn validate_redis_url(url: &str) -> Result<(), ConfigError> {
    let invalid = |reason| ConfigError::InvalidRedisUrl {
        url: mask_password(url),
        reason,
    };
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(invalid("it has no `scheme://`"));
    };
    match scheme {
        "redis" | "rediss" | "valkey" | "valkeys" | "redis+cluster" | "rediss+cluster"
        | "valkey+cluster" | "valkeys+cluster" => {
            let authority = rest.split(['/', '?']).next().unwrap_or_default();
            let hosts = authority.rsplit('@').next().unwrap_or_default();
            // A cluster URL lists several `host:port`s: each must be one.
            let hosts: Vec<&str> = if scheme.ends_with("+cluster") {
                hosts.split(',').collect()
            } else {
                vec![hosts]
            };
            for host in hosts {
                if host.is_empty() {
                    return Err(invalid("it has no host"));
                }
                if let Some((_, port)) = host.rsplit_once(':')
                    && !host.ends_with(']')
                    && port.parse::<u16>().is_err()
                {
                    return Err(invalid("its port is not a number from 0 to 65535"));
                }
            }
            Ok(())
        }
        "redis+unix" | "unix" => {
            if rest.is_empty() {
                Err(invalid("it has no socket path"))
            } else {
                Ok(())
            }
        }
        _ => Err(invalid(
            "the scheme is not redis, rediss, redis+unix or redis+cluster",
        )),
    }
}

/// Replaces the password in a URL's `user:password@` part with `***`, for messages and logs.
#[must_use]
pub fn mask_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// Reads a time-to-live given in seconds (as the attribute `ttl = 60` or `ttl = 0.25`).
///
/// # Errors
///
/// [`ConfigError::InvalidDuration`] for a negative, NaN or infinite value, and
/// [`ConfigError::ZeroTtl`] for zero.
pub fn parse_ttl_secs(seconds: f64) -> Result<Duration, ConfigError> {
    duration_secs("ttl", seconds, ConfigError::ZeroTtl)
}

/// Reads a stale window given in seconds (as the attribute `stale = 300`), as
/// [`parse_ttl_secs`] reads a `ttl`.
///
/// # Errors
///
/// [`ConfigError::InvalidDuration`] for a negative, NaN or infinite value, and
/// [`ConfigError::ZeroStale`] for zero.
pub fn parse_stale_secs(seconds: f64) -> Result<Duration, ConfigError> {
    duration_secs("stale", seconds, ConfigError::ZeroStale)
}

/// Reads a stale window given as a string (`"5m"`, `"90s"`, `"300"`), as
/// [`parse_ttl_str`] reads a `ttl`.
///
/// # Errors
///
/// [`ConfigError::InvalidDuration`] when the string is not a duration, and
/// [`ConfigError::ZeroStale`] for a zero duration.
pub fn parse_stale_str(text: &str) -> Result<Duration, ConfigError> {
    duration_str("stale", text, ConfigError::ZeroStale)
}

/// A positive duration in seconds for `field`; `zero` makes its error for zero.
fn duration_secs(
    field: &'static str,
    seconds: f64,
    zero: fn(Duration) -> ConfigError,
) -> Result<Duration, ConfigError> {
    let duration =
        Duration::try_from_secs_f64(seconds).map_err(|err| ConfigError::InvalidDuration {
            field,
            value: seconds.to_string(),
            reason: err.to_string(),
        })?;
    if duration.is_zero() {
        return Err(zero(duration));
    }
    Ok(duration)
}

/// A positive duration written as a string (seconds or humantime) for `field`.
fn duration_str(
    field: &'static str,
    text: &str,
    zero: fn(Duration) -> ConfigError,
) -> Result<Duration, ConfigError> {
    let trimmed = text.trim();
    if let Ok(seconds) = trimmed.parse::<f64>() {
        return duration_secs(field, seconds, zero);
    }
    let duration =
        humantime::parse_duration(trimmed).map_err(|err| ConfigError::InvalidDuration {
            field,
            value: text.to_owned(),
            reason: err.to_string(),
        })?;
    if duration.is_zero() {
        return Err(zero(duration));
    }
    Ok(duration)
}

/// Reads a time-to-live given as a string: `"250ms"`, `"90s"`, `"1h 30m"`, or plain
/// seconds (`"60"`, `"0.25"`).
///
/// # Errors
///
/// [`ConfigError::InvalidDuration`] when the string is not a duration, and
/// [`ConfigError::ZeroTtl`] for a zero duration.
pub fn parse_ttl_str(text: &str) -> Result<Duration, ConfigError> {
    duration_str("ttl", text, ConfigError::ZeroTtl)
}

/// Reads a positive duration given as a string for the setting `field` (an option or an
/// environment variable): `"250ms"`, `"2s"`, `"1h 30m"`, or plain seconds (`"0.25"`).
///
/// # Errors
///
/// [`ConfigError::InvalidDuration`] naming `field` when the string is not a duration or
/// is zero.
pub fn parse_duration_str(field: &'static str, text: &str) -> Result<Duration, ConfigError> {
    match duration_str(field, text, ConfigError::ZeroTtl) {
        Err(ConfigError::ZeroTtl(_)) => Err(ConfigError::InvalidDuration {
            field,
            value: text.to_owned(),
            reason: "it must be more than zero".to_owned(),
        }),
        parsed => parsed,
    }
}

/// Reads a byte size given as a string: `"512 MiB"`, `"1.5 GB"`, `"4096"`.
///
/// # Errors
///
/// [`ConfigError::InvalidSize`] when the string is not a size, and
/// [`ConfigError::ZeroMaxsize`] for zero.
pub fn parse_size_str(text: &str) -> Result<u64, ConfigError> {
    let trimmed = text.trim();
    let bytes = match trimmed.parse::<u64>() {
        Ok(bytes) => bytes,
        Err(_) => trimmed
            .parse::<bytesize::ByteSize>()
            .map_err(|reason| ConfigError::InvalidSize {
                field: "maxsize",
                value: text.to_owned(),
                reason,
            })?
            .as_u64(),
    };
    if bytes == 0 {
        return Err(ConfigError::ZeroMaxsize);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_secure_lru_and_unbounded() {
        let config = CacheConfig::builder().build().unwrap();
        assert_eq!(config.policy(), Policy::Lru);
        assert!(config.secure());
        assert!(!config.compress());
        assert_eq!(config.maxsize(), None);
        assert_eq!(config.ttl(), None);
        assert_eq!(config.engine(), None);
    }

    #[test]
    fn policy_names_round_trip() {
        for policy in [
            Policy::Lru,
            Policy::Lfu,
            Policy::Fifo,
            Policy::Random,
            Policy::TinyLfu,
            Policy::Unbounded,
        ] {
            assert_eq!(policy.as_str().parse::<Policy>().unwrap(), policy);
        }
        assert_eq!("LRU".parse::<Policy>().unwrap(), Policy::Lru);
        let err = "mru".parse::<Policy>().unwrap_err();
        assert!(err.to_string().contains("\"mru\""), "{err}");
    }

    #[test]
    fn engine_names_round_trip() {
        for engine in [EngineKind::Memory, EngineKind::Disk, EngineKind::File] {
            assert_eq!(engine.as_str().parse::<EngineKind>().unwrap(), engine);
        }
        assert!("sqlite".parse::<EngineKind>().is_err());
    }

    #[test]
    fn every_listed_name_parses_to_its_canonical_engine() {
        for &(alias, canonical) in EngineKind::NAMES {
            assert_eq!(EngineKind::canonical_name(alias), Some(canonical));
            assert_eq!(
                EngineKind::canonical_name(&format!(" {} ", alias.to_uppercase())),
                Some(canonical)
            );
            match alias.parse::<EngineKind>() {
                Ok(engine) => assert_eq!(engine.as_str(), canonical, "{alias}"),
                // Only an engine this build does not have may be refused.
                Err(_) => assert!(
                    EngineKind::COMPILED.iter().all(|e| e.as_str() != canonical),
                    "{alias}"
                ),
            }
        }
        for engine in EngineKind::COMPILED {
            assert_eq!(
                EngineKind::canonical_name(engine.as_str()),
                Some(engine.as_str())
            );
        }
        #[cfg(feature = "redis")]
        assert_eq!("valkey".parse::<EngineKind>().unwrap(), EngineKind::Redis);
        assert_eq!(EngineKind::canonical_name("sqlite"), None);
    }

    #[cfg(feature = "redis")]
    #[test]
    fn cluster_urls_list_several_nodes() {
        let url = |url: &str| CacheConfig::builder().redis_url(url).build();
        assert!(url("redis+cluster://u:pw@h1:7000,h2:7001,[::1]:7002/0").is_ok());
        assert!(url("rediss+cluster://h1:7000").is_ok());
        assert!(url("redis+cluster://h1:7000,,h2:7001").is_err());
        assert!(url("redis+cluster://h1:7000,h2:port").is_err());
    }

    #[test]
    fn mask_password_hides_only_the_password() {
        assert_eq!(
            mask_password("redis://user:hunter2@host:6379/0"),
            "redis://user:***@host:6379/0"
        );
        assert_eq!(mask_password("redis://host:6379"), "redis://host:6379");
    }

    #[test]
    fn ttl_parsers_accept_numbers_and_strings() {
        assert_eq!(parse_ttl_secs(60.0).unwrap(), Duration::from_secs(60));
        assert_eq!(parse_ttl_secs(0.25).unwrap(), Duration::from_millis(250));
        assert_eq!(parse_ttl_str("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_ttl_str("1h 30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_ttl_str("90").unwrap(), Duration::from_secs(90));
    }

    #[test]
    fn ttl_parsers_reject_bad_values() {
        assert!(matches!(
            parse_ttl_secs(-1.0),
            Err(ConfigError::InvalidDuration { .. })
        ));
        assert!(matches!(
            parse_ttl_secs(f64::NAN),
            Err(ConfigError::InvalidDuration { .. })
        ));
        assert!(matches!(parse_ttl_secs(0.0), Err(ConfigError::ZeroTtl(_))));
        let err = parse_ttl_str("soon").unwrap_err();
        assert!(err.to_string().contains("\"soon\""), "{err}");
        assert!(matches!(parse_ttl_str("0s"), Err(ConfigError::ZeroTtl(_))));
    }

    #[test]
    fn stale_needs_a_ttl_and_is_parsed_as_ttl_is() {
        assert_eq!(parse_stale_str("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_stale_secs(1.5).unwrap(), Duration::from_millis(1500));
        assert!(matches!(
            parse_stale_str("0"),
            Err(ConfigError::ZeroStale(_))
        ));
        let err = parse_stale_str("later").unwrap_err();
        assert!(err.to_string().starts_with("`stale`"), "{err}");
        let stale = Duration::from_secs(60);
        assert_eq!(
            CacheConfig::builder().stale(stale).build(),
            Err(ConfigError::StaleWithoutTtl)
        );
        assert_eq!(
            CacheConfig::builder()
                .ttl(stale)
                .stale(Duration::ZERO)
                .build(),
            Err(ConfigError::ZeroStale(Duration::ZERO))
        );
        assert_eq!(
            CacheConfig::builder()
                .ttl(stale)
                .stale_if_error(true)
                .build(),
            Err(ConfigError::StaleIfErrorWithoutStale)
        );
        let config = CacheConfig::builder()
            .ttl(Duration::from_secs(10))
            .stale(stale)
            .stale_if_error(true)
            .build()
            .unwrap();
        assert_eq!(config.stale(), Some(stale));
        assert!(config.stale_if_error());
        assert_eq!(config.retention(), Some(Duration::from_secs(70)));
        assert_eq!(CacheConfig::default().retention(), None);
    }

    #[test]
    fn size_parser_accepts_units() {
        assert_eq!(parse_size_str("4096").unwrap(), 4096);
        assert_eq!(parse_size_str("512 MiB").unwrap(), 512 * 1024 * 1024);
        assert_eq!(parse_size_str("1 KB").unwrap(), 1000);
        let err = parse_size_str("lots").unwrap_err();
        assert!(err.to_string().contains("\"lots\""), "{err}");
        assert!(matches!(parse_size_str("0"), Err(ConfigError::ZeroMaxsize)));
    }
}
