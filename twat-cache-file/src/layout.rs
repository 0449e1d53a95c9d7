//! Where things live inside a cache folder.
//!
//! ```text
//! <folder>/
//!   index-v1/<2 hex>/<key digest hex>   one IndexRecord per key (this crate)
//!   content-v2/xxh3/<2>/<2>/<rest>      payload ‖ key digest (cacache's content store)
//!   tmp/                                files being written (cacache's and ours)
//! ```
//!
//! [`Layout`] names the folders and files; [`EntryLocation`] is where one key's entry
//! lives (its digest, the digest's hex and its index file). The two small file helpers
//! every module needs — remove if present, fsync a path — live here too.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use cacache::Integrity;
use twat_cache_core::root::restrict_permissions;
use twat_cache_core::{Digest, Error};

/// The name of the index folder.
pub(crate) const INDEX_DIR: &str = "index-v1";
/// cacache's content folder (its content format version 2).
pub(crate) const CONTENT_DIR: &str = "content-v2";
/// The folder of temporary files (shared with cacache).
pub(crate) const TMP_DIR: &str = "tmp";

/// The paths of one cache folder.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    root: PathBuf,
    index: PathBuf,
    content: PathBuf,
    tmp: PathBuf,
    secure: bool,
}

/// Where one key's entry lives: its key digest and the index file named after it.
#[derive(Debug, Clone)]
pub(crate) struct EntryLocation {
    digest: Digest,
    hex: String,
    index_path: PathBuf,
}

impl EntryLocation {
    /// The key digest (also the suffix of the entry's content file).
    pub(crate) const fn digest(&self) -> &Digest {
        &self.digest
    }

    /// The key digest in hex: the index file's name, and how errors name the entry.
    pub(crate) fn hex(&self) -> &str {
        &self.hex
    }

    /// The entry's index file.
    pub(crate) fn index_path(&self) -> &Path {
        &self.index_path
    }
}

impl Layout {
    /// The layout of the cache folder `root`; `secure` makes what it creates owner-only.
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

    /// The cache folder.
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// The folder of index records.
    pub(crate) fn index_dir(&self) -> &Path {
        &self.index
    }

    /// cacache's content folder.
    pub(crate) fn content_dir(&self) -> &Path {
        &self.content
    }

    /// The folder of files being written.
    pub(crate) fn tmp_dir(&self) -> &Path {
        &self.tmp
    }

    /// Where the entry of the key with `digest` lives.
    pub(crate) fn locate(&self, digest: Digest) -> EntryLocation {
        let hex = digest.to_hex();
        EntryLocation {
            digest,
            index_path: self.index_path(&hex),
            hex,
        }
    }

    /// The index file of a key digest.
    fn index_path(&self, hex: &str) -> PathBuf {
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

/// Fsyncs the file or folder at `path`.
pub(crate) fn sync_path(path: &Path) -> Result<(), Error> {
    File::open(path)
        .and_then(|file| file.sync_all())
        .map_err(|err| Error::io(path, err))
}
