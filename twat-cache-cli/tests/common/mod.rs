//! Real cache folders written by the engines in a temporary root, and the command run
//! against that root.
#![allow(dead_code, reason = "each test file uses part of this")]

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use twat_cache_core::CacheConfig;
use twat_cache_disk::{DiskCache, DiskOptions};
use twat_cache_file::{FileCache, FileCacheOptions};

/// The command, reading `root` through `TWAT_CACHE_DIR` like the library does.
pub(crate) fn twat_cache(root: &Path) -> Command {
    let mut command = Command::cargo_bin("twat-cache").unwrap();
    command
        .env("TWAT_CACHE_DIR", root)
        .env_remove("TWAT_CACHE_DISABLE");
    command
}

/// Opens the disk cache `name` in `<root>/<folder>`.
pub(crate) fn disk_cache(
    root: &Path,
    folder: &str,
    name: &str,
    ttl: Option<Duration>,
) -> DiskCache {
    let options = DiskOptions {
        root: Some(root.into()),
        ..DiskOptions::default()
    };
    let mut config = CacheConfig::builder().name(name).folder(folder);
    if let Some(ttl) = ttl {
        config = config.ttl(ttl);
    }
    DiskCache::open_with(&config.build().unwrap(), options).unwrap()
}

/// Opens the file cache `name` in `<root>/<folder>`.
pub(crate) fn file_cache(
    root: &Path,
    folder: &str,
    name: &str,
    ttl: Option<Duration>,
) -> FileCache {
    let mut config = CacheConfig::builder().name(name);
    if let Some(ttl) = ttl {
        config = config.ttl(ttl);
    }
    FileCache::open_with(
        &config.build().unwrap(),
        FileCacheOptions::new().directory(root.join(folder)),
    )
    .unwrap()
}

/// Writes `count` entries of `size` bytes into a disk folder and closes it.
pub(crate) fn fill_disk(root: &Path, folder: &str, count: u32, size: usize) {
    let cache = disk_cache(root, folder, folder, None);
    for i in 0..count {
        cache.set(&i, &vec![7_u8; size]).unwrap();
    }
    cache.flush().unwrap();
}

/// Writes `count` entries of `size` bytes into a file folder.
pub(crate) fn fill_file(root: &Path, folder: &str, count: u32, size: usize) {
    let cache = file_cache(root, folder, folder, None);
    for i in 0..count {
        cache.set(&i, &vec![7_u8; size]).unwrap();
    }
}

/// Every regular file under `dir` (no links followed), sorted.
pub(crate) fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let file_type = entry.file_type().unwrap();
            if file_type.is_dir() {
                pending.push(entry.path());
            } else if file_type.is_file() {
                found.push(entry.path());
            }
        }
    }
    found.sort();
    found
}

/// The content files of a file-cache folder.
pub(crate) fn content_files(folder: &Path) -> Vec<PathBuf> {
    files_under(&folder.join("content-v2"))
}

/// The index files of a file-cache folder.
pub(crate) fn index_files(folder: &Path) -> Vec<PathBuf> {
    files_under(&folder.join("index-v1"))
}

/// Overwrites the value of the first stored key of every keyspace in a (closed) disk
/// folder with bytes that are no envelope. Returns how many entries it garbled.
pub(crate) fn garble_first_disk_entry(folder: &Path) -> usize {
    let database = fjall::Database::builder(folder).open().unwrap();
    let mut garbled = 0;
    for name in database.list_keyspace_names() {
        let keyspace = database
            .keyspace(name.as_ref(), fjall::KeyspaceCreateOptions::default)
            .unwrap();
        let first = keyspace.iter().next();
        if let Some(guard) = first {
            let key = guard.key().unwrap();
            keyspace.insert(key, b"not an envelope".as_slice()).unwrap();
            garbled += 1;
        }
    }
    database.persist(fjall::PersistMode::SyncAll).unwrap();
    garbled
}

/// The JSON document a command printed.
pub(crate) fn json_of(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap()
}
