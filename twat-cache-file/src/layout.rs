//! Where things live inside a cache folder.
//!
//! ```text
//! <folder>/
//!   index-v1/<2 hex>/<key digest hex>   one IndexRecord per key (this crate)
//!   content-v2/xxh3/<2>/<2>/<rest>      payload ‖ key digest (cacache's content store)
//!   tmp/                                files being written (cacache's and ours)
//! ```

use std::io;
use std::path::{Path, PathBuf};

use cacache::Integrity;
use twat_cache_core::Error;
use twat_cache_core::root::restrict_permissions;

/// The name of the index folder.
pub(crate) const INDEX_DIR: &str = "index-v1";
/// cacache's content folder (its content format version 2).
pub(crate) const CONTENT_DIR: &str = "content-v2";
/// The folder of temporary files (shared with cacache).
pub(crate) const TMP_DIR: &str = "tmp";

/// The paths of one cache folder.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub(crate) root: PathBuf,
    pub(crate) index: PathBuf,
    pub(crate) content: PathBuf,
    pub(crate) tmp: PathBuf,
    pub(crate) secure: bool,
}

impl Layout {
    pub(crate) fn new(root: PathBuf, secure: bool) -> Self {
        Self {
            index: root.join(INDEX_DIR),
            content: root.join(CONTENT_DIR),
            tmp: root.join(TMP_DIR),
            root,
            secure,
        }
    }

    /// Creates the folder and its fixed subfolders (owner-only when secure).
    pub(crate) fn create(&self) -> Result<(), Error> {
        twat_cache_core::root::create_cache_dir(&self.root, self.secure)?;
        for dir in [&self.index, &self.content, &self.tmp] {
            self.create_dir(dir)?;
        }
        Ok(())
    }

    /// Creates `dir` and its parents, owner-only when secure.
    pub(crate) fn create_dir(&self, dir: &Path) -> Result<(), Error> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        if self.secure {
            use std::os::unix::fs::DirBuilderExt as _;
            builder.mode(0o700);
        }
        builder.create(dir).map_err(|err| Error::io(dir, err))
    }

    /// The index file of a key digest.
    pub(crate) fn index_path(&self, hex: &str) -> PathBuf {
        let shard = hex.get(..2).unwrap_or("00");
        let mut path = self.index.join(shard);
        path.push(hex);
        path
    }

    /// The content file cacache keeps for `integrity` (mirrors cacache's private
    /// `content_path`).
    pub(crate) fn content_path(&self, integrity: &Integrity) -> PathBuf {
        let (algorithm, hex) = integrity.to_hex();
        let mut path = self.content.join(algorithm.to_string());
        path.push(hex.get(..2).unwrap_or("00"));
        path.push(hex.get(2..4).unwrap_or("00"));
        path.push(hex.get(4..).unwrap_or("0"));
        path
    }

    /// Makes the folders cacache created for a content file owner-only: cacache creates
    /// them with the process umask, this crate promises 0700 when secure.
    pub(crate) fn secure_content_dirs(&self, integrity: &Integrity) -> Result<(), Error> {
        if !self.secure {
            return Ok(());
        }
        let content = self.content_path(integrity);
        let mut dir = content.parent();
        while let Some(current) = dir {
            if current == self.content {
                break;
            }
            restrict_permissions(current, true)?;
            dir = current.parent();
        }
        Ok(())
    }
}

/// Removes a file; a file that is already gone is not an error.
pub(crate) fn remove_file_if_present(path: &Path) -> Result<bool, Error> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(err) => Err(Error::io(path, err)),
    }
}
