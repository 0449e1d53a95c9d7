//! [`Target`]: the cache folders a command acts on — the ones named on the command line,
//! or every cache folder under the root — each checked to be a real cache folder inside
//! the root before anything reads or changes it.

use std::path::PathBuf;

use crate::error::CliError;
use crate::location::{CacheRoot, Entry};
use crate::summary::FolderEngine;

/// A cache folder to act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// The folder's name under the root.
    pub(crate) name: String,
    /// The folder.
    pub(crate) path: PathBuf,
    /// [`FolderEngine::Disk`] or [`FolderEngine::File`].
    pub(crate) engine: FolderEngine,
}

/// The folders `names` (each once), or every disk and file folder under `root` when
/// `names` is empty. Symlinks and folders no engine wrote are skipped in the second case.
///
/// # Errors
///
/// [`CliError::Usage`] for a name with no folder under the root, a symlink, or a folder
/// that is not a disk or file cache; [`CliError::Cache`] when the root cannot be read.
pub(crate) fn resolve_targets(root: &CacheRoot, names: &[String]) -> Result<Vec<Target>, CliError> {
    let mut targets: Vec<Target> = Vec::new();
    if names.is_empty() {
        for (name, path, entry) in root.entries()? {
            let engine = FolderEngine::detect(&path, entry);
            if matches!(engine, FolderEngine::Disk | FolderEngine::File) {
                targets.push(Target { name, path, engine });
            }
        }
        return Ok(targets);
    }
    for name in names {
        let path = root.existing(name)?;
        let engine = FolderEngine::detect(&path, Entry::Folder);
        if !matches!(engine, FolderEngine::Disk | FolderEngine::File) {
            return Err(CliError::usage(format!(
                "{} is not a twat-cache folder (neither the disk nor the file engine's layout)",
                path.display()
            )));
        }
        if targets.iter().all(|target| target.path != path) {
            let name = path
                .file_name()
                .map_or_else(|| name.clone(), |name| name.to_string_lossy().into_owned());
            targets.push(Target { name, path, engine });
        }
    }
    Ok(targets)
}
