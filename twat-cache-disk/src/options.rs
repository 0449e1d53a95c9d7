//! Engine-specific settings that `CacheConfig` does not carry.

use std::path::PathBuf;
use std::time::Duration;

/// Settings of the disk engine beyond [`CacheConfig`](twat_cache_core::CacheConfig),
/// for [`DiskCache::open_with`](crate::DiskCache::open_with).
///
/// ```
/// use std::time::Duration;
/// use twat_cache_disk::DiskOptions;
///
/// let options = DiskOptions {
///     front_bytes: 8 * 1024 * 1024,
///     lock_wait: Duration::from_millis(50),
///     ..DiskOptions::default()
/// };
/// assert_eq!(options.root, None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskOptions {
    /// Byte budget of the memory front that serves hot entries without reading fjall
    /// (keys + stored values + 64 bytes per entry). `0` disables the front. Default:
    /// [`DiskOptions::DEFAULT_FRONT_BYTES`] (32 MiB).
    pub front_bytes: u64,
    /// The folder under which `config.folder()` is resolved. `None` (the default) uses
    /// the cache root (`$TWAT_CACHE_DIR`, else the platform cache dir + `twat_cache`).
    pub root: Option<PathBuf>,
    /// How long to keep retrying when another process holds the folder's lock before
    /// falling back to an in-memory store. Default: 200 ms.
    pub lock_wait: Duration,
}

impl DiskOptions {
    /// The default memory-front budget: 32 MiB.
    pub const DEFAULT_FRONT_BYTES: u64 = 32 * 1024 * 1024;
    /// The default wait for a locked folder: 200 ms.
    pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_millis(200);
}

impl Default for DiskOptions {
    fn default() -> Self {
        Self {
            front_bytes: Self::DEFAULT_FRONT_BYTES,
            root: None,
            lock_wait: Self::DEFAULT_LOCK_WAIT,
        }
    }
}
