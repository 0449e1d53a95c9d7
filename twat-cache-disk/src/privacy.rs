//! Owner-only files in a `secure` folder, whatever the umask.
//!
//! The folder itself is created 0700, but fjall creates its own files and subfolders
//! (journal, table files, keyspace folders, the `version` marker) with the process
//! umask — 0644 and 0755 under the usual 022 — and offers no hook to choose their
//! modes. Changing the process umask is not an option for a library (it is one global
//! value shared by every thread). So the engine tightens the folder after fjall has
//! written to it: when the folder opens, on every `flush`, `compact` and sweep that
//! removed entries, and when the last cache of the folder closes. Files fjall's
//! background workers create in between are covered by the 0700 folder, which nobody
//! else can enter.

use std::io;
use std::path::Path;

use twat_cache_core::Error;

/// Sets every folder below `root` (and `root`) to 0700 and every file to 0600, without
/// following symbolic links. Entries that vanish during the walk (fjall removes table
/// files as it compacts) are skipped.
///
/// # Errors
///
/// [`Error::Io`] naming the path whose permissions could not be read or set.
#[cfg(unix)]
pub(crate) fn tighten(root: &Path) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt as _;

    // A path that is no longer a folder (deleted, or replaced by someone's file) is left
    // alone: the cache does not own it.
    if !std::fs::symlink_metadata(root).is_ok_and(|metadata| metadata.is_dir()) {
        return Ok(());
    }
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        set_mode(&folder, 0o700)?;
        let entries = match std::fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
            Err(err) => return Err(Error::io(&folder, err)),
        };
        for entry in entries {
            let entry = entry.map_err(|err| Error::io(&folder, err))?;
            let path = entry.path();
            let file_type = match entry.file_type() {
                Ok(file_type) => file_type,
                Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                Err(err) => return Err(Error::io(&path, err)),
            };
            if file_type.is_dir() {
                folders.push(path);
            } else if file_type.is_file() {
                set_mode(&path, 0o600)?;
            }
        }
    }
    return Ok(());

    fn set_mode(path: &Path, mode: u32) -> Result<(), Error> {
        let current = match std::fs::symlink_metadata(path) {
            Ok(metadata) => metadata.permissions().mode() & 0o777,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(err) => return Err(Error::io(path, err)),
        };
        if current == mode {
            return Ok(());
        }
        match std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)) {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(err) => Err(Error::io(path, err)),
        }
    }
}

/// File modes are a Unix notion; elsewhere there is nothing to tighten.
#[cfg(not(unix))]
pub(crate) fn tighten(_root: &Path) -> Result<(), Error> {
    Ok(())
}
