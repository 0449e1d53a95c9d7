//! Engine options that [`CacheConfig`](twat_cache_core::CacheConfig) does not carry.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// Extra settings of a [`FileCache`](crate::FileCache), for
/// [`FileCache::open_with`](crate::FileCache::open_with).
///
/// ```
/// use std::time::Duration;
/// use twat_cache_file::FileCacheOptions;
///
/// let options = FileCacheOptions::new()
///     .compression_level(9)
///     .orphan_grace(Duration::from_secs(300));
/// assert_ne!(options, FileCacheOptions::default());
/// ```
///
/// Like every engine's options type it is a builder: `new()` (the defaults), chainable
/// setters named after the setting, passed by value to `open_with(&config, options)`
/// (every constructor borrows the [`CacheConfig`](twat_cache_core::CacheConfig)); the
/// engine reads the settings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct FileCacheOptions {
    compression_level: i32,
    directory: Option<PathBuf>,
    orphan_grace: Duration,
    temp_grace: Duration,
    recency_resolution: Duration,
}

impl Default for FileCacheOptions {
    fn default() -> Self {
        Self {
            compression_level: Self::DEFAULT_COMPRESSION_LEVEL,
            directory: None,
            orphan_grace: Duration::from_secs(60),
            temp_grace: Duration::from_secs(24 * 60 * 60),
            recency_resolution: Duration::ZERO,
        }
    }
}

impl FileCacheOptions {
    /// The zstd level used when the configuration asks for compression.
    pub const DEFAULT_COMPRESSION_LEVEL: i32 = 3;

    /// The defaults: zstd level 3, the folder from the configuration, orphaned content
    /// collected after 60 s, abandoned temporary files after a day, every hit stamped.
    pub fn new() -> Self {
        Self::default()
    }

    /// The zstd level (1–22, higher is smaller and slower; 0 means zstd's default, 3)
    /// used when the configuration sets `compress = true`.
    pub const fn compression_level(mut self, level: i32) -> Self {
        self.compression_level = level;
        self
    }

    /// Stores the cache in exactly this directory instead of `<cache root>/<folder>`.
    ///
    /// Meant for tests and for programs that manage their own paths; any path is accepted,
    /// including absolute ones.
    pub fn directory(mut self, directory: impl Into<PathBuf>) -> Self {
        self.directory = Some(directory.into());
        self
    }

    /// How old a content file that no index entry refers to must be before a sweep
    /// removes it. A writer stores content first and its index entry a moment later;
    /// the grace keeps a sweep in another process from removing content in that window.
    pub const fn orphan_grace(mut self, grace: Duration) -> Self {
        self.orphan_grace = grace;
        self
    }

    /// How old an abandoned temporary file (a writer that crashed mid-write) must be
    /// before a sweep removes it. Long by default: a streaming writer may run for hours.
    pub const fn temp_grace(mut self, grace: Duration) -> Self {
        self.temp_grace = grace;
        self
    }

    /// How stale an entry's recency stamp may get before a hit renews it. Zero (the
    /// default) stamps every hit, which keeps least-recently-used eviction exact; a
    /// larger value saves one metadata write per hit on busy, slow file systems.
    pub const fn recency_resolution(mut self, resolution: Duration) -> Self {
        self.recency_resolution = resolution;
        self
    }

    /// The configured zstd level.
    #[must_use]
    pub(crate) const fn level(&self) -> i32 {
        self.compression_level
    }

    /// The directory override, if any.
    #[must_use]
    pub(crate) fn directory_override(&self) -> Option<&Path> {
        self.directory.as_deref()
    }

    /// The grace period of orphaned content.
    #[must_use]
    pub(crate) const fn orphan_grace_period(&self) -> Duration {
        self.orphan_grace
    }

    /// The grace period of abandoned temporary files.
    #[must_use]
    pub(crate) const fn temp_grace_period(&self) -> Duration {
        self.temp_grace
    }

    /// The recency resolution.
    #[must_use]
    pub(crate) const fn recency_resolution_period(&self) -> Duration {
        self.recency_resolution
    }
}
