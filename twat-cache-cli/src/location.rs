//! [`CacheRoot`]: the folder every persistent cache lives under, and how a NAME on the
//! command line becomes one of its folders — never a path outside it, never through a
//! symlink.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use twat_cache_core::root::{cache_root, folder_name_for};

use crate::error::CliError;

/// What a folder directly under the root is, judged without following links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entry {
    /// A real folder.
    Folder,
    /// A symbolic link (never followed).
    Symlink,
    /// Anything else (a file, a socket).
    Other,
}

/// The cache root the command works on.
#[derive(Debug, Clone)]
pub struct CacheRoot {
    path: PathBuf,
}

impl CacheRoot {
    /// `explicit` (from `--root`), else the library's root: `$TWAT_CACHE_DIR`, else the
    /// platform cache directory plus `twat_cache`.
    ///
    /// # Errors
    ///
    /// [`CliError::Cache`] when there is no explicit root and no platform cache
    /// directory.
    pub fn resolve(explicit: Option<&Path>) -> Result<Self, CliError> {
        let path = match explicit {
            Some(path) => path.to_path_buf(),
            None => cache_root()?,
        };
        Ok(Self { path })
    }

    /// A root at `path`.
    #[must_use]
    pub fn at(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The root folder.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the cache `name` lives (or would live): `name` itself when it is a folder
    /// name that exists under the root, else the folder the library derives from a cache
    /// name (`my_crate::reports` → `my_crate__reports`).
    #[must_use]
    pub fn locate(&self, name: &str) -> PathBuf {
        if is_one_component(name) && entry_kind(&self.path.join(name)).is_some() {
            return self.path.join(name);
        }
        self.path.join(folder_name_for(name))
    }

    /// The existing cache folder `name` (see [`locate`](Self::locate)).
    ///
    /// # Errors
    ///
    /// [`CliError::Usage`] when there is no such folder under the root, or it is a
    /// symlink (never followed out of the root) or not a folder.
    pub(crate) fn existing(&self, name: &str) -> Result<PathBuf, CliError> {
        let path = self.locate(name);
        match entry_kind(&path) {
            Some(Entry::Folder) => Ok(path),
            Some(Entry::Symlink) => Err(CliError::usage(format!(
                "{} is a symlink; twat-cache follows no links out of the cache root",
                path.display()
            ))),
            Some(Entry::Other) => Err(CliError::usage(format!(
                "{} is not a folder",
                path.display()
            ))),
            None => Err(CliError::usage(format!(
                "no cache named {name:?} under {}",
                self.path.display()
            ))),
        }
    }

    /// The entries directly under the root, sorted by name: `(name, path, kind)`. A
    /// root that does not exist yet has none.
    ///
    /// # Errors
    ///
    /// [`CliError::Cache`] when the root cannot be read.
    pub(crate) fn entries(&self) -> Result<Vec<(String, PathBuf, Entry)>, CliError> {
        let read = match fs::read_dir(&self.path) {
            Ok(read) => read,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(twat_cache_core::Error::io(&self.path, err).into()),
        };
        let mut entries = Vec::new();
        for entry in read {
            let entry = entry.map_err(|err| twat_cache_core::Error::io(&self.path, err))?;
            let path = entry.path();
            if let Some(kind) = entry_kind(&path) {
                entries.push((entry.file_name().to_string_lossy().into_owned(), path, kind));
            }
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(entries)
    }
}

/// What `path` is, without following a link; `None` when nothing is there.
fn entry_kind(path: &Path) -> Option<Entry> {
    let metadata = fs::symlink_metadata(path).ok()?;
    let file_type = metadata.file_type();
    Some(if file_type.is_symlink() {
        Entry::Symlink
    } else if file_type.is_dir() {
        Entry::Folder
    } else {
        Entry::Other
    })
}

/// Whether `name` is one plain path component (no separators, not `.` or `..`).
fn is_one_component(name: &str) -> bool {
    let mut components = Path::new(name).components();
    matches!(
        (components.next(), components.next()),
        (Some(Component::Normal(_)), None)
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]
    use super::*;

    #[test]
    fn names_stay_under_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = CacheRoot::at(dir.path());
        assert_eq!(root.locate("a::b"), dir.path().join("a__b"));
        assert_eq!(root.locate("../etc"), dir.path().join(".._etc"));
        assert_eq!(root.locate("/etc"), dir.path().join("_etc"));
        assert!(matches!(root.existing("missing"), Err(CliError::Usage(_))));
        fs::create_dir(dir.path().join("x.y")).unwrap();
        assert_eq!(root.existing("x.y").unwrap(), dir.path().join("x.y"));
    }
}
