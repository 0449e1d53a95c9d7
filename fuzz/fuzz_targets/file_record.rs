//! The file engine's stored bytes: an index record (`index-v1/…`), the content file it
//! points to and the cache's usage ledger (`usage-v1/…`), all replaced by the fuzzer's
//! bytes under a live `FileCache`, then read raw, typed and streamed, inspected, and the
//! ledger read for statistics and by a write (which recounts a ledger it cannot read).
//! Damage must be a miss (or an I/O error), never a panic or a hang. Each read starts
//! from the index file: a removal makes the cache forget the record it remembered.
#![no_main]

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use twat_cache_core::CacheConfig;
use twat_cache_file::{FileCache, FileCacheOptions, inspect};
use twat_cache_fuzz::{Probe, files_under, pieces, scratch_dir};

struct Harness {
    _dir: tempfile::TempDir,
    folder: PathBuf,
    cache: FileCache,
    index_path: PathBuf,
    content_path: PathBuf,
    ledger_path: PathBuf,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let dir = scratch_dir();
        let folder = dir.path().join("files");
        let config = CacheConfig::builder()
            .name("fuzz")
            .secure(false)
            .build()
            .unwrap();
        let cache =
            FileCache::open_with(&config, FileCacheOptions::new().directory(&folder)).unwrap();
        cache.set_raw(&"k", b"a real entry").unwrap();
        let index_path = files_under(&folder.join("index-v1")).remove(0);
        let content_path = files_under(&folder.join("content-v2")).remove(0);
        let ledger_path = files_under(&folder.join("usage-v1")).remove(0);
        Harness {
            _dir: dir,
            folder,
            cache,
            index_path,
            content_path,
            ledger_path,
        }
    })
}

fn put(path: &Path, bytes: &[u8]) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(path, bytes).unwrap();
}

/// Puts the fuzzer's record and content in place, with nothing remembered.
fn reset(harness: &Harness, record: &[u8], content: &[u8]) {
    let _ = harness.cache.remove(&"k");
    put(&harness.index_path, record);
    put(&harness.content_path, content);
}

fuzz_target!(|input: &[u8]| {
    let harness = harness();
    let parts = pieces(input);
    let record = parts.first().copied().unwrap_or_default();
    let content = parts.get(1).copied().unwrap_or_default();
    let ledger = parts.get(2).copied().unwrap_or_default();
    reset(harness, record, content);
    let _ = harness.cache.get_raw(&"k");
    // Again, now from the record remembered by the read above (if it was sound).
    put(&harness.content_path, content);
    let _ = harness.cache.get_raw(&"k");

    reset(harness, record, content);
    let _ = harness.cache.get::<_, Probe>(&"k");

    reset(harness, record, content);
    if let Ok(Some(mut reader)) = harness.cache.get_reader(&"k") {
        let mut sink = Vec::new();
        let _ = reader.read_to_end(&mut sink);
    }

    reset(harness, record, content);
    let _ = inspect::describe_folder(&harness.folder);
    let _ = inspect::scan_entries(&harness.folder, true, |_| inspect::Verdict::Keep);

    put(&harness.ledger_path, ledger);
    let _ = harness.cache.stats();
    let _ = harness.cache.set_raw(&"other", b"counted");
    let _ = harness.cache.remove(&"other");
    let _ = harness.cache.stats();
});
