//! Engine-specific settings that `CacheConfig` does not carry.

use std::path::PathBuf;
use std::time::Duration;

/// Settings of the disk engine beyond [`CacheConfig`](twat_cache_core::CacheConfig),
/// for [`DiskCache::open_with`](crate::DiskCache::open_with).
///
/// Like every engine's options type it is a builder: `new()` (the defaults), chainable
/// setters named after the setting, passed by value to `open_with(&config, options)`
/// (every constructor borrows the [`CacheConfig`](twat_cache_core::CacheConfig)). Its
/// fields are also public, as plain data.
///
/// ```
/// use std::time::Duration;
/// use twat_cache_disk::DiskOptions;
///
/// let options = DiskOptions::new()
///     .front_bytes(8 * 1024 * 1024)
///     .lock_wait(Duration::from_millis(50));
/// assert_eq!(options.root, None);
/// assert_eq!(options.front_bytes, 8 * 1024 * 1024);
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

    /// The defaults.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The memory front's byte budget (`0` disables it); see [`DiskOptions::front_bytes`](#structfield.front_bytes).
    #[must_use]
    pub const fn front_bytes(mut self, bytes: u64) -> Self {
        self.front_bytes = bytes;
        self
    }

    /// The folder under which `config.folder()` is resolved, instead of the cache root.
    #[must_use]
    pub fn root(mut self, root: impl Into<PathBuf>) -> Self {
        self.root = Some(root.into());
        self
    }

    /// How long to retry a folder another process holds before falling back to memory.
    #[must_use]
    pub const fn lock_wait(mut self, wait: Duration) -> Self {
        self.lock_wait = wait;
        self
    }
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
