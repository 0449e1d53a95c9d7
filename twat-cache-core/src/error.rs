//! The workspace's error types: [`ConfigError`] for bad configuration, [`Error`] for
//! everything an engine or the registry can fail at.
//!
//! Errors keep their cause: [`Error::Io`], [`Error::Encode`], [`Error::Backend`] and
//! [`DecodeError::Payload`] hold the original error (io, postcard, fjall, cacache, redis)
//! as their [`source`](std::error::Error::source), so a caller can downcast it
//! (`err.source().and_then(|s| s.downcast_ref::<fjall::Error>())`). Their messages also
//! include the cause's text, as `Io` always has, so `to_string()` alone stays helpful; a
//! reporter that prints the whole chain shows that text twice. Errors made from a message
//! alone (a folder that is not a cache, a server marked down) have no source.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// A boxed error from another crate, kept as the [`source`](std::error::Error::source) of an
/// [`Error`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

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
    /// `stale` was zero: a stale window of nothing serves no stale value.
    #[error(
        "`stale` must be greater than zero (got {0:?}); leave `stale` unset to recompute expired entries before answering"
    )]
    ZeroStale(std::time::Duration),
    /// `stale` was set without a `ttl`: entries that never expire are never stale.
    #[error(
        "`stale` needs a `ttl`: an entry is served stale for `stale` after its `ttl` ends; add a ttl, e.g. `ttl = \"1m\"`"
    )]
    StaleWithoutTtl,
    /// `stale_if_error` was set without a `stale` window to serve the old value in.
    #[error(
        "`stale_if_error` needs a `stale` window: the old value is served only within it; add e.g. `stale = \"5m\"`"
    )]
    StaleIfErrorWithoutStale,
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
        /// The serializer's error (postcard's, zstd's), when there is one.
        #[source]
        source: Option<BoxError>,
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
        /// The backend's error (fjall's, cacache's, redis's), when there is one.
        #[source]
        source: Option<BoxError>,
    },
}

impl Error {
    /// A key the serializer refused: [`Error::Encode`] with `what = "key"`, the
    /// serializer's error as its source.
    ///
    /// ```
    /// use std::error::Error as _;
    /// use twat_cache_core::Error;
    ///
    /// let err = Error::unencodable_key(postcard::Error::SerializeSeqLengthUnknown);
    /// assert!(matches!(err, Error::Encode { what: "key", .. }));
    /// assert_eq!(
    ///     err.to_string(),
    ///     "cannot encode key: The length of a sequence must be known"
    /// );
    /// let cause = err.source().and_then(|s| s.downcast_ref::<postcard::Error>());
    /// assert_eq!(cause, Some(&postcard::Error::SerializeSeqLengthUnknown));
    /// ```
    pub fn unencodable_key<E>(source: E) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        Self::encode_with("key", source.to_string(), source)
    }

    /// A value the serializer refused: [`Error::Encode`] with `what = "value"`, the
    /// serializer's error as its source.
    pub fn unencodable_value<E>(source: E) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        Self::encode_with("value", source.to_string(), source)
    }

    /// [`Error::Encode`] with a reason of the caller's (`"key"` or `"value"` as `what`)
    /// and the error behind it as its source.
    pub fn encode_with<E>(what: &'static str, reason: impl fmt::Display, source: E) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        Self::Encode {
            what,
            reason: reason.to_string(),
            source: Some(Box::new(source)),
        }
    }

    /// [`Error::Encode`] without a source: the engine itself refused the key or value
    /// (too large for it, for instance).
    ///
    /// ```
    /// use std::error::Error as _;
    /// use twat_cache_core::Error;
    ///
    /// let err = Error::encode_message("value", "larger than 4 GiB");
    /// assert_eq!(err.to_string(), "cannot encode value: larger than 4 GiB");
    /// assert!(err.source().is_none());
    /// ```
    pub fn encode_message(what: &'static str, reason: impl fmt::Display) -> Self {
        Self::Encode {
            what,
            reason: reason.to_string(),
            source: None,
        }
    }

    /// An engine's backend error: [`Error::Backend`] with the error's text as its message
    /// and the error as its source.
    ///
    /// ```
    /// use std::error::Error as _;
    /// use twat_cache_core::{EngineKind, Error};
    ///
    /// let refused = std::fmt::Error;
    /// let err = Error::backend(EngineKind::Disk, refused);
    /// assert_eq!(err.to_string(), format!("disk engine: {refused}"));
    /// assert!(err.source().is_some_and(|s| s.is::<std::fmt::Error>()));
    /// ```
    pub fn backend<E>(engine: crate::EngineKind, source: E) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        Self::backend_with(engine, source.to_string(), source)
    }

    /// [`Error::Backend`] with a message of the caller's (naming the folder or server
    /// involved) and the backend's error as its source.
    pub fn backend_with<E>(engine: crate::EngineKind, message: impl fmt::Display, source: E) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        Self::Backend {
            engine,
            message: message.to_string(),
            source: Some(Box::new(source)),
        }
    }

    /// [`Error::Backend`] without a source: the engine's own finding (a folder that is
    /// not a cache, a server marked down).
    pub fn backend_message(engine: crate::EngineKind, message: impl fmt::Display) -> Self {
        Self::Backend {
            engine,
            message: message.to_string(),
            source: None,
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
///
/// `Clone`, `PartialEq` and `Eq` are kept: the source of [`DecodeError::Payload`] is a
/// [`SharedSource`] (an `Arc`), and two payload errors are equal when their messages and
/// their sources' messages are.
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
    #[error("stored value does not decode as the requested type: {message}")]
    Payload {
        /// What did not decode, and why.
        message: String,
        /// The decoder's error (postcard's, zstd's), when there is one.
        #[source]
        source: Option<SharedSource>,
    },
}

impl DecodeError {
    /// A payload the decoder refused, the decoder's error as its source.
    ///
    /// ```
    /// use std::error::Error as _;
    /// use twat_cache_core::{DecodeError, decode_value};
    ///
    /// let err = decode_value::<String>(&[0xFF]).unwrap_err();
    /// assert!(matches!(err, DecodeError::Payload { .. }));
    /// assert!(err.source().is_some_and(|s| s.is::<postcard::Error>()));
    /// ```
    pub fn payload<E>(source: E) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        Self::payload_with(source.to_string(), source)
    }

    /// A payload that does not decode, with a message of the caller's and the decoder's
    /// error as its source.
    pub fn payload_with<E>(message: impl fmt::Display, source: E) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        Self::Payload {
            message: message.to_string(),
            source: Some(SharedSource(Arc::new(source))),
        }
    }

    /// A payload that does not decode, found by twat-cache itself (a length that
    /// disagrees with the bytes stored): no source.
    pub fn payload_message(message: impl fmt::Display) -> Self {
        Self::Payload {
            message: message.to_string(),
            source: None,
        }
    }
}

/// The source of a [`DecodeError::Payload`]: the decoder's error, shared so that
/// [`DecodeError`] stays `Clone`.
///
/// [`DecodeError`]'s `source()` returns the error inside (not this wrapper), so it
/// downcasts to the decoder's type. Equality compares the errors' messages.
#[derive(Clone)]
pub struct SharedSource(Arc<dyn std::error::Error + Send + Sync + 'static>);

impl std::ops::Deref for SharedSource {
    type Target = dyn std::error::Error + Send + Sync + 'static;

    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

impl fmt::Debug for SharedSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for SharedSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl PartialEq for SharedSource {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.to_string() == other.0.to_string()
    }
}

impl Eq for SharedSource {}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn payload_source_downcasts_to_the_decoder_error() {
        let err = DecodeError::payload(postcard::Error::DeserializeUnexpectedEnd);
        let cause = err
            .source()
            .and_then(|s| s.downcast_ref::<postcard::Error>());
        assert_eq!(cause, Some(&postcard::Error::DeserializeUnexpectedEnd));
        // `Error::Decode` is transparent: its source is the decoder's error too.
        let outer = Error::Decode(err.clone());
        assert!(
            outer
                .source()
                .is_some_and(<dyn std::error::Error>::is::<postcard::Error>)
        );
        assert_eq!(err.clone(), err);
        assert_ne!(err, DecodeError::payload_message("other"));
        assert!(DecodeError::payload_message("x").source().is_none());
    }

    #[test]
    fn io_and_backend_sources_downcast() {
        let err = Error::io("/x", std::io::ErrorKind::PermissionDenied.into());
        let io = err
            .source()
            .and_then(|s| s.downcast_ref::<std::io::Error>());
        assert_eq!(
            io.map(std::io::Error::kind),
            Some(std::io::ErrorKind::PermissionDenied)
        );
        let err = Error::backend_with(crate::EngineKind::Disk, "refused (/x)", fmt::Error);
        assert_eq!(err.to_string(), "disk engine: refused (/x)");
        assert!(
            err.source()
                .is_some_and(<dyn std::error::Error>::is::<fmt::Error>)
        );
        assert!(
            Error::backend_message(crate::EngineKind::File, "no")
                .source()
                .is_none()
        );
    }
}
