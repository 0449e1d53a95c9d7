//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub, reason = "each test file uses a subset")]

use std::path::{Path, PathBuf};

use twat_cache_core::{CacheConfig, CacheConfigBuilder};
use twat_cache_file::{FileCache, FileCacheOptions};

/// Opens a cache in exactly `dir`.
pub fn open(dir: &Path, config: CacheConfigBuilder) -> FileCache {
    open_with(dir, config, FileCacheOptions::new())
}

/// Opens a cache in exactly `dir` with options.
pub fn open_with(dir: &Path, config: CacheConfigBuilder, options: FileCacheOptions) -> FileCache {
    let config: CacheConfig = config.build().unwrap();
    FileCache::open_with(&config, options.directory(dir)).unwrap()
}

/// A config builder named `name`.
pub fn named(name: &str) -> CacheConfigBuilder {
    CacheConfig::builder().name(name)
}

/// Every regular file under `dir`, recursively, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// The content files of a cache folder.
pub fn content_files(dir: &Path) -> Vec<PathBuf> {
    files_under(&dir.join("content-v2"))
}

/// The index files of a cache folder.
pub fn index_files(dir: &Path) -> Vec<PathBuf> {
    files_under(&dir.join("index-v1"))
}

/// Deterministic, incompressible-looking bytes.
pub fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

/// Flips one byte of `path` at `offset` (from the start; clamped to the file).
pub fn flip_byte(path: &Path, offset: usize) {
    let mut content = std::fs::read(path).unwrap();
    let at = offset.min(content.len() - 1);
    content[at] ^= 0xFF;
    write_over(path, &content);
}

/// Replaces a (possibly read-only) file's bytes.
pub fn write_over(path: &Path, content: &[u8]) {
    let mut permissions = std::fs::metadata(path).unwrap().permissions();
    #[allow(
        clippy::permissions_set_readonly_false,
        reason = "tests damage files on purpose"
    )]
    permissions.set_readonly(false);
    std::fs::set_permissions(path, permissions).unwrap();
    std::fs::write(path, content).unwrap();
}
