//! Where persistent caches live, and the `TWAT_CACHE_DISABLE` switch.
//!
//! The cache root is `$TWAT_CACHE_DIR` when set and non-empty, else the platform cache
//! directory plus `twat_cache` (`~/.cache/twat_cache` on Linux,
//! `~/Library/Caches/twat_cache` on macOS, `%LOCALAPPDATA%\twat_cache` on Windows). Each
//! persistent cache keeps its entries in `<root>/<folder>`.
//!
//! The root is read each time a cache opens (so a test can point each process at its own
//! temporary folder); `TWAT_CACHE_DISABLE` is read once per process, because it is
//! consulted on every memoized call.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::config::validate_folder;
use crate::error::Error;

/// The environment variable naming the cache root.
pub const CACHE_DIR_ENV: &str = "TWAT_CACHE_DIR";
/// The environment variable that turns every memoized function into a plain call.
pub const DISABLE_ENV: &str = "TWAT_CACHE_DISABLE";
/// The folder name under the platform cache directory.
pub const ROOT_FOLDER_NAME: &str = "twat_cache";

/// The cache root: `$TWAT_CACHE_DIR`, else the platform cache dir + `twat_cache`.
///
/// # Errors
///
/// [`Error::NoCacheRoot`] when the variable is unset and the platform has no cache
/// directory (no home directory).
pub fn cache_root() -> Result<PathBuf, Error> {
    if let Some(dir) = std::env::var_os(CACHE_DIR_ENV)
        && !dir.is_empty()
    {
        return Ok(PathBuf::from(dir));
    }
    directories::BaseDirs::new()
        .map(|dirs| dirs.cache_dir().join(ROOT_FOLDER_NAME))
        .ok_or(Error::NoCacheRoot)
}

/// The full path of `folder` under the cache root.
///
/// # Errors
///
/// [`Error::Config`] when `folder` would escape the root, [`Error::NoCacheRoot`] when
/// there is no root.
pub fn resolve_folder(folder: &Path) -> Result<PathBuf, Error> {
    validate_folder(folder)?;
    Ok(cache_root()?.join(folder))
}

/// Whether `TWAT_CACHE_DISABLE` is set to a true value (`1`, `true`, `yes`, `on`),
/// read once per process. (Inlined: every memoized call asks.)
#[must_use]
#[inline]
pub fn is_disabled() -> bool {
    static DISABLED: OnceLock<bool> = OnceLock::new();
    *DISABLED.get_or_init(|| {
        std::env::var(DISABLE_ENV).is_ok_and(|value| {
            matches!(
                value.trim().to_ascii_lowercase().as_str(),
                "1" | "true" | "yes" | "on"
            )
        })
    })
}

/// Creates `path` and its parents. With `secure`, the folder is made owner-only (0700 on
/// Unix) whatever the umask.
///
/// # Errors
///
/// [`Error::Io`] naming the path when it cannot be created or its permissions set.
pub fn create_cache_dir(path: &Path, secure: bool) -> Result<(), Error> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    if secure {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(path).map_err(|err| Error::io(path, err))?;
    if secure {
        restrict_permissions(path, true)?;
    }
    Ok(())
}

/// Makes an existing file (0600) or folder (0700) owner-only on Unix; a no-op elsewhere.
///
/// # Errors
///
/// [`Error::Io`] naming the path when the permissions cannot be set.
pub fn restrict_permissions(path: &Path, is_dir: bool) -> Result<(), Error> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = if is_dir { 0o700 } else { 0o600 };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(|err| Error::io(path, err))?;
    }
    #[cfg(not(unix))]
    let _ = (path, is_dir);
    Ok(())
}
