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

/// The longest folder name [`folder_name_for`] returns, in bytes: the common file-name
/// limit (255 on ext4, APFS, NTFS).
pub const MAX_FOLDER_NAME_LEN: usize = 255;

/// The folder a cache named `cache_name` uses when no `folder` is configured: the one
/// naming rule of every persistent engine, so a name means the same folder to the disk
/// and file engines (the engines' own defaults apply only to unnamed caches).
///
/// The rule, kept from the engines' earlier (identical) per-character mapping so existing
/// folders keep their names:
///
/// * ASCII letters, digits, `_`, `-` and `.` are kept; every other character (the `::` of
///   module paths, `/`, `\`, spaces, any non-ASCII character) becomes one `_`;
/// * a result made only of dots (`.`, `..`) or empty would name the folder itself, its
///   parent or nothing: each dot becomes `_`, and the empty name becomes `_`;
/// * a result longer than [`MAX_FOLDER_NAME_LEN`] bytes is cut and ends in `-` and the
///   xxh3-64 of the whole name in hex, so distinct long names stay distinct.
///
/// What changed for existing caches: only names that did not work as folders before.
/// Names made only of dots used the disk engine's default folder `twat_cache_disk` (and
/// the file engine refused to open them); names over 255 bytes failed to create their
/// folder. Every other name maps to the folder it had before.
///
/// The result is always a single, relative, non-empty path component, so
/// [`validate_folder`] accepts it.
///
/// ```
/// use twat_cache_core::root::folder_name_for;
///
/// assert_eq!(folder_name_for("my_crate::reports"), "my_crate__reports");
/// assert_eq!(folder_name_for("a/b c"), "a_b_c");
/// assert_eq!(folder_name_for(".."), "__");
/// assert_eq!(folder_name_for("caché"), "cach_");
/// ```
#[must_use]
pub fn folder_name_for(cache_name: &str) -> String {
    let mapped: String = cache_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if mapped.is_empty() {
        return "_".to_owned();
    }
    if mapped.bytes().all(|byte| byte == b'.') {
        return "_".repeat(mapped.len());
    }
    if mapped.len() <= MAX_FOLDER_NAME_LEN {
        return mapped;
    }
    let hash = format!(
        "-{:016x}",
        xxhash_rust::xxh3::xxh3_64(cache_name.as_bytes())
    );
    // `mapped` is ASCII, so every byte index is a char boundary.
    let keep = MAX_FOLDER_NAME_LEN - hash.len();
    let mut short = mapped.get(..keep).unwrap_or_default().to_owned();
    short.push_str(&hash);
    short
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_are_one_safe_component() {
        let cases = [
            ("reports", "reports"),
            ("my_crate::reports", "my_crate__reports"),
            ("a/b", "a_b"),
            ("/", "_"),
            ("/etc/passwd", "_etc_passwd"),
            ("a\\b", "a_b"),
            ("..", "__"),
            (".", "_"),
            ("...", "___"),
            ("../..", ".._.."),
            ("", "_"),
            ("a..b", "a..b"),
            (".hidden", ".hidden"),
            ("v1.2-beta_3", "v1.2-beta_3"),
            ("caché", "cach_"),
            ("日本", "__"),
            ("emoji😀", "emoji_"),
            ("C:\\x", "C__x"),
        ];
        for (name, folder) in cases {
            assert_eq!(folder_name_for(name), folder, "name {name:?}");
            assert!(
                validate_folder(Path::new(&folder_name_for(name))).is_ok(),
                "name {name:?}"
            );
        }
    }

    #[test]
    fn long_names_are_cut_and_stay_distinct() {
        let exact = "x".repeat(MAX_FOLDER_NAME_LEN);
        assert_eq!(folder_name_for(&exact), exact);
        let long_a = format!("{}a", "x".repeat(300));
        let long_b = format!("{}b", "x".repeat(300));
        let (a, b) = (folder_name_for(&long_a), folder_name_for(&long_b));
        assert_eq!(a.len(), MAX_FOLDER_NAME_LEN);
        assert_eq!(b.len(), MAX_FOLDER_NAME_LEN);
        assert_ne!(a, b);
        assert!(a.starts_with("xxxx"));
        let wide = "é".repeat(200);
        assert_eq!(folder_name_for(&wide), "_".repeat(200));
        assert!(validate_folder(Path::new(&a)).is_ok());
    }
}
