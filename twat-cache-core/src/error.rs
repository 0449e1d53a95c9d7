//! The workspace's error types: [`ConfigError`] for bad configuration, [`Error`] for
//! everything an engine or the registry can fail at.

use std::path::PathBuf;

/// A configuration value was rejected while building a [`CacheConfig`](crate::CacheConfig)
/// or while parsing an attribute value.
///
/// Every variant names the field and carries the value that was refused, so the message
/// alone tells the user what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// `ttl` was zero; a zero time-to-live would expire every entry on insert.
    #[error(
        "`ttl` must be greater than zero (got {0:?}); leave `ttl` unset for entries that never expire"
    )]
    ZeroTtl(std::time::Duration),
    /// `maxsize` was zero; a cache that can hold nothing is a plain call.
    #[error(
        "`maxsize` must be greater than zero (got 0); leave `maxsize` unset for an unbounded cache"
    )]
    ZeroMaxsize,
    /// `name` was empty or only whitespace.
    #[error("`name` must not be empty (got {0:?})")]
    EmptyName(String),
    /// `folder` would escape the cache root: it has a `..` component, is absolute, or
    /// carries a drive/root prefix.
    #[error("`folder` must be a relative name inside the cache root (got {folder:?}): {reason}")]
    FolderEscapesRoot {
        /// The folder as given.
        folder: PathBuf,
        /// Why it was refused.
        reason: &'static str,
    },
    /// `folder` was empty.
    #[error("`folder` must not be empty; give a name such as \"my_cache\"")]
    EmptyFolder,
    /// A duration string or number could not be parsed.
    #[error(
        "`{field}`: cannot read {value:?} as a duration: {reason}; write seconds (60, 0.25) or a string such as \"250ms\" or \"1h 30m\""
    )]
    InvalidDuration {
        /// The field being parsed (`ttl`).
        field: &'static str,
        /// The value as given.
        value: String,
        /// The parser's explanation.
        reason: String,
    },
    /// A size string or number could not be parsed.
    #[error(
        "`{field}`: cannot read {value:?} as a size: {reason}; write an integer (1024) or a string such as \"512 MiB\""
    )]
    InvalidSize {
        /// The field being parsed (`maxsize`).
        field: &'static str,
        /// The value as given.
        value: String,
        /// The parser's explanation.
        reason: String,
    },
    /// A policy name was not one of the known policies.
    #[error(
        "`policy`: unknown policy {0:?}; write one of \"lru\", \"lfu\", \"fifo\", \"rr\", \"tinylfu\", \"unbounded\""
    )]
    UnknownPolicy(String),
    /// An engine name was not one of the known engines.
    #[error(
        "`engine`: unknown engine {0:?}; write one of \"memory\", \"disk\", \"file\", \"redis\""
    )]
    UnknownEngine(String),
    /// A Redis URL could not be parsed.
    #[error(
        "`redis_url`: {url:?} is not a Redis URL: {reason}; write redis://host:port, rediss://host:port, redis+unix:///path or redis+cluster://h1:p1,h2:p2"
    )]
    InvalidRedisUrl {
        /// The URL as given, with any password replaced by `***`.
        url: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// Two settings cannot be used together.
    #[error("{0}")]
    Conflict(&'static str),
}

/// Anything a cache operation can fail at.
///
/// Memoizing wrappers never surface these to the user's function: they count them in
/// [`Stats::errors`](crate::Stats::errors), warn once and return the function's real
/// result. Direct users ([`CacheContext`](https://docs.rs/twat-cache)) see them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration was rejected.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A file-system or socket operation failed.
    #[error("I/O error at {path:?}: {source}")]
    Io {
        /// The path involved, when there is one.
        path: Option<PathBuf>,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A key or value could not be serialized.
    #[error("cannot encode {what}: {reason}")]
    Encode {
        /// `"key"` or `"value"`.
        what: &'static str,
        /// The serializer's explanation.
        reason: String,
    },
    /// Stored bytes could not be decoded (wrong format version, truncated, garbled, or the
    /// stored type differs from the requested one).
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The cache folder is locked by another process or another open handle.
    #[error("cache folder {0:?} is locked by another process or handle")]
    Locked(PathBuf),
    /// No cache root could be determined (no `TWAT_CACHE_DIR` and no platform cache dir).
    #[error("no cache root: set TWAT_CACHE_DIR to a writable folder")]
    NoCacheRoot,
    /// The requested engine is not compiled in.
    #[error("engine {engine} is not available: enable the `{feature}` feature of twat-cache")]
    EngineUnavailable {
        /// The engine that was asked for.
        engine: crate::EngineKind,
        /// The Cargo feature that brings it.
        feature: &'static str,
    },
    /// The engine cannot do what was asked (such as visiting its keys for
    /// `CacheContext::invalidate_if`); nothing was changed.
    #[error("the {engine} engine does not support {operation}")]
    Unsupported {
        /// The engine asked.
        engine: crate::EngineKind,
        /// What it was asked to do.
        operation: &'static str,
    },
    /// An engine's backend reported an error.
    #[error("{engine} engine: {message}")]
    Backend {
        /// The engine that failed.
        engine: crate::EngineKind,
        /// The backend's message.
        message: String,
    },
}

impl Error {
    /// A key that could not be serialized: [`Error::Encode`] with `what = "key"`.
    ///
    /// ```
    /// use twat_cache_core::Error;
    ///
    /// let err = Error::unencodable_key("sequence length unknown");
    /// assert!(matches!(err, Error::Encode { what: "key", .. }));
    /// assert_eq!(err.to_string(), "cannot encode key: sequence length unknown");
    /// ```
    pub fn unencodable_key(reason: impl std::fmt::Display) -> Self {
        Self::Encode {
            what: "key",
            reason: reason.to_string(),
        }
    }

    /// A value that could not be serialized (or is too large for the engine):
    /// [`Error::Encode`] with `what = "value"`.
    pub fn unencodable_value(reason: impl std::fmt::Display) -> Self {
        Self::Encode {
            what: "value",
            reason: reason.to_string(),
        }
    }

    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: Some(path.into()),
            source,
        }
    }

    /// A short, stable label for the error's cause, used to warn once per cause.
    #[must_use]
    pub fn cause_label(&self) -> &'static str {
        match self {
            Self::Config(_) => "config",
            Self::Io { .. } => "io",
            Self::Encode { .. } => "encode",
            Self::Decode(_) => "decode",
            Self::Locked(_) => "locked",
            Self::NoCacheRoot => "no-cache-root",
            Self::EngineUnavailable { .. } => "engine-unavailable",
            Self::Unsupported { .. } => "unsupported",
            Self::Backend { .. } => "backend",
        }
    }
}

/// Lets code generic over "an error that becomes [`Error`]" take infallible steps (such as
/// the memory memo's typed keys) at no cost.
impl From<std::convert::Infallible> for Error {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}

impl From<std::io::Error> for Error {
    fn from(source: std::io::Error) -> Self {
        Self::Io { path: None, source }
    }
}

/// Stored bytes that cannot be turned back into a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Fewer bytes than the envelope header needs.
    #[error("stored entry is truncated: {len} bytes, the header needs {needed}")]
    Truncated {
        /// Bytes present.
        len: usize,
        /// Bytes the header needs.
        needed: usize,
    },
    /// The leading magic bytes are not twat-cache's.
    #[error("stored entry is not a twat-cache envelope (bad magic {0:#04x})")]
    BadMagic(u8),
    /// The envelope was written by an incompatible format version.
    #[error("stored entry has format version {found}, this build reads version {expected}")]
    WrongVersion {
        /// The version found in the header.
        found: u8,
        /// The version this build writes and reads.
        expected: u8,
    },
    /// The header carries flag bits this build does not know.
    #[error("stored entry has unknown flags {0:#04x}")]
    UnknownFlags(u8),
    /// The payload does not decode as the requested type.
    #[error("stored value does not decode as the requested type: {0}")]
    Payload(String),
}
